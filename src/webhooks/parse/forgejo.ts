// Forgejo's (and Gitea's) deliveries (X-Forgejo-Event / X-Gitea-Event) as its webhook
// documentation describes them: "push" to a branch or a tag (refs/tags/...), and "pull_request".
// Every other event (create, delete, issues, releases...) is nothing to act on: a deleted branch
// or tag also arrives as a push whose "after" is all zeros.
import type { PushEvent, TagEvent, VcsCommit, VcsEvent } from '../../vcs/types.js';
import {
  changedFiles, count, id, identifier, isZeroSha, MAX_MESSAGE_CHARS, object, objects, optionalObject,
  optionalUrl, ref, root, sha, text, url, type Json,
} from './fields.js';
import { pullRequest, type PullRequestDialect } from './pull-request.js';

export function parseForgejo(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  if (event === 'push') return push(deliveryId, root(payload));
  if (event === 'pull_request') return pullRequest(PULL_REQUESTS, deliveryId, root(payload));
  return null;
}

function push(deliveryId: string, p: Json): PushEvent | TagEvent | null {
  const fullRef = ref(p, 'ref', '');
  const before = sha(p, 'before', '');
  const after = sha(p, 'after', '');
  const repository = object(p, 'repository', '');
  const base = {
    kind: 'forgejo' as const,
    identifier: identifier(repository, 'full_name', 'repository'),
    deliveryId,
    sender: text(object(p, 'sender', ''), 'login', 'sender'),
  };
  const repoUrl = url(repository, 'html_url', 'repository');
  const commits = objects(p, 'commits', '');
  const deleted = isZeroSha(after);
  const commit = headCommit(p, commits, after, repoUrl);

  if (fullRef.startsWith('refs/tags/')) return { ...base, type: 'tag', tag: fullRef.slice('refs/tags/'.length), commit, deleted };
  if (!fullRef.startsWith('refs/heads/')) return null;
  // Forgejo lists only the latest commits of a large push and counts them all in total_commits;
  // older Gitea versions send no count, and then the list cannot be known to be whole.
  const total = p.total_commits === undefined ? null : count(p, 'total_commits', '');
  const complete = total !== null && total <= commits.length;
  return {
    ...base,
    type: 'push',
    branch: fullRef.slice('refs/heads/'.length),
    before,
    commit,
    compareUrl: optionalUrl(p, 'compare_url', ''),
    changedFiles: changedFiles(commits, 'commits', complete, false),
    deleted,
  };
}

/**
 * The pushed head: head_commit when sent (newer versions); otherwise the listed commit whose id is
 * "after" (the documentation's example has no head_commit); otherwise only its id and page.
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

const PULL_REQUESTS: PullRequestDialect = {
  kind: 'forgejo',
  actions: new Map([
    ['opened', 'opened'],
    ['synchronized', 'updated'],
    ['reopened', 'reopened'],
  ]),
  fromFork: (head, base, headRepo) =>
    headRepo === null || id(head, 'repo_id', 'pull_request.head') !== id(base, 'repo_id', 'pull_request.base'),
};
