// Polling, for otfd behind a firewall that providers' webhooks cannot reach: a workspace whose
// connection has a poll interval gets its branch head read every N seconds, and a head that moved
// becomes a push event, handed to the same dispatcher as webhooks (same triggers), for that
// workspace only.
//
// Every otfd runs a poller; the vcs_polls table makes them take turns: an otfd claims a workspace
// whose poll is due with one conditional UPDATE (row locks make the second claimant see it taken),
// which sets the next due time and a lease. The first poll of a workspace records the head without
// a run: connecting is not a push.
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { CommitSource, HookKind, PushEvent, WorkspaceVcsRepo } from '../vcs/types.js';

/** A workspace that polls, as the connections list it. */
export interface PollingWorkspace {
  workspaceId: string;
  vcsRepo: WorkspaceVcsRepo & { pollIntervalSeconds: number };
}

/** The repository a polling workspace reads its head from. */
export interface PolledRepository {
  /** How to reach it (url, credentials, cache key); its sha and ref are not used. */
  source: CommitSource;
  /** The webhook dialect of its provider, for the push event. */
  kind: HookKind;
  /** Its web page, for the commit's and the comparison's links; null when unknown. */
  webUrl: string | null;
}

/** What polling uses of the other parts of ingress (connected in src/server.ts). */
export interface PollSources {
  pollingWorkspaces(): Promise<PollingWorkspace[]>;
  repository(ws: PollingWorkspace): Promise<PolledRepository>;
  /** The branch's head commit at the remote. */
  head(source: CommitSource, branch: string): Promise<string>;
  /** Paths changed between two commits (both fetched into the cache by head()). */
  changedFiles(repoKey: string, base: string, head: string): Promise<string[]>;
  /** The commit's whole message. */
  commitMessage(repoKey: string, sha: string): Promise<string>;
  /** Hands the event to the dispatcher, for this workspace only. */
  dispatch(event: PushEvent, workspaceId: string): Promise<void>;
}

export interface PollerOptions {
  /** How often due workspaces are looked for. */
  tickMs: number;
  /** Workspaces polled at once by one otfd. */
  concurrency: number;
  /** How long a claim holds at least; a poll taking longer may be taken over. */
  minLeaseSeconds: number;
}

export const DEFAULT_POLLER_OPTIONS: PollerOptions = { tickMs: 1000, concurrency: 4, minLeaseSeconds: 120 };

interface PollRow {
  workspace_id: string;
  identifier: string;
  branch: string;
  head_sha: string | null;
  trouble: string | null;
}

/** The commit's and comparison's web pages, as each provider lays them out. */
function links(kind: HookKind, webUrl: string | null, before: string, sha: string): { commit: string; compare: string | null } {
  if (!webUrl) return { commit: '', compare: null };
  const base = kind === 'gitlab' ? `${webUrl}/-` : webUrl;
  return { commit: `${base}/commit/${sha}`, compare: `${base}/compare/${before}...${sha}` };
}

