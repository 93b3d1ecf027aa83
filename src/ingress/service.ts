// Runs from commits: a configuration version made from a commit, its run created at once (it shows
// while the commit is fetched), the commit fetched through the repository cache with the
// workspace's credentials, then stored as an upload is; a commit that cannot be fetched or stored
// errors the configuration version and the run with the reason. Also what POST /runs does on a VCS
// workspace without a configuration version: it plans the branch head.
import crypto from 'node:crypto';
import type { Subject } from '../auth/subject.js';
import type { ConnectedWorkspace } from '../connections/index.js';
import { InvalidError } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { ConfigurationVersionService, Run, RunInput, RunService, StoredIngress } from '../runs/index.js';
import type { Workspace } from '../workspaces/index.js';
import { hookKindOf, type CommitSource, type RepositoryInfo, type ServiceProvider, type VcsAdapter } from '../vcs/types.js';

/** A workspace connected to a repository, and whose rights its VCS runs act with (the connections domain's). */
export type { ConnectedWorkspace };

/** A commit's tracked files, archived (the repository cache's snapshot). */
export interface CommitSnapshot {
  file: string;
  size: number;
  dispose(): Promise<void> | void;
}

/**
 * What ingress (runs from commits, the dispatch, polling) uses of the repository cache
 * (repository-cache.ts), in its own names: the cache itself is handed over in src/server.ts.
 */
export interface CommitFetcher {
  /** Fetches the commit and archives its tracked files. */
  snapshot(source: CommitSource, maxSize: number): Promise<CommitSnapshot>;
  /** The sha the branch points at on the server; null when there is no such branch. */
  head(source: Omit<CommitSource, 'sha' | 'submodules'>, branch: string): Promise<string | null>;
  /** Fetches the commit into the cache; its message names a polled run. */
  commit(source: CommitSource): Promise<{ message: string }>;
  /** Paths changed between two commits, from the cache alone; null when it lacks either. */
  changedFiles(repoKey: string, base: string, head: string): Promise<string[] | null>;
  /** Whether the cache was stopped (otfd stops): a fetch it cut short is no failure of the commit. */
  readonly isStopped: boolean;
}

/** What ingress uses of the other domains, connected in src/server.ts. */
export interface IngressSources {
  /** The workspace's connection to a repository; null when it has none. */
  connectedWorkspace(workspaceId: string): Promise<ConnectedWorkspace | null>;
  /** The workspaces connected to a repository hook. */
  workspacesOfHook(hookId: string): Promise<ConnectedWorkspace[]>;
  /** The adapter of a VCS provider's OAuth token (it holds the token). */
  adapterFor(oauthTokenId: string): Promise<VcsAdapter>;
  /** The SSH private key to clone over SSH with (the oauth token's, else the workspace's); null when there is none. */
  sshKeyOf(workspaceId: string, oauthTokenId: string): Promise<string | null>;
  fetcher: CommitFetcher;
}

/** What a run from a commit is made of. */
export interface CommitRun {
  sha: string;
  /** The commit's whole message; the run's message is its first line. */
  message: string;
  commitUrl: string;
  branch: string | null;
  tag: string | null;
  compareUrl: string | null;
  pullRequest: { number: number; url: string; title: string } | null;
  sender: string | null;
  /** A ref that holds the commit, fetched when a server refuses a bare commit id. */
  ref: string | null;
  speculative: boolean;
  /** "<delivery>:<workspace>": a second run for the same key is not made. Null: no such guard. */
  key: string | null;
  /** The provider, when known before its adapter is asked (the hook's). */
  provider: ServiceProvider | null;
  /** Options of the run (POST /runs). */
  input?: Omit<RunInput, 'workspaceId' | 'configurationVersionId'>;
}

/** What Terraform Cloud calls a configuration's source for each provider (forgejo is otf's own). */
export function configurationSource(provider: ServiceProvider | null): string {
  return provider === null ? 'tfe-api' : hookKindOf(provider);
}

/** The run's source for runs a VCS event queued: TFC's value (go-tfe's RunSourceConfigurationVersion). */
export const VCS_RUN_SOURCE = 'tfe-configuration-version';

/** The first line of a commit message, as a run's message. */
export function commitTitle(message: string): string {
  const line = message.split('\n', 1)[0].trim();
  return line === '' ? 'Triggered by a commit with no message' : line.slice(0, 1000);
}

/** Longer than any fetch takes (each git command of one is limited to 5 minutes). */
export const LOST_FETCH_MS = 30 * 60_000;
const LOST_FETCH_SWEEP_MS = 60_000;

