// GitHub's deliveries (X-GitHub-Event) as its webhook documentation describes them: "push" to a
// branch or a tag (refs/tags/...), and "pull_request". "ping" (sent when a webhook is created) and
// every other event are nothing to act on.
import type { PushEvent, TagEvent, VcsCommit, VcsEvent } from '../../vcs/types.js';
import {
  boolean, changedFiles, id, identifier, isZeroSha, MAX_MESSAGE_CHARS, object, objects, optionalObject,
  optionalUrl, paths, ref, root, sha, text, url, type Json,
} from './fields.js';
import { pullRequest, type PullRequestDialect } from './pull-request.js';

/** GitHub lists at most this many commits of a push; a push of more may list only some. */
export const GITHUB_MAX_COMMITS = 2048;
/** GitHub reports at most this many changed files of one commit. */
export const GITHUB_MAX_FILES_PER_COMMIT = 3000;

export function parseGithub(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  if (event === 'push') return push(deliveryId, root(payload));
  if (event === 'pull_request') return pullRequest(PULL_REQUESTS, deliveryId, root(payload));
  return null;
}

function push(deliveryId: string, p: Json): PushEvent | TagEvent | null {
  const fullRef = ref(p, 'ref', '');
  const before = sha(p, 'before', '');
  const after = sha(p, 'after', '');
  const deleted = boolean(p, 'deleted', '');
  const repository = object(p, 'repository', '');
  const base = {
    kind: 'github' as const,
    identifier: identifier(repository, 'full_name', 'repository'),
    deliveryId,
    sender: text(object(p, 'sender', ''), 'login', 'sender'),
  };
  const repoUrl = url(repository, 'html_url', 'repository');
  const commits = objects(p, 'commits', '');
  // The head commit is null when a branch or tag is deleted.
  const head = optionalObject(p, 'head_commit', '');
  const commit: VcsCommit = head
    ? { sha: sha(head, 'id', 'head_commit'), message: text(head, 'message', 'head_commit', { max: MAX_MESSAGE_CHARS, allowEmpty: true }), url: url(head, 'url', 'head_commit') }
    : { sha: after, message: '', url: `${repoUrl}/commit/${after}` };

  if (fullRef.startsWith('refs/tags/')) {
    return { ...base, type: 'tag', tag: fullRef.slice('refs/tags/'.length), commit, deleted: deleted || isZeroSha(after) };
  }
  if (!fullRef.startsWith('refs/heads/')) return null; // notes, pull request refs: nothing to plan
  const complete = commits.length < GITHUB_MAX_COMMITS && commits.every((c, i) => filesListed(c, `commits.${i}`));
  return {
    ...base,
    type: 'push',
    branch: fullRef.slice('refs/heads/'.length),
    before,
    commit,
    compareUrl: optionalUrl(p, 'compare', ''),
    changedFiles: changedFiles(commits, 'commits', complete, false),
    deleted: deleted || isZeroSha(after),
  };
}

/**
 * Whether a commit's added, modified and removed lists can be taken as all it changed. GitHub
 * reports at most 3000 files of a commit, leaves the lists empty when a commit is too large to list
 * in time, and its schema marks them optional: in each case the files must be asked for.
 */
function filesListed(c: Json, at: string): boolean {
  if (c.added === undefined || c.modified === undefined || c.removed === undefined) return false;
  const n = paths(c, 'added', at).length + paths(c, 'modified', at).length + paths(c, 'removed', at).length;
  return n > 0 && n < GITHUB_MAX_FILES_PER_COMMIT;
}

const PULL_REQUESTS: PullRequestDialect = {
  kind: 'github',
  actions: new Map([
    ['opened', 'opened'],
    ['synchronize', 'updated'],
    ['reopened', 'reopened'],
  ]),
  fromFork: (_head, base, headRepo) =>
    headRepo === null || id(headRepo, 'id', 'pull_request.head.repo') !== id(object(base, 'repo', 'pull_request.base'), 'id', 'pull_request.base.repo'),
};
