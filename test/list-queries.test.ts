// Lists cost a fixed, small number of SQL statements whatever their page size: a page of 100
// workspaces, runs, state versions or variables, with every include= they offer, is read in as
// many statements as a page of 2. Counted with knex's `query` event on the server's own database.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Json } from './helpers/api.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';

/** The most statements one list request may take (authorization, the page, the includes). */
const MAX_QUERIES = 8;
const PAGE = 100;

describe('list queries', function () {
  this.timeout(300_000);
  let server: TestServer;
  let org: string;
  let runsWorkspace: string;
  let stateWorkspace: string;

  before(async () => {
    server = await startServer();
    const { api } = server;
    org = await createOrganization(api);
    const project = await api.post(`/organizations/${org}/projects`, { data: { type: 'projects', attributes: { name: 'second' } } });
    assert.equal(project.status, 201, project.text);

    const ok = (res: { status: number; text: string }, status: number) => assert.equal(res.status, status, res.text);
    const upload = async (wsId: string) => {
      const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      ok(cv, 201);
      ok(await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': 'output "x" { value = 1 }\n' })), 200);
    };
    const pushState = async (wsId: string, serial: number, lineage: string) => {
      const state = Buffer.from(JSON.stringify({ version: 4, terraform_version: '1.6.0', serial, lineage, outputs: { n: { value: serial, type: 'number' } }, resources: [] }));
      const md5 = crypto.createHash('md5').update(state).digest('hex');
      ok(await api.post(`/workspaces/${wsId}/state-versions`, { data: { type: 'state-versions', attributes: { serial, lineage, md5, state: state.toString('base64') } } }), 201);
    };
    const queueRun = async (wsId: string) =>
      ok(await api.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } }), 201);

    // One workspace with PAGE runs and PAGE variables (its runs first: the organization's newest
    // runs are then those of the workspaces below, one each), one with PAGE state versions.
    runsWorkspace = (await createWorkspace(api, org, 'many-runs')).id;
    await upload(runsWorkspace);
    for (let i = 0; i < PAGE; i++) await queueRun(runsWorkspace);
    for (let i = 0; i < PAGE; i++) {
      ok(await api.post(`/workspaces/${runsWorkspace}/vars`, { data: { type: 'vars', attributes: { key: `v${i}`, value: 'x', category: i % 2 ? 'env' : 'terraform' } } }), 201);
    }
    // PAGE workspaces in two projects, each with a tag, a configuration, a state and a run that holds its lock.
    for (let i = 0; i < PAGE; i++) {
      const ws = await createWorkspace(api, org, `ws-${String(i).padStart(3, '0')}`, { 'tag-names': [`t${i % 3}`] });
      if (i % 2) ok(await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', relationships: { project: { data: { type: 'projects', id: project.body.data.id } } } } }), 200);
      await upload(ws.id);
      ok(await api.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
      await pushState(ws.id, 1, crypto.randomUUID());
      ok(await api.post(`/workspaces/${ws.id}/actions/unlock`), 200);
      await queueRun(ws.id);
    }

    stateWorkspace = (await createWorkspace(api, org, 'many-states')).id;
    ok(await api.post(`/workspaces/${stateWorkspace}/actions/lock`, {}), 200);
    const lineage = crypto.randomUUID();
    for (let serial = 1; serial <= PAGE; serial++) await pushState(stateWorkspace, serial, lineage);
  });
  after(() => server?.stop());

  /** The statements the server runs while answering GET path, and what it answered. */
  async function once(path: string): Promise<{ queries: string[]; data: Json[]; included: Json[] }> {
    const queries: string[] = [];
    const listener = (q: { sql: string }) => queries.push(q.sql);
    server.otfd.db.on('query', listener);
    try {
      const res = await server.api.get(path);
      assert.equal(res.status, 200, res.text);
      return { queries, data: res.body.data as Json[], included: (res.body.included ?? []) as Json[] };
    } finally {
      server.otfd.db.off('query', listener);
    }
  }

  /**
   * As once, the fewest statements of three tries: the server's own timers (agent and job
   * reapers) run statements of their own now and then, which a single try may catch.
   */
  async function counted(path: string): Promise<{ queries: string[]; data: Json[]; included: Json[] }> {
    let best = await once(path);
    for (let i = 0; i < 2; i++) {
      const next = await once(path);
      if (next.queries.length < best.queries.length) best = next;
    }
    return best;
  }

  /** Lists path with page[size]=2 and =100: as many statements for both, and no more than MAX_QUERIES. */
  async function assertFixedQueries(path: string, expected: number): Promise<Json[]> {
    const sep = path.includes('?') ? '&' : '?';
    const small = await counted(`${path}${sep}page[size]=2`);
    const full = await counted(`${path}${sep}page[size]=${PAGE}`);
    assert.equal(full.data.length, expected, `${path}: ${full.data.length} resources`);
    assert.ok(full.queries.length <= MAX_QUERIES, `${path}: ${full.queries.length} statements for a page of ${PAGE}:\n${full.queries.join('\n')}`);
    assert.equal(full.queries.length, small.queries.length, `${path}: ${small.queries.length} statements for 2, ${full.queries.length} for ${PAGE}:\n${full.queries.join('\n')}`);
    return full.included;
  }

  it('lists a page of 100 workspaces in a fixed number of statements', async () => {
    await assertFixedQueries(`/organizations/${org}/workspaces?search[name]=ws-`, PAGE);
  });

  it('lists a page of 100 workspaces with every include= in a fixed number of statements', async () => {
    const include = 'organization,project,latest_run,current_run,current_state_version,current_configuration_version';
    const included = await assertFixedQueries(`/organizations/${org}/workspaces?search[name]=ws-&include=${include}`, PAGE);
    const count = (type: string) => included.filter((r) => r.type === type).length;
    assert.equal(count('organizations'), 1);
    assert.equal(count('projects'), 2);
    assert.equal(count('runs'), PAGE, 'the latest run of each workspace is the one holding its lock: included once');
    assert.equal(count('state-versions'), PAGE);
    assert.equal(count('configuration-versions'), PAGE);
  });

  it("lists a page of 100 of a workspace's runs, with their includes, in a fixed number of statements", async () => {
    await assertFixedQueries(`/workspaces/${runsWorkspace}/runs`, PAGE);
    const included = await assertFixedQueries(`/workspaces/${runsWorkspace}/runs?include=workspace,configuration_version,plan,apply`, PAGE);
    assert.equal(included.filter((r) => r.type === 'workspaces').length, 1);
    assert.equal(included.filter((r) => r.type === 'plans').length, PAGE);
  });

  it("lists a page of 100 of an organization's runs across 100 workspaces in a fixed number of statements", async () => {
    const included = await assertFixedQueries(`/organizations/${org}/runs?include=workspace,configuration_version`, PAGE);
    assert.ok(included.filter((r) => r.type === 'workspaces').length > 1);
  });

  it('lists a page of 100 state versions in a fixed number of statements', async () => {
    await assertFixedQueries(`/workspaces/${stateWorkspace}/state-versions`, PAGE);
  });

  it('lists 100 variables in a fixed number of statements', async () => {
    const { queries, data } = await counted(`/workspaces/${runsWorkspace}/vars`);
    assert.equal(data.length, PAGE);
    assert.ok(queries.length <= MAX_QUERIES, queries.join('\n'));
  });
});
