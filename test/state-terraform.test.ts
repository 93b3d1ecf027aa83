// The real terraform CLI (on PATH) keeps its state in otfd over TLS: a workspace in local execution
// mode, where the CLI uses only the lock, the state endpoints and unlock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, terraform, workdir } from './helpers/terraform.js';

function config(server: TestServer, org: string, workspace: string, input: string): string {
  return `${cloudBlock(server, org, `name = "${workspace}"`)}\n${fixture('greeting-numbers-secret', { input })}`;

}

describe('terraform state in otfd (real CLI over TLS, local execution)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;
  let ws: Json;
  let dir: string;

  before(async () => {
    server = await startServer({ ssl: true });
    org = await createOrganization(server.api);
    ws = await createWorkspace(server.api, org, 'local-state', { 'execution-mode': 'local' });
    dir = workdir({ 'main.tf': config(server, org, 'local-state', 'one') });
    const init = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(init.code, 0, init.output);
  });
  after(() => server.stop());

  it('applies and stores the state as finalized serial 1, equal byte for byte to terraform state pull', async () => {
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(apply.code, 0, apply.output);
    assert.match(apply.output, /Apply complete! Resources: 1 added/);

    const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(current.status, 200, current.text);
    const a = current.body.data.attributes;
    assert.equal(a.status, 'finalized');
    assert.equal(a.serial, 1);
    assert.equal(a['terraform-version'], '1.11.4');
    assert.notEqual(a['hosted-json-state-download-url'], null, 'the cloud backend uploads the JSON state too');

    const download = await server.api.get(a['hosted-state-download-url']);
    assert.equal(download.status, 200);
    const pull = await terraform(server, dir, ['state', 'pull']);
    assert.equal(pull.code, 0, pull.output);
    // state pull prints the state file and then a line break of its own.
    assert.equal(pull.stdout, `${download.text}\n`);
    assert.equal(JSON.parse(download.text).serial, 1);

    const workspace = await server.api.get(`/workspaces/${ws.id}`);
    assert.equal(workspace.body.data.attributes.locked, false, 'the CLI unlocked after the upload');
  });

  it('lists the outputs of the stored state', async () => {
    const res = await server.api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
    assert.equal(res.status, 200, res.text);
    const outputs: Record<string, Json> = {};
    for (const o of res.body.data) outputs[o.attributes.name] = o.attributes;
    assert.deepEqual(Object.keys(outputs).sort(), ['greeting', 'numbers', 'secret']);
    assert.equal(outputs.greeting.value, 'one');
    assert.equal(outputs.greeting['detailed-type'], 'string');
    assert.deepEqual(outputs.numbers['detailed-type'], ['tuple', ['number', 'number', 'number']]);
    assert.equal(outputs.secret.sensitive, true);
    assert.equal(outputs.secret.value, null);
  });

  it('stores serial 2 after a second apply with a changed configuration', async () => {
    fs.writeFileSync(path.join(dir, 'main.tf'), config(server, org, 'local-state', 'two'));
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(apply.code, 0, apply.output);
    const current = await server.api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(current.body.data.attributes.serial, 2);
    const list = await server.api.get(`/workspaces/${ws.id}/state-versions`);
    assert.deepEqual(
      list.body.data.map((v: Json) => [v.attributes.serial, v.attributes.status]),
      [
        [2, 'finalized'],
        [1, 'finalized'],
      ],
    );
  });

  it('reads the outputs with terraform output, the sensitive one included', async () => {
    const plain = await terraform(server, dir, ['output', '-raw', 'greeting']);
    assert.equal(plain.code, 0, plain.output);
    assert.equal(plain.stdout, 'two');
    const json = await terraform(server, dir, ['output', '-json']);
    assert.equal(json.code, 0, json.output);
    const outputs = JSON.parse(json.stdout);
    assert.equal(outputs.greeting.value, 'two');
    assert.deepEqual(outputs.numbers.value, [1, 2, 3]);
    assert.equal(outputs.secret.value, 's3cr3t-two');
    assert.equal(outputs.secret.sensitive, true);
  });

  it('lists the resources with terraform state list', async () => {
    const list = await terraform(server, dir, ['state', 'list']);
    assert.equal(list.code, 0, list.output);
    assert.equal(list.stdout.trim(), 'terraform_data.example');
  });

  it('continues from a rolled-back state: the next apply writes the serial after it', async () => {
    const versions = await server.api.get(`/workspaces/${ws.id}/state-versions`);
    const first = versions.body.data.find((v: Json) => v.attributes.serial === 1);
    const rollback = await server.api.post(`/state-versions/${first.id}/actions/rollback`);
    assert.equal(rollback.status, 201, rollback.text);
    assert.equal(rollback.body.data.attributes.serial, 3);
    const output = await terraform(server, dir, ['output', '-raw', 'greeting']);
    assert.equal(output.stdout, 'one');
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(apply.code, 0, apply.output);
    assert.equal((await server.api.get(`/workspaces/${ws.id}/current-state-version`)).body.data.attributes.serial, 4);
    assert.equal((await terraform(server, dir, ['output', '-raw', 'greeting'])).stdout, 'two');
  });

  it('stores what terraform state rm writes: the next serial, without the resource', async () => {
    const before = (await server.api.get(`/workspaces/${ws.id}/current-state-version`)).body.data;
    const rm = await terraform(server, dir, ['state', 'rm', 'terraform_data.example']);
    assert.equal(rm.code, 0, rm.output);
    const after = (await server.api.get(`/workspaces/${ws.id}/current-state-version`)).body.data;
    assert.equal(after.attributes.serial, before.attributes.serial + 1);
    assert.equal(after.attributes.lineage, before.attributes.lineage);
    assert.deepEqual(after.attributes.resources, []);
    assert.equal((await terraform(server, dir, ['state', 'list'])).stdout.trim(), '');
  });

  it('refuses a state of another lineage from state push -force with a clear 409, as the cloud backend sends force: false', async () => {
    const pulled = await terraform(server, dir, ['state', 'pull']);
    assert.equal(pulled.code, 0, pulled.output);
    const doc = JSON.parse(pulled.stdout);
    const before = (await server.api.get(`/workspaces/${ws.id}/current-state-version`)).body.data;
    doc.lineage = '00000000-0000-0000-0000-000000000001';
    fs.writeFileSync(path.join(dir, 'other.tfstate'), JSON.stringify(doc, null, 2));

    // Without -force the CLI refuses by itself.
    const refused = await terraform(server, dir, ['state', 'push', 'other.tfstate']);
    assert.notEqual(refused.code, 0, refused.output);
    assert.match(refused.output, /lineage/);

    // terraform 1.11's cloud backend resets its force flag in WriteState, so -force arrives as
    // "force": false and the lineage rule applies; nothing changes on the server.
    const forced = await terraform(server, dir, ['state', 'push', '-force', 'other.tfstate']);
    assert.notEqual(forced.code, 0, forced.output);
    assert.match(forced.output, /lineage "00000000-0000-0000-0000-000000000001" differs from the lineage "[^"]+" of the current state version/);
    assert.equal((await server.api.get(`/workspaces/${ws.id}/current-state-version`)).body.data.id, before.id);

    // After a failed upload the CLI leaves the workspace locked on purpose; force-unlock frees it.
    assert.equal((await server.api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, true);
    const unlock = await terraform(server, dir, ['force-unlock', '-force', `${org}/local-state`]);
    assert.equal(unlock.code, 0, unlock.output);
    assert.equal((await server.api.get(`/workspaces/${ws.id}`)).body.data.attributes.locked, false);
  });
});
