// GitHub's deliveries (X-GitHub-Event) as its webhook documentation describes them: "push" to a
// branch or a tag (refs/tags/...), and "pull_request". "ping" (sent when a webhook is created) and
// every other event are nothing to act on.
import type { VcsEvent } from '../../vcs/types.js';
import { boolean, id, isZeroSha, object, paths, root, type Json } from './fields.js';
import { pullRequest, type PullRequestDialect } from './pull-request.js';
import { push, type PushDialect } from './push.js';

/** GitHub lists at most this many commits of a push; a push of more may list only some. */
export const GITHUB_MAX_COMMITS = 2048;
/** GitHub reports at most this many changed files of one commit. */
export const GITHUB_MAX_FILES_PER_COMMIT = 3000;

export function parseGithub(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  if (event === 'push') return push(PUSHES, deliveryId, root(payload));
  if (event === 'pull_request') return pullRequest(PULL_REQUESTS, deliveryId, root(payload));
  return null;
}

const PUSHES: PushDialect = {
  kind: 'github',
  deleted: (p, after) => boolean(p, 'deleted', '') || isZeroSha(after),
  compareField: 'compare',
  complete: (_p, commits) => commits.length < GITHUB_MAX_COMMITS && commits.every((c, i) => filesListed(c, `commits.${i}`)),
};

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
