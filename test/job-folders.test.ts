// Job folders hold a job's token (in a CLI config), its variables and its plan file: none may
// outlive the job. A job removes its folder when it ends, whatever the outcome; an otf-agent or
// otfd killed mid-job (SIGKILL) leaves it behind, and the next start of a runner on that machine
// removes it, without touching the folders of runners still alive.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killLeftoverAgents, startAgent, type AgentProcess } from './helpers/agent.js';
import type { Api, Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { otfdPlace, spawnOtfd, type OtfdPlace } from './helpers/otfd.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';
import { suite } from './hooks.js';
import { JobFolders, sweep } from '../src/agent/jobdirs.js';
import { createLogger } from '../src/logger.js';

/** An apply that writes the sleeper's pid to a file and sleeps: a job the test can catch mid-way. */
function slowApply(pidFile: string, seconds: number): string {
  return fixture('slow-apply', { command: `echo $$ > ${pidFile}; exec sleep ${seconds}` });
}

const QUICK = fixture('quick-apply');

/** The parent of every job folder of this user under `tmp`. */
function jobsParent(tmp: string): string {
  return path.join(tmp, `otf-jobs-${process.getuid!()}`);
}

/** The folder of the runner process `pid` under `tmp` (there must be one). */
function processFolder(tmp: string, kind: string, pid: number): string {
  const names = fs.existsSync(jobsParent(tmp)) ? fs.readdirSync(jobsParent(tmp)).filter((n) => n.startsWith(`${kind}-${pid}-`)) : [];
  assert.equal(names.length, 1, `one folder of ${kind} ${pid} in ${jobsParent(tmp)}: ${names.join(', ')}`);
  return path.join(jobsParent(tmp), names[0]);
}

/** The job folders in a runner's folder. */
function jobFolders(folder: string): string[] {
  return fs.readdirSync(folder).filter((n) => n.startsWith('otf-job-'));
}

function killSleeper(pidFile: string): void {
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // gone already
  }
}

async function waitForStatus(api: Api, runId: string, wanted: string): Promise<Json> {
  return until(`run ${runId} to be ${wanted}`, async () => {
    const r = (await api.get(`/runs/${runId}`)).body.data;
    return r.attributes.status === wanted ? r : null;
  }, (v) => v !== null, 60_000);
}

async function queueRun(api: Api, wsId: string, mainTf: string): Promise<Json> {
  const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
  assert.equal(cv.status, 201, cv.text);
  const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': mainTf }));
  assert.equal(put.status, 200, put.text);
  const run = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
  assert.equal(run.status, 201, run.text);
  return run.body.data;
}

