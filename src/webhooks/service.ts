// Webhook deliveries: a delivery is checked (its hook exists and is of the kind its URL names, its
// signature holds, it was not received before), recorded with its parsed event and answered at
// once; a worker then processes recorded deliveries one by one, also those an otfd that stopped
// left behind, and hands each event to the dispatch, which queues the runs.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { hookKindOf, type HookKind, type RepoHook, type VcsEvent, type VerifiedDelivery } from '../vcs/types.js';
import * as store from './store.js';

export const HOOK_KINDS: readonly HookKind[] = ['github', 'gitlab', 'forgejo'];

/** Checks a delivery's signature with the hook's secret and parses it; throws when it is not good. */
export type Verifier = (kind: HookKind, headers: IncomingHttpHeaders, body: Buffer, secret: string) => VerifiedDelivery;

/** The repository hooks otfd made (the connections domain). */
export interface HookDirectory {
  findHook(hookId: string): Promise<RepoHook | null>;
}

/** Queues the runs of an event for the workspaces connected to the hook (src/ingress/dispatch.ts). */
export type EventHandler = (hook: RepoHook, event: VcsEvent, deliveryId: string) => Promise<void>;

/** Channel a new delivery is announced on, so that a waiting worker (of any otfd) starts at once. */
const CHANNEL = 'vcs_deliveries';
/** How long a claim holds without being renewed: a claim older than this belongs to an otfd gone. */
const LEASE_SECONDS = 60;
const RENEW_MS = 20_000;
/** A delivery is tried this many times at most. */
export const MAX_ATTEMPTS = 3;
/** Also looked for without a notification: missed ones, and claims whose otfd stopped. */
const SWEEP_MS = 15_000;
/**
 * Processed deliveries (and so their body hashes, which refuse replays) are kept this many days,
 * then deleted, at most PRUNE_BATCH a sweep so that one sweep never holds the table for long.
 */
export const KEEP_DELIVERIES_DAYS = 30;
const PRUNE_BATCH = 1_000;
/** How long a stop waits for the delivery being processed. */
const STOP_GRACE_MS = 5_000;
/** Hook ids otfd makes are short; a longer one names no hook and is not looked up. */
const MAX_HOOK_ID = 100;

