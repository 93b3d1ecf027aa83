// Which events queue a run in a workspace, as Terraform Cloud decides it: the tracked branch,
// file triggers (working directory and trigger prefixes, or glob trigger patterns), tags matching
// tags-regex, and pull requests into the tracked branch. Pure functions: the dispatch applies them.
import type { VcsEvent, WorkspaceVcsRepo } from '../vcs/types.js';
import { tagsRegexMatches } from '../workspaces/index.js';

/** The workspace settings the rules read. */
export interface TriggerSettings {
  fileTriggersEnabled: boolean;
  workingDirectory: string;
  triggerPrefixes: string[];
  triggerPatterns: string[];
  speculativeEnabled: boolean;
}

export type Decision =
  | { run: false; why: string }
  /** Queue a run; `files`: whether the changed files decide (file triggers are on). */
  | { run: true; speculative: boolean; files: boolean };

const ZEROS = /^0+$/;

/** Whether a push's `before` names no commit (a new branch): there is nothing to compare with. */
export function isNewBranch(before: string): boolean {
  return before === '' || ZEROS.test(before);
}

/** What an event asks of one workspace, before its changed files are known. */
export function decide(event: VcsEvent, repo: WorkspaceVcsRepo, ws: TriggerSettings): Decision {
  switch (event.type) {
    case 'push':
      if (event.deleted) return { run: false, why: 'the branch was deleted' };
      if (event.branch !== repo.branch) return { run: false, why: `a push to ${event.branch}, not the tracked branch ${repo.branch}` };
      // A workspace triggered by tags (TFC's tag-based VCS triggers) is not triggered by pushes.
      if (repo.tagsRegex !== null) return { run: false, why: 'the workspace is triggered by tags, not pushes' };
      return { run: true, speculative: false, files: ws.fileTriggersEnabled };
    case 'tag':
      if (event.deleted) return { run: false, why: 'the tag was deleted' };
      if (repo.tagsRegex === null) return { run: false, why: 'the workspace has no tags-regex' };
      if (!tagMatches(repo.tagsRegex, event.tag)) return { run: false, why: `tag ${event.tag} does not match ${repo.tagsRegex}` };
      return { run: true, speculative: false, files: false };
    case 'pull-request':
      if (event.action === 'other') return { run: false, why: 'a pull request event that changes no commit' };
      if (!ws.speculativeEnabled) return { run: false, why: 'speculative plans are disabled' };
      // TFC plans pull requests into the branch the workspace tracks.
      if (event.baseBranch !== repo.branch) return { run: false, why: `a pull request into ${event.baseBranch}, not the tracked branch ${repo.branch}` };
      if (event.fromFork && !repo.allowForkPullRequests) return { run: false, why: 'a pull request from a fork, and the workspace does not plan those' };
      return { run: true, speculative: true, files: ws.fileTriggersEnabled };
  }
}

/**
 * tags-regex as a JavaScript regular expression, matched with a time limit (the workspaces
 * domain's matcher: a backtracking regex cannot stall otfd); one that does not compile, or runs
 * out of time, matches nothing.
 */
export function tagMatches(regex: string, tag: string): boolean {
  try {
    return tagsRegexMatches(regex, tag).matches;
  } catch {
    return false;
  }
}

/** A directory as a prefix to compare paths with: no leading "/" or "./", one trailing "/"; "" is the root. */
function directory(dir: string): string {
  const d = dir.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
  return d === '' || d === '.' ? '' : `${d}/`;
}

/** The most trigger patterns, and the longest one, a workspace's settings may hold (the API's limits). */
export const MAX_TRIGGER_PATTERNS = 100;
export const MAX_TRIGGER_PATTERN_LENGTH = 255;
/** The most alternatives "{a,b}" groups may expand one pattern into; a pattern with more matches nothing. */
export const MAX_PATTERN_ALTERNATIVES = 64;
/**
 * The most changed paths compared with the patterns or prefixes. A push changing more is treated
 * like one whose changed files are unknown: it runs (missing a real change is worse than a
 * needless plan).
 */
export const MAX_CHANGED_PATHS = 5_000;
/**
 * Steps of matching allowed for one event in one workspace. The matcher is polynomial, not
 * exponential, but patterns and paths both come from outside; past this budget the event runs,
 * as above, instead of holding otfd's event loop.
 */
export const MATCH_BUDGET = 2_000_000;

/**
 * Whether changed paths (relative to the repository root) trigger a run with file triggers on.
 * With trigger patterns, a path matching one of them; else a path under the working directory
 * or under one of the trigger prefixes (the root as working directory: any path).
 */
export function filesTrigger(ws: TriggerSettings, paths: string[]): boolean {
  if (paths.length > MAX_CHANGED_PATHS) return true;
  if (ws.triggerPatterns.length > 0) {
    const globs = ws.triggerPatterns.slice(0, MAX_TRIGGER_PATTERNS).map(compileGlob);
    const budget = { left: MATCH_BUDGET };
    try {
      return paths.some((p) => globs.some((g) => matchGlob(g, stripLeading(p), budget)));
    } catch (err) {
      if (err === OUT_OF_BUDGET) return true;
      throw err;
    }
  }
  const dirs = [ws.workingDirectory, ...ws.triggerPrefixes].map(directory);
  if (dirs.includes('')) return paths.length > 0;
  return paths.some((p) => dirs.some((d) => stripLeading(p).startsWith(d)));
}

