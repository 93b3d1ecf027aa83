// Commit statuses as a user sees them on a commit at their VCS provider: what each run status
// shows (a table, no server), and, with real processes, the statuses a pull request's plan posts to
// the providers' REST stand-in, retries while the provider answers 503, and runs that finish
// normally when the provider is down.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { RUN_STATUSES, type RunStatus } from '../src/runs/machine.js';
import { commitStateOf, runUrl, statusContext } from '../src/ingress/statuses.js';
import type { Json } from './helpers/api.js';
import { githubPullRequest, githubPush } from './helpers/deliveries.js';
import { fixture } from './helpers/fixtures.js';
import type { RecordedStatus } from './helpers/provider-api.js';
import { startVcsWorld, type Connected, type VcsWorld } from './helpers/vcs-world.js';
import { until } from './helpers/wait.js';

const counts = { additions: 3, changes: 1, destructions: 0 };
const phase = (status: string) => ({ ...counts, status }) as never;

describe('commit statuses: what each run status shows on the commit', () => {
  // Written out by hand, apart from the code under test.
  const SHOWN: Record<RunStatus, [string, string]> = {
    pending: ['pending', 'Run pending'],
    plan_queued: ['pending', 'Plan queued'],
    planning: ['pending', 'Planning'],
    planned: ['success', 'Plan: +3 ~1 -0'],
    planned_and_saved: ['success', 'Plan: +3 ~1 -0'],
    planned_and_finished: ['success', 'Plan: +3 ~1 -0'],
    // Between plan and apply the commit keeps showing the plan.
    confirmed: ['success', 'Plan: +3 ~1 -0'],
    apply_queued: ['success', 'Plan: +3 ~1 -0'],
    applying: ['success', 'Plan: +3 ~1 -0'],
    applied: ['success', 'Applied: +3 ~1 -0'],
    errored: ['failure', 'Plan errored'],
    canceled: ['error', 'Run canceled'],
    force_canceled: ['error', 'Run canceled'],
    discarded: ['error', 'Run discarded'],
  };

  for (const status of RUN_STATUSES) {
    it(`${status} → ${SHOWN[status][0]} "${SHOWN[status][1]}"`, () => {
      const plan = phase(status === 'errored' ? 'errored' : 'finished');
      const shown = commitStateOf({ status, plan, apply: phase('finished') });
      assert.deepEqual([shown.state, shown.description], SHOWN[status]);
    });
  }

  it('an errored apply says so, not the plan', () => {
    const shown = commitStateOf({ status: 'errored', plan: phase('finished'), apply: phase('errored') });
    assert.deepEqual(shown, { state: 'failure', description: 'Apply errored' });
  });

  it('one context per workspace, and a link to the run', () => {
    assert.equal(statusContext('acme', 'networking'), 'otf/acme/networking');
    assert.equal(runUrl('https://otf.example.com', 'acme', 'networking', 'run-abc'), 'https://otf.example.com/app/acme/workspaces/networking/runs/run-abc');
  });
});

