// The audit trail lists the changes P6 left out, each with its actor and nothing of a secret: run
// comments, organization tags, web sign-ins and sign-outs (and refused sign-ins), uploads to signed
// URLs, a pool agent's late state, otfd's own background changes (a run written off with its silent
// agent, data retention's deletions), and the pruning of events older than --audit-retention. One
// otfd with no server agent: the one run that executes is driven by hand through the agent protocol.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { parseConfig } from '../src/config.js';
import type { Api, Json, Response } from './helpers/api.js';
import { addToOrganization, createTeam, createUser, ownersTeam, teamToken, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, freePort, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until, waitFor } from './helpers/wait.js';
import { WebClient } from './helpers/web.js';

const DAY_MS = 86_400_000;
const CONFIG = configTarball({ 'main.tf': 'resource "terraform_data" "x" {}\n' });
const md5 = (b: string | Buffer) => crypto.createHash('md5').update(b).digest('hex');

/** A state file as terraform writes it, with an output whose value must never reach the trail. */
function stateFile(serial: number, lineage: string, secret: string): string {
  return JSON.stringify({ version: 4, terraform_version: '1.11.4', serial, lineage, outputs: { pw: { value: secret, type: 'string', sensitive: true } }, resources: [], check_results: null }) + '\n';
}

