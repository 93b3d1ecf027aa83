// An owner's force-end (docs/timeouts-and-hooks.md): one call with a reason ends a run in any
// status that is not final, kills what executes, and frees the workspace; the reason is kept on
// the run and in its events. Whoever is not an owner is refused (403), another organization's
// run is not there (404), and bad reasons are 422s that change nothing. One otfd over TLS with
// its server agent on; the admin CLI does one of the force-ends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Api, Json } from './helpers/api.js';
import { fixture, fixtureFiles } from './helpers/fixtures.js';
import { runOtf } from './helpers/otf.js';
import { addToOrganization, createUser, organizationToken, ownersTeam, userWithAccess, type TestUser } from './helpers/people.js';
import { alive, assignToPool, createRun, getRun, poolWithToken, setVariable, uploadConfig, waitForRun } from './helpers/phases.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { suite } from './hooks.js';

describe('force-ending a run', function () {
  this.timeout(90_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let owner: TestUser;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 1 } });
    api = server.api;
    org = await createOrganization(api);
    owner = await createUser(api);
    await addToOrganization(api, org, owner, [(await ownersTeam(api, org)).id]);
  });
  after(() => server.stop());

  const forceEnd = (client: Api, runId: string, body: unknown) => client.post(`/runs/${runId}/actions/force-end`, body);

  /** A workspace on a pool with no agent: its runs wait in plan_queued, nothing executing. */
  async function stuckRun(): Promise<{ ws: Json; run: Json }> {
    const { pool } = await poolWithToken(api, org);
    const ws = await createWorkspace(api, org);
    await assignToPool(api, ws.id, pool.id);
    await uploadConfig(api, ws.id, fixtureFiles('one-resource'));
    const run = await createRun(api, ws.id);
    await waitForRun(api, run.id, ['plan_queued']);
    return { ws, run };
  }

  it('ends an applying run at once, kills its engine and unlocks the workspace, keeping the reason', async () => {
    const ws = await createWorkspace(api, org);
    await uploadConfig(api, ws.id, { 'main.tf': fixture('slow-apply-pidfile-variables') });
    const pidfile = path.join(fs.mkdtempSync(path.join(suite().tmp, 'sleeper-')), 'pid');
    await setVariable(api, ws.id, 'pause', '600');
    await setVariable(api, ws.id, 'pidfile', pidfile);
    const run = await createRun(api, ws.id, { 'auto-apply': true });
    await waitForRun(api, run.id, ['applying']);
    await until('the sleeper to run', async () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim() !== '', (e) => e, 20_000);
    const sleeper = Number(fs.readFileSync(pidfile, 'utf8').trim());

    const res = await forceEnd(owner.client, run.id, { reason: 'stuck apply, ticket OPS-42' });
    assert.equal(res.status, 200, res.text);
    const ended = res.body.data;
    assert.equal(ended.attributes.status, 'force_canceled');
    assert.equal(ended.attributes['force-end-reason'], 'stuck apply, ticket OPS-42');
    assert.match(ended.attributes['error-message'], new RegExp(`force-ended by ${owner.username}: stuck apply, ticket OPS-42`));
    assert.equal(ended.attributes.actions['is-force-endable'], false);
    const wsAfter = (await api.get(`/workspaces/${ws.id}`)).body.data.attributes;
    assert.equal(wsAfter.locked, false);
    // The engine got SIGINT and, at worst, SIGKILL after the grace: its provisioner's command is gone.
    await until('the sleeper to be gone', async () => alive(sleeper), (a) => !a, 20_000);
    const events = (await api.get(`/runs/${run.id}/run-events`)).body.data as Json[];
    const last = events[events.length - 1];
    assert.equal(last.attributes.action, 'force_canceled');
    assert.match(last.attributes.description, /stuck apply, ticket OPS-42/);
    assert.equal(last.relationships.actor.data.id, owner.id);
    // The run stays ended whatever its runner reports later.
    assert.equal((await getRun(api, run.id)).attributes.status, 'force_canceled');
  });

  it('ends a run waiting in plan_queued (nothing executing) through the admin CLI, and admits the next run', async () => {
    const { ws, run } = await stuckRun();
    const next = await createRun(api, ws.id);
    assert.equal((await getRun(api, next.id)).attributes.status, 'pending');
    const result = await runOtf(server, ['runs', 'force-end', run.id, '--reason', 'no agent will ever come'], { env: { OTF_TOKEN: owner.token } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`run ${run.id} force-ended \\(force_canceled\\): no agent will ever come`));
    const ended = await getRun(api, run.id);
    assert.equal(ended.attributes.status, 'force_canceled');
    assert.equal(ended.attributes['force-end-reason'], 'no agent will ever come');
    // The workspace went to the next run.
    await waitForRun(api, next.id, ['plan_queued']);
    const lock = (await api.get(`/workspaces/${ws.id}`)).body.data.relationships['locked-by'];
    assert.equal(lock?.data?.id, next.id);
    // Without a reason the CLI refuses before asking.
    const bare = await runOtf(server, ['runs', 'force-end', next.id], { env: { OTF_TOKEN: owner.token } });
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr, /--reason is required/);
    assert.equal((await getRun(api, next.id)).attributes.status, 'plan_queued');
  });

  it('is for owners: a workspace admin and an organization token get 403, another organization 404', async () => {
    const { ws, run } = await stuckRun();
    const admin = await userWithAccess(api, org, [ws.id], 'admin');
    let res = await forceEnd(admin.client, run.id, { reason: 'not mine to end' });
    assert.equal(res.status, 403, res.text);
    assert.match(res.body.errors[0].detail, /to force-end runs you need membership of the owners team/);
    const seen = (await admin.client.get(`/runs/${run.id}`)).body.data.attributes;
    assert.equal(seen.permissions['can-force-end'], false);
    assert.equal((await owner.client.get(`/runs/${run.id}`)).body.data.attributes.permissions['can-force-end'], true);
    const orgToken = await organizationToken(api, org);
    res = await forceEnd(orgToken, run.id, { reason: 'an organization token' });
    assert.equal(res.status, 403, res.text);
    // An owner of another organization does not see this run at all.
    const other = await createOrganization(api);
    const stranger = await createUser(api);
    await addToOrganization(api, other, stranger, [(await ownersTeam(api, other)).id]);
    res = await forceEnd(stranger.client, run.id, { reason: 'not my organization' });
    assert.equal(res.status, 404, res.text);
    res = await forceEnd(owner.client, 'run-doesnotexist00', { reason: 'nothing' });
    assert.equal(res.status, 404, res.text);
    assert.equal((await getRun(api, run.id)).attributes.status, 'plan_queued');
    assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, true);
  });

  it('refuses a missing, blank, oversized or garbled reason, and a run that is over, with a detail and no change', async () => {
    const { run } = await stuckRun();
    const bad: Array<[unknown, RegExp]> = [
      [{}, /reason/],
      [{ reason: '' }, /reason must be a text of 1 to 1000 characters/],
      [{ reason: '   ' }, /reason must say why the run is ended: it is blank/],
      [{ reason: 'x'.repeat(1001) }, /reason must be a text of 1 to 1000 characters/],
      [{ reason: 'bad\u0000byte' }, /NUL/],
      [{ reason: 'bell\u0007' }, /reason must not contain control characters/],
      [{ reason: 42 }, /reason/],
      [{ reason: 'fine', extra: true }, /extra|additional|not allowed/i],
    ];
    for (const [body, detail] of bad) {
      const res = await forceEnd(owner.client, run.id, body);
      assert.ok(res.status === 422 || res.status === 400, `${JSON.stringify(body).slice(0, 60)}: ${res.status} ${res.text}`);
      assert.match(res.body.errors[0].detail, detail, `${JSON.stringify(body).slice(0, 60)}: ${res.text}`);
    }
    const malformed = await owner.client.request('POST', `/runs/${run.id}/actions/force-end`, { raw: Buffer.from('{"reason": '), headers: { 'Content-Type': 'application/vnd.api+json' } });
    assert.equal(malformed.status, 400, malformed.text);
    assert.equal((await getRun(api, run.id)).attributes.status, 'plan_queued');
    // Ended once, it is final: a second force-end is a conflict that says so.
    assert.equal((await forceEnd(owner.client, run.id, { reason: 'first' })).status, 200);
    const again = await forceEnd(owner.client, run.id, { reason: 'second' });
    assert.equal(again.status, 409, again.text);
    assert.match(again.body.errors[0].detail, /is force_canceled/);
    assert.equal((await getRun(api, run.id)).attributes['force-end-reason'], 'first');
  });
});
