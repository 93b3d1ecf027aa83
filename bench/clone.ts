// Benchmark of the clone part of a VCS-driven run (P4): otfd's repository cache
// (src/ingress/repository-cache.ts) making the archive of a pushed commit of a repository of
// 1,000 files (2 KiB of text each), served over HTTP by Git's own http-backend (test/helpers/git-http-server.ts, with a
// token as a provider asks for one). Twenty small pushes, one after another; each commit is
// snapshotted twice: by a cache that has never seen the repository (cold: a whole shallow fetch)
// and by one that holds the commit before it (warm: only the new objects). It shows the share of
// the clone in the "webhook to plan job started under 1 s" target, which wants the warm cache.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RepositoryCache } from '../src/ingress/repository-cache.js';
import type { CommitSource } from '../src/vcs/types.js';
import { manyFiles, startGitHttpServer } from '../test/helpers/git-http-server.js';
import { percentile } from './runs.js';

export const CLONE_SCENARIO = 'clone: snapshot of a commit of a 1,000-file repository, cold vs warm cache';

const FILES = 1_000;
/** About 2 KiB of text per file: 2 MiB in all, about 1 MiB packed. */
const FILE_BYTES = 2_000;
const PUSHES = 20;
const MAX_SIZE = 100 * 2 ** 20;
/** The warm snapshot's share of the 1 s webhook-to-plan target. */
const WARM_TARGET_MS = 1_000;

export interface CloneSide {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Bytes the git server sent per snapshot (median). */
  p50BytesFetched: number;
}

export interface CloneBenchResult {
  name: string;
  files: number;
  pushes: number;
  archiveBytes: number;
  cold: CloneSide;
  warm: CloneSide;
  target: string;
  met: boolean;
}

function side(ms: number[], bytes: number[]): CloneSide {
  const t = [...ms].sort((a, b) => a - b);
  const b = [...bytes].sort((x, y) => x - y);
  return { p50Ms: round(percentile(t, 50)), p99Ms: round(percentile(t, 99)), maxMs: round(t[t.length - 1]), p50BytesFetched: percentile(b, 50) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export async function runCloneBenchmark(): Promise<CloneBenchResult> {
  const server = await startGitHttpServer();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-bench-clone-'));
  try {
    const token = crypto.randomBytes(20).toString('hex');
    server.addCredentials('x-access-token', token);
    const repo = server.createRepository('bench', manyFiles(FILES, 'files', { size: FILE_BYTES, random: true }));
    const source = (sha: string, repoKey: string): CommitSource => ({
      repoKey,
      url: repo.url,
      auth: { kind: 'https', username: 'x-access-token', password: token },
      sha,
      ref: 'refs/heads/main',
      submodules: false,
    });
    const timed = async (cache: RepositoryCache, s: CommitSource) => {
      const bytesBefore = server.bytesSent();
      const t0 = performance.now();
      const snap = await cache.snapshot(s, MAX_SIZE);
      const ms = performance.now() - t0;
      await snap.dispose();
      return { ms, bytes: server.bytesSent() - bytesBefore, size: snap.size };
    };

    // The warm cache has fetched the repository once, as after the workspace's first run.
    const warmCache = new RepositoryCache(path.join(tmp, 'warm'));
    await timed(warmCache, source(repo.head(), 'bench'));

    const cold = { ms: [] as number[], bytes: [] as number[] };
    const warm = { ms: [] as number[], bytes: [] as number[] };
    let archiveBytes = 0;
    for (let i = 0; i < PUSHES; i++) {
      const sha = repo.commit({ [`files/${i % 10}/file-${String(i).padStart(5, '0')}.txt`]: `push ${i}\n`, 'main.tf': `output "push" { value = ${i} }\n` }, `push ${i}`);
      const w = await timed(warmCache, source(sha, 'bench'));
      warm.ms.push(w.ms);
      warm.bytes.push(w.bytes);
      archiveBytes = w.size;
      const coldCache = new RepositoryCache(path.join(tmp, `cold-${i}`));
      const c = await timed(coldCache, source(sha, 'bench'));
      cold.ms.push(c.ms);
      cold.bytes.push(c.bytes);
      fs.rmSync(path.join(tmp, `cold-${i}`), { recursive: true, force: true });
    }
    const warmSide = side(warm.ms, warm.bytes);
    return {
      name: CLONE_SCENARIO,
      files: FILES,
      pushes: PUSHES,
      archiveBytes,
      cold: side(cold.ms, cold.bytes),
      warm: warmSide,
      target: `warm p50 under ${WARM_TARGET_MS} ms`,
      met: warmSide.p50Ms < WARM_TARGET_MS,
    };
  } finally {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatCloneTable(r: CloneBenchResult): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const row = (label: string, s: CloneSide) => `  ${label.padEnd(5)} p50 ${String(s.p50Ms).padStart(7)} ms  p99 ${String(s.p99Ms).padStart(7)} ms  max ${String(s.maxMs).padStart(7)} ms  fetched (p50) ${kib(s.p50BytesFetched)}`;
  return [
    `${r.name} (${r.pushes} pushes of small changes, archive ${kib(r.archiveBytes)}):`,
    row('cold', r.cold),
    row('warm', r.warm),
    `  target ${r.target}: ${r.met ? 'met' : 'missed'}`,
  ].join('\n');
}
