// Simulated pool agents for tests: plain HTTP clients that register through the agent protocol and
// hold jobs long-polls over kept-alive connections, re-polling as soon as an answer comes back, the
// way otf-agent does. They run no jobs; they show how otfd treats a crowd of idle agents.
import { AgentHttp, type Reply } from './agent-http.js';

export interface PollOutcome {
  /** Answers to long-polls: HTTP status and how many jobs each handed out. */
  answers: Array<{ status: number; jobs: number }>;
  /** Requests that failed at the connection level (refused, reset), by error code. */
  connectionErrors: Map<string, number>;
}

export class IdleAgents {
  readonly tokens: string[] = [];
  readonly outcome: PollOutcome = { answers: [], connectionErrors: new Map() };
  /** Long-polls sent and not answered yet. */
  held = 0;
  private readonly http: AgentHttp;
  private stopped = false;

  constructor(url: string) {
    this.http = new AgentHttp(url);
  }

  call(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    return this.http.call(method, path, token, body);
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