describe('commit statuses at the provider', function () {
  this.timeout(300_000);
  let world: VcsWorld;

  before(async () => {
    world = await startVcsWorld();
  });
  after(async () => {
    await world?.stop();
  });

  /** A pull request of a new commit on branch `branch` with `files`, delivered; returns its sha and its run, ended. */
  async function pullRequest(
    c: Connected,
    branch: string,
    number: number,
    files: Record<string, string>,
    beforeDelivery: (sha: string) => void = () => {},
  ): Promise<{ sha: string; run: Json }> {
    c.repo.checkout(branch);
    const sha = c.repo.commit(files, `Propose ${branch}`);
    world.provider.addPullRequest(c.identifier, { number, base: 'main', head: branch });
    beforeDelivery(sha);
    const res = await world.deliver(c.hook.url, githubPullRequest({ secret: c.hook.secret!, identifier: c.identifier, number, sha, headBranch: branch }));
    assert.equal(res.status, 202, res.text);
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    return { sha, run };
  }

  /** Waits until the commit's statuses end with one of `state`, and returns them all. */
  async function statusesUntil(c: Connected, sha: string, state: string): Promise<RecordedStatus[]> {
    return until(
      `a ${state} status on ${sha}`,
      async () => world.provider.statuses(c.identifier, sha),
      (list) => list.at(-1)?.state === state,
      60_000,
    );
  }

  const context = (c: Connected) => `otf/${world.org}/${c.workspace.attributes.name}`;
  // The run's page in the web UI.
  const runLink = (c: Connected, run: Json) => `${world.server.url}/app/${world.org}/workspaces/${c.workspace.attributes.name}/runs/${run.id}`;

  it("a pull request's plan shows pending, then success with the plan's summary, linking to the run", async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const { sha, run } = await pullRequest(c, 'feature', 3, { 'main.tf': fixture('vcs-commit', { marker: 'feature' }) });
    assert.equal(run.attributes.status, 'planned_and_finished');
    const list = await statusesUntil(c, sha, 'success');
    const states = list.map((s) => s.state);
    assert.ok(states.indexOf('pending') >= 0 && states.lastIndexOf('pending') < states.indexOf('success'), `pending, then success: ${states.join(', ')}`);
    assert.ok(list.filter((s) => s.state === 'pending').every((s) => /^(Run pending|Plan queued|Planning)$/.test(s.description ?? '')));
    const last = list.at(-1)!;
    assert.equal(last.description, 'Plan: +1 ~0 -0');
    assert.equal(last.context, context(c));
    assert.equal(last.targetUrl, runLink(c, run));
    for (const s of list) assert.equal(s.context, context(c));
  });

  it('a failing plan shows failure', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const { sha, run } = await pullRequest(c, 'broken', 8, { 'main.tf': fixture('vcs-failing-plan', { reason: 'the pull request breaks it' }) });
    assert.equal(run.attributes.status, 'errored');
    const last = (await statusesUntil(c, sha, 'failure')).at(-1)!;
    assert.equal(last.description, 'Plan errored');
    assert.equal(last.targetUrl, runLink(c, run));
  });

  it('a push that is applied shows the plan, then the apply', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: 'pushed' }) }, 'Push it');
    const res = await world.deliver(c.hook.url, githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha, before, message: 'Push it', files: ['main.tf'] }));
    assert.equal(res.status, 202, res.text);
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'applied');
    const list = await statusesUntil(c, sha, 'success');
    await until('the apply status', async () => world.provider.statuses(c.identifier, sha), (l) => l.at(-1)?.description?.startsWith('Applied') ?? false, 30_000);
    const descriptions = world.provider.statuses(c.identifier, sha).map((s) => `${s.state} ${s.description}`);
    assert.ok(descriptions.includes('success Plan: +1 ~0 -0'), descriptions.join('\n'));
    assert.equal(descriptions.at(-1), 'success Applied: +1 ~0 -0');
    assert.ok(list.length > 0);
  });

  it('a push whose plan is discarded shows error', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { attributes: { 'auto-apply': false } });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: 'unwanted' }) }, 'Not this');
    const res = await world.deliver(c.hook.url, githubPush({ secret: c.hook.secret!, identifier: c.identifier, sha, before, message: 'Not this', files: ['main.tf'] }));
    assert.equal(res.status, 202, res.text);
    const run = await world.newRun(c.workspace.id, 1);
    await until('the plan to wait for confirmation', async () => (await world.api.get(`/runs/${run.id}`)).body.data.attributes.status, (s) => s === 'planned', 120_000);
    const discarded = await world.api.post(`/runs/${run.id}/actions/discard`, {});
    assert.equal(discarded.status, 202, discarded.text);
    const last = (await statusesUntil(c, sha, 'error')).at(-1)!;
    assert.equal(last.description, 'Run discarded');
    const descriptions = world.provider.statuses(c.identifier, sha).map((st) => `${st.state} ${st.description}`);
    assert.ok(descriptions.includes('success Plan: +1 ~0 -0'), descriptions.join('\n'));
  });

  it('a provider answering 503 twice still gets the status, and the run is not held up', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    // The commit's first two status posts are refused; then the provider answers again.
    const { sha, run } = await pullRequest(c, 'flaky', 11, { 'main.tf': fixture('vcs-commit', { marker: 'flaky' }) }, (sha) =>
      world.provider.fail({ status: 503, times: 2, match: new RegExp(`/statuses/${sha}$`) }),
    );
    assert.equal(run.attributes.status, 'planned_and_finished');
    const last = (await statusesUntil(c, sha, 'success')).at(-1)!;
    assert.equal(last.description, 'Plan: +1 ~0 -0');
    // Whatever was retried, nothing pending came after the success.
    const states = world.provider.statuses(c.identifier, sha).map((st) => st.state);
    assert.ok(states.lastIndexOf('pending') < states.indexOf('success'), states.join(', '));
    const refused = world.provider.requests.filter((r) => r.url.includes(`/statuses/${sha}`) && r.status === 503);
    assert.equal(refused.length, 2, 'two posts were refused, and tried again');
    assert.match(world.log(), /commit status not posted; trying again/);
  });

  it('a provider that is down for statuses leaves runs finishing normally', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const marker = crypto.randomBytes(3).toString('hex');
    const started = Date.now();
    // Every status post for the commit fails, for longer than the retries last (the webhook, the
    // repository's details and the clone still work: the run is made and runs).
    const { sha, run } = await pullRequest(c, `down-${marker}`, 12, { 'main.tf': fixture('vcs-commit', { marker }) }, (sha) =>
      world.provider.fail({ status: 502, times: 1000, match: new RegExp(`/statuses/${sha}$`) }),
    );
    assert.equal(run.attributes.status, 'planned_and_finished');
    assert.ok(Date.now() - started < 60_000, 'the run did not wait for the provider');
    assert.deepEqual(world.provider.statuses(c.identifier, sha), []);
    assert.ok(world.provider.requests.some((r) => r.url.includes(`/statuses/${sha}`) && r.status === 502), 'otfd tried');
  });
});
