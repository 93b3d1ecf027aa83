// Simulated pool agents for tests: plain HTTP clients that register through the agent protocol and
// hold jobs long-polls over kept-alive connections, re-polling as soon as an answer comes back, the
// way otf-agent does. They run no jobs; they show how otfd treats a crowd of idle agents.
import http from 'node:http';

export interface PollOutcome {
  /** Answers to long-polls: HTTP status and how many jobs each handed out. */
  answers: Array<{ status: number; jobs: number }>;
  /** Requests that failed at the connection level (refused, reset), by error code. */
  connectionErrors: Map<string, number>;
}

interface Reply {
  status: number;
  body: unknown;
}

export class IdleAgents {
  readonly tokens: string[] = [];
  readonly outcome: PollOutcome = { answers: [], connectionErrors: new Map() };
  /** Long-polls sent and not answered yet. */
  held = 0;
  private readonly http = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly base: URL;
  private stopped = false;

  constructor(url: string) {
    this.base = new URL(url);
  }

  call(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.http,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Registers `count` agents with the pool's agent token, `parallel` at a time. */
  async register(agentToken: string, count: number, parallel = 16): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const res = await this.call('POST', '/api/agent/register', agentToken, { name: `idle-agent-${String(i).padStart(5, '0')}`, concurrency: 1 });
        if (res.status !== 201) throw new Error(`registering agent ${i}: ${res.status} ${JSON.stringify(res.body)}`);
        this.tokens.push((res.body as { token: string }).token);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  /** Every agent holds a long-poll from now on, sending the next one as soon as one is answered. */
  startPolling(waitSeconds = 60): void {
    for (const token of this.tokens) void this.pollLoop(token, waitSeconds);
  }

  private async pollLoop(token: string, waitSeconds: number): Promise<void> {
    while (!this.stopped) {
      this.held++;
      try {
        const res = await this.call('GET', `/api/agent/jobs?wait=${waitSeconds}`, token);
        const jobs = (res.body as { jobs?: unknown[] } | null)?.jobs?.length ?? 0;
        this.outcome.answers.push({ status: res.status, jobs });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
        this.outcome.connectionErrors.set(code, (this.outcome.connectionErrors.get(code) ?? 0) + 1);
        // A real agent backs off after a connection error; these simply stop.
        return;
      } finally {
        this.held--;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.http.destroy();
  }
}
