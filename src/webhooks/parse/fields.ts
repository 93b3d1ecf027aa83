// Reading the fields of a verified delivery's payload. Every field otfd uses is checked here:
// its type, its length, no NUL and no unpaired surrogate (PostgreSQL cannot store either, and a
// run's message and ingress attributes are stored), shas, git ref names, repository identifiers
// and URLs. A field that fails is refused with 400, naming the field by its path in the payload;
// the value itself is never quoted, since any field may be what an attacker chose.
import { WebhookRejected } from '../../errors.js';
// Ref names and repository identifiers: the one rule for all of otfd (src/vcs/names.ts).
import { branchNameProblem, identifierProblem, refNameProblem } from '../../vcs/index.js';

export type Json = Record<string, unknown>;

/** Longest commit message kept: far beyond any real one, small enough to store and show. */
export const MAX_MESSAGE_CHARS = 64 * 1024;
/** Longest short text: user names, titles, branch names. */
export const MAX_NAME_CHARS = 1024;
/** Longest URL: a compare URL of two 64-character shas on a deep GitLab path fits easily. */
export const MAX_URL_CHARS = 4096;
/** Longest path of a changed file (Linux's PATH_MAX). */
export const MAX_PATH_CHARS = 4096;
/** Longest git ref name kept (git allows longer; no tracked branch is). */
export const MAX_REF_CHARS = 1024;

/** All zeros: the "before" of a new branch, the "after" of a deleted one. */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** A refusal of the payload, pointing at the field (as a JSON pointer) when there is one. */
export function malformed(detail: string, path?: string): WebhookRejected {
  return new WebhookRejected(400, detail, path ? { pointer: `/${path.split('.').join('/')}` } : {});
}

function join(at: string, key: string): string {
  return at ? `${at}.${key}` : key;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** The payload itself: a JSON object. */
export function root(value: unknown): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw malformed(`the payload must be a JSON object, got ${typeName(value)}`);
  }
  return value as Json;
}

export function object(parent: Json, key: string, at: string): Json {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw malformed(`field "${path}" must be an object, got ${typeName(v)}`, path);
  return v as Json;
}

/** An object that may be absent or null (e.g. a pull request's head repository once the fork is deleted). */
export function optionalObject(parent: Json, key: string, at: string): Json | null {
  const v = parent[key];
  if (v === undefined || v === null) return null;
  return object(parent, key, at);
}

/** A string checked for what otfd can store and show: length, NUL, unpaired surrogates. */
function checkText(v: unknown, path: string, max: number, allowEmpty: boolean): string {
  if (typeof v !== 'string') throw malformed(`field "${path}" must be a string, got ${typeName(v)}`, path);
  if (v.length > max) throw malformed(`field "${path}" is longer than ${max} characters`, path);
  if (v.includes('\0')) throw malformed(`field "${path}" must not contain NUL characters (\\u0000)`, path);
  if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw malformed(`field "${path}" must be valid Unicode text (it has an unpaired surrogate)`, path);
  }
  if (!allowEmpty && v.length === 0) throw malformed(`field "${path}" must not be empty`, path);
  return v;
}

export function text(parent: Json, key: string, at: string, opts: { max?: number; allowEmpty?: boolean } = {}): string {
  const path = join(at, key);
  if (parent[key] === undefined) throw malformed(`field "${path}" is missing`, path);
  return checkText(parent[key], path, opts.max ?? MAX_NAME_CHARS, opts.allowEmpty ?? false);
}

export function optionalText(parent: Json, key: string, at: string, opts: { max?: number; allowEmpty?: boolean } = {}): string | null {
  const v = parent[key];
  if (v === undefined || v === null) return null;
  return text(parent, key, at, opts);
}

export function boolean(parent: Json, key: string, at: string): boolean {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (typeof v !== 'boolean') throw malformed(`field "${path}" must be a boolean, got ${typeName(v)}`, path);
  return v;
}

/** A positive whole number a database integer holds (pull request numbers, project ids). */
export function positiveInteger(parent: Json, key: string, at: string): number {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (typeof v !== 'number') throw malformed(`field "${path}" must be a number, got ${typeName(v)}`, path);
  if (!Number.isSafeInteger(v) || v < 1 || v > 2 ** 31 - 1) {
    throw malformed(`field "${path}" must be a whole number from 1 to ${2 ** 31 - 1}`, path);
  }
  return v;
}

