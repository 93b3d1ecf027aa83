// The OpenTofu 1.6.2 CLI drives otfd over TLS through a cloud block, against a workspace whose
// engine is tofu: otfd's server agent runs tofu (kept in the engine bins dir) for its plans and
// applies, while terraform workspaces keep running terraform beside it.
import assert from 'node:assert/strict';
import type { Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { TOFU_VERSION, cloudBlock, engineBinsWithTofu, expectCode, terraform, tofu, workdir } from './helpers/terraform.js';

function configuration(input: string): string {
  return `\n${fixture('endpoint-and-secret', { input })}`;
}

describe('OpenTofu workspaces in otfd (the tofu CLI over TLS, remote execution by the server agent)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 2, engineBinsDir: engineBinsWithTofu() } });
    org = await createOrganization(server.api);
  });
  after(() => server.stop());

  async function latestRun(wsId: string): Promise<Json> {
    const res = await server.api.get(`/workspaces/${wsId}/runs`);
    assert.equal(res.status, 200, res.text);
    return res.body.data[0];
  }

  function describeRun(r: Json): string {
    return `${r.id} ${r.attributes.status}${r.attributes['error-message'] ? ` (${r.attributes['error-message']})` : ''}`;
  }

  describe('a tofu workspace through its life', () => {
    let ws: Json;
    let dir: string;

    before(async () => {
      ws = await createWorkspace(server.api, org, 'tofu-app', { engine: 'tofu', 'terraform-version': TOFU_VERSION, 'execution-mode': 'remote' });
      assert.equal(ws.attributes.engine, 'tofu');
      dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tofu-app"') + configuration('https://tofu.example') });
    });

    it('tofu init connects to the workspace', async () => {
      const init = await tofu(server, dir, ['init', '-input=false']);
      expectCode(init, 0);
      assert.match(init.output, /Cloud backend has been successfully initialized!/);
    });

    it('tofu apply -auto-approve runs remotely with tofu, streaming its log', async () => {
      const apply = await tofu(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /Running apply in cloud backend/);
      assert.match(apply.output, new RegExp(`OpenTofu v${TOFU_VERSION.replace(/\./g, '\\.')}\\s*\\non linux_`), 'the plan log starts with the engine header');
      assert.doesNotMatch(apply.output, /^Terraform v\d/m);
      assert.match(apply.output, /OpenTofu used the selected providers to generate the following execution/);
      assert.match(apply.output, /\+ resource "terraform_data" "x"/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
      assert.match(apply.output, /endpoint = "https:\/\/tofu\.example"/);
      assert.doesNotMatch(apply.output, /s3cr3t/);
      const run = await latestRun(ws.id);
      assert.equal(run.attributes.status, 'applied', describeRun(run));
      assert.equal(run.attributes['terraform-version'], TOFU_VERSION);
      const state = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(state.status, 200, state.text);
      assert.equal(state.body.data.attributes['terraform-version'], TOFU_VERSION, 'tofu wrote the state');
    });

    it('tofu output reads the outputs, the sensitive one with -raw', async () => {
      const all = await tofu(server, dir, ['output']);
      expectCode(all, 0);
      assert.match(all.stdout, /^endpoint = "https:\/\/tofu\.example"$/m);
      assert.match(all.stdout, /^secret = <sensitive>$/m);
      const raw = await tofu(server, dir, ['output', '-raw', 'secret']);
      expectCode(raw, 0);
      assert.equal(raw.stdout, 's3cr3t-https://tofu.example');
    });

    it('tofu destroy -auto-approve empties the state', async () => {
      const destroy = await tofu(server, dir, ['destroy', '-auto-approve', '-input=false']);
      expectCode(destroy, 0);
      assert.match(destroy.output, /- resource "terraform_data" "x"/);
      assert.match(destroy.output, /Resources: 0 added, 0 changed, 1 destroyed/);
      const run = await latestRun(ws.id);
      assert.equal(run.attributes.status, 'applied', describeRun(run));
      assert.equal(run.attributes['is-destroy'], true);
      const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(current.status, 200, current.text);
      const download = await server.api.get(current.body.data.attributes['hosted-state-download-url']);
      assert.deepEqual(JSON.parse(download.text).resources, []);
      const out = await tofu(server, dir, ['output']);
      assert.doesNotMatch(out.stdout, /endpoint/);
    });
  });

  describe('workspaces that the CLI creates at init', () => {
    async function workspaceNamed(api: TestServer['api'], name: string): Promise<Json> {
      const res = await api.get(`/organizations/${org}/workspaces/${name}`);
      assert.equal(res.status, 200, res.text);
      return res.body.data;
    }

    it('tofu init makes a tofu workspace (OpenTofu names itself in its User-Agent), and its runs use tofu', async () => {
      const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tofu-made"') + configuration('made-by-tofu') });
      const init = await tofu(server, dir, ['init', '-input=false']);
      expectCode(init, 0);
      const ws = await workspaceNamed(server.api, 'tofu-made');
      assert.equal(ws.attributes.engine, 'tofu', 'otfd runs terraform by default, but tofu made this one');
      assert.equal(ws.attributes['terraform-version'], TOFU_VERSION);
      const apply = await tofu(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /^OpenTofu v1\.6\.2$/m);
      const run = await latestRun(ws.id);
      assert.equal(run.attributes.status, 'applied', describeRun(run));
    });

    it('terraform init makes a terraform workspace on an otfd whose default engine is tofu', async () => {
      const tofuFirst = await startServer({ ssl: true, config: { concurrency: 0, defaultEngine: 'tofu' } });
      try {
        const other = await createOrganization(tofuFirst.api, org);
        const dir = workdir({ 'main.tf': cloudBlock(tofuFirst, other, 'name = "tf-made"') + configuration('made-by-terraform') });
        expectCode(await terraform(tofuFirst, dir, ['init', '-input=false']), 0);
        const res = await tofuFirst.api.get(`/organizations/${other}/workspaces/tf-made`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.attributes.engine, 'terraform');
        assert.equal(res.body.data.attributes['terraform-version'], '1.11.4');
        // Any other client still gets the default.
        const plain = await createWorkspace(tofuFirst.api, other, 'api-made');
        assert.equal(plain.attributes.engine, 'tofu');
      } finally {
        await tofuFirst.stop();
      }
    });
  });

  it('a terraform workspace runs terraform while a tofu workspace runs tofu beside it', async () => {
    const tf = await createWorkspace(server.api, org, 'tf-app', { engine: 'terraform', 'execution-mode': 'remote' });
    const tofuWs = await createWorkspace(server.api, org, 'tofu-beside', { engine: 'tofu', 'terraform-version': TOFU_VERSION, 'execution-mode': 'remote' });
    const tfDir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tf-app"') + configuration('tf') });
    const tofuDir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tofu-beside"') + configuration('tofu') });
    const [tfInit, tofuInit] = await Promise.all([terraform(server, tfDir, ['init', '-input=false']), tofu(server, tofuDir, ['init', '-input=false'])]);
    expectCode(tfInit, 0);
    expectCode(tofuInit, 0);

    const [tfApply, tofuApply] = await Promise.all([
      terraform(server, tfDir, ['apply', '-auto-approve', '-input=false']),
      tofu(server, tofuDir, ['apply', '-auto-approve', '-input=false']),
    ]);
    expectCode(tfApply, 0);
    expectCode(tofuApply, 0);
    assert.match(tfApply.output, /^Terraform v1\.11\.4$/m);
    assert.match(tfApply.output, /Terraform used the selected providers/);
    assert.doesNotMatch(tfApply.output, /OpenTofu/);
    assert.match(tfApply.output, /endpoint = "tf"/);
    assert.match(tofuApply.output, /^OpenTofu v1\.6\.2$/m);
    assert.match(tofuApply.output, /OpenTofu used the selected providers/);
    assert.match(tofuApply.output, /endpoint = "tofu"/);
    const [tfRun, tofuRun] = [await latestRun(tf.id), await latestRun(tofuWs.id)];
    assert.equal(tfRun.attributes.status, 'applied', describeRun(tfRun));
    assert.equal(tfRun.attributes['terraform-version'], '1.11.4');
    assert.equal(tofuRun.attributes.status, 'applied', describeRun(tofuRun));
    assert.equal(tofuRun.attributes['terraform-version'], TOFU_VERSION);
  });

  describe('terraform_remote_state in tofu runs', () => {
    let producer: Json;
    let consumer: Json;
    let dir: string;

    before(async () => {
      producer = await createWorkspace(server.api, org, 'tofu-producer', { engine: 'tofu', 'terraform-version': TOFU_VERSION, 'execution-mode': 'remote' });
      const producerDir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tofu-producer"') + configuration('https://producer.example') });
      expectCode(await tofu(server, producerDir, ['init', '-input=false']), 0);
      expectCode(await tofu(server, producerDir, ['apply', '-auto-approve', '-input=false']), 0);
      consumer = await createWorkspace(server.api, org, 'tofu-consumer', { engine: 'tofu', 'terraform-version': TOFU_VERSION, 'execution-mode': 'remote' });
      dir = workdir({
        'main.tf': cloudBlock(server, org, 'name = "tofu-consumer"') + fixture('remote-state-consumer-endpoint', { hostname: server.hostname, organization: org, producer: 'tofu-producer' }),
      });
      expectCode(await tofu(server, dir, ['init', '-input=false']), 0);
    });

    it('fails with a not-found error while the producer does not share its state', async () => {
      const apply = await tofu(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 1);
      assert.match(apply.output, /Error: .*\n[\s\S]*data\.terraform_remote_state\.producer/);
      assert.match(apply.output, /No stored state was found for the given workspace|not found/);
      assert.doesNotMatch(apply.output, /forbidden|missing permission/);
      assert.doesNotMatch(apply.output, /producer\.example/);
      const run = await latestRun(consumer.id);
      assert.equal(run.attributes.status, 'errored', describeRun(run));
    });

    it("reads the producer's outputs once it names the consumer (tofu in the run uses otfd's credentials and certificate)", async () => {
      const add = await server.api.post(`/workspaces/${producer.id}/relationships/remote-state-consumers`, { data: [{ type: 'workspaces', id: consumer.id }] });
      assert.equal(add.status, 204, add.text);
      const apply = await tofu(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /^OpenTofu v1\.6\.2$/m);
      assert.match(apply.output, /endpoint = "https:\/\/producer\.example"/);
      const run = await latestRun(consumer.id);
      assert.equal(run.attributes.status, 'applied', describeRun(run));
    });
  });

  it('errors the run of a tofu workspace whose version nobody has, saying why', async () => {
    const ws = await createWorkspace(server.api, org, 'tofu-future', { engine: 'tofu', 'terraform-version': '1.99.0', 'execution-mode': 'remote' });
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "tofu-future"') + configuration('never') });
    expectCode(await tofu(server, dir, ['init', '-input=false']), 0);
    const plan = await tofu(server, dir, ['plan', '-input=false']);
    expectCode(plan, 1);
    assert.match(plan.output, /Running plan in cloud backend/);
    assert.match(plan.output, /Error: tofu 1\.99\.0 is not available/);
    const run = await latestRun(ws.id);
    assert.equal(run.attributes.status, 'errored', describeRun(run));
    assert.match(run.attributes['error-message'], /tofu 1\.99\.0 is not available: there is none on PATH, none that fits is in .*tofu, and downloading it failed/);
    const state = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(state.status, 404, 'nothing was applied');
  });
});
