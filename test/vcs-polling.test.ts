// Polling, for otfd behind a firewall that webhooks cannot reach, as a user sees it: a workspace
// connected with poll-interval-seconds gets no webhook; otfd reads its branch head every interval
// from the real git server, and a push becomes a run within the interval, named after the commit;
// connecting queues nothing, nor does a head that did not move; a host that cannot be reached is
// logged once, not every interval; two otfds on one database take turns rather than both polling.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Json } from './helpers/api.js';
import { assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { git, type TestRepository } from './helpers/git-http-server.js';
import { randomName, startServer } from './helpers/server.js';
import { startVcsWorld, type VcsWorld } from './helpers/vcs-world.js';
import { sleep, until } from './helpers/wait.js';

/** The shortest interval a workspace may poll at (src/workspaces/vcs.ts). */
const INTERVAL = 10;

interface Polling {
  repo: TestRepository;
  identifier: string;
  workspace: Json;
}

interface PollRow {
  head_sha: string | null;
  trouble: string | null;
  updated_at: Date;
}

describe('VCS polling', function () {
  this.timeout(300_000);
  let world: VcsWorld;

  before(async () => {
    world = await startVcsWorld();
  });
  after(async () => {
    await world?.stop();
  });

  /** A served GitHub repository and a workspace connected to it that polls every INTERVAL seconds. */
  async function connectPolling(): Promise<Polling> {
    const name = randomName('repo');
    const repo = world.git.createRepository(name, { 'main.tf': fixture('vcs-commit', { marker: 'base' }) });
    const identifier = `acme/${name}`;
    const token = `tok-${crypto.randomBytes(12).toString('hex')}`;
    world.provider.addToken(token);
    world.git.addCredentials('x-access-token', token);
    world.provider.addRepository({ identifier, defaultBranch: 'main', cloneUrl: repo.url, webUrl: `https://vcs.example.test/${identifier}`, gitDir: repo.bare });
    const client = await world.api.post(`/organizations/${world.org}/oauth-clients`, {
      data: {
        type: 'oauth-clients',
        attributes: { 'service-provider': 'github', 'api-url': world.provider.apiUrl('github'), 'http-url': 'https://vcs.example.test', 'oauth-token-string': token },
      },
    });
    assertStatus(client, 201);
    const ws = await world.api.post(`/organizations/${world.org}/workspaces`, {
      data: {
        type: 'workspaces',
        attributes: {
          name: randomName('ws'),
          'auto-apply': true,
          'vcs-repo': { identifier, 'oauth-token-id': client.body.data.relationships['oauth-tokens'].data[0].id, 'poll-interval-seconds': INTERVAL },
        },
      },
    });
    assertStatus(ws, 201);
    assert.equal(ws.body.data.attributes['vcs-repo']['poll-interval-seconds'], INTERVAL);
    assert.deepEqual(world.provider.hooks(identifier), [], 'a polling workspace gets no webhook');
    return { repo, identifier, workspace: ws.body.data };
  }

  async function pollRow(workspaceId: string): Promise<PollRow | undefined> {
    return (await world.server.otfd.db('vcs_polls').where({ workspace_id: workspaceId }).first()) as PollRow | undefined;
  }

  /** Waits until otfd has recorded `sha` as the workspace's head. */
  function headRecorded(workspaceId: string, sha: string): Promise<PollRow | undefined> {
    // The otfd that connected the workspace reads its polling set again at once: the first poll comes within the interval.
    return until(`head ${sha} recorded`, () => pollRow(workspaceId), (row) => row?.head_sha === sha, (INTERVAL + 10) * 1000);
  }

  /** Polls of the repository that reached the git server (each poll asks for its refs once). */
  const pollsOf = (p: Polling) => world.git.requests.filter((r) => r.method === 'GET' && r.url.startsWith(`/${p.repo.name}.git/info/refs`)).length;

  it('connecting queues no run: the first poll records the head; a push is planned and applied within the interval', async () => {
    const p = await connectPolling();
    await headRecorded(p.workspace.id, p.repo.head('main'));
    assert.deepEqual(await world.runs(p.workspace.id), [], 'the first poll queued no run');

    const message = `Poll me ${crypto.randomBytes(3).toString('hex')}`;
    const pushedAt = Date.now();
    const sha = p.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: 'polled' }) }, message);
    const run = await world.newRun(p.workspace.id, 1);
    // A poll comes within the interval; fetching and archiving the commit after it takes a few
    // seconds more on a loaded machine. Two intervals would mean a poll was missed.
    assert.ok(Date.now() - pushedAt < 2 * INTERVAL * 1000, `the run came ${Date.now() - pushedAt} ms after the push`);
    assert.equal(run.attributes.message, message);
    const ended = await world.ended(run.id);
    assert.equal(ended.attributes.status, 'applied', ended.attributes['error-message']);
    const ingress = await world.api.get(`/configuration-versions/${run.relationships['configuration-version'].data.id}/ingress-attributes`);
    assertStatus(ingress, 200);
    assert.equal(ingress.body.data.attributes['commit-sha'], sha);
    assert.equal(ingress.body.data.attributes.branch, 'main');
    // The same as go-tfe asks for them: with the run (RunConfigVerIngress) and with a workspace's list.
    const withIngress = await world.api.get(`/runs/${run.id}?include=configuration_version.ingress_attributes`);
    assertStatus(withIngress, 200);
    const included = withIngress.body.included as Json[];
    assert.deepEqual(included.map((r) => r.type).sort(), ['configuration-versions', 'ingress-attributes']);
    assert.equal(included.find((r) => r.type === 'ingress-attributes')!.attributes['commit-sha'], sha);
    const listed = await world.api.get(`/workspaces/${p.workspace.id}/configuration-versions?include=ingress_attributes`);
    assertStatus(listed, 200);
    const listedIngress = (listed.body.included as Json[]).filter((r) => r.type === 'ingress-attributes');
    assert.deepEqual(listedIngress.map((r) => r.attributes['commit-sha']), [sha]);
    assert.equal(listed.body.data[0].relationships['ingress-attributes'].data.id, listedIngress[0].id);
    const plain = await world.api.get(`/workspaces/${p.workspace.id}/configuration-versions`);
    assert.equal(plain.body.included, undefined);
    assert.equal((await pollRow(p.workspace.id))?.head_sha, sha);

    // The head did not move: the next polls queue nothing.
    const polled = pollsOf(p);
    await until('two more polls', async () => pollsOf(p), (n) => n >= polled + 2, (2 * INTERVAL + 10) * 1000);
    assert.equal((await world.runs(p.workspace.id)).length, 1, 'no run without a new head');

    // A new commit, then the branch moved back to the head it had before (a force-push revert):
    // both are pushes, and the second is not taken for a replay of the first run's delivery.
    const next = p.repo.commit({ 'main.tf': fixture('vcs-commit', { marker: 'next' }) }, 'Next');
    const second = await world.newRun(p.workspace.id, 2);
    assert.equal(second.attributes.message, 'Next');
    assert.notEqual(next, sha);
    git(p.repo.bare, 'update-ref', 'refs/heads/main', sha);
    const reverted = await world.newRun(p.workspace.id, 3);
    assert.equal(reverted.attributes.message, message);
    const revertedIngress = await world.api.get(`/configuration-versions/${reverted.relationships['configuration-version'].data.id}/ingress-attributes`);
    assert.equal(revertedIngress.body.data.attributes['commit-sha'], sha);
    await headRecorded(p.workspace.id, sha);
  });

  it('a host that cannot be reached is logged once, not every interval, and polling resumes when it is back', async () => {
    const p = await connectPolling();
    await headRecorded(p.workspace.id, p.repo.head('main'));
    // The provider's API answers, the git server does not (503) for this repository.
    const stopAt = world.git.requests.length;
    world.git.deleteRepository(p.repo.name);
    await until('a failed poll', () => pollRow(p.workspace.id), (row) => row?.trouble != null, (INTERVAL + 10) * 1000);
    const polled = pollsOf(p);
    await until('two more polls', async () => pollsOf(p), (n) => n >= polled + 2, (2 * INTERVAL + 10) * 1000);
    const lines = world.log().split('\n').filter((l) => l.includes('polling failed') && l.includes(p.workspace.id));
    assert.equal(lines.length, 1, `one log line for ${pollsOf(p) - polled + 1} failed polls:\n${lines.join('\n')}`);
    assert.ok(world.git.requests.length > stopAt);
    assert.deepEqual(await world.runs(p.workspace.id), []);
  });

  it('two otfds on one database take turns: one poll per interval, not two', async () => {
    // A replica: the same database and --secret (the oauth tokens are sealed with it).
    const second = await startServer({ databaseUrl: world.server.databaseUrl, config: { concurrency: 0, secret: world.server.secret } });
    try {
      const p = await connectPolling();
      await headRecorded(p.workspace.id, p.repo.head('main'));
      const first = pollsOf(p);
      const started = Date.now();
      await sleep(3 * INTERVAL * 1000 + 2000);
      const polls = pollsOf(p) - first;
      const intervals = (Date.now() - started) / (INTERVAL * 1000);
      assert.ok(polls >= 2 && polls <= Math.ceil(intervals), `${polls} polls in ${intervals.toFixed(1)} intervals by two otfds\n${world.log().split('\n').filter((l) => l.includes('poll')).slice(-20).join('\n')}`);
    } finally {
      await second.stop();
    }
  });
});
