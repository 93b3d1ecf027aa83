// Commit statuses: a run whose configuration came from a commit shows on that commit, at its VCS
// provider, as one status per workspace (pending while its plan is queued or running, success or
// failure when it ends, with the plan's summary and a link to the run).
//
// Posting is best effort and never the run's business: the runs domain tells us of a status change
// after its transaction committed and does not wait for us. Each run has at most one worker here,
// which posts the status the run is in *now* (read again before every attempt), so a retry of an
// old "pending" can never land after "success": it becomes the newer status, or is dropped as
// already posted. Retryable failures (provider down, throttled, 5xx) are retried with exponential
// backoff a bounded number of times; anything else is logged and dropped.
import type { Logger } from '../logger.js';
import type { Run } from '../runs/index.js';
import { paths } from '../web/paths.js';
import { VcsApiError, type CommitStatus, type IngressAttributes, type VcsAdapter, type WorkspaceVcsRepo } from '../vcs/types.js';

/** Where a commit status links to: the run's page in the web UI. */
export function runUrl(baseUrl: string, organization: string, workspace: string, runId: string): string {
  return `${baseUrl}${paths.run(organization, workspace, runId)}`;
}

/** The status's context: one per workspace, as Terraform Cloud has "Terraform Cloud/<org>/<ws>". */
export function statusContext(organization: string, workspace: string): string {
  return `otf/${organization}/${workspace}`;
}

/** Providers cut descriptions at 140 characters (GitHub refuses longer ones). */
const MAX_DESCRIPTION = 140;

/** Additions, changes and destructions in the short form the issue asks for: "+3 ~1 -0". */
function counts(phase: { additions: number; changes: number; destructions: number }): string {
  return `+${phase.additions} ~${phase.changes} -${phase.destructions}`;
}

/** A plan's summary on the commit: "Plan: +3 ~1 -0". */
export function planSummary(phase: { additions: number; changes: number; destructions: number }): string {
  return `Plan: ${counts(phase)}`;
}

/** An apply's summary on the commit: "Applied: +3 ~1 -0". */
export function applySummary(phase: { additions: number; changes: number; destructions: number }): string {
  return `Applied: ${counts(phase)}`;
}

/**
 * The commit status a run in its current status shows. Between its plan and its apply the commit
 * shows the plan's success: a worker that reads the run only once it is applying (auto-apply moves
 * fast) still posts the plan's summary before the apply's.
 */
export function commitStateOf(run: Pick<Run, 'status' | 'plan' | 'apply'>): Pick<CommitStatus, 'state' | 'description'> {
  switch (run.status) {
    case 'pending':
      return { state: 'pending', description: 'Run pending' };
    case 'plan_queued':
      return { state: 'pending', description: 'Plan queued' };
    case 'planning':
      return { state: 'pending', description: 'Planning' };
    case 'planned':
    case 'planned_and_saved':
    case 'planned_and_finished':
    case 'confirmed':
    case 'apply_queued':
    case 'applying':
      return { state: 'success', description: planSummary(run.plan) };
    case 'applied':
      return { state: 'success', description: applySummary(run.apply) };
    case 'errored':
      return { state: 'failure', description: run.apply.status === 'errored' ? 'Apply errored' : run.plan.status === 'errored' ? 'Plan errored' : 'Run errored' };
    case 'canceled':
    case 'force_canceled':
      return { state: 'error', description: 'Run canceled' };
    case 'discarded':
      return { state: 'error', description: 'Run discarded' };
  }
}

/** What commit statuses read from the other domains (connected in src/server.ts). */
export interface CommitStatusSources {
  /** The run as it is now: its status and its phases' counts. */
  run(id: string): Promise<Run | null>;
  /** The commit a configuration version was made from; null when it was uploaded. */
  ingress(configurationVersionId: string): Promise<IngressAttributes | null>;
  /** The workspace's names and its connection (null when disconnected since). */
  workspace(id: string): Promise<{ organizationName: string; name: string; vcsRepo: WorkspaceVcsRepo | null } | null>;
  /** The provider's API with the connection's token; null when the token is gone. */
  adapterFor(oauthTokenId: string): Promise<VcsAdapter | null>;
  /** otfd's base URL, for the link to the run (known only once otfd listens). */
  baseUrl(): string;
}

export interface CommitStatusOptions {
  /** Attempts at one status before it is dropped. */
  attempts: number;
  /** The wait before the first retry; it doubles each time, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Runs with statuses waiting at once; a run beyond this gets none (logged). */
  maxRuns: number;
}

export const DEFAULT_STATUS_OPTIONS: CommitStatusOptions = { attempts: 6, firstDelayMs: 1000, maxDelayMs: 30_000, maxRuns: 1000 };

/** How long stop() waits for a status being posted right now. */
const STOP_WAIT_MS = 5000;

/** Statuses already posted, remembered per run so a repeated one is not posted again (GitHub allows 1,000 per commit). */
const REMEMBERED_RUNS = 10_000;

interface Target {
  adapter: VcsAdapter;
  identifier: string;
  sha: string;
  status: CommitStatus;
}

export class CommitStatuses {
  /** Runs with a worker; `again`: the run changed since the worker last looked. */
  private readonly active = new Map<string, { again: boolean }>();
  private readonly workers = new Set<Promise<void>>();
  /** The last status posted per run (sha, state, description), oldest first. */
  private readonly posted = new Map<string, string>();
  /**
   * Each configuration version's commit (null: uploaded), remembered because it never changes once
   * made: without this every transition of every run, uploads included, would cost a query.
   */
  private readonly commits = new Map<string, IngressAttributes | null>();
  /** Backoff waits under way, each ended at once by stop(). */
  private readonly waits = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  private stopped = false;