export class WebhookService {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private prunedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly hooks: HookDirectory,
    private readonly verify: Verifier,
    private readonly handle: EventHandler,
    private readonly logger: Logger,
  ) {}

  /**
   * The hook a delivery is addressed to, looked up before its body is read. Throws the refusal (404:
   * unknown hook, or one addressed as another provider's), logged.
   */
  async hookOf(kind: string, hookId: string, requestId: string | null): Promise<{ kind: HookKind; hook: RepoHook }> {
    const known = HOOK_KINDS.find((k) => k === kind);
    const hook = known && hookId.length <= MAX_HOOK_ID ? await this.hooks.findHook(hookId) : null;
    if (!known || !hook || hookKindOf(hook.provider) !== known) {
      throw this.refused(kind, hookId, new NotFoundError(`no ${known ?? 'such'} webhook ${hookId.slice(0, MAX_HOOK_ID)}`), requestId);
    }
    return { kind: known, hook };
  }

  /**
   * A delivery to a known hook (hookOf), as it arrived. Throws the refusal (4xx from the signature
   * check or the payload, 409 a replay), logged without the body, signature or secret. An accepted
   * delivery is recorded; the worker takes it from there.
   */
  async receive(to: { kind: HookKind; hook: RepoHook }, headers: IncomingHttpHeaders, body: Buffer, requestId: string | null): Promise<void> {
    const { kind, hook } = to;
    const refuse = (err: AppError): AppError => this.refused(kind, hook.id, err, requestId);
    let verified: VerifiedDelivery;
    try {
      verified = this.verify(kind, headers, body, hook.secret);
    } catch (err) {
      // WebhookRejected (400, 401, 413, 415) with a detail that never quotes the secret or signature.
      if (err instanceof AppError) throw refuse(err);
      throw err;
    }
    const event = verified.event ? { ...verified.event, deliveryId: verified.deliveryId } : null;
    // The body's hash too: the delivery id header is not signed, so a captured delivery sent again
    // under a new id is still a replay. Providers' own redeliveries keep their id (refused as well).
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    const recorded = await store.insertDelivery(this.db, { hookId: hook.id, kind, deliveryId: verified.deliveryId, bodySha256, event, requestId });
    if ('replayOf' in recorded) {
      throw refuse(
        new ConflictError(
          recorded.replayOf === 'body'
            ? `this payload was already received by this webhook (under another delivery id than ${verified.deliveryId})`
            : `delivery ${verified.deliveryId} was already received by this webhook`,
        ),
      );
    }
    this.logger.info({ hookId: hook.id, kind, deliveryId: verified.deliveryId, event: event?.type ?? 'none', requestId }, 'webhook delivery accepted');
    if (event) await this.db.raw('SELECT pg_notify(?, ?)', [CHANNEL, recorded.id]);
  }

  /** Logs a refusal (never the body, signature or secret) and answers the error, for the caller to throw. */
  refused(kind: string, hookId: string, err: AppError, requestId: string | null): AppError {
    this.logger.warn({ hookId: hookId.slice(0, MAX_HOOK_ID), kind: kind.slice(0, 20), status: err.status, reason: err.message, requestId }, 'webhook delivery refused');
    return err;
  }

  /** Starts the worker: deliveries left unprocessed are taken now, new ones as they are announced. */
  async start(listener: Listener): Promise<void> {
    this.unlisten = await listener.on(CHANNEL, () => this.wake());
    this.timer = setInterval(() => this.wake(), SWEEP_MS);
    this.timer.unref();
    this.wake();
  }

  /**
   * Takes no new delivery, and gives the one being processed a few seconds to end: a stop does not
   * wait for a slow clone. One cut short is taken over by another otfd once its lease ends (its runs
   * are not made twice).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    if (this.timer) clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
    await Promise.race([this.running, grace]);
    clearTimeout(timer);
  }

  /** Processes every delivery waiting; a wake while it works makes it look once more. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.logger.warn({ err }, 'webhook delivery worker failed; trying again later'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    // Once a sweep, not on every delivery's wake.
    if (Date.now() - this.prunedAt >= SWEEP_MS) {
      this.prunedAt = Date.now();
      const pruned = await store.pruneDeliveries(this.db, KEEP_DELIVERIES_DAYS, PRUNE_BATCH);
      if (pruned > 0) this.logger.info({ deliveries: pruned, olderThanDays: KEEP_DELIVERIES_DAYS }, 'deleted old webhook deliveries');
    }
    const gaveUp = await store.giveUpExhausted(this.db, LEASE_SECONDS, MAX_ATTEMPTS);
    if (gaveUp > 0) this.logger.warn({ deliveries: gaveUp }, 'gave up webhook deliveries whose every attempt was interrupted');
    while (!this.stopped) {
      const delivery = await store.claimDelivery(this.db, LEASE_SECONDS, MAX_ATTEMPTS);
      if (!delivery) return;
      await this.process(delivery);
    }
  }

  private async process(d: store.Delivery): Promise<void> {
    const renew = setInterval(() => void store.extendClaim(this.db, d.id).catch(() => undefined), RENEW_MS);
    const log = { hookId: d.hookId, deliveryId: d.deliveryId, attempt: d.attempts, requestId: d.requestId };
    try {
      const hook = await this.hooks.findHook(d.hookId);
      if (!hook || !d.event) {
        await store.finishDelivery(this.db, d.id, hook ? null : 'its webhook was deleted before the delivery was processed');
        return;
      }
      await this.handle(hook, d.event, d.deliveryId);
      await store.finishDelivery(this.db, d.id, null);
      this.logger.info(log, 'webhook delivery processed');
    } catch (err) {
      const reason = (err as Error).message || String(err);
      if (d.attempts >= MAX_ATTEMPTS) {
        await store.finishDelivery(this.db, d.id, reason);
        this.logger.error({ ...log, err }, 'webhook delivery failed; giving up');
      } else {
        await store.failAttempt(this.db, d.id, reason);
        this.logger.warn({ ...log, err }, 'webhook delivery failed; it is tried again later');
      }
    } finally {
      clearInterval(renew);
    }
  }
}
