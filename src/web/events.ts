// Live updates for pages: a hub that carries small events between otfd replicas through
// PostgreSQL's NOTIFY, and Server-Sent Events streams that pages open (htmx's SSE extension).
//
// An event only says that something changed (a run's status, a log that grew, an agent's status),
// never what a visitor may see: each stream renders its own HTML from the event, with its own
// visitor's rights, so one visitor's stream cannot carry what another may not see.
import { PassThrough } from 'node:stream';
import type { Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import type { Logger } from '../logger.js';
import type { Html } from './html.js';
import type { WebCtx } from './http.js';
import type { SessionService } from './sessions/service.js';

const CHANNEL = 'web_events';
/** Comment lines that keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** How often a stream checks that its session still exists (a sign-out on another replica). */
const SESSION_CHECK_MS = 30_000;
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

  constructor(
    private readonly db: Db,
    private readonly listener: Listener,
    private readonly logger: Logger,
  ) {}

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
   * each event of `topics`. The stream ends when the browser goes, when otfd stops, and when the
   * visitor's session ends (with a `signed-out` event first, which pages name in sse-close).
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
    },
  ): void {
    const session = ctx.state.session;
    const stream = new PassThrough();
    const send = (msg: SseMessage) => {
      if (stream.writableEnded) return;
      // Each line of the data becomes its own data: field; the browser joins them with newlines.
      const data = String(msg.html).split('\n').map((l) => `data: ${l}`).join('\n');
      const id = msg.id ? `id: ${msg.id.replace(/[\r\n]/g, '')}\n` : '';
      stream.write(`${id}event: ${msg.event}\n${data}\n\n`);
    };
    // Events are handled one after another, so that log chunks arrive in order.
    let chain = Promise.resolve();
    const topics = session ? [...opts.topics, `session:${session.id}`] : [...opts.topics];
    const unsubscribe = this.subscribe(topics, (event) => {
      chain = chain.then(async () => {
        if (stream.writableEnded) return;
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
    const keepalive = setInterval(() => stream.write(': keepalive\n\n'), KEEPALIVE_MS);
    const sessionCheck = setInterval(() => {
      if (!session) return;
      sessions.isLive(session.id).then((live) => (live ? undefined : signOut())).catch(() => undefined);
    }, SESSION_CHECK_MS);
    const close = () => {
      clearInterval(keepalive);
      clearInterval(sessionCheck);
      unsubscribe();
      this.streams.delete(stream);
      stream.end();
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
    stream.write(`retry: ${RETRY_MS}\n\n`);
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
