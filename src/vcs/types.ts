// The shapes VCS-driven runs are built from, shared by the domains that take part: vcs (providers
// and their tokens, one adapter per provider), connections (a workspace's repository and the
// webhook otfd made for it), webhooks (deliveries: verified, parsed, deduplicated) and ingress
// (configuration versions from commits, the runs they queue, commit statuses, polling).
// Types only: each side implements or calls these, and src/server.ts connects them.

/** Terraform Cloud's names for VCS providers, plus forgejo (also serving Gitea) as OTF has it. */
export const SERVICE_PROVIDERS = [
  'github',
  'github_enterprise',
  'gitlab_hosted',
  'gitlab_community_edition',
  'gitlab_enterprise_edition',
  'forgejo',
] as const;
export type ServiceProvider = (typeof SERVICE_PROVIDERS)[number];

/** The three webhook dialects: how a provider signs and shapes its deliveries. */
export type HookKind = 'github' | 'gitlab' | 'forgejo';

export function hookKindOf(provider: ServiceProvider): HookKind {
  if (provider === 'github' || provider === 'github_enterprise') return 'github';
  if (provider === 'forgejo') return 'forgejo';
  return 'gitlab';
}

/** What a provider says of a repository. */
export interface RepositoryInfo {
  /** As the workspace names it: "owner/name" (GitLab: the project's full path, "group/sub/name"). */
  identifier: string;
  defaultBranch: string;
  /** The repository's web page. */
  webUrl: string;
  /** Where to clone it over HTTPS (or HTTP for a local server). */
  cloneUrl: string;
  /** Where to clone it over SSH, when the provider says. */
  sshCloneUrl: string | null;
}

/** A commit status as all three providers have it (GitLab calls failure "failed": the adapter maps it). */
export interface CommitStatus {
  state: 'pending' | 'success' | 'failure' | 'error';
  /** Short text, e.g. "Plan: +3 ~1 -0"; providers cut it at 140 characters. */
  description: string;
  /** Where the status links to: the run. */
  targetUrl: string;
  /** Which status this is, one per workspace: "otf/<organization>/<workspace>". */
  context: string;
}

