// The workspace API as a client sees it over HTTP: creating, showing, updating and deleting
// workspaces by id and by name, what an organization token may see, listing with pagination,
// search, filters, sorting and include=, locks, safe-delete, tags and tag bindings.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { organizationToken } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function workspaceDoc(attributes: Record<string, unknown>, relationships?: Record<string, unknown>): Json {
  return { data: { type: 'workspaces', attributes, ...(relationships ? { relationships } : {}) } };
}

async function defaultProjectId(api: Api, org: string): Promise<string> {
  const res = await api.get(`/organizations/${org}/projects`);
  assert.equal(res.status, 200, res.text);
  const project = (res.body.data as Json[]).find((p) => p.attributes['is-default'] === true);
  assert.ok(project, `no default project in ${res.text}`);
  return project.id;
}

async function createProject(api: Api, org: string, name: string): Promise<string> {
  const res = await api.post(`/organizations/${org}/projects`, { data: { type: 'projects', attributes: { name } } });
  assert.equal(res.status, 201, res.text);
  return res.body.data.id;
}

/** The names of the workspaces a list request returns, in order. */
async function listNames(api: Api, path: string): Promise<string[]> {
  const res = await api.get(path);
  assert.equal(res.status, 200, res.text);
  return (res.body.data as Json[]).map((w) => w.attributes.name);
}

async function workspaceCount(api: Api, org: string): Promise<number> {
  const res = await api.get(`/organizations/${org}/workspaces`);
  assert.equal(res.status, 200, res.text);
  return res.body.meta.pagination['total-count'];
}

async function assertNoWorkspaceNamed(api: Api, org: string, name: string): Promise<void> {
  const res = await api.get(`/organizations/${org}/workspaces/${encodeURIComponent(name)}`);
  assert.equal(res.status, 404, `workspace ${name} should not exist: ${res.status} ${res.text}`);
}

async function bindingsOf(api: Api, id: string): Promise<Array<{ key: string; value: string }>> {
  const res = await api.get(`/workspaces/${id}/tag-bindings`);
  assert.equal(res.status, 200, res.text);
  for (const b of res.body.data as Json[]) assert.equal(b.type, 'tag-bindings');
  return (res.body.data as Json[]).map((b) => ({ key: b.attributes.key, value: b.attributes.value })).sort((a, b) => a.key.localeCompare(b.key));
}

