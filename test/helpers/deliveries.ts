// Webhook deliveries built as GitHub, GitLab and Forgejo send them: the headers each documents
// (User-Agent, content type, event, delivery id, signature or token) and payloads with the fields
// of their webhook documentation, signed with the secret given. Plus HOSTILE_DELIVERIES: bad
// deliveries of every kind, each with the status otfd must answer, for verifyDelivery's tests and
// for replaying through the HTTP route.
//
// Headers are returned with the providers' own spelling ("X-GitHub-Event"); verifyDelivery takes
// them by lower-case name (lowerCaseHeaders), as Node's HTTP server hands them over.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { MAX_DELIVERY_BYTES } from '../../src/webhooks/verify.js';
import type { HookKind } from '../../src/vcs/types.js';

export interface Delivery {
  headers: Record<string, string>;
  body: Buffer;
}

/** A changed-files list: paths added, modified, removed (a plain list means modified). */
export type ChangedFiles = string[] | { added?: string[]; modified?: string[]; removed?: string[] };

export interface CommitSpec {
  sha: string;
  message: string;
  files?: ChangedFiles;
}

export interface PushSpec {
  secret: string;
  /** "owner/name"; GitLab: the project's full path, "group/sub/name". */
  identifier: string;
  /** The new head (the tag's commit for tags). */
  sha: string;
  /** The old head; a random one by default, all zeros for a new branch. */
  before?: string;
  branch?: string;
  message?: string;
  files?: ChangedFiles;
  /** The commits of the push, oldest first; by default one, of sha, message and files. */
  commits?: CommitSpec[];
  /** How many commits the push had when more than are listed (GitLab, Forgejo count them). */
  totalCommits?: number;
  /** The branch (or tag) was deleted. */
  deleted?: boolean;
  sender?: string;
  /** The provider's web address; the repository's page is <webBase>/<identifier>. */
  webBase?: string;
  deliveryId?: string;
}

export interface TagSpec extends Omit<PushSpec, 'branch'> {
  tag: string;
}

export interface PullRequestSpec {
  secret: string;
  identifier: string;
  number: number;
  /** The head commit. */
  sha: string;
  title?: string;
  headBranch?: string;
  baseBranch?: string;
  /** The provider's own action name: GitHub opened/synchronize/reopened/closed, GitLab open/update/reopen/close, Forgejo opened/synchronized/reopened/closed. */
  action?: string;
  /** GitLab "update" with new commits carries oldrev; default: the random old head when action is update. */
  oldrev?: string | null;
  /** The head repository's identifier when it is a fork. */
  fork?: string;
  message?: string;
  sender?: string;
  webBase?: string;
  deliveryId?: string;
}

export const ZERO_SHA = '0000000000000000000000000000000000000000';

export function randomSha(): string {
  return randomBytes(20).toString('hex');
}

export function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function hmac(algorithm: 'sha1' | 'sha256', secret: string, body: Buffer): string {
  return createHmac(algorithm, secret).update(body).digest('hex');
}

function fileLists(files: ChangedFiles | undefined): { added: string[]; modified: string[]; removed: string[] } {
  if (!files) return { added: [], modified: [], removed: [] };
  if (Array.isArray(files)) return { added: [], modified: [...files], removed: [] };
  return { added: files.added ?? [], modified: files.modified ?? [], removed: files.removed ?? [] };
}

function commitsOf(spec: PushSpec): CommitSpec[] {
  if (spec.deleted) return [];
  return spec.commits ?? [{ sha: spec.sha, message: spec.message ?? 'Change the configuration', files: spec.files }];
}

const NOW = '2026-12-04T10:00:00Z';

/** A stable small number from a name (repository and user ids). */
function numericId(name: string): number {
  let h = 7;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 900_000_000;
  return h + 1000;
}

// ------------------------------------------------------------------ GitHub

const GITHUB = 'https://github.com';

/** Headers GitHub sends with a delivery of `body` for `event`. */
export function githubHeaders(event: string, body: Buffer, secret: string, opts: { deliveryId?: string; repoId?: number } = {}): Record<string, string> {
  return {
    Accept: '*/*',
    'Content-Type': 'application/json',
    'User-Agent': 'GitHub-Hookshot/5d8b9b2',
    'X-GitHub-Delivery': opts.deliveryId ?? randomUUID(),
    'X-GitHub-Event': event,
    'X-GitHub-Hook-ID': '471133701',
    'X-GitHub-Hook-Installation-Target-ID': String(opts.repoId ?? 79929171),
    'X-GitHub-Hook-Installation-Target-Type': 'repository',
    'X-Hub-Signature': `sha1=${hmac('sha1', secret, body)}`,
    'X-Hub-Signature-256': `sha256=${hmac('sha256', secret, body)}`,
  };
}

function githubUser(login: string, web: string) {
  return {
    login,
    id: numericId(login),
    node_id: `U_${numericId(login)}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${numericId(login)}?v=4`,
    gravatar_id: '',
    url: `https://api.github.com/users/${login}`,
    html_url: `${web}/${login}`,
    type: 'User',
    site_admin: false,
  };
}

function githubRepository(identifier: string, web: string, style: 'push' | 'api') {
  const [owner = '', name = ''] = identifier.split('/');
  const id = numericId(identifier);
  return {
    id,
    node_id: `R_kgDO${id}`,
    name,
    full_name: identifier,
    private: true,
    owner: style === 'push' ? { name: owner, email: null, ...githubUser(owner, web) } : githubUser(owner, web),
    html_url: `${web}/${identifier}`,
    description: null,
    fork: false,
    url: style === 'push' ? `${web}/${identifier}` : `https://api.github.com/repos/${identifier}`,
    git_url: `git://github.com/${identifier}.git`,
    ssh_url: `git@github.com:${identifier}.git`,
    clone_url: `${web}/${identifier}.git`,
    created_at: style === 'push' ? 1733000000 : NOW,
    updated_at: NOW,
    pushed_at: style === 'push' ? 1733300000 : NOW,
    size: 12,
    stargazers_count: 0,
    watchers_count: 0,
    language: 'HCL',
    has_issues: true,
    forks_count: 0,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    visibility: 'private',
    default_branch: 'main',
    ...(style === 'push' ? { stargazers: 0, master_branch: 'main' } : {}),
  };
}

