// GitHub's push payload, which Forgejo (and Gitea) copy field for field. The two differ only in how
// a deletion shows, what the compare link is called and when the listed commits are all there were.
import type { PushEvent, TagEvent, VcsCommit } from '../../vcs/types.js';
import { changedFiles, identifier, MAX_MESSAGE_CHARS, object, objects, optionalObject, optionalUrl, ref, sha, text, url, type Json } from './fields.js';

export interface PushDialect {
  kind: 'github' | 'forgejo';
  /** Whether the branch or tag was deleted ("after" is read, the rest of the payload may be). */
  deleted(p: Json, after: string): boolean;
  /** The field holding the link comparing before with after. */
  compareField: string;
  /** Whether the listed commits are all the push brought, so their files are all it changed. */
  complete(p: Json, commits: Json[]): boolean;
}

export function push(dialect: PushDialect, deliveryId: string, p: Json): PushEvent | TagEvent | null {
  const fullRef = ref(p, 'ref', '');
  const before = sha(p, 'before', '');
  const after = sha(p, 'after', '');
  const deleted = dialect.deleted(p, after);
  const repository = object(p, 'repository', '');
  const base = {
    kind: dialect.kind,
    identifier: identifier(repository, 'full_name', 'repository'),
    deliveryId,
    sender: text(object(p, 'sender', ''), 'login', 'sender'),
  };
  const repoUrl = url(repository, 'html_url', 'repository');
  const commits = objects(p, 'commits', '');
  const commit = headCommit(p, commits, after, repoUrl);

  if (fullRef.startsWith('refs/tags/')) return { ...base, type: 'tag', tag: fullRef.slice('refs/tags/'.length), commit, deleted };
  if (!fullRef.startsWith('refs/heads/')) return null; // notes, pull request refs: nothing to plan
  return {
    ...base,
    type: 'push',
    branch: fullRef.slice('refs/heads/'.length),
    before,
    commit,
    compareUrl: optionalUrl(p, dialect.compareField, ''),
    changedFiles: changedFiles(commits, 'commits', dialect.complete(p, commits), false),
    deleted,
  };
}

/**
 * The pushed head: head_commit when sent (null when a branch or tag is deleted; older Forgejo and
 * Gitea versions send none); otherwise the listed commit whose id is "after"; otherwise only its id
 * and page.
 */
function headCommit(p: Json, commits: Json[], after: string, repoUrl: string): VcsCommit {
  const read = (c: Json, at: string): VcsCommit => ({
    sha: sha(c, 'id', at),
    message: text(c, 'message', at, { max: MAX_MESSAGE_CHARS, allowEmpty: true }),
    url: url(c, 'url', at),
  });
  const head = optionalObject(p, 'head_commit', '');
  if (head) return read(head, 'head_commit');
  for (const [i, c] of commits.entries()) if (sha(c, 'id', `commits.${i}`) === after) return read(c, `commits.${i}`);
  return { sha: after, message: '', url: `${repoUrl}/commit/${after}` };
}
