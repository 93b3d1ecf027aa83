// Benchmark of a VCS-driven run's start (P4): from a push's webhook reaching otfd to the run's
// plan job started by the server agent, the whole way: a delivery signed as GitHub signs it,
// otfd's 202, the run made, the commit fetched into the repository cache and archived (a
// repository of 1,000 files, served over HTTP by Git's own http-backend), the configuration
// stored, the plan queued and claimed. Twenty pushes, one after another, each run applied before
// the next push; the cache is warm (a first push, not counted, made the clone). otfd runs as a
// child process of its own; the providers' REST stand-in (test/helpers/provider-api.ts) answers
// the webhook's creation and the commit statuses.
import crypto from 'node:crypto';
import { startProviderApi } from '../test/helpers/provider-api.js';
import { githubPush } from '../test/helpers/deliveries.js';
import { manyFiles, startGitHttpServer } from '../test/helpers/git-http-server.js';
import { Client, createOrganization, startOtfd, type Doc } from './lib.js';
import { percentile, type LatencyResult } from './runs.js';

export const VCS_SCENARIO = 'vcs: webhook received to plan job started (1,000-file repository, warm cache)';

const FILES = 1_000;
const PUSHES = 20;
const TARGET_P50_MS = 1_000;
const IDENTIFIER = 'acme/bench-vcs';

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The configuration each push changes: an output only, so plan and apply are quick and touch nothing. */
function configuration(n: number): string {
  return `output "push" {\n  value = ${n}\n}\n`;
}

/** The latency, and where it goes: the medians of its three legs. */
export interface VcsBenchResult extends LatencyResult {
  legsP50Ms: {
    /** The delivery sent to the run made (verified, parsed, dispatched). */
    deliveryToRun: number;
    /** The run made to its plan queued (the commit fetched into the cache, archived and stored). */
    runToPlanQueued: number;
    /** The plan queued to the job started by the server agent. */
    planQueuedToStarted: number;
  };
}

interface RunAttributes {
  status: string;
  'created-at': string;
  'status-timestamps': Record<string, string>;
  'error-message': string | null;
}

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

export async function runVcsBenchmark(opts: { logLevel: 'debug' | 'info' | 'warn' | 'error'; nodeArgs: string[] }): Promise<VcsBenchResult> {
  const git = await startGitHttpServer();
  const provider = await startProviderApi();
  const otfd = await startOtfd({ logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, concurrency: 1 });
  try {
    const client = new Client(otfd.url, otfd.siteToken);
    const org = await createOrganization(client, 'bench-vcs');
    const repo = git.createRepository('bench-vcs', { ...manyFiles(FILES), 'main.tf': configuration(0) });
    const token = crypto.randomBytes(20).toString('hex');
    provider.addToken(token);
    git.addCredentials('x-access-token', token);
    provider.addRepository({ identifier: IDENTIFIER, defaultBranch: 'main', cloneUrl: repo.url, webUrl: `https://vcs.example.test/${IDENTIFIER}`, gitDir: repo.bare });
    const oauthClient = (await client.expect(201, 'POST', `/organizations/${org}/oauth-clients`, {
      data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', 'api-url': provider.apiUrl('github'), 'http-url': 'https://vcs.example.test', 'oauth-token-string': token } },
    })) as { data: { relationships: { 'oauth-tokens': { data: Array<{ id: string }> } } } };
    const ws = (await client.expect(201, 'POST', `/organizations/${org}/workspaces`, {
      data: {
        type: 'workspaces',
        attributes: { name: 'bench-vcs', 'auto-apply': true, 'vcs-repo': { identifier: IDENTIFIER, 'oauth-token-id': oauthClient.data.relationships['oauth-tokens'].data[0].id } },
      },
    })) as Doc;
    const [hook] = provider.hooks(IDENTIFIER);
    if (!hook?.secret) throw new Error('otfd made no webhook at the providers\' stand-in');

    const latencies: number[] = [];
    const legs = { deliveryToRun: [] as number[], runToPlanQueued: [] as number[], planQueuedToStarted: [] as number[] };
    for (let i = 1; i <= PUSHES + 1; i++) {
      const before = repo.head('main');
      const message = `Push ${i}`;
      const sha = repo.commit({ 'main.tf': configuration(i) }, message);
      const delivery = githubPush({ secret: hook.secret, identifier: IDENTIFIER, sha, before, message, files: ['main.tf'], deliveryId: crypto.randomUUID() });
      const sentAt = Date.now();
      const res = await fetch(hook.url, { method: 'POST', headers: delivery.headers, body: delivery.body });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`the delivery of push ${i} was answered ${res.status}`);
      const run = await runOfPush(client, ws.data.id, i);
      const created = Date.parse(run['created-at']);
      const queued = Date.parse(run['status-timestamps']['plan-queued-at']);
      const started = Date.parse(run['status-timestamps']['planning-at']);
      // The first push clones the repository (a cold cache): not counted.
      if (i > 1) {
        latencies.push(started - sentAt);
        legs.deliveryToRun.push(created - sentAt);
        legs.runToPlanQueued.push(queued - created);
        legs.planQueuedToStarted.push(started - queued);
      }
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    return {
      name: VCS_SCENARIO,
      samples: latencies.length,
      p50Ms: p50,
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1],
      target: `p50 < ${TARGET_P50_MS} ms`,
      met: p50 < TARGET_P50_MS,
      legsP50Ms: {
        deliveryToRun: median(legs.deliveryToRun),
        runToPlanQueued: median(legs.runToPlanQueued),
        planQueuedToStarted: median(legs.planQueuedToStarted),
      },
    };
  } finally {
    await otfd.stop();
    await provider.stop();
    await git.stop();
  }
}

/** Waits for the workspace's `n`th run to end applied (the next push must not queue behind it); returns its attributes. */
async function runOfPush(client: Client, workspaceId: string, n: number): Promise<RunAttributes> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const page = (await client.expect(200, 'GET', `/workspaces/${workspaceId}/runs?page[size]=1`)) as {
      data: Array<{ id: string; attributes: RunAttributes }>;
      meta: { pagination: { 'total-count': number } };
    };
    const run = page.meta.pagination['total-count'] >= n ? page.data[0] : undefined;
    if (run && FINAL.includes(run.attributes.status)) {
      if (run.attributes.status !== 'applied') throw new Error(`the run of push ${n} (${run.id}) ended ${run.attributes.status}: ${run.attributes['error-message']}`);
      return run.attributes;
    }
    if (Date.now() > deadline) throw new Error(`push ${n}: no applied run within 120 s`);
    await sleep(25);
  }
}
