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

/**
 * Whether changed paths (relative to the repository root) trigger a run with file triggers on.
 * With trigger patterns, a path matching one of them; else a path under the working directory
 * or under one of the trigger prefixes (the root as working directory: any path).
 */
export function filesTrigger(ws: TriggerSettings, paths: string[]): boolean {
  if (ws.triggerPatterns.length > 0) {
    const patterns = ws.triggerPatterns.map(globToRegExp);
    return paths.some((p) => patterns.some((re) => re.test(stripLeading(p))));
  }
  const dirs = [ws.workingDirectory, ...ws.triggerPrefixes].map(directory);
  if (dirs.includes('')) return paths.length > 0;
  return paths.some((p) => dirs.some((d) => stripLeading(p).startsWith(d)));
}

function stripLeading(p: string): string {
  return p.replace(/^\/+/, '');
}

/**
 * A trigger pattern as TFC reads it, relative to the repository root (a leading "/" optional):
 * "*" any characters but "/", "?" one of them, "**" any number of directories (also none) as a
 * whole segment ("/**\/"), "{a,b}" either. Everything else is literal.
 */
export function globToRegExp(pattern: string): RegExp {
  const p = stripLeading(pattern.trim());
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      const atStart = i === 0 || p[i - 1] === '/';
      const atEnd = i + 2 === p.length || p[i + 2] === '/';
      i++;
      if (atStart && p[i + 1] === '/') {
        // "**/": none or several directories
        re += '(?:.*/)?';
        i++;
      } else if (atStart && atEnd) {
        re += '.*';
      } else {
        re += '[^/]*';
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '{') {
      const close = p.indexOf('}', i);
      if (close < 0) {
        re += '\\{';
        continue;
      }
      re += `(?:${p
        .slice(i + 1, close)
        .split(',')
        .map(escape)
        .join('|')})`;
      i = close;
    } else {
      re += escape(c);
    }
  }
  return new RegExp(`^${re}$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
