// GET /workspaces/:id/resources (TFC's Workspace Resources API): the resource instances of a
// workspace's current state, after real applies by otfd's server agent with the terraform on PATH
// (counted, keyed, single and module resources), after states pushed through the API (as go-tfe's
// test does), for a state made current before otfd listed resources, and for a large state.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep } from './helpers/wait.js';

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const BUILTIN = 'terraform.io/builtin/terraform';

describe('workspace resources', function () {
  this.timeout(120_000);
  let server: TestServer;
  let admin: Api;
  let org: string;

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(() => server.stop());

  /** Applies the configuration in the workspace through a run that auto-applies; returns the new current state version's id. */
  async function apply(wsId: string, files: Record<string, string>): Promise<string> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball(files)), 200);
    const run = await admin.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assertStatus(run, 201);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status: string = (await admin.get(`/runs/${run.body.data.id}`)).body.data.attributes.status;
      if (status === 'applied') break;
      if (FINAL.includes(status) || Date.now() > deadline) assert.fail(`run ${run.body.data.id} is ${status}, expected applied`);
      await sleep(100);
    }
    const current = await admin.get(`/workspaces/${wsId}/current-state-version`);
    assertStatus(current, 200);
    return current.body.data.id;
  }

  /** Pushes a state file as go-tfe's tests do: lock, create the version with the state inline, unlock. */
  async function pushState(wsId: string, state: Json): Promise<string> {
    const content = JSON.stringify(state);
    assertStatus(await admin.post(`/workspaces/${wsId}/actions/lock`, { data: { type: 'workspaces', attributes: {} } }), 200);
    const created = await admin.post(`/workspaces/${wsId}/state-versions`, {
      data: {
        type: 'state-versions',
        attributes: { serial: state.serial, lineage: state.lineage, md5: crypto.createHash('md5').update(content).digest('hex'), state: Buffer.from(content).toString('base64') },
      },
    });
    assertStatus(created, 201);
    assertStatus(await admin.post(`/workspaces/${wsId}/actions/unlock`), 200);
    return created.body.data.id;
  }

  async function resources(wsId: string, query = '', client: Api = admin): Promise<Json> {
    const res = await client.get(`/workspaces/${wsId}/resources${query}`);
    assertStatus(res, 200);
    return res.body;
  }

  function byAddress(list: Json[]): Map<string, Json> {
    return new Map(list.map((r) => [r.attributes.address, r]));
  }

  it('lists every instance of an applied configuration with its address, module, provider and name-index, and pages them', async () => {
    const ws = await createWorkspace(admin, org);
    const sv = await apply(ws.id, fixtureFiles('counted-resources-and-module', { count: 2, single: 'one' }));
    const doc = await resources(ws.id);
    assert.equal(doc.meta.pagination['total-count'], 6);
    const listed = byAddress(doc.data);
    const expected: Array<[string, string, string, string | null]> = [
      ['terraform_data.counted[0]', 'counted', 'root', '0'],
      ['terraform_data.counted[1]', 'counted', 'root', '1'],
      ['terraform_data.keyed["blue"]', 'keyed', 'root', 'blue'],
      ['terraform_data.keyed["green"]', 'keyed', 'root', 'green'],
      ['terraform_data.single', 'single', 'root', null],
      ['module.child.terraform_data.inner', 'inner', 'module.child', null],
    ];
    assert.deepEqual([...listed.keys()].sort(), expected.map((e) => e[0]).sort());
    for (const [address, name, module, nameIndex] of expected) {
      const r = listed.get(address)!;
      assert.equal(r.type, 'resources');
      assert.match(r.id, /^wsr-/);
      assert.deepEqual(
        { ...r.attributes, 'created-at': undefined, 'updated-at': undefined },
        {
          address,
          name,
          module,
          provider: BUILTIN,
          'provider-type': 'terraform_data',
          'modified-by-state-version-id': sv,
          'name-index': nameIndex,
          'created-at': undefined,
          'updated-at': undefined,
        },
      );
      assert.match(r.attributes['created-at'], ISO_UTC);
      assert.equal(r.attributes['updated-at'], r.attributes['created-at']);
    }

    // Pages in a stable order, as go-tfe's ListOptions ask for them.
    const first = await resources(ws.id, '?page[size]=4');
    const second = await resources(ws.id, '?page[size]=4&page[number]=2');
    assert.equal(first.data.length, 4);
    assert.equal(second.data.length, 2);
    assert.deepEqual([...first.data, ...second.data].map((r: Json) => r.id), doc.data.map((r: Json) => r.id));
    assert.equal(second.meta.pagination['current-page'], 2);
    const beyond = await resources(ws.id, '?page[number]=999&page[size]=100');
    assert.deepEqual(beyond.data, []);
    assert.equal(beyond.meta.pagination['current-page'], 999);
    assert.equal(beyond.meta.pagination['total-count'], 6);
  });

  it('keeps what did not change across applies: an added or modified instance names the new version, the others keep theirs', async () => {
    const ws = await createWorkspace(admin, org);
    const first = await apply(ws.id, fixtureFiles('counted-resources-and-module', { count: 2, single: 'one' }));
    const before = byAddress((await resources(ws.id)).data);
    const second = await apply(ws.id, fixtureFiles('counted-resources-and-module', { count: 3, single: 'two' }));
    assert.notEqual(first, second);
    const after = byAddress((await resources(ws.id)).data);
    assert.equal(after.size, 7);
    for (const address of ['terraform_data.counted[0]', 'terraform_data.counted[1]', 'terraform_data.keyed["blue"]', 'module.child.terraform_data.inner']) {
      assert.deepEqual(after.get(address), before.get(address), `${address} did not change`);
    }
    const added = after.get('terraform_data.counted[2]')!;
    assert.equal(added.attributes['modified-by-state-version-id'], second);
    assert.equal(added.attributes['name-index'], '2');
    const modified = after.get('terraform_data.single')!;
    const was = before.get('terraform_data.single')!;
    assert.equal(modified.id, was.id, 'the same resource, changed');
    assert.equal(modified.attributes['modified-by-state-version-id'], second);
    assert.equal(modified.attributes['created-at'], was.attributes['created-at']);
    assert.ok(Date.parse(modified.attributes['updated-at']) > Date.parse(was.attributes['updated-at']));

    // A resource removed from the configuration is gone from the list.
    const third = await apply(ws.id, fixtureFiles('counted-resources-and-module', { count: 1, single: 'two' }));
    const last = byAddress((await resources(ws.id)).data);
    assert.equal(last.size, 5);
    assert.ok(!last.has('terraform_data.counted[1]') && !last.has('terraform_data.counted[2]'));
    assert.equal(last.get('terraform_data.counted[0]')!.attributes['modified-by-state-version-id'], first);
    assert.notEqual(third, second);
  });

  it('reads pushed states as go-tfe does: 0.12 provider names, no data sources, no deposed objects; an empty workspace has none', async () => {
    const ws = await createWorkspace(admin, org);
    const empty = await resources(ws.id);
    assert.deepEqual(empty.data, []);
    assert.equal(empty.meta.pagination['total-count'], 0);
    const sv = await pushState(ws.id, {
      version: 4,
      terraform_version: '0.12.29',
      serial: 2,
      lineage: crypto.randomUUID(),
      outputs: {},
      resources: [
        { mode: 'managed', type: 'null_resource', name: 'test', provider: 'provider.null', instances: [{ schema_version: 0, attributes: { id: '1' } }] },
        { mode: 'data', type: 'null_data_source', name: 'read', provider: 'provider.null', instances: [{ attributes: {} }] },
        {
          module: 'module.net',
          mode: 'managed',
          type: 'aws_instance',
          name: 'web',
          provider: 'provider["registry.terraform.io/hashicorp/aws"].west',
          instances: [
            { index_key: 'a', attributes: {} },
            { index_key: 'a', deposed: '00000001', attributes: {} },
          ],
        },
      ],
    });
    const doc = await resources(ws.id);
    assert.deepEqual(
      doc.data.map((r: Json) => [r.attributes.address, r.attributes.name, r.attributes.module, r.attributes.provider, r.attributes['provider-type'], r.attributes['name-index']]),
      [
        ['null_resource.test', 'test', 'root', 'null', 'null_resource', null],
        ['module.net.aws_instance.web["a"]', 'web', 'module.net', 'hashicorp/aws', 'aws_instance', 'a'],
      ],
    );
    assert.ok(doc.data.every((r: Json) => r.attributes['modified-by-state-version-id'] === sv));
  });

  it('lists the resources of a state made current before otfd listed them, reading its file once', async () => {
    const ws = await createWorkspace(admin, org);
    const sv = await apply(ws.id, fixtureFiles('counted-resources-and-module', { count: 2, single: 'one' }));
    const listed = (await resources(ws.id)).data.map((r: Json) => r.attributes.address).sort();
    // As an otfd from before this feature left it: the state, and no resources recorded.
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      await db.query('DELETE FROM workspace_resources WHERE workspace_id = $1', [ws.id]);
      await db.query('DELETE FROM workspace_resource_sources WHERE workspace_id = $1', [ws.id]);
      const doc = await resources(ws.id);
      assert.deepEqual(doc.data.map((r: Json) => r.attributes.address).sort(), listed);
      assert.ok(doc.data.every((r: Json) => r.attributes['modified-by-state-version-id'] === sv));
      const source = await db.query('SELECT state_version_id, resource_count FROM workspace_resource_sources WHERE workspace_id = $1', [ws.id]);
      assert.deepEqual(source.rows, [{ state_version_id: sv, resource_count: 6 }]);
    } finally {
      await db.end();
    }
  });

  it('answers a page of a 20,000-instance state from what was stored, in order', async () => {
    const ws = await createWorkspace(admin, org);
    const resourcesOf = Array.from({ length: 200 }, (_, r) => ({
      mode: 'managed',
      type: 'terraform_data',
      name: `r${String(r).padStart(3, '0')}`,
      provider: `provider["${BUILTIN}"]`,
      instances: Array.from({ length: 100 }, (_, i) => ({ index_key: i, schema_version: 0, attributes: { id: `${r}-${i}`, input: { value: 'x'.repeat(50), type: 'string' } } })),
    }));
    await pushState(ws.id, { version: 4, terraform_version: '1.11.4', serial: 1, lineage: crypto.randomUUID(), outputs: {}, resources: resourcesOf });
    const started = Date.now();
    const page = await resources(ws.id, '?page[size]=100&page[number]=151');
    const took = Date.now() - started;
    assert.equal(page.meta.pagination['total-count'], 20_000);
    assert.equal(page.data.length, 100);
    assert.equal(page.data[0].attributes.address, 'terraform_data.r150[0]');
    assert.equal(page.data[99].attributes.address, 'terraform_data.r150[99]');
    assert.ok(took < 5_000, `a page took ${took} ms`);
  });

  it('shows them to whoever may read the state, and to nobody of another organization (404); bad pages are refused', async () => {
    const ws = await createWorkspace(admin, org);
    await pushState(ws.id, {
      version: 4,
      serial: 1,
      lineage: crypto.randomUUID(),
      resources: [{ mode: 'managed', type: 'terraform_data', name: 'x', provider: `provider["${BUILTIN}"]`, instances: [{ attributes: {} }] }],
    });
    const reader = await userWithAccess(admin, org, [ws.id], 'read');
    assert.equal((await resources(ws.id, '', reader.client)).data.length, 1);
    const elsewhere = await createWorkspace(admin, org);
    const unrelated = await userWithAccess(admin, org, [elsewhere.id], 'admin');
    assertError(await unrelated.client.get(`/workspaces/${ws.id}/resources`), 404, /not found/);
    const otherOrg = await createOrganization(admin);
    const stranger = await userWithAccess(admin, otherOrg, [(await createWorkspace(admin, otherOrg)).id], 'admin');
    assertError(await stranger.client.get(`/workspaces/${ws.id}/resources`), 404, /not found/);
    assertError(await admin.get('/workspaces/ws-doesnotexist/resources'), 404, /not found/);
    assertError(await admin.get(`/workspaces/${ws.id}/resources?page[size]=-1`), 400, /page\[size\]/, { parameter: 'page[size]' });
    assertError(await admin.get(`/workspaces/${ws.id}/resources?page[number]=0`), 400, /page\[number\]/, { parameter: 'page[number]' });
  });
});