export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private tickDone: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly sources: PollSources,
    private readonly logger: Logger,
    private readonly options: PollerOptions = DEFAULT_POLLER_OPTIONS,
  ) {}

  start(): void {
    this.schedule(0);
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

  /** Stops: no new polls; a poll under way finishes (its git and HTTP calls have their own timeouts). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.tickDone;
  }

  /** One round: the list of polling workspaces brought up to date, then every due one polled. */
  async tick(): Promise<void> {
    const polling = await this.sources.pollingWorkspaces();
    await this.sync(polling);
    if (polling.length === 0 || this.stopped) return;
    const due = await this.claim(polling);
    const byId = new Map(polling.map((ws) => [ws.workspaceId, ws]));
    // A few at a time: one slow host must not hold up the others for long.
    const queue = due.slice();
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) await this.poll(byId.get(row.workspace_id)!, row);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, worker));
  }

  /** A row for every polling workspace, none for the others (a workspace connected again starts afresh). */
  private async sync(polling: PollingWorkspace[]): Promise<void> {
    const ids = polling.map((ws) => ws.workspaceId);
    await this.db('vcs_polls').whereRaw('NOT (workspace_id = ANY(?))', [ids]).delete();
    if (polling.length === 0) return;
    await this.db('vcs_polls')
      .insert(polling.map((ws) => ({ workspace_id: ws.workspaceId, identifier: ws.vcsRepo.identifier, branch: ws.vcsRepo.branch })))
      .onConflict('workspace_id')
      .ignore();
  }

  /**
   * Takes the due workspaces not being polled by another otfd: each gets its next due time and a
   * lease in the same statement, so a second otfd's claim (waiting on the row lock) finds it not due.
   */
  private async claim(polling: PollingWorkspace[]): Promise<PollRow[]> {
    const ids = polling.map((ws) => ws.workspaceId);
    const seconds = polling.map((ws) => Math.max(1, Math.floor(ws.vcsRepo.pollIntervalSeconds)));
    const { rows } = await this.db.raw<{ rows: PollRow[] }>(
      `UPDATE vcs_polls p
          SET next_poll_at = now() + make_interval(secs => v.secs),
              lease_until = now() + make_interval(secs => greatest(v.secs, ?)),
              updated_at = now()
         FROM unnest(?::text[], ?::int[]) AS v(id, secs)
        WHERE p.workspace_id = v.id
          AND p.next_poll_at <= now()
          AND (p.lease_until IS NULL OR p.lease_until < now())
        RETURNING p.workspace_id, p.identifier, p.branch, p.head_sha, p.trouble`,
      [this.options.minLeaseSeconds, ids, seconds],
    );
    return rows;
  }

  /** Reads the workspace's branch head and hands a moved head to the dispatcher. */
  private async poll(ws: PollingWorkspace, row: PollRow): Promise<void> {
    const { identifier, branch } = ws.vcsRepo;
    const log = this.logger.child({ workspace: ws.workspaceId, identifier, branch });
    try {
      const repo = await this.sources.repository(ws);
      const head = await this.sources.head(repo.source, branch);
      const known = row.head_sha !== null && row.identifier === identifier && row.branch === branch ? row.head_sha : null;
      if (known === null) {
        log.info({ head }, 'polling: recorded the branch head; pushes from now on queue runs');
      } else if (head !== known) {
        const event = await this.pushOf(repo, ws, known, head);
        log.info({ before: known, head }, 'polling: the branch head moved');
        await this.sources.dispatch(event, ws.workspaceId);
      }
      if (row.trouble !== null) log.info('polling works again');
      await this.release(ws, { head_sha: head, identifier, branch, trouble: null });
    } catch (err) {
      const reason = (err as Error).message;
      // Once per change of condition, not every interval.
      if (row.trouble !== reason) log.warn({ reason }, 'polling failed; trying again every interval');
      await this.release(ws, { trouble: reason }).catch((e) => log.error({ err: e }, 'polling: could not record a failed poll'));
    }
  }

  private async pushOf(repo: PolledRepository, ws: PollingWorkspace, before: string, sha: string): Promise<PushEvent> {
    const { repoKey } = repo.source;
    // Unknown changes (the old head gone after a force push) plan anyway, as a webhook too long to list them does.
    const changedFiles = await this.sources.changedFiles(repoKey, before, sha).catch(() => null);
    const message = await this.sources.commitMessage(repoKey, sha).catch(() => '');
    const link = links(repo.kind, repo.webUrl, before, sha);
    return {
      type: 'push',
      kind: repo.kind,
      identifier: ws.vcsRepo.identifier,
      // The same head polled twice (an otfd stopped between dispatching and recording) is a replay.
      deliveryId: `poll:${ws.workspaceId}:${sha}`,
      sender: '',
      branch: ws.vcsRepo.branch,
      before,
      commit: { sha, message, url: link.commit },
      compareUrl: link.compare,
      changedFiles,
      deleted: false,
    };
  }

  /** Ends the claim, recording what the poll found (a head is recorded with the repository and branch it is of). */
  private async release(ws: PollingWorkspace, fields: { head_sha?: string; identifier?: string; branch?: string; trouble: string | null }): Promise<void> {
    await this.db('vcs_polls').where({ workspace_id: ws.workspaceId }).update({ ...fields, lease_until: null, updated_at: this.db.fn.now() });
  }
}
