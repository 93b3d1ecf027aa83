// Polling, for otfd behind a firewall that providers' webhooks cannot reach: a workspace whose
// connection has a poll interval gets its branch head read every N seconds, and a head that moved
// becomes a push event, handed to the same dispatcher as webhooks (same triggers), for that
// workspace only.
//
// Every otfd runs a poller; the vcs_polls table makes them take turns: an otfd claims a workspace
// whose poll is due with one conditional UPDATE (row locks make the second claimant see it taken),
// which sets the next due time and a lease. The first poll of a workspace records the head without
// a run: connecting is not a push. The set of polling workspaces is read about once a minute (and
// when a poll is due), not every tick: a newly connected workspace is first polled within a minute.
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { hookKindOf, type CommitSource, type HookKind, type PushEvent, type RepositoryInfo, type VcsAdapter } from '../vcs/types.js';
import type { ConnectedWorkspace } from './service.js';

/** What polling uses of the repository cache. */
export interface PollFetcher {
  /** The sha the branch points at on the server; null when there is no such branch. */
  head(source: Omit<CommitSource, 'sha' | 'submodules'>, branch: string): Promise<string | null>;
  /** Fetches the commit into the cache; its message names the run. */
  commit(source: CommitSource): Promise<{ message: string }>;
  /** Paths changed between two commits, from the cache alone; null when it lacks either. */
  changedFiles(repoKey: string, base: string, head: string): Promise<string[] | null>;
}

/** What polling uses of the other parts of otfd (connected in src/server.ts). */
export interface PollSources {
  /** The connected workspaces whose vcs-repo has a poll interval. */
  pollingWorkspaces(): Promise<ConnectedWorkspace[]>;
  /** The provider's API with the connection's token; null when the token is gone. */
  adapterFor(oauthTokenId: string): Promise<VcsAdapter | null>;
  /** How to fetch the workspace's repository (url, credentials, cache key), as runs from commits do. */
  sourceOf(cw: ConnectedWorkspace, adapter: VcsAdapter, info: RepositoryInfo): Promise<CommitSource>;
  /** The repository cache (repository-cache.ts). */
  fetcher: PollFetcher;
  /** Hands the event to the dispatcher, for this workspace only. */
  dispatch(event: PushEvent, workspaceId: string): Promise<void>;
}

export interface PollerOptions {
  /** How often due workspaces are looked for. */
  tickMs: number;
  /** Workspaces polled at once by one otfd. */
  concurrency: number;
  /** How long a claim holds unless renewed (it is, every third of this, while the poll lasts). */
  leaseSeconds: number;
  /**
   * How often the set of polling workspaces is read and the vcs_polls rows brought in line with it
   * (also at start, and whenever a poll is due). A workspace connected meanwhile is first polled
   * at the next one.
   */
  syncMs: number;
}

/** A connection's interval when it names none (the connections check it is set; this is a guard). */
const DEFAULT_INTERVAL_SECONDS = 60;

export const DEFAULT_POLLER_OPTIONS: PollerOptions = { tickMs: 1000, concurrency: 4, leaseSeconds: 60, syncMs: 60_000 };

/** How long stop() waits for polls under way. */
const STOP_WAIT_MS = 5000;

interface PollRow {
  workspace_id: string;
  identifier: string;
  branch: string;
  head_sha: string | null;
  trouble: string | null;
}

/** The commit's and comparison's web pages, as each provider lays them out. */
function links(kind: HookKind, webUrl: string, before: string, sha: string): { commit: string; compare: string | null } {
  if (webUrl === '') return { commit: '', compare: null };
  const base = kind === 'gitlab' ? `${webUrl}/-` : webUrl;
  return { commit: `${base}/commit/${sha}`, compare: `${base}/compare/${before}...${sha}` };
}

