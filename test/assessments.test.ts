// Health assessments (drift detection) with the real terraform CLI and the server agent: a workspace
// whose output reads another state (terraform_remote_state on a local file) is applied; changing
// that file outside terraform is drift, which the next scheduled refresh-only plan reports with the
// output's address, in the API, in /metrics, to the notifications hook and to the notification
// queue (in the result's own transaction). A workspace with a run in progress is not assessed. Bad
// schedules and other organizations' ids are refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Json } from './helpers/api.js';
import { assertOk, runOtf } from './helpers/otf.js';
import { createUser, addToOrganization, ownersTeam, userWithAccess } from './helpers/people.js';
import { startAgent } from './helpers/agent.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, terraform, workdir } from './helpers/terraform.js';
import { sleep, until, waitFor } from './helpers/wait.js';
import type { AssessmentNotice } from '../src/notifications/triggers.js';
import { clean, driftOf } from '../src/assessments/drift.js';

/** A state file as another workspace's apply would leave it, with one output. */
function stateWithOutput(value: string): string {
  return JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'drift-source', outputs: { value: { value, type: 'string' } }, resources: [] });
}

describe('health assessments (drift detection) with the real terraform CLI', function () {
  this.timeout(180_000);
  let server: TestServer;
  let org: string;
  const notices: AssessmentNotice[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let sourceDir: string;
  let silent: http.Server;

  before(async () => {
    silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    server = await startServer({
      ssl: true,
      // Every second, looked for every 300 ms: a short interval for tests.
      // Notifications go to a receiver on loopback that never answers: what is queued stays queued.
      config: { concurrency: 2, assessmentsSchedule: '* * * * * *', assessmentsTickMs: 300, notificationAllowPrivateAddresses: true },
      // A hook that fails after taking note, as a notification that cannot be delivered: otfd logs it
      // and goes on; a rejection left unhandled (which would end otfd) is caught below.
      onAssessmentResult: async (n) => {
        notices.push(n);
        throw new Error('this hook fails');
      },
    });
    org = await createOrganization(server.api);
    sourceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-drift-'));
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.stop();
    silent.closeAllConnections();
    silent.close();
    fs.rmSync(sourceDir, { recursive: true, force: true });
  });

  /** A workspace applied with the real CLI: its output `watched` reads the value of the source state file. */
  async function applied(name: string, source: string): Promise<string> {
    const config = `
data "terraform_remote_state" "src" {
  backend = "local"
  config = { path = "${source}" }
}
resource "terraform_data" "x" { input = "fixed" }
output "watched" { value = data.terraform_remote_state.src.outputs.value }
check "still_one" {
  assert {
    condition     = data.terraform_remote_state.src.outputs.value == "one"
    error_message = "the watched value is no longer one"
  }
}
`;
    const dir = workdir({ 'main.tf': cloudBlock(server, org, `name = "${name}"`) + config });
    expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
    expectCode(await terraform(server, dir, ['apply', '-auto-approve', '-input=false']), 0);
    const ws = await server.api.get(`/organizations/${org}/workspaces/${name}`);
    assert.equal(ws.status, 200, ws.text);
    return ws.body.data.id;
  }

  async function setAssessments(wsId: string, enabled: boolean): Promise<void> {
    const res = await server.api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes: { 'assessments-enabled': enabled } } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.attributes['assessments-enabled'], enabled);
  }

  async function results(wsId: string): Promise<Json[]> {
    const res = await server.api.get(`/workspaces/${wsId}/assessment-results?page[size]=100`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** The first finished result created after `since`, waited for. */
  async function nextResult(wsId: string, since: Date): Promise<Json> {
    return waitFor(
      `a finished assessment of ${wsId} made after ${since.toISOString()}`,
      async () => {
        const res = await server.api.get(`/workspaces/${wsId}/current-assessment-result`);
        if (res.status === 404) return null;
        assert.equal(res.status, 200, res.text);
        return new Date(res.body.data.attributes['created-at']).getTime() > since.getTime() ? res.body.data : null;
      },
      90_000,
    );
  }

  it('reports no drift, then the drifted output with its address, to the API, /metrics and the notifications hook', async () => {
    const source = path.join(sourceDir, 'a.tfstate');
    fs.writeFileSync(source, stateWithOutput('one'));
    const wsId = await applied('drift-a', source);
    await setAssessments(wsId, true);

    const calm = await nextResult(wsId, new Date(0));
    assert.equal(calm.type, 'assessment-results');
    assert.equal(calm.attributes.drifted, false, JSON.stringify(calm));
    assert.equal(calm.attributes.succeeded, true);
    assert.equal(calm.attributes['error-msg'], null);
    assert.deepEqual(calm.attributes['drifted-resources'], []);
    assert.equal(calm.attributes['resources-undrifted'], 1, 'terraform_data.x is in the state and did not drift');
    assert.deepEqual(calm.attributes['failed-checks'], []);
    assert.equal(notices.filter((n) => n.workspaceId === wsId).length, 0, 'no drift, no notification');

    const listening = await server.api.post(`/workspaces/${wsId}/notification-configurations`, {
      data: {
        type: 'notification-configurations',
        attributes: { name: 'drift', 'destination-type': 'generic', enabled: true, url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, triggers: ['assessment:drifted'] },
      },
    });
    assert.equal(listening.status, 201, listening.text);

    // Outside terraform: the value the output reads changes.
    const changedAt = new Date();
    fs.writeFileSync(source, stateWithOutput('two'));
    const drifted = await waitFor(
      'an assessment that saw the change',
      async () => {
        const r = await nextResult(wsId, changedAt);
        return r.attributes.drifted ? r : null;
      },
      90_000,
    );
    assert.equal(drifted.attributes.succeeded, true);
    assert.deepEqual(drifted.attributes['drifted-resources'], ['output.watched']);
    assert.equal(drifted.relationships.workspace.data.id, wsId);
    // Its notification was queued in the transaction that finished it: there as soon as the result is.
    const queued = (await server.otfd.db('notification_deliveries').where({ configuration_id: listening.body.data.id }).select('trigger', 'event')) as Array<{ trigger: string; event: Json }>;
    assert.deepEqual(
      queued.filter((q) => q.event.assessment?.resultId === drifted.id).map((q) => q.trigger),
      ['assessment:drifted'],
    );

    // The notifications hook was called for it.
    const notice = await waitFor('the drift notice', async () => notices.find((n) => n.assessmentResultId === drifted.id) ?? null, 10_000);
    assert.equal(notice.trigger, 'assessment:drifted');
    assert.equal(notice.workspaceId, wsId);
    assert.match(notice.message, /output\.watched/);
    // The check block fails on the new value too: continuous validation's notice.
    assert.deepEqual(drifted.attributes['failed-checks'], ['check.still_one']);
    const checkNotice = await waitFor('the check-failure notice', async () => notices.find((n) => n.assessmentResultId === drifted.id && n.trigger === 'assessment:check_failure') ?? null, 10_000);
    assert.match(checkNotice.message, /check\.still_one/);
    await sleep(100);
    assert.deepEqual(unhandled, [], 'the failing hook is handled: otfd would have ended');

    // Its links: the JSON plan (output_changes says what moved) and the log.
    const json = await server.api.get(drifted.links['json-output']);
    assert.equal(json.status, 200, json.text);
    const plan = JSON.parse(json.text);
    assert.deepEqual(plan.output_changes.watched.actions, ['update']);
    const log = await server.api.get(drifted.links['log-output']);
    assert.equal(log.status, 200);
    assert.match(log.text, /watched/);
    const one = await server.api.get(`/assessment-results/${drifted.id}`);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.data.attributes.drifted, true);

    // Assessments are not runs of the workspace: its run list holds the apply alone.
    const runs = await server.api.get(`/workspaces/${wsId}/runs`);
    assert.equal(runs.status, 200, runs.text);
    assert.equal(runs.body.data.length, 1, JSON.stringify(runs.body.data.map((r: Json) => r.attributes.source)));
    const ws = await server.api.get(`/workspaces/${wsId}?include=current-assessment-result`);
    assert.equal(ws.body.data.relationships['latest-run'].data.id, runs.body.data[0].id);
    // The workspace names its current result (TFC's relationship), and includes it when asked.
    const current = ws.body.data.relationships['current-assessment-result'].data;
    assert.equal(current.type, 'assessment-results');
    const included = ws.body.included.find((r: Json) => r.id === current.id);
    assert.equal(included.type, 'assessment-results');
    assert.equal(typeof included.attributes.drifted, 'boolean');
    assert.equal(ws.body.data.attributes.permissions['can-read-assessments'], true);
    assert.equal(ws.body.data.attributes.permissions['can-manage-assessments'], true);
    assert.equal(ws.body.data.attributes.locked, false);

    // /metrics: results by kind, and the drifted workspace.
    const metrics = await server.api.get('/metrics');
    assert.equal(metrics.status, 200);
    const counted = (result: string) => Number(new RegExp(`^otf_assessments_total\\{result="${result}"\\} (\\d+)`, 'm').exec(metrics.text)?.[1] ?? -1);
    assert.ok(counted('drifted') >= 1, metrics.text);
    assert.ok(counted('no_drift') >= 1, metrics.text);
    assert.equal(counted('errored'), 0);
    assert.match(metrics.text, /^otf_assessments_drifted_workspaces 1$/m);

    // Turned off: no more assessments.
    await setAssessments(wsId, false);
    await until('the last assessment under way to end', () => results(wsId), (items) => items.every((r) => r.attributes.status !== 'running'), 60_000);
  });

  it('does not assess a workspace while a run holds it, and refuses to assess it by hand', async () => {
    const source = path.join(sourceDir, 'b.tfstate');
    fs.writeFileSync(source, stateWithOutput('one'));
    const wsId = await applied('drift-b', source);
    // A destroy run stops at planned, waiting for confirmation: it holds the workspace.
    const created = await server.api.post('/runs', {
      data: { type: 'runs', attributes: { 'is-destroy': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } },
    });
    assert.equal(created.status, 201, created.text);
    const runId = created.body.data.id;
    await until('the destroy run to be planned', () => server.api.get(`/runs/${runId}`), (r) => r.body.data.attributes.status === 'planned', 60_000);
    await setAssessments(wsId, true);

    const manual = await server.api.post(`/workspaces/${wsId}/actions/assess`);
    assert.equal(manual.status, 409, manual.text);
    assert.match(manual.body.errors[0].detail, new RegExp(runId));
    // A few ticks of a per-second schedule: nothing is assessed behind the run.
    await sleep(3000);
    assert.deepEqual(await results(wsId), []);

    // The run discarded, the workspace is assessed again.
    const discarded = await server.api.post(`/runs/${runId}/actions/discard`);
    assert.equal(discarded.status, 202, discarded.text);
    const result = await nextResult(wsId, new Date(0));
    assert.equal(result.attributes.drifted, false);
    await setAssessments(wsId, false);
    // A tick already under way may still start one more assessment: let it, then wait for it to end.
    await sleep(1500);
    await until('the last assessment under way to end', () => results(wsId), (items) => items.every((r) => r.attributes.status !== 'running'), 60_000);

    // By hand, when nothing holds it: a result that runs, then finishes. Asked three times at once,
    // one assessment is made and the others are refused: the workspace is busy with it.
    const asked = await Promise.all([1, 2, 3].map(() => server.api.post(`/workspaces/${wsId}/actions/assess`)));
    assert.deepEqual(asked.map((r) => r.status).sort(), [202, 409, 409], asked.map((r) => r.text).join('\n'));
    for (const refused of asked.filter((r) => r.status === 409)) assert.match(refused.body.errors[0].detail, /has a run in progress/);
    const started = asked.find((r) => r.status === 202)!;
    assert.equal(started.body.data.attributes.status, 'running');
    assert.equal(started.body.data.attributes.drifted, null);
    const finished = await until('the manual assessment to finish', () => server.api.get(`/assessment-results/${started.body.data.id}`), (r) => r.body.data.attributes.status !== 'running', 60_000);
    assert.equal(finished.body.data.attributes.status, 'no_drift', finished.text);
  });

  it('calls an assessment inconclusive, and tells nobody, when a run of the workspace starts while it runs', async () => {
    const source = path.join(sourceDir, 'overlap.tfstate');
    fs.writeFileSync(source, stateWithOutput('one'));
    const wsId = await applied('drift-overlap', source);
    // Outside terraform, the watched value changes: on its own, the assessment would say drifted.
    fs.writeFileSync(source, stateWithOutput('two'));
    const started = await server.api.post(`/workspaces/${wsId}/actions/assess`);
    assert.equal(started.status, 202, started.text);
    // An assessment locks nothing: a run of the workspace starts beside it.
    const created = await server.api.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(created.status, 201, created.text);
    const runId: string = created.body.data.id;

    const finished = await until('the assessment to finish', () => server.api.get(`/assessment-results/${started.body.data.id}`), (r) => r.body.data.attributes.status !== 'running', 60_000);
    const result = finished.body.data.attributes;
    assert.equal(result.status, 'errored', finished.text);
    assert.equal(result.succeeded, false);
    assert.equal(result.drifted, false);
    assert.equal(result['error-msg'], `inconclusive: run ${runId} changed the workspace while this assessment ran; the next assessment looks again`);
    const run = await until('the run to finish planning', () => server.api.get(`/runs/${runId}`), (r) => ['planned', 'planned_and_finished'].includes(r.body.data.attributes.status), 60_000);
    if (run.body.data.attributes.status === 'planned') assert.equal((await server.api.post(`/runs/${runId}/actions/discard`)).status, 202);
    assert.equal(notices.filter((n) => n.assessmentResultId === started.body.data.id).length, 0, 'nobody is told of an inconclusive assessment');

    // A plan-only run changes nothing: beside it, the assessment says what it saw.
    const again = await server.api.post(`/workspaces/${wsId}/actions/assess`);
    assert.equal(again.status, 202, again.text);
    const planOnly = await server.api.post('/runs', { data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(planOnly.status, 201, planOnly.text);
    const seen = await until('the second assessment to finish', () => server.api.get(`/assessment-results/${again.body.data.id}`), (r) => r.body.data.attributes.status !== 'running', 60_000);
    assert.equal(seen.body.data.attributes.status, 'drifted', seen.text);
    assert.deepEqual(seen.body.data.attributes['drifted-resources'], ['output.watched']);
  });

  it('otf assessments: run --wait, list and show, with exit codes as -detailed-exitcode', async () => {
    const ran = await runOtf(server, ['assessments', 'run', `${org}/drift-b`, '--wait']);
    assert.equal(ran.code, 0, `no drift: exit 0; ${ran.stdout} ${ran.stderr}`);
    assert.match(ran.stdout, /^status: no_drift$/m);
    const id = /^id: (asmtres-\S+)$/m.exec(ran.stdout)?.[1];
    assert.ok(id, ran.stdout);

    // drift-a's source still holds the changed value: drift, exit 2.
    const drifted = await runOtf(server, ['assessments', 'run', `${org}/drift-a`, '--wait', '--json']);
    assert.equal(drifted.code, 2, `drift: exit 2; ${drifted.stdout} ${drifted.stderr}`);
    const doc = JSON.parse(drifted.stdout);
    assert.deepEqual(doc.attributes['drifted-resources'], ['output.watched']);

    const listed = await runOtf(server, ['assessments', 'list', `${org}/drift-b`]);
    assertOk(listed);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+no_drift`, 'm'));
    const current = await runOtf(server, ['assessments', 'show', `${org}/drift-a`]);
    assertOk(current);
    assert.match(current.stdout, /^drifted-resources: output\.watched$/m);
    const byId = await runOtf(server, ['assessments', 'show', id!, '--json']);
    assertOk(byId);
    assert.equal(JSON.parse(byId.stdout).id, id);

    const bad = await runOtf(server, ['assessments', 'show', 'asmtres-../x']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /is not an assessment result id/);
    const missing = await runOtf(server, ['assessments', 'show', `${org}/no-such-ws`]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^otf: .*not found/);
  });

  it("runs on the workspace's agent pool in agent mode, and -detailed-exitcode's 2 is a success there too", async () => {
    const wsId = (await server.api.get(`/organizations/${org}/workspaces/drift-a`)).body.data.id;
    const pool = await server.api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(pool.status, 201, pool.text);
    const token = await server.api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'drift' } } });
    assert.equal(token.status, 201, token.text);
    const assigned = await server.api.patch(`/workspaces/${wsId}`, {
      data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } },
    });
    assert.equal(assigned.status, 200, assigned.text);
    const agent = startAgent(server, ['--token', token.body.data.attributes.token]);
    try {
      await agent.waitForLog('registered; waiting for jobs');
      const started = await server.api.post(`/workspaces/${wsId}/actions/assess`);
      assert.equal(started.status, 202, started.text);
      const runId = started.body.data.relationships.run.data.id;
      const finished = await until('the assessment on the agent to finish', () => server.api.get(`/assessment-results/${started.body.data.id}`), (r) => r.body.data.attributes.status !== 'running', 90_000);
      assert.equal(finished.body.data.attributes.status, 'drifted', finished.text);
      assert.deepEqual(finished.body.data.attributes['drifted-resources'], ['output.watched']);
      const job = await agent.waitForLog((l) => l.msg === 'job finished' && l.run === runId);
      assert.equal(job.phase, 'plan');
      assert.equal(job.status, 'finished');
    } finally {
      await server.api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'remote' } } });
      agent.child.kill('SIGTERM');
      await agent.exited;
    }
  });

  it('is scheduled by one otfd at a time: a replica on the same database does not take the lease', async () => {
    const replica = await startServer({ databaseUrl: server.databaseUrl, config: { assessmentsSchedule: '* * * * * *', assessmentsTickMs: 300 } });
    try {
      const lease = async () => (await server.otfd.db('assessment_scheduler').where({ id: 1 }).first()) as { owner: string | null; expires_at: Date };
      const before = await lease();
      assert.match(before.owner ?? '', /^otfd-/);
      assert.ok(before.expires_at.getTime() > Date.now(), 'the lease is held');
      // A few of the replica's looks: the owner stays, renewing its lease.
      await sleep(1500);
      const after = await lease();
      assert.equal(after.owner, before.owner);
      assert.ok(after.expires_at.getTime() >= before.expires_at.getTime());
    } finally {
      await replica.stop();
    }
  });

  it("assesses every workspace of an organization that enforces it, on the organization's own schedule when it has one", async () => {
    const wsId = (await server.api.get(`/organizations/${org}/workspaces/drift-b`)).body.data.id;
    assert.equal((await server.api.get(`/workspaces/${wsId}`)).body.data.attributes['assessments-enabled'], false);
    const patchOrg = async (attributes: Record<string, unknown>) => {
      const res = await server.api.patch(`/organizations/${org}`, { data: { type: 'organizations', attributes } });
      assert.equal(res.status, 200, res.text);
      return res.body.data.attributes;
    };
    const idle = () => until('no assessment under way', () => results(wsId), (items) => items.every((r) => r.attributes.status !== 'running'), 60_000);

    const since = new Date();
    assert.equal((await patchOrg({ 'assessments-enforced': true }))['assessments-enforced'], true);
    const result = await nextResult(wsId, since);
    assert.equal(result.attributes.status, 'no_drift');

    // A yearly schedule of the organization's own beats otfd's per-second one: nothing more is due.
    await patchOrg({ 'assessments-schedule': '0 0 1 1 *' });
    // A tick already under way may still start one more assessment: let it, then wait for it to end.
    await sleep(1500);
    await idle();
    const count = (await results(wsId)).length;
    await sleep(3000);
    assert.equal((await results(wsId)).length, count, 'no assessment before the organization schedule says so');

    await patchOrg({ 'assessments-enforced': false, 'assessments-schedule': null });
    await idle();
  });

  it('refuses invalid schedules with a 422 naming the problem, and changes nothing', async () => {
    const bad = ['every day', '61 * * * *', '* * * * * * * *', '0 0 30 2 *', 'x'.repeat(101), '0 3 * * *\u0000', ''];
    for (const schedule of bad) {
      const res = await server.api.patch(`/organizations/${org}`, { data: { type: 'organizations', attributes: { 'assessments-schedule': schedule } } });
      assert.equal(res.status, 422, `${JSON.stringify(schedule)}: ${res.text}`);
      assert.match(res.body.errors[0].detail, /assessments-schedule|cron|characters/, res.text);
    }
    const wrongType = await server.api.patch(`/organizations/${org}`, { data: { type: 'organizations', attributes: { 'assessments-schedule': 5 } } });
    assert.equal(wrongType.status, 422, wrongType.text);
    const unchanged = await server.api.get(`/organizations/${org}`);
    assert.equal(unchanged.body.data.attributes['assessments-schedule'], null);

    const good = await server.api.patch(`/organizations/${org}`, {
      data: { type: 'organizations', attributes: { 'assessments-schedule': '0 3 * * *', 'assessments-enabled': false } },
    });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.body.data.attributes['assessments-schedule'], '0 3 * * *');
    assert.equal(good.body.data.attributes['assessments-enforced'], false);
    const reset = await server.api.patch(`/organizations/${org}`, { data: { type: 'organizations', attributes: { 'assessments-schedule': null } } });
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.body.data.attributes['assessments-schedule'], null);
  });

  it("answers 404 for other organizations' workspaces and results, and refuses what cannot be assessed", async () => {
    const other = await createOrganization(server.api);
    const theirs = await createWorkspace(server.api, other);
    const mine = await createWorkspace(server.api, org);
    const user = await createUser(server.api);
    await addToOrganization(server.api, org, user, [(await ownersTeam(server.api, org)).id]);

    // An owner of org, asking about another organization's workspace.
    for (const [method, p] of [
      ['GET', `/workspaces/${theirs.id}/current-assessment-result`],
      ['GET', `/workspaces/${theirs.id}/assessment-results`],
      ['POST', `/workspaces/${theirs.id}/actions/assess`],
    ] as const) {
      const res = await user.client.request(method, p);
      assert.equal(res.status, 404, `${method} ${p}: ${res.text}`);
    }
    // A result of org's drift-a, read by somebody outside org.
    const driftA = await server.api.get(`/organizations/${org}/workspaces/drift-a`);
    const someResult = (await results(driftA.body.data.id))[0];
    const outsider = await createUser(server.api);
    await addToOrganization(server.api, other, outsider, [(await ownersTeam(server.api, other)).id]);
    assert.equal((await outsider.client.get(`/assessment-results/${someResult.id}`)).status, 404);
    assert.equal((await user.client.get(`/assessment-results/${someResult.id}`)).status, 200);

    // Assessing by hand needs admin access to the workspace: write access reads results, and is refused.
    const writer = await userWithAccess(server.api, org, [driftA.body.data.id], 'write');
    assert.equal((await writer.client.get(`/workspaces/${driftA.body.data.id}/assessment-results`)).status, 200);
    const refused = await writer.client.post(`/workspaces/${driftA.body.data.id}/actions/assess`);
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.errors[0].detail, /admin access/);

    // Ids that name nothing, or are not ids at all.
    for (const id of ['asmtres-nope', 'x'.repeat(5000), 'asmtres-%00', '%E0%A4%A']) {
      const res = await server.api.get(`/assessment-results/${id}`);
      assert.ok(res.status === 404 || res.status === 400, `${id.slice(0, 20)}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    for (const q of ['page[size]=-1', 'page[number]=abc', 'page[size]=%00']) {
      const res = await server.api.get(`/workspaces/${mine.id}/assessment-results?${q}`);
      assert.ok(res.status >= 400 && res.status < 500, `${q}: ${res.status} ${res.text}`);
      assert.ok(res.body.errors[0].detail, res.text);
    }
    const none = await server.api.get(`/workspaces/${mine.id}/current-assessment-result`);
    assert.equal(none.status, 404);
    assert.match(none.body.errors[0].detail, /no finished health assessment/);

    // Nothing to assess: no state yet; local execution has no runner.
    const noState = await server.api.post(`/workspaces/${mine.id}/actions/assess`);
    assert.equal(noState.status, 422, noState.text);
    assert.match(noState.body.errors[0].detail, /no state/);
    const local = await createWorkspace(server.api, org, undefined, { 'execution-mode': 'local' });
    const localRes = await server.api.post(`/workspaces/${local.id}/actions/assess`);
    assert.equal(localRes.status, 422, localRes.text);
    assert.match(localRes.body.errors[0].detail, /local execution/);
    assert.deepEqual(await results(mine.id), []);
  });
});

describe("health assessments: reading a runner's JSON plan", () => {
  it('counts what it can of a plan of unexpected shape, and never throws', () => {
    const deep: Record<string, unknown> = { resources: [{ mode: 'managed', address: 'terraform_data.deep' }] };
    let m = deep;
    for (let i = 0; i < 100_000; i++) {
      const child: Record<string, unknown> = {};
      m.child_modules = [child];
      m = child;
    }
    const hostile: unknown[] = [
      null,
      42,
      'plan',
      [],
      { resource_drift: 'x', output_changes: [1], prior_state: { values: { root_module: { resources: 'no', child_modules: {} } } }, checks: {} },
      { resource_drift: [null, 1, { address: 7, change: { actions: ['update'] } }, { address: 'a', change: { actions: 'update' } }], checks: [null, { status: 'fail', address: 3 }] },
      { prior_state: { values: { root_module: deep } } },
    ];
    for (const plan of hostile) {
      const d = driftOf(plan);
      assert.ok(Array.isArray(d.addresses) && Array.isArray(d.failedChecks), JSON.stringify(d));
    }
    assert.deepEqual(driftOf(hostile[5]).failedChecks, ['a check']);
    assert.equal(driftOf(hostile[6]).resourcesUndrifted, 1, 'the root module is still counted when the nesting is too deep to follow');
  });

  it('drops NUL, control characters and lone surrogates from addresses and check names (PostgreSQL refuses them in jsonb)', () => {
    const d = driftOf({
      resource_drift: [{ address: 'terraform_data.a\u0000b\ud800', mode: 'managed', change: { actions: ['update'] } }],
      output_changes: { ['x\u001b[31m\udc00']: { actions: ['update'] } },
      checks: [{ status: 'fail', address: { to_display: 'check.c\u0000' } }],
    });
    assert.deepEqual(d.addresses, ['terraform_data.ab', 'output.x[31m']);
    assert.deepEqual(d.failedChecks, ['check.c']);
    assert.equal(clean('ok \ud83d\ude00'), 'ok \ud83d\ude00', 'a surrogate pair (an emoji) is kept');
  });
});