function githubCommit(c: CommitSpec, identifier: string, web: string, sender: string) {
  const files = fileLists(c.files);
  const person = { name: 'Ada Lovelace', email: `${sender}@users.noreply.github.com`, username: sender };
  return {
    id: c.sha,
    tree_id: randomSha(),
    distinct: true,
    message: c.message,
    timestamp: '2026-12-04T11:00:00+01:00',
    url: `${web}/${identifier}/commit/${c.sha}`,
    author: person,
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: files.added,
    removed: files.removed,
    modified: files.modified,
  };
}

function githubPushPayload(spec: PushSpec, ref: string): Record<string, unknown> {
  const web = spec.webBase ?? GITHUB;
  const sender = spec.sender ?? 'octocat';
  const before = spec.before ?? randomSha();
  const after = spec.deleted ? ZERO_SHA : spec.sha;
  const commits = commitsOf(spec).map((c) => githubCommit(c, spec.identifier, web, sender));
  const created = before === ZERO_SHA;
  return {
    ref,
    before,
    after,
    repository: githubRepository(spec.identifier, web, 'push'),
    pusher: { name: sender, email: `${sender}@users.noreply.github.com` },
    sender: githubUser(sender, web),
    created,
    deleted: spec.deleted ?? false,
    forced: false,
    base_ref: null,
    compare: created ? `${web}/${spec.identifier}/commit/${after.slice(0, 12)}` : `${web}/${spec.identifier}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: spec.deleted ? null : (commits[commits.length - 1] ?? null),
  };
}

function githubDelivery(event: string, payload: unknown, secret: string, deliveryId?: string): Delivery {
  const body = Buffer.from(JSON.stringify(payload));
  return { headers: githubHeaders(event, body, secret, { deliveryId }), body };
}

export function githubPush(spec: PushSpec): Delivery {
  return githubDelivery('push', githubPushPayload(spec, `refs/heads/${spec.branch ?? 'main'}`), spec.secret, spec.deliveryId);
}

export function githubTag(spec: TagSpec): Delivery {
  // A tag pushed on its own lists no commits; head_commit is the commit the tag points to.
  const payload = githubPushPayload({ ...spec, commits: [] }, `refs/tags/${spec.tag}`);
  if (!spec.deleted) {
    payload.head_commit = githubCommit({ sha: spec.sha, message: spec.message ?? 'Release', files: spec.files }, spec.identifier, spec.webBase ?? GITHUB, spec.sender ?? 'octocat');
    payload.before = ZERO_SHA;
    payload.created = true;
  }
  return githubDelivery('push', payload, spec.secret, spec.deliveryId);
}

export function githubPingPayload(identifier: string): Record<string, unknown> {
  return {
    zen: 'Keep it logically awesome.',
    hook_id: 471133701,
    hook: { type: 'Repository', id: 471133701, name: 'web', active: true, events: ['push', 'pull_request'], config: { content_type: 'json', insecure_ssl: '0', url: 'https://otf.example.com/webhooks/github/x' } },
    repository: githubRepository(identifier, GITHUB, 'api'),
    sender: githubUser('octocat', GITHUB),
  };
}

export function githubPing(spec: { secret: string; identifier: string }): Delivery {
  return githubDelivery('ping', githubPingPayload(spec.identifier), spec.secret);
}

export function githubPullRequest(spec: PullRequestSpec): Delivery {
  const web = spec.webBase ?? GITHUB;
  const sender = spec.sender ?? 'octocat';
  const base = githubRepository(spec.identifier, web, 'api');
  const head = spec.fork ? { ...githubRepository(spec.fork, web, 'api'), fork: true } : base;
  const headBranch = spec.headBranch ?? 'feature';
  const baseBranch = spec.baseBranch ?? 'main';
  const user = githubUser(sender, web);
  const payload = {
    action: spec.action ?? 'opened',
    number: spec.number,
    pull_request: {
      url: `https://api.github.com/repos/${spec.identifier}/pulls/${spec.number}`,
      id: numericId(`${spec.identifier}#${spec.number}`),
      node_id: `PR_kwDO${spec.number}`,
      html_url: `${web}/${spec.identifier}/pull/${spec.number}`,
      diff_url: `${web}/${spec.identifier}/pull/${spec.number}.diff`,
      patch_url: `${web}/${spec.identifier}/pull/${spec.number}.patch`,
      number: spec.number,
      state: 'open',
      locked: false,
      title: spec.title ?? 'Change the configuration',
      user,
      body: null,
      created_at: NOW,
      updated_at: NOW,
      closed_at: null,
      merged_at: null,
      merge_commit_sha: null,
      draft: false,
      head: { label: `${head.owner.login}:${headBranch}`, ref: headBranch, sha: spec.sha, user: head.owner, repo: head },
      base: { label: `${base.owner.login}:${baseBranch}`, ref: baseBranch, sha: randomSha(), user: base.owner, repo: base },
      author_association: 'OWNER',
      merged: false,
      mergeable: null,
      comments: 0,
      commits: 1,
      additions: 3,
      deletions: 1,
      changed_files: 1,
    },
    repository: base,
    sender: user,
  };
  return githubDelivery('pull_request', payload, spec.secret, spec.deliveryId);
}

// ------------------------------------------------------------------ GitLab

const GITLAB = 'https://gitlab.example.com';

/** Headers GitLab sends with a delivery for `event` ("Push Hook"); the token is the secret itself. */
export function gitlabHeaders(event: string, secret: string, opts: { deliveryId?: string; webBase?: string } = {}): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'GitLab/17.6.0',
    'Idempotency-Key': opts.deliveryId ?? randomUUID(),
    'X-Gitlab-Event': event,
    'X-Gitlab-Event-UUID': randomUUID(),
    'X-Gitlab-Instance': opts.webBase ?? GITLAB,
    'X-Gitlab-Webhook-UUID': '1b4bdd0f-0a47-4e4c-9a2b-2e76a8b4d4b5',
    'X-Gitlab-Token': secret,
  };
}