  constructor(
    private readonly sources: CommitStatusSources,
    private readonly logger: Logger,
    private readonly options: CommitStatusOptions = DEFAULT_STATUS_OPTIONS,
  ) {}

  /** The runs domain's status-change hook (RunService.onStatusChange). */
  readonly statusChanged = async (run: Run): Promise<void> => {
    // A health assessment (src/assessments) re-reads the commit's configuration; it is no news of the commit.
    if (this.stopped || run.assessment) return;
    // Most runs are uploads: their configuration version costs one read, not one per transition.
    if (!(await this.commitOf(run.configurationVersionId))) return;
    this.request(run.id);
  };

  private request(runId: string): void {
    if (this.stopped) return;
    const running = this.active.get(runId);
    if (running) {
      running.again = true;
      return;
    }
    if (this.active.size >= this.options.maxRuns) {
      this.logger.warn({ run: runId, waiting: this.active.size }, 'commit status dropped: too many runs waiting to post theirs');
      return;
    }
    const entry = { again: true };
    this.active.set(runId, entry);
    const worker: Promise<void> = this.work(runId, entry).finally(() => {
      this.active.delete(runId);
      this.workers.delete(worker);
    });
    this.workers.add(worker);
  }

  private async work(runId: string, entry: { again: boolean }): Promise<void> {
    while (entry.again && !this.stopped) {
      entry.again = false;
      try {
        await this.postLatest(runId);
      } catch (err) {
        this.logger.warn({ err, run: runId }, 'commit status dropped: could not work out what to post');
      }
    }
  }

  /**
   * Posts the status the run is in now, retrying while the provider is unavailable. After a post
   * the run is read again: if it moved on meanwhile (its next status perhaps posted first by another
   * otfd, whose post this one overtook), the newer status is posted, so the commit ends showing
   * the run's latest.
   */
  private async postLatest(runId: string): Promise<void> {
    let attempt = 0;
    for (;;) {
      const target = await this.target(runId);
      if (!target) return;
      const key = `${target.sha} ${target.status.state} ${target.status.description}`;
      if (this.posted.get(runId) === key) return;
      attempt++;
      try {
        await target.adapter.setCommitStatus(target.identifier, target.sha, target.status);
        this.remember(runId, key);
        this.logger.debug({ run: runId, state: target.status.state, context: target.status.context }, 'commit status posted');
        attempt = 0;
      } catch (err) {
        const retryable = err instanceof VcsApiError && err.retryable;
        const why = { run: runId, identifier: target.identifier, sha: target.sha, state: target.status.state, attempt, reason: (err as Error).message };
        if (!retryable || attempt >= this.options.attempts || this.stopped) {
          this.logger.warn(why, retryable ? 'commit status dropped: the provider stayed unavailable' : 'commit status dropped: the provider refused it');
          return;
        }
        const delayMs = Math.min(this.options.firstDelayMs * 2 ** (attempt - 1), this.options.maxDelayMs);
        this.logger.info({ ...why, retryInMs: delayMs }, 'commit status not posted; trying again');
        await this.wait(delayMs);
        if (this.stopped) return;
      }
    }
  }

  /** Where and what to post for the run as it is now; null when there is nothing to post. */
  private async target(runId: string): Promise<Target | null> {
    const run = await this.sources.run(runId);
    if (!run) return null;
    const state = commitStateOf(run);
    const ingress = await this.commitOf(run.configurationVersionId);
    if (!ingress) return null;
    const ws = await this.sources.workspace(run.workspaceId);
    // Disconnected since the run was queued: no token to post with.
    if (!ws?.vcsRepo) return null;
    const adapter = await this.sources.adapterFor(ws.vcsRepo.oauthTokenId);
    if (!adapter) return null;
    return {
      adapter,
      identifier: ingress.identifier,
      sha: ingress.commitSha,
      status: {
        ...state,
        description: state.description.slice(0, MAX_DESCRIPTION),
        targetUrl: runUrl(this.sources.baseUrl(), ws.organizationName, ws.name, run.id),
        context: statusContext(ws.organizationName, ws.name),
      },
    };
  }

  private async commitOf(configurationVersionId: string): Promise<IngressAttributes | null> {
    if (this.commits.has(configurationVersionId)) return this.commits.get(configurationVersionId) ?? null;
    const ingress = await this.sources.ingress(configurationVersionId);
    this.commits.set(configurationVersionId, ingress);
    while (this.commits.size > REMEMBERED_RUNS) this.commits.delete(this.commits.keys().next().value as string);
    return ingress;
  }

  private remember(runId: string, key: string): void {
    // Newest last, so the oldest are forgotten first.
    this.posted.delete(runId);
    this.posted.set(runId, key);
    while (this.posted.size > REMEMBERED_RUNS) this.posted.delete(this.posted.keys().next().value as string);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const w = {
        timer: setTimeout(() => {
          this.waits.delete(w);
          resolve();
        }, ms),
        done: resolve,
      };
      this.waits.add(w);
    });
  }

  /** Stops: no new statuses, backoffs ended, and a status being posted right now given a few seconds. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waits) {
      clearTimeout(w.timer);
      w.done();
    }
    this.waits.clear();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
    await Promise.race([Promise.allSettled([...this.workers]), late]);
    clearTimeout(timer);
  }
}