export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private tickDone: Promise<void> | null = null;
  private stopped = false;
  /** The polling workspaces as last read, and when; null before the first read. */
  private polling: ConnectedWorkspace[] | null = null;
  private syncedAt = 0;
  /** What the vcs_polls rows were last made to hold: no writes while it stays the same. */
  private syncedRows = '';
  /** Polls under way in this otfd; a tick claims only as many more as the concurrency leaves room for. */
  private readonly inFlight = new Set<Promise<void>>();
  /** The claim renewals of those polls, cleared by stop() even if a poll outlives it. */
  private readonly renewals = new Set<NodeJS.Timeout>();

  constructor(
    private readonly db: Db,
    private readonly sources: PollSources,
    private readonly logger: Logger,
    private readonly options: PollerOptions = DEFAULT_POLLER_OPTIONS,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /**
   * A workspace's connection changed on this otfd: its next tick reads the polling set afresh, so
   * a newly connected workspace is polled at once instead of after the next minute's read.
   */
  refreshSoon(): void {
    this.syncedAt = 0;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tickDone = this.tick()
        .catch((err) => this.logger.error({ err }, 'polling workspaces failed; trying again'))
        .finally(() => {
          this.tickDone = null;
          this.schedule(this.options.tickMs);
        });
    }, ms);
  }

  /**
   * Stops: no new polls. Polls under way get a few seconds to end (a git command against a host
   * that does not answer may take minutes; its claim lapses by itself and another otfd takes over).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.tickDone;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
    await Promise.race([Promise.allSettled([...this.inFlight]), late]);
    clearTimeout(timer);
    for (const renew of this.renewals) clearInterval(renew);
    this.renewals.clear();
  }

  /**
   * One round. Every tick asks one cheap question of vcs_polls (is a poll due?); the polling
   * workspaces are read, and the rows synced, about once a minute and when a poll is due (then
   * fresh, so that a workspace disconnected meanwhile is not polled). Due ones are claimed and
   * polled in the background, so one slow host does not hold up the next rounds.
   */
  async tick(): Promise<void> {
    if (this.polling === null || Date.now() - this.syncedAt >= this.options.syncMs) await this.refresh();
    const room = this.options.concurrency - this.inFlight.size;
    if (this.polling!.length === 0 || room <= 0 || this.stopped) return;
    if (!(await this.anyDue())) return;
    await this.refresh();
    const polling = this.polling!;
    if (polling.length === 0 || this.stopped) return;
    const byId = new Map(polling.map((cw) => [cw.workspace.id, cw]));
    for (const row of await this.claim(polling, room)) {
      const poll: Promise<void> = this.poll(byId.get(row.workspace_id)!, row).finally(() => this.inFlight.delete(poll));
      this.inFlight.add(poll);
    }
  }

  private async refresh(): Promise<void> {
    const polling = (await this.sources.pollingWorkspaces()).filter((cw) => cw.vcsRepo.pollIntervalSeconds !== null);
    await this.sync(polling);
    this.polling = polling;
    this.syncedAt = Date.now();
  }

  /** Whether some polling workspace's poll is due and not claimed: one indexed look at vcs_polls. */
  private async anyDue(): Promise<boolean> {
    const row = await this.db('vcs_polls')
      .where('next_poll_at', '<=', this.db.fn.now())
      .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', this.db.fn.now()))
      .first('workspace_id');
    return row !== undefined;
  }

  /** A row for every polling workspace, none for the others (a workspace connected again starts afresh). */
  private async sync(polling: ConnectedWorkspace[]): Promise<void> {
    const rows = polling.map((cw) => ({ workspace_id: cw.workspace.id, identifier: cw.vcsRepo.identifier, branch: cw.vcsRepo.branch }));
    const fingerprint = JSON.stringify(rows);
    // Another otfd may have deleted or added rows meanwhile; syncing at least every syncMs covers that.
    if (fingerprint === this.syncedRows && Date.now() - this.syncedAt < this.options.syncMs) return;
    const ids = rows.map((r) => r.workspace_id);
    await this.db('vcs_polls').whereRaw('NOT (workspace_id = ANY(?))', [ids]).delete();
    if (rows.length > 0) await this.db('vcs_polls').insert(rows).onConflict('workspace_id').ignore();
    this.syncedRows = fingerprint;
  }

  /**
   * Takes up to `limit` due workspaces no other otfd is polling (rows another otfd is claiming right
   * now are skipped, not waited for); each gets its next due time and a lease in the same statement.
   */
  private async claim(polling: ConnectedWorkspace[], limit: number): Promise<PollRow[]> {
    const ids = polling.map((cw) => cw.workspace.id);
    const seconds = polling.map((cw) => Math.max(1, Math.floor(cw.vcsRepo.pollIntervalSeconds ?? DEFAULT_INTERVAL_SECONDS)));
    const { rows } = await this.db.raw<{ rows: PollRow[] }>(
      `UPDATE vcs_polls p
          SET next_poll_at = now() + make_interval(secs => v.secs),
              lease_until = now() + make_interval(secs => ?),
              updated_at = now()
         FROM unnest(?::text[], ?::int[]) AS v(id, secs)
        WHERE p.workspace_id = v.id
          AND p.workspace_id IN (
                SELECT workspace_id FROM vcs_polls
                 WHERE workspace_id = ANY(?)
                   AND next_poll_at <= now()
                   AND (lease_until IS NULL OR lease_until < now())
                 ORDER BY next_poll_at
                 LIMIT ?
                   FOR UPDATE SKIP LOCKED)
        RETURNING p.workspace_id, p.identifier, p.branch, p.head_sha, p.trouble`,
      [this.options.leaseSeconds, ids, seconds, ids, limit],
    );
    return rows;
  }

  /** Reads the workspace's branch head and hands a moved head to the dispatcher. */
  private async poll(cw: ConnectedWorkspace, row: PollRow): Promise<void> {
    const { identifier, branch } = cw.vcsRepo;
    const log = this.logger.child({ workspace: cw.workspace.id, identifier, branch });
    // The claim is renewed while the poll lasts (a fetch and a run's snapshot may take minutes),
    // so no other otfd takes the workspace meanwhile; an otfd that dies lets it lapse.
    const renew = setInterval(() => {
      this.db('vcs_polls')
        .where({ workspace_id: cw.workspace.id })
        .update({ lease_until: this.db.raw('now() + make_interval(secs => ?)', [this.options.leaseSeconds]) })
        .catch((err: unknown) => log.warn({ err }, 'polling: could not renew the claim'));
    }, (this.options.leaseSeconds * 1000) / 3);
    this.renewals.add(renew);
    try {
      await this.pollClaimed(cw, row, log);
    } finally {
      clearInterval(renew);
      this.renewals.delete(renew);
    }
  }

  private async pollClaimed(cw: ConnectedWorkspace, row: PollRow, log: Logger): Promise<void> {
    const { identifier, branch } = cw.vcsRepo;
    try {
      const adapter = await this.sources.adapterFor(cw.vcsRepo.oauthTokenId);
      if (!adapter) throw new Error(`the OAuth token ${cw.vcsRepo.oauthTokenId} the workspace is connected with is gone`);
      const info = await adapter.repository(identifier);
      const source = { ...(await this.sources.sourceOf(cw, adapter, info)), ref: `refs/heads/${branch}` };
      const head = await this.sources.fetcher.head(source, branch);
      if (head === null) throw new Error(`repository ${identifier} has no branch ${branch}`);
      const known = row.head_sha !== null && row.identifier === identifier && row.branch === branch ? row.head_sha : null;
      if (known === null) {
        log.info({ head }, 'polling: recorded the branch head; pushes from now on queue runs');
      } else if (head !== known) {
        log.info({ before: known, head }, 'polling: the branch head moved');
        const commit = await this.sources.fetcher.commit({ ...source, sha: head });
        // From the cache when it holds both commits, else from the provider; unknown plans anyway.
        const changed =
          (await this.sources.fetcher.changedFiles(source.repoKey, known, head).catch(() => null)) ??
          (await adapter.changedFiles(identifier, known, head).catch(() => null));
        const kind = hookKindOf(adapter.provider);
        const link = links(kind, info.webUrl, known, head);
        const event: PushEvent = {
          type: 'push',
          kind,
          identifier,
          // The same move polled twice (an otfd stopped between dispatching and recording) is a
          // replay; a branch moving back to a head it had before is a new push, so the id names
          // both ends of the move.
          deliveryId: `poll:${cw.workspace.id}:${known}..${head}`,
          sender: '',
          branch,
          before: known,
          commit: { sha: head, message: commit.message, url: link.commit },
          compareUrl: link.compare,
          changedFiles: changed,
          deleted: false,
        };
        await this.sources.dispatch(event, cw.workspace.id);
      }
      if (row.trouble !== null) log.info('polling works again');
      await this.release(cw, { head_sha: head, identifier, branch, trouble: null });
    } catch (err) {
      const reason = (err as Error).message;
      // Once per change of condition, not every interval.
      if (row.trouble !== reason) log.warn({ reason }, 'polling failed; trying again every interval');
      await this.release(cw, { trouble: reason }).catch((e) => log.error({ err: e }, 'polling: could not record a failed poll'));
    }
  }

  /** Ends the claim, recording what the poll found (a head is recorded with the repository and branch it is of). */
  private async release(cw: ConnectedWorkspace, fields: { head_sha?: string; identifier?: string; branch?: string; trouble: string | null }): Promise<void> {
    await this.db('vcs_polls').where({ workspace_id: cw.workspace.id }).update({ ...fields, lease_until: null, updated_at: this.db.fn.now() });
  }
}