function gitlabProject(identifier: string, web: string) {
  const parts = identifier.split('/');
  const host = new URL(web).host;
  return {
    id: numericId(identifier),
    name: parts[parts.length - 1],
    description: '',
    web_url: `${web}/${identifier}`,
    avatar_url: null,
    git_ssh_url: `git@${host}:${identifier}.git`,
    git_http_url: `${web}/${identifier}.git`,
    namespace: parts.slice(0, -1).join('/'),
    visibility_level: 0,
    path_with_namespace: identifier,
    default_branch: 'main',
    ci_config_path: null,
    homepage: `${web}/${identifier}`,
    url: `git@${host}:${identifier}.git`,
    ssh_url: `git@${host}:${identifier}.git`,
    http_url: `${web}/${identifier}.git`,
  };
}

function gitlabRepository(identifier: string, web: string) {
  const p = gitlabProject(identifier, web);
  return { name: p.name, url: p.url, description: '', homepage: p.homepage, git_http_url: p.git_http_url, git_ssh_url: p.git_ssh_url, visibility_level: 0 };
}

function gitlabCommit(c: CommitSpec, identifier: string, web: string) {
  const files = fileLists(c.files);
  return {
    id: c.sha,
    message: c.message,
    title: c.message.split('\n')[0],
    timestamp: '2026-12-04T11:00:00+01:00',
    url: `${web}/${identifier}/-/commit/${c.sha}`,
    author: { name: 'Ada Lovelace', email: 'ada@example.com' },
    added: files.added,
    modified: files.modified,
    removed: files.removed,
  };
}

function gitlabPushPayload(spec: PushSpec, kind: 'push' | 'tag_push', ref: string): Record<string, unknown> {
  const web = spec.webBase ?? GITLAB;
  const sender = spec.sender ?? 'ada';
  const commits = commitsOf(spec).map((c) => gitlabCommit(c, spec.identifier, web));
  const project = gitlabProject(spec.identifier, web);
  return {
    object_kind: kind,
    event_name: kind,
    before: spec.before ?? randomSha(),
    after: spec.deleted ? ZERO_SHA : spec.sha,
    ref,
    ref_protected: true,
    checkout_sha: spec.deleted ? null : spec.sha,
    message: null,
    user_id: numericId(sender),
    user_name: 'Ada Lovelace',
    user_username: sender,
    user_email: '',
    user_avatar: `https://www.gravatar.com/avatar/${numericId(sender)}?s=80&d=identicon`,
    project_id: project.id,
    project,
    commits,
    total_commits_count: spec.totalCommits ?? commits.length,
    push_options: {},
    repository: gitlabRepository(spec.identifier, web),
  };
}

function gitlabDelivery(event: string, payload: unknown, secret: string, deliveryId?: string, webBase?: string): Delivery {
  return { headers: gitlabHeaders(event, secret, { deliveryId, webBase }), body: Buffer.from(JSON.stringify(payload)) };
}

export function gitlabPush(spec: PushSpec): Delivery {
  const payload = gitlabPushPayload(spec, 'push', `refs/heads/${spec.branch ?? 'main'}`);
  return gitlabDelivery('Push Hook', payload, spec.secret, spec.deliveryId, spec.webBase);
}

/**
 * A tag push: GitLab's "after" is the tag object of an annotated tag (a random sha here) and
 * checkout_sha the commit it points to; the commits list is empty and "message" is the tag's.
 */
export function gitlabTagPush(spec: TagSpec): Delivery {
  const payload = gitlabPushPayload({ ...spec, commits: [] }, 'tag_push', `refs/tags/${spec.tag}`);
  payload.before = ZERO_SHA;
  if (!spec.deleted) {
    payload.after = randomSha();
    payload.message = spec.message ?? 'Release';
  } else {
    payload.before = spec.sha;
  }
  return gitlabDelivery('Tag Push Hook', payload, spec.secret, spec.deliveryId, spec.webBase);
}

export function gitlabMergeRequest(spec: PullRequestSpec): Delivery {
  const web = spec.webBase ?? GITLAB;
  const sender = spec.sender ?? 'ada';
  const target = gitlabProject(spec.identifier, web);
  const source = spec.fork ? gitlabProject(spec.fork, web) : target;
  const action = spec.action ?? 'open';
  const oldrev = spec.oldrev === undefined ? (action === 'update' ? randomSha() : null) : spec.oldrev;
  const title = spec.title ?? 'Change the configuration';
  const attributes: Record<string, unknown> = {
    id: numericId(`${spec.identifier}!${spec.number}`),
    iid: spec.number,
    target_branch: spec.baseBranch ?? 'main',
    source_branch: spec.headBranch ?? 'feature',
    source_project_id: source.id,
    author_id: numericId(sender),
    assignee_ids: [],
    assignee_id: null,
    reviewer_ids: [],
    title,
    created_at: '2026-12-04 10:00:00 UTC',
    updated_at: '2026-12-04 10:00:00 UTC',
    last_edited_at: null,
    milestone_id: null,
    state_id: 1,
    state: 'opened',
    blocking_discussions_resolved: true,
    work_in_progress: false,
    draft: false,
    first_contribution: false,
    merge_status: 'unchecked',
    target_project_id: target.id,
    description: '',
    prepared_at: '2026-12-04 10:00:01 UTC',
    total_time_spent: 0,
    time_change: 0,
    human_total_time_spent: null,
    human_time_change: null,
    human_time_estimate: null,
    url: `${web}/${spec.identifier}/-/merge_requests/${spec.number}`,
    source,
    target,
    last_commit: {
      id: spec.sha,
      message: spec.message ?? `${title}\n`,
      title,
      timestamp: '2026-12-04T11:00:00+01:00',
      url: `${web}/${spec.fork ?? spec.identifier}/-/commit/${spec.sha}`,
      author: { name: 'Ada Lovelace', email: 'ada@example.com' },
    },
    labels: [],
    action,
    detailed_merge_status: 'checking',
  };
  if (oldrev) attributes.oldrev = oldrev;
  const payload = {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: numericId(sender), name: 'Ada Lovelace', username: sender, avatar_url: `https://www.gravatar.com/avatar/${numericId(sender)}?s=80&d=identicon`, email: '[REDACTED]' },
    project: target,
    object_attributes: attributes,
    labels: [],
    changes: {},
    repository: gitlabRepository(spec.identifier, web),
  };
  return gitlabDelivery('Merge Request Hook', payload, spec.secret, spec.deliveryId, spec.webBase);
}

