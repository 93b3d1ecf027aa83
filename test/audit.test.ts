// The audit trail as an organization's owners read it: one otfd running runs for real (its server
// agent, terraform on PATH), a scenario played by the site administrator, an owner, a team token,
// the organization token, a pool agent and the run's own jobs, and the trail that lists every change
// of it in order with the right actor, and nothing of a secret. Refused requests are recorded; a
// change that rolls back leaves no record; the trail pages, filters by time, exports as JSON lines
// (across the export's batches), and refuses bad queries and other organizations' readers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { runOtf } from './helpers/otf.js';
import { addToOrganization, createTeam, createUser, ownersTeam, teamToken, type TestUser } from './helpers/people.js';
import { createOrganization, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep, until } from './helpers/wait.js';
import { WebClient } from './helpers/web.js';

/** Values that must never appear in the trail: set as sensitive things in the scenario. */
const SENSITIVE_FIRST = `first-${crypto.randomBytes(8).toString('hex')}`;
const SENSITIVE_SECOND = `second-${crypto.randomBytes(8).toString('hex')}`;
const PLAIN_VALUE = `plain-${crypto.randomBytes(8).toString('hex')}`;

/** The JSON lines of an export, read as any HTTP client reads them. */
async function exportLines(api: Api, query: string, token: string): Promise<{ status: number; type: string; events: Json[]; text: string }> {
  const res = await fetch(`${api.baseUrl}/api/v2/organization/audit-trail/export${query}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  const events = res.status === 200 ? text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json) : [];
  return { status: res.status, type: String(res.headers.get('content-type')), events, text };
}

/** A request of the agent protocol, with an agent's token. */
async function agentCall(api: Api, path: string, token: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${api.baseUrl}/api/agent${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : null };
}

describe('audit trail', function () {
  let server: TestServer;
  let api: Api;
  let org: string;
  let owner: TestUser;
  let member: TestUser;
  let team: Json;
  let teamSecret: string;
  let orgSecret: string;
  let agentSecret: string;
  let agentAccess: string;
  /** Every secret the scenario handed out or set, to grep the trail for. */
  const secrets: string[] = [];
  /** The trail read with the organization token after the scenario: every event. */
  let trail: Json[];
  let ws: Json;
  let run: Json;
  /** A moment between the lock and the run: `since` returns what came after. */
  let mark: Date;
  const createRequestId = `audit-test-${crypto.randomBytes(4).toString('hex')}`;

  before(async function () {
    this.timeout(180_000);
    server = await startServer({ config: { concurrency: 1 } });
    api = server.api;
    org = await createOrganization(api);
    owner = await createUser(api);
    member = await createUser(api);
    secrets.push(owner.token, member.token);
    await addToOrganization(api, org, owner, [(await ownersTeam(api, org)).id]);
    await addToOrganization(api, org, member);

    // The owner: a team able to manage workspaces, with a token; the organization token.
    team = await createTeam(owner.client, org, { 'manage-workspaces': true });
    teamSecret = await teamToken(owner.client, team.id, 'audit');
    const orgToken = await owner.client.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
    assertStatus(orgToken, 201);
    orgSecret = orgToken.body.data.attributes.token;
    secrets.push(teamSecret, orgSecret);

    // The owner makes the workspace (naming its request id), locks and unlocks it.
    const created = await owner.client.post(
      `/organizations/${org}/workspaces`,
      { data: { type: 'workspaces', attributes: { name: 'audited', 'auto-apply': false } } },
      { headers: { 'X-Request-Id': createRequestId } },
    );
    assertStatus(created, 201);
    ws = created.body.data;
    assertStatus(await owner.client.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
    assertStatus(await owner.client.post(`/workspaces/${ws.id}/actions/unlock`, {}), 200);

    // The team token sets variables, one of them sensitive, and changes the sensitive value.
    const teamApi = api.withToken(teamSecret);
    const plain = await teamApi.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key: 'region', value: PLAIN_VALUE, category: 'terraform' } } });
    assertStatus(plain, 201);
    const sensitive = await teamApi.post(`/workspaces/${ws.id}/vars`, {
      data: { type: 'vars', attributes: { key: 'password', value: SENSITIVE_FIRST, category: 'terraform', sensitive: true } },
    });
    assertStatus(sensitive, 201);
    const changed = await teamApi.patch(`/workspaces/${ws.id}/vars/${sensitive.body.data.id}`, {
      data: { type: 'vars', id: sensitive.body.data.id, attributes: { value: SENSITIVE_SECOND } },
    });
    assertStatus(changed, 200);
    secrets.push(SENSITIVE_FIRST, SENSITIVE_SECOND);

    await sleep(50);
    mark = new Date();
    await sleep(50);

    // The organization token makes an agent pool and an agent token; an agent registers with it and leaves.
    const orgApi = api.withToken(orgSecret);
    const pool = await orgApi.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'audit-pool' } } });
    assertStatus(pool, 201);
    const agentToken = await orgApi.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'audit' } } });
    assertStatus(agentToken, 201);
    agentSecret = agentToken.body.data.attributes.token;
    const registered = await agentCall(api, '/register', agentSecret, { name: 'audit-agent' });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    agentAccess = registered.body.token;
    const left = await agentCall(api, '/deregister', agentAccess, {});
    assert.ok(left.status < 300, JSON.stringify(left.body));
    secrets.push(agentSecret, agentAccess);

    // The owner uploads a configuration, queues a run and applies it; its apply job saves the state.
    const cv = await owner.client.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    const put = await uploadTarball(owner.client, cv.body.data, configTarball({ 'main.tf': fixture('sensitive-variable', { secret: 'default-is-overridden' }) }));
    assert.equal(put.status, 200, put.text);
    const queued = await owner.client.post('/runs', {
      data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } },
    });
    assertStatus(queued, 201);
    run = queued.body.data;
    await until('the run to plan', () => owner.client.get(`/runs/${run.id}`), (r) => r.body.data.attributes.status === 'planned', 60_000);
    assertStatus(await owner.client.post(`/runs/${run.id}/actions/apply`, {}), 202);
    const applied = await until('the run to apply', () => owner.client.get(`/runs/${run.id}`), (r) => ['applied', 'errored'].includes(r.body.data.attributes.status), 60_000);
    assert.equal(applied.body.data.attributes.status, 'applied', applied.text);

    // Applying it again is refused (409): the run.apply it would record rolls back with it.
    assertStatus(await owner.client.post(`/runs/${run.id}/actions/apply`, {}), 409);
    // Refused: a member without rights changes the workspace; the organization token queues a run.
    assertStatus(await member.client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { description: 'nope' } } }), 404);
    assertStatus(await orgApi.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } }), 403);

    // The site administrator deletes the workspace.
    assertStatus(await api.delete(`/workspaces/${ws.id}`), 204);

    const page = await api.withToken(orgSecret).get('/organization/audit-trail');
    assertStatus(page, 200);
    trail = page.body.data;
  });
  after(() => server?.stop());

  it('lists every change in order, each with the actor that made it', function () {
    const successes = trail.filter((e) => e.result === 'success').map((e) => `${e.resource.action} by ${e.auth.accessor_type}`);
    assert.deepEqual(successes, [
      'organization.create by site',
      'membership.create by site',
      'membership.create by site',
      'team.create by user',
      'team-token.create by user',
      'organization-token.create by user',
      'workspace.create by user',
      'workspace.lock by user',
      'workspace.unlock by user',
      'variable.create by team',
      'variable.create by team',
      'variable.update by team',
      'agent-pool.create by organization',
      'agent-token.create by organization',
      'agent.register by agent',
      'agent.deregister by agent',
      'configuration-version.create by user',
      // the archive sent to the signed upload URL: by the user who created the version (and got the URL)
      'configuration-version.upload by user',
      'run.create by user',
      'run.apply by user',
      'state-version.create by job',
      'workspace.delete by site',
    ]);
    const times = trail.map((e) => e.timestamp);
    assert.deepEqual([...times].sort(), times, 'oldest first');
  });

  it("names the actor, the resource, the request and the client's address in TFC's shape", function () {
    const created = trail.find((e) => e.resource.action === 'workspace.create');
    assert.equal(created.version, '0');
    assert.equal(created.type, 'Resource');
    assert.match(created.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(created.auth, {
      accessor_id: owner.id,
      description: owner.username,
      type: 'Client',
      impersonator_id: null,
      organization_id: created.auth.organization_id,
      accessor_type: 'user',
      token_id: null,
    });
    assert.match(created.auth.organization_id, /^org-/);
    assert.deepEqual(created.resource, { id: ws.id, type: 'workspaces', action: 'workspace.create', meta: { name: 'audited' } });
    assert.equal(created.request.id, createRequestId);
    assert.match(created.request.client_address, /127\.0\.0\.1/);

    const teamChange = trail.find((e) => e.resource.action === 'variable.update');
    assert.equal(teamChange.auth.accessor_id, team.id);
    assert.equal(teamChange.auth.description, team.attributes.name);
    assert.match(teamChange.auth.token_id, /^[a-z]+-[A-Za-z0-9]{16}$/);
    assert.deepEqual(teamChange.resource.meta, { workspace: ws.id, key: 'password', sensitive: true });

    const job = trail.find((e) => e.resource.action === 'state-version.create');
    assert.match(job.auth.accessor_id, /^job-/);
    assert.match(job.auth.description, new RegExp(`apply job of ${run.id}`));
    assert.equal(job.resource.meta.run, run.id);
    assert.equal(trail.find((e) => e.resource.action === 'run.apply').auth.accessor_id, owner.id);
  });

  it('records refused requests, with their actor and status, never their body', function () {
    const refused = trail.filter((e) => e.result !== 'success');
    assert.deepEqual(
      refused.map((e) => [e.resource.action, e.auth.accessor_type, e.result, e.resource.meta.status]),
      [
        ['request.post', 'user', 'denied', 409],
        ['request.patch', 'user', 'denied', 404],
        ['request.post', 'organization', 'denied', 403],
      ],
    );
    assert.equal(refused[0].resource.id, '/api/v2/runs/:id/actions/apply');
    assert.equal(refused[0].resource.meta.path, `/api/v2/runs/${run.id}/actions/apply`);
    assert.equal(refused[1].auth.accessor_id, member.id);
    assert.ok(!JSON.stringify(refused).includes('nope'), 'no request body');
  });

  it('keeps no record of a change that rolled back', function () {
    // The second apply wrote its run.apply in its transaction before the transition was refused.
    assert.equal(trail.filter((e) => e.resource.action === 'run.apply').length, 1);
  });

  it('holds nothing of a secret: no token, no sensitive value, no variable value, no state', async function () {
    const everything = [JSON.stringify(trail), (await exportLines(api, '', orgSecret)).text, JSON.stringify((await api.get('/organization/audit-trail')).body)].join('\n');
    for (const secret of [...secrets, PLAIN_VALUE]) assert.ok(!everything.includes(secret), `the trail contains ${secret.slice(0, 12)}…`);
    // The site's own trail has the users' tokens, by id only.
    const site = await api.get('/organization/audit-trail');
    assertStatus(site, 200);
    assert.ok(site.body.data.some((e: Json) => e.resource.action === 'user-token.create' && e.auth.accessor_type === 'site'));
    assert.ok(site.body.data.every((e: Json) => e.auth.organization_id === null));
  });

  it('pages, and returns only what came after `since`', async function () {
    const orgApi = api.withToken(orgSecret);
    const second = await orgApi.get('/organization/audit-trail?page[number]=2&page[size]=3');
    assertStatus(second, 200);
    assert.deepEqual(
      second.body.data.map((e: Json) => e.id),
      trail.slice(3, 6).map((e) => e.id),
    );
    assert.deepEqual(second.body.pagination, { current_page: 2, prev_page: 1, next_page: 3, total_pages: Math.ceil(trail.length / 3), total_count: trail.length });
    const after = await orgApi.get(`/organization/audit-trail?since=${encodeURIComponent(mark.toISOString())}`);
    assertStatus(after, 200);
    assert.equal(after.body.data[0].resource.action, 'agent-pool.create');
    assert.deepEqual(
      after.body.data.map((e: Json) => e.id),
      trail.filter((e) => new Date(e.timestamp) > mark).map((e) => e.id),
    );
  });

  it('exports the trail as JSON lines, oldest first', async function () {
    const all = await exportLines(api, '', orgSecret);
    assert.equal(all.status, 200);
    assert.match(all.type, /^application\/x-ndjson/);
    assert.deepEqual(
      all.events.map((e) => e.id),
      trail.map((e) => e.id),
    );
    assert.deepEqual(all.events[0], trail[0]);
    const since = await exportLines(api, `?since=${encodeURIComponent(mark.toISOString())}`, orgSecret);
    assert.equal(since.events[0].resource.action, 'agent-pool.create');
  });

  it('is read by owners (naming the organization), the organization token and the CLI; refused to others', async function () {
    const byOwner = await owner.client.get(`/organization/audit-trail?filter[organization]=${org}`);
    assertStatus(byOwner, 200);
    assert.equal(byOwner.body.pagination.total_count, trail.length);
    assertError(await owner.client.get('/organization/audit-trail'), 422, /filter\[organization\] is required/, { parameter: 'filter[organization]' });
    assertError(await api.withToken(teamSecret).get(`/organization/audit-trail?filter[organization]=${org}`), 403, /audit trail.*owners team/);
    assertError(await member.client.get(`/organization/audit-trail?filter[organization]=${org}`), 403, /audit trail/);
    // Another organization's owner, and the organization token asked for another organization: not there.
    const other = await createOrganization(owner.client);
    assertError(await api.withToken(orgSecret).get(`/organization/audit-trail?filter[organization]=${other}`), 404, new RegExp(`organization "${other}" not found`));
    const stranger = await createUser(api);
    const theirs = await createOrganization(stranger.client);
    assertStatus(await stranger.client.get(`/organization/audit-trail?filter[organization]=${theirs}`), 200);
    assertError(await stranger.client.get(`/organization/audit-trail?filter[organization]=${org}`), 404, new RegExp(`organization "${org}" not found`));
    assertError(await api.withToken(agentSecret).get('/organization/audit-trail'), 401, /agent token/);

    const listed = await runOtf(server, ['audit', 'list', org, '--limit', '0'], { env: { OTF_ADDRESS: server.url, OTF_TOKEN: owner.token } });
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^TIME\s+ACTOR\s+ACTION\s+RESOURCE\s+RESULT\s+ADDRESS$/);
    assert.equal(lines.length, trail.length + 1);
    assert.match(lines.find((l) => l.includes('workspace.create'))!, new RegExp(`user:${owner.username}\\s+workspace.create\\s+workspaces/${ws.id}\\s+success`));
    const exported = await runOtf(server, ['audit', 'export', '--since', mark.toISOString()], { env: { OTF_ADDRESS: server.url, OTF_TOKEN: orgSecret } });
    assert.equal(exported.code, 0, exported.stderr);
    const events = exported.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    assert.deepEqual(
      events.map((e) => e.id),
      trail.filter((e) => new Date(e.timestamp) > mark).map((e) => e.id),
    );
    const bad = await runOtf(server, ['audit', 'list', org, '--since', 'yesterday'], { env: { OTF_ADDRESS: server.url, OTF_TOKEN: owner.token } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--since: "yesterday" is not an ISO 8601 time/);
  });

  it("records the web UI's changes with the signed-in user as their actor", async function () {
    const name = 'web-locked';
    const made = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name } } });
    assertStatus(made, 201);
    const web = new WebClient(server.url);
    await web.signIn(owner.token);
    const page = `/app/${org}/workspaces/${name}`;
    const locked = await web.post(`${page}/lock`, {}, { from: page });
    assert.equal(locked.status, 303, locked.text.slice(0, 300));
    const after = await api.withToken(orgSecret).get(`/organization/audit-trail?since=${encodeURIComponent(trail[trail.length - 1].timestamp)}`);
    const lock = after.body.data.find((e: Json) => e.resource.action === 'workspace.lock' && e.resource.id === made.body.data.id);
    assert.ok(lock, JSON.stringify(after.body.data));
    assert.equal(lock.auth.accessor_type, 'user');
    assert.equal(lock.auth.accessor_id, owner.id);
    assert.match(lock.request.client_address, /127\.0\.0\.1/);
    assert.match(lock.request.id, /\S/);
  });

  it('refuses malformed queries with 4xx saying what is wrong', async function () {
    const orgApi = api.withToken(orgSecret);
    assertError(await orgApi.get('/organization/audit-trail?since=yesterday'), 422, /since must be a date and time in ISO 8601 form.*"yesterday"/, { parameter: 'since' });
    assertError(await orgApi.get('/organization/audit-trail?since=2026-13-45T00:00:00Z'), 422, /ISO 8601/, { parameter: 'since' });
    assertError(await orgApi.get('/organization/audit-trail?page[size]=1001'), 422, /page\[size\] must be a whole number from 1 to 1000/, { parameter: 'page[size]' });
    assertError(await orgApi.get('/organization/audit-trail?page[size]=0'), 422, /page\[size\]/, { parameter: 'page[size]' });
    assertError(await orgApi.get('/organization/audit-trail?page[number]=x'), 422, /page\[number\]/, { parameter: 'page[number]' });
    assertError(await orgApi.get('/organization/audit-trail?since=%00'), 400, /NUL/);
    // Oversized: a since of 5000 characters, an organization name of 5000.
    assertError(await orgApi.get(`/organization/audit-trail?since=${'2'.repeat(5000)}`), 422, /ISO 8601/, { parameter: 'since' });
    const longName = await api.get(`/organization/audit-trail?filter[organization]=${'o'.repeat(5000)}`);
    assert.ok(longName.status >= 400 && longName.status < 500 && longName.body.errors[0].detail, longName.text);
    assertError(await orgApi.get('/organization/audit-trail?filter[organization]='), 422, /filter\[organization\]/);
    const badExport = await exportLines(api, '?since=not-a-time', orgSecret);
    assert.equal(badExport.status, 422);
    assert.match(JSON.parse(badExport.text).errors[0].detail, /since must be a date/);
  });

  it('exports a trail longer than one batch whole, in order', async function () {
    this.timeout(60_000);
    // 1,200 events of a fresh organization, written straight into the table: the export reads them
    // 500 at a time and must join its batches without loss, repetition or reordering.
    const name = await createOrganization(api);
    const token = await api.post(`/organizations/${name}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
    assertStatus(token, 201);
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>('SELECT id FROM organizations WHERE name = $1', [name]);
      assert.equal(rows.length, 1);
      await client.query(
        `INSERT INTO audit_events (id, organization_id, actor_type, actor_id, actor_name, action, resource_type, resource_id, result, time)
         SELECT 'ae-bulk-' || lpad(n::text, 5, '0'), $1, 'system', 'system', 'otfd', 'test.bulk', 'tests', n::text, 'success',
                now() - interval '1 hour' + (n / 3) * interval '1 millisecond'
         FROM generate_series(1, 1200) AS n`,
        [rows[0].id],
      );
    } finally {
      await client.end();
    }
    const all = await exportLines(api, '', token.body.data.attributes.token);
    assert.equal(all.status, 200);
    const bulk = all.events.filter((e) => e.resource.action === 'test.bulk');
    assert.deepEqual(
      bulk.map((e) => Number(e.resource.id)),
      Array.from({ length: 1200 }, (_, i) => i + 1),
    );
  });
});
