// A plain HTTP client of otfd's agent protocol for simulated agents: JSON in and out, a bearer
// token per call, connections kept alive in one pool so a thousand agents holding long-polls do
// not open a thousand new connections each time round. It imports nothing of the tests (no
// hooks, no database), so the benchmarks can use it as well.
import http from 'node:http';

export interface Reply {
  status: number;
  /** The parsed JSON body; the text when it is not JSON; null when empty. */
  body: unknown;
}

export interface CallOptions {
  /** Aborts the request (for example when the simulation stops). */
  signal?: AbortSignal;
  /** Fails the request when no answer has come within this many ms. */
  timeoutMs?: number;
}

export interface AgentHttpOptions {
  /** Options of the connection pool: maxSockets, scheduling. Connections are always kept alive. */
  pool?: Omit<http.AgentOptions, 'keepAlive'>;
  /** The timeout of calls that set none; without it they wait as long as otfd takes. */
  defaultTimeoutMs?: number;
}

export class AgentHttp {
  private readonly pool: http.Agent;
  private readonly base: URL;

  constructor(
    url: string,
    private readonly options: AgentHttpOptions = {},
  ) {
    this.base = new URL(url);
    this.pool = new http.Agent({ maxSockets: Infinity, ...options.pool, keepAlive: true });
  }

  call(method: string, apiPath: string, token: string, body?: unknown, opts: CallOptions = {}): Promise<Reply> {
    const timeoutMs = opts.timeoutMs ?? this.options.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path: apiPath,
          agent: this.pool,
          signal: opts.signal,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? (JSON.parse(text) as unknown) : null;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${apiPath.replace(/\?.*/, '')}: no answer within ${timeoutMs} ms`)));
      }
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes every connection, those of calls still waiting too (they fail). */
  destroy(): void {
    this.pool.destroy();
  }
}
