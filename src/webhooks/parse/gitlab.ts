// GitLab's deliveries (X-Gitlab-Event) as its webhook events documentation describes them:
// "Push Hook", "Tag Push Hook" and "Merge Request Hook". Every other event (issues, notes,
// pipelines, system hooks) is nothing to act on.
import type { PullRequestEvent, PushEvent, TagEvent, VcsCommit, VcsEvent } from '../../vcs/types.js';
import {
  changedFiles, count, identifier, isZeroSha, malformed, MAX_MESSAGE_CHARS, object, objects, optionalSha, optionalText,
  positiveInteger, ref, root, sha, text, url, branchName, type Json,
} from './fields.js';

/** The object_kind each event header announces: a payload that says otherwise is refused. */
const KINDS = new Map([
  ['Push Hook', 'push'],
  ['Tag Push Hook', 'tag_push'],
  ['Merge Request Hook', 'merge_request'],
]);

export function parseGitlab(event: string, deliveryId: string, payload: unknown): VcsEvent | null {
  const kind = KINDS.get(event);
  if (!kind) return null;
  const p = root(payload);
  const objectKind = text(p, 'object_kind', '');
  if (objectKind !== kind) throw malformed(`field "object_kind" must be "${kind}" for a ${event} delivery`, 'object_kind');
  if (kind === 'push') return push(deliveryId, p);
  if (kind === 'tag_push') return tagPush(deliveryId, p);
  return mergeRequest(deliveryId, p);
}

interface Project {
  identifier: string;
  webUrl: string;
}

function project(p: Json): Project {
  const proj = object(p, 'project', '');
  return { identifier: identifier(proj, 'path_with_namespace', 'project'), webUrl: url(proj, 'web_url', 'project') };
}

/** The commit `id` among the listed ones, or one with only its id and page when it is not listed. */
function commitOf(commits: Json[], id: string, proj: Project, fallbackMessage: string): VcsCommit {
  for (const [i, c] of commits.entries()) {
    if (sha(c, 'id', `commits.${i}`) === id) {
      return { sha: id, message: text(c, 'message', `commits.${i}`, { max: MAX_MESSAGE_CHARS, allowEmpty: true }), url: url(c, 'url', `commits.${i}`) };
    }
  }
  return { sha: id, message: fallbackMessage, url: `${proj.webUrl}/-/commit/${id}` };
}

function push(deliveryId: string, p: Json): PushEvent | null {
  const fullRef = ref(p, 'ref', '');
  if (!fullRef.startsWith('refs/heads/')) return null;
  const before = sha(p, 'before', '');
  const after = sha(p, 'after', '');
  const proj = project(p);
  const commits = objects(p, 'commits', '');
  // GitLab lists at most 20 commits of a push and counts them all in total_commits_count.
  const total = count(p, 'total_commits_count', '');
  const deleted = isZeroSha(after);
  // checkout_sha is the new head; null when the branch was deleted.
  const head = optionalSha(p, 'checkout_sha', '') ?? after;
  return {
    kind: 'gitlab',
    identifier: proj.identifier,
    deliveryId,
    sender: text(p, 'user_username', ''),
    type: 'push',
    branch: fullRef.slice('refs/heads/'.length),
    before,
    commit: deleted ? { sha: after, message: '', url: `${proj.webUrl}/-/commit/${after}` } : commitOf(commits, head, proj, ''),
    compareUrl: isZeroSha(before) || deleted ? null : `${proj.webUrl}/-/compare/${before}...${after}`,
    changedFiles: changedFiles(commits, 'commits', total <= commits.length),
    deleted,
  };
}

function tagPush(deliveryId: string, p: Json): TagEvent | null {
  const fullRef = ref(p, 'ref', '');
  if (!fullRef.startsWith('refs/tags/')) throw malformed('field "ref" of a Tag Push Hook must start with "refs/tags/"', 'ref');
  const after = sha(p, 'after', '');
  const proj = project(p);
  const commits = objects(p, 'commits', '');
  const deleted = isZeroSha(after);
  // "after" is the tag object of an annotated tag; checkout_sha is the commit it points to (null on delete).
  const target = optionalSha(p, 'checkout_sha', '') ?? after;
  const tagMessage = optionalText(p, 'message', '', { max: MAX_MESSAGE_CHARS, allowEmpty: true }) ?? '';
  return {
    kind: 'gitlab',
    identifier: proj.identifier,
    deliveryId,
    sender: text(p, 'user_username', ''),
    type: 'tag',
    tag: fullRef.slice('refs/tags/'.length),
    commit: deleted ? { sha: after, message: '', url: `${proj.webUrl}/-/commit/${after}` } : commitOf(commits, target, proj, tagMessage),
    deleted,
  };
}

function mergeRequest(deliveryId: string, p: Json): PullRequestEvent {
  const proj = project(p);
  const attrs = object(p, 'object_attributes', '');
  const at = 'object_attributes';
  const action = optionalText(attrs, 'action', at) ?? '';
  const last = object(attrs, 'last_commit', at);
  const title = text(attrs, 'title', at);
  // "update" covers edits of the title or labels too; only an update carrying "oldrev" brought new commits.
  let mapped: PullRequestEvent['action'] = 'other';
  if (action === 'open') mapped = 'opened';
  else if (action === 'reopen') mapped = 'reopened';
  else if (action === 'update' && optionalSha(attrs, 'oldrev', at) !== null) mapped = 'updated';
  return {
    kind: 'gitlab',
    identifier: proj.identifier,
    deliveryId,
    sender: text(object(p, 'user', ''), 'username', 'user'),
    type: 'pull-request',
    action: mapped,
    number: positiveInteger(attrs, 'iid', at),
    url: url(attrs, 'url', at),
    title,
    commit: {
      sha: sha(last, 'id', `${at}.last_commit`),
      message: text(last, 'message', `${at}.last_commit`, { max: MAX_MESSAGE_CHARS, allowEmpty: true }),
      url: url(last, 'url', `${at}.last_commit`),
    },
    headBranch: branchName(attrs, 'source_branch', at),
    baseBranch: branchName(attrs, 'target_branch', at),
    fromFork: positiveInteger(attrs, 'source_project_id', at) !== positiveInteger(attrs, 'target_project_id', at),
  };
}
