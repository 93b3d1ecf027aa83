// Live updates for pages: a hub that carries small events between otfd replicas through
// PostgreSQL's NOTIFY, and Server-Sent Events streams that pages open (htmx's SSE extension).
//
// An event only says that something changed (a run's status, a log that grew, an agent's status),
// never what a visitor may see: each stream renders its own HTML from the event, with its own
// visitor's rights, so one visitor's stream cannot carry what another may not see.
import { PassThrough } from 'node:stream';
import type { Db } from '../db/index.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { Listener } from '../db/notify.js';
import type { Subject } from '../auth/subject.js';
import type { Logger } from '../logger.js';
import type { Html } from './html.js';
import type { WebCtx } from './http.js';
import type { SessionService } from './sessions/service.js';

const CHANNEL = 'web_events';
/** Comment lines that keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/**
 * How often a stream gathers its visitor's rights again: a sign-out on another replica, a user
 * removed from a team, a deleted user end their streams within this time.
 */
const RECHECK_MS = 30_000;
/**
 * The most a stream may hold that its browser has not taken yet. A browser that reads slower than
 * events come loses its stream (and reconnects, resuming from its last event) rather than otfd
 * keeping ever more for it.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What the browser waits before reconnecting a closed stream (after an otfd restart, say). */
const RETRY_MS = 2_000;

/**
 * What changed. `topic` is who cares: `run:<run id>`, `org:<organization id>`, `pool:<pool id>`,
 * `session:<session id>`. Data stays small (NOTIFY payloads are limited to 8000 bytes): ids and
 * statuses, nothing secret.
 */
export interface WebEvent {
  topic: string;
  name: string;
  data: Record<string, string | number | null>;
}

/** One message of a stream: htmx swaps `html` into the elements whose sse-swap names `event`. */
export interface SseMessage {
  event: string;
  html: Html | string;
  /** The stream's position after this message: the browser sends it back as Last-Event-ID when it reconnects. */
  id?: string;
}

type Subscriber = (event: WebEvent) => void;

export class EventHub {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly streams = new Set<PassThrough>();
  private unlisten: (() => void) | null = null;
  private readonly recheckMs: number;

  constructor(
    private readonly db: Db,
    private readonly listener: Listener,
    private readonly logger: Logger,
    /** recheckMs: how often streams gather their visitors' rights again (default 30 s; tests shorten it). */
    options: { recheckMs?: number } = {},
  ) {
    this.recheckMs = options.recheckMs ?? RECHECK_MS;
  }

  async start(): Promise<void> {
    this.unlisten = await this.listener.on(CHANNEL, (payload) => {
      let event: WebEvent;
      try {
        event = JSON.parse(payload) as WebEvent;
      } catch {
        return;
      }
      for (const s of this.subscribers.get(event.topic) ?? []) s(event);
    });
  }

  /** Tells every otfd's subscribers of the topic (this one's included, through the database). */
  publish(event: WebEvent): void {
    this.db.raw('SELECT pg_notify(?, ?)', [CHANNEL, JSON.stringify(event)]).catch((err: unknown) => this.logger.warn({ err, topic: event.topic }, 'a web event was not published'));
  }

  subscribe(topics: readonly string[], subscriber: Subscriber): () => void {
    for (const t of topics) {
      let set = this.subscribers.get(t);
      if (!set) this.subscribers.set(t, (set = new Set()));
      set.add(subscriber);
    }
    return () => {
      for (const t of topics) {
        const set = this.subscribers.get(t);
        set?.delete(subscriber);
        if (set?.size === 0) this.subscribers.delete(t);
      }
    };
  }

  /** Ends every open stream (otfd is stopping: browsers reconnect to the next one). */
  closeAll(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.unlisten?.();
    this.unlisten = null;
  }

