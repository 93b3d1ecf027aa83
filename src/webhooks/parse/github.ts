// GitHub's deliveries (X-GitHub-Event) as its webhook documentation describes them: "push" to a
// branch or a tag (refs/tags/...), and "pull_request". "ping" (sent when a webhook is created) and
// every other event are nothing to act on.
import type { PullRequestEvent, PushEvent, TagEvent, VcsCommit, VcsEvent } from '../../vcs/types.js';
import {
  boolean, branchName, changedFiles, id, identifier, isZeroSha, MAX_MESSAGE_CHARS, object, objects, optionalObject,
  optionalUrl, paths, positiveInteger, ref, root, sha, text, url, type Json,
} from './fields.js';

/** GitHub lists at most this many commits of a push; a push of more may list only some. */
export const GITHUB_MAX_COMMITS = 2048;
/** GitHub reports at most this many changed files of one commit. */
export const GITHUB_MAX_FILES_PER_COMMIT = 3000;

export function parseGithub(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  if (event === 'push') return push(deliveryId, root(payload));
  if (event === 'pull_request') return pullRequest(deliveryId, root(payload));
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

// A Map, not an object: an action named "constructor" must not find Object's.
const ACTIONS = new Map<string, PullRequestEvent['action']>([
  ['opened', 'opened'],
  ['synchronize', 'updated'],
  ['reopened', 'reopened'],
]);

function pullRequest(deliveryId: string, p: Json): PullRequestEvent {
  const action = text(p, 'action', '');
  const number = positiveInteger(p, 'number', '');
  const repository = object(p, 'repository', '');
  const pr = object(p, 'pull_request', '');
  const head = object(pr, 'head', 'pull_request');
  const base = object(pr, 'base', 'pull_request');
  // The head repository is null once a fork is deleted: still not the base repository.
  const headRepo = optionalObject(head, 'repo', 'pull_request.head');
  const baseRepo = object(base, 'repo', 'pull_request.base');
  const headSha = sha(head, 'sha', 'pull_request.head');
  const title = text(pr, 'title', 'pull_request');
  const commitBase = headRepo ? url(headRepo, 'html_url', 'pull_request.head.repo') : url(repository, 'html_url', 'repository');
  return {
    kind: 'github',
    identifier: identifier(repository, 'full_name', 'repository'),
    deliveryId,
    sender: text(object(p, 'sender', ''), 'login', 'sender'),
    type: 'pull-request',
    action: ACTIONS.get(action) ?? 'other',
    number,
    url: url(pr, 'html_url', 'pull_request'),
    title,
    // A pull request's payload carries no commit message: its title stands for it.
    commit: { sha: headSha, message: title, url: `${commitBase}/commit/${headSha}` },
    headBranch: branchName(head, 'ref', 'pull_request.head'),
    baseBranch: branchName(base, 'ref', 'pull_request.base'),
    fromFork: headRepo === null || id(headRepo, 'id', 'pull_request.head.repo') !== id(baseRepo, 'id', 'pull_request.base.repo'),
  };
}