/** A PUT to a signed URL as the CLI sends it: raw bytes, no bearer token. */
function put(api: Api, url: string, content: string | Buffer): Promise<Response> {
  return api.request('PUT', url, { token: null, raw: content, headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json, */*' } });
}

describe('audit trail: comments, tags, sign-ins, uploads, background changes and pruning', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let owner: TestUser;
  /** Everything secret the tests hand out or send: none may appear in any trail. */
  const secrets: string[] = [];

  /** The organization's trail (read by the site administrator), or with null the site's own. */
  async function trail(organization: string | null = org): Promise<Json[]> {
    const res = await api.get(`/organization/audit-trail${organization ? `?filter[organization]=${organization}` : ''}`);
    assert.equal(res.status, 200, res.text);
    const events: Json[] = res.body.data;
    const text = JSON.stringify(events);
    for (const s of secrets) assert.ok(!text.includes(s), `the trail holds a secret: ${s.slice(0, 12)}…`);
    return events;
  }

  function only(events: Json[], action: string, resourceId?: string): Json {
    const found = events.filter((e) => e.resource.action === action && (resourceId === undefined || e.resource.id === resourceId));
    assert.equal(found.length, 1, `one ${action}${resourceId ? ` of ${resourceId}` : ''} in ${JSON.stringify(events.map((e) => e.resource.action))}`);
    return found[0];
  }

  async function uploadedConfig(client: Api, wsId: string): Promise<string> {
    const cv = await client.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    const res = await uploadTarball(client, cv.body.data, CONFIG);
    assert.equal(res.status, 200, res.body);
    return cv.body.data.id;
  }

  async function createRun(client: Api, wsId: string, autoApply = false): Promise<string> {
    const res = await client.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': autoApply }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data.id;
  }

  before(async function () {
    this.timeout(120_000);
    // Agents silent for 3 s are written off; the trail keeps its events 400 days.
    // Single sign-on is configured with a provider that is not there: only refused callbacks are tried.
    const oidc = { issuer: `http://127.0.0.1:${await freePort()}`, clientId: 'otfd', clientSecret: 'a-client-secret-of-at-least-32-characters', usernameClaim: 'preferred_username', teamsClaim: null, scopes: ['openid'], name: 'Test IdP' };
    server = await startServer({ config: { concurrency: 0, agentHeartbeatSeconds: 1, agentGracePeriodSeconds: 3, auditRetentionMs: 400 * DAY_MS, oidc } });
    api = server.api;
    org = await createOrganization(api);
    owner = await createUser(api);
    await addToOrganization(api, org, owner, [(await ownersTeam(api, org)).id]);
    secrets.push(server.siteToken, owner.token);
  });
  after(() => server?.stop());

  it('records a comment on a run by its author, without its text', async () => {
    const ws = await createWorkspace(owner.client, org);
    await uploadedConfig(owner.client, ws.id);
    const run = await createRun(owner.client, ws.id);
    const text = `comment-${crypto.randomBytes(8).toString('hex')}`;
    secrets.push(text);
    const res = await owner.client.post(`/runs/${run}/comments`, { data: { type: 'comments', attributes: { body: text } } });
    assert.equal(res.status, 201, res.text);
    const e = only(await trail(), 'comment.create', res.body.data.id);
    assert.equal(e.resource.type, 'comments');
    assert.deepEqual(e.resource.meta, { run, workspace: ws.id });
    assert.equal(e.auth.accessor_type, 'user');
    assert.equal(e.auth.accessor_id, owner.id);

    // Refused comments change nothing and record no comment: a NUL byte, an unknown run.
    const nul = await owner.client.post(`/runs/${run}/comments`, { data: { type: 'comments', attributes: { body: 'a\u0000b' } } });
    assert.ok(nul.status >= 400 && nul.status < 500, nul.text);
    const unknown = await owner.client.post('/runs/run-doesnotexist00000/comments', { data: { type: 'comments', attributes: { body: 'x' } } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal((await trail()).filter((e) => e.resource.action === 'comment.create').length, 1);
  });

  it("records a tag added to workspaces from the tag's side, and tags deleted from the organization", async () => {
    const ws1 = await createWorkspace(owner.client, org);
    const ws2 = await createWorkspace(owner.client, org);
    const name = randomName('tag');
    const tagged = await owner.client.post(`/workspaces/${ws1.id}/relationships/tags`, { data: [{ type: 'tags', attributes: { name } }] });
    assert.equal(tagged.status, 204, tagged.text);
    const tags = await owner.client.get(`/organizations/${org}/tags?q=${name}`);
    assert.equal(tags.status, 200, tags.text);
    const tagId: string = tags.body.data[0].id;

    const added = await owner.client.post(`/tags/${tagId}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ws2.id }] });
    assert.equal(added.status, 204, added.text);
    const add = only(await trail(), 'workspace.add-tags', ws2.id);
    assert.equal(add.auth.accessor_id, owner.id);
    assert.equal(add.resource.meta.tags, name);

    // Another organization's tag is unknown here: 404, nothing deleted, no tag.delete.
    const other = await createOrganization(api);
    const otherWs = await createWorkspace(api, other);
    assert.equal((await api.post(`/workspaces/${otherWs.id}/relationships/tags`, { data: [{ type: 'tags', attributes: { name: 'theirs' } }] })).status, 204);
    const theirs: string = (await api.get(`/organizations/${other}/tags`)).body.data[0].id;
    const foreign = await owner.client.delete(`/organizations/${org}/tags`, { body: { data: [{ type: 'tags', id: theirs }] } });
    assert.equal(foreign.status, 404, foreign.text);
    const withNul = await owner.client.delete(`/organizations/${org}/tags`, { body: { data: [{ type: 'tags', id: 'tag-\u0000' }] } });
    assert.ok(withNul.status >= 400 && withNul.status < 500, withNul.text);
    assert.equal((await trail()).filter((e) => e.resource.action === 'tag.delete').length, 0);

    const deleted = await owner.client.delete(`/organizations/${org}/tags`, { body: { data: [{ type: 'tags', id: tagId }] } });
    assert.equal(deleted.status, 204, deleted.text);
    const del = only(await trail(), 'tag.delete', tagId);
    assert.equal(del.resource.type, 'tags');
    assert.deepEqual(del.resource.meta, { name });
    assert.equal(del.auth.accessor_type, 'user');
    assert.equal(del.auth.accessor_id, owner.id);
  });

  it('records web sign-ins and sign-outs in the site trail, and refused sign-ins without what was typed', async () => {
    const web = new WebClient(server.url);
    await web.signIn(owner.token);
    const cookies = [...web.cookies.values()];
    secrets.push(...cookies);
    let site = await trail(null);
    const signIn = site.find((e) => e.resource.action === 'session.create' && e.auth.accessor_id === owner.id);
    assert.ok(signIn, JSON.stringify(site.map((e) => e.resource.action)));
    assert.equal(signIn.auth.accessor_type, 'user');
    assert.equal(signIn.auth.description, owner.username);
    assert.equal(signIn.auth.organization_id, null);
    assert.equal(signIn.resource.type, 'sessions');
    assert.match(signIn.resource.id, /^ses-/);
    assert.equal(signIn.resource.meta.method, 'token');
    assert.match(String(signIn.request.client_address), /127\.0\.0\.1/);
    assert.equal(signIn.result, 'success');

    const out = await web.post('/logout', {});
    assert.equal(out.status, 303, out.text);
    site = await trail(null);
    const signOut = only(site, 'session.delete', signIn.resource.id);
    assert.equal(signOut.auth.accessor_id, owner.id);
    assert.match(String(signOut.request.client_address), /127\.0\.0\.1/);

    // Refused: a wrong token and an oversized one get the sign-in page again (401), recorded as
    // refused by nobody, with none of what was typed in the trail. A form with a NUL byte is
    // refused (400) before it is read as a sign-in.
    const typed = [`wrong-${crypto.randomBytes(12).toString('hex')}`, `big-${crypto.randomBytes(6).toString('hex')}${'x'.repeat(5000)}`];
    secrets.push(...typed.map((t) => t.slice(0, 24)));
    const visitor = new WebClient(server.url);
    for (const token of typed) {
      const res = await visitor.post('/login/token', { token }, { from: '/login' });
      assert.equal(res.status, 401, res.text.slice(0, 200));
    }
    const nul = await visitor.post('/login/token', { token: `nul\u0000${crypto.randomBytes(6).toString('hex')}` }, { from: '/login' });
    assert.equal(nul.status, 400, nul.text.slice(0, 200));
    site = await trail(null);
    const refused = site.filter((e) => e.resource.id === '/login/token');
    assert.equal(refused.length, 2, JSON.stringify(refused));
    for (const e of refused) {
      assert.equal(e.result, 'denied');
      assert.equal(e.resource.action, 'request.post');
      assert.equal(e.auth.accessor_type, 'anonymous');
      assert.equal(e.auth.type, 'Client');
      assert.equal(e.resource.meta.status, 401);
      assert.match(String(e.request.client_address), /127\.0\.0\.1/);
    }
    // A single sign-on callback refused (a state this browser did not start): recorded without
    // its query (the provider's code, the state).
    const code = `code-${crypto.randomBytes(8).toString('hex')}`;
    const state = `state-${crypto.randomBytes(8).toString('hex')}`;
    secrets.push(code, state);
    const forged = await visitor.get(`/login/oidc/callback?state=${state}&code=${code}`);
    assert.equal(forged.status, 400, forged.text.slice(0, 200));
    site = await trail(null);
    const sso = only(site, 'request.get', '/login/oidc/callback');
    assert.equal(sso.result, 'denied');
    assert.equal(sso.auth.accessor_type, 'anonymous');
    assert.deepEqual(sso.resource.meta, { method: 'GET', path: '/login/oidc/callback', status: 400 });

    // A flood of refused sign-ins from one address is recorded only up to 30 a minute: anyone can
    // send them, and they must not fill the trail. Each still gets its 401.
    const recordedBefore = site.filter((e) => e.auth.accessor_type === 'anonymous').length;
    for (let i = 0; i < 40; i++) {
      const res = await visitor.post('/login/token', { token: `flood-${i}` }, { from: '/login' });
      assert.equal(res.status, 401, res.text.slice(0, 200));
    }
    const recordedFlood = (await trail(null)).filter((e) => e.auth.accessor_type === 'anonymous').length - recordedBefore;
    assert.ok(recordedFlood >= 1 && recordedFlood < 40, `recorded ${recordedFlood} of 40`);

    // A user's sign-in is no organization's business.
    assert.equal((await trail()).filter((e) => e.resource.type === 'sessions').length, 0);
  });

  it('records uploads to signed URLs with the actor who created what they fill', async () => {
    const team = await createTeam(owner.client, org, { 'manage-workspaces': true });
    const secret = await teamToken(owner.client, team.id, 'uploads');
    secrets.push(secret);
    const teamApi = api.withToken(secret);
    const ws = await createWorkspace(teamApi, org);

    // A configuration: by the team (its token's id) that created the version and got the URL.
    const cv = await uploadedConfig(teamApi, ws.id);
    let events = await trail();
    const created = only(events, 'configuration-version.create', cv);
    const upload = only(events, 'configuration-version.upload', cv);
    assert.equal(upload.auth.accessor_type, 'team');
    assert.equal(upload.auth.accessor_id, team.id);
    assert.ok(upload.auth.token_id, 'the token the creator used');
    assert.equal(upload.auth.token_id, created.auth.token_id);
    assert.match(String(upload.request.client_address), /127\.0\.0\.1/);
    assert.equal(upload.resource.meta.status, 'uploaded');
    assert.equal(upload.resource.meta.workspace, ws.id);

    // A rejected archive errors the version: recorded so. A forged signature changes nothing.
    const bad = await teamApi.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(bad.status, 201, bad.text);
    const forged = await put(api, bad.body.data.attributes['upload-url'].replace(/\/[^/]+$/, '/forged'), CONFIG);
    assert.equal(forged.status, 404, forged.text);
    const garbage = await put(api, bad.body.data.attributes['upload-url'], Buffer.from('not a tarball'));
    assert.ok(garbage.status >= 400 && garbage.status < 500, garbage.text);
    events = await trail();
    const rejected = only(events, 'configuration-version.upload', bad.body.data.id);
    assert.equal(rejected.resource.meta.status, 'errored');
    assert.equal(rejected.auth.accessor_id, team.id);

    // A state file: by the owner who created the pending version; its JSON state: by nobody
    // otfd can name (that URL is shown to every reader of the version).
    const stateSecret = `state-${crypto.randomBytes(8).toString('hex')}`;
    secrets.push(stateSecret);
    const content = stateFile(1, crypto.randomUUID(), stateSecret);
    assert.equal((await owner.client.post(`/workspaces/${ws.id}/actions/lock`, { data: { type: '', attributes: { reason: 'test' } } })).status, 200);
    const sv = await owner.client.post(`/workspaces/${ws.id}/state-versions`, { data: { type: 'state-versions', attributes: { serial: 1, lineage: JSON.parse(content).lineage, md5: md5(content) } } });
    assert.equal(sv.status, 201, sv.text);
    const stored = await put(api, sv.body.data.attributes['hosted-state-upload-url'], content);
    assert.equal(stored.status, 200, stored.text);
    const json = await put(api, sv.body.data.attributes['hosted-json-state-upload-url'], JSON.stringify({ format_version: '1.0', values: { outputs: { pw: { value: stateSecret } } } }));
    assert.equal(json.status, 200, json.text);
    events = await trail();
    const state = only(events, 'state-version.upload', sv.body.data.id);
    assert.equal(state.auth.accessor_type, 'user');
    assert.equal(state.auth.accessor_id, owner.id);
    assert.deepEqual(state.resource.meta, { workspace: ws.id, serial: 1, size: Buffer.byteLength(content) });
    const jsonUpload = only(events, 'state-version.upload-json', sv.body.data.id);
    assert.equal(jsonUpload.auth.accessor_type, 'anonymous');
    assert.match(String(jsonUpload.request.client_address), /127\.0\.0\.1/);
  });

  it("records a run written off with its silent agent as otfd's, and the agent's late state as the agent's", async () => {
    const pool = await owner.client.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(pool.status, 201, pool.text);
    const tok = await owner.client.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'late' } } });
    assert.equal(tok.status, 201, tok.text);
    const poolToken: string = tok.body.data.attributes.token;
    secrets.push(poolToken);
    const ws = await createWorkspace(owner.client, org);
    const mode = await owner.client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } } });
    assert.equal(mode.status, 200, mode.text);
    await uploadedConfig(owner.client, ws.id);

    // A hand-driven agent: it heartbeats while it plans, takes the apply, then falls silent.
    const reg = await api.request('POST', '/api/agent/register', { token: poolToken, body: { concurrency: 1 } });
    assert.equal(reg.status, 201, reg.text);
    const access: string = reg.body.token;
    secrets.push(access);
    let beating = true;
    const held: string[] = [];
    const heartbeat = (async () => {
      while (beating) {
        await api.request('POST', '/api/agent/sync', { token: access, body: { jobs: held } });
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const claim = async (): Promise<Json> =>
      waitFor('a job for the agent', async () => {
        const res = await api.request('GET', '/api/agent/jobs?wait=2', { token: access });
        assert.equal(res.status, 200, res.text);
        return res.body.jobs[0];
      });
    let run: string;
    let apply: Json;
    try {
      run = await createRun(owner.client, ws.id, true);
      const plan = await claim();
      held.push(plan.id);
      secrets.push(plan.token);
      assert.equal((await api.request('POST', `/api/agent/jobs/${plan.id}/start`, { token: plan.token, body: {} })).status, 200);
      const done = await api.request('POST', `/api/agent/jobs/${plan.id}/finish`, { token: plan.token, body: { status: 'finished', hasChanges: true } });
      assert.equal(done.status, 200, done.text);
      held.length = 0;
      apply = await claim();
      held.push(apply.id);
      secrets.push(apply.token);
      assert.equal((await api.request('POST', `/api/agent/jobs/${apply.id}/start`, { token: apply.token, body: {} })).status, 200);
    } finally {
      beating = false;
      await heartbeat;
    }
    await until('the run to be written off', async () => (await api.get(`/runs/${run}`)).body.data.attributes.status, (s) => s === 'errored', 30_000);

    let events = await trail();
    const errored = only(events, 'run.error', run);
    assert.equal(errored.auth.accessor_type, 'system');
    assert.equal(errored.auth.type, 'System');
    assert.equal(errored.request.client_address, null);
    assert.equal(errored.resource.meta.workspace, ws.id);
    assert.match(String(errored.resource.meta.reason), /.+/);

    // The agent's outbox delivers the apply's state late, with the pool's token.
    const stateSecret = `late-${crypto.randomBytes(8).toString('hex')}`;
    secrets.push(stateSecret);
    const state = stateFile(1, crypto.randomUUID(), stateSecret);
    const late = await api.request('POST', `/api/agent/jobs/${apply.id}/late-state?md5=${md5(state)}`, { token: poolToken, raw: state, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(late.status, 200, late.text);
    events = await trail();
    const saved = only(events, 'state-version.create', late.body.stateVersion);
    assert.equal(saved.auth.accessor_type, 'agent');
    assert.equal(saved.auth.accessor_id, tok.body.data.id);
    assert.equal(saved.auth.token_id, tok.body.data.id);
    assert.deepEqual(saved.resource.meta, { workspace: ws.id, serial: 1, run, late: true, current: true });

    // The same bytes again change nothing, and record nothing; a damaged delivery neither.
    const again = await api.request('POST', `/api/agent/jobs/${apply.id}/late-state?md5=${md5(state)}`, { token: poolToken, raw: state, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.duplicate, true);
    const damaged = await api.request('POST', `/api/agent/jobs/${apply.id}/late-state?md5=${md5('other')}`, { token: poolToken, raw: state, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.ok(damaged.status >= 400 && damaged.status < 500, damaged.text);
    assert.equal((await trail()).filter((e) => e.resource.action === 'state-version.create' && e.resource.meta.late).length, 1);
  });

  it("records data retention's deletions as otfd's", async () => {
    const ws = await createWorkspace(owner.client, org);
    assert.equal((await owner.client.post(`/workspaces/${ws.id}/actions/lock`, { data: { type: '', attributes: { reason: 'test' } } })).status, 200);
    const lineage = crypto.randomUUID();
    const ids: string[] = [];
    for (const serial of [1, 2]) {
      const content = stateFile(serial, lineage, 'x');
      const sv = await owner.client.post(`/workspaces/${ws.id}/state-versions`, { data: { type: 'state-versions', attributes: { serial, lineage, md5: md5(content), state: Buffer.from(content).toString('base64') } } });
      assert.equal(sv.status, 201, sv.text);
      ids.push(sv.body.data.id);
    }
    await server.otfd.db('state_versions').where({ id: ids[0] }).update({ created_at: server.otfd.db.raw(`now() - interval '3 days'`) });
    const policy = await owner.client.post(`/workspaces/${ws.id}/relationships/data-retention-policy`, { data: { type: 'data-retention-policy-delete-olders', attributes: { 'delete-older-than-n-days': 1 } } });
    assert.equal(policy.status, 201, policy.text);

    // Two runs of their own configurations: the first canceled (final), then both made old; the
    // second stays as the workspace's latest run, with its configuration.
    assert.equal((await owner.client.post(`/workspaces/${ws.id}/actions/unlock`)).status, 200);
    const cvs = [await uploadedConfig(owner.client, ws.id)];
    const first = await createRun(owner.client, ws.id);
    const canceled = await owner.client.post(`/runs/${first}/actions/cancel`, {});
    assert.equal(canceled.status, 202, canceled.text);
    await until('the run to be canceled', async () => (await api.get(`/runs/${first}`)).body.data.attributes.status, (st) => st === 'canceled', 10_000);
    cvs.push(await uploadedConfig(owner.client, ws.id));
    await createRun(owner.client, ws.id);
    await server.otfd.db('runs').where({ workspace_id: ws.id }).update({ created_at: server.otfd.db.raw(`created_at - interval '3 days'`) });
    await server.otfd.db('configuration_versions').whereIn('id', cvs).update({ created_at: server.otfd.db.raw(`created_at - interval '3 days'`) });

    const pass = await server.otfd.collectBlobs();
    assert.deepEqual(pass.retention, { workspaces: pass.retention.workspaces, runs: 1, configurationVersions: 1, stateVersions: 1 });
    const events = await trail();
    for (const what of ['runs', 'configuration-versions', 'state-versions']) {
      const pruned = only(events, `workspace.prune-${what}`, ws.id);
      assert.equal(pruned.auth.accessor_type, 'system');
      assert.equal(pruned.resource.meta.count, 1);
      assert.match(pruned.resource.meta.before, /^\d{4}-\d{2}-\d{2}T/);
    }
  });

  it('prunes events older than --audit-retention in the periodic pass, and keeps the rest', async () => {
    const db = server.otfd.db;
    const marker = randomName('pruning');
    const event = (id: string, daysAgo: number) => ({
      id: `ae-${marker}-${id}`,
      time: db.raw(`now() - make_interval(days => ?)`, [daysAgo]),
      organization_id: null,
      actor_type: 'system',
      actor_id: 'system',
      actor_name: 'otfd',
      action: 'test.old',
      resource_type: 'tests',
      resource_id: marker,
      result: 'success',
    });
    // More than one batch of the oldest, one just inside the period.
    const old = Array.from({ length: 1500 }, (_, i) => event(`old-${i}`, 401 + (i % 50)));
    for (let i = 0; i < old.length; i += 500) await db('audit_events').insert(old.slice(i, i + 500));
    await db('audit_events').insert(event('kept', 399));
    const before = (await trail()).length;

    const pass = await server.otfd.collectBlobs();
    assert.ok(pass.auditEvents >= 1500, `pruned ${pass.auditEvents}`);
    const left: string[] = await db('audit_events').where({ resource_id: marker }).pluck('id');
    assert.deepEqual(left, [`ae-${marker}-kept`]);
    assert.equal((await trail()).length, before, "the organization's recent events all stay");
  });

  it('reads --audit-retention as a duration of at least a day, default forever', () => {
    assert.equal(parseConfig([], {})?.auditRetentionMs, null);
    assert.equal(parseConfig(['--audit-retention', 'forever'], {})?.auditRetentionMs, null);
    assert.equal(parseConfig(['--audit-retention', '400d'], {})?.auditRetentionMs, 400 * DAY_MS);
    assert.equal(parseConfig([], { OTF_AUDIT_RETENTION: '36h' })?.auditRetentionMs, 36 * 3_600_000);
    // A bare number is seconds: "400" meant as days would empty the trail; less than a day is refused.
    assert.throws(() => parseConfig(['--audit-retention', '400'], {}), /less than a day; give days \(e\.g\. 400d\), or "forever"/);
    for (const bad of ['0d', '12h', '400 days', '-1d', '99999999d', 'never']) {
      assert.throws(() => parseConfig(['--audit-retention', bad], {}), (err: Error) => /--audit-retention/.test(err.message), bad);
    }
  });
});