// ------------------------------------------------------------------ Forgejo

const FORGEJO = 'https://forgejo.example.com';

/**
 * Headers Forgejo sends: its own, and the same under Gitea's, Gogs' and GitHub's names for
 * receivers written for those. `eventType` is the finer name (pull_request_sync for new commits).
 */
export function forgejoHeaders(event: string, body: Buffer, secret: string, opts: { deliveryId?: string; eventType?: string } = {}): Record<string, string> {
  const id = opts.deliveryId ?? randomUUID();
  const type = opts.eventType ?? event;
  const signature = hmac('sha256', secret, body);
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'Go-http-client/1.1',
    'X-Forgejo-Delivery': id,
    'X-Forgejo-Event': event,
    'X-Forgejo-Event-Type': type,
    'X-Forgejo-Signature': signature,
    'X-Gitea-Delivery': id,
    'X-Gitea-Event': event,
    'X-Gitea-Event-Type': type,
    'X-Gitea-Signature': signature,
    'X-Gogs-Delivery': id,
    'X-Gogs-Event': event,
    'X-Gogs-Event-Type': type,
    'X-Gogs-Signature': signature,
    'X-GitHub-Delivery': id,
    'X-GitHub-Event': event,
    'X-GitHub-Event-Type': type,
    'X-Hub-Signature': `sha1=${hmac('sha1', secret, body)}`,
    'X-Hub-Signature-256': `sha256=${signature}`,
  };
}

function forgejoUser(login: string, web: string) {
  return {
    id: numericId(login),
    login,
    login_name: '',
    source_id: 0,
    full_name: '',
    email: `${login}@noreply.forgejo.example.com`,
    avatar_url: `${web}/avatars/${numericId(login)}`,
    html_url: `${web}/${login}`,
    language: '',
    is_admin: false,
    restricted: false,
    active: false,
    prohibit_login: false,
    visibility: 'public',
    username: login,
  };
}

function forgejoRepository(identifier: string, web: string, fork = false) {
  const [owner = '', name = ''] = identifier.split('/');
  const host = new URL(web).host;
  return {
    id: numericId(identifier),
    owner: forgejoUser(owner, web),
    name,
    full_name: identifier,
    description: '',
    empty: false,
    private: true,
    fork,
    template: false,
    parent: null,
    mirror: false,
    size: 40,
    language: '',
    html_url: `${web}/${identifier}`,
    url: `${web}/api/v1/repos/${identifier}`,
    link: '',
    ssh_url: `git@${host}:${identifier}.git`,
    clone_url: `${web}/${identifier}.git`,
    original_url: '',
    website: '',
    stars_count: 0,
    forks_count: 0,
    watchers_count: 1,
    open_issues_count: 0,
    open_pr_counter: 0,
    release_counter: 0,
    default_branch: 'main',
    archived: false,
    created_at: NOW,
    updated_at: NOW,
    permissions: { admin: true, push: true, pull: true },
    has_issues: true,
    has_pull_requests: true,
    object_format_name: 'sha1',
  };
}

function forgejoCommit(c: CommitSpec, identifier: string, web: string, sender: string) {
  const files = fileLists(c.files);
  const person = { name: 'Ada Lovelace', email: 'ada@example.com', username: sender };
  return {
    id: c.sha,
    message: c.message.endsWith('\n') ? c.message : `${c.message}\n`,
    url: `${web}/${identifier}/commit/${c.sha}`,
    author: person,
    committer: person,
    verification: null,
    timestamp: '2026-12-04T11:00:00+01:00',
    added: files.added,
    removed: files.removed,
    modified: files.modified,
  };
}

function forgejoPushPayload(spec: PushSpec, ref: string): Record<string, unknown> {
  const web = spec.webBase ?? FORGEJO;
  const sender = spec.sender ?? 'ada';
  const before = spec.before ?? randomSha();
  const after = spec.deleted ? ZERO_SHA : spec.sha;
  const commits = commitsOf(spec).map((c) => forgejoCommit(c, spec.identifier, web, sender));
  return {
    ref,
    before,
    after,
    compare_url: before === ZERO_SHA || spec.deleted ? '' : `${web}/${spec.identifier}/compare/${before}...${after}`,
    commits,
    total_commits: spec.totalCommits ?? commits.length,
    head_commit: commits[commits.length - 1] ?? null,
    repository: forgejoRepository(spec.identifier, web),
    pusher: forgejoUser(sender, web),
    sender: forgejoUser(sender, web),
  };
}

function forgejoDelivery(event: string, payload: unknown, secret: string, deliveryId?: string, eventType?: string): Delivery {
  const body = Buffer.from(JSON.stringify(payload));
  return { headers: forgejoHeaders(event, body, secret, { deliveryId, eventType }), body };
}

export function forgejoPush(spec: PushSpec): Delivery {
  return forgejoDelivery('push', forgejoPushPayload(spec, `refs/heads/${spec.branch ?? 'main'}`), spec.secret, spec.deliveryId);
}

/** A tag pushed: Forgejo sends it as a push to refs/tags/<tag>, its head commit the tagged one. */
export function forgejoTag(spec: TagSpec): Delivery {
  const payload = forgejoPushPayload({ ...spec, before: spec.deleted ? spec.sha : ZERO_SHA, commits: [] }, `refs/tags/${spec.tag}`);
  if (!spec.deleted) {
    payload.head_commit = forgejoCommit({ sha: spec.sha, message: spec.message ?? 'Release', files: spec.files }, spec.identifier, spec.webBase ?? FORGEJO, spec.sender ?? 'ada');
  }
  return forgejoDelivery('push', payload, spec.secret, spec.deliveryId);
}

