// A notification is part of the change it tells of: a run's creation and its status changes queue
// their deliveries in their own transaction. What the user sees: the queue holds one delivery per
// listening configuration as soon as the API has answered (nothing waits for a background hook an
// otfd could die before running), and a change that does not happen (its transaction rolled back)
// has queued nothing. The destinations here never answer, so what is queued stays in the queue
// (leased by the worker) while the test reads it.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Api, Json } from './helpers/api.js';
import { assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';

const CONFIG = fixture('one-resource');

interface QueuedRow {
  configuration_id: string;
  trigger: string;
  event: { trigger: string; run: { id: string; status: string } | null };
}

describe('notifications are queued in the transaction of the change they tell of', function () {
  let server: TestServer;
  let admin: Api;
  let org: string;
  let hanging: http.Server;
  let url: string;

  before(async () => {
    // A destination that never answers: every delivery stays in the queue for the test to read.
    hanging = http.createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
    // No server agent: runs wait in plan_queued until canceled.
    server = await startServer({ config: { notificationAllowPrivateAddresses: true, notificationTimeoutMs: 60_000 } });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(async () => {
    await server?.stop();
    hanging?.closeAllConnections();
    await new Promise<void>((resolve) => hanging?.close(() => resolve()) ?? resolve());
  });

  async function configure(wsId: string, name: string, enabled: boolean, triggers: string[]): Promise<string> {
    const res = await admin.post(`/workspaces/${wsId}/notification-configurations`, {
      data: { type: 'notification-configurations', attributes: { name, 'destination-type': 'generic', enabled, url, triggers } },
    });
    assertStatus(res, 201);
    return res.body.data.id;
  }

  async function upload(wsId: string): Promise<string> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200);
    return cv.body.data.id;
  }

  async function startRun(wsId: string, cvId: string, message: string): Promise<Json> {
    const res = await admin.post('/runs', {
      data: {
        type: 'runs',
        attributes: { message },
        relationships: { workspace: { data: { type: 'workspaces', id: wsId } }, 'configuration-version': { data: { type: 'configuration-versions', id: cvId } } },
      },
    });
    assertStatus(res, 201);
    return res.body.data;
  }

  /** What the queue holds about the run, read at once. */
  async function queuedFor(runId: string): Promise<QueuedRow[]> {
    const rows = (await server.otfd.db('notification_deliveries').select('configuration_id', 'trigger', 'event').orderBy('id')) as QueuedRow[];
    return rows.filter((r) => r.event.run?.id === runId);
  }

  const idsOf = (rows: QueuedRow[], trigger: string) =>
    rows
      .filter((r) => r.trigger === trigger)
      .map((r) => r.configuration_id)
      .sort();

  it('a new run and its cancel have queued one delivery per listening configuration by the time the API answers', async () => {
    const ws = await createWorkspace(admin, org);
    const other = await createWorkspace(admin, org);
    const quiet = await createWorkspace(admin, org);
    const both = await configure(ws.id, 'both', true, ['run:created', 'run:errored']);
    const alsoBoth = await configure(ws.id, 'also both', true, ['run:errored', 'run:created', 'run:completed']);
    await configure(ws.id, 'planning only', true, ['run:planning']);
    await configure(ws.id, 'disabled', false, ['run:created', 'run:errored']);
    await configure(other.id, 'another workspace', true, ['run:created', 'run:errored']);

    const run = await startRun(ws.id, await upload(ws.id), 'told at once');
    assert.equal(run.attributes.status, 'plan_queued');
    const afterCreate = await queuedFor(run.id);
    assert.deepEqual(
      afterCreate.map((r) => r.trigger),
      ['run:created', 'run:created'],
      'run:created for each enabled configuration listening for it, and nothing for plan_queued',
    );
    assert.deepEqual(idsOf(afterCreate, 'run:created'), [both, alsoBoth].sort());
    assert.ok(afterCreate.every((r) => r.event.run?.status === 'pending'));

    assertStatus(await admin.post(`/runs/${run.id}/actions/cancel`, {}), 202);
    const afterCancel = await queuedFor(run.id);
    assert.equal(afterCancel.length, 4, JSON.stringify(afterCancel.map((r) => [r.trigger, r.configuration_id])));
    assert.deepEqual(idsOf(afterCancel, 'run:errored'), [both, alsoBoth].sort());
    assert.ok(afterCancel.filter((r) => r.trigger === 'run:errored').every((r) => r.event.run?.status === 'canceled'));

    // A workspace without configurations queues nothing for its runs.
    const unheard = await startRun(quiet.id, await upload(quiet.id), 'nobody listens');
    assertStatus(await admin.post(`/runs/${unheard.id}/actions/cancel`, {}), 202);
    assert.deepEqual(await queuedFor(unheard.id), []);
  });

  it('a status change whose transaction rolls back has queued nothing, and one that cannot queue does not happen', async () => {
    const ws = await createWorkspace(admin, org);
    const listening = await configure(ws.id, 'errors', true, ['run:errored']);
    const run = await startRun(ws.id, await upload(ws.id), 'doomed cancel');
    const db = server.otfd.db;
    // A cancel writes the run's cancel request after its transition (and the transition's
    // notification): failing that write rolls the whole cancel back.
    await db.raw(`
      CREATE FUNCTION test_refuse_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the test refuses this cancel'; END $$`);
    await db.raw(`
      CREATE TRIGGER test_refuse_cancel BEFORE UPDATE ON runs FOR EACH ROW
      WHEN (NEW.id = '${run.id}' AND NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL)
      EXECUTE FUNCTION test_refuse_cancel()`);
    try {
      const refused = await admin.post(`/runs/${run.id}/actions/cancel`, {});
      assert.ok(refused.status >= 500, `the cancel failed (${refused.status})`);
      assert.equal((await admin.get(`/runs/${run.id}`)).body.data.attributes.status, 'plan_queued', 'the run did not change');
      assert.deepEqual(await queuedFor(run.id), [], 'nothing was queued for the change that did not happen');
    } finally {
      await db.raw('DROP TRIGGER test_refuse_cancel ON runs');
      await db.raw('DROP FUNCTION test_refuse_cancel()');
    }

    // The queue refuses the delivery: the run's change fails with it, so none happens untold.
    await db.raw(`
      CREATE FUNCTION test_refuse_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the test refuses this delivery'; END $$`);
    await db.raw(`
      CREATE TRIGGER test_refuse_delivery BEFORE INSERT ON notification_deliveries FOR EACH ROW
      WHEN (NEW.configuration_id = '${listening}')
      EXECUTE FUNCTION test_refuse_delivery()`);
    try {
      const refused = await admin.post(`/runs/${run.id}/actions/cancel`, {});
      assert.ok(refused.status >= 500, `the cancel failed (${refused.status})`);
      assert.equal((await admin.get(`/runs/${run.id}`)).body.data.attributes.status, 'plan_queued', 'the run did not change');
    } finally {
      await db.raw('DROP TRIGGER test_refuse_delivery ON notification_deliveries');
      await db.raw('DROP FUNCTION test_refuse_delivery()');
    }

    assertStatus(await admin.post(`/runs/${run.id}/actions/cancel`, {}), 202);
    const queued = await queuedFor(run.id);
    assert.deepEqual(
      queued.map((r) => [r.trigger, r.configuration_id, r.event.run?.status]),
      [['run:errored', listening, 'canceled']],
      'exactly one delivery, from the cancel that committed',
    );
  });
});
