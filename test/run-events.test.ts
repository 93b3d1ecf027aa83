// Comments on runs and run events, as Terraform Cloud's clients read them (go-tfe's Comments and
// RunEvents): real runs executed by otfd's server agent with the terraform on PATH, commented on
// by users of the organization; what each role may do; and what bad requests get.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { userWithAccess, organizationToken, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { sleep } from './helpers/wait.js';

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

describe('comments and run events', function () {
  this.timeout(120_000);
  let server: TestServer;
  let admin: Api;
  let org: string;
  let ws: Json;
  let writer: TestUser;
  let reader: TestUser;

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
    admin = server.api;
    org = await createOrganization(admin);
    ws = await createWorkspace(admin, org);
    writer = await userWithAccess(admin, org, [ws.id], 'write');
    reader = await userWithAccess(admin, org, [ws.id], 'read');
  });
  after(() => server.stop());

  async function upload(wsId: string, mainTf: string): Promise<void> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': mainTf })), 200);
  }

  async function createRun(client: Api, wsId: string): Promise<Json> {
    const res = await client.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': false }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assertStatus(res, 201);
    return res.body.data;
  }

  async function waitForRun(id: string, wanted: string[]): Promise<Json> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await admin.get(`/runs/${id}`);
      assertStatus(res, 200);
      const status: string = res.body.data.attributes.status;
      if (wanted.includes(status)) return res.body.data;
      if (FINAL.includes(status)) assert.fail(`run ${id} ended ${status} (${res.body.data.attributes['error-message']}), expected ${wanted.join(' or ')}`);
      if (Date.now() > deadline) assert.fail(`run ${id} is still ${status}, expected ${wanted.join(' or ')}`);
      await sleep(100);
    }
  }

  async function events(client: Api, runId: string, query = ''): Promise<Json> {
    const res = await client.get(`/runs/${runId}/run-events${query}`);
    assertStatus(res, 200);
    return res.body;
  }

  function comment(body: unknown): Json {
    return { data: { type: 'comments', attributes: { body } } };
  }

  it('an applied run tells its history in order: who queued and confirmed it, what was said, and what otfd did', async () => {
    await upload(ws.id, fixture('one-resource'));
    const run = await createRun(writer.client, ws.id);
    await waitForRun(run.id, ['planned']);
    assertStatus(await writer.client.post(`/runs/${run.id}/actions/apply`, { comment: 'ship it' }), 202);
    await waitForRun(run.id, ['applied']);

    const doc = await events(reader.client, run.id, '?include=actor,comment');
    const list: Json[] = doc.data;
    assert.deepEqual(
      list.map((e) => e.attributes.action),
      ['created', 'plan_queued', 'planning', 'planned', 'commented', 'confirmed', 'apply_queued', 'applying', 'applied'],
    );
    assert.equal(doc.meta.pagination['total-count'], 9);
    const times = list.map((e) => Date.parse(e.attributes['created-at']));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'events come oldest first');
    for (const e of list) {
      assert.equal(e.type, 'run-events');
      assert.match(e.id, /^re-/);
      assert.ok(e.attributes.description.length > 0, `every event says what happened: ${JSON.stringify(e)}`);
    }
    const byAction = (action: string) => list.find((e) => e.attributes.action === action)!;
    // The user acted: created the run, commented, confirmed (and so queued the apply); otfd did the rest.
    for (const action of ['created', 'commented', 'confirmed', 'apply_queued']) {
      assert.deepEqual(byAction(action).relationships.actor.data, { type: 'users', id: writer.id }, action);
    }
    for (const action of ['plan_queued', 'planning', 'planned', 'applying', 'applied']) {
      assert.equal(byAction(action).relationships.actor.data, null, action);
    }
    const commented = byAction('commented');
    const commentId: string = commented.relationships.comment.data.id;
    assert.match(commentId, /^wsc-/);
    assert.equal(byAction('applied').relationships.comment.data, null);
    const included: Json[] = doc.included;
    assert.deepEqual(included.find((r) => r.type === 'users' && r.id === writer.id)?.attributes.username, writer.username);
    assert.equal(included.find((r) => r.type === 'comments' && r.id === commentId)?.attributes.body, 'ship it');

    // Without include= the relationships name them, and nothing more comes.
    const plain = await events(admin, run.id);
    assert.equal(plain.included, undefined);
    assert.deepEqual(plain.data.find((e: Json) => e.attributes.action === 'commented').relationships.comment.data, { type: 'comments', id: commentId });

    // One event, and the comment it records.
    const one = await reader.client.get(`/run-events/${commented.id}?include=comment`);
    assertStatus(one, 200);
    assert.equal(one.body.data.attributes.action, 'commented');
    assert.equal(one.body.included[0].attributes.body, 'ship it');
    const shown = await reader.client.get(`/comments/${commentId}`);
    assertStatus(shown, 200);
    assert.equal(shown.body.data.attributes.body, 'ship it');
    assert.deepEqual(shown.body.data.relationships['run-event'].data, { type: 'run-events', id: commented.id });

    // A page of events.
    const page = await events(admin, run.id, '?page[size]=4&page[number]=2');
    assert.deepEqual(
      page.data.map((e: Json) => e.attributes.action),
      ['commented', 'confirmed', 'apply_queued', 'applying'],
    );
    assert.equal(page.meta.pagination['total-pages'], 3);
  });

  it('comments left on a run are listed in order and appear among its events; a reader may comment', async () => {
    const fresh = await createWorkspace(admin, org);
    const writer = await userWithAccess(admin, org, [fresh.id], 'write');
    const reader = await userWithAccess(admin, org, [fresh.id], 'read');
    await upload(fresh.id, fixture('one-resource'));
    const run = await createRun(writer.client, fresh.id);
    await waitForRun(run.id, ['planned']);
    const first = await reader.client.post(`/runs/${run.id}/comments`, comment('1st comment test'));
    assertStatus(first, 201);
    assert.equal(first.body.data.type, 'comments');
    assert.equal(first.body.data.attributes.body, '1st comment test');
    assert.match(first.body.data.relationships['run-event'].data.id, /^re-/);
    const second = await writer.client.post(`/runs/${run.id}/comments`, comment('2nd comment: ünïcode ✓'));
    assertStatus(second, 201);

    const listed = await admin.get(`/runs/${run.id}/comments`);
    assertStatus(listed, 200);
    assert.deepEqual(
      listed.body.data.map((c: Json) => c.attributes.body),
      ['1st comment test', '2nd comment: ünïcode ✓'],
    );
    assert.equal(listed.body.meta.pagination['total-count'], 2);

    const doc = await events(admin, run.id, '?include=actor');
    const commented = doc.data.filter((e: Json) => e.attributes.action === 'commented');
    assert.deepEqual(
      commented.map((e: Json) => [e.relationships.comment.data.id, e.relationships.actor.data.id]),
      [
        [first.body.data.id, reader.id],
        [second.body.data.id, writer.id],
      ],
    );
    assert.deepEqual(
      doc.included.map((u: Json) => u.attributes.username).sort(),
      [reader.username, writer.username].sort(),
    );
    // A run's permissions say who may comment.
    const seen = await reader.client.get(`/runs/${run.id}`);
    assert.equal(seen.body.data.attributes.permissions['can-comment'], true);
    // Discarding with a comment: the comment, then the discard, both by the user.
    assertStatus(await writer.client.post(`/runs/${run.id}/actions/discard`, { comment: 'not today' }), 202);
    const after = (await events(admin, run.id)).data.slice(-2);
    assert.deepEqual(
      after.map((e: Json) => [e.attributes.action, e.relationships.actor.data?.id]),
      [
        ['commented', writer.id],
        ['discarded', writer.id],
      ],
    );
    assert.equal((await admin.get(`/runs/${run.id}/comments`)).body.meta.pagination['total-count'], 3);
  });

  it('an errored run ends with an errored event that says why', async () => {
    const broken = await createWorkspace(admin, org);
    await upload(broken.id, fixture('broken-syntax'));
    const run = await createRun(admin, broken.id);
    await waitForRun(run.id, ['errored']);
    const list: Json[] = (await events(admin, run.id)).data;
    assert.deepEqual(
      list.map((e) => e.attributes.action),
      ['created', 'plan_queued', 'planning', 'errored'],
    );
    assert.match(list[3].attributes.description, /^Run errored/);
  });

  it('refuses bad comments with a clear 4xx, and hides other organizations’ runs, comments and events (404)', async () => {
    await upload(ws.id, fixture('one-resource'));
    const run = await createRun(writer.client, ws.id);
    const post = (body: unknown, client: Api = writer.client) => client.post(`/runs/${run.id}/comments`, body);
    assertError(await post(comment('')), 422, /body/, { pointer: '/data/attributes/body' });
    assertError(await post(comment('   \n ')), 422, /body must not be empty/, { pointer: '/data/attributes/body' });
    assertError(await post(comment('x'.repeat(10_001))), 422, /10000/, { pointer: '/data/attributes/body' });
    assertError(await post(comment('nul \u0000 byte')), 422, /NUL/);
    assertError(await post(comment(42)), 422, /string/, { pointer: '/data/attributes/body' });
    assertError(await post({ data: { type: 'notes', attributes: { body: 'x' } } }), 422, /comments/);
    assertError(await post({ data: { type: 'comments' } }), 422, /attributes/);
    assertError(await post({}), 422, /data/);
    const malformed = await writer.client.post(`/runs/${run.id}/comments`, undefined, { raw: '{"data": {' });
    assert.equal(malformed.status, 400, malformed.text);
    assert.ok(malformed.body.errors[0].detail);
    // Exactly at the limit is fine.
    assertStatus(await post(comment('y'.repeat(10_000))), 201);

    // An organization token may not comment (runs are for users and teams), but may read them.
    const orgToken = await organizationToken(admin, org);
    assertError(await post(comment('from the org'), orgToken), 403, /organization token may not comment on runs/);
    assertStatus(await orgToken.get(`/runs/${run.id}/comments`), 200);

    // Somebody of another organization sees none of it.
    const otherOrg = await createOrganization(admin);
    const otherWs = await createWorkspace(admin, otherOrg);
    const stranger = await userWithAccess(admin, otherOrg, [otherWs.id], 'admin');
    const commentId: string = (await admin.get(`/runs/${run.id}/comments`)).body.data[0].id;
    const eventId: string = (await events(admin, run.id)).data[0].id;
    for (const path of [`/runs/${run.id}/comments`, `/runs/${run.id}/run-events`, `/comments/${commentId}`, `/run-events/${eventId}`]) {
      assertError(await stranger.client.get(path), 404, /not found/);
    }
    assertError(await post(comment('hello?'), stranger.client), 404, /not found/);
    for (const path of ['/runs/run-doesnotexist/comments', '/runs/run-doesnotexist/run-events', '/comments/wsc-doesnotexist', '/run-events/re-doesnotexist']) {
      assertError(await admin.get(path), 404, /not found/);
    }
    assertError(await admin.post('/runs/run-doesnotexist/comments', comment('x')), 404, /not found/);
    // Nothing of the refused comments was stored.
    const bodies = (await admin.get(`/runs/${run.id}/comments`)).body.data.map((c: Json) => c.attributes.body);
    assert.deepEqual(bodies, ['y'.repeat(10_000)]);
  });
});