export function forgejoPullRequest(spec: PullRequestSpec): Delivery {
  const web = spec.webBase ?? FORGEJO;
  const sender = spec.sender ?? 'ada';
  const base = forgejoRepository(spec.identifier, web);
  const head = spec.fork ? forgejoRepository(spec.fork, web, true) : base;
  const headBranch = spec.headBranch ?? 'feature';
  const baseBranch = spec.baseBranch ?? 'main';
  const action = spec.action ?? 'opened';
  const user = forgejoUser(sender, web);
  const payload = {
    action,
    number: spec.number,
    pull_request: {
      id: numericId(`${spec.identifier}#${spec.number}`),
      url: `${web}/${spec.identifier}/pulls/${spec.number}`,
      number: spec.number,
      user,
      title: spec.title ?? 'Change the configuration',
      body: '',
      labels: [],
      milestone: null,
      assignee: null,
      assignees: null,
      requested_reviewers: null,
      state: 'open',
      draft: false,
      is_locked: false,
      comments: 0,
      html_url: `${web}/${spec.identifier}/pulls/${spec.number}`,
      diff_url: `${web}/${spec.identifier}/pulls/${spec.number}.diff`,
      patch_url: `${web}/${spec.identifier}/pulls/${spec.number}.patch`,
      mergeable: true,
      merged: false,
      merged_at: null,
      merge_commit_sha: null,
      merged_by: null,
      allow_maintainer_edit: false,
      base: { label: baseBranch, ref: baseBranch, sha: randomSha(), repo_id: base.id, repo: base },
      head: { label: headBranch, ref: headBranch, sha: spec.sha, repo_id: head.id, repo: head },
      merge_base: randomSha(),
      due_date: null,
      created_at: NOW,
      updated_at: NOW,
      closed_at: null,
      pin_order: 0,
    },
    requested_reviewer: null,
    repository: base,
    sender: user,
    commit_id: '',
    review: null,
  };
  const eventType = action === 'synchronized' ? 'pull_request_sync' : 'pull_request';
  return forgejoDelivery('pull_request', payload, spec.secret, spec.deliveryId, eventType);
}

// ------------------------------------------------------------------ hostile deliveries

export interface HostileDelivery {
  /** What is wrong with it, unique in the list. */
  name: string;
  kind: HookKind;
  headers: Record<string, string>;
  body: Buffer;
  /** The status otfd must answer. */
  status: 400 | 401 | 413 | 415;
  /** What the answer's detail must say. */
  detail: RegExp;
}

/** The secret HOSTILE_DELIVERIES are built for: a hook with this secret must refuse every one. */
export const HOSTILE_SECRET = 'hostile-test-secret-0123456789abcdef';

type Payload = Record<string, unknown>;

function clone(p: Payload): Payload {
  return JSON.parse(JSON.stringify(p)) as Payload;
}

/** Sets the member at a dotted path ("pull_request.head.sha"); undefined removes it. */
function setPath(p: Payload, path: string, value: unknown): Payload {
  const out = clone(p);
  const keys = path.split('.');
  let o = out as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  const last = keys[keys.length - 1] ?? '';
  if (value === undefined) delete o[last];
  else o[last] = value;
  return out;
}

let oversized: Buffer | null = null;

/** One body just over the limit, shared by every oversized entry (it is 25 MiB). */
function oversizedBody(): Buffer {
  oversized ??= Buffer.alloc(MAX_DELIVERY_BYTES + 1, 0x20);
  return oversized;
}

/**
 * Bad deliveries across the three providers, each with the status it must get from a hook whose
 * secret is `secret` (whatever the hook's repository: none of them gets as far as comparing it).
 */
