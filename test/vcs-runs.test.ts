// VCS-driven runs end to end, with real processes only: otfd running terraform on its server
// agent, repositories served by Git's own `git http-backend`, the providers' REST stand-in (which
// otfd makes its webhooks and commit statuses at), and deliveries signed and shaped as GitHub,
// GitLab and Forgejo send them. What a user sees: a push to the tracked branch plans and applies
// the pushed commit; a pull request gets a speculative plan; triggers, tags and forks decide which
// events queue runs; a commit that cannot be fetched errors its run with the reason in its log.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import {
  forgejoPullRequest,
  forgejoPush,
  githubPullRequest,
  githubPush,
  githubTag,
  gitlabMergeRequest,
  gitlabPush,
  type Delivery,
} from './helpers/deliveries.js';
import { fixture } from './helpers/fixtures.js';
import { userWithAccess } from './helpers/people.js';
import { generateKeyPair, startSshGitServer } from './helpers/ssh-git-server.js';
import { createOrganization, startServer } from './helpers/server.js';
import { startStallingGitProxy, startVcsWorld, type Connected, type VcsWorld } from './helpers/vcs-world.js';
import { sleep, until } from './helpers/wait.js';

/** --max-config-size of this otfd: the oversized repository's one file is larger. */
const MAX_CONFIG_SIZE = 256 * 1024;

const marker = (name: string) => `${name}-${crypto.randomBytes(3).toString('hex')}`;