describe('job folders', function () {
  this.timeout(120_000);

  describe('of otf-agent', () => {
    let server: TestServer;
    let api: Api;
    let ws: Json;
    let token: string;
    let tmp: string;

    before(async () => {
      server = await startServer({ ssl: true, config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 3 } });
      api = server.api;
      const org = await createOrganization(api);
      const pool = (await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } })).body.data;
      token = (await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ci' } } })).body.data.attributes.token;
      ws = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'agent', 'agent-pool-id': pool.id });
      // One temporary directory shared by every agent of this test, as on one machine.
      tmp = fs.mkdtempSync(path.join(suite().tmp, 'jobs-'));
    });
    after(async () => {
      await killLeftoverAgents();
      await server.stop();
    });

    async function agent(): Promise<AgentProcess> {
      const proc = startAgent(server, ['--token', token], { TMPDIR: tmp });
      await proc.waitForLog('registered; waiting for jobs');
      return proc;
    }

    it('an agent killed mid-apply leaves its job folder (with the job token) behind; the next agent removes it and spares a live agent\'s folder', async () => {
      const pidFile = path.join(tmp, 'sleeper.pid');
      const doomed = await agent();
      const run = await queueRun(api, ws.id, slowApply(pidFile, 20));
      await waitForStatus(api, run.id, 'applying');
      const doomedFolder = processFolder(tmp, 'otf-agent', doomed.child.pid!);
      const [job] = jobFolders(doomedFolder);
      assert.ok(job, `a job folder in ${doomedFolder}`);
      await until('the sleeper to start', async () => fs.existsSync(pidFile), (v) => v);
      assert.match(fs.readFileSync(path.join(doomedFolder, job, 'cli.tfrc'), 'utf8'), /token = "/, 'the job folder holds the job token');

      // Another agent, alive on the same machine, with a folder of its own.
      const bystander = await agent();
      const bystanderFolder = processFolder(tmp, 'otf-agent', bystander.child.pid!);

      doomed.child.kill('SIGKILL');
      await doomed.exited;
      killSleeper(pidFile);
      assert.ok(fs.existsSync(path.join(doomedFolder, job)), 'a killed agent cannot remove its job folder');

      const next = await agent();
      assert.ok(!fs.existsSync(doomedFolder), `the killed agent's folder ${doomedFolder} is gone`);
      const swept = next.logs().find((l) => l.msg === 'removed the job folders of a process that is gone');
      assert.equal(swept?.folder, doomedFolder, next.describe());
      assert.equal(swept?.jobs, 1);
      assert.deepEqual(jobFolders(bystanderFolder), [], "the live agent's folder stays");
      assert.ok(fs.existsSync(path.join(bystanderFolder, 'owner.json')), "the live agent's folder stays");
      assert.ok(fs.existsSync(processFolder(tmp, 'otf-agent', next.child.pid!)));
      // The killed agent's run ends errored within the grace period and unlocks the workspace.
      await waitForStatus(api, run.id, 'errored');
      bystander.child.kill('SIGTERM');
      assert.deepEqual(await bystander.exited, { code: 0, signal: null }, bystander.describe());
      assert.ok(!fs.existsSync(bystanderFolder), 'an agent that stops removes its folder');
      next.child.kill('SIGTERM');
      await next.exited;
    });

    it('a job removes its folder when it ends, applied or errored, and a stopped agent leaves nothing', async () => {
      const proc = await agent();
      const folder = processFolder(tmp, 'otf-agent', proc.child.pid!);
      const applied = await queueRun(api, ws.id, QUICK);
      await waitForStatus(api, applied.id, 'applied');
      assert.deepEqual(jobFolders(folder), [], 'no job folder after an applied run');

      const broken = await queueRun(api, ws.id, fixture('broken-syntax'));
      await waitForStatus(api, broken.id, 'errored');
      // The agent removes the folder before it reports the outcome.
      assert.deepEqual(jobFolders(folder), [], 'no job folder after an errored run');

      proc.child.kill('SIGTERM');
      assert.deepEqual(await proc.exited, { code: 0, signal: null }, proc.describe());
      assert.deepEqual(fs.readdirSync(jobsParent(tmp)), [], 'nothing is left under the job folders parent');
    });
  });

  describe('the sweep at start', () => {
    const logger = createLogger('silent');

    function leftover(parent: string, name: string, owner?: object): string {
      const dir = path.join(parent, name);
      fs.mkdirSync(path.join(dir, 'otf-job-x'), { recursive: true });
      if (owner) fs.writeFileSync(path.join(dir, 'owner.json'), JSON.stringify(owner));
      return dir;
    }

    it('removes the folders of dead pids and of reused pids, and keeps live ones and what it does not know', () => {
      const tmp = fs.mkdtempSync(path.join(suite().tmp, 'sweep-'));
      const mine = JobFolders.open('otf-agent', logger, tmp);
      const parent = path.dirname(mine.dir);
      assert.equal((fs.statSync(parent).mode & 0o777).toString(8), '700');
      // A pid that no process has: the highest possible one.
      const dead = leftover(parent, 'otf-agent-4194304-aa', { pid: 4194304, started: '1' });
      // This very pid, but started at another time: a restarted container's pid 1, say.
      const reused = leftover(parent, `otfd-${process.pid}-bb`, { pid: process.pid, started: '1' });
      // A live pid with no owner file (being made right now): in doubt, alive.
      const unsure = leftover(parent, `otfd-${process.pid}-cc`);
      const unknown = leftover(parent, 'something-else');
      assert.equal(sweep(parent, logger), 2);
      assert.ok(!fs.existsSync(dead) && !fs.existsSync(reused));
      assert.ok(fs.existsSync(unsure) && fs.existsSync(unknown) && fs.existsSync(mine.dir));
      mine.close();
      assert.ok(!fs.existsSync(mine.dir));
    });

    it('refuses a parent that another user could write to', () => {
      const tmp = fs.mkdtempSync(path.join(suite().tmp, 'sweep-'));
      fs.mkdirSync(jobsParent(tmp), { mode: 0o777 });
      fs.chmodSync(jobsParent(tmp), 0o777);
      assert.throws(() => JobFolders.open('otfd', logger, tmp), /only it can write to; remove it or set TMPDIR/);
    });
  });

  describe('of otfd', () => {
    const children: ChildProcess[] = [];
    after(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });

    /** A real otfd; `ready` resolves once it has started whole (and so handles SIGTERM): it answers ping a little earlier. */
    function otfd(place: OtfdPlace, tmp: string): { child: ChildProcess; exited: Promise<unknown>; ready: Promise<void> } {
      const started = spawnOtfd([...place.args, '--concurrency', '1', '--log-level', 'info'], { TMPDIR: tmp });
      children.push(started.child);
      return { child: started.child, exited: started.exited, ready: started.printed('otfd is listening on') };
    }

    it('an otfd killed mid-apply leaves its job folder behind; the next otfd removes it at start', async () => {
      const place = await otfdPlace('otfd-');
      const tmp = fs.mkdtempSync(path.join(suite().tmp, 'jobs-'));
      const pidFile = path.join(tmp, 'sleeper.pid');
      const api = place.api;

      const first = otfd(place, tmp);
      await first.ready;
      assert.equal((await api.post('/organizations', { data: { type: 'organizations', attributes: { name: 'acme', email: 'a@example.com' } } })).status, 201);
      const ws = (await api.post('/organizations/acme/workspaces', { data: { type: 'workspaces', attributes: { name: 'app' } } })).body.data;
      const run = await queueRun(api, ws.id, slowApply(pidFile, 20));
      await waitForStatus(api, run.id, 'applying');
      const folder = processFolder(tmp, 'otfd', first.child.pid!);
      const [job] = jobFolders(folder);
      assert.ok(job, `a job folder in ${folder}`);
      await until('the sleeper to start', async () => fs.existsSync(pidFile), (v) => v);
      first.child.kill('SIGKILL');
      await first.exited;
      killSleeper(pidFile);
      assert.ok(fs.existsSync(path.join(folder, job, 'cli.tfrc')), 'a killed otfd cannot remove its job folder');

      const second = otfd(place, tmp);
      await second.ready;
      assert.ok(!fs.existsSync(folder), `the killed otfd's folder ${folder} is gone`);
      const own = processFolder(tmp, 'otfd', second.child.pid!);
      assert.deepEqual(jobFolders(own), []);
      second.child.kill('SIGTERM');
      await second.exited;
      assert.ok(!fs.existsSync(own), 'an otfd that stops removes its folder');
    });
  });
});