async function tagNamesOf(api: Api, id: string): Promise<string[]> {
  const res = await api.get(`/workspaces/${id}`);
  assert.equal(res.status, 200, res.text);
  return [...(res.body.data.attributes['tag-names'] as string[])].sort();
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('workspaces API', function () {
  let server: TestServer;
  let api: Api;
  before(async () => {
    server = await startServer();
    api = server.api;
  });
  after(() => server.stop());

  describe('create', function () {
    let org: string;
    let projectId: string;
    before(async () => {
      org = await createOrganization(api);
      projectId = await defaultProjectId(api, org);
    });

    it('creates a workspace with the defaults the CLI expects (201)', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name }));
      assert.equal(res.status, 201, res.text);
      const data = res.body.data;
      assert.equal(data.type, 'workspaces');
      assert.match(data.id, /^ws-/);
      const a = data.attributes;
      assert.equal(a.name, name);
      assert.equal(a['execution-mode'], 'remote');
      assert.equal(a['terraform-version'], '1.11.4');
      assert.equal(a['structured-run-output-enabled'], false);
      assert.equal(a.locked, false);
      assert.deepEqual(a['tag-names'], []);
      assert.equal(a.permissions['can-queue-run'], true);
      assert.equal(a.permissions['can-update'], true);
      assert.equal(a.permissions['can-force-delete'], true);
      assert.deepEqual(data.relationships.organization.data, { type: 'organizations', id: org });
      assert.deepEqual(data.relationships.project.data, { type: 'projects', id: projectId });
      assert.equal(data.relationships['current-run'].data, null);

      const shown = await api.get(`/workspaces/${data.id}`);
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.body.data.attributes.name, name);
    });

    it('rejects malformed JSON with 400 and writes nothing', async () => {
      const name = randomName('ws');
      const res = await api.request('POST', `/organizations/${org}/workspaces`, {
        raw: `{"data": {"type": "workspaces", "attributes": {"name": "${name}"`,
      });
      assertError(res, 400, /malformed JSON/);
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('rejects a document of the wrong type with 422 pointing at data.type', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, { data: { type: 'projects', attributes: { name } } });
      assertError(res, 422, /data\.type must be "workspaces", got "projects"/, { pointer: '/data/type' });
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('rejects a workspace without a name with 422', async () => {
      const before = await workspaceCount(api, org);
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ description: 'nameless' }));
      assertError(res, 422, /attribute "name" is required/, { pointer: '/data/attributes/name' });
      assert.equal(await workspaceCount(api, org), before);
    });

    it('rejects a name with invalid characters with 422', async () => {
      const before = await workspaceCount(api, org);
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name: 'my workspace!' }));
      assertError(res, 422, /attribute "name" must be .*letters, digits/, { pointer: '/data/attributes/name' });
      assert.equal(await workspaceCount(api, org), before);
    });

    it('rejects a duplicate name with 422 "has already been taken", as TFC, and keeps the first workspace', async () => {
      const first = await createWorkspace(api, org);
      const name = first.attributes.name;
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, description: 'second' }));
      assertError(res, 422, new RegExp(`"${name}" has already been taken`), { pointer: '/data/attributes/name' });
      const shown = await api.get(`/organizations/${org}/workspaces/${name}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.data.id, first.id);
      assert.equal(shown.body.data.attributes.description, '');
      assert.deepEqual(await listNames(api, `/organizations/${org}/workspaces?search[name]=${name}`), [name]);
    });

    it('answers 404 for an unknown organization', async () => {
      const missing = randomName('no-org');
      const res = await api.post(`/organizations/${missing}/workspaces`, workspaceDoc({ name: randomName('ws') }));
      assertError(res, 404, new RegExp(`organization "${missing}" not found`));
    });

    it('answers 401 without a token and writes nothing', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name }), { token: null });
      assertError(res, 401, /missing bearer token/);
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('answers 401 without a token even when the document is invalid', async () => {
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name: 'not valid!' }), { token: null });
      assertError(res, 401, /missing bearer token/);
    });

    it('answers 401 for an unknown token and writes nothing', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name }), { token: 'not-a-token' });
      assertError(res, 401, /invalid, expired or revoked/);
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('rejects execution-mode "agent" without an agent pool with 422', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'execution-mode': 'agent' }));
      assertError(res, 422, /execution mode "agent" needs an agent pool/, { pointer: '/data/attributes/agent-pool-id' });
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('rejects an unknown execution-mode with 422', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'execution-mode': 'cloud' }));
      assertError(res, 422, /attribute "execution-mode" must be one of "remote", "local", "agent", got "cloud"/, {
        pointer: '/data/attributes/execution-mode',
      });
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('creates a local workspace with execution-mode "local"', async () => {
      const ws = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'local' });
      assert.equal(ws.attributes['execution-mode'], 'local');
      assert.equal(ws.attributes.operations, false);
    });

    it('rejects a terraform-version that is neither a version nor a constraint with 422', async () => {
      const name = randomName('ws');
      const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'terraform-version': 'banana' }));
      assertError(res, 422, /attribute "terraform-version" must be .*got "banana"/, { pointer: '/data/attributes/terraform-version' });
      await assertNoWorkspaceNamed(api, org, name);
    });

    it('accepts "latest", a pessimistic constraint and a range as terraform-version', async () => {
      for (const version of ['latest', '~> 1.11.0', '>= 1.5, < 2.0', '1.9.8']) {
        const ws = await createWorkspace(api, org, randomName('ws'), { 'terraform-version': version });
        assert.equal(ws.attributes['terraform-version'], version);
      }
    });

    it('rejects a working-directory that leaves the configuration with 422', async () => {
      for (const dir of ['../x', '/abs', 'infra/../../etc']) {
        const name = randomName('ws');
        const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'working-directory': dir }));
        assertError(res, 422, new RegExp(`attribute "working-directory" must be a relative path.*"${dir.replace(/\./g, '\\.')}"`), {
          pointer: '/data/attributes/working-directory',
        });
        await assertNoWorkspaceNamed(api, org, name);
      }
      const ok = await createWorkspace(api, org, randomName('ws'), { 'working-directory': 'infra/prod' });
      assert.equal(ok.attributes['working-directory'], 'infra/prod');
    });

    it('places a workspace in a project of its organization', async () => {
      const other = await createProject(api, org, randomName('prj'));
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc({ name: randomName('ws') }, { project: { data: { type: 'projects', id: other } } }),
      );
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.relationships.project.data, { type: 'projects', id: other });
    });

    it('rejects a project of another organization with 422', async () => {
      const otherOrg = await createOrganization(api);
      const foreign = await defaultProjectId(api, otherOrg);
      const name = randomName('ws');
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc({ name }, { project: { data: { type: 'projects', id: foreign } } }),
      );
      assertError(res, 422, new RegExp(`project "${foreign}" does not exist in organization "${org}"`), { pointer: '/data/relationships/project' });
      await assertNoWorkspaceNamed(api, org, name);
      assert.equal(await workspaceCount(api, otherOrg), 0);
    });

    it('takes tags from relationships.tags (by name) and relationships.tag-bindings', async () => {
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc(
          { name: randomName('ws') },
          {
            tags: { data: [{ type: 'tags', attributes: { name: 'web' } }] },
            'tag-bindings': { data: [{ type: 'tag-bindings', attributes: { key: 'env', value: 'prod' } }] },
          },
        ),
      );
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.attributes['tag-names'], ['web']);
      assert.deepEqual(await bindingsOf(api, res.body.data.id), [
        { key: 'env', value: 'prod' },
        { key: 'web', value: '' },
      ]);
    });

    it('takes tags from attributes.tag-names', async () => {
      const ws = await createWorkspace(api, org, randomName('ws'), { 'tag-names': ['api', 'blue'] });
      assert.deepEqual([...ws.attributes['tag-names']].sort(), ['api', 'blue']);
    });

    it('accepts a tag named twice (in tag-names and in relationships.tags) and stores it once', async () => {
      const name = randomName('ws');
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc({ name, 'tag-names': ['app'] }, { tags: { data: [{ type: 'tags', attributes: { name: 'app' } }] } }),
      );
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.attributes['tag-names'], ['app']);
      assert.deepEqual(await bindingsOf(api, res.body.data.id), [{ key: 'app', value: '' }]);
    });

    it('rejects an invalid tag name in relationships.tags with 422 and writes nothing', async () => {
      const name = randomName('ws');
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc({ name }, { tags: { data: [{ type: 'tags', attributes: { name: 'not a tag!' } }] } }),
      );
      assertError(res, 422, /must be letters, digits/, { pointer: '/data/relationships/tags/data/0/attributes/name' });
      await assertNoWorkspaceNamed(api, org, name);
    });
  });

  describe('show, update and delete', function () {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('shows the same workspace by id and by name', async () => {
      const ws = await createWorkspace(api, org);
      const byId = await api.get(`/workspaces/${ws.id}`);
      const byName = await api.get(`/organizations/${org}/workspaces/${ws.attributes.name}`);
      assert.equal(byId.status, 200, byId.text);
      assert.equal(byName.status, 200, byName.text);
      assert.deepEqual(byName.body.data, byId.body.data);
      assert.equal(byId.body.data.links.self, `/api/v2/organizations/${org}/workspaces/${ws.attributes.name}`);
    });

    it('answers 404 for an unknown id or name, whatever the method', async () => {
      assertError(await api.get('/workspaces/ws-doesnotexist'), 404, /workspace "ws-doesnotexist" not found/);
      assertError(await api.patch('/workspaces/ws-doesnotexist', workspaceDoc({ description: 'x' })), 404, /workspace "ws-doesnotexist" not found/);
      assertError(await api.delete('/workspaces/ws-doesnotexist'), 404, /workspace "ws-doesnotexist" not found/);
      assertError(await api.get(`/organizations/${org}/workspaces/nope`), 404, new RegExp(`workspace "${org}/nope" not found`));
      assertError(await api.delete(`/organizations/${org}/workspaces/nope`), 404, /not found/);
    });

    it('updates settings by id', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ description: 'by id', 'auto-apply': true, 'execution-mode': 'local' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes.description, 'by id');
      assert.equal(res.body.data.attributes['auto-apply'], true);
      assert.equal(res.body.data.attributes['execution-mode'], 'local');
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.attributes.description, 'by id');
      assert.equal(shown.body.data.attributes['auto-apply'], true);
      assert.equal(shown.body.data.attributes['terraform-version'], '1.11.4');
    });

    it('updates settings by name', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.patch(`/organizations/${org}/workspaces/${ws.attributes.name}`, workspaceDoc({ description: 'by name', 'working-directory': 'modules/app' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.id, ws.id);
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.attributes.description, 'by name');
      assert.equal(shown.body.data.attributes['working-directory'], 'modules/app');
    });

    it('accepts terraform-version "1.11.4" as the CLI sends it after creating a workspace', async () => {
      const ws = await createWorkspace(api, org, randomName('ws'), { 'terraform-version': 'latest' });
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'terraform-version': '1.11.4' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes['terraform-version'], '1.11.4');
    });

    it('rejects an invalid update with 422 and changes nothing', async () => {
      const ws = await createWorkspace(api, org, randomName('ws'), { description: 'before' });
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ description: 'after', 'terraform-version': 'banana' }));
      assertError(res, 422, /terraform-version.*banana/, { pointer: '/data/attributes/terraform-version' });
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.attributes.description, 'before');
      assert.equal(shown.body.data.attributes['terraform-version'], '1.11.4');
      const wrongType = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'organizations', attributes: { description: 'after' } } });
      assertError(wrongType, 422, /data\.type must be "workspaces"/, { pointer: '/data/type' });
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.description, 'before');
    });

    it('renames a workspace, after which the old name is 404', async () => {
      const ws = await createWorkspace(api, org);
      const oldName = ws.attributes.name;
      const newName = randomName('renamed');
      const res = await api.patch(`/organizations/${org}/workspaces/${oldName}`, workspaceDoc({ name: newName }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes.name, newName);
      assert.equal(res.body.data.links.self, `/api/v2/organizations/${org}/workspaces/${newName}`);
      const renamed = await api.get(`/organizations/${org}/workspaces/${newName}`);
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.data.id, ws.id);
      assertError(await api.get(`/organizations/${org}/workspaces/${oldName}`), 404, new RegExp(`workspace "${org}/${oldName}" not found`));
    });

    it("rejects renaming to another workspace's name with 422 and keeps both", async () => {
      const a = await createWorkspace(api, org);
      const b = await createWorkspace(api, org);
      const res = await api.patch(`/workspaces/${a.id}`, workspaceDoc({ name: b.attributes.name, description: 'changed' }));
      assertError(res, 422, new RegExp(`"${b.attributes.name}" has already been taken`), { pointer: '/data/attributes/name' });
      const shownA = await api.get(`/workspaces/${a.id}`);
      assert.equal(shownA.body.data.attributes.name, a.attributes.name);
      assert.equal(shownA.body.data.attributes.description, '');
      const shownB = await api.get(`/organizations/${org}/workspaces/${b.attributes.name}`);
      assert.equal(shownB.body.data.id, b.id);
    });

    it('deletes by id (204), after which the workspace is 404', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.delete(`/workspaces/${ws.id}`);
      assert.equal(res.status, 204, res.text);
      assertError(await api.get(`/workspaces/${ws.id}`), 404, /not found/);
      await assertNoWorkspaceNamed(api, org, ws.attributes.name);
    });

    it('deletes by name (204), after which the workspace is 404', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.delete(`/organizations/${org}/workspaces/${ws.attributes.name}`);
      assert.equal(res.status, 204, res.text);
      assertError(await api.get(`/workspaces/${ws.id}`), 404, /not found/);
    });
  });

  describe("the organization's default execution mode (setting-overwrites) and assessments-enabled", function () {
    let org: string;
    let pool: string;
    before(async () => {
      org = await createOrganization(api);
      const res = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
      assert.equal(res.status, 201, res.text);
      pool = res.body.data.id;
    });

    async function setDefault(mode: 'remote' | 'local' | 'agent'): Promise<void> {
      const doc = { data: { type: 'organizations', attributes: { 'default-execution-mode': mode }, relationships: { 'default-agent-pool': { data: mode === 'agent' ? { type: 'agent-pools', id: pool } : null } } } };
      const res = await api.patch(`/organizations/${org}`, doc);
      assert.equal(res.status, 200, res.text);
    }

    /** Execution mode, agent pool and setting-overwrites of a workspace as a read shows them. */
    async function execution(id: string): Promise<{ mode: string; pool: string | null; overwrites: Json }> {
      const res = await api.get(`/workspaces/${id}`);
      assert.equal(res.status, 200, res.text);
      const d = res.body.data;
      return { mode: d.attributes['execution-mode'], pool: d.relationships['agent-pool'].data?.id ?? null, overwrites: d.attributes['setting-overwrites'] };
    }

    const follows = { 'execution-mode': false, 'agent-pool': false };
    const own = { 'execution-mode': true, 'agent-pool': true };

    it('a workspace made without a mode follows the default as it changes; one with its own mode keeps it', async () => {
      await setDefault('remote');
      const following = await createWorkspace(api, org);
      assert.deepEqual(following.attributes['setting-overwrites'], follows);
      const local = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'local' });
      assert.deepEqual(local.attributes['setting-overwrites'], own);

      await setDefault('agent');
      assert.deepEqual(await execution(following.id), { mode: 'agent', pool, overwrites: follows });
      assert.deepEqual(await execution(local.id), { mode: 'local', pool: null, overwrites: own });
      // The pool lists the workspaces that run on it, the following one included.
      const shownPool = await api.get(`/agent-pools/${pool}`);
      assert.equal(shownPool.status, 200, shownPool.text);
      assert.deepEqual(shownPool.body.data.relationships.workspaces.data.map((w: Json) => w.id), [following.id]);

      await setDefault('local');
      assert.deepEqual(await execution(following.id), { mode: 'local', pool: null, overwrites: follows });
      await setDefault('remote');
      assert.deepEqual(await execution(following.id), { mode: 'remote', pool: null, overwrites: follows });
    });

    it('setting a mode makes it the workspace\'s own; setting-overwrites false makes it follow again; true keeps the mode in effect as its own', async () => {
      await setDefault('agent');
      const ws = await createWorkspace(api, org, randomName('ws'), { 'setting-overwrites': follows });
      assert.deepEqual(await execution(ws.id), { mode: 'agent', pool, overwrites: follows });

      const remote = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'execution-mode': 'remote' }));
      assert.equal(remote.status, 200, remote.text);
      assert.deepEqual(remote.body.data.attributes['setting-overwrites'], own);
      assert.equal(remote.body.data.attributes['execution-mode'], 'remote');

      const back = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'setting-overwrites': follows }));
      assert.equal(back.status, 200, back.text);
      assert.equal(back.body.data.attributes['execution-mode'], 'agent');
      assert.equal(back.body.data.relationships['agent-pool'].data.id, pool);

      // Another setting leaves the workspace following.
      assert.equal((await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'auto-apply': true }))).status, 200);
      assert.deepEqual(await execution(ws.id), { mode: 'agent', pool, overwrites: follows });

      const kept = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'setting-overwrites': own }));
      assert.equal(kept.status, 200, kept.text);
      await setDefault('remote');
      assert.deepEqual(await execution(ws.id), { mode: 'agent', pool, overwrites: own });
    });

    it('keeps assessments-enabled (false by default), and other settings with it', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal(ws.attributes['assessments-enabled'], false);
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'assessments-enabled': true, 'queue-all-runs': true, 'auto-apply': true, 'allow-destroy-plan': false }));
      assert.equal(res.status, 200, res.text);
      const shown = (await api.get(`/workspaces/${ws.id}`)).body.data.attributes;
      assert.deepEqual([shown['assessments-enabled'], shown['queue-all-runs'], shown['auto-apply'], shown['allow-destroy-plan']], [true, true, true, false]);
    });

    it('rejects malformed setting-overwrites and assessments-enabled with 422 and changes nothing', async () => {
      await setDefault('remote');
      const ws = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'local' });
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ 'setting-overwrites': true }, /setting-overwrites/],
        [{ 'setting-overwrites': { 'execution-mode': 'no' } }, /execution-mode/],
        [{ 'setting-overwrites': { 'execution-mode': false, 'agent-pool': true } }, /must be equal/],
        [{ 'setting-overwrites': follows, 'execution-mode': 'remote' }, /do not also set execution-mode/],
        [{ 'setting-overwrites': { 'agent-pool': false }, 'agent-pool-id': pool }, /do not also set/],
        [{ 'assessments-enabled': 'yes' }, /assessments-enabled/],
        [{ 'assessments-enabled': '\u0000' }, /assessments-enabled/],
      ];
      for (const [attributes, detail] of bad) {
        assertError(await api.patch(`/workspaces/${ws.id}`, workspaceDoc(attributes)), 422, detail);
        assertError(await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name: randomName('ws'), ...attributes })), 422, detail);
      }
      assert.deepEqual(await execution(ws.id), { mode: 'local', pool: null, overwrites: own });
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['assessments-enabled'], false);
    });

    it("answers 404 for another organization's workspace, whatever setting-overwrites says", async () => {
      const other = await createOrganization(api);
      const token = await organizationToken(api, other);
      const ws = await createWorkspace(api, org);
      const res = await token.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'setting-overwrites': own }));
      assertError(res, 404, /not found/);
      assert.deepEqual((await execution(ws.id)).overwrites, follows);
    });
  });

  describe('organization tokens', function () {
    let own: string;
    let other: string;
    let ownWs: Json;
    let otherWs: Json;
    let token: Api;
    before(async () => {
      own = await createOrganization(api);
      other = await createOrganization(api);
      ownWs = await createWorkspace(api, own);
      otherWs = await createWorkspace(api, other, randomName('ws'), { description: 'untouched' });
      token = await organizationToken(api, own, 'workspaces test');
    });

    it("sees and manages its own organization's workspaces", async () => {
      const byId = await token.get(`/workspaces/${ownWs.id}`);
      assert.equal(byId.status, 200, byId.text);
      assert.equal(byId.body.data.attributes.permissions['can-update'], true);
      const byName = await token.get(`/organizations/${own}/workspaces/${ownWs.attributes.name}`);
      assert.equal(byName.status, 200, byName.text);
      assert.equal(byName.body.data.id, ownWs.id);
      const list = await token.get(`/organizations/${own}/workspaces`);
      assert.equal(list.status, 200, list.text);
      assert.ok((list.body.data as Json[]).some((w) => w.id === ownWs.id));
      const created = await token.post(`/organizations/${own}/workspaces`, workspaceDoc({ name: randomName('ws') }));
      assert.equal(created.status, 201, created.text);
    });

    it("gets 404, not 403, for another organization's workspace by id", async () => {
      assertError(await token.get(`/workspaces/${otherWs.id}`), 404, new RegExp(`workspace "${otherWs.id}" not found`));
      assertError(await token.patch(`/workspaces/${otherWs.id}`, workspaceDoc({ description: 'hijacked' })), 404, /not found/);
      assertError(await token.delete(`/workspaces/${otherWs.id}`), 404, /not found/);
      assertError(await token.post(`/workspaces/${otherWs.id}/actions/lock`), 404, /not found/);
      const shown = await api.get(`/workspaces/${otherWs.id}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.data.attributes.description, 'untouched');
      assert.equal(shown.body.data.attributes.locked, false);
    });

    it("gets 404, not 403, for another organization's workspace by name", async () => {
      const path = `/organizations/${other}/workspaces/${otherWs.attributes.name}`;
      assertError(await token.get(path), 404, new RegExp(`organization "${other}" not found`));
      assertError(await token.patch(path, workspaceDoc({ description: 'hijacked' })), 404, /not found/);
      assertError(await token.delete(path), 404, /not found/);
      assert.equal((await api.get(path)).status, 200);
    });

    it("cannot list or create workspaces of another organization (404)", async () => {
      assertError(await token.get(`/organizations/${other}/workspaces`), 404, new RegExp(`organization "${other}" not found`));
      const name = randomName('ws');
      assertError(await token.post(`/organizations/${other}/workspaces`, workspaceDoc({ name })), 404, new RegExp(`organization "${other}" not found`));
      await assertNoWorkspaceNamed(api, other, name);
    });
  });

  describe('list', function () {
    describe('pagination', function () {
      let org: string;
      const names = Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
      before(async () => {
        org = await createOrganization(api);
        await Promise.all(names.map((name) => createWorkspace(api, org, name)));
      });

      it('returns 20 workspaces by default with pagination meta and absolute links', async () => {
        const res = await api.get(`/organizations/${org}/workspaces`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          (res.body.data as Json[]).map((w) => w.attributes.name),
          names.slice(0, 20),
        );
        assert.deepEqual(res.body.meta.pagination, {
          'current-page': 1,
          'page-size': 20,
          'prev-page': null,
          'next-page': 2,
          'total-pages': 2,
          'total-count': 25,
        });
        assert.equal(res.body.links.prev, null);
        const next = new URL(res.body.links.next);
        assert.equal(next.origin, new URL(server.url).origin);
        assert.equal(next.pathname, `/api/v2/organizations/${org}/workspaces`);
        assert.equal(next.searchParams.get('page[number]'), '2');
        assert.equal(next.searchParams.get('page[size]'), '20');
      });

      it('follows links.next to the last page, whose links.prev leads back', async () => {
        const first = await api.get(`/organizations/${org}/workspaces`);
        const res = await api.get(first.body.links.next);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          (res.body.data as Json[]).map((w) => w.attributes.name),
          names.slice(20),
        );
        const p = res.body.meta.pagination;
        assert.equal(p['current-page'], 2);
        assert.equal(p['next-page'], null);
        assert.equal(p['prev-page'], 1);
        assert.equal(p['total-pages'], 2);
        assert.equal(p['total-count'], 25);
        assert.equal(res.body.links.next, null);
        const prev = new URL(res.body.links.prev);
        assert.equal(prev.origin, new URL(server.url).origin);
        assert.equal(prev.searchParams.get('page[number]'), '1');
      });

      it('honours page[size] and page[number]', async () => {
        const res = await api.get(`/organizations/${org}/workspaces?page[size]=10&page[number]=2`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          (res.body.data as Json[]).map((w) => w.attributes.name),
          names.slice(10, 20),
        );
        const p = res.body.meta.pagination;
        assert.equal(p['current-page'], 2);
        assert.equal(p['page-size'], 10);
        assert.equal(p['prev-page'], 1);
        assert.equal(p['next-page'], 3);
        assert.equal(p['total-pages'], 3);
        assert.equal(p['total-count'], 25);
        assert.equal(new URL(res.body.links.next).searchParams.get('page[number]'), '3');
        assert.equal(new URL(res.body.links.prev).searchParams.get('page[number]'), '1');
      });

      it('clamps page[size] above 100 to 100', async () => {
        const res = await api.get(`/organizations/${org}/workspaces?page[size]=500`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.length, 25);
        assert.equal(res.body.meta.pagination['page-size'], 100);
        assert.equal(res.body.meta.pagination['total-pages'], 1);
        assert.equal(res.body.meta.pagination['next-page'], null);
      });

      it('answers a page past the end with no workspaces and the right total', async () => {
        const res = await api.get(`/organizations/${org}/workspaces?page[number]=5`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.data, []);
        assert.equal(res.body.meta.pagination['total-count'], 25);
      });

      it('rejects page[number] or page[size] that is not a positive whole number with 400', async () => {
        for (const [param, value] of [
          ['page[number]', '0'],
          ['page[number]', 'abc'],
          ['page[number]', '-1'],
          ['page[size]', '0'],
          ['page[size]', 'abc'],
        ]) {
          const res = await api.get(`/organizations/${org}/workspaces?${param}=${value}`);
          assertError(res, 400, new RegExp(`${param.replace(/[[\]]/g, '\\$&')} must be a whole number of at least 1, got "${value}"`), {
            parameter: param,
          });
        }
      });
    });

    describe('search, filters, sorting and include', function () {
      let org: string;
      let defaultProject: string;
      let otherProject: string;
      before(async () => {
        org = await createOrganization(api);
        defaultProject = await defaultProjectId(api, org);
        otherProject = await createProject(api, org, 'Other Project');
        const post = async (name: string, tags: string[], bindings: Array<{ key: string; value: string }>, project?: string) => {
          const res = await api.post(
            `/organizations/${org}/workspaces`,
            workspaceDoc(
              { name },
              {
                tags: { data: tags.map((t) => ({ type: 'tags', attributes: { name: t } })) },
                'tag-bindings': { data: bindings.map((b) => ({ type: 'tag-bindings', attributes: b })) },
                ...(project ? { project: { data: { type: 'projects', id: project } } } : {}),
              },
            ),
          );
          assert.equal(res.status, 201, res.text);
        };
        await post('alpha-web', ['web', 'frontend'], []);
        await post('beta-web', ['web'], []);
        await post('gamma-db', ['db'], [{ key: 'env', value: 'prod' }], otherProject);
        await post('delta-db', ['db'], [{ key: 'env', value: 'staging' }]);
      });

      const path = (q: string) => `/organizations/${org}/workspaces?${q}`;

      it('sorts by name by default', async () => {
        assert.deepEqual(await listNames(api, path('')), ['alpha-web', 'beta-web', 'delta-db', 'gamma-db']);
      });

      it('finds workspaces by a substring of the name with search[name]', async () => {
        assert.deepEqual(await listNames(api, path('search[name]=web')), ['alpha-web', 'beta-web']);
        assert.deepEqual(await listNames(api, path('search[name]=mma')), ['gamma-db']);
        assert.deepEqual(await listNames(api, path('search[name]=zzz')), []);
        // LIKE metacharacters are matched literally
        assert.deepEqual(await listNames(api, path('search[name]=%25')), []);
        assert.deepEqual(await listNames(api, path('search[name]=_')), []);
      });

      it('matches names against a pattern with search[wildcard-name]', async () => {
        assert.deepEqual(await listNames(api, path('search[wildcard-name]=*-db')), ['delta-db', 'gamma-db']);
        assert.deepEqual(await listNames(api, path('search[wildcard-name]=alpha*')), ['alpha-web']);
        assert.deepEqual(await listNames(api, path('search[wildcard-name]=*et*')), ['beta-web']);
      });

      it('keeps only workspaces carrying every tag of search[tags]', async () => {
        assert.deepEqual(await listNames(api, path('search[tags]=web')), ['alpha-web', 'beta-web']);
        assert.deepEqual(await listNames(api, path('search[tags]=web,frontend')), ['alpha-web']);
        assert.deepEqual(await listNames(api, path('search[tags]=web,db')), []);
      });

      it('keeps only workspaces of a project with filter[project][id]', async () => {
        assert.deepEqual(await listNames(api, path(`filter[project][id]=${otherProject}`)), ['gamma-db']);
        assert.deepEqual(await listNames(api, path(`filter[project][id]=${defaultProject}`)), ['alpha-web', 'beta-web', 'delta-db']);
      });

      it('keeps only workspaces with a tag binding with filter[tagged]', async () => {
        assert.deepEqual(await listNames(api, path('filter[tagged][0][key]=env&filter[tagged][0][value]=prod')), ['gamma-db']);
        assert.deepEqual(await listNames(api, path('filter[tagged][0][key]=env')), ['delta-db', 'gamma-db']);
        assert.deepEqual(
          await listNames(api, path('filter[tagged][0][key]=env&filter[tagged][0][value]=staging&filter[tagged][1][key]=db')),
          ['delta-db'],
        );
      });

      it('sorts by name descending with sort=-name', async () => {
        assert.deepEqual(await listNames(api, path('sort=-name')), ['gamma-db', 'delta-db', 'beta-web', 'alpha-web']);
      });

      it('rejects an unknown sort with 400', async () => {
        assertError(await api.get(path('sort=size')), 400, /sort must be one of name/, { parameter: 'sort' });
      });

      it('puts the organization and projects in included with include=organization,project', async () => {
        const res = await api.get(path('include=organization,project'));
        assert.equal(res.status, 200, res.text);
        const included = res.body.included as Json[];
        assert.ok(Array.isArray(included), `no included in ${res.text}`);
        const organization = included.find((r) => r.type === 'organizations');
        assert.ok(organization, 'organization not included');
        assert.equal(organization.id, org);
        assert.equal(organization.attributes.name, org);
        const projectIds = included
          .filter((r) => r.type === 'projects')
          .map((r) => r.id)
          .sort();
        assert.deepEqual(projectIds, [defaultProject, otherProject].sort());
      });

      it('includes the organization of a single workspace too', async () => {
        const res = await api.get(`/organizations/${org}/workspaces/alpha-web?include=organization`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          (res.body.included as Json[]).map((r) => `${r.type}/${r.id}`),
          [`organizations/${org}`],
        );
      });

      it('ignores an unknown include (200)', async () => {
        const res = await api.get(path('include=bogus'));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.length, 4);
        assert.ok(!res.body.included || res.body.included.length === 0);
      });
    });
  });

  describe('locks', function () {
    let org: string;
    let token: Api;
    const cliLockBody = { data: { type: '', attributes: { reason: 'Locked by Terraform' } } };
    before(async () => {
      org = await createOrganization(api);
      token = await organizationToken(api, org, 'workspaces test');
    });

    it('locks with the body the CLI sends, refuses a second lock, and unlocks for the same caller', async () => {
      const ws = await createWorkspace(api, org);
      const locked = await api.post(`/workspaces/${ws.id}/actions/lock`, cliLockBody);
      assert.equal(locked.status, 200, locked.text);
      assert.equal(locked.body.data.attributes.locked, true);
      assert.equal(locked.body.data.attributes['locked-reason'], 'Locked by Terraform');
      assert.deepEqual(locked.body.data.relationships['locked-by'].data, { type: 'users', id: 'user-site-admin' });
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, true);

      const again = await api.post(`/workspaces/${ws.id}/actions/lock`, cliLockBody);
      assertError(again, 409, /already locked/);

      const unlocked = await api.post(`/workspaces/${ws.id}/actions/unlock`);
      assert.equal(unlocked.status, 200, unlocked.text);
      assert.equal(unlocked.body.data.attributes.locked, false);
      assert.equal(unlocked.body.data.relationships['locked-by'].data, null);
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.attributes.locked, false);
      assert.equal(shown.body.data.attributes['locked-reason'], null);
    });

    it('locks without a body', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.post(`/workspaces/${ws.id}/actions/lock`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes.locked, true);
    });

    it('answers 409 "already unlocked" to unlocking an unlocked workspace', async () => {
      const ws = await createWorkspace(api, org);
      assertError(await api.post(`/workspaces/${ws.id}/actions/unlock`), 409, /already unlocked/);
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
    });

    it('refuses to unlock a lock held by someone else with 409 naming the holder', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/lock`, cliLockBody)).status, 200);
      const res = await token.post(`/workspaces/${ws.id}/actions/unlock`);
      assertError(res, 409, /is locked by User site-admin/);
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.attributes.locked, true);
      assert.deepEqual(shown.body.data.relationships['locked-by'].data, { type: 'users', id: 'user-site-admin' });
    });

    it("refuses the site admin's unlock of an organization token's lock with 409", async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await token.post(`/workspaces/${ws.id}/actions/lock`, cliLockBody)).status, 200);
      assertError(await api.post(`/workspaces/${ws.id}/actions/unlock`), 409, new RegExp(`is locked by User api-org-${org}`));
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, true);
      assert.equal((await token.post(`/workspaces/${ws.id}/actions/unlock`)).status, 200);
    });

    it('force-unlocks any lock, and answers 409 when there is none', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/lock`, cliLockBody)).status, 200);
      const res = await token.post(`/workspaces/${ws.id}/actions/force-unlock`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes.locked, false);
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
      assertError(await token.post(`/workspaces/${ws.id}/actions/force-unlock`), 409, /already unlocked/);
    });

    it('answers 404 for locking an unknown workspace', async () => {
      assertError(await api.post('/workspaces/ws-doesnotexist/actions/lock', cliLockBody), 404, /workspace "ws-doesnotexist" not found/);
    });
  });

  describe('safe-delete', function () {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('deletes an unlocked workspace by id (204)', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.post(`/workspaces/${ws.id}/actions/safe-delete`);
      assert.equal(res.status, 204, res.text);
      assertError(await api.get(`/workspaces/${ws.id}`), 404, /not found/);
    });

    it('deletes an unlocked workspace by name (204)', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.post(`/organizations/${org}/workspaces/${ws.attributes.name}/actions/safe-delete`);
      assert.equal(res.status, 204, res.text);
      assertError(await api.get(`/workspaces/${ws.id}`), 404, /not found/);
    });

    it('refuses to delete a locked workspace with 409, by id and by name', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/lock`)).status, 200);
      assertError(await api.post(`/workspaces/${ws.id}/actions/safe-delete`), 409, /locked/);
      assertError(await api.post(`/organizations/${org}/workspaces/${ws.attributes.name}/actions/safe-delete`), 409, /locked/);
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.data.attributes.locked, true);
    });

    it('answers 404 for an unknown workspace', async () => {
      assertError(await api.post('/workspaces/ws-doesnotexist/actions/safe-delete'), 404, /not found/);
    });
  });

  describe('tags and tag bindings', function () {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    const addTags = (id: string, names: string[]) =>
      api.post(`/workspaces/${id}/relationships/tags`, { data: names.map((name) => ({ type: 'tags', attributes: { name } })) });
    const removeTags = (id: string, names: string[]) =>
      api.request('DELETE', `/workspaces/${id}/relationships/tags`, { body: { data: names.map((name) => ({ type: 'tags', attributes: { name } })) } });
    const patchBindings = (id: string, bindings: Array<{ key: string; value: string }>) =>
      api.patch(`/workspaces/${id}/tag-bindings`, { data: bindings.map((attributes) => ({ type: 'tag-bindings', attributes })) });

    it('shows a tag added to a workspace in tag-names and as a key-only tag binding', async () => {
      const ws = await createWorkspace(api, org);
      const res = await addTags(ws.id, ['app']);
      assert.equal(res.status, 204, res.text);
      assert.ok((await tagNamesOf(api, ws.id)).includes('app'));
      assert.deepEqual(await bindingsOf(api, ws.id), [{ key: 'app', value: '' }]);
    });

    it('adds a tag binding with PATCH tag-bindings and keeps the others', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await addTags(ws.id, ['app'])).status, 204);
      const res = await patchBindings(ws.id, [{ key: 'env', value: 'prod' }]);
      assert.equal(res.status, 200, res.text);
      const returned = (res.body.data as Json[]).map((b) => `${b.attributes.key}=${b.attributes.value}`).sort();
      assert.deepEqual(returned, ['app=', 'env=prod']);
      assert.deepEqual(await bindingsOf(api, ws.id), [
        { key: 'app', value: '' },
        { key: 'env', value: 'prod' },
      ]);
      assert.deepEqual(await tagNamesOf(api, ws.id), ['app']);

      const changed = await patchBindings(ws.id, [{ key: 'env', value: 'staging' }]);
      assert.equal(changed.status, 200, changed.text);
      assert.deepEqual(await bindingsOf(api, ws.id), [
        { key: 'app', value: '' },
        { key: 'env', value: 'staging' },
      ]);
    });

    it("lists a workspace's tags at relationships/tags", async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await addTags(ws.id, ['app', 'team-a'])).status, 204);
      const res = await api.get(`/workspaces/${ws.id}/relationships/tags`);
      assert.equal(res.status, 200, res.text);
      const tags = res.body.data as Json[];
      for (const t of tags) {
        assert.equal(t.type, 'tags');
        assert.match(t.id, /^tag-/);
      }
      assert.deepEqual(tags.map((t) => t.attributes.name).sort(), ['app', 'team-a']);
    });

    it('adds an existing organization tag by id', async () => {
      const first = await createWorkspace(api, org);
      assert.equal((await addTags(first.id, ['shared-by-id'])).status, 204);
      const listed = await api.get(`/workspaces/${first.id}/relationships/tags`);
      const tagId = (listed.body.data as Json[]).find((t) => t.attributes.name === 'shared-by-id').id;
      const second = await createWorkspace(api, org);
      const res = await api.post(`/workspaces/${second.id}/relationships/tags`, { data: [{ type: 'tags', id: tagId }] });
      assert.equal(res.status, 204, res.text);
      assert.deepEqual(await tagNamesOf(api, second.id), ['shared-by-id']);
    });

    it('removes tags with DELETE relationships/tags, from tag-names and from the bindings', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await addTags(ws.id, ['app', 'keep'])).status, 204);
      assert.equal((await patchBindings(ws.id, [{ key: 'env', value: 'prod' }])).status, 200);
      const res = await removeTags(ws.id, ['app']);
      assert.equal(res.status, 204, res.text);
      assert.deepEqual(await tagNamesOf(api, ws.id), ['keep']);
      assert.deepEqual(await bindingsOf(api, ws.id), [
        { key: 'env', value: 'prod' },
        { key: 'keep', value: '' },
      ]);
      const rel = await api.get(`/workspaces/${ws.id}/relationships/tags`);
      assert.deepEqual(
        (rel.body.data as Json[]).map((t) => t.attributes.name),
        ['keep'],
      );
    });

    it("lists the organization's tags with how many workspaces carry each", async () => {
      const tagOrg = await createOrganization(api);
      const a = await createWorkspace(api, tagOrg);
      const b = await createWorkspace(api, tagOrg);
      assert.equal((await addTags(a.id, ['shared', 'only-a'])).status, 204);
      assert.equal((await addTags(b.id, ['shared'])).status, 204);
      const res = await api.get(`/organizations/${tagOrg}/tags`);
      assert.equal(res.status, 200, res.text);
      const tags = res.body.data as Json[];
      for (const t of tags) {
        assert.equal(t.type, 'tags');
        assert.match(t.attributes['created-at'], ISO_UTC);
      }
      const counts = Object.fromEntries(tags.map((t) => [t.attributes.name, t.attributes['instance-count']]));
      assert.deepEqual(counts, { 'only-a': 1, shared: 2 });
      assert.equal(res.body.meta.pagination['total-count'], 2);

      assert.equal((await removeTags(b.id, ['shared'])).status, 204);
      const after = await api.get(`/organizations/${tagOrg}/tags`);
      const shared = (after.body.data as Json[]).find((t) => t.attributes.name === 'shared');
      assert.equal(shared.attributes['instance-count'], 1);
    });

    it('adds a tag named twice in one request once', async () => {
      const ws = await createWorkspace(api, org);
      const res = await addTags(ws.id, ['twice', 'twice']);
      assert.equal(res.status, 204, res.text);
      assert.deepEqual(await tagNamesOf(api, ws.id), ['twice']);
      assert.deepEqual(await bindingsOf(api, ws.id), [{ key: 'twice', value: '' }]);
    });

    it('keeps one binding when PATCH tag-bindings repeats the same key and value', async () => {
      const ws = await createWorkspace(api, org);
      const res = await patchBindings(ws.id, [
        { key: 'env', value: 'prod' },
        { key: 'env', value: 'prod' },
      ]);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(await bindingsOf(api, ws.id), [{ key: 'env', value: 'prod' }]);
    });

    it('rejects an invalid tag name with 422 and adds nothing', async () => {
      const ws = await createWorkspace(api, org);
      assert.equal((await addTags(ws.id, ['app'])).status, 204);
      const res = await addTags(ws.id, ['ok', 'not a tag!']);
      assertError(res, 422, /must be letters, digits/, { pointer: '/data/1/attributes/name' });
      assert.deepEqual(await tagNamesOf(api, ws.id), ['app']);
      assert.deepEqual(await bindingsOf(api, ws.id), [{ key: 'app', value: '' }]);
    });

    it('rejects an unknown tag id with 422 and adds nothing', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.post(`/workspaces/${ws.id}/relationships/tags`, { data: [{ type: 'tags', id: 'tag-doesnotexist' }] });
      assertError(res, 422, /tag "tag-doesnotexist" does not exist/);
      assert.deepEqual(await tagNamesOf(api, ws.id), []);
    });

    it('rejects a tag binding without a key with 422 and changes nothing', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.patch(`/workspaces/${ws.id}/tag-bindings`, { data: [{ type: 'tag-bindings', attributes: { value: 'prod' } }] });
      assertError(res, 422, /key.* is required/, { pointer: '/data/0/attributes/key' });
      assert.deepEqual(await bindingsOf(api, ws.id), []);
    });
  });

  describe('timestamps', function () {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('gives created-at and updated-at in UTC ending in Z, on create, show, update and list', async () => {
      const ws = await createWorkspace(api, org);
      const check = (data: Json) => {
        assert.match(data.attributes['created-at'], ISO_UTC);
        assert.match(data.attributes['updated-at'], ISO_UTC);
        assert.ok(String(data.attributes['created-at']).endsWith('Z'));
        assert.ok(String(data.attributes['updated-at']).endsWith('Z'));
      };
      check(ws);
      check((await api.get(`/workspaces/${ws.id}`)).body.data);
      const updated = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ description: 'touched' }));
      assert.equal(updated.status, 200, updated.text);
      check(updated.body.data);
      assert.ok(Date.parse(updated.body.data.attributes['updated-at']) >= Date.parse(ws.attributes['updated-at']));
      for (const w of (await api.get(`/organizations/${org}/workspaces`)).body.data as Json[]) check(w);
    });
  });
});
