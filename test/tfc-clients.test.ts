// What Terraform Cloud's own clients (go-tfe, the tfe provider, scripts written against TFC's API
// docs) read, where otfd once answered otherwise: the IP ranges endpoint and If-Modified-Since, a
// workspace's links, the run-task rights in permission blocks, and unlocking a workspace that a run
// holds.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';

const IP_RANGES = '/api/meta/ip-ranges';
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** An HTTP date n hours from now, written as go-tfe writes it (midnight of that day). */
function httpDay(hoursFromNow: number): string {
  const d = new Date(Date.now() + hoursFromNow * 3_600_000);
  return d.toUTCString().replace(/\d{2}:\d{2}:\d{2} GMT$/, '00:00:00 GMT');
}

describe("Terraform Cloud's clients", function () {
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer();
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  describe('GET /api/meta/ip-ranges', () => {
    it('answers without a token: four empty lists (otfd has no fixed address ranges), with Last-Modified', async () => {
      const res = await api.get(IP_RANGES, { token: null, headers: { Accept: 'application/json' } });
      assert.equal(res.status, 200, res.text);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(res.body, { api: [], notifications: [], sentinel: [], vcs: [] });
      assert.match(String(res.headers['last-modified']), HTTP_DATE);
      assert.ok(Date.parse(String(res.headers['last-modified'])) <= Date.now());
    });

    it('answers 304 with no body when nothing changed since If-Modified-Since', async () => {
      const first = await api.get(IP_RANGES, { token: null });
      const lastModified = String(first.headers['last-modified']);
      for (const since of [lastModified, httpDay(48)]) {
        const res = await api.get(IP_RANGES, { token: null, headers: { 'If-Modified-Since': since } });
        assert.equal(res.status, 304, `If-Modified-Since ${since}: ${res.status} ${res.text}`);
        assert.equal(res.text, '');
      }
    });

    it('sends the lists when they changed after If-Modified-Since, or when the header is no date', async () => {
      for (const since of ['Sat, 01 Jan 2000 00:00:00 GMT', 'yesterday', '', 'Mon, 99 Foo 2024 99:99:99 GMT']) {
        const res = await api.get(IP_RANGES, { token: null, headers: { 'If-Modified-Since': since } });
        assert.equal(res.status, 200, `If-Modified-Since ${JSON.stringify(since)}: ${res.text}`);
        assert.deepEqual(res.body, { api: [], notifications: [], sentinel: [], vcs: [] });
      }
    });

    it('answers the same to a caller with a token, valid or not (the endpoint asks for none)', async () => {
      for (const token of [server.siteToken, 'not-a-token']) {
        const res = await api.get(IP_RANGES, { token });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, { api: [], notifications: [], sentinel: [], vcs: [] });
      }
    });

    it('refuses a NUL byte or invalid UTF-8 in the query with 400, as everywhere', async () => {
      for (const query of ['x=%00', 'x=%ff']) assertError(await api.get(`${IP_RANGES}?${query}`, { token: null }), 400, /query parameter x/);
    });

    it('is read-only: other methods answer a JSON:API 405', async () => {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await api.request(method, IP_RANGES, { token: null, body: { api: ['0.0.0.0/0'] } });
        assertError(res, 405, new RegExp(`^${method} is not allowed on /api/meta/ip-ranges$`));
      }
      assert.deepEqual((await api.get(IP_RANGES, { token: null })).body.api, []);
    });
  });

  describe("a workspace's links", () => {
    it('name the workspace in the API (self) and where Terraform Cloud would show it (self-html)', async () => {
      const ws = await createWorkspace(api, org);
      const name = ws.attributes.name;
      const expected = { self: `/api/v2/organizations/${org}/workspaces/${name}`, 'self-html': `/app/${org}/workspaces/${name}` };
      assert.deepEqual(ws.links, expected);
      for (const path of [`/organizations/${org}/workspaces/${name}`, `/workspaces/${ws.id}`]) {
        const res = await api.get(path);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.data.links, expected);
      }
      const listed = await api.get(`/organizations/${org}/workspaces?search%5Bname%5D=${name}`);
      assert.deepEqual(listed.body.data[0].links, expected);
    });
  });

  describe('can-manage-run-tasks in permission blocks', () => {
    // otfd runs no run tasks (its entitlement set says so); the permission says who holds the
    // right, as Terraform Cloud's permission blocks do.
    let ws: Json;
    before(async () => {
      ws = await createWorkspace(api, org);
    });

    async function runTaskRights(client: Api): Promise<{ organization: boolean; workspace: boolean }> {
      const o = await client.get(`/organizations/${org}`);
      assert.equal(o.status, 200, o.text);
      const w = await client.get(`/workspaces/${ws.id}`);
      assert.equal(w.status, 200, w.text);
      return { organization: o.body.data.attributes.permissions['can-manage-run-tasks'], workspace: w.body.data.attributes.permissions['can-manage-run-tasks'] };
    }

    it('is true for the owners (and the site administrator) on both', async () => {
      assert.deepEqual(await runTaskRights(api), { organization: true, workspace: true });
      const owner = await createUser(api);
      const owners = (await api.get(`/organizations/${org}/teams?filter[names]=owners`)).body.data[0];
      await addToOrganization(api, org, owner, [owners.id]);
      assert.deepEqual(await runTaskRights(owner.client), { organization: true, workspace: true });
    });

    it("follows the workspace access: admin and custom run-tasks hold it, write and read do not", async () => {
      for (const [access, custom, expected] of [
        ['admin', {}, true],
        ['custom', { 'run-tasks': true }, true],
        ['write', {}, false],
        ['read', {}, false],
      ] as const) {
        const team = await createTeam(api, org);
        await grant(api, team.id, ws.id, access, custom);
        const user = await createUser(api);
        await addToOrganization(api, org, user, [team.id]);
        assert.deepEqual(await runTaskRights(user.client), { organization: false, workspace: expected }, `${access} ${JSON.stringify(custom)}`);
      }
    });

    it('is true on the organization for a team with manage-run-tasks', async () => {
      const team = await createTeam(api, org, { 'manage-run-tasks': true });
      await grant(api, team.id, ws.id, 'read');
      const user = await createUser(api);
      await addToOrganization(api, org, user, [team.id]);
      assert.deepEqual(await runTaskRights(user.client), { organization: true, workspace: false });
    });
  });

  describe('unlocking a workspace a run holds', () => {
    it('answers 409 "locked by Run <id>" (go-tfe: ErrWorkspaceLockedByRun) and the run keeps the lock', async () => {
      // The test server runs no jobs: the run takes the lock and waits with its plan queued.
      const ws = await createWorkspace(api, org);
      const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      assert.equal(cv.status, 201, cv.text);
      assert.equal((await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': fixture('one-resource') }))).status, 200);
      const run = await api.post('/runs', { data: { type: 'runs', relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } });
      assert.equal(run.status, 201, run.text);
      const runId = run.body.data.id;
      const locked = await api.get(`/workspaces/${ws.id}`);
      assert.equal(locked.body.data.attributes.locked, true, locked.text);
      assert.deepEqual(locked.body.data.relationships['locked-by'].data, { type: 'runs', id: runId });

      const writer = await userWithAccess(api, org, [ws.id], 'write');
      for (const client of [api, writer.client]) {
        assertError(await client.post(`/workspaces/${ws.id}/actions/unlock`), 409, new RegExp(`^Unable to unlock workspace\\. The workspace is locked by Run ${runId}\\.$`));
      }
      assertError(await api.post(`/workspaces/${ws.id}/actions/force-unlock`), 409, new RegExp(`is locked by Run ${runId}; cancel or discard the run instead`));
      const after = await api.get(`/workspaces/${ws.id}`);
      assert.deepEqual(after.body.data.relationships['locked-by'].data, { type: 'runs', id: runId });
      assert.equal((await api.get(`/runs/${runId}`)).body.data.attributes.status, 'plan_queued');
    });
  });
});
