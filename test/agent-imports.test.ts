// otf-agent is installed inside users' networks and must stay a small program: it loads nothing
// of the server, above all not the database layer (knex, pg). Watched two ways: the modules a real
// otf-agent process loads (printing its help, and taking a whole run from a real otfd), recorded
// by a module hook; and the lint rule that keeps src/agent/ from importing the server, shown to
// fail on a deliberate violation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import type { Api } from './helpers/api.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';
import { suite } from './hooks.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OTF_AGENT = path.join(ROOT, 'bin/otf-agent');

/**
 * Preloaded with --import: records every module the process loads, ES modules as the loader
 * resolves them (a hook on the loader's thread) and CommonJS ones from require's cache when the
 * process exits, one URL or path a line in $OTF_MODULE_LOG.
 */
const RECORDER = `
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
const log = process.env.OTF_MODULE_LOG;
register(new URL('./resolve-hook.mjs', import.meta.url), { data: { log } });
const require = createRequire(import.meta.url);
process.on('exit', () => fs.appendFileSync(log, Object.keys(require.cache).join('\\n') + '\\n'));
`;
const RESOLVE_HOOK = `
import fs from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  fs.appendFileSync(log, resolved.url + '\\n');
  return resolved;
}
`;

/** A loaded module that belongs to the database layer: knex, pg (and pg-*), or otfd's db/. */
function databaseModules(loaded: string[]): string[] {
  return loaded.filter((m) => /node_modules\/(knex|pg|pg-[a-z-]+)\//.test(m) || /\/dist\/src\/(db|pools|jobs|runs)\//.test(m));
}

describe('otf-agent loads nothing of the server', function () {
  this.timeout(120_000);
  let dir: string;
  let recorder: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(suite().tmp, 'imports-'));
    recorder = path.join(dir, 'record-modules.mjs');
    fs.writeFileSync(recorder, RECORDER);
    fs.writeFileSync(path.join(dir, 'resolve-hook.mjs'), RESOLVE_HOOK);
  });

  /** The environment that makes a node process record its modules in `log`. */
  function recording(log: string): Record<string, string> {
    return { NODE_OPTIONS: `--import=${pathToFileURL(recorder).href}`, OTF_MODULE_LOG: log };
  }

  function loaded(log: string): string[] {
    return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  }

  it('otf-agent --help prints its flags without loading knex or pg', () => {
    const log = path.join(dir, 'help.log');
    const res = spawnSync(process.execPath, [OTF_AGENT, '--help'], { env: { ...process.env, ...recording(log) }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /--token/);
    const modules = loaded(log);
    // The recorder saw the agent itself: an empty log would prove nothing.
    assert.ok(modules.some((m) => m.endsWith('/dist/src/agent/config.js')), `the recorder saw no agent module:\n${modules.join('\n')}`);
    assert.deepEqual(databaseModules(modules), []);
  });

  describe('a whole run on a real otf-agent taking its jobs from a real otfd', () => {
    let server: TestServer;
    let api: Api;

    before(async () => {
      server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 4 } });
      api = server.api;
    });
    after(() => server.stop());
    afterEach(() => killLeftoverAgents());

    it('plans, applies and saves the state without the agent ever loading knex or pg', async () => {
      const org = await createOrganization(api);
      const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
      assert.equal(pool.status, 201, pool.text);
      const token = await api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: {} } });
      assert.equal(token.status, 201, token.text);
      const ws = await createWorkspace(api, org);
      const assigned = await api.patch(`/workspaces/${ws.id}`, {
        data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } },
      });
      assert.equal(assigned.status, 200, assigned.text);
      const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      assert.equal(cv.status, 201, cv.text);
      const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': 'resource "terraform_data" "x" {\n  input = "hello"\n}\n' }));
      assert.equal(put.status, 200, put.text);

      const log = path.join(dir, 'run.log');
      const agent = startAgent(server, ['--token', token.body.data.attributes.token], recording(log));
      await agent.waitForLog('registered; waiting for jobs');
      const run = await api.post('/runs', {
        data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } },
      });
      assert.equal(run.status, 201, run.text);
      const ended = await until(
        `run ${run.body.data.id} to end`,
        async () => (await api.get(`/runs/${run.body.data.id}`)).body.data.attributes.status as string,
        (s) => ['applied', 'errored', 'canceled', 'planned_and_finished'].includes(s),
        90_000,
      );
      assert.equal(ended, 'applied', agent.describe());
      const state = await api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(state.status, 200, state.text);
      await agent.waitForLog((l) => l.msg === 'job finished' && l.phase === 'apply');

      agent.child.kill('SIGTERM');
      assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.describe());
      const modules = loaded(log);
      // The agent ran its jobs with the runner core, and the recorder saw it do so.
      assert.ok(modules.some((m) => m.endsWith('/dist/src/agent/runner.js')), `the recorder saw no runner:\n${modules.join('\n')}`);
      assert.deepEqual(databaseModules(modules), []);
    });
  });

  describe('the lint rule on src/agent/', () => {
    const eslint = new ESLint({ cwd: ROOT });

    async function lint(filePath: string, text: string): Promise<string[]> {
      const [result] = await eslint.lintText(text, { filePath });
      return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
    }

    it('refuses an agent file importing the database layer, knex, or otfd configuration', async () => {
      const db = await lint('src/agent/x.ts', "import { openDatabase } from '../db/index.js';\nexport const open = openDatabase;\n");
      assert.equal(db.length, 1, db.join('\n'));
      assert.match(db[0], /^no-restricted-imports: '\.\.\/db\/index\.js' import is restricted.*imports nothing of the server/);
      const knex = await lint('src/agent/x.ts', "import type { Knex } from 'knex';\nexport type K = Knex;\n");
      assert.match(knex.join('\n'), /no-restricted-imports: 'knex' import is restricted/);
      const jobs = await lint('src/cli/otf-agent.ts', "import { JOBS_CHANNEL } from '../jobs/index.js';\nexport const c = JOBS_CHANNEL;\n");
      assert.match(jobs.join('\n'), /no-restricted-imports: '\.\.\/jobs\/index\.js' import is restricted/);
    });

    it('lets the agent import its own modules and the shared protocol, and the server import the database', async () => {
      assert.deepEqual(await lint('src/agent/x.ts', "import { AGENT_NAME } from '../protocol/agent.js';\nimport { HttpClient } from './client.js';\nexport const x = [AGENT_NAME, HttpClient];\n"), []);
      assert.deepEqual(await lint('src/jobs/x.ts', "import { openDatabase } from '../db/index.js';\nexport const open = openDatabase;\n"), []);
    });
  });
});