export class IngressService {
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly runs: RunService,
    private readonly configs: ConfigurationVersionService,
    private readonly sources: IngressSources,
    private readonly logger: Logger,
  ) {}

  /** Looks now and every minute for runs whose commit fetch was lost, and errors them. */
  start(): void {
    const sweep = () =>
      void this.runs
        .failLostFetches(LOST_FETCH_MS)
        .then((n) => n > 0 && this.logger.warn({ runs: n }, 'errored runs whose commit fetch was lost'))
        .catch((err: unknown) => this.logger.warn({ err }, 'could not look for runs whose commit fetch was lost'));
    sweep();
    this.sweeper = setInterval(sweep, LOST_FETCH_SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /**
   * How to fetch the workspace's repository: over SSH with its key for an ssh URL, else HTTPS with
   * the token (and the key for ssh:// submodules, when the workspace fetches submodules).
   */
  async sourceOf(cw: ConnectedWorkspace, adapter: VcsAdapter, info: Pick<RepositoryInfo, 'cloneUrl'>, sha: string, ref: string | null): Promise<CommitSource> {
    const url = info.cloneUrl;
    const repoKey = crypto.createHash('sha256').update(url).digest('hex').slice(0, 32);
    const base = { repoKey, url, sha, ref, submodules: cw.vcsRepo.ingressSubmodules };
    if (/^(ssh:\/\/|[\w.-]+@[\w.-]+:)/.test(url)) {
      const key = await this.sources.sshKeyOf(cw.workspace.id, cw.vcsRepo.oauthTokenId);
      if (!key) throw new Error(`the repository is cloned over SSH (${url}) and workspace ${cw.workspace.name} has no SSH key`);
      return { ...base, auth: { kind: 'ssh', privateKey: key } };
    }
    const { username, password } = adapter.cloneCredentials();
    // The key goes with an HTTPS clone too, for submodules at ssh:// URLs (what TFC's key of an
    // OAuth token is for); it is only written out when submodules are fetched.
    const key = cw.vcsRepo.ingressSubmodules && sha !== '' ? await this.sources.sshKeyOf(cw.workspace.id, cw.vcsRepo.oauthTokenId) : null;
    return { ...base, auth: { kind: 'https', username, password, ...(key ? { privateKey: key } : {}) } };
  }

  /** Called when a run from a commit was made (the fetch worker looks for work at once). */
  onFetchQueued: () => void = () => undefined;

  /**
   * Creates the run of a commit in the workspace, as `subject`, its configuration version fetching;
   * the fetch worker (fetch-worker.ts) fetches and stores the commit later (the run proceeds), or
   * errors the run with the reason. With a key already used, the run made then is answered.
   */
  async runCommit(subject: Subject, cw: ConnectedWorkspace, c: CommitRun): Promise<Run> {
    const { vcsRepo, workspace } = cw;
    let adapter: VcsAdapter | null = null;
    let info: RepositoryInfo | null = null;
    let failure: string | null = null;
    try {
      adapter = await this.sources.adapterFor(vcsRepo.oauthTokenId);
      info = await adapter.repository(vcsRepo.identifier);
    } catch (err) {
      failure = `could not reach repository ${vcsRepo.identifier}: ${(err as Error).message}`;
    }
    const provider = c.provider ?? adapter?.provider ?? null;
    const attributes: StoredIngress = {
      id: newId('ia'),
      branch: c.branch,
      commitSha: c.sha,
      commitMessage: c.message,
      commitUrl: c.commitUrl,
      compareUrl: c.compareUrl,
      isPullRequest: c.pullRequest !== null,
      pullRequestNumber: c.pullRequest?.number ?? null,
      pullRequestUrl: c.pullRequest?.url ?? null,
      pullRequestTitle: c.pullRequest?.title ?? null,
      senderUsername: c.sender,
      tag: c.tag,
      identifier: vcsRepo.identifier,
      cloneUrl: info?.cloneUrl ?? '',
      onDefaultBranch: info !== null && c.pullRequest === null && c.branch === info.defaultBranch,
    };
    // The ref that holds the commit goes with it for the fetch worker (not shown by the API).
    const ingress: StoredIngress = Object.assign(attributes, { fetchRef: c.ref } satisfies FetchHints);
    const run = await this.runs.create(
      subject,
      { message: commitTitle(c.message), source: VCS_RUN_SOURCE, ...c.input, workspaceId: workspace.id },
      { origin: { source: configurationSource(provider), ingress, key: c.key }, speculative: c.speculative },
    );
    if (failure !== null) {
      const cv = await this.configs.byId(run.configurationVersionId);
      if (cv?.status === 'fetching') await this.fail(run.id, { run: run.id, workspace: workspace.id, sha: c.sha }, failure);
      return run;
    }
    this.onFetchQueued();
    return run;
  }

  /**
   * Fetches the commit of a configuration version still fetching and stores it (its run proceeds),
   * or errors its run with the reason. Called by the fetch worker, which holds the version's lease.
   * A fetch cut short because otfd stops leaves the version fetching, for the next otfd to take up.
   */
  async fetchConfiguration(cvId: string, runId: string): Promise<void> {
    const cv = await this.configs.byId(cvId);
    if (cv?.status !== 'fetching' || !cv.ingress) return;
    const ia = cv.ingress;
    const log = { run: runId, workspace: cv.workspaceId, identifier: ia.identifier, sha: ia.commitSha };
    let snapshot: CommitSnapshot;
    try {
      const cw = await this.sources.connectedWorkspace(cv.workspaceId);
      if (!cw) throw new Error('could not fetch the commit: the workspace is no longer connected to a repository');
      let adapter: VcsAdapter;
      try {
        adapter = await this.sources.adapterFor(cw.vcsRepo.oauthTokenId);
      } catch (err) {
        throw new Error(`could not reach repository ${ia.identifier}: ${(err as Error).message}`, { cause: err });
      }
      const source = await this.sourceOf(cw, adapter, { cloneUrl: ia.cloneUrl }, ia.commitSha, refOf(ia));
      snapshot = await this.sources.fetcher.snapshot(source, this.configs.maxSize);
    } catch (err) {
      if (this.sources.fetcher.isStopped) {
        this.logger.info(log, 'otfd stops: the commit fetch is left to the next otfd');
        return;
      }
      const text = (err as Error).message;
      await this.fail(runId, log, text.startsWith('could not') ? text : `could not fetch commit ${ia.commitSha} of ${ia.identifier}: ${text}`);
      return;
    }
    try {
      await this.runs.commitFetched(runId, { file: snapshot.file, size: snapshot.size });
    } finally {
      await snapshot.dispose();
    }
    this.logger.info(log, 'VCS run: commit fetched');
  }

  private async fail(runId: string, log: object, reason: string): Promise<void> {
    this.logger.warn({ ...log, reason }, 'the commit of a VCS run could not be fetched; the run is errored');
    await this.runs.commitFetched(runId, { error: reason });
  }

  /**
   * POST /runs on a VCS workspace without a configuration version: the run plans the head of the
   * tracked branch, as the caller. Null when the workspace is not connected to a repository.
   */
  async planHead(subject: Subject, ws: Workspace, input: RunInput): Promise<Run | null> {
    const cw = await this.sources.connectedWorkspace(ws.id);
    if (!cw) return null;
    const { vcsRepo } = cw;
    let sha: string;
    let provider: ServiceProvider;
    try {
      const adapter = await this.sources.adapterFor(vcsRepo.oauthTokenId);
      provider = adapter.provider;
      const info = await adapter.repository(vcsRepo.identifier);
      const source = await this.sourceOf(cw, adapter, info, '', `refs/heads/${vcsRepo.branch}`);
      // The cache's errors never hold a credential (its redact()).
      const head = await this.sources.fetcher.head(source, vcsRepo.branch);
      if (head === null) throw new Error(`the repository has no branch ${vcsRepo.branch}`);
      sha = head;
    } catch (err) {
      // The caller's answer says why: a 422, as for a workspace without a configuration to plan.
      throw new InvalidError(`could not read the head of branch ${vcsRepo.branch} of ${vcsRepo.identifier}: ${(err as Error).message}`, {
        pointer: '/data/relationships/configuration-version',
      });
    }
    const options: Omit<RunInput, 'workspaceId' | 'configurationVersionId'> = { ...input };
    delete (options as Partial<RunInput>).workspaceId;
    delete (options as Partial<RunInput>).configurationVersionId;
    return this.runCommit(subject, cw, {
      sha,
      message: input.message ?? 'Queued manually via the API',
      commitUrl: '',
      branch: vcsRepo.branch,
      tag: null,
      compareUrl: null,
      pullRequest: null,
      sender: null,
      ref: `refs/heads/${vcsRepo.branch}`,
      speculative: false,
      key: null,
      provider,
      input: { ...options, source: options.source ?? 'tfe-api' },
    });
  }
}

/** What the stored ingress attributes carry for the fetch worker beside TFC's attributes. */
interface FetchHints {
  /** A ref that holds the commit, fetched when a server refuses a bare commit id. */
  fetchRef: string | null;
}

/** The ref to fetch the commit by, when a server refuses its bare id. */
function refOf(ia: StoredIngress): string | null {
  const hint = (ia as StoredIngress & Partial<FetchHints>).fetchRef;
  if (hint !== undefined) return hint;
  if (ia.tag) return `refs/tags/${ia.tag}`;
  return ia.branch && !ia.isPullRequest ? `refs/heads/${ia.branch}` : null;
}