describe('VCS-driven runs', function () {
  this.timeout(600_000);
  let world: VcsWorld;

  before(async () => {
    world = await startVcsWorld({ maxConfigSize: MAX_CONFIG_SIZE });
  });
  after(async () => {
    await world?.stop();
  });

  const api = () => world.api;

  /** Posts a delivery and expects it accepted. */
  async function deliver(c: Connected, d: Delivery): Promise<void> {
    const res = await world.deliver(c.hook.url, d);
    assert.equal(res.status, 202, res.text);
  }

  /** Waits until otfd has processed the delivery of this id (a run it queues exists by then). */
  async function processed(deliveryId: string): Promise<void> {
    await until(
      `delivery ${deliveryId} to be processed`,
      async () => (await world.server.otfd.db('vcs_deliveries').where({ delivery_id: deliveryId }).first()) as { processed_at: Date | null; error: string | null } | undefined,
      (row) => Boolean(row?.processed_at),
      60_000,
    ).then((row) => assert.equal(row?.error, null, `delivery ${deliveryId} failed: ${row?.error}`));
  }

  /** A push of the current head of main, as `kind` delivers it. */
  function push(c: Connected, sha: string, before: string, message: string, files: string[], deliveryId = crypto.randomUUID()): Delivery {
    const spec = { secret: c.hook.secret!, identifier: c.identifier, sha, before, branch: 'main', message, files, deliveryId };
    return c.kind === 'github' ? githubPush(spec) : c.kind === 'gitlab' ? gitlabPush(spec) : forgejoPush(spec);
  }

  async function stateMarker(workspaceId: string): Promise<string> {
    const res = await api().get(`/workspaces/${workspaceId}/current-state-version-outputs`);
    assertStatus(res, 200);
    return res.body.data.find((o: Json) => o.attributes.name === 'marker')?.attributes.value;
  }

  async function configurationOf(run: Json): Promise<{ cv: Json; ingress: Json }> {
    const cvId = run.relationships['configuration-version'].data.id;
    const cv = await api().get(`/configuration-versions/${cvId}`);
    assertStatus(cv, 200);
    const ingress = await api().get(`/configuration-versions/${cvId}/ingress-attributes`);
    assertStatus(ingress, 200);
    assert.equal(cv.body.data.relationships['ingress-attributes'].data.id, ingress.body.data.id);
    const withIncluded = await api().get(`/configuration-versions/${cvId}?include=ingress_attributes`);
    assertStatus(withIncluded, 200);
    assert.deepEqual(withIncluded.body.included, [ingress.body.data]);
    return { cv: cv.body.data, ingress: ingress.body.data.attributes };
  }

  for (const kind of ['github', 'gitlab', 'forgejo'] as const) {
    it(`a signed ${kind} push to the tracked branch ends applied with the commit's files and state`, async () => {
      const c = await world.connect(kind, { 'main.tf': fixture('vcs-commit', { marker: 'first' }) });
      const before = c.repo.head('main');
      const m = marker(kind);
      const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, `Apply ${m}\n\nThe body of the message.`);
      await deliver(c, push(c, sha, before, `Apply ${m}\n\nThe body of the message.`, ['main.tf']));
      const queued = await world.newRun(c.workspace.id, 1);
      const run = await world.ended(queued.id);
      assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}\n${await world.phaseLog(run, 'plan')}`);
      assert.equal(run.attributes.message, `Apply ${m}`);
      assert.equal(run.attributes.source, 'tfe-configuration-version');
      assert.equal(run.attributes['plan-only'], false);
      assert.equal(await stateMarker(c.workspace.id), m);
      const { cv, ingress } = await configurationOf(run);
      assert.equal(cv.attributes.status, 'uploaded');
      assert.equal(cv.attributes.source, kind);
      assert.equal(cv.attributes.speculative, false);
      assert.equal(ingress['commit-sha'], sha);
      assert.equal(ingress.branch, 'main');
      assert.equal(ingress.identifier, c.identifier);
      assert.equal(ingress['is-pull-request'], false);
      assert.equal(ingress['on-default-branch'], true);
      assert.match(ingress['commit-message'], /^Apply /);
      assert.equal(ingress['clone-url'], c.repo.url);
      // The archive holds the commit's tracked files.
      const download = await api().get(`/configuration-versions/${cv.id}/download`);
      assertStatus(download, 200);
    });
  }

  it('a pull request into the tracked branch queues a speculative plan of its head, never applied; its commit status goes pending, then success with the plan summary and the run\'s URL', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    c.repo.checkout('feature');
    const m = marker('pr');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, `Propose ${m}`);
    world.provider.addPullRequest(c.identifier, { number: 3, base: 'main', head: 'feature' });
    await deliver(c, githubPullRequest({ secret: c.hook.secret!, identifier: c.identifier, number: 3, sha, title: 'Propose a change', headBranch: 'feature', message: `Propose ${m}` }));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'planned_and_finished', `${run.attributes['error-message']}\n${await world.phaseLog(run, 'plan')}`);
    assert.equal(run.attributes['plan-only'], true);
    assert.equal(run.attributes['has-changes'], true);
    assert.match(await world.phaseLog(run, 'plan'), /1 to add/);
    const { cv, ingress } = await configurationOf(run);
    assert.equal(cv.attributes.speculative, true);
    assert.equal(ingress['is-pull-request'], true);
    assert.equal(ingress['pull-request-number'], 3);
    assert.equal(ingress['pull-request-title'], 'Propose a change');
    assert.equal(ingress['commit-sha'], sha);
    // Nothing was applied: the workspace has no state.
    assert.equal((await api().get(`/workspaces/${c.workspace.id}/current-state-version`)).status, 404);
    // The commit showed pending while planning, then success with the plan's summary and the run's URL.
    const statuses = await until(
      'the commit status to end',
      async () => world.provider.statuses(c.identifier, sha),
      (list) => list.some((st) => st.state !== 'pending'),
      30_000,
    );
    assert.equal(statuses[0].state, 'pending');
    const last = statuses[statuses.length - 1];
    assert.equal(last.state, 'success');
    assert.match(String(last.description), /^Plan: \+1 ~0 -0$/);
    assert.match(String(last.targetUrl), new RegExp(run.id));
    assert.equal(last.context, `otf/${world.org}/${c.workspace.attributes.name}`);
  });

  it('a merge request (GitLab) and a pull request (Forgejo) are planned too; one from a fork is not, unless the workspace allows it', async () => {
    const gl = await world.connect('gitlab', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    gl.repo.checkout('feature');
    const glSha = gl.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('mr') }) }, 'Propose');
    await deliver(gl, gitlabMergeRequest({ secret: gl.hook.secret!, identifier: gl.identifier, number: 4, sha: glSha, headBranch: 'feature' }));
    assert.equal((await world.ended((await world.newRun(gl.workspace.id, 1)).id)).attributes.status, 'planned_and_finished');

    const fj = await world.connect('forgejo', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    fj.repo.checkout('feature');
    const fjSha = fj.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('pr') }) }, 'Propose');
    await deliver(fj, forgejoPullRequest({ secret: fj.hook.secret!, identifier: fj.identifier, number: 5, sha: fjSha, headBranch: 'feature' }));
    assert.equal((await world.ended((await world.newRun(fj.workspace.id, 1)).id)).attributes.status, 'planned_and_finished');

    // From a fork: no run by default.
    const fork = crypto.randomUUID();
    await deliver(gl, gitlabMergeRequest({ secret: gl.hook.secret!, identifier: gl.identifier, number: 6, sha: glSha, headBranch: 'feature', fork: 'mallory/fork', deliveryId: fork }));
    await processed(fork);
    assert.equal((await world.runs(gl.workspace.id)).length, 1, 'a fork\'s merge request queued no run');

    // A workspace that allows them plans it (the commit is in the base repository too).
    const allowing = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { vcsRepo: { 'allow-fork-pull-requests': true } });
    allowing.repo.checkout('feature');
    const forkSha = allowing.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('fork') }) }, 'From a fork');
    await deliver(allowing, githubPullRequest({ secret: allowing.hook.secret!, identifier: allowing.identifier, number: 9, sha: forkSha, headBranch: 'feature', fork: 'mallory/fork' }));
    assert.equal((await world.ended((await world.newRun(allowing.workspace.id, 1)).id)).attributes.status, 'planned_and_finished');
  });

  it('a failing speculative plan ends errored, and its commit status failure', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    c.repo.checkout('broken');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-failing-plan', { reason: 'the pull request breaks it' }) }, 'Break it');
    await deliver(c, githubPullRequest({ secret: c.hook.secret!, identifier: c.identifier, number: 8, sha, headBranch: 'broken' }));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'errored');
    assert.match(await world.phaseLog(run, 'plan'), /fails on purpose/);
    const statuses = await until(
      'the commit status to end',
      async () => world.provider.statuses(c.identifier, sha),
      (list) => list.some((st) => st.state !== 'pending'),
      30_000,
    );
    assert.equal(statuses[0].state, 'pending');
    assert.equal(statuses[statuses.length - 1].state, 'failure');
  });

  it('trigger prefixes and patterns skip a push that touches only other paths, and run for one that touches theirs', async () => {
    const prefixes = await world.connect(
      'github',
      { 'infra/main.tf': fixture('vcs-commit', { marker: 'base' }), 'docs/readme.md': 'docs\n' },
      { attributes: { 'working-directory': 'infra', 'file-triggers-enabled': true, 'trigger-prefixes': ['modules/'] } },
    );
    const patterns = await world.connect(
      'forgejo',
      { 'infra/main.tf': fixture('vcs-commit', { marker: 'base' }), 'docs/readme.md': 'docs\n' },
      { attributes: { 'working-directory': 'infra', 'file-triggers-enabled': true, 'trigger-patterns': ['/infra/**/*.tf'] } },
    );
    for (const c of [prefixes, patterns]) {
      const before = c.repo.head('main');
      const docs = c.repo.commit({ 'docs/readme.md': 'more docs\n' }, 'Document');
      const skipped = crypto.randomUUID();
      await deliver(c, push(c, docs, before, 'Document', ['docs/readme.md'], skipped));
      await processed(skipped);
      assert.deepEqual(await world.runs(c.workspace.id), [], `a push touching docs/ only queued no run in ${c.kind}`);
      const m = marker('infra');
      const infra = c.repo.commit({ 'infra/main.tf': fixture('vcs-commit', { marker: m }) }, 'Change infra');
      await deliver(c, push(c, infra, docs, 'Change infra', ['infra/main.tf']));
      const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
      assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
      assert.equal(await stateMarker(c.workspace.id), m);
    }
  });

  it('tags-regex plans a matching tag and ignores others', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { vcsRepo: { 'tags-regex': '^v\\d+\\.\\d+\\.\\d+$' } });
    const m = marker('tag');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, 'Release');
    c.repo.tag('nightly', sha);
    const ignored = crypto.randomUUID();
    await deliver(c, githubTag({ secret: c.hook.secret!, identifier: c.identifier, sha, tag: 'nightly', deliveryId: ignored }));
    await processed(ignored);
    assert.deepEqual(await world.runs(c.workspace.id), []);
    c.repo.tag('v1.2.3', sha);
    await deliver(c, githubTag({ secret: c.hook.secret!, identifier: c.identifier, sha, tag: 'v1.2.3', message: 'Release' }));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
    assert.equal(await stateMarker(c.workspace.id), m);
    const { ingress } = await configurationOf(run);
    assert.equal(ingress.tag, 'v1.2.3');
  });

  it('a revoked token errors the run, with the reason in its plan log and on its configuration version', async () => {
    const c = await world.connect('gitlab', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('revoked') }) }, 'After the revocation');
    world.git.revoke(c.token);
    world.provider.revokeToken(c.token);
    await deliver(c, push(c, sha, before, 'After the revocation', ['main.tf']));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'errored');
    assert.match(run.attributes['error-message'], /could not/);
    const log = await world.phaseLog(run, 'plan');
    assert.match(log, /could not/);
    assert.ok(!log.includes(c.token), 'the token is not in the log');
    const cv = (await api().get(`/configuration-versions/${run.relationships['configuration-version'].data.id}`)).body.data;
    assert.equal(cv.attributes.status, 'errored');
    assert.equal(cv.attributes['error-message'], run.attributes['error-message']);
    assert.ok(!world.log().includes(c.token), 'the token is not in otfd\'s log');
  });

  it('a clone URL at a link-local address is never fetched: the run is errored with the reason in its plan log, and POST /runs is a 422 saying why', async () => {
    // The provider (or whoever answers as it) points the clone at the cloud metadata service.
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { cloneUrl: (repo) => `http://169.254.169.254/acme/${repo.name}.git` });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('metadata') }) }, 'Point at metadata');
    await deliver(c, push(c, sha, before, 'Point at metadata', ['main.tf']));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'errored');
    const why = /cannot fetch http:\/\/169\.254\.169\.254\/acme\/.*: 169\.254\.169\.254 is a link-local address .*otfd does not fetch from there/;
    assert.match(run.attributes['error-message'], why);
    assert.match(await world.phaseLog(run, 'plan'), why);
    const cv = (await api().get(`/configuration-versions/${run.relationships['configuration-version'].data.id}`)).body.data;
    assert.equal(cv.attributes.status, 'errored');

    const res = await api().post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: c.workspace.id } } } } });
    assertError(res, 422, /could not read the head of branch main of acme\/.*: cannot fetch http:\/\/169\.254\.169\.254\/.*is a link-local address/);
    assert.equal((await world.runs(c.workspace.id)).length, 1, 'no run was made');
  });

  it('a repository over --max-config-size errors the run with the reason', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const before = c.repo.head('main');
    // Random bytes do not compress: the archive is over the limit too.
    const sha = c.repo.commit({ 'blob.txt': crypto.randomBytes(MAX_CONFIG_SIZE).toString('base64') }, 'Add a big file');
    await deliver(c, push(c, sha, before, 'Add a big file', ['blob.txt']));
    const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
    assert.equal(run.attributes.status, 'errored');
    assert.match(run.attributes['error-message'], /larger than|limit|size/);
    assert.match(await world.phaseLog(run, 'plan'), /larger than|limit|size/);
  });

  it('a push queues no run once whoever connected the workspace may no longer queue runs', async () => {
    let teamId = '';
    const c = await world.connect(
      'github',
      { 'main.tf': fixture('vcs-commit', { marker: 'base' }) },
      {
        as: async (workspaceId) => {
          const user = await userWithAccess(api(), world.org, [workspaceId], 'admin');
          teamId = user.teamId;
          return user.client;
        },
      },
    );
    // Their team goes, and with it their access to the workspace.
    assertStatus(await api().delete(`/teams/${teamId}`), 204);
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('nobody') }) }, 'Nobody may');
    const id = crypto.randomUUID();
    await deliver(c, push(c, sha, before, 'Nobody may', ['main.tf'], id));
    await processed(id);
    assert.deepEqual(await world.runs(c.workspace.id), []);
    assert.match(world.log(), /may no longer queue runs/);
  });

  it('a push to a workspace that runs locally queues nothing, and the delivery is done, not retried', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { attributes: { 'execution-mode': 'local' } });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('local') }) }, 'Locally');
    const id = crypto.randomUUID();
    await deliver(c, push(c, sha, before, 'Locally', ['main.tf'], id));
    await processed(id);
    assert.deepEqual(await world.runs(c.workspace.id), []);
    assert.match(world.log(), /the workspace refused it/);
  });

  it('shows ingress attributes only of configurations from commits, and only to whoever may read the workspace\'s runs', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const res = await api().post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: c.workspace.id } } } } });
    assertStatus(res, 201);
    const cvId = res.body.data.relationships['configuration-version'].data.id;
    await world.ended(res.body.data.id);
    const stranger = await userWithAccess(api(), await createOrganization(api()), [], 'read');
    const hidden = await stranger.client.get(`/configuration-versions/${cvId}/ingress-attributes`);
    assert.equal(hidden.status, 404, hidden.text);
    // A member of the same organization whose teams were given no access to the workspace.
    const member = await userWithAccess(api(), world.org, [], 'read');
    const tooFewRights = await member.client.get(`/configuration-versions/${cvId}/ingress-attributes`);
    assert.equal(tooFewRights.status, 404, tooFewRights.text);
    const uploaded = await api().post(`/workspaces/${c.workspace.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(uploaded, 201);
    assert.equal(uploaded.body.data.relationships['ingress-attributes'].data, null);
    const none = await api().get(`/configuration-versions/${uploaded.body.data.id}/ingress-attributes`);
    assert.equal(none.status, 404);
    assert.match(none.body.errors[0].detail, /uploaded, not made from a commit/);
    assert.equal((await api().get('/configuration-versions/cv-doesnotexist/ingress-attributes')).status, 404);
  });

  it('a delivery whose every attempt was interrupted is given up with its error kept, not tried forever', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const id = crypto.randomUUID();
    await deliver(c, push(c, c.repo.head('main'), c.repo.head('main'), 'Interrupted', ['main.tf'], id));
    await processed(id);
    const runs = (await world.runs(c.workspace.id)).length;
    // As if three otfds had died processing it, the last one long ago.
    const db = world.server.otfd.db;
    await db('vcs_deliveries').where({ delivery_id: id }).update({ processed_at: null, attempts: 3, claimed_at: db.raw("now() - interval '1 hour'"), error: 'otfd stopped' });
    await db.raw("SELECT pg_notify('vcs_deliveries', 'again')");
    const row = await until(
      'the delivery to be given up',
      async () => (await db('vcs_deliveries').where({ delivery_id: id }).first()) as { processed_at: Date | null; error: string | null; attempts: number },
      (r) => r.processed_at !== null,
      30_000,
    );
    assert.equal(row.attempts, 3);
    assert.equal(row.error, 'otfd stopped');
    assert.equal((await world.runs(c.workspace.id)).length, runs);
  });

  it('two otfds on one database process each delivery once, whichever received it', async () => {
    const replica = await startServer({ ssl: true, databaseUrl: world.server.databaseUrl, config: { concurrency: 0, secret: world.server.secret } });
    try {
      const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { attributes: { 'auto-apply': false } });
      const ids: string[] = [];
      let before = c.repo.head('main');
      for (let i = 0; i < 6; i++) {
        const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker(`push${i}`) }) }, `Push ${i}`);
        const id = crypto.randomUUID();
        ids.push(id);
        const url = i % 2 === 0 ? c.hook.url : c.hook.url.replace(world.server.url, replica.url);
        const res = await world.deliver(url, push(c, sha, before, `Push ${i}`, ['main.tf'], id));
        assert.equal(res.status, 202, res.text);
        before = sha;
      }
      for (const id of ids) await processed(id);
      const rows = (await world.server.otfd.db('vcs_deliveries').whereIn('delivery_id', ids).select('attempts')) as Array<{ attempts: number }>;
      assert.deepEqual(
        rows.map((r) => r.attempts),
        ids.map(() => 1),
      );
      assert.equal((await world.runs(c.workspace.id)).length, 6);
    } finally {
      await replica.stop();
    }
  });

  it('a run whose commit fetch was lost with its otfd is errored by the next otfd, and does not hold the queue', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const res = await api().post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: c.workspace.id } } } } });
    assertStatus(res, 201);
    await world.ended(res.body.data.id);
    // As if the otfd fetching its commit had stopped half an hour ago: the run waits, its commit never comes.
    const db = world.server.otfd.db;
    const cvId = res.body.data.relationships['configuration-version'].data.id;
    await db('runs').where({ id: res.body.data.id }).update({ status: 'pending' });
    await db('configuration_versions').where({ id: cvId }).update({ status: 'fetching', created_at: db.raw("now() - interval '1 hour'") });
    const replica = await startServer({ ssl: true, databaseUrl: world.server.databaseUrl, config: { concurrency: 0, secret: world.server.secret } });
    try {
      const run = await world.ended(res.body.data.id, 30_000);
      assert.equal(run.attributes.status, 'errored');
      assert.match(run.attributes['error-message'], /not fetched within 30 minutes/);
      assert.match(await world.phaseLog(run, 'plan'), /not fetched within 30 minutes/);
      // The workspace's next run goes ahead (the head is applied already: nothing to change).
      const next = await api().post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: c.workspace.id } } } } });
      assertStatus(next, 201);
      assert.equal((await world.ended(next.body.data.id)).attributes.status, 'planned_and_finished');
    } finally {
      await replica.stop();
    }
  });

  it('a delivery processed again (after a crash) makes no second run', async () => {
    const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const before = c.repo.head('main');
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('once') }) }, 'Once');
    const id = crypto.randomUUID();
    await deliver(c, push(c, sha, before, 'Once', ['main.tf'], id));
    await processed(id);
    await world.ended((await world.newRun(c.workspace.id, 1)).id);
    // As if the otfd that processed it had stopped before recording so.
    await world.server.otfd.db('vcs_deliveries').where({ delivery_id: id }).update({ processed_at: null, claimed_at: null, attempts: 0 });
    await world.server.otfd.db.raw("SELECT pg_notify('vcs_deliveries', 'again')");
    await processed(id);
    await sleep(500);
    assert.equal((await world.runs(c.workspace.id)).length, 1);
  });

  it('a repository whose provider gives an ssh:// URL is fetched over SSH with the oauth token\'s SSH key', async () => {
    const keys = generateKeyPair();
    const ssh = await startSshGitServer({ authorizedKey: keys.publicKey, root: world.git.root });
    try {
      const c = await world.connect('forgejo', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { cloneUrl: (repo) => `ssh://git@127.0.0.1:${ssh.port}/${repo.name}.git` });
      const set = await api().patch(`/oauth-tokens/${c.oauthTokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': keys.privateKey } } });
      assertStatus(set, 200);
      const before = c.repo.head('main');
      const m = marker('ssh');
      const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, 'Over SSH');
      await deliver(c, push(c, sha, before, 'Over SSH', ['main.tf']));
      const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
      assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
      assert.equal(await stateMarker(c.workspace.id), m);
      assert.ok(ssh.authenticated > 0, 'the commit came over SSH');
      assert.ok(!world.log().includes(keys.privateKey.split('\n')[1]), 'the key is not logged');
    } finally {
      await ssh.stop();
    }
  });

  it('a repository whose fetches hang holds up neither its delivery nor other repositories\' runs, and POST /runs on it answers at once', async () => {
    const proxy = await startStallingGitProxy(world.git.url);
    try {
      const slow = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { cloneUrl: (repo) => proxy.url(repo) });
      const fast = await world.connect('gitlab', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
      proxy.stall = true;
      // The slow repository's delivery is done once its run exists, its commit still fetching.
      const slowBefore = slow.repo.head('main');
      const slowSha = slow.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker('slow') }) }, 'Slow');
      const slowId = crypto.randomUUID();
      await deliver(slow, push(slow, slowSha, slowBefore, 'Slow', ['main.tf'], slowId));
      await processed(slowId);
      const slowRun = await world.newRun(slow.workspace.id, 1);
      await until('the slow fetch to reach the repository', async () => proxy.stalled, (n) => n > 0, 30_000);
      assert.equal(slowRun.attributes.status, 'pending');
      const cv = await api().get(`/configuration-versions/${slowRun.relationships['configuration-version'].data.id}`);
      assert.equal(cv.body.data.attributes.status, 'fetching');
      // Another repository's push meanwhile is applied.
      const m = marker('fast');
      const fastBefore = fast.repo.head('main');
      const fastSha = fast.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, 'Fast');
      await deliver(fast, push(fast, fastSha, fastBefore, 'Fast', ['main.tf']));
      const fastRun = await world.ended((await world.newRun(fast.workspace.id, 1)).id);
      assert.equal(fastRun.attributes.status, 'applied', `${fastRun.attributes['error-message']}`);
      assert.equal(await stateMarker(fast.workspace.id), m);
      // POST /runs on the slow workspace answers with the run, its commit fetching (the head is listed at once).
      const started = Date.now();
      const res = await api().post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: slow.workspace.id } } } } });
      assertStatus(res, 201);
      assert.ok(Date.now() - started < 20_000, 'POST /runs did not wait for the fetch');
      assert.equal(res.body.data.attributes.status, 'pending');
      const headCv = await api().get(`/configuration-versions/${res.body.data.relationships['configuration-version'].data.id}`);
      assert.equal(headCv.body.data.attributes.status, 'fetching');
      assert.equal((await api().get(`/runs/${slowRun.id}`)).body.data.attributes.status, 'pending', 'the slow run still waits for its commit');
    } finally {
      await proxy.stop();
    }
  });

  it('an otfd fetches four commits at a time; one it has no room for is fetched by another otfd', async () => {
    const proxy = await startStallingGitProxy(world.git.url);
    let replica: Awaited<ReturnType<typeof startServer>> | null = null;
    try {
      const slow = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { cloneUrl: (repo) => proxy.url(repo) });
      const fast = await world.connect('forgejo', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
      proxy.stall = true;
      // Four fetches of the slow repository take this otfd's four places (one hangs at the host, three wait for it).
      for (let i = 0; i < 4; i++) {
        const before = slow.repo.head('main');
        const sha = slow.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: marker(`slow${i}`) }) }, `Slow ${i}`);
        const id = crypto.randomUUID();
        await deliver(slow, push(slow, sha, before, `Slow ${i}`, ['main.tf'], id));
        await processed(id);
      }
      await until('the slow fetch to reach the repository', async () => proxy.stalled, (n) => n > 0, 30_000);
      const m = marker('elsewhere');
      const before = fast.repo.head('main');
      const sha = fast.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, 'Elsewhere');
      await deliver(fast, push(fast, sha, before, 'Elsewhere', ['main.tf']));
      const waiting = await world.newRun(fast.workspace.id, 1);
      await sleep(5_000);
      const cv = await api().get(`/configuration-versions/${waiting.relationships['configuration-version'].data.id}`);
      assert.equal(cv.body.data.attributes.status, 'fetching', 'no fifth fetch at once in one otfd');
      // Another otfd (as one started after a restart would) takes it up.
      replica = await startServer({ ssl: true, databaseUrl: world.server.databaseUrl, config: { concurrency: 0, secret: world.server.secret } });
      const run = await world.ended(waiting.id);
      assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
      assert.equal(await stateMarker(fast.workspace.id), m);
      assert.equal(proxy.stalled, 1, 'the slow repository was asked once at a time');
    } finally {
      await replica?.stop();
      await proxy.stop();
    }
  });

  it('the oauth token\'s SSH key fetches a submodule at an ssh:// URL of a repository cloned over HTTPS', async () => {
    const keys = generateKeyPair();
    const ssh = await startSshGitServer({ authorizedKey: keys.publicKey, root: world.git.root });
    try {
      const m = marker('submodule');
      const sub = world.git.createRepository(`sub-${crypto.randomBytes(4).toString('hex')}`, { 'main.tf': fixture('vcs-commit', { marker: m }) });
      const c = await world.connect('github', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) }, { vcsRepo: { 'ingress-submodules': true } });
      const set = await api().patch(`/oauth-tokens/${c.oauthTokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': keys.privateKey } } });
      assertStatus(set, 200);
      const before = c.repo.head('main');
      c.repo.addSubmodule('sub', { ...sub, url: `ssh://git@127.0.0.1:${ssh.port}/${sub.name}.git` });
      const sha = c.repo.commit({ 'main.tf': 'module "sub" {\n  source = "./sub"\n}\n\noutput "marker" {\n  value = module.sub.marker\n}\n' }, 'Use the submodule');
      await deliver(c, push(c, sha, before, 'Use the submodule', ['main.tf', '.gitmodules', 'sub']));
      const run = await world.ended((await world.newRun(c.workspace.id, 1)).id);
      assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
      assert.equal(await stateMarker(c.workspace.id), m);
      assert.ok(ssh.authenticated > 0, 'the submodule came over SSH');
      assert.ok(!world.log().includes(keys.privateKey.split('\n')[1]), 'the key is not logged');
    } finally {
      await ssh.stop();
    }
  });

  it('POST /runs on a VCS workspace without a configuration version plans and applies the branch head', async () => {
    const m = marker('head');
    const c = await world.connect('forgejo', { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const sha = c.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: m }) }, 'Head of main');
    const res = await api().post('/runs', { data: { type: 'runs', attributes: { message: 'Plan the head' }, relationships: { workspace: { data: { type: 'workspaces', id: c.workspace.id } } } } });
    assertStatus(res, 201);
    assert.equal(res.body.data.attributes.message, 'Plan the head');
    const run = await world.ended(res.body.data.id);
    assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}`);
    assert.equal(await stateMarker(c.workspace.id), m);
    const { ingress } = await configurationOf(run);
    assert.equal(ingress['commit-sha'], sha);
    assert.equal(ingress.branch, 'main');
  });
});

