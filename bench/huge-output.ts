// Benchmark of a state upload's memory whatever its shape (P1): a 150 MiB state made of one huge
// output (BENCH_HUGE_OUTPUT_MIB), uploaded through the API (POST state-versions, PUT the file to its
// upload URL) to an otfd of its own, sampling otfd's RSS as bench/state.ts does. Outputs are kept
// for the outputs API only up to a bound; a larger one is checked as it goes by and never held, so
// the target is that otfd's RSS grows by less than the size of the state.
import crypto from 'node:crypto';
import { Client, createOrganization, startOtfd, type Doc, type OtfdOptions } from './lib.js';
import { RssSampler, measure, put, type MemoryWindow } from './state.js';

const MiB = 2 ** 20;
const OUTPUT_MIB = hugeOutputMiB();
export const HUGE_OUTPUT_SCENARIO = `state upload of a ${OUTPUT_MIB} MiB state made of one huge output`;
/** otfd's RSS may grow by less than this many times the state size. */
const TARGET_GROWTH_FACTOR = 1;
const LINEAGE = '0d4e1c2b-7a3f-4b6e-8c9d-5e1f2a3b4c5d';

function hugeOutputMiB(): number {
  const raw = process.env.BENCH_HUGE_OUTPUT_MIB;
  const n = raw ? Number(raw) : 150;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`BENCH_HUGE_OUTPUT_MIB must be a positive number, got "${raw}"`);
  return n;
}

export interface HugeOutputResult {
  name: string;
  stateBytes: number;
  seconds: number;
  memory: MemoryWindow;
  hwmReset: boolean;
  target: string;
  met: boolean;
}

/** A v4 state with no resources and one string output of about OUTPUT_MIB MiB. */
function hugeOutputState(): Buffer {
  const head = Buffer.from(`{\n  "version": 4,\n  "terraform_version": "1.11.4",\n  "serial": 1,\n  "lineage": "${LINEAGE}",\n  "outputs": {\n    "blob": {\n      "value": "`);
  const tail = Buffer.from('",\n      "type": "string"\n    }\n  },\n  "resources": [],\n  "check_results": null\n}\n');
  return Buffer.concat([head, Buffer.alloc(OUTPUT_MIB * MiB, 'x'), tail]);
}

export async function runHugeOutputBenchmark(opts: { logLevel: NonNullable<OtfdOptions['logLevel']>; nodeArgs: string[] }): Promise<HugeOutputResult> {
  const state = hugeOutputState();
  const md5 = crypto.createHash('md5').update(state).digest('hex');
  const otfd = await startOtfd({ logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, concurrency: 0 });
  const sampler = new RssSampler(otfd.pid);
  try {
    sampler.start();
    const client = new Client(otfd.url, otfd.siteToken);
    await createOrganization(client, 'bench');
    const ws = (await client.expect(201, 'POST', '/organizations/bench/workspaces', {
      data: { type: 'workspaces', attributes: { name: 'huge-output', 'execution-mode': 'local' } },
    })) as Doc;
    const m = await measure(sampler, state.length, async () => {
      await client.expect(200, 'POST', `/workspaces/${ws.data.id}/actions/lock`, {});
      const created = (await client.expect(201, 'POST', `/workspaces/${ws.data.id}/state-versions`, {
        data: { type: 'state-versions', attributes: { serial: 1, md5, lineage: LINEAGE } },
      })) as Doc<{ 'hosted-state-upload-url': string }>;
      const status = await put(created.data.attributes['hosted-state-upload-url'], state);
      if (status !== 200) throw new Error(`PUT hosted-state-upload-url answered ${status}`);
      await client.expect(200, 'POST', `/workspaces/${ws.data.id}/actions/unlock`);
    });
    return {
      name: HUGE_OUTPUT_SCENARIO,
      stateBytes: state.length,
      seconds: m.seconds,
      memory: m.memory,
      hwmReset: m.hwmReset,
      target: `RSS growth < ${TARGET_GROWTH_FACTOR} x state size`,
      met: m.memory.growthPerStateSize < TARGET_GROWTH_FACTOR,
    };
  } finally {
    sampler.stop();
    await otfd.stop();
  }
}

export function formatHugeOutputTable(r: HugeOutputResult): string {
  const mib = (v: number) => v.toFixed(1);
  return [
    'state upload                         MiB      s  RSS base  RSS peak  growth  growth/size  target   met',
    `one huge output                 ${mib(r.stateBytes / MiB).padStart(8)} ${r.seconds.toFixed(2).padStart(6)} ${mib(r.memory.baselineMiB).padStart(9)} ${mib(r.memory.peakMiB).padStart(9)} ${mib(r.memory.growthMiB).padStart(7)} ${`${r.memory.growthPerStateSize.toFixed(2)} x`.padStart(12)}  < ${TARGET_GROWTH_FACTOR} x  ${r.met ? 'yes' : 'NO'}`,
    '',
    `RSS in MiB, base just before the upload, peak = max of 100 ms samples and VmHWM${r.hwmReset ? '' : ' (which could not be reset)'}; after: ${mib(r.memory.afterMiB)}`,
  ].join('\n');
}
