// Everything a VCS-driven run takes, real, for the end-to-end tests: otfd (with its server agent
// running terraform), repositories served by Git's own `git http-backend`, and the providers' REST
// stand-in that otfd makes its webhooks at. Workspaces are connected through the API as a user
// would (an oauth client with an access token, then vcs-repo), and deliveries are POSTed to the
// webhook URL the stand-in recorded, exactly as the provider would send them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { suite } from '../hooks.js';
import type { HookKind } from '../../src/vcs/types.js';
import type { Api, Json } from './api.js';
import { assertStatus } from './assert.js';
import type { Delivery } from './deliveries.js';
import { startGitHttpServer, type GitHttpServer, type TestRepository } from './git-http-server.js';
import { startProviderApi, type ProviderApi, type RecordedHook } from './provider-api.js';
import { createOrganization, randomName, startServer, type TestServer } from './server.js';
import { sleep } from './wait.js';

/** The service-provider an oauth client of each webhook dialect is made with. */
const SERVICE_PROVIDER: Record<HookKind, string> = { github: 'github', gitlab: 'gitlab_hosted', forgejo: 'forgejo' };

/** The user name each provider's adapter clones with (see src/vcs/providers/). */
const CLONE_USER: Record<HookKind, string> = { github: 'x-access-token', gitlab: 'oauth2', forgejo: 'oauth2' };

export const FINAL_RUN_STATUSES = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

export interface Connected {
  kind: HookKind;
  repo: TestRepository;
  identifier: string;
  workspace: Json;
  oauthTokenId: string;
  /** The provider's access token the oauth client was given (also the git server's credential). */
  token: string;
  hook: RecordedHook;
}

export interface Answer {
  status: number;
  text: string;
  body: Json;
}

export interface VcsWorld {
  server: TestServer;
  api: Api;
  org: string;
  git: GitHttpServer;
  provider: ProviderApi;
  /** otfd's log so far, as text. */
  log(): string;
  /**
   * A served repository with `files` on main, an oauth client for `kind` with a fresh token, and a
   * workspace connected to it with `attributes` (vcs-repo's own in `vcsRepo`).
   */
  connect(
    kind: HookKind,
    files: Record<string, string>,
    opts?: {
      attributes?: Record<string, unknown>;
      vcsRepo?: Record<string, unknown>;
      as?: (workspaceId: string) => Promise<Api>;
      /** The clone URL the provider gives instead of the HTTP one (e.g. an ssh:// URL). */
      cloneUrl?: (repo: TestRepository) => string;
    },
  ): Promise<Connected>;
  /** POSTs a delivery to a webhook URL as the provider would: exactly its headers and body. */
  deliver(url: string, delivery: Pick<Delivery, 'headers' | 'body'>): Promise<Answer>;
  /** The workspace's runs, newest first. */
  runs(workspaceId: string): Promise<Json[]>;
  /** Waits until the workspace has `count` runs, and returns the newest. */
  newRun(workspaceId: string, count: number): Promise<Json>;
  /** Waits until the run has ended, and returns it. */
  ended(runId: string, timeoutMs?: number): Promise<Json>;
  /** The plan's (or apply's) log as the CLI reads it. */
  phaseLog(run: Json, phase: 'plan' | 'apply'): Promise<string>;
  stop(): Promise<void>;
}

/** POST with exactly these headers (no defaults added), over HTTP or HTTPS with the suite's CA. */
export function rawPost(url: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const ca = u.protocol === 'https:' ? fs.readFileSync(suite().certFile) : undefined;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Json;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed });
      });
      res.on('error', reject);
    });
    // otfd may answer (413) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(body);
  });
}

