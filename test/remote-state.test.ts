// terraform_remote_state (backend "remote") reads another workspace's outputs from otfd over TLS:
// from the user's machine with the user's token, and inside otfd's own remote runs with the run's
// job token, which may read only the state of workspaces that share it (their remote state
// consumers, or all of the organization with global-remote-state).
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, terraform, workdir } from './helpers/terraform.js';

const PRODUCER = `\n${fixture('remote-state-producer')}`;

/** Reads the producer's outputs through terraform_remote_state and outputs them again. */
function consumerConfiguration(server: TestServer, org: string, producer: string): string {
  return `\n${fixture('remote-state-consumer', { hostname: server.hostname, organization: org, producer })}`;
}

function ids(list: Json[]): string[] {
  return list.map((w) => w.id).sort();
}

describe('terraform_remote_state between workspaces of otfd (real CLI over TLS)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;
  let other: string;
  let producer: Json;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 2 } });
    org = await createOrganization(server.api);
    other = await createOrganization(server.api);
    producer = await createWorkspace(server.api, org, 'producer', { 'execution-mode': 'remote' });
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "producer"') + PRODUCER });
    expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    expectCode(apply, 0);
    assert.match(apply.output, /endpoint = "https:\/\/producer\.example"/);
  });
  after(() => server.stop());

  /** A work directory for a consumer workspace of the organization, initialised. */
  async function consumerDir(organization: string, workspace: string): Promise<string> {
    const dir = workdir({ 'main.tf': cloudBlock(server, organization, `name = "${workspace}"`) + consumerConfiguration(server, org, 'producer') });
    expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
    return dir;
  }

  async function latestRun(wsId: string): Promise<Json> {
    const res = await server.api.get(`/workspaces/${wsId}/runs`);
    assertStatus(res, 200);
    return res.body.data[0];
  }

  /** What a refused read must leave alone: the organization's workspaces and the producer with its state. */
  async function producerSnapshot(): Promise<Json> {
    const list = await server.api.get(`/organizations/${org}/workspaces?page[size]=100`);
    assertStatus(list, 200);
    const ws = await server.api.get(`/workspaces/${producer.id}`);
    assertStatus(ws, 200);
    const state = await server.api.get(`/workspaces/${producer.id}/current-state-version`);
    assertStatus(state, 200);
    const attributes = { ...ws.body.data.attributes };
    delete attributes['updated-at'];
    return {
      workspaces: list.body.data.map((w: Json) => `${w.id} ${w.attributes.name}`).sort(),
      producer: attributes,
      state: `${state.body.data.id} serial ${state.body.data.attributes.serial}`,
    };
  }

  /** A remote apply of the consumer that terraform_remote_state must fail, with the run errored and nothing of the producer's touched. */
  async function assertRefused(dir: string, wsId: string): Promise<void> {
    const before = await producerSnapshot();
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    expectCode(apply, 1);
    assert.match(apply.output, /Running apply in HCP Terraform/);
    // terraform's own diagnostic from the run, streamed to the user: the producer cannot be found
    // from here ("Unable to find remote state", or a not-found answer to its lookup), rather than
    // a complaint about creating a workspace that exists.
    assert.match(apply.output, /Error: .*\n[\s\S]*data\.terraform_remote_state\.producer/);
    assert.match(apply.output, /No stored state was found for the given workspace|not found/);
    assert.doesNotMatch(apply.output, /forbidden|missing permission/);
    assert.doesNotMatch(apply.output, /producer\.example/);
    assert.doesNotMatch(apply.output, /pr0ducer-s3cret/);
    const run = await latestRun(wsId);
    assert.equal(run.attributes.status, 'errored', `run ${run.id} is ${run.attributes.status}`);
    assert.deepEqual(await producerSnapshot(), before, 'the refused read neither created nor changed a workspace');
  }

  async function assertReads(dir: string, wsId: string): Promise<void> {
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    expectCode(apply, 0);
    assert.match(apply.output, /Running apply in HCP Terraform/);
    assert.match(apply.output, /endpoint = "https:\/\/producer\.example"/);
    assert.match(apply.output, /password = <sensitive>/);
    assert.doesNotMatch(apply.output, /pr0ducer-s3cret/);
    const run = await latestRun(wsId);
    assert.equal(run.attributes.status, 'applied', `run ${run.id} is ${run.attributes.status}`);
    const secret = await terraform(server, dir, ['output', '-raw', 'password']);
    expectCode(secret, 0);
    assert.equal(secret.stdout, 'pr0ducer-s3cret', 'the sensitive output came through the full state');
  }

  it("reads the producer's outputs from the user's machine (a local-execution workspace, the user's token)", async () => {
    await createWorkspace(server.api, org, 'consumer-local', { 'execution-mode': 'local' });
    const dir = await consumerDir(org, 'consumer-local');
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    expectCode(apply, 0);
    assert.doesNotMatch(apply.output, /Running apply in HCP Terraform/, 'it ran here');
    assert.match(apply.output, /endpoint = "https:\/\/producer\.example"/);
    const out = await terraform(server, dir, ['output', '-json']);
    expectCode(out, 0);
    const outputs = JSON.parse(out.stdout);
    assert.equal(outputs.endpoint.value, 'https://producer.example');
    assert.equal(outputs.password.value, 'pr0ducer-s3cret');
  });

  describe('in remote runs of another workspace (the job token)', () => {
    let consumer: Json;
    let dir: string;

    before(async () => {
      consumer = await createWorkspace(server.api, org, 'consumer', { 'execution-mode': 'remote' });
      dir = await consumerDir(org, 'consumer');
    });

    it('fails while the producer shares its state with nobody, and creates no workspace', async () => {
      await assertRefused(dir, consumer.id);
    });

    it('reads the outputs once the consumer is added to the remote state consumers', async () => {
      const add = await server.api.post(`/workspaces/${producer.id}/relationships/remote-state-consumers`, { data: [{ type: 'workspaces', id: consumer.id }] });
      assertStatus(add, 204);
      await assertReads(dir, consumer.id);
    });

    it('fails again once the consumer is removed', async () => {
      const remove = await server.api.request('DELETE', `/workspaces/${producer.id}/relationships/remote-state-consumers`, {
        body: { data: [{ type: 'workspaces', id: consumer.id }] },
      });
      assertStatus(remove, 204);
      await assertRefused(dir, consumer.id);
    });

    describe('with global-remote-state', () => {
      before(async () => {
        const res = await server.api.patch(`/workspaces/${producer.id}`, { data: { type: 'workspaces', attributes: { 'global-remote-state': true } } });
        assertStatus(res, 200);
        assert.equal(res.body.data.attributes['global-remote-state'], true);
      });
      after(async () => {
        const res = await server.api.patch(`/workspaces/${producer.id}`, { data: { type: 'workspaces', attributes: { 'global-remote-state': false } } });
        assertStatus(res, 200);
      });

      it('any workspace of the organization reads the outputs', async () => {
        const bystander = await createWorkspace(server.api, org, 'bystander', { 'execution-mode': 'remote' });
        await assertReads(await consumerDir(org, 'bystander'), bystander.id);
      });

      it('a workspace of another organization does not', async () => {
        const stranger = await createWorkspace(server.api, other, 'stranger', { 'execution-mode': 'remote' });
        await assertRefused(await consumerDir(other, 'stranger'), stranger.id);
        const theirs = await server.api.get(`/organizations/${other}/workspaces`);
        assert.deepEqual(
          theirs.body.data.map((w: Json) => w.attributes.name),
          ['stranger'],
          'nothing was created in the other organization either',
        );
      });
    });
  });

  describe('the remote-state-consumers relationship', () => {
    let shared: Json;
    let a: Json;
    let b: Json;
    let c: Json;
    const path = () => `/workspaces/${shared.id}/relationships/remote-state-consumers`;
    const list = (items: Json[]) => ({ data: items.map((w) => ({ type: 'workspaces', id: w.id })) });

    async function consumers(api: Api = server.api): Promise<string[]> {
      const res = await api.get(path());
      assertStatus(res, 200);
      for (const w of res.body.data) assert.equal(w.type, 'workspaces');
      return ids(res.body.data);
    }

    before(async () => {
      shared = await createWorkspace(server.api, org, 'shared');
      a = await createWorkspace(server.api, org, 'reader-a');
      b = await createWorkspace(server.api, org, 'reader-b');
      c = await createWorkspace(server.api, org, 'reader-c');
    });

    it('starts empty; POST adds, keeping those already there', async () => {
      assert.deepEqual(await consumers(), []);
      assertStatus(await server.api.post(path(), list([a])), 204);
      assertStatus(await server.api.post(path(), list([b, a])), 204);
      assert.deepEqual(await consumers(), ids([a, b]));
      const listed = await server.api.get(path());
      const names = listed.body.data.map((w: Json) => w.attributes.name).sort();
      assert.deepEqual(names, ['reader-a', 'reader-b'], 'the consumers are listed as workspaces');
    });

    it('PATCH replaces the list', async () => {
      assertStatus(await server.api.patch(path(), list([c])), 204);
      assert.deepEqual(await consumers(), ids([c]));
    });

    it('DELETE removes the named workspaces only', async () => {
      assertStatus(await server.api.post(path(), list([a])), 204);
      assertStatus(await server.api.request('DELETE', path(), { body: list([c]) }), 204);
      assert.deepEqual(await consumers(), ids([a]));
    });

    it('refuses a workspace of another organization or one that does not exist with 422, changing nothing', async () => {
      const foreign = await createWorkspace(server.api, other, 'foreign');
      for (const how of ['post', 'patch'] as const) {
        const res = await server.api[how](path(), list([b, foreign]));
        assertStatus(res, 422);
        assert.match(JSON.stringify(res.body.errors), new RegExp(foreign.id));
        const missing = await server.api[how](path(), { data: [{ type: 'workspaces', id: 'ws-doesnotexist' }] });
        assertStatus(missing, 422);
      }
      assert.deepEqual(await consumers(), ids([a]));
    });

    it("is not found with another organization's token, whatever the method", async () => {
      const token = await server.api.post(`/organizations/${other}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
      assertStatus(token, 201);
      const stranger = server.api.withToken(token.body.data.attributes.token);
      const foreign = await createWorkspace(server.api, other, 'foreign-2');
      assertStatus(await stranger.get(path()), 404);
      assertStatus(await stranger.post(path(), list([foreign])), 404);
      assertStatus(await stranger.patch(path(), list([foreign])), 404);
      assertStatus(await stranger.request('DELETE', path(), { body: list([a]) }), 404);
      assert.deepEqual(await consumers(), ids([a]), 'nothing changed');
    });
  });
});
