// The one place that says what a git ref name and a repository identifier may be: workspaces
// (vcs-repo.branch, identifier), the adapters (before a name goes into a provider's URL), webhook
// payloads and the repository cache (before a name reaches git) all check with these.

/** Longest ref name taken anywhere (git has no limit; a longer one is not a real ref). */
export const MAX_REF_NAME = 1024;

/**
 * Why `ref` is not a name git accepts for a ref (git check-ref-format's rules, which admit any
 * Unicode), or null. Also refused: a name starting with "-", which git could read as an option.
 */
export function refNameProblem(ref: string): string | null {
  if (ref.length === 0) return 'is empty';
  if (ref.length > MAX_REF_NAME) return `is longer than ${MAX_REF_NAME} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return 'has a character git does not allow in a ref name (control characters, space, ~ ^ : ? * [ \\)';
  if (ref.includes('..')) return 'has ".." in it, which git does not allow in a ref name';
  if (ref.includes('@{')) return 'has "@{" in it, which git does not allow in a ref name';
  if (ref === '@') return 'is "@", which git does not allow as a ref name';
  if (ref.startsWith('-')) return 'starts with "-", which git could read as an option';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'has an empty path component, which git does not allow in a ref name';
  if (ref.endsWith('.')) return 'ends with ".", which git does not allow in a ref name';
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return 'has a component starting with ".", which git does not allow in a ref name';
    if (part.endsWith('.lock')) return 'has a component ending with ".lock", which git does not allow in a ref name';
  }
  return null;
}

/** Whether git accepts `ref` as a ref name (see refNameProblem). */
export function isRefName(ref: string): boolean {
  return refNameProblem(ref) === null;
}

/** Why `name` is not a branch name git accepts (git check-ref-format --branch), or null. */
export function branchNameProblem(name: string): string | null {
  if (name.startsWith('-')) return 'starts with "-", which git does not allow in a branch name';
  // git reads "@" alone as HEAD: not a branch anyone can name.
  if (name === '@') return 'is "@", which git reads as HEAD, not a branch';
  return refNameProblem(`refs/heads/${name}`);
}

/**
 * How providers name repositories: "owner/name" (GitHub, Forgejo, Gitea), a GitLab project's full
 * path "group/sub/name", or either (a webhook payload, read before its provider matters).
 */
export type IdentifierForm = 'owner/name' | 'project path' | 'any';

const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;

/**
 * Why `identifier` is not a repository identifier of the form, or null. Letters, digits, "_", "."
 * and "-" are all the three providers allow in a name; "." and ".." are never one (they would
 * move a URL's path).
 */
export function identifierProblem(identifier: string, form: IdentifierForm): string | null {
  const segments = identifier.split('/');
  const count = form === 'owner/name' ? segments.length === 2 : segments.length >= 2;
  if (!count || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    const shape = form === 'owner/name' ? '"owner/name"' : form === 'project path' ? '"group/name" (subgroups allowed)' : 'like "owner/name"';
    return `must be a repository path ${shape} of letters, digits, "_", "." and "-"`;
  }
  return null;
}

/** "owner/name" split, or null when it is not of that form. */
export function splitOwnerAndName(identifier: string): { owner: string; name: string } | null {
  if (identifierProblem(identifier, 'owner/name') !== null) return null;
  const [owner, name] = identifier.split('/');
  return { owner, name };
}