function stripLeading(p: string): string {
  return p.replace(/^\/+/, '');
}

// Glob matching, in time polynomial in the pattern and path lengths (never a backtracking regular
// expression: "*a*a*a…b" made one take seconds on a short path).
// A pattern is read once into its alternatives ("{a,b}" expanded), each a list of path segments;
// a segment is "**" (any number of directories) or a list of tokens: a literal character, STAR
// ("*": any characters but "/") or ONE ("?": one of them).
const STAR = 0;
const ONE = 1;
type Token = string | typeof STAR | typeof ONE;
type Segment = 'globstar' | Token[];
/** A compiled pattern: its alternatives; none when it is too long or expands too far. */
export type Glob = Segment[][];

const OUT_OF_BUDGET = new Error('glob matching budget exhausted');

/**
 * A trigger pattern as TFC reads it, relative to the repository root (a leading "/" optional):
 * "*" any characters but "/", "?" one of them, "**" as a whole segment any number of directories
 * ("**\/" also none; a trailing "**" anything below), "{a,b}" either (literal text). Everything
 * else is literal.
 */
export function compileGlob(pattern: string): Glob {
  const p = stripLeading(pattern.trim());
  if (p.length > MAX_TRIGGER_PATTERN_LENGTH) return [];
  // Tokens of each alternative; "/" stays a literal here and splits segments below.
  let alts: Array<Array<Token | 'globstar'>> = [[]];
  const add = (t: Token | 'globstar'): void => {
    for (const a of alts) a.push(t);
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      let end = i;
      while (p[end + 1] === '*') end++;
      const wholeSegment = (i === 0 || p[i - 1] === '/') && (end + 1 === p.length || p[end + 1] === '/');
      // "**" as a whole segment crosses directories; elsewhere any run of stars is one "*".
      add(end > i && wholeSegment ? 'globstar' : STAR);
      i = end;
    } else if (c === '?') {
      add(ONE);
    } else if (c === '{' && p.indexOf('}', i) > 0) {
      const close = p.indexOf('}', i);
      const options = p.slice(i + 1, close).split(',');
      if (alts.length * options.length > MAX_PATTERN_ALTERNATIVES) return [];
      alts = alts.flatMap((a) => options.map((o) => [...a, ...o]));
      i = close;
    } else {
      add(c);
    }
  }
  return alts.map(segments);
}

function segments(tokens: Array<Token | 'globstar'>): Segment[] {
  const out: Segment[] = [];
  let cur: Array<Token | 'globstar'> = [];
  for (const t of [...tokens, '/']) {
    if (t !== '/') {
      cur.push(t);
      continue;
    }
    out.push(cur.length === 1 && cur[0] === 'globstar' ? 'globstar' : (cur.filter((x) => x !== 'globstar') as Token[]));
    cur = [];
  }
  return out;
}

/** Whether a path (no leading "/") matches a compiled pattern. */
export function matchGlob(glob: Glob, path: string, budget = { left: MATCH_BUDGET }): boolean {
  const parts = path.split('/');
  return glob.some((segs) => matchSegments(segs, parts, budget));
}

/** Whether a pattern matches a path; for tests and one-off checks. */
export function globMatches(pattern: string, path: string): boolean {
  return matchGlob(compileGlob(pattern), stripLeading(path));
}

/**
 * Segments against path parts, with "**" over any number of parts: each (segment, part) pair is
 * decided once (memoized), so the work is bounded by segments × parts² single-segment matches.
 */
function matchSegments(segs: Segment[], parts: string[], budget: { left: number }): boolean {
  const memo = new Map<number, boolean>();
  const width = parts.length + 1;
  const at = (i: number, j: number): boolean => {
    const key = i * width + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === segs.length) {
      result = j === parts.length;
    } else {
      const seg = segs[i];
      if (seg === 'globstar') {
        if (i === segs.length - 1) {
          // a trailing "**": one part or more ("app/**" is everything under app/)
          result = parts.length - j >= 1;
        } else {
          result = false;
          for (let k = j; k <= parts.length && !result; k++) {
            spend(budget, 1);
            result = at(i + 1, k);
          }
        }
      } else {
        result = j < parts.length && matchSegment(seg, parts[j], budget) && at(i + 1, j + 1);
      }
    }
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

/**
 * One segment's tokens against one path part: the classic two-pointer wildcard match. On a
 * mismatch it resumes after the last "*", one character further, and never returns to earlier
 * stars, so it takes at most tokens × characters steps.
 */
function matchSegment(tokens: Token[], s: string, budget: { left: number }): boolean {
  let t = 0;
  let i = 0;
  let starT = -1;
  let starI = 0;
  while (i < s.length) {
    spend(budget, 1);
    const tok = tokens[t];
    if (t < tokens.length && tok !== STAR && (tok === ONE || tok === s[i])) {
      t++;
      i++;
    } else if (t < tokens.length && tok === STAR) {
      starT = t;
      starI = i;
      t++;
    } else if (starT >= 0) {
      t = starT + 1;
      starI++;
      i = starI;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t] === STAR) t++;
  return t === tokens.length;
}

function spend(budget: { left: number }, n: number): void {
  budget.left -= n;
  if (budget.left < 0) throw OUT_OF_BUDGET;
}