/** A non-negative whole number (counts), any safe size. */
export function count(parent: Json, key: string, at: string): number {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (typeof v !== 'number') throw malformed(`field "${path}" must be a number, got ${typeName(v)}`, path);
  if (!Number.isSafeInteger(v) || v < 0) throw malformed(`field "${path}" must be a whole number of at least 0`, path);
  return v;
}

/** An id that is a number on one provider version and a string on another: compared, never stored. */
export function id(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string') return checkText(v, path, 128, false);
  throw malformed(`field "${path}" must be a whole number or a string, got ${typeName(v)}`, path);
}

export function array(parent: Json, key: string, at: string): unknown[] {
  const path = join(at, key);
  const v = parent[key];
  if (v === undefined) throw malformed(`field "${path}" is missing`, path);
  if (!Array.isArray(v)) throw malformed(`field "${path}" must be an array, got ${typeName(v)}`, path);
  return v;
}

/** The objects of an array, each checked to be an object. */
export function objects(parent: Json, key: string, at: string): Json[] {
  const path = join(at, key);
  return array(parent, key, at).map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw malformed(`field "${path}.${i}" must be an object, got ${typeName(item)}`, `${path}.${i}`);
    }
    return item as Json;
  });
}

/** A list of file paths (a commit's added, modified or removed). */
export function paths(parent: Json, key: string, at: string): string[] {
  const path = join(at, key);
  return array(parent, key, at).map((item, i) => checkText(item, `${path}.${i}`, MAX_PATH_CHARS, false));
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** A commit id: 40 hexadecimal characters (SHA-1) or 64 (SHA-256 repositories), lower-cased. */
export function sha(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = text(parent, key, at, { max: 64 });
  if (!SHA.test(v)) throw malformed(`field "${path}" must be a commit sha of 40 (or 64) hexadecimal characters`, path);
  return v.toLowerCase();
}

export function optionalSha(parent: Json, key: string, at: string): string | null {
  const v = parent[key];
  if (v === undefined || v === null) return null;
  return sha(parent, key, at);
}

export function isZeroSha(s: string): boolean {
  return /^0+$/.test(s);
}

/** A full git ref ("refs/heads/main", "refs/tags/v1"), checked as git would. */
export function ref(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = text(parent, key, at, { max: MAX_REF_CHARS });
  const problem = refNameProblem(v);
  if (problem) throw malformed(`field "${path}" ${problem}`, path);
  return v;
}

/** A branch name alone ("main"), checked as git checks refs/heads/<name>. */
export function branchName(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = text(parent, key, at, { max: MAX_REF_CHARS });
  const problem = branchNameProblem(v);
  if (problem) throw malformed(`field "${path}" ${problem}`, path);
  return v;
}

/**
 * A repository as the provider names it: "owner/name", or a GitLab project's full path
 * "group/sub/name".
 */
export function identifier(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = text(parent, key, at, { max: MAX_NAME_CHARS });
  const problem = identifierProblem(v, 'any');
  if (problem) throw malformed(`field "${path}" ${problem}`, path);
  return v;
}

/** An http(s) URL (commit, compare and pull request pages are shown to users as links). */
export function url(parent: Json, key: string, at: string): string {
  const path = join(at, key);
  const v = text(parent, key, at, { max: MAX_URL_CHARS });
  return checkUrl(v, path);
}

export function optionalUrl(parent: Json, key: string, at: string): string | null {
  const v = parent[key];
  if (v === undefined || v === null || v === '') return null;
  return url(parent, key, at);
}

export function checkUrl(v: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw malformed(`field "${path}" must be an http or https URL`, path);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw malformed(`field "${path}" must be an http or https URL`, path);
  return v;
}

/**
 * Every path a push changed, from its commits' added, modified and removed lists; null when the
 * payload does not list them all (the dispatcher then asks the provider).
 */
export function changedFiles(commits: Json[], at: string, complete: boolean, required = true): string[] | null {
  const files = new Set<string>();
  let listed = true;
  commits.forEach((c, i) => {
    for (const key of ['added', 'modified', 'removed']) {
      if (!required && c[key] === undefined) {
        listed = false;
        continue;
      }
      for (const p of paths(c, key, `${at}.${i}`)) files.add(p);
    }
  });
  return complete && listed ? [...files].sort() : null;
}
