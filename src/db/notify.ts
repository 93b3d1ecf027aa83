// LISTEN/NOTIFY: one dedicated connection per otfd that listens on the channels asked for and
// calls their handlers. A missed notification costs a waiter one timeout, never a lost job: the
// database stays the only source of truth. Whoever must not miss one (a cache) watches the
// connection: notifications can be missed only while it is down.
import pg from 'pg';
import type { Logger } from 'pino';

type Handler = (payload: string) => void;
type ConnectionWatcher = (connected: boolean) => void;

export class Listener {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly watchers = new Set<ConnectionWatcher>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    // Keepalive lets a connection that broke silently be noticed, and so reconnected.
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    client.on('notification', (msg) => {
      for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'notification connection failed; reconnecting');
      this.scheduleReconnect();
    });
    client.on('end', () => {
      if (this.client === client) this.scheduleReconnect();
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    this.client = client;
    for (const w of this.watchers) w(true);
  }

  private scheduleReconnect(): void {
    const old = this.client;
    this.client = null;
    if (old) for (const w of this.watchers) w(false);
    void old?.end().catch(() => undefined);
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch(() => this.scheduleReconnect());
    }, 1000);
  }

  /** Calls handler for each notification on channel until the returned function is called. */
  async on(channel: string, handler: Handler): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) await this.client.query(`LISTEN ${this.client.escapeIdentifier(channel)}`);
    }
    set.add(handler);
    return () => set!.delete(handler);
  }

  /**
   * Calls watcher with whether notifications are being received: at once, and on every change.
   * A reconnection reports true only once every channel is listened to again.
   */
  watchConnection(watcher: ConnectionWatcher): void {
    this.watchers.add(watcher);
    watcher(this.client !== null);
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    if (client) for (const w of this.watchers) w(false);
    await client?.end().catch(() => undefined);
  }
}
