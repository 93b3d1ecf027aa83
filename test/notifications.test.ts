// Notifications as a workspace admin sets them up and as their receivers see them: a real run by
// the server agent notifies a generic webhook (its HMAC-SHA512 signature checked), a Slack-shaped
// receiver and a real SMTP server (smtp-server, with authentication); a failing destination is
// retried and recorded and never holds the run up; verify sends a test notification; bad input is
// refused with a 422 that says why, and changes nothing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { runNotifications } from '../src/notifications/index.js';
import { isPrivateAddress } from '../src/notifications/address.js';
import { genericPayload, slackPayload } from '../src/notifications/payloads.js';
import { Sender } from '../src/notifications/sender.js';
import { createLogger } from '../src/logger.js';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { assertOk, linesOf, runOtf } from './helpers/otf.js';
import { addToOrganization, createUser, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until, waitFor } from './helpers/wait.js';

const CONFIG = fixture('one-resource');
const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];
const RUN_TRIGGERS = ['run:created', 'run:planning', 'run:needs_attention', 'run:applying', 'run:completed', 'run:errored'];

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** An HTTP receiver on loopback; `answer` decides what each request gets (by its number, from 0). */
async function receiver(answer: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void = (_n, _req, res) => res.end('ok')) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      answer(received.length - 1, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function configDoc(attributes: Record<string, unknown>, users?: string[]): Json {
  const data: Json = { type: 'notification-configurations', attributes };
  if (users) data.relationships = { users: { data: users.map((id) => ({ type: 'users', id })) } };
  return { data };
}

describe('notifications', function () {
  let server: TestServer;
  let admin: Api;
  let org: string;
  let smtp: SMTPServer;
  const mails: Array<{ from: string; to: string[]; raw: string; user: string | undefined }> = [];
  const SMTP_USER = 'otf-mailer';
  const SMTP_PASSWORD = `pw-${crypto.randomBytes(8).toString('hex')}`;

  before(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
        else cb(new Error('invalid credentials'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    server = await startServer({
      ssl: true,
      config: {
        concurrency: 2,
        notificationAllowPrivateAddresses: true,
        smtp: { host: '127.0.0.1', port: smtpPort, user: SMTP_USER, password: SMTP_PASSWORD, from: 'otf@example.com', tls: 'none' },
        notificationTimeoutMs: 1_000,
        notificationRetryDelaysMs: [200, 400, 800],
      },
    });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(async () => {
    await server?.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  async function upload(wsId: string): Promise<string> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200);
    return cv.body.data.id;
  }

  async function startRun(wsId: string): Promise<string> {
    const cvId = await upload(wsId);
    const res = await admin.post('/runs', {
      data: {
        type: 'runs',
        attributes: { message: 'notify me' },
        relationships: { workspace: { data: { type: 'workspaces', id: wsId } }, 'configuration-version': { data: { type: 'configuration-versions', id: cvId } } },
      },
    });
    assertStatus(res, 201);
    return res.body.data.id;
  }

  async function waitForRun(id: string, wanted: string[], timeoutMs = 60_000): Promise<Json> {
    const run = await until(
      `run ${id} to reach ${wanted.join(' or ')}`,
      async () => (await admin.get(`/runs/${id}`)).body.data,
      (r: Json) => wanted.includes(r.attributes.status) || FINAL.includes(r.attributes.status),
      timeoutMs,
    );
    assert.ok(wanted.includes(run.attributes.status), `run ${id} ended ${run.attributes.status} (${run.attributes['error-message']})`);
    return run;
  }

  async function create(wsId: string, attributes: Record<string, unknown>, users?: string[], client: Api = admin) {
    return client.post(`/workspaces/${wsId}/notification-configurations`, configDoc(attributes, users));
  }

  it('a run notifies a signed generic webhook, Slack and email; a failing destination is retried and recorded without holding the run up', async () => {
    const ws = await createWorkspace(admin, org, randomName('ws'), { 'auto-apply': true });
    const generic = await receiver();
    const slack = await receiver();
    // 500 twice, then no answer at all (each attempt cut at otfd's timeout of 1 s).
    const failing = await receiver((n, _req, res) => {
      if (n === 2 || n === 3) return; // hangs: otfd's timeout ends the attempt
      res.statusCode = 500;
      res.end('receiver is broken');
    });
    // Never answers: listening for run:created, it is still being tried while the run goes on.
    const hanging = await receiver(() => undefined);
    const member = await createUser(admin);
    await addToOrganization(admin, org, member);
    try {
      const token = `hmac-${crypto.randomBytes(12).toString('hex')}`;
      const g = await create(ws.id, { name: 'webhook', 'destination-type': 'generic', enabled: true, url: generic.url, token, triggers: RUN_TRIGGERS });
      assertStatus(g, 201);
      assert.equal(g.body.data.attributes.token, null, 'the token is never shown');
      assert.deepEqual(g.body.data.attributes['delivery-responses'], []);
      assert.equal(g.body.data.relationships.subscribable.data.id, ws.id);
      assertStatus(await create(ws.id, { name: 'slack', 'destination-type': 'slack', enabled: true, url: slack.url, triggers: ['run:completed'] }), 201);
      const mail = await create(ws.id, { name: 'email', 'destination-type': 'email', enabled: true, 'email-addresses': ['ops@example.com'], triggers: ['run:completed', 'run:errored'] }, [member.id]);
      assertStatus(mail, 201);
      assert.deepEqual(mail.body.data.relationships.users.data, [{ type: 'users', id: member.id }]);
      const bad = await create(ws.id, { name: 'broken', 'destination-type': 'generic', enabled: true, url: failing.url, triggers: ['run:completed'] });
      assertStatus(bad, 201);
      const slow = await create(ws.id, { name: 'hangs', 'destination-type': 'generic', enabled: true, url: hanging.url, triggers: ['run:created'] });
      assertStatus(slow, 201);
      // A disabled configuration sends nothing.
      const quiet = await receiver();
      assertStatus(await create(ws.id, { name: 'off', 'destination-type': 'generic', enabled: false, url: quiet.url, triggers: RUN_TRIGGERS }), 201);

      const started = Date.now();
      const runId = await startRun(ws.id);
      const run = await waitForRun(runId, ['applied']);
      const runSeconds = (Date.now() - started) / 1000;

      // The generic webhook: every trigger of the run, in order, each signed over its exact body.
      await waitFor('the generic webhook to hear run:completed', async () => generic.received.some((r) => JSON.parse(r.body).notifications[0].trigger === 'run:completed'));
      for (const r of generic.received) {
        const expected = crypto.createHmac('sha512', token).update(r.body).digest('hex');
        assert.equal(r.headers['x-tfe-notification-signature'], expected, 'the signature is HMAC-SHA512 of the body under the token');
        assert.equal(r.headers['content-type'], 'application/json');
      }
      const payloads = generic.received.map((r) => JSON.parse(r.body));
      assert.deepEqual(
        payloads.map((p) => p.notifications[0].trigger),
        ['run:created', 'run:planning', 'run:applying', 'run:completed'],
        'an auto-apply run needs nobody’s attention',
      );
      const done = payloads[3];
      assert.equal(done.payload_version, 1);
      assert.equal(done.notification_configuration_id, g.body.data.id);
      assert.equal(done.run_id, runId);
      assert.equal(done.run_message, 'notify me');
      assert.equal(done.workspace_id, ws.id);
      assert.equal(done.workspace_name, ws.attributes.name);
      assert.equal(done.organization_name, org);
      assert.equal(done.run_created_by, 'site-admin');
      assert.equal(done.run_url, `${server.url}/app/${org}/workspaces/${ws.attributes.name}/runs/${runId}`);
      assert.equal(Date.parse(done.run_created_at), Date.parse(run.attributes['created-at']));
      assert.deepEqual(Object.keys(done.notifications[0]).sort(), ['message', 'run_status', 'run_updated_at', 'run_updated_by', 'trigger']);
      assert.equal(done.notifications[0].run_status, 'applied');
      assert.equal(done.notifications[0].message, 'Run Applied');
      assert.equal(payloads[0].notifications[0].run_status, 'pending');

      // Slack: an incoming-webhook message linking the run.
      await waitFor('the Slack message', async () => slack.received.length === 1);
      const message = JSON.parse(slack.received[0].body);
      assert.match(message.text, new RegExp(`^<${server.url}/app/${org}/workspaces/${ws.attributes.name}/runs/${runId}\\|Run Applied: ${org}/${ws.attributes.name}>$`));
      assert.equal(slack.received[0].headers['x-tfe-notification-signature'], undefined, 'only generic destinations are signed');

      // Email, through the SMTP server, signed in with --smtp-user and --smtp-password.
      await waitFor('the email', async () => mails.length === 1);
      assert.equal(mails[0].user, SMTP_USER);
      assert.equal(mails[0].from, 'otf@example.com');
      assert.deepEqual(mails[0].to.sort(), ['ops@example.com', member.username + '@example.com'].sort());
      assert.match(mails[0].raw, new RegExp(`Subject: Run Applied: ${org}/${ws.attributes.name}`));
      assert.match(mails[0].raw, new RegExp(runId));

      // The failing destination: tried four times (500, 500, then two hangs cut at 1 s), each recorded.
      const broken = await until(
        'the failing destination to be given up',
        async () => (await admin.get(`/notification-configurations/${bad.body.data.id}`)).body.data,
        (c: Json) => c.attributes['delivery-responses'].length === 4,
        30_000,
      );
      const responses = broken.attributes['delivery-responses'];
      assert.deepEqual(
        responses.map((r: Json) => [r.code, r.successful]),
        [
          ['0', 'false'],
          ['0', 'false'],
          ['500', 'false'],
          ['500', 'false'],
        ],
        'newest first: the two hangs, then the two 500s',
      );
      assert.equal(responses[2].body, 'receiver is broken');
      assert.match(responses[0].body, /no answer within 1000 ms/);
      assert.equal(responses[2].url, failing.url);
      assert.ok(responses[2].headers['content-length'], 'response headers are recorded');
      assert.ok(!Number.isNaN(Date.parse(responses[0]['sent-at'])));
      assert.equal(failing.received.length, 4, 'no attempt after the last retry');
      // The run did not wait for any of it: its plan started while the destination that never answers
      // was still being tried for run:created (four attempts of 1 s, 1.4 s of waits between them).
      const stuck = await until(
        'the hanging destination to be given up',
        async () => (await admin.get(`/notification-configurations/${slow.body.data.id}`)).body.data.attributes['delivery-responses'],
        (r: Json[]) => r.length === 4,
        30_000,
      );
      assert.ok(stuck.every((r: Json) => r.code === '0' && r.successful === 'false' && /no answer within 1000 ms/.test(r.body)));
      const planningAt = Date.parse(run.attributes['status-timestamps']['planning-at']);
      assert.ok(planningAt < Date.parse(stuck[0]['sent-at']), 'the plan started before the hanging destination was given up');
      assert.equal(hanging.received.length, 4);
      assert.ok(runSeconds < 60, `the run took ${runSeconds} s`);

      // The generic destination's successes are recorded too.
      const ok = (await admin.get(`/notification-configurations/${g.body.data.id}`)).body.data.attributes['delivery-responses'];
      assert.equal(ok.length, 4);
      assert.ok(ok.every((r: Json) => r.code === '200' && r.successful === 'true' && r.body === 'ok'));
      assert.equal(quiet.received.length, 0, 'a disabled configuration sends nothing');

      // /metrics counts the attempts by destination type and result.
      const metrics = await admin.get('/metrics');
      assert.match(metrics.text, /otf_notification_deliveries_total\{destination_type="generic",result="success"\} ([4-9]|\d\d)/);
      assert.match(metrics.text, /otf_notification_deliveries_total\{destination_type="generic",result="failure"\} 8/);
      assert.match(metrics.text, /otf_notification_deliveries_total\{destination_type="slack",result="success"\} 1/);
      assert.match(metrics.text, /otf_notification_deliveries_total\{destination_type="email",result="success"\} 1/);
      await quiet.close();
    } finally {
      await generic.close();
      await slack.close();
      await failing.close();
      await hanging.close();
    }
  });

  it('a run waiting for confirmation needs attention; Microsoft Teams gets a connector card', async () => {
    const ws = await createWorkspace(admin, org, randomName('ws'), { 'auto-apply': false });
    const teams = await receiver();
    try {
      assertStatus(await create(ws.id, { name: 'teams', 'destination-type': 'microsoft-teams', enabled: true, url: teams.url, triggers: ['run:needs_attention'] }), 201);
      const runId = await startRun(ws.id);
      await waitForRun(runId, ['planned']);
      await waitFor('the Teams card', async () => teams.received.length === 1);
      const card = JSON.parse(teams.received[0].body);
      assert.equal(card['@type'], 'MessageCard');
      assert.equal(card.title, `Run Needs Attention: ${org}/${ws.attributes.name}`);
      assert.ok(card.sections[0].facts.some((f: Json) => f.name === 'Run' && f.value === runId));
      assert.equal(card.potentialAction[0].targets[0].uri, `${server.url}/app/${org}/workspaces/${ws.attributes.name}/runs/${runId}`);
      assertStatus(await admin.post(`/runs/${runId}/actions/discard`, {}), 202);
    } finally {
      await teams.close();
    }
  });

  it('verify sends a test notification now and answers with its response', async () => {
    const ws = await createWorkspace(admin, org);
    const hook = await receiver();
    try {
      const token = 'verify-token';
      const c = await create(ws.id, { name: 'check me', 'destination-type': 'generic', enabled: false, url: hook.url, token, triggers: [] });
      assertStatus(c, 201);
      const res = await admin.post(`/notification-configurations/${c.body.data.id}/actions/verify`, {});
      assertStatus(res, 200);
      const responses = res.body.data.attributes['delivery-responses'];
      assert.equal(responses.length, 1);
      assert.equal(responses[0].code, '200');
      assert.equal(responses[0].successful, 'true');
      assert.equal(hook.received.length, 1);
      const payload = JSON.parse(hook.received[0].body);
      assert.equal(payload.notifications[0].trigger, 'verification');
      assert.equal(payload.notifications[0].message, 'Verification of check me');
      assert.equal(payload.run_id, null);
      assert.equal(hook.received[0].headers['x-tfe-notification-signature'], crypto.createHmac('sha512', token).update(hook.received[0].body).digest('hex'));
      // An unreachable destination is a failed response, not an error of the request.
      await hook.close();
      // go-tfe's Verify sends no body at all.
      const again = await admin.request('POST', `/notification-configurations/${c.body.data.id}/actions/verify`);
      assertStatus(again, 200);
      assert.equal(again.body.data.attributes['delivery-responses'][0].successful, 'false');
      assert.match(again.body.data.attributes['delivery-responses'][0].body, /cannot reach/);
    } finally {
      await hook.close().catch(() => undefined);
    }
  });

  it('run:created is sent as a run is made, also when it waits behind a locked workspace', async () => {
    const ws = await createWorkspace(admin, org);
    const hook = await receiver();
    try {
      assertStatus(await create(ws.id, { name: 'created', 'destination-type': 'generic', enabled: true, url: hook.url, triggers: ['run:created'] }), 201);
      assertStatus(await admin.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
      const runId = await startRun(ws.id);
      await waitFor('run:created', async () => hook.received.length === 1);
      const payload = JSON.parse(hook.received[0].body);
      assert.equal(payload.run_id, runId);
      assert.equal(payload.notifications[0].trigger, 'run:created');
      assert.equal(payload.notifications[0].run_status, 'pending');
      assert.equal((await admin.get(`/runs/${runId}`)).body.data.attributes.status, 'pending');
      assertStatus(await admin.post(`/runs/${runId}/actions/discard`, {}), 202);
      assertStatus(await admin.post(`/workspaces/${ws.id}/actions/unlock`, {}), 200);
      // Leaving pending sends no second run:created.
      await waitForRun(runId, ['discarded']);
      assert.equal(hook.received.length, 1);
    } finally {
      await hook.close();
    }
  });

  it('email goes only to users who still belong to the organization', async () => {
    const ws = await createWorkspace(admin, org);
    const stays = await createUser(admin);
    await addToOrganization(admin, org, stays);
    const leaves = await createUser(admin);
    const membership = await addToOrganization(admin, org, leaves);
    const c = await create(ws.id, { name: 'members', 'destination-type': 'email', enabled: false, 'email-addresses': [], triggers: [] }, [stays.id, leaves.id]);
    assertStatus(c, 201);
    const before = mails.length;
    assertStatus(await admin.post(`/notification-configurations/${c.body.data.id}/actions/verify`, {}), 200);
    await waitFor('the first email', async () => mails.length === before + 1);
    assert.deepEqual([...mails[before].to].sort(), [`${stays.username}@example.com`, `${leaves.username}@example.com`].sort());
    assertStatus(await admin.delete(`/organization-memberships/${membership.id}`), 204);
    assertStatus(await admin.post(`/notification-configurations/${c.body.data.id}/actions/verify`, {}), 200);
    await waitFor('the second email', async () => mails.length === before + 2);
    assert.deepEqual(mails[before + 1].to, [`${stays.username}@example.com`]);
  });

  it('update and delete; the token stays write-only', async () => {
    const ws = await createWorkspace(admin, org);
    const c = await create(ws.id, { name: 'first', 'destination-type': 'generic', url: 'http://127.0.0.1:9/x', token: 'secret-one', triggers: ['run:errored'] });
    assertStatus(c, 201);
    assert.equal(c.body.data.attributes.enabled, false, 'disabled unless enabled, as in Terraform Cloud');
    const id = c.body.data.id;
    const patched = await admin.patch(`/notification-configurations/${id}`, { data: { type: 'notification-configurations', attributes: { name: 'second', enabled: true, triggers: ['run:completed', 'run:completed'] } } });
    assertStatus(patched, 200);
    assert.equal(patched.body.data.attributes.name, 'second');
    assert.deepEqual(patched.body.data.attributes.triggers, ['run:completed']);
    assert.equal(patched.body.data.attributes.url, 'http://127.0.0.1:9/x');
    assert.doesNotMatch(patched.text, /secret-one/);
    const list = await admin.get(`/workspaces/${ws.id}/notification-configurations`);
    assertStatus(list, 200);
    assert.deepEqual(list.body.data.map((d: Json) => d.id), [id]);
    assert.equal(list.body.meta.pagination['total-count'], 1);
    assertError(
      await admin.patch(`/notification-configurations/${id}`, { data: { type: 'notification-configurations', attributes: { 'destination-type': 'slack' } } }),
      422,
      /cannot be changed/,
    );
    assertStatus(await admin.delete(`/notification-configurations/${id}`), 204);
    assertError(await admin.get(`/notification-configurations/${id}`), 404, /not found/);
  });

  it('bad input is refused with a 422 that says why, and changes nothing', async () => {
    const ws = await createWorkspace(admin, org);
    const valid = { name: 'n', 'destination-type': 'generic', url: 'http://127.0.0.1:9/ok', triggers: ['run:completed'] };
    const cases: Array<[Record<string, unknown>, RegExp, string]> = [
      [{ ...valid, url: 'ftp://example.com/x' }, /must be an http:\/\/ or https:\/\/ URL, not ftp/, '/data/attributes/url'],
      [{ ...valid, url: 'javascript:alert(1)' }, /must be an http:\/\/ or https:\/\/ URL/, '/data/attributes/url'],
      [{ ...valid, url: 'file:///etc/passwd' }, /not file/, '/data/attributes/url'],
      [{ ...valid, url: 'not a url' }, /spaces or control characters/, '/data/attributes/url'],
      [{ ...valid, url: 'http://user:pw@127.0.0.1/x' }, /must not carry credentials/, '/data/attributes/url'],
      [{ ...valid, url: `http://127.0.0.1/${'a'.repeat(3000)}` }, /at most 2048/, '/data/attributes/url'],
      [{ ...valid, url: 'http://no-such-host.invalid/x' }, /does not resolve/, '/data/attributes/url'],
      [{ ...valid, 'destination-type': 'slack', url: null }, /"url" is required for slack/, '/data/attributes/url'],
      [{ ...valid, triggers: ['run:exploded'] }, /"run:exploded" is not a trigger; the triggers are run:created/, '/data/attributes/triggers'],
      [{ ...valid, 'destination-type': 'pager' }, /destination-type/, '/data/attributes/destination-type'],
      [{ ...valid, name: 'x'.repeat(300) }, /"name" is 300 characters long; it may be at most 256/, '/data/attributes/name'],
      [{ ...valid, name: 'a\u0000b' }, /NUL/, '/data/attributes/name'],
      [{ ...valid, token: 't\u0000' }, /NUL/, '/data/attributes/token'],
      [{ ...valid, token: 'k'.repeat(2000) }, /"token" is 2000 characters long; it may be at most 1024/, '/data/attributes/token'],
      [{ ...valid, 'destination-type': 'email', url: undefined, 'email-addresses': ['nobody'] }, /"nobody" is not an email address/, '/data/attributes/email-addresses'],
      [{ ...valid, 'email-addresses': ['a@example.com'] }, /for email destinations only/, '/data/attributes/destination-type'],
      [{ ...valid, enabled: 'yes' }, /enabled/, '/data/attributes/enabled'],
    ];
    for (const [attributes, detail, pointer] of cases) {
      const res = await create(ws.id, attributes);
      assertError(res, 422, detail, { pointer });
      assert.doesNotMatch(res.text, /k{100}/, 'a token is never quoted back');
    }
    // A user of another organization is nobody to send this organization's email to.
    const stranger = await createUser(admin);
    assertError(await create(ws.id, { name: 'e', 'destination-type': 'email', 'email-addresses': [], triggers: [] }, [stranger.id]), 422, /is not a member of organization/, {
      pointer: '/data/relationships/users/data',
    });
    assertError(await admin.request('POST', `/workspaces/${ws.id}/notification-configurations`, { raw: '{"data": ' }), 400, /JSON/i);
    // Another organization's workspace is not there for its admins.
    const other = await createOrganization(admin);
    const otherWs = await createWorkspace(admin, other);
    const otherOwner = await userWithAccess(admin, org, [ws.id], 'admin');
    assertError(await create(otherWs.id, valid, undefined, otherOwner.client), 404, /workspace .* not found/);
    const foreign = await create(otherWs.id, valid);
    assertStatus(foreign, 201);
    assertError(await otherOwner.client.get(`/notification-configurations/${foreign.body.data.id}`), 404, /not found/);
    assertError(await otherOwner.client.delete(`/notification-configurations/${foreign.body.data.id}`), 404, /not found/);
    // Read and write access are not enough: notifications are the workspace admins'.
    const readOnly = await userWithAccess(admin, org, [ws.id], 'read');
    assertError(await create(ws.id, valid, undefined, readOnly.client), 403, /admin access to the workspace/);
    const reader = await userWithAccess(admin, org, [ws.id], 'write');
    assertError(await create(ws.id, valid, undefined, reader.client), 403, /manage the workspace's notification configurations you need admin access/);
    assertError(await reader.client.get(`/workspaces/${ws.id}/notification-configurations`), 403, /admin access/);
    assertStatus(await create(ws.id, valid, undefined, otherOwner.client), 201);
    // Nothing of the refused requests was made.
    const list = await admin.get(`/workspaces/${ws.id}/notification-configurations`);
    assert.equal(list.body.data.length, 1);
    assert.equal((await admin.get(`/workspaces/${otherWs.id}/notification-configurations`)).body.data.length, 1);
  });

  it('otf notifications: create (the token from standard input), list, show, verify, delete', async () => {
    const ws = await createWorkspace(admin, org);
    const wsPath = `${org}/${ws.attributes.name}`;
    const hook = await receiver();
    try {
      const token = `cli-${crypto.randomBytes(8).toString('hex')}`;
      const made = await runOtf(server, ['notifications', 'create', wsPath, 'from the cli', '--type', 'generic', '--url', hook.url, '--trigger', 'run:completed', '--trigger', 'run:errored', '--token-file', '-'], {
        input: `${token}\n`,
      });
      assertOk(made);
      const id = /^id: (nc-\S+)$/m.exec(made.stdout)?.[1];
      assert.ok(id, made.stdout);
      assert.match(made.stdout, /^enabled: true$/m);
      assert.match(made.stdout, /^triggers: run:completed, run:errored$/m);
      assert.doesNotMatch(made.stdout, new RegExp(token));

      const list = await runOtf(server, ['notifications', 'list', wsPath]);
      assertOk(list);
      assert.deepEqual(linesOf(list.stdout)[0].split(/\s+/), ['ID', 'NAME', 'TYPE', 'ENABLED', 'TRIGGERS', 'LAST-DELIVERY']);
      assert.match(linesOf(list.stdout)[1], new RegExp(`^${id}\\s+from the cli\\s+generic\\s+true\\s+run:completed, run:errored\\s+-$`));

      const verified = await runOtf(server, ['notifications', 'verify', id]);
      assertOk(verified);
      assert.match(verified.stdout, /^last-delivery: delivered \(200\) at \S+: ok$/m);
      assert.equal(hook.received.length, 1);
      assert.equal(hook.received[0].headers['x-tfe-notification-signature'], crypto.createHmac('sha512', token).update(hook.received[0].body).digest('hex'), 'signed with the token read from stdin');

      const shown = await runOtf(server, ['notifications', 'show', id]);
      assertOk(shown);
      assert.match(shown.stdout, /^deliveries: 1$/m);
      assert.match(shown.stdout, new RegExp(`^url: ${hook.url}$`, 'm'));

      const refused = await runOtf(server, ['notifications', 'create', wsPath, 'bad', '--type', 'generic', '--url', hook.url, '--trigger', 'run:exploded']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /"run:exploded" is not a trigger/);

      const deleted = await runOtf(server, ['notifications', 'delete', id]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `notification configuration ${id} deleted\n`);
      assertError(await admin.get(`/notification-configurations/${id}`), 404, /not found/);
    } finally {
      await hook.close();
    }
  });

  it('a workspace holds at most 20 configurations', async () => {
    const ws = await createWorkspace(admin, org);
    for (let i = 0; i < 20; i++) assertStatus(await create(ws.id, { name: `n${i}`, 'destination-type': 'generic', url: 'http://127.0.0.1:9/x' }), 201);
    assertError(await create(ws.id, { name: 'one more', 'destination-type': 'generic', url: 'http://127.0.0.1:9/x' }), 422, /already has 20 notification configurations/);
  });
});

describe('an otfd without --notification-allow-private-addresses or --smtp-host', function () {
  let server: TestServer;
  let org: string;
  before(async () => {
    server = await startServer();
    org = await createOrganization(server.api);
  });
  after(() => server?.stop());

  it('refuses private destinations at create, naming the address', async () => {
    const ws = await createWorkspace(server.api, org);
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost/', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/', 'http://192.168.0.1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/',
      // IPv6 forms that carry a private IPv4 address or reach one through a translator or tunnel.
      'http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b:1::808:808]/', 'http://[2002:7f00:1::1]/', 'http://[::127.0.0.1]/', 'http://[fec0::1]/', 'http://[2001:0:4136:e378::1]/', 'http://[2001:4860::5efe:10.0.0.1]/']) {
      const res = await server.api.post(`/workspaces/${ws.id}/notification-configurations`, configDoc({ name: 'n', 'destination-type': 'generic', url }));
      assertError(res, 422, /private, loopback or link-local address; otfd sends notifications there only with --notification-allow-private-addresses/, { pointer: '/data/attributes/url' });
    }
    assert.equal((await server.api.get(`/workspaces/${ws.id}/notification-configurations`)).body.data.length, 0);
  });

  it('refuses private destinations at update, and again at delivery when a name has come to resolve to one', async () => {
    const ws = await createWorkspace(server.api, org);
    // A configuration made while its host resolved to a public address (this sandbox resolves no
    // public names, so it is written as the API would have written it).
    const id = 'nc-publicbeforehand';
    await server.otfd.db('notification_configurations').insert({ id, workspace_id: ws.id, name: 'was public', enabled: true, destination_type: 'generic', url: 'http://93.184.215.14/hook', triggers: ['run:completed'] });
    const patch = (attributes: Record<string, unknown>) => server.api.patch(`/notification-configurations/${id}`, { data: { type: 'notification-configurations', attributes } });
    assertError(await patch({ url: 'http://127.0.0.1:5432/' }), 422, /127\.0\.0\.1 is a private, loopback or link-local address/, { pointer: '/data/attributes/url' });
    assert.equal((await server.api.get(`/notification-configurations/${id}`)).body.data.attributes.url, 'http://93.184.215.14/hook', 'nothing changed');
    // Now its address is a private one (as if DNS had changed): the delivery is refused, not sent.
    await server.otfd.db('notification_configurations').where({ id }).update({ url: 'http://localhost:9/hook' });
    const verified = await server.api.post(`/notification-configurations/${id}/actions/verify`, {});
    assertStatus(verified, 200);
    const [response] = verified.body.data.attributes['delivery-responses'];
    assert.equal(response.successful, 'false');
    assert.match(response.body, /^refused: localhost resolves to (127\.0\.0\.1|::1), which is a private, loopback or link-local address/);
  });

  it('an email destination without --smtp-host is recorded as failed, saying why', async () => {
    const org = await createOrganization(server.api);
    const ws = await createWorkspace(server.api, org);
    const made = await server.api.post(`/workspaces/${ws.id}/notification-configurations`, configDoc({ name: 'mail', 'destination-type': 'email', 'email-addresses': ['ops@example.com'], triggers: ['run:errored'] }));
    assertStatus(made, 201);
    assert.equal(made.body.data.attributes.url, null);
    const verified = await server.api.post(`/notification-configurations/${made.body.data.id}/actions/verify`, {});
    assertStatus(verified, 200);
    const [response] = verified.body.data.attributes['delivery-responses'];
    assert.equal(response.successful, 'false');
    assert.equal(response.body, 'otfd has no SMTP server to send email through (--smtp-host)');
  });
});

describe('what each event notifies, and the payloads of health assessments', function () {
  it('tells private addresses, in every IPv6 form that embeds one, from public ones', () => {
    const refused = ['10.0.0.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '::', '::1', '::127.0.0.1', '::8.8.8.8', '::ffff:8.8.8.8', '::ffff:0:10.0.0.1', '64:ff9b::10.0.0.1', '64:ff9b::7f00:1', '64:ff9b:1::808:808', '2002:a00:1::1', '2002:a9fe:a9fe::', 'fec0::1', 'fc00::1', 'fe80::1%eth0', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:db8::1', '2001:4860::5efe:192.168.1.1', '2001:4860::200:5efe:127.0.0.1', 'ff02::1', 'not an address'];
    const allowed = ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '2600::1', '64:ff9b::8.8.8.8', '2002:808:808::1', '2001:4860::5efe:8.8.8.8'];
    for (const a of refused) assert.equal(isPrivateAddress(a), true, `${a} should be refused`);
    for (const a of allowed) assert.equal(isPrivateAddress(a), false, `${a} should be allowed`);
  });

  it('maps run status changes to Terraform Cloud’s triggers', () => {
    const triggers = (from: string, to: string, autoApply = false) => runNotifications({ autoApply }, from, to).map((n) => `${n.trigger} ${n.status} ${n.message}`);
    // run:created is sent as a run is made, not as it leaves pending.
    assert.deepEqual(triggers('pending', 'plan_queued'), []);
    assert.deepEqual(triggers('plan_queued', 'planning'), ['run:planning planning Run Planning']);
    assert.deepEqual(triggers('planning', 'planned'), ['run:needs_attention planned Run Needs Attention']);
    assert.deepEqual(triggers('planning', 'planned', true), [], 'an auto-apply run needs nobody');
    assert.deepEqual(triggers('apply_queued', 'applying'), ['run:applying applying Run Applying']);
    assert.deepEqual(triggers('applying', 'applied'), ['run:completed applied Run Applied']);
    assert.deepEqual(triggers('planning', 'planned_and_finished'), ['run:completed planned_and_finished Run Planned and finished']);
    assert.deepEqual(triggers('planning', 'errored'), ['run:errored errored Run Errored']);
    assert.deepEqual(triggers('applying', 'canceled'), ['run:errored canceled Run Canceled']);
    assert.deepEqual(triggers('pending', 'canceled'), ['run:errored canceled Run Canceled']);
    assert.deepEqual(triggers('planned', 'discarded'), []);
    assert.deepEqual(triggers('planned', 'confirmed'), []);
  });

  it('sends an assessment as payload version 2, linking its result', () => {
    const event = {
      trigger: 'assessment:drifted' as const,
      message: '1 resource drifted',
      workspaceId: 'ws-1',
      workspaceName: 'web',
      organizationName: 'acme',
      run: null,
      assessment: { resultId: 'asmtres-1', at: '2026-12-05T04:00:00.000Z' },
    };
    const ctx = { configurationId: 'nc-1', configurationName: 'drift', baseUrl: 'https://otf.example.com' };
    const p = genericPayload(ctx, event) as Json;
    assert.equal(p.payload_version, '2');
    assert.equal(p.notification_configuration_url, 'https://otf.example.com/api/v2/notification-configurations/nc-1');
    assert.equal(p.workspace_name, 'web');
    assert.deepEqual(p.notifications, [
      {
        message: '1 resource drifted',
        trigger: 'assessment:drifted',
        details: { new_assessment_result: { id: 'asmtres-1', url: 'https://otf.example.com/api/v2/assessment-results/asmtres-1', created_at: '2026-12-05T04:00:00.000Z' } },
      },
    ]);
    assert.equal((slackPayload(ctx, event) as Json).text, '<https://otf.example.com/app/acme/workspaces/web|1 resource drifted: acme/web>');
  });
});

describe('one deadline over each attempt', function () {
  it('an SMTP server that keeps talking without ever finishing is cut off at the deadline, its connection closed', async () => {
    // Each line comes well within the socket timeout, so only an overall deadline ends the attempt
    // (the greeting comes at once: the greeting timeout does not end it either).
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      // A prompt greeting, then an answer to EHLO that never ends.
      socket.write('220 smtp.example.com ESMTP\r\n');
      socket.once('data', () => {
        const t = setInterval(() => socket.write('250-still answering\r\n'), 100);
        socket.on('close', () => clearInterval(t));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const sender = new Sender({ allowPrivateAddresses: true, timeoutMs: 500, smtp: { host: '127.0.0.1', port, user: null, password: null, from: 'otf@example.com', tls: 'none' }, logger: createLogger('silent') });
    try {
      const started = Date.now();
      const event = { trigger: 'verification' as const, message: 'hello', workspaceId: 'ws-x', workspaceName: 'x', organizationName: 'o', run: null, assessment: null };
      const outcome = await sender.send({ id: 'nc-x', name: 'mail', destinationType: 'email', url: null, token: null, emailAddresses: ['ops@example.com'] }, event, 'https://otf.example.com');
      // Generous: the deadline is 500 ms; the socket timeout alone would never end this attempt.
      assert.ok(Date.now() - started < 5_000, `the attempt took ${Date.now() - started} ms`);
      assert.equal(outcome.successful, false);
      assert.match(outcome.body, /no answer within 500 ms/);
      await waitFor('the connection to be closed', async () => sockets.size === 0);
    } finally {
      sender.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('queued notifications outlive the otfd that was sending them', function () {
  it('a stop cuts a hanging delivery short, and the next otfd on the database sends it', async () => {
    // The first request hangs; the second is answered.
    const hook = await receiver((n, _req, res) => {
      if (n > 0) res.end('ok');
    });
    let first: TestServer | null = null;
    let second: TestServer | null = null;
    try {
      first = await startServer({ config: { notificationAllowPrivateAddresses: true, notificationTimeoutMs: 3_000, notificationRetryDelaysMs: [200] } });
      const org = await createOrganization(first.api);
      const ws = await createWorkspace(first.api, org);
      const made = await first.api.post(`/workspaces/${ws.id}/notification-configurations`, configDoc({ name: 'n', 'destination-type': 'generic', enabled: true, url: hook.url, triggers: ['run:completed'] }));
      assertStatus(made, 201);
      const id = made.body.data.id;
      // A run's completion, as the runs domain's hook enqueues it.
      const event = {
        trigger: 'run:completed',
        message: 'Run Applied',
        workspaceId: ws.id,
        workspaceName: ws.attributes.name,
        organizationName: org,
        run: { id: 'run-queuedbefore', message: 'm', createdAt: new Date().toISOString(), createdBy: 'alice', status: 'applied', updatedAt: new Date().toISOString(), updatedBy: 'alice' },
        assessment: null,
      };
      await first.otfd.db('notification_deliveries').insert({ configuration_id: id, trigger: 'run:completed', event: JSON.stringify(event) });
      await waitFor('the first attempt to reach the receiver', async () => hook.received.length === 1, 10_000);
      const stopping = Date.now();
      await first.stop();
      const stopMs = Date.now() - stopping;
      assert.ok(stopMs < 2_500, `the stop waited ${stopMs} ms for a hanging destination (its timeout is 3000 ms)`);
      second = await startServer({ databaseUrl: first.databaseUrl, config: { notificationAllowPrivateAddresses: true } });
      // Taken again once the first otfd's lease on it is over (its timeout + 5 s).
      await waitFor('the delivery to be sent by the second otfd', async () => hook.received.length === 2, 20_000);
      const payload = JSON.parse(hook.received[1].body);
      assert.equal(payload.run_id, 'run-queuedbefore');
      const config = await until(
        'the response to be recorded',
        async () => (await second!.api.get(`/notification-configurations/${id}`)).body.data,
        (c: Json) => c.attributes['delivery-responses'].length === 1,
        10_000,
      );
      assert.deepEqual(
        config.attributes['delivery-responses'].map((r: Json) => [r.code, r.successful]),
        [['200', 'true']],
        'the attempt cut short by the stop is not recorded as a failure of the destination',
      );
      assert.equal(Number((await second.otfd.db('notification_deliveries').count<{ count: string }[]>('* as count'))[0].count), 0, 'nothing left in the queue');
    } finally {
      await second?.stop();
      await first?.stop();
      await hook.close();
    }
  });
});