/** A provider's REST API answered with an error, or could not be reached. */
export class VcsApiError extends Error {
  constructor(
    message: string,
    /** The provider's HTTP status; 0 when it could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'VcsApiError';
  }

  /** Worth trying again later: the provider was unreachable, throttled us or failed inside. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * One provider's REST API, used with one access token (the adapter holds it; it never leaves).
 * Implemented in src/vcs/providers/.
 */
export interface VcsAdapter {
  readonly provider: ServiceProvider;
  repository(identifier: string): Promise<RepositoryInfo>;
  /** HTTPS basic credentials for cloning with the token (each provider documents its user name). */
  cloneCredentials(): { username: string; password: string };
  /** Creates a webhook for push, tag and pull/merge request events; returns the provider's id of it. */
  createWebhook(identifier: string, hook: { url: string; secret: string }): Promise<string>;
  /** Deletes it; a webhook already gone is not an error. */
  deleteWebhook(identifier: string, providerHookId: string): Promise<void>;
  setCommitStatus(identifier: string, sha: string, status: CommitStatus): Promise<void>;
  /** Paths changed between two commits (a push whose payload did not list them all). */
  changedFiles(identifier: string, base: string, head: string): Promise<string[]>;
  /** Paths changed by a pull (merge) request. */
  pullRequestFiles(identifier: string, number: number): Promise<string[]>;
}

// ------------------------------------------------------------------ events

interface EventBase {
  kind: HookKind;
  /** The repository as the provider's payload names it (same form as RepositoryInfo.identifier). */
  identifier: string;
  /** The provider's id of this delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Forgejo-Delivery). */
  deliveryId: string;
  /** Who caused it, by the provider's user name. */
  sender: string;
}

export interface VcsCommit {
  sha: string;
  /** The whole message; a run's message is its first line. */
  message: string;
  /** The commit's web page. */
  url: string;
}

/** A push to a branch. */
export interface PushEvent extends EventBase {
  type: 'push';
  branch: string;
  /** The head before the push; all zeros for a new branch. */
  before: string;
  commit: VcsCommit;
  compareUrl: string | null;
  /** Paths added, modified or removed, when the payload lists them all; null when it could not (too many commits). */
  changedFiles: string[] | null;
  /** The branch was deleted: nothing to plan. */
  deleted: boolean;
}

/** A tag pushed (or deleted). */
export interface TagEvent extends EventBase {
  type: 'tag';
  tag: string;
  commit: VcsCommit;
  deleted: boolean;
}

/** A pull (merge) request opened, updated with new commits, reopened, or anything else (ignored). */
export interface PullRequestEvent extends EventBase {
  type: 'pull-request';
  action: 'opened' | 'updated' | 'reopened' | 'other';
  number: number;
  url: string;
  title: string;
  /** The head commit to plan. */
  commit: VcsCommit;
  headBranch: string;
  baseBranch: string;
  /** The head lives in another repository (a fork). */
  fromFork: boolean;
}

export type VcsEvent = PushEvent | TagEvent | PullRequestEvent;

/** A delivery whose signature held: its id (for replays) and what it says (null: a ping or an event otfd ignores). */
export interface VerifiedDelivery {
  deliveryId: string;
  event: VcsEvent | null;
}

// ------------------------------------------------------------------ connections

/** The webhook otfd made for one repository of one VCS provider, shared by the workspaces connected to it. */
export interface RepoHook {
  /** Its id, the last segment of its URL: /webhooks/<kind>/<id>. */
  id: string;
  organizationId: string;
  oauthClientId: string;
  provider: ServiceProvider;
  identifier: string;
  /** The secret deliveries are signed with, decrypted. Never logged, never in an answer. */
  secret: string;
}

/** A workspace's connection to a repository, as its vcs-repo attribute shows it. */
export interface WorkspaceVcsRepo {
  identifier: string;
  oauthTokenId: string;
  /** The tracked branch; the repository's default branch when the workspace did not name one. */
  branch: string;
  /** Tags matching it (a JavaScript regular expression) queue runs; null: tags queue nothing. */
  tagsRegex: string | null;
  ingressSubmodules: boolean;
  /** The repository webhook its deliveries arrive at; null when the workspace polls instead. */
  repoHookId: string | null;
  /** Seconds between polls of the branch head; null when webhooks are used. */
  pollIntervalSeconds: number | null;
  /** Pull requests from forks are planned only when this is true (a plan can read the runner's environment). */
  allowForkPullRequests: boolean;
}

/** Where a configuration comes from: a commit of a repository, and how to fetch it. */
export interface CommitSource {
  /** Cache key for the repository: clones are kept per repository and reused. */
  repoKey: string;
  url: string;
  /**
   * HTTPS's privateKey (optional): the SSH key for the repository's submodules at ssh:// URLs (TFC's
   * SSH key of an OAuth token), used over SSH only.
   */
  auth: { kind: 'https'; username: string; password: string; privateKey?: string } | { kind: 'ssh'; privateKey: string } | { kind: 'none' };
  sha: string;
  /** A ref that contains the commit (branch, tag, or refs/pull/N/head), fetched when the server refuses a bare commit id. */
  ref: string | null;
  submodules: boolean;
}

/** TFC's ingress-attributes of a configuration version made from a commit. */
export interface IngressAttributes {
  branch: string | null;
  commitSha: string;
  commitMessage: string;
  commitUrl: string;
  compareUrl: string | null;
  isPullRequest: boolean;
  pullRequestNumber: number | null;
  pullRequestUrl: string | null;
  pullRequestTitle: string | null;
  senderUsername: string | null;
  tag: string | null;
  identifier: string;
  cloneUrl: string;
}
