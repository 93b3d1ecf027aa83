// Forgejo's (and Gitea's) deliveries (X-Forgejo-Event / X-Gitea-Event) as its webhook
// documentation describes them: "push" to a branch or a tag (refs/tags/...), and "pull_request".
// Every other event (create, delete, issues, releases...) is nothing to act on: a deleted branch
// or tag also arrives as a push whose "after" is all zeros.
import type { VcsEvent } from '../../vcs/types.js';
import { count, id, isZeroSha, root } from './fields.js';
import { pullRequest, type PullRequestDialect } from './pull-request.js';
import { push, type PushDialect } from './push.js';

export function parseForgejo(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  if (event === 'push') return push(PUSHES, deliveryId, root(payload));
  if (event === 'pull_request') return pullRequest(PULL_REQUESTS, deliveryId, root(payload));
  return null;
}

const PUSHES: PushDialect = {
  kind: 'forgejo',
  // A deleted branch or tag arrives as a push whose "after" is all zeros.
  deleted: (_p, after) => isZeroSha(after),
  compareField: 'compare_url',
  // Forgejo lists only the latest commits of a large push and counts them all in total_commits;
  // older Gitea versions send no count, and then the list cannot be known to be whole.
  complete: (p, commits) => {
    const total = p.total_commits === undefined ? null : count(p, 'total_commits', '');
    return total !== null && total <= commits.length;
  },
};

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