export function hostileDeliveries(secret: string = HOSTILE_SECRET, identifier = 'acme/infrastructure'): HostileDelivery[] {
  const sha = randomSha();
  const list: HostileDelivery[] = [];
  const add = (name: string, kind: HookKind, d: Delivery, status: HostileDelivery['status'], detail: RegExp) =>
    list.push({ name, kind, headers: d.headers, body: d.body, status, detail });

  // Valid deliveries of each kind, whose payloads are then spoiled and signed again.
  const gh = JSON.parse(githubPush({ secret, identifier, sha, files: ['main.tf'] }).body.toString()) as Payload;
  const ghPr = JSON.parse(githubPullRequest({ secret, identifier, number: 7, sha }).body.toString()) as Payload;
  const gl = JSON.parse(gitlabPush({ secret, identifier, sha, files: ['main.tf'] }).body.toString()) as Payload;
  const glMr = JSON.parse(gitlabMergeRequest({ secret, identifier, number: 7, sha }).body.toString()) as Payload;
  const fj = JSON.parse(forgejoPush({ secret, identifier, sha, files: ['main.tf'] }).body.toString()) as Payload;
  const fjPr = JSON.parse(forgejoPullRequest({ secret, identifier, number: 7, sha }).body.toString()) as Payload;

  const raw = (body: string | Buffer) => (Buffer.isBuffer(body) ? body : Buffer.from(body));
  const signed = {
    github: (body: string | Buffer, event = 'push', extra: Record<string, string | null> = {}): Delivery => withHeaders({ headers: githubHeaders(event, raw(body), secret), body: raw(body) }, extra),
    gitlab: (body: string | Buffer, event = 'Push Hook', extra: Record<string, string | null> = {}): Delivery => withHeaders({ headers: gitlabHeaders(event, secret), body: raw(body) }, extra),
    forgejo: (body: string | Buffer, event = 'push', extra: Record<string, string | null> = {}): Delivery => withHeaders({ headers: forgejoHeaders(event, raw(body), secret), body: raw(body) }, extra),
  };
  const json = (p: unknown) => JSON.stringify(p);
  const valid = { github: json(gh), gitlab: json(gl), forgejo: json(fj) };
  const kinds: HookKind[] = ['github', 'gitlab', 'forgejo'];
  const ghSig = (body: string) => hmac('sha256', secret, Buffer.from(body));

  // --- authentication (401)
  add('github: unsigned', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': null, 'X-Hub-Signature': null }), 401, /not signed.*X-Hub-Signature-256/);
  add('gitlab: no token', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Token': null }), 401, /X-Gitlab-Token header is missing/);
  add('forgejo: unsigned', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': null, 'X-Gitea-Signature': null, 'X-Gogs-Signature': null }), 401, /not signed/);
  add('github: wrong secret', 'github', { ...githubPush({ secret: 'another-secret', identifier, sha }) }, 401, /does not match/);
  add('gitlab: wrong secret', 'gitlab', gitlabPush({ secret: 'another-secret', identifier, sha }), 401, /does not match/);
  add('forgejo: wrong secret', 'forgejo', forgejoPush({ secret: 'another-secret', identifier, sha }), 401, /does not match/);
  add('github: signature of another body', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `sha256=${ghSig(json(ghPr))}` }), 401, /does not match/);
  add('forgejo: signature of another body', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': ghSig(json(fjPr)) }), 401, /does not match/);
  add('github: body changed after signing', 'github', { headers: githubHeaders('push', Buffer.from(valid.github), secret), body: Buffer.from(valid.github.replace('main.tf', 'evil.tf')) }, 401, /does not match/);
  add('github: truncated signature', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `sha256=${ghSig(valid.github).slice(0, 63)}` }), 401, /64 hexadecimal/);
  add('github: signature too long', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `sha256=${ghSig(valid.github)}00` }), 401, /64 hexadecimal/);
  add('forgejo: truncated signature', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': ghSig(valid.forgejo).slice(0, 40) }), 401, /64 hexadecimal/);
  add('github: non-hex signature', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `sha256=${'z'.repeat(64)}` }), 401, /64 hexadecimal/);
  add('forgejo: non-hex signature', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': 'g'.repeat(64) }), 401, /64 hexadecimal/);
  add('github: empty signature', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': '', 'X-Hub-Signature': null }), 401, /not signed/);
  add('forgejo: empty signature', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': '', 'X-Gitea-Signature': '' }), 401, /not signed/);
  add('gitlab: empty token', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Token': '' }), 401, /X-Gitlab-Token header is missing/);
  add('github: SHA-1 signature only', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': null }), 401, /only with SHA-1/);
  add('github: sha1= prefix in X-Hub-Signature-256', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `sha1=${ghSig(valid.github)}` }), 401, /must start with "sha256="/);
  add('github: upper-case prefix', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': `SHA256=${ghSig(valid.github)}` }), 401, /must start with "sha256="/);
  add('github: bare hex without prefix', 'github', signed.github(valid.github, 'push', { 'X-Hub-Signature-256': ghSig(valid.github) }), 401, /must start with "sha256="/);
  add('forgejo: sha256= prefix', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': `sha256=${ghSig(valid.forgejo)}` }), 401, /64 hexadecimal/);
  add('forgejo: wrong X-Forgejo-Signature, right X-Gitea-Signature', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': ghSig('other') }), 401, /X-Forgejo-Signature signature does not match/);
  add('forgejo: only X-Hub-Signature-256', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Signature': null, 'X-Gitea-Signature': null }), 401, /not signed/);
  add('gitlab: token with the secret as prefix', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Token': `${secret}x` }), 401, /does not match/);
  add('gitlab: token cut short', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Token': secret.slice(0, -1) }), 401, /does not match/);
  add('gitlab: HMAC instead of the token', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Token': ghSig(valid.gitlab) }), 401, /does not match/);

  // --- size (413)
  for (const kind of kinds) add(`${kind}: oversized`, kind, signed[kind](oversizedBody()), 413, /at most 26214400 bytes/);

  // --- content type (415)
  for (const kind of kinds) add(`${kind}: text/plain`, kind, signed[kind](valid[kind], undefined, { 'Content-Type': 'text/plain' }), 415, /must be application\/json, got "text\/plain"/);
  add('github: no content type', 'github', signed.github(valid.github, 'push', { 'Content-Type': null }), 415, /no Content-Type/);
  const form = `payload=${encodeURIComponent(valid.github)}`;
  add('github: form-encoded payload', 'github', signed.github(form, 'push', { 'Content-Type': 'application/x-www-form-urlencoded' }), 415, /form-encoded/);
  add('forgejo: form-encoded payload', 'forgejo', signed.forgejo(`payload=${encodeURIComponent(valid.forgejo)}`, 'push', { 'Content-Type': 'application/x-www-form-urlencoded' }), 415, /form-encoded/);
  add('gitlab: latin-1 charset', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'Content-Type': 'application/json; charset=iso-8859-1' }), 415, /UTF-8/);
  add('github: gzip content encoding', 'github', signed.github(valid.github, 'push', { 'Content-Encoding': 'gzip' }), 415, /compressed/);

  // --- event and delivery headers (400)
  add('github: no event header', 'github', signed.github(valid.github, 'push', { 'X-GitHub-Event': null }), 400, /X-GitHub-Event header is missing/);
  add('gitlab: no event header', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Event': null }), 400, /X-Gitlab-Event header is missing/);
  add('forgejo: no event header', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Event': null, 'X-Gitea-Event': null }), 400, /X-Forgejo-Event or X-Gitea-Event header is missing/);
  add('github: no delivery header', 'github', signed.github(valid.github, 'push', { 'X-GitHub-Delivery': null }), 400, /X-GitHub-Delivery header is missing/);
  add('gitlab: no delivery header', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'Idempotency-Key': null, 'X-Gitlab-Event-UUID': null }), 400, /Idempotency-Key or X-Gitlab-Event-UUID header is missing/);
  add('forgejo: no delivery header', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Delivery': null, 'X-Gitea-Delivery': null }), 400, /X-Forgejo-Delivery or X-Gitea-Delivery header is missing/);
  add('github: delivery id of 200 characters', 'github', signed.github(valid.github, 'push', { 'X-GitHub-Delivery': 'a'.repeat(200) }), 400, /not a delivery id/);
  add('forgejo: delivery id with a slash', 'forgejo', signed.forgejo(valid.forgejo, 'push', { 'X-Forgejo-Delivery': '../../etc/passwd' }), 400, /not a delivery id/);
  add('gitlab: event name with punctuation', 'gitlab', signed.gitlab(valid.gitlab, 'Push Hook', { 'X-Gitlab-Event': 'Push Hook; rm -rf' }), 400, /not an event name/);

  // --- the body as JSON (400)
  add('github: malformed JSON', 'github', signed.github('{"ref": "refs/heads/main",'), 400, /malformed JSON/);
  add('gitlab: malformed JSON', 'gitlab', signed.gitlab('{ref: refs/heads/main}'), 400, /malformed JSON/);
  add('forgejo: malformed JSON', 'forgejo', signed.forgejo(valid.forgejo.slice(0, 100)), 400, /malformed JSON/);
  add('github: JSON array', 'github', signed.github('[1,2,3]'), 400, /must be a JSON object, got an array/);
  add('gitlab: JSON string', 'gitlab', signed.gitlab('"push"'), 400, /must be a JSON object, got a string/);
  add('forgejo: JSON null', 'forgejo', signed.forgejo('null'), 400, /must be a JSON object, got null/);
  add('github: JSON number for a ping', 'github', signed.github('42', 'ping'), 400, /must be a JSON object, got a number/);
  add('gitlab: empty body', 'gitlab', signed.gitlab(''), 400, /payload is empty/);
  add('forgejo: invalid UTF-8', 'forgejo', signed.forgejo(Buffer.concat([Buffer.from('{"ref":"refs/heads/'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), 400, /not valid UTF-8/);
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  add('github: absurd nesting', 'github', signed.github(`{"ref":"refs/heads/main","x":${deep}}`), 400, /nests arrays and objects more than/);
  add('gitlab: absurd nesting', 'gitlab', signed.gitlab(`{"object_kind":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`), 400, /nests arrays and objects more than/);
  add('forgejo: absurd nesting', 'forgejo', signed.forgejo(deep), 400, /nests arrays and objects more than/);

  // --- NUL and unpaired surrogates in fields otfd uses (400)
  add('github: NUL in branch', 'github', signed.github(json(setPath(gh, 'ref', 'refs/heads/ma\u0000in'))), 400, /"ref" must not contain NUL/);
  add('gitlab: NUL in branch', 'gitlab', signed.gitlab(json(setPath(gl, 'ref', 'refs/heads/\u0000'))), 400, /"ref" must not contain NUL/);
  add('forgejo: NUL in branch', 'forgejo', signed.forgejo(json(setPath(fj, 'ref', 'refs/heads/main\u0000'))), 400, /"ref" must not contain NUL/);
  add('github: NUL in identifier', 'github', signed.github(json(setPath(gh, 'repository.full_name', 'acme/infra\u0000structure'))), 400, /"repository.full_name" must not contain NUL/);
  add('gitlab: NUL in identifier', 'gitlab', signed.gitlab(json(setPath(gl, 'project.path_with_namespace', 'acme/\u0000'))), 400, /"project.path_with_namespace" must not contain NUL/);
  add('forgejo: NUL in identifier', 'forgejo', signed.forgejo(json(setPath(fj, 'repository.full_name', '\u0000/x'))), 400, /"repository.full_name" must not contain NUL/);
  add('github: NUL in commit message', 'github', signed.github(json(setPath(gh, 'head_commit.message', 'fix\u0000'))), 400, /"head_commit.message" must not contain NUL/);
  add('gitlab: NUL in commit message', 'gitlab', signed.gitlab(json(setPath(gl, 'commits', [{ ...((gl.commits as Payload[])[0] ?? {}), message: 'a\u0000b' }]))), 400, /"commits.0.message" must not contain NUL/);
  add('forgejo: NUL in commit message', 'forgejo', signed.forgejo(json(setPath(fj, 'head_commit.message', '\u0000'))), 400, /"head_commit.message" must not contain NUL/);
  add('github: NUL in a changed path', 'github', signed.github(json(setPath(gh, 'commits', [{ ...((gh.commits as Payload[])[0] ?? {}), added: ['ok.tf', 'bad\u0000.tf'] }]))), 400, /"commits.0.added.1" must not contain NUL/);
  // JSON.stringify writes a lone surrogate as \udXXX: the body is valid UTF-8, the string is not valid Unicode.
  add('github: lone surrogate in sender', 'github', signed.github(json(setPath(gh, 'sender.login', 'octo\ud800cat'))), 400, /"sender.login" must be valid Unicode text/);
  add('gitlab: lone surrogate in sender', 'gitlab', signed.gitlab(json(setPath(gl, 'user_username', '\udc00'))), 400, /"user_username" must be valid Unicode text/);
  add('forgejo: lone surrogate in sender', 'forgejo', signed.forgejo(json(setPath(fj, 'sender.login', 'ada\ud83d'))), 400, /"sender.login" must be valid Unicode text/);
  add('github: lone surrogate in pull request title', 'github', signed.github(json(setPath(ghPr, 'pull_request.title', 'Fix \udead')), 'pull_request'), 400, /"pull_request.title" must be valid Unicode text/);
  add('gitlab: lone surrogate in merge request title', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.title', '\ud800x')), 'Merge Request Hook'), 400, /"object_attributes.title" must be valid Unicode text/);
  add('forgejo: lone surrogate in branch', 'forgejo', signed.forgejo(json(setPath(fjPr, 'pull_request.head.ref', 'feat\udbff')), 'pull_request'), 400, /"pull_request.head.ref" must be valid Unicode text/);

  // --- shas and refs (400)
  add('github: sha of 39 characters', 'github', signed.github(json(setPath(gh, 'after', sha.slice(0, 39)))), 400, /"after" must be a commit sha of 40 \(or 64\) hexadecimal/);
  add('gitlab: non-hex sha', 'gitlab', signed.gitlab(json(setPath(gl, 'checkout_sha', `${sha.slice(0, 39)}g`))), 400, /"checkout_sha" must be a commit sha/);
  add('forgejo: sha of 41 characters', 'forgejo', signed.forgejo(json(setPath(fj, 'before', `${sha}0`))), 400, /"before" must be a commit sha/);
  add('github: pull request head sha with a newline', 'github', signed.github(json(setPath(ghPr, 'pull_request.head.sha', `${sha.slice(0, 39)}\n`)), 'pull_request'), 400, /"pull_request.head.sha" must be a commit sha/);
  add('gitlab: merge request commit id empty', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.last_commit.id', '')), 'Merge Request Hook'), 400, /"object_attributes.last_commit.id" must not be empty/);
  add('github: ref with ..', 'github', signed.github(json(setPath(gh, 'ref', 'refs/heads/../../config'))), 400, /"ref" has "\.\."/);
  add('gitlab: ref with ..', 'gitlab', signed.gitlab(json(setPath(gl, 'ref', 'refs/heads/a..b'))), 400, /"ref" has "\.\."/);
  add('forgejo: ref with ..', 'forgejo', signed.forgejo(json(setPath(fj, 'ref', 'refs/tags/..'))), 400, /"ref" has "\.\."/);
  add('github: ref with a space', 'github', signed.github(json(setPath(gh, 'ref', 'refs/heads/my branch'))), 400, /"ref" has a character git does not allow/);
  add('gitlab: ref ending in .lock', 'gitlab', signed.gitlab(json(setPath(gl, 'ref', 'refs/heads/main.lock'))), 400, /"ref" has a component ending with "\.lock"/);
  add('forgejo: ref with ~', 'forgejo', signed.forgejo(json(setPath(fj, 'ref', 'refs/heads/main~1'))), 400, /"ref" has a character git does not allow/);
  add('github: ref ending in /', 'github', signed.github(json(setPath(gh, 'ref', 'refs/heads/main/'))), 400, /"ref" has an empty path component/);
  add('github: pull request base branch with @{', 'github', signed.github(json(setPath(ghPr, 'pull_request.base.ref', 'main@{1}')), 'pull_request'), 400, /"pull_request.base.ref" has "@\{"/);
  add('gitlab: source branch starting with a dot', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.source_branch', '.hidden')), 'Merge Request Hook'), 400, /"object_attributes.source_branch" has a component starting with "\."/);
  add('gitlab: Tag Push Hook for a branch', 'gitlab', signed.gitlab(json({ ...setPath(gl, 'object_kind', 'tag_push') }), 'Tag Push Hook'), 400, /must start with "refs\/tags\/"/);

  // --- identifiers and URLs (400)
  add('github: identifier without owner', 'github', signed.github(json(setPath(gh, 'repository.full_name', 'infrastructure'))), 400, /"repository.full_name" must be a repository path/);
  add('forgejo: identifier with ..', 'forgejo', signed.forgejo(json(setPath(fj, 'repository.full_name', 'acme/../secrets'))), 400, /"repository.full_name" must be a repository path/);
  add('github: javascript: commit URL', 'github', signed.github(json(setPath(gh, 'head_commit.url', 'javascript:alert(1)'))), 400, /"head_commit.url" must be an http or https URL/);
  add('gitlab: merge request URL not a URL', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.url', 'not a url')), 'Merge Request Hook'), 400, /"object_attributes.url" must be an http or https URL/);
  add('github: sender of 2000 characters', 'github', signed.github(json(setPath(gh, 'sender.login', 'x'.repeat(2000)))), 400, /"sender.login" is longer than 1024 characters/);

  // --- wrong types and missing fields (400)
  add('github: ref is a number', 'github', signed.github(json(setPath(gh, 'ref', 42))), 400, /"ref" must be a string, got a number/);
  add('gitlab: commits is an object', 'gitlab', signed.gitlab(json(setPath(gl, 'commits', { 0: {} }))), 400, /"commits" must be an array, got an object/);
  add('forgejo: commits hold a string', 'forgejo', signed.forgejo(json(setPath(fj, 'commits', ['abc']))), 400, /"commits.0" must be an object, got a string/);
  add('github: deleted is a string', 'github', signed.github(json(setPath(gh, 'deleted', 'false'))), 400, /"deleted" must be a boolean, got a string/);
  add('forgejo: sender login is a number', 'forgejo', signed.forgejo(json(setPath(fj, 'sender.login', 7))), 400, /"sender.login" must be a string, got a number/);
  add('gitlab: iid is a string', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.iid', '7')), 'Merge Request Hook'), 400, /"object_attributes.iid" must be a number, got a string/);
  add('github: changed files is a string', 'github', signed.github(json(setPath(gh, 'commits', [{ ...((gh.commits as Payload[])[0] ?? {}), modified: 'main.tf' }]))), 400, /"commits.0.modified" must be an array, got a string/);
  add('github: no repository', 'github', signed.github(json(setPath(gh, 'repository', undefined))), 400, /"repository" is missing/);
  add('gitlab: no project', 'gitlab', signed.gitlab(json(setPath(gl, 'project', undefined))), 400, /"project" is missing/);
  add('forgejo: no after', 'forgejo', signed.forgejo(json(setPath(fj, 'after', undefined))), 400, /"after" is missing/);
  add('github: pull request without head', 'github', signed.github(json(setPath(ghPr, 'pull_request.head', undefined)), 'pull_request'), 400, /"pull_request.head" is missing/);
  add('gitlab: merge request without attributes', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes', undefined)), 'Merge Request Hook'), 400, /"object_attributes" is missing/);
  add('forgejo: pull request is null', 'forgejo', signed.forgejo(json(setPath(fjPr, 'pull_request', null)), 'pull_request'), 400, /"pull_request" must be an object, got null/);
  add('gitlab: object_kind contradicts the event header', 'gitlab', signed.gitlab(json(setPath(gl, 'object_kind', 'merge_request'))), 400, /"object_kind" must be "push"/);

  // --- numbers (400)
  add('github: pull request number 1e400', 'github', signed.github(json(ghPr).replace('"number":7,', '"number":1e400,'), 'pull_request'), 400, /"number" must be a whole number/);
  add('forgejo: pull request number beyond 2^53', 'forgejo', signed.forgejo(json(fjPr).replace('"number":7,', '"number":9007199254740993,'), 'pull_request'), 400, /"number" must be a whole number/);
  add('github: pull request number negative', 'github', signed.github(json(setPath(ghPr, 'number', -1)), 'pull_request'), 400, /"number" must be a whole number/);
  add('gitlab: merge request iid 0', 'gitlab', signed.gitlab(json(setPath(glMr, 'object_attributes.iid', 0)), 'Merge Request Hook'), 400, /"object_attributes.iid" must be a whole number/);
  add('forgejo: pull request number fractional', 'forgejo', signed.forgejo(json(setPath(fjPr, 'number', 7.5)), 'pull_request'), 400, /"number" must be a whole number/);
  add('gitlab: total commits count huge and negative', 'gitlab', signed.gitlab(json(setPath(gl, 'total_commits_count', -1e300))), 400, /"total_commits_count" must be a whole number/);

  return list;
}

/** Replaces headers of a delivery by their provider spelling; null removes one. */
function withHeaders(d: Delivery, changes: Record<string, string | null>): Delivery {
  const headers = { ...d.headers };
  for (const [name, value] of Object.entries(changes)) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    if (value !== null) headers[name] = value;
  }
  return { headers, body: d.body };
}

/** Every hostile delivery, built for HOSTILE_SECRET. */
export const HOSTILE_DELIVERIES: HostileDelivery[] = hostileDeliveries();
