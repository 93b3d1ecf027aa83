// LISTEN/NOTIFY: one dedicated connection per otfd that listens on the channels asked for and
// calls their handlers. A missed notification costs a waiter one timeout, never a lost job: the
// database stays the only source of truth.
import pg from 'pg';
import type { Logger } from 'pino';

type Handler = (payload: string) => void;

export class Listener {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
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
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'notification connection failed; reconnecting');
      this.scheduleReconnect();
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    const old = this.client;
    this.client = null;
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

  async stop(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