  /**
   * Answers the request with an event stream: `initial` at once, then what `onEvent` sends for
   * each event of `topics`. The stream ends when the browser goes, when otfd stops, when the
   * visitor's session ends (with a `signed-out` event first, which pages name in sse-close), when
   * `recheck` says the visitor may no longer see what the stream shows, and when the browser
   * reads too slowly.
   */
  openStream(
    ctx: WebCtx,
    sessions: SessionService,
    opts: {
      topics: readonly string[];
      /**
       * Sent first. A function is called once the stream listens to its topics, so that nothing
       * that happens while it reads what it sends first can be missed.
       */
      initial?: SseMessage[] | (() => Promise<SseMessage[]>);
      onEvent: (event: WebEvent, send: (msg: SseMessage) => void) => Promise<void> | void;
      /**
       * Called now and then with the visitor's rights gathered again: whether they may still see
       * what the stream shows (read it through a service with `subject`; a stream that goes on
       * renders with these rights from then on). False ends the stream without `signed-out`, so the
       * browser reconnects and is authorized afresh (and refused, if it may no longer see it).
       */
      recheck?: (subject: Subject) => Promise<boolean>;
    },
  ): void {
    const session = ctx.state.session;
    const stream = new PassThrough();
    /** What otfd holds that the browser has not read: the stream's buffers and the response's. */
    const buffered = () => stream.writableLength + stream.readableLength + ctx.res.writableLength;
    const write = (text: string) => {
      if (stream.writableEnded || stream.destroyed) return;
      stream.write(text);
      if (buffered() > MAX_BUFFERED_BYTES) {
        this.logger.info({ path: ctx.path, buffered: buffered() }, 'an event stream whose browser reads too slowly was closed');
        // Cut, not ended: ending would wait for the browser to read all of it first.
        ctx.res.destroy();
        stream.destroy();
      }
    };
    const send = (msg: SseMessage) => {
      // Each line of the data becomes its own data: field; the browser joins them with newlines.
      const data = String(msg.html).split('\n').map((l) => `data: ${l}`).join('\n');
      const id = msg.id ? `id: ${msg.id.replace(/[\r\n]/g, '')}\n` : '';
      write(`${id}event: ${msg.event}\n${data}\n\n`);
    };
    const over = () => stream.writableEnded || stream.destroyed;
    // Events (and rechecks) are handled one after another, so that log chunks arrive in order.
    let chain = Promise.resolve();
    const topics = session ? [...opts.topics, `session:${session.id}`] : [...opts.topics];
    const unsubscribe = this.subscribe(topics, (event) => {
      chain = chain.then(async () => {
        if (over()) return;
        if (session && event.topic === `session:${session.id}`) return signOut();
        try {
          await opts.onEvent(event, send);
        } catch (err) {
          this.logger.warn({ err, topic: event.topic }, 'a live update could not be rendered');
        }
      });
    });
    const signOut = () => {
      send({ event: 'signed-out', html: '' });
      stream.end();
    };
    /** The session's rights gathered again: a session gone signs out, rights gone end the stream. */
    const recheck = async () => {
      if (!session || over()) return;
      try {
        const subject = await sessions.subjectOfSession(session.id);
        if (!subject) return signOut();
        if (opts.recheck && !(await opts.recheck(subject)) && !over()) stream.end();
      } catch (err) {
        // A database hiccup does not end streams: the next check decides.
        this.logger.warn({ err, path: ctx.path }, "an event stream's visitor could not be checked");
      }
    };
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    const rechecks = setInterval(() => {
      chain = chain.then(recheck);
    }, this.recheckMs);
    const close = () => {
      clearInterval(keepalive);
      clearInterval(rechecks);
      unsubscribe();
      this.streams.delete(stream);
      if (!stream.destroyed) stream.end();
    };
    stream.on('close', close);
    stream.on('finish', close);
    ctx.req.on('close', close);
    this.streams.add(stream);

    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = stream;
    write(`retry: ${RETRY_MS}\n\n`);
    const initial = opts.initial;
    if (typeof initial === 'function') {
      // Ahead of any event: the chain runs events only after it.
      chain = chain.then(async () => {
        try {
          for (const msg of await initial()) send(msg);
        } catch (err) {
          this.logger.warn({ err }, 'the start of a live update stream could not be rendered');
        }
      });
    } else {
      for (const msg of initial ?? []) send(msg);
    }
  }

  /** Ends the streams of a session on every otfd (sign-out). */
  sessionEnded(sessionId: string): void {
    this.publish({ topic: `session:${sessionId}`, name: 'ended', data: {} });
  }
}

/**
 * For a stream's recheck: reads what the stream shows with the visitor's new rights; false when it
 * is now hidden from them (404) or forbidden (403), so that the stream ends.
 */
export async function stillReadable(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof ForbiddenError) return false;
    throw err;
  }
}