export async function startVcsWorld(config: Record<string, unknown> = {}): Promise<VcsWorld> {
  let text = '';
  const { createLogger } = await import('../../src/logger.js');
  const logger = createLogger('debug', 'otfd', { write: (line: string) => void (text += line) });
  const git = await startGitHttpServer();
  const provider = await startProviderApi();
  const server = await startServer({ ssl: true, config: { concurrency: 2, ...config }, logger });
  const api = server.api;
  const org = await createOrganization(api);

  const world: VcsWorld = {
    server,
    api,
    org,
    git,
    provider,
    log: () => text,
    async connect(kind, files, opts = {}) {
      const name = randomName('repo');
      const repo = git.createRepository(name, files);
      const identifier = kind === 'gitlab' ? `group/sub/${name}` : `acme/${name}`;
      const token = `tok-${crypto.randomBytes(12).toString('hex')}`;
      provider.addToken(token);
      git.addCredentials(CLONE_USER[kind], token);
      provider.addRepository({ identifier, defaultBranch: 'main', cloneUrl: opts.cloneUrl?.(repo) ?? repo.url, webUrl: `https://vcs.example.test/${identifier}`, gitDir: repo.bare });
      const client = await api.post(`/organizations/${org}/oauth-clients`, {
        data: {
          type: 'oauth-clients',
          attributes: { 'service-provider': SERVICE_PROVIDER[kind], 'api-url': provider.apiUrl(kind), 'http-url': 'https://vcs.example.test', 'oauth-token-string': token },
        },
      });
      assertStatus(client, 201);
      const oauthTokenId: string = client.body.data.relationships['oauth-tokens'].data[0].id;
      const vcsRepo = { identifier, 'oauth-token-id': oauthTokenId, ...opts.vcsRepo };
      let ws = await api.post(`/organizations/${org}/workspaces`, {
        data: { type: 'workspaces', attributes: { name: randomName('ws'), 'auto-apply': true, ...opts.attributes, ...(opts.as ? {} : { 'vcs-repo': vcsRepo }) } },
      });
      assertStatus(ws, 201);
      if (opts.as) {
        // Connected by somebody else: the workspace's runs from VCS events act with their rights.
        const as = await opts.as(ws.body.data.id);
        ws = await as.patch(`/workspaces/${ws.body.data.id}`, { data: { type: 'workspaces', attributes: { 'vcs-repo': vcsRepo } } });
        assertStatus(ws, 200);
      }
      const hooks = provider.hooks(identifier);
      assert.equal(hooks.length, 1, `one webhook for ${identifier}`);
      return { kind, repo, identifier, workspace: ws.body.data, oauthTokenId, token, hook: hooks[0] };
    },
    deliver: (url, d) => rawPost(url, d.headers, d.body),
    async runs(workspaceId) {
      const res = await api.get(`/workspaces/${workspaceId}/runs`);
      assertStatus(res, 200);
      return res.body.data;
    },
    async newRun(workspaceId, count) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const list = await world.runs(workspaceId);
        if (list.length >= count) return list[0];
        if (Date.now() > deadline) assert.fail(`workspace ${workspaceId} has ${list.length} runs, not ${count}\n${text.slice(-4000)}`);
        await sleep(100);
      }
    },
    async ended(runId, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = (await api.get(`/runs/${runId}`)).body.data;
        if (FINAL_RUN_STATUSES.includes(run.attributes.status)) return run;
        if (Date.now() > deadline) assert.fail(`run ${runId} is still ${run.attributes.status}`);
        await sleep(200);
      }
    },
    async phaseLog(run, phase) {
      const res = await api.get(`/runs/${run.id}/${phase}`);
      assertStatus(res, 200);
      const url: string = res.body.data.attributes['log-read-url'];
      const log = await api.request('GET', url, { token: null });
      assertStatus(log, 200);
      return log.text;
    },
    async stop() {
      await server.stop();
      await provider.stop();
      await git.stop();
    },
  };
  return world;
}

/** A git HTTP server in front of another that can leave fetches hanging (a repository host gone slow). */
export interface StallingGitProxy {
  /** A repository's URL through the proxy. */
  url(repo: TestRepository): string;
  /** While true, every fetch of objects is left without an answer (listing refs still answers). */
  stall: boolean;
  /** Fetches left hanging so far. */
  stalled: number;
  /** Hangs up on the fetches left hanging, and closes. */
  stop(): Promise<void>;
}

/** Forwards every request to the git server `target` (an origin), except fetches while `stall` is set. */
export async function startStallingGitProxy(target: string): Promise<StallingGitProxy> {
  const held = new Set<http.ServerResponse>();
  const proxy: StallingGitProxy = {
    stall: false,
    stalled: 0,
    url: (repo) => {
      const u = new URL(repo.url);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    },
    async stop() {
      for (const res of held) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const plain = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body;
      // Protocol v2's fetch command, or v0's wants: the part that moves objects.
      if (proxy.stall && req.method === 'POST' && /command=fetch|want [0-9a-f]{40}/.test(plain.toString('latin1'))) {
        proxy.stalled++;
        held.add(res);
        return;
      }
      const out = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return proxy;
}
