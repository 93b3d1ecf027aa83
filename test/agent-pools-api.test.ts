// Agent pools, their agent tokens and their agents through the JSON:API, and the agent protocol
// (/api/agent) driven directly over HTTP: the test plays the agent, registering, sending heartbeats,
// long-polling for jobs and holding them. No engine runs here; otfd's server agent is off.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ids, type Api, type Json, type Response } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';

// Silent agents are unknown after 3 heartbeats (3 s) and errored after the grace period.
const GRACE_SECONDS = 5;

const ONE_RESOURCE = fixture('one-resource-no-output');

function poolDoc(attributes: Record<string, unknown>, allowed?: string[]): Json {
  const data: Json = { type: 'agent-pools', attributes };
  if (allowed) data.relationships = { 'allowed-workspaces': { data: allowed.map((id) => ({ type: 'workspaces', id })) } };
  return { data };
}

describe('agent pools API and the agent protocol', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer({ config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: GRACE_SECONDS } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  // ------------------------------------------------------------ helpers bound to the server

  async function createPool(attributes: Record<string, unknown> = {}, allowed?: string[], owner = org): Promise<Json> {
    const res = await api.post(`/organizations/${owner}/agent-pools`, poolDoc({ name: randomName('pool'), ...attributes }, allowed));
    assertStatus(res, 201);
    return res.body.data;
  }

  async function getPool(id: string): Promise<Json> {
    const res = await api.get(`/agent-pools/${id}`);
    assertStatus(res, 200);
    return res.body.data;
  }

  async function createToken(poolId: string, description = 'ci'): Promise<{ id: string; secret: string; data: Json }> {
    const res = await api.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description } } });
    assertStatus(res, 201);
    return { id: res.body.data.id, secret: res.body.data.attributes.token, data: res.body.data };
  }

  async function getWorkspace(id: string): Promise<Json> {
    const res = await api.get(`/workspaces/${id}`);
    assertStatus(res, 200);
    return res.body.data;
  }

  function setExecution(wsId: string, attributes: Record<string, unknown>): Promise<Response> {
    return api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes } });
  }

  async function assignToPool(wsId: string, poolId: string): Promise<void> {
    assertStatus(await setExecution(wsId, { 'execution-mode': 'agent', 'agent-pool-id': poolId }), 200);
  }

  async function uploadConfig(wsId: string): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(res, 201);
    const put = await uploadTarball(api, res.body.data, configTarball({ 'main.tf': ONE_RESOURCE }));
    assert.equal(put.status, 200, put.text);
  }

  /** A workspace running on the pool, with a configuration to run. */
  async function poolWorkspace(poolId: string): Promise<Json> {
    const ws = await createWorkspace(api, org);
    await assignToPool(ws.id, poolId);
    await uploadConfig(ws.id);
    return ws;
  }

  async function createRun(wsId: string, attributes: Record<string, unknown> = {}): Promise<Json> {
    const res = await api.post('/runs', { data: { type: 'runs', attributes, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assertStatus(res, 201);
    return res.body.data;
  }

  async function runStatus(id: string): Promise<string> {
    const res = await api.get(`/runs/${id}`);
    assertStatus(res, 200);
    return res.body.data.attributes.status;
  }

  async function getAgent(id: string): Promise<Json> {
    const res = await api.get(`/agents/${id}`);
    assertStatus(res, 200);
    return res.body.data;
  }

  /** POST /api/agent/register with the agent token (null: none). */
  function register(token: string | null, body: Record<string, unknown> = {}): Promise<Response> {
    return api.post('/api/agent/register', body, { token });
  }

  interface TestAgent {
    id: string;
    name: string;
    token: string;
    /** A client holding the agent's access token. */
    client: Api;
  }

  async function registered(token: string, body: Record<string, unknown> = {}): Promise<TestAgent> {
    const res = await register(token, body);
    assertStatus(res, 201);
    return { id: res.body.id, name: res.body.name, token: res.body.token, client: api.withToken(res.body.token) };
  }

  function poll(agent: TestAgent, wait: number): Promise<Response> {
    return agent.client.get(`/api/agent/jobs?wait=${wait}`);
  }

  function sync(agent: TestAgent, jobs: string[] = []): Promise<Response> {
    return agent.client.post('/api/agent/sync', { status: jobs.length ? 'busy' : 'idle', jobs });
  }

  /** A pool with a token, and an agent of it. */
  async function poolWithAgent(attributes: Record<string, unknown> = {}): Promise<{ pool: Json; token: string; agent: TestAgent }> {
    const pool = await createPool(attributes);
    const { secret } = await createToken(pool.id);
    return { pool, token: secret, agent: await registered(secret) };
  }

  /** The agent takes the next job of its pool. */
  async function claim(agent: TestAgent): Promise<{ id: string; token: string; phase: string; run: string }> {
    const res = await poll(agent, 5);
    assertStatus(res, 200);
    assert.equal(res.body.jobs.length, 1, res.text);
    return res.body.jobs[0];
  }

  // ------------------------------------------------------------ pools

  describe('agent pools', () => {
    it('creates a pool with organization-scoped, allowed workspaces and agent-name-release-seconds, and shows it', async () => {
      const ws = await createWorkspace(api, org);
      const name = randomName('private');
      const res = await api.post(`/organizations/${org}/agent-pools`, poolDoc({ name, 'organization-scoped': false, 'agent-name-release-seconds': 300 }, [ws.id]));
      assertStatus(res, 201);
      const pool = res.body.data;
      assert.equal(pool.type, 'agent-pools');
      assert.match(pool.id, /^apool-/);
      assert.equal(pool.attributes.name, name);
      assert.equal(pool.attributes['organization-scoped'], false);
      assert.equal(pool.attributes['agent-name-release-seconds'], 300);
      assert.equal(pool.attributes['agent-count'], 0);
      assert.deepEqual(pool.relationships['allowed-workspaces'].data, [{ type: 'workspaces', id: ws.id }]);
      assert.deepEqual(pool.relationships.workspaces.data, []);
      assert.equal(pool.relationships.organization.data.id, org);
      assert.deepEqual(await getPool(pool.id), pool);
    });

    it('is organization-scoped, with no allowed workspaces and names released at once, unless told otherwise', async () => {
      const pool = await createPool();
      assert.equal(pool.attributes['organization-scoped'], true);
      assert.equal(pool.attributes['agent-name-release-seconds'], 0);
      assert.deepEqual(pool.relationships['allowed-workspaces'].data, []);
    });

    it('updates the name, the scope, the release seconds and the allowed workspaces', async () => {
      const [a, b] = [await createWorkspace(api, org), await createWorkspace(api, org)];
      const pool = await createPool({}, [a.id]);
      const name = randomName('renamed');
      const res = await api.patch(`/agent-pools/${pool.id}`, poolDoc({ name, 'organization-scoped': false, 'agent-name-release-seconds': 5 }, [b.id]));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.name, name);
      assert.equal(res.body.data.attributes['organization-scoped'], false);
      assert.equal(res.body.data.attributes['agent-name-release-seconds'], 5);
      assert.deepEqual(ids(res.body.data.relationships['allowed-workspaces'].data), [b.id]);
      // Attributes left out stay as they are.
      const again = await api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'agent-name-release-seconds': 0 }));
      assertStatus(again, 200);
      assert.equal(again.body.data.attributes.name, name);
      assert.deepEqual(ids(again.body.data.relationships['allowed-workspaces'].data), [b.id]);
    });

    it('refuses a taken name, a bad name and an allowed workspace of another organization, creating nothing', async () => {
      const other = await createOrganization(api);
      const foreign = await createWorkspace(api, other);
      const taken = await createPool();
      const before = (await api.get(`/organizations/${org}/agent-pools?page[size]=100`)).body.meta.pagination['total-count'];

      assertError(await api.post(`/organizations/${org}/agent-pools`, poolDoc({ name: taken.attributes.name })), 409, /agent pool name ".*" is already taken/, {
        pointer: '/data/attributes/name',
      });
      assertError(await api.post(`/organizations/${org}/agent-pools`, poolDoc({ name: 'no spaces allowed' })), 422, /must be 1 to 90 letters/, {
        pointer: '/data/attributes/name',
      });
      assertError(await api.post(`/organizations/${org}/agent-pools`, poolDoc({ name: randomName('pool') }, [foreign.id])), 422, new RegExp(`workspace "${foreign.id}" does not exist in organization "${org}"`), {
        pointer: '/data/relationships/allowed-workspaces',
      });
      assertError(await api.patch(`/agent-pools/${taken.id}`, poolDoc({}, [foreign.id])), 422, /does not exist in organization/);
      assert.deepEqual((await getPool(taken.id)).relationships['allowed-workspaces'].data, []);
      assert.equal((await api.get(`/organizations/${org}/agent-pools?page[size]=100`)).body.meta.pagination['total-count'], before);
    });

    it('lists pools filtered by q and filter[allowed_workspaces][name], sorted by sort', async () => {
      const own = await createOrganization(api);
      const ws = await createWorkspace(api, own, 'granted-ws');
      const alpha = await createPool({ name: 'alpha-builders', 'organization-scoped': false }, [ws.id], own);
      const beta = await createPool({ name: 'beta-builders', 'organization-scoped': false }, [], own);
      const gamma = await createPool({ name: 'gamma-runners' }, [], own);
      const list = async (q: string) => {
        const res = await api.get(`/organizations/${own}/agent-pools${q}`);
        assertStatus(res, 200);
        return res.body;
      };

      const all = await list('');
      assert.deepEqual(ids(all.data), [alpha.id, beta.id, gamma.id], 'sorted by name by default');
      assert.equal(all.meta.pagination['total-count'], 3);
      assert.deepEqual(ids((await list('?sort=-name')).data), [gamma.id, beta.id, alpha.id]);
      assert.deepEqual(ids((await list('?sort=created-at')).data), [alpha.id, beta.id, gamma.id]);
      assert.deepEqual(ids((await list('?sort=-created-at')).data), [gamma.id, beta.id, alpha.id]);
      assert.deepEqual(ids((await list('?q=BUILDERS')).data), [alpha.id, beta.id]);
      assert.deepEqual(ids((await list('?q=nothing-like-it')).data), []);
      // The pools the workspace may use: the one that allows it, and the organization-scoped one.
      assert.deepEqual(ids((await list('?filter[allowed_workspaces][name]=granted-ws')).data), [alpha.id, gamma.id]);
      assert.deepEqual(ids((await list('?filter[allowed_workspaces][name]=no-such-ws')).data), []);
      assert.deepEqual(ids((await list('?q=builders&filter[allowed_workspaces][name]=granted-ws&sort=-name')).data), [alpha.id]);
      assert.deepEqual(ids((await list('?page[size]=1&page[number]=2')).data), [beta.id]);
      assertError(await api.get(`/organizations/${own}/agent-pools?sort=agent-count`), 400, /sort must be name or created-at/, { parameter: 'sort' });
    });

    it('refuses to delete a pool a workspace runs on (409 naming it), and deletes it once the workspace has moved', async () => {
      const pool = await createPool();
      const ws = await createWorkspace(api, org);
      await assignToPool(ws.id, pool.id);
      assert.deepEqual(ids((await getPool(pool.id)).relationships.workspaces.data), [ws.id]);

      assertError(await api.delete(`/agent-pools/${pool.id}`), 409, new RegExp(`agent pool "${pool.attributes.name}" is used by workspace "${ws.attributes.name}"`));
      assert.equal((await getPool(pool.id)).attributes.name, pool.attributes.name);
      assert.equal((await getWorkspace(ws.id)).relationships['agent-pool'].data.id, pool.id);

      assertStatus(await setExecution(ws.id, { 'execution-mode': 'remote' }), 200);
      const moved = await getWorkspace(ws.id);
      assert.equal(moved.attributes['execution-mode'], 'remote');
      assert.equal(moved.relationships['agent-pool'].data, null);
      assertStatus(await api.delete(`/agent-pools/${pool.id}`), 204);
      assertStatus(await api.get(`/agent-pools/${pool.id}`), 404);
    });
  });

  // ------------------------------------------------------------ agent tokens

  describe('agent tokens', () => {
    it('creates a token whose secret is shown only in the create response; lists, shows and deletes it, refusing its agents from then on', async () => {
      const pool = await createPool();
      const created = await createToken(pool.id, 'build farm');
      assert.equal(created.data.type, 'authentication-tokens');
      assert.match(created.id, /^at-/);
      assert.match(created.secret, new RegExp(`^${created.id}\\.`));
      assert.equal(created.data.attributes.description, 'build farm');
      const second = await createToken(pool.id, 'second');

      const list = await api.get(`/agent-pools/${pool.id}/authentication-tokens`);
      assertStatus(list, 200);
      assert.deepEqual(ids(list.body.data), [created.id, second.id]);
      assert.ok(list.body.data.every((t: Json) => t.attributes.token === null), list.text);
      assert.doesNotMatch(list.text, new RegExp(created.secret.split('.')[1]));
      const newestFirst = await api.get(`/agent-pools/${pool.id}/authentication-tokens?sort=-created-at`);
      assert.deepEqual(ids(newestFirst.body.data), [second.id, created.id]);

      const shown = await api.get(`/authentication-tokens/${created.id}`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.attributes.description, 'build farm');
      assert.equal(shown.body.data.attributes.token, null);

      const agent = await registered(created.secret);
      assertStatus(await sync(agent), 200);

      assertStatus(await api.delete(`/authentication-tokens/${created.id}`), 204);
      assertStatus(await api.get(`/authentication-tokens/${created.id}`), 404);
      // The agent that registered with it is refused at its next call.
      assertError(await sync(agent), 401, /agent token .* registered with has been deleted/);
      assertError(await poll(agent, 0), 401, /has been deleted/);
      assert.deepEqual(ids((await api.get(`/agent-pools/${pool.id}/authentication-tokens`)).body.data), [second.id]);
      assertStatus(await register(created.secret), 401);
      assertStatus(await register(second.secret), 201);
    });

    it('accepts the type "agent-tokens" go-tfe sends, and refuses other types (422)', async () => {
      const pool = await createPool();
      const res = await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'agent-tokens', attributes: { description: 'go-tfe' } } });
      assertStatus(res, 201);
      assert.equal(res.body.data.type, 'authentication-tokens');
      assert.equal(res.body.data.attributes.description, 'go-tfe');
      assertStatus(await register(res.body.data.attributes.token), 201);
      assertError(await api.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: 'users', attributes: {} } }), 422, /data\.type must be one of/);
    });
  });

  // ------------------------------------------------------------ workspaces on pools

  describe('assigning workspaces to pools', () => {
    async function assertUnchanged(ws: Json): Promise<void> {
      const now = await getWorkspace(ws.id);
      assert.equal(now.attributes['execution-mode'], ws.attributes['execution-mode']);
      assert.deepEqual(now.relationships['agent-pool'].data, ws.relationships['agent-pool'].data);
    }

    it('refuses agent mode without a pool (422), changing nothing', async () => {
      const ws = await createWorkspace(api, org);
      assertError(await setExecution(ws.id, { 'execution-mode': 'agent' }), 422, /execution mode "agent" needs an agent pool/, { pointer: '/data/attributes/agent-pool-id' });
      await assertUnchanged(ws);
    });

    it('refuses a pool that does not allow the workspace (422), changing nothing; granting it makes the same request work', async () => {
      const ws = await createWorkspace(api, org);
      const pool = await createPool({ 'organization-scoped': false });
      assertError(
        await setExecution(ws.id, { 'execution-mode': 'agent', 'agent-pool-id': pool.id }),
        422,
        new RegExp(`agent pool "${pool.attributes.name}" does not allow workspace "${ws.attributes.name}"`),
        { pointer: '/data/attributes/agent-pool-id' },
      );
      await assertUnchanged(ws);
      assertError(
        await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws'), 'execution-mode': 'agent', 'agent-pool-id': pool.id } } }),
        422,
        /does not allow a new workspace/,
        { pointer: '/data/attributes/agent-pool-id' },
      );

      assertStatus(await api.patch(`/agent-pools/${pool.id}`, poolDoc({}, [ws.id])), 200);
      await assignToPool(ws.id, pool.id);
      assert.equal((await getWorkspace(ws.id)).relationships['agent-pool'].data.id, pool.id);
    });

    it('refuses a pool of another organization (422), changing nothing', async () => {
      const other = await createOrganization(api);
      const foreign = await createPool({}, undefined, other);
      const ws = await createWorkspace(api, org);
      assertError(await setExecution(ws.id, { 'execution-mode': 'agent', 'agent-pool-id': foreign.id }), 422, /does not exist in this organization/, {
        pointer: '/data/attributes/agent-pool-id',
      });
      await assertUnchanged(ws);
    });

    it('refuses an agent-pool-id with remote execution (422), changing nothing', async () => {
      const pool = await createPool();
      const ws = await createWorkspace(api, org);
      await assignToPool(ws.id, pool.id);
      const before = await getWorkspace(ws.id);
      assertError(await setExecution(ws.id, { 'execution-mode': 'remote', 'agent-pool-id': pool.id }), 422, /an agent pool can only be set with execution mode "agent", not "remote"/, {
        pointer: '/data/attributes/agent-pool-id',
      });
      await assertUnchanged(before);
    });

    it('refuses to change the execution mode (409) while a run holds the workspace', async () => {
      const pool = await createPool();
      const ws = await poolWorkspace(pool.id);
      const run = await createRun(ws.id);
      await until('the run to be queued for an agent', () => runStatus(run.id), (s) => s === 'plan_queued', 15_000);
      const before = await getWorkspace(ws.id);
      assert.equal(before.attributes.locked, true);

      assertError(await setExecution(ws.id, { 'execution-mode': 'remote' }), 409, new RegExp(`cannot change while run ${run.id} is active`));
      assertError(await setExecution(ws.id, { 'agent-pool-id': (await createPool()).id }), 409, /cannot change while run/);
      await assertUnchanged(before);

      assertStatus(await api.post(`/runs/${run.id}/actions/cancel`, {}), 202);
      assert.equal(await runStatus(run.id), 'canceled');
      assertStatus(await setExecution(ws.id, { 'execution-mode': 'remote' }), 200);
    });
  });

  // ------------------------------------------------------------ a pool's allowed workspaces hold

  describe("a pool's allowed workspaces hold while workspaces are assigned to it", () => {
    /** The pool's scope and allowed workspaces, as the API shows them. */
    async function scopeOf(id: string): Promise<{ scoped: boolean; allowed: string[] }> {
      const pool = await getPool(id);
      return { scoped: pool.attributes['organization-scoped'], allowed: ids(pool.relationships['allowed-workspaces'].data).sort() };
    }

    it('refuses to stop being organization-scoped while an assigned workspace would not be allowed (422 naming it), changing nothing', async () => {
      const pool = await createPool();
      const a = await createWorkspace(api, org, randomName('alpha'));
      const b = await createWorkspace(api, org, randomName('beta'));
      await assignToPool(a.id, pool.id);
      await assignToPool(b.id, pool.id);

      assertError(
        await api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'organization-scoped': false })),
        422,
        new RegExp(`agent pool "${pool.attributes.name}" is assigned to workspaces ("${a.attributes.name}", "${b.attributes.name}"|"${b.attributes.name}", "${a.attributes.name}"), which it would no longer allow: unassign them from the pool first .*or keep them among the pool's allowed workspaces`),
        { pointer: '/data/attributes/organization-scoped' },
      );
      assert.deepEqual(await scopeOf(pool.id), { scoped: true, allowed: [] });
      // With a list that leaves one out, that one is named.
      assertError(
        await api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'organization-scoped': false }, [a.id])),
        422,
        new RegExp(`is assigned to workspace "${b.attributes.name}", which it would no longer allow: unassign it from the pool first`),
        { pointer: '/data/relationships/allowed-workspaces' },
      );
      assert.deepEqual(await scopeOf(pool.id), { scoped: true, allowed: [] });

      // Keeping both allowed, the same change is made.
      assertStatus(await api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'organization-scoped': false }, [a.id, b.id])), 200);
      assert.deepEqual(await scopeOf(pool.id), { scoped: false, allowed: [a.id, b.id].sort() });
      assert.equal((await getWorkspace(a.id)).relationships['agent-pool'].data.id, pool.id);
    });

    it('refuses allowed workspaces that leave out an assigned one (422 naming it), changing nothing; unassigned, it may go', async () => {
      const a = await createWorkspace(api, org);
      const c = await createWorkspace(api, org);
      const pool = await createPool({ 'organization-scoped': false }, [a.id, c.id]);
      await assignToPool(a.id, pool.id);

      for (const allowed of [[c.id], []]) {
        assertError(
          await api.patch(`/agent-pools/${pool.id}`, poolDoc({}, allowed)),
          422,
          new RegExp(`agent pool "${pool.attributes.name}" is assigned to workspace "${a.attributes.name}", which it would no longer allow`),
          { pointer: '/data/relationships/allowed-workspaces' },
        );
        assert.deepEqual(await scopeOf(pool.id), { scoped: false, allowed: [a.id, c.id].sort() });
      }
      // Other attributes of a refused request are not changed either.
      assertError(await api.patch(`/agent-pools/${pool.id}`, poolDoc({ name: randomName('renamed'), 'agent-name-release-seconds': 60 }, [c.id])), 422, /would no longer allow/);
      const kept = await getPool(pool.id);
      assert.equal(kept.attributes.name, pool.attributes.name);
      assert.equal(kept.attributes['agent-name-release-seconds'], 0);

      // A workspace that is allowed but not assigned may be dropped; the assigned one stays.
      assertStatus(await api.patch(`/agent-pools/${pool.id}`, poolDoc({}, [a.id])), 200);
      assert.deepEqual(await scopeOf(pool.id), { scoped: false, allowed: [a.id] });
      // Renaming, or any change that keeps the assigned workspaces allowed, is made.
      assertStatus(await api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'agent-name-release-seconds': 30 })), 200);
      // Once the workspace runs elsewhere, the pool may stop allowing it.
      assertStatus(await setExecution(a.id, { 'execution-mode': 'remote' }), 200);
      assertStatus(await api.patch(`/agent-pools/${pool.id}`, poolDoc({}, [])), 200);
      assert.deepEqual(await scopeOf(pool.id), { scoped: false, allowed: [] });
    });

    it('names only the assigned workspaces the caller may read, and counts the others', async () => {
      const seen = await createWorkspace(api, org, randomName('seen'));
      const unseen = await createWorkspace(api, org, randomName('unseen'));
      const pool = await createPool();
      await assignToPool(seen.id, pool.id);
      await assignToPool(unseen.id, pool.id);
      const user = await createUser(api);
      const team = await createTeam(api, org, { 'manage-agent-pools': true });
      await addToOrganization(api, org, user, [team.id]);
      await grant(api, team.id, seen.id, 'read');

      const res = await user.client.patch(`/agent-pools/${pool.id}`, poolDoc({ 'organization-scoped': false }));
      assertError(res, 422, new RegExp(`is assigned to workspaces "${seen.attributes.name}", 1 more you cannot see, which it would no longer allow`));
      assert.ok(!res.text.includes(unseen.attributes.name) && !res.text.includes(unseen.id), 'the unreadable workspace is not named');
      assert.deepEqual(await scopeOf(pool.id), { scoped: true, allowed: [] });
    });

    it('refuses hostile allowed-workspaces (malformed, NUL bytes, oversized, another organization\'s) with a 4xx, changing nothing', async () => {
      const a = await createWorkspace(api, org);
      const pool = await createPool({ 'organization-scoped': false }, [a.id]);
      await assignToPool(a.id, pool.id);
      const foreign = await createWorkspace(api, await createOrganization(api));
      const bodies: Json[] = [
        poolDoc({}, [foreign.id]),
        poolDoc({}, [`${a.id}\u0000`]),
        poolDoc({}, ['x'.repeat(100_000)]),
        { data: { type: 'agent-pools', relationships: { 'allowed-workspaces': { data: a.id } } } },
        { data: { type: 'agent-pools', relationships: { 'allowed-workspaces': { data: [{ type: 'organizations', id: a.id }] } } } },
        { data: { type: 'agent-pools', attributes: { 'organization-scoped': 'false' } } },
      ];
      for (const body of bodies) {
        const res = await api.patch(`/agent-pools/${pool.id}`, body);
        assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body).slice(0, 200)}: ${res.status} ${res.text.slice(0, 300)}`);
        assert.ok(Array.isArray(res.body?.errors) && typeof res.body.errors[0].detail === 'string' && res.body.errors[0].detail !== '', res.text.slice(0, 300));
        assert.deepEqual(await scopeOf(pool.id), { scoped: false, allowed: [a.id] });
      }
      assert.equal((await getWorkspace(a.id)).relationships['agent-pool'].data.id, pool.id);
    });

    it('assigning a workspace and narrowing the pool at the same time never leave a workspace on a pool that does not allow it', async () => {
      for (let i = 0; i < 8; i++) {
        const ws = await createWorkspace(api, org);
        const pool = await createPool({}, []);
        const [assign, narrow] = await Promise.all([
          setExecution(ws.id, { 'execution-mode': 'agent', 'agent-pool-id': pool.id }),
          api.patch(`/agent-pools/${pool.id}`, poolDoc({ 'organization-scoped': false }, [])),
        ]);
        // One of the two is refused, and which one decides what is left.
        assert.deepEqual([assign.status, narrow.status].sort(), [200, 422], `${assign.text}\n${narrow.text}`);
        const scope = await scopeOf(pool.id);
        const on = (await getWorkspace(ws.id)).relationships['agent-pool'].data?.id ?? null;
        if (assign.status === 200) assert.deepEqual([on, scope.scoped], [pool.id, true]);
        else assert.deepEqual([on, scope.scoped], [null, false]);
      }
    });
  });

  // ------------------------------------------------------------ registration

  describe('registration', () => {
    let pool: Json;
    let token: { id: string; secret: string };

    before(async () => {
      pool = await createPool();
      token = await createToken(pool.id);
    });

    it('answers an agent token with the agent, its access token, its pool and the heartbeat interval; the agent shows idle', async () => {
      const res = await register(token.secret, { name: 'first-agent', version: '0.1.0', hostname: 'build-7', os: 'linux', arch: 'amd64', concurrency: 2 });
      assertStatus(res, 201);
      assert.match(res.body.id, /^agent-/);
      assert.equal(res.body.name, 'first-agent');
      assert.match(res.body.token, new RegExp(`^${res.body.id}\\.`));
      assert.deepEqual(res.body.pool, { id: pool.id, name: pool.attributes.name });
      assert.equal(res.body.heartbeatSeconds, 1);

      const agent = await getAgent(res.body.id);
      assert.equal(agent.attributes.status, 'idle');
      assert.equal(agent.attributes.name, 'first-agent');
      assert.equal(agent.attributes.hostname, 'build-7');
      assert.equal(agent.attributes.concurrency, 2);
      assert.equal(agent.relationships['agent-pool'].data.id, pool.id);
      assert.equal((await getPool(pool.id)).attributes['agent-count'], 1);

      const unnamed = await registered(token.secret);
      assert.match(unnamed.name, /^[A-Za-z0-9._-]{8,80}$/);
    });

    it('refuses a missing, unknown or deleted agent token, and an agent access token, with 401', async () => {
      assertError(await register(null), 401, /missing bearer token/);
      assertError(await register(`${token.id}.wrong-secret`), 401, /invalid, expired or revoked/);
      assertError(await register('at-0000000000000000.nothing'), 401, /invalid, expired or revoked/);
      const doomed = await createToken(pool.id);
      assertStatus(await api.delete(`/authentication-tokens/${doomed.id}`), 204);
      assertError(await register(doomed.secret), 401, /invalid, expired or revoked/);
      const agent = await registered(token.secret);
      assertError(await register(agent.token), 401, /needs an agent token/);
    });

    it('refuses a name of 5 characters with 422, registering nothing', async () => {
      const before = (await api.get(`/agent-pools/${pool.id}/agents`)).body.meta.pagination['total-count'];
      assertError(await register(token.secret, { name: 'abcde' }), 422, /must be 8 to 80 letters, digits, "-", "_" or "\."/, { pointer: '/name' });
      assertError(await register(token.secret, { name: 'has spaces in it' }), 422, /must be 8 to 80/);
      assert.equal((await api.get(`/agent-pools/${pool.id}/agents`)).body.meta.pagination['total-count'], before);
    });

    it('refuses the name of a live agent of the pool with 409; another pool may use it', async () => {
      const live = await registered(token.secret, { name: 'twin-runner' });
      assertError(await register(token.secret, { name: 'twin-runner' }), 409, new RegExp(`agent name "twin-runner" is in use by live agent ${live.id} \\(idle\\)`), { pointer: '/name' });
      const elsewhere = await poolWithAgent();
      const other = await register((await createToken(elsewhere.pool.id)).secret, { name: 'twin-runner' });
      assertStatus(other, 201);
    });

    it('frees the name of an exited agent at once when agent-name-release-seconds is 0', async () => {
      const agent = await registered(token.secret, { name: 'leaver-runner' });
      assertStatus(await agent.client.post('/api/agent/deregister', {}), 204);
      assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
      assertStatus(await register(token.secret, { name: 'leaver-runner' }), 201);
    });

    it('keeps the name of an exited agent reserved for agent-name-release-seconds (409), then frees it', async () => {
      const keeping = await createPool({ 'agent-name-release-seconds': 1 });
      const secret = (await createToken(keeping.id)).secret;
      const agent = await registered(secret, { name: 'keeper-runner' });
      assertStatus(await agent.client.post('/api/agent/deregister', {}), 204);
      assertError(await register(secret, { name: 'keeper-runner' }), 409, new RegExp(`agent name "keeper-runner" is reserved until .* \\(agent ${agent.id} exited\\)`));
      const again = await until('the name to be released', () => register(secret, { name: 'keeper-runner' }), (r) => r.status !== 409, 5_000);
      assertStatus(again, 201);
      assert.notEqual(again.body.id, agent.id);
    });

    it('lets an agent marked errored take its reserved name back with "replaces"', async () => {
      const keeping = await createPool({ 'agent-name-release-seconds': 3600 });
      const secret = (await createToken(keeping.id)).secret;
      const lost = await registered(secret, { name: 'phoenix-runner' });
      // Silent for the grace period, it is marked errored.
      await until('the silent agent to be marked errored', () => getAgent(lost.id), (a) => a.attributes.status === 'errored', (GRACE_SECONDS + 10) * 1000);
      assertError(await sync(lost), 409, /marked errored .*register again/);
      assertError(await register(secret, { name: 'phoenix-runner' }), 409, /is reserved until/);
      assertError(await register(secret, { name: 'phoenix-runner', replaces: { id: lost.id, token: `${lost.id}.not-its-token` } }), 422, /"replaces" must name an agent of this pool/, {
        pointer: '/replaces',
      });

      const back = await register(secret, { name: 'phoenix-runner', replaces: { id: lost.id, token: lost.token } });
      assertStatus(back, 201);
      assert.equal(back.body.name, 'phoenix-runner');
      assert.notEqual(back.body.id, lost.id);
      assert.equal((await getAgent(lost.id)).attributes.status, 'exited');
      assert.equal((await getAgent(back.body.id)).attributes.status, 'idle');
    });
  });

  // ------------------------------------------------------------ agents as users see them

  describe('agents', () => {
    it('lists the agents of a pool, filtered by filter[last-ping-since], and shows one', async () => {
      const { pool, token, agent: quiet } = await poolWithAgent();
      const talker = await registered(token);
      const quietPing = (await getAgent(quiet.id)).attributes['last-ping-at'];
      assertStatus(await sync(talker), 200);
      const talkerPing = (await getAgent(talker.id)).attributes['last-ping-at'];
      assert.ok(talkerPing > quietPing, `${talkerPing} after ${quietPing}`);

      const list = async (q: string) => {
        const res = await api.get(`/agent-pools/${pool.id}/agents${q}`);
        assertStatus(res, 200);
        return ids(res.body.data).sort();
      };
      assert.deepEqual(await list(''), [quiet.id, talker.id].sort());
      const since = new Date(new Date(quietPing).getTime() + 1).toISOString();
      assert.deepEqual(await list(`?filter[last-ping-since]=${encodeURIComponent(since)}`), [talker.id]);
      assert.deepEqual(await list(`?filter[last-ping-since]=${encodeURIComponent(quietPing)}`), [quiet.id, talker.id].sort());
      assert.deepEqual(await list(`?filter[last-ping-since]=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`), []);
      assertError(await api.get(`/agent-pools/${pool.id}/agents?filter[last-ping-since]=yesterday`), 400, /must be an ISO 8601 time/, { parameter: 'filter[last-ping-since]' });

      const shown = await getAgent(quiet.id);
      assert.equal(shown.type, 'agents');
      assert.equal(shown.attributes.name, quiet.name);
      assertStatus(await api.get('/agents/agent-0000000000000000'), 404);
    });

    it('refuses to delete an idle or busy agent (412) and deletes it once it has exited; the job it claimed goes back to the queue', async () => {
      const { pool, token, agent } = await poolWithAgent();
      assertError(await api.delete(`/agents/${agent.id}`), 412, new RegExp(`agent "${agent.name}" is idle`));

      const ws = await poolWorkspace(pool.id);
      const run = await createRun(ws.id);
      const job = await claim(agent);
      assert.equal(job.run, run.id);
      assert.equal((await getAgent(agent.id)).attributes.status, 'busy');
      assertError(await api.delete(`/agents/${agent.id}`), 412, new RegExp(`agent "${agent.name}" is busy`));

      assertStatus(await agent.client.post('/api/agent/deregister', {}), 204);
      assert.equal((await getAgent(agent.id)).attributes.status, 'exited');
      assertStatus(await api.delete(`/agents/${agent.id}`), 204);
      assertStatus(await api.get(`/agents/${agent.id}`), 404);

      // The job it claimed but never started is handed to the next agent.
      const next = await registered(token);
      const again = await claim(next);
      assert.equal(again.id, job.id);
      assert.equal(await runStatus(run.id), 'plan_queued');
    });
  });

  // ------------------------------------------------------------ the health of agents

  describe('silent agents', () => {
    it('an agent silent for 3 heartbeats is unknown; after the grace period it is errored, the run it held ends errored naming it, and it can be deleted', async () => {
      const { pool, agent } = await poolWithAgent();
      const ws = await poolWorkspace(pool.id);
      const run = await createRun(ws.id);
      const job = await claim(agent);
      assertStatus(await api.withToken(job.token).post(`/api/agent/jobs/${job.id}/start`, {}), 200);
      assert.equal(await runStatus(run.id), 'planning');

      await until('the silent agent to be unknown', () => getAgent(agent.id), (a) => a.attributes.status === 'unknown', (GRACE_SECONDS + 10) * 1000);

      await until('the silent agent to be errored', () => getAgent(agent.id), (a) => a.attributes.status === 'errored', (GRACE_SECONDS + 10) * 1000);
      const ended = await api.get(`/runs/${run.id}`);
      assert.equal(ended.body.data.attributes.status, 'errored');
      assert.match(ended.body.data.attributes['error-message'], new RegExp(`agent "${agent.name}" \\(${agent.id}\\) stopped responding`));
      assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
      assertStatus(await api.delete(`/agents/${agent.id}`), 204);
    });
  });

  describe('deleting an unknown agent', () => {
    it('ends the run it held at once, errored and naming it, and unlocks the workspace', async () => {
      const { pool, agent } = await poolWithAgent();
      const ws = await poolWorkspace(pool.id);
      const run = await createRun(ws.id);
      const job = await claim(agent);
      assertStatus(await api.withToken(job.token).post(`/api/agent/jobs/${job.id}/start`, {}), 200);
      await until('the silent agent to be unknown', () => getAgent(agent.id), (a) => a.attributes.status === 'unknown', (GRACE_SECONDS + 10) * 1000);
      assertStatus(await api.delete(`/agents/${agent.id}`), 204);
      const ended = (await api.get(`/runs/${run.id}`)).body.data;
      assert.equal(ended.attributes.status, 'errored');
      assert.match(ended.attributes['error-message'], new RegExp(`agent "${agent.name}" \\(${agent.id}\\) was deleted while it was unknown`));
      assert.equal((await getWorkspace(ws.id)).attributes.locked, false);
    });
  });

  // ------------------------------------------------------------ the jobs long-poll and heartbeats

  describe('the jobs long-poll and heartbeats', () => {
    it('answers an empty list after `wait` seconds when there is no job', async () => {
      const { agent } = await poolWithAgent();
      const started = Date.now();
      const res = await poll(agent, 1);
      assertStatus(res, 200);
      assert.deepEqual(res.body, { jobs: [], signals: [] });
      assert.ok(Date.now() - started >= 900, 'it waited');
      assertError(await agent.client.get('/api/agent/jobs?wait=soon'), 400, /wait must be a number of seconds/, { parameter: 'wait' });
    });

    it('hands out a job within a second of a run being created', async () => {
      const { pool, agent } = await poolWithAgent();
      const ws = await poolWorkspace(pool.id);
      const waiting = poll(agent, 30);
      // Let the long-poll settle into waiting before there is anything to hand out.
      await sleep(300);
      const created = Date.now();
      const run = await createRun(ws.id);
      const res = await waiting;
      const elapsed = Date.now() - created;
      assertStatus(res, 200);
      assert.equal(res.body.jobs.length, 1, res.text);
      const [job] = res.body.jobs;
      assert.equal(job.run, run.id);
      assert.equal(job.phase, 'plan');
      assert.match(job.id, /^job-/);
      assert.match(job.token, new RegExp(`^${job.id}\\.`));
      // Woken by the queued job, long before the 30 s wait ends (dispatch speed is a benchmark).
      assert.ok(elapsed < 5000, `the job came ${elapsed} ms after the run was created`);
    });

    it('answers a heartbeat with {action:"cancel"} for a job it holds whose run was canceled; a waiting long-poll gets it at once', async () => {
      const { pool, agent } = await poolWithAgent();
      const ws = await poolWorkspace(pool.id);
      const run = await createRun(ws.id);
      const job = await claim(agent);
      const jobClient = api.withToken(job.token);
      assertStatus(await jobClient.post(`/api/agent/jobs/${job.id}/start`, {}), 200);
      assert.equal(await runStatus(run.id), 'planning');

      const quiet = await sync(agent, [job.id]);
      assertStatus(quiet, 200);
      assert.deepEqual(quiet.body, { heartbeatSeconds: 1, gracePeriodSeconds: GRACE_SECONDS, instructions: [] });

      const waiting = poll(agent, 20);
      await sleep(300);
      assertStatus(await api.post(`/runs/${run.id}/actions/cancel`, {}), 202);
      const signalled = await waiting;
      assertStatus(signalled, 200);
      assert.deepEqual(signalled.body, { jobs: [], signals: [{ action: 'cancel', job: job.id }] });

      const heartbeat = await sync(agent, [job.id]);
      assertStatus(heartbeat, 200);
      assert.deepEqual(heartbeat.body.instructions, [{ action: 'cancel', job: job.id }]);

      assertStatus(await jobClient.post(`/api/agent/jobs/${job.id}/finish`, { status: 'canceled' }), 200);
      assert.equal(await runStatus(run.id), 'canceled');
      assert.deepEqual((await sync(agent)).body.instructions, []);
      // The job's token ended with the job.
      assertStatus(await jobClient.get(`/api/agent/jobs/${job.id}`), 401);
    });
  });

  // ------------------------------------------------------------ what agent credentials can reach

  describe('what agent tokens, access tokens and job tokens can reach', () => {
    it('an agent token and an agent access token are no credentials for /api/v2: 401', async () => {
      const { pool, token, agent } = await poolWithAgent();
      const ws = await poolWorkspace(pool.id);
      for (const client of [api.withToken(token), agent.client]) {
        assertError(await client.get(`/organizations/${org}`), 401, /agent protocol only/);
        assertStatus(await client.get(`/workspaces/${ws.id}`), 401);
        assertStatus(await client.get(`/organizations/${org}/workspaces/${ws.attributes.name}`), 401);
        assertStatus(await client.get(`/agent-pools/${pool.id}`), 401);
        assertStatus(await client.get(`/agent-pools/${pool.id}/authentication-tokens`), 401);
        assertStatus(await client.get(`/agents/${agent.id}`), 401);
        assertStatus(await client.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws') } } }), 401);
        assertStatus(await client.get('/organizations'), 401);
        assertStatus(await client.get('/account/details'), 401);
      }
      // ...and each works only where it belongs in the agent protocol.
      assertError(await api.withToken(token).post('/api/agent/sync', {}), 401, /needs the access token/);
      assertStatus(await sync(agent), 200);
    });

    it('a job token sees nothing of another workspace that does not share its state with it (404)', async () => {
      const { pool, agent } = await poolWithAgent();
      const mine = await poolWorkspace(pool.id);
      const other = await createWorkspace(api, org);
      await createRun(mine.id);
      const job = await claim(agent);
      const jobClient = api.withToken(job.token);

      assertStatus(await jobClient.get(`/workspaces/${mine.id}`), 200);
      assertStatus(await jobClient.get(`/workspaces/${other.id}`), 404);
      assertStatus(await jobClient.get(`/organizations/${org}/workspaces/${other.attributes.name}`), 404);
      assertStatus(await jobClient.get(`/workspaces/${other.id}/current-state-version`), 404);
      assertStatus(await jobClient.get(`/workspaces/${other.id}/vars`), 404);
      const state = Buffer.from(JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'x', outputs: {}, resources: [] }));
      const write = await jobClient.post(`/workspaces/${other.id}/state-versions`, {
        data: { type: 'state-versions', attributes: { serial: 1, lineage: 'x', md5: crypto.createHash('md5').update(state).digest('hex'), state: state.toString('base64') } },
      });
      assertStatus(write, 404);
      assertStatus(await api.get(`/workspaces/${other.id}/current-state-version`), 404);
      const list = await jobClient.get(`/organizations/${org}/workspaces`);
      assertStatus(list, 200);
      assert.deepEqual(ids(list.body.data), [mine.id]);
    });
  });
});
