// The real terraform CLI (on PATH) against otfd over TLS, around state: local execution with its
// lock and force-unlock, the state commands (pull, list, show, push, rm, mv, import), workspace
// commands with the cloud tags strategy and the remote backend's prefix, remote runs through the
// `remote` backend, the history of state versions with rollback, and the state protocol fed bad
// input.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { UrlSigner } from '../src/api/signing.js';
import { suite } from './hooks.js';
import type { Api, Json, Response } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, remoteBlock, startTerraform, terraform, workdir, type RunningTerraform, type TerraformResult } from './helpers/terraform.js';
import { waitFor } from './helpers/wait.js';

/** One terraform_data resource per name, each with the given input, and an output per resource. */
function resources(inputs: Record<string, string>): string {
  return Object.entries(inputs)
    .map(([name, input]) => `\n${fixture('named-resource-with-output', { name, input })}`)
    .join('');
}

/** The CLI's output as one line of prose: diagnostics' box drawing gone, line breaks and runs of spaces made one space. */
function prose(r: TerraformResult): string {
  return r.output.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ');
}

function md5(content: string | Buffer): string {
  return crypto.createHash('md5').update(content).digest('hex');
}

/** A state file as terraform 1.11 writes it, holding one terraform_data resource. */
function stateWithResource(serial: number, lineage: string, input: string): string {
  const doc = {
    version: 4,
    terraform_version: '1.11.4',
    serial,
    lineage,
    outputs: {},
    resources: [
      {
        mode: 'managed',
        type: 'terraform_data',
        name: 'x',
        provider: 'provider["terraform.io/builtin/terraform"]',
        instances: [
          {
            schema_version: 0,
            attributes: { id: crypto.randomUUID(), input: { value: input, type: 'string' }, output: { value: input, type: 'string' }, triggers_replace: null },
            sensitive_attributes: [],
          },
        ],
      },
    ],
    check_results: null,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The input of a terraform_data resource in a downloaded state file. */
function inputOf(state: Json, name: string): unknown {
  const resource = state.resources.find((r: Json) => r.name === name);
  assert.ok(resource, `no resource ${name} in the state: ${JSON.stringify(state.resources)}`);
  return resource.instances[0].attributes.input?.value;
}

describe('terraform state, locks and workspaces in otfd (real CLI over TLS)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 2 } });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  // terraform processes a test started itself; those a failed test left running are killed.
  const spawnedClis: RunningTerraform[] = [];
  afterEach(() => {
    for (const cli of spawnedClis.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    }
  });

  /** A work directory holding main.tf, initialised. */
  async function initialised(mainTf: string, opts: { env?: Record<string, string>; input?: string } = {}): Promise<string> {
    const dir = workdir({ 'main.tf': mainTf });
    const init = await terraform(server, dir, opts.input === undefined ? ['init', '-input=false'] : ['init'], opts);
    expectCode(init, 0);
    return dir;
  }

  async function workspace(name: string): Promise<Response> {
    return api.get(`/organizations/${org}/workspaces/${name}`);
  }

  async function workspaceId(name: string): Promise<string> {
    const res = await workspace(name);
    assert.equal(res.status, 200, res.text);
    return res.body.data.id;
  }

  async function locked(wsId: string): Promise<boolean> {
    const res = await api.get(`/workspaces/${wsId}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data.attributes.locked;
  }

  /** The workspace's current state version. */
  async function current(wsId: string): Promise<Json> {
    const res = await api.get(`/workspaces/${wsId}/current-state-version`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** The raw state file of a version. */
  async function download(version: Json): Promise<string> {
    const res = await api.get(`/state-versions/${version.id}/download`);
    assert.equal(res.status, 200, res.text);
    return res.text;
  }

  /** The workspace's state versions, newest first. */
  async function versions(wsId: string): Promise<Json[]> {
    const res = await api.get(`/workspaces/${wsId}/state-versions`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** The workspace's runs, newest first. */
  async function runs(wsId: string): Promise<Json[]> {
    const res = await api.get(`/workspaces/${wsId}/runs`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** "type.name" of each resource the version lists. */
  function addresses(version: Json): string[] {
    return version.attributes.resources.map((r: Json) => `${r.type}.${r.name}`).sort();
  }

  describe('a workspace in local execution mode', () => {
    const ws = 'local-exec';
    let wsId: string;
    let dir: string;

    before(async () => {
      wsId = (await createWorkspace(api, org, ws, { 'execution-mode': 'local' })).id;
      dir = await initialised(cloudBlock(server, org, `name = "${ws}"`) + resources({ greeting: 'one' }));
    });

    it('terraform apply runs locally, prints the outputs, and the server holds serial 1, then serial 2 after a change', async () => {
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.doesNotMatch(apply.output, /Running apply in HCP Terraform/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed\./);
      assert.match(apply.output, /Outputs:\s+greeting = "one"/, 'the local apply prints the outputs itself');
      assert.equal((await current(wsId)).attributes.serial, 1);
      assert.deepEqual(await runs(wsId), [], 'no run on the server');

      fs.writeFileSync(path.join(dir, 'main.tf'), cloudBlock(server, org, `name = "${ws}"`) + resources({ greeting: 'two' }));
      const again = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(again, 0);
      assert.match(again.output, /Apply complete! Resources: 0 added, 1 changed, 0 destroyed\./);
      assert.match(again.output, /greeting = "two"/);
      const v2 = await current(wsId);
      assert.equal(v2.attributes.serial, 2);
      assert.equal(inputOf(JSON.parse(await download(v2)), 'greeting'), 'two');
      assert.equal(await locked(wsId), false);
    });

    it('while one terraform apply holds the lock, a second one fails with the lock error naming org/workspace', async () => {
      const slow = `${resources({ greeting: 'two' })}\n${fixture('slow-apply', { command: 'sleep 8' })}`;
      fs.writeFileSync(path.join(dir, 'main.tf'), cloudBlock(server, org, `name = "${ws}"`) + slow);
      const other = await initialised(cloudBlock(server, org, `name = "${ws}"`) + slow);
      const before = await current(wsId);

      const first = startTerraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      spawnedClis.push(first);
      await waitFor('the first apply to lock the workspace', () => locked(wsId));
      const second = await terraform(server, other, ['apply', '-auto-approve', '-input=false']);
      expectCode(second, 1);
      assert.match(second.output, /Error acquiring the state lock/);
      assert.match(prose(second), new RegExp(`workspace already locked \\(lock ID: "${org}/${ws}"\\)`));
      assert.doesNotMatch(second.output, /Apply complete/);

      const result = await first.result;
      expectCode(result, 0);
      assert.match(result.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed\./);
      assert.equal((await current(wsId)).attributes.serial, before.attributes.serial + 1, 'only the first apply wrote a state');
      assert.equal(await locked(wsId), false);
    });

    it('terraform force-unlock -force org/workspace releases a lock left behind by another caller; a wrong lock id is refused', async () => {
      const token = await api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
      assert.equal(token.status, 201, token.text);
      const other = api.withToken(token.body.data.attributes.token);
      const lock = await other.post(`/workspaces/${wsId}/actions/lock`, { data: { type: '', attributes: { reason: 'Locked by Terraform' } } });
      assert.equal(lock.status, 200, lock.text);

      const blocked = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(blocked, 1);
      assert.match(prose(blocked), new RegExp(`workspace already locked \\(lock ID: "${org}/${ws}"\\)`));

      const wrong = await terraform(server, dir, ['force-unlock', '-force', 'not-the-lock-id']);
      expectCode(wrong, 1);
      assert.match(prose(wrong), new RegExp(`lock ID "not-the-lock-id" does not match existing lock ID "${org}/${ws}"`));
      assert.equal(await locked(wsId), true, 'the wrong id released nothing');

      const unlock = await terraform(server, dir, ['force-unlock', '-force', `${org}/${ws}`]);
      expectCode(unlock, 0);
      assert.match(unlock.output, /Terraform state has been successfully unlocked!/);
      assert.equal(await locked(wsId), false);
      const plan = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(plan, 0);
      assert.match(plan.output, /No changes\./);
    });
  });

  describe('state commands against a workspace with state', () => {
    const ws = 'state-cmds';
    let wsId: string;
    let dir: string;
    let oldState: string;

    function mainTf(extra: Record<string, string> = {}): string {
      return cloudBlock(server, org, `name = "${ws}"`) + resources({ a: 'a3', b: 'b', ...extra });
    }

    before(async () => {
      wsId = (await createWorkspace(api, org, ws, { 'execution-mode': 'local' })).id;
      dir = workdir({ 'main.tf': cloudBlock(server, org, `name = "${ws}"`) + resources({ a: 'a1', b: 'b' }) });
      expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
      for (const input of ['a1', 'a2', 'a3']) {
        fs.writeFileSync(path.join(dir, 'main.tf'), cloudBlock(server, org, `name = "${ws}"`) + resources({ a: input, b: 'b' }));
        expectCode(await terraform(server, dir, ['apply', '-auto-approve', '-input=false']), 0);
      }
      assert.equal((await current(wsId)).attributes.serial, 3);
    });

    it('terraform state pull prints the current state byte for byte; state list and state show read it', async () => {
      const pull = await terraform(server, dir, ['state', 'pull']);
      expectCode(pull, 0);
      assert.equal(pull.stdout, `${await download(await current(wsId))}\n`);

      const list = await terraform(server, dir, ['state', 'list']);
      expectCode(list, 0);
      assert.equal(list.stdout, 'terraform_data.a\nterraform_data.b\n');

      const show = await terraform(server, dir, ['state', 'show', 'terraform_data.a']);
      expectCode(show, 0);
      assert.match(show.stdout, /# terraform_data\.a:\s+resource "terraform_data" "a" \{/);
      assert.match(show.stdout, /input\s+= "a3"/);
    });

    it('terraform state push of an older serial is refused by the CLI, and the current state stays', async () => {
      const before = await current(wsId);
      const v1 = (await versions(wsId)).find((v) => v.attributes.serial === 1);
      oldState = await download(v1);
      fs.writeFileSync(path.join(dir, 'old.tfstate'), oldState);
      const push = await terraform(server, dir, ['state', 'push', 'old.tfstate']);
      expectCode(push, 1);
      assert.match(push.output, /cannot import state with serial 1 over newer state with serial 3/);
      assert.equal((await current(wsId)).id, before.id);
      assert.equal(await locked(wsId), false);
    });

    it('with backend "remote", terraform state push -force of the older state is accepted as the pushed serial + 1', async () => {
      const remote = await initialised(remoteBlock(server, org, `name = "${ws}"`) + resources({ a: 'a3', b: 'b' }));
      fs.writeFileSync(path.join(remote, 'old.tfstate'), oldState);
      const push = await terraform(server, remote, ['state', 'push', '-force', 'old.tfstate']);
      expectCode(push, 0);
      const now = await current(wsId);
      assert.equal(now.attributes.serial, 2, 'serial 1 pushed, uploaded as 2: lower than the 3 it replaced');
      const state = JSON.parse(await download(now));
      assert.equal(state.lineage, JSON.parse(oldState).lineage);
      assert.equal(inputOf(state, 'a'), 'a1', 'the old content is current again');
      assert.equal(await locked(wsId), false);
      // The cloud block reads what the remote backend pushed.
      const show = await terraform(server, dir, ['state', 'show', 'terraform_data.a']);
      assert.match(show.stdout, /input\s+= "a1"/);
    });

    it('with the cloud block, terraform state push -force of another lineage is refused with the 409 naming both lineages', async () => {
      const before = await current(wsId);
      const doc = JSON.parse(await download(before));
      const lineage = crypto.randomUUID();
      doc.lineage = lineage;
      fs.writeFileSync(path.join(dir, 'other.tfstate'), JSON.stringify(doc, null, 2));
      const push = await terraform(server, dir, ['state', 'push', '-force', 'other.tfstate']);
      expectCode(push, 1);
      assert.match(push.output, new RegExp(`lineage "${lineage}" differs from the lineage "${before.attributes.lineage}" of the current state version`));
      const after = await current(wsId);
      assert.equal(after.id, before.id);
      assert.equal(await download(after), await download(before));

      // The CLI leaves the workspace locked after a failed upload; force-unlock frees it.
      assert.equal(await locked(wsId), true);
      expectCode(await terraform(server, dir, ['force-unlock', '-force', `${org}/${ws}`]), 0);
      assert.equal(await locked(wsId), false);
    });

    it('terraform state rm and state mv each store a new serial with the resources changed', async () => {
      const before = await current(wsId);
      assert.deepEqual(addresses(before), ['terraform_data.a', 'terraform_data.b']);

      const rm = await terraform(server, dir, ['state', 'rm', 'terraform_data.b']);
      expectCode(rm, 0);
      assert.match(rm.output, /Removed terraform_data\.b/);
      const removed = await current(wsId);
      assert.equal(removed.attributes.serial, before.attributes.serial + 1);
      assert.equal(removed.attributes.lineage, before.attributes.lineage);
      assert.deepEqual(addresses(removed), ['terraform_data.a']);

      const mv = await terraform(server, dir, ['state', 'mv', 'terraform_data.a', 'terraform_data.moved']);
      expectCode(mv, 0);
      assert.match(mv.output, /Move "terraform_data\.a" to "terraform_data\.moved"/);
      const moved = await current(wsId);
      assert.equal(moved.attributes.serial, removed.attributes.serial + 1);
      assert.deepEqual(addresses(moved), ['terraform_data.moved']);
      const list = await terraform(server, dir, ['state', 'list']);
      assert.equal(list.stdout, 'terraform_data.moved\n');
      assert.equal(await locked(wsId), false);
    });

    it('terraform import stores a new serial with the imported resource; an address outside the configuration fails as it would locally', async () => {
      fs.writeFileSync(path.join(dir, 'main.tf'), mainTf({ imported: 'x' }));
      const before = await current(wsId);
      const imported = await terraform(server, dir, ['import', '-input=false', 'terraform_data.imported', 'some-id']);
      expectCode(imported, 0);
      assert.match(imported.output, /Import successful!/);
      const after = await current(wsId);
      assert.equal(after.attributes.serial, before.attributes.serial + 1);
      assert.deepEqual(addresses(after), ['terraform_data.imported', 'terraform_data.moved']);
      const state = JSON.parse(await download(after));
      assert.equal(state.resources.find((r: Json) => r.name === 'imported').instances[0].attributes.id, 'some-id');

      const missing = await terraform(server, dir, ['import', '-input=false', 'terraform_data.nowhere', 'other-id']);
      expectCode(missing, 1);
      assert.match(missing.output, /resource address "terraform_data\.nowhere" does not exist in the configuration/);
      assert.equal((await current(wsId)).id, after.id);
      assert.equal(await locked(wsId), false);
    });
  });

  describe('terraform workspace commands', () => {
    it('with the cloud tags strategy: workspace new, list, select and delete of a workspace without resources', async () => {
      const dir = await initialised(cloudBlock(server, org, 'tags = ["round-trip"]'), { input: 'rt-one\n' });
      const created = await terraform(server, dir, ['workspace', 'new', 'rt-two']);
      expectCode(created, 0);
      assert.match(created.output, /Created and switched to workspace "rt-two"!/);
      const two = await workspace('rt-two');
      assert.equal(two.status, 200, two.text);
      assert.deepEqual(two.body.data.attributes['tag-names'], ['round-trip']);

      const list = await terraform(server, dir, ['workspace', 'list']);
      expectCode(list, 0);
      assert.equal(list.stdout, '  rt-one\n* rt-two\n\n');

      const select = await terraform(server, dir, ['workspace', 'select', 'rt-one']);
      expectCode(select, 0);
      assert.match(select.output, /Switched to workspace "rt-one"\./);
      assert.equal((await terraform(server, dir, ['workspace', 'show'])).stdout, 'rt-one\n');

      const deleted = await terraform(server, dir, ['workspace', 'delete', 'rt-two']);
      expectCode(deleted, 0);
      assert.match(deleted.output, /Deleted workspace "rt-two"!/);
      assert.equal((await workspace('rt-two')).status, 404);
      assert.equal((await terraform(server, dir, ['workspace', 'list'])).stdout, '* rt-one\n\n');
    });

    it('with backend "remote" and a prefix: workspace new, list, select and delete', async () => {
      await createWorkspace(api, org, 'pfx-one');
      const dir = await initialised(remoteBlock(server, org, 'prefix = "pfx-"'), { env: { TF_WORKSPACE: 'one' } });
      const created = await terraform(server, dir, ['workspace', 'new', 'two']);
      expectCode(created, 0);
      assert.equal((await workspace('pfx-two')).status, 200, 'the prefix is part of the name');

      const list = await terraform(server, dir, ['workspace', 'list']);
      assert.equal(list.stdout, '  one\n* two\n\n');
      expectCode(await terraform(server, dir, ['workspace', 'select', 'one']), 0);
      assert.equal((await terraform(server, dir, ['workspace', 'show'])).stdout, 'one\n');

      const deleted = await terraform(server, dir, ['workspace', 'delete', 'two']);
      expectCode(deleted, 0);
      assert.match(deleted.output, /Deleted workspace "two"!/);
      assert.equal((await workspace('pfx-two')).status, 404);
      assert.equal((await workspace('pfx-one')).status, 200);
      assert.equal((await terraform(server, dir, ['workspace', 'list'])).stdout, '* one\n\n');
    });

    describe('a tagged workspace whose state manages resources', () => {
      let dir: string;

      before(async () => {
        dir = await initialised(cloudBlock(server, org, 'tags = ["full"]'), { input: 'full-empty\n' });
        expectCode(await terraform(server, dir, ['workspace', 'new', 'full-managed']), 0);
        fs.writeFileSync(path.join(dir, 'managed.tfstate'), stateWithResource(1, crypto.randomUUID(), 'kept'));
        expectCode(await terraform(server, dir, ['state', 'push', 'managed.tfstate']), 0);
        expectCode(await terraform(server, dir, ['workspace', 'select', 'full-empty']), 0);
      });

      it('TF_WORKSPACE selects the workspace', async () => {
        const env = { TF_WORKSPACE: 'full-managed' };
        assert.equal((await terraform(server, dir, ['workspace', 'show'], { env })).stdout, 'full-managed\n');
        const list = await terraform(server, dir, ['state', 'list'], { env });
        expectCode(list, 0);
        assert.equal(list.stdout, 'terraform_data.x\n');
        const selected = await terraform(server, dir, ['state', 'list']);
        assert.doesNotMatch(selected.output, /terraform_data\.x/, 'without it, the selected workspace has no resources');
      });

      it('terraform workspace delete refuses it; -force deletes it with a plain DELETE', async () => {
        const wsId = await workspaceId('full-managed');
        const refused = await terraform(server, dir, ['workspace', 'delete', 'full-managed']);
        expectCode(refused, 1);
        assert.match(prose(refused), /Error: Workspace is not empty Workspace "full-managed" is currently tracking the following resource instances: - terraform_data\.x /);
        assert.equal((await workspace('full-managed')).status, 200, 'the workspace is still there');
        assert.equal(await locked(wsId), false, 'and unlocked again');

        // What the CLI would send without -force, had its own check passed: the server refuses too.
        assertError(await api.post(`/organizations/${org}/workspaces/full-managed/actions/safe-delete`), 409, /not safe to delete: its state still manages resources/);
        assert.equal((await workspace('full-managed')).status, 200);

        // -force skips the CLI's check and deletes with DELETE, not safe-delete (terraform's State.Delete).
        const forced = await terraform(server, dir, ['workspace', 'delete', '-force', 'full-managed']);
        expectCode(forced, 0);
        assert.match(forced.output, /Deleted workspace "full-managed"!/);
        assert.equal((await workspace('full-managed')).status, 404);
      });

      it('terraform workspace delete deletes a workspace whose state is empty', async () => {
        expectCode(await terraform(server, dir, ['workspace', 'new', 'full-emptied']), 0);
        fs.writeFileSync(path.join(dir, 'empty.tfstate'), JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 1, lineage: crypto.randomUUID(), outputs: {}, resources: [] }));
        expectCode(await terraform(server, dir, ['state', 'push', 'empty.tfstate']), 0);
        const wsId = await workspaceId('full-emptied');
        assert.deepEqual((await current(wsId)).attributes.resources, []);
        expectCode(await terraform(server, dir, ['workspace', 'select', 'full-empty']), 0);
        const deleted = await terraform(server, dir, ['workspace', 'delete', 'full-emptied']);
        expectCode(deleted, 0);
        assert.match(deleted.output, /Deleted workspace "full-emptied"!/);
        assert.equal((await workspace('full-emptied')).status, 404);
      });
    });
  });

  describe('the remote backend with remote execution', () => {
    const ws = 'remote-runs';
    let dir: string;
    let wsId: string;

    function mainTf(input: string): string {
      return remoteBlock(server, org, `name = "${ws}"`) + fixture('greeting-variable', { input });
    }

    before(async () => {
      dir = await initialised(mainTf('one'));
      wsId = await workspaceId(ws);
      const attributes = (await api.get(`/workspaces/${wsId}`)).body.data.attributes;
      assert.equal(attributes['execution-mode'], 'remote');
      assert.equal(attributes['auto-apply'], false);
    });

    it('terraform plan runs on the server and streams the plan', async () => {
      const plan = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(plan, 0);
      assert.match(plan.output, /Running plan in the remote backend/);
      assert.match(plan.output, /\+ resource "terraform_data" "x"/);
      assert.match(plan.output, /Plan: 1 to add, 0 to change, 0 to destroy/);
      const [run] = await runs(wsId);
      assert.equal(run.attributes.status, 'planned_and_finished');
      assert.equal(run.attributes['plan-only'], true);
    });

    it('terraform apply -auto-approve, with the workspace auto-apply false: the CLI confirms the run itself', async () => {
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /Running apply in the remote backend/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
      assert.match(apply.output, /greeting = "one"/);
      const [run] = await runs(wsId);
      assert.equal(run.attributes.status, 'applied');
      assert.equal(run.attributes['auto-apply'], false, 'the remote backend sends no run-level auto-apply: it applied the run through actions/apply');
      assert.ok(run.attributes['status-timestamps']['confirmed-at'], 'the run was confirmed');
      assert.equal(inputOf(JSON.parse(await download(await current(wsId))), 'x'), 'one');
    });

    it('terraform apply, with the workspace auto-apply true: applies without asking or confirming', async () => {
      const patched = await api.patch(`/workspaces/${wsId}`, { data: { type: 'workspaces', attributes: { 'auto-apply': true } } });
      assert.equal(patched.status, 200, patched.text);
      fs.writeFileSync(path.join(dir, 'main.tf'), mainTf('two'));
      // With -input=false and no -auto-approve the CLI could not confirm: the server applies.
      const apply = await terraform(server, dir, ['apply', '-input=false']);
      expectCode(apply, 0);
      assert.doesNotMatch(apply.output, /Do you want to perform these actions/);
      assert.match(apply.output, /Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
      const [run] = await runs(wsId);
      assert.equal(run.attributes.status, 'applied');
      assert.equal(run.attributes['auto-apply'], true);
      assert.equal(inputOf(JSON.parse(await download(await current(wsId))), 'x'), 'two');
    });

    it('refuses -var with the CLI\'s own error, before any run', async () => {
      const before = (await runs(wsId)).length;
      const plan = await terraform(server, dir, ['plan', '-input=false', '-var', 'greeting=yo']);
      expectCode(plan, 1);
      assert.match(plan.output, /Run variables are currently not supported/);
      assert.equal((await runs(wsId)).length, before);
    });

    it('terraform state list and state pull read the state the runs stored', async () => {
      const list = await terraform(server, dir, ['state', 'list']);
      expectCode(list, 0);
      assert.equal(list.stdout, 'terraform_data.x\n');
      const pull = await terraform(server, dir, ['state', 'pull']);
      expectCode(pull, 0);
      assert.equal(pull.stdout, `${await download(await current(wsId))}\n`);
    });
  });

  describe('state history of remote runs', () => {
    const ws = 'history';
    let dir: string;
    let wsId: string;
    let applied: Json[];
    let listed: Json[];

    function mainTf(input: string): string {
      return cloudBlock(server, org, `name = "${ws}"`) + resources({ x: input });
    }

    before(async () => {
      dir = await initialised(mainTf('one'));
      wsId = await workspaceId(ws);
      for (const input of ['one', 'two', 'three']) {
        fs.writeFileSync(path.join(dir, 'main.tf'), mainTf(input));
        expectCode(await terraform(server, dir, ['apply', '-auto-approve', '-input=false']), 0);
      }
      applied = (await runs(wsId)).filter((r) => r.attributes.status === 'applied');
      assert.equal(applied.length, 3);
    });

    it('lists a version per apply, newest first, each tied to the run that stored it', async () => {
      listed = await versions(wsId);
      assert.ok(listed.length >= 3, `${listed.length} versions`);
      const serials = listed.map((v) => v.attributes.serial);
      assert.deepEqual(serials, [...serials].sort((a, b) => b - a), 'newest first');
      assert.deepEqual(
        listed.slice(0, 3).map((v) => v.relationships.run.data?.id),
        applied.map((r) => r.id),
      );
    });

    it('downloads the first version with the first input, and rolls back to it as a new current version', async () => {
      // The first apply's version. Its serial is 2, not 1: the run's terraform keeps a local state file,
      // whose manager bumps the serial at its intermediate write and again at the final one.
      const v1 = listed[2];
      const first = JSON.parse(await download(v1));
      assert.equal(first.serial, v1.attributes.serial);
      assert.equal(inputOf(first, 'x'), 'one');

      const max = listed[0].attributes.serial;
      const rollback = await api.post(`/state-versions/${v1.id}/actions/rollback`);
      assert.equal(rollback.status, 201, rollback.text);
      const now = await current(wsId);
      assert.equal(now.id, rollback.body.data.id);
      assert.equal(now.attributes.serial, max + 1);
      assert.deepEqual(now.attributes.resources, v1.attributes.resources);
      const restored = JSON.parse(await download(now));
      assert.deepEqual(restored.resources, first.resources);
      assert.equal(restored.lineage, first.lineage);

      const plan = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(plan, 0);
      assert.match(plan.output, /~ input\s+= "one" -> "three"/);
      assert.match(plan.output, /Plan: 0 to add, 1 to change, 0 to destroy/);
    });
  });

  describe('the state protocol fed bad input', () => {
    const ws = 'bad-input';
    let wsId: string;
    let lineage: string;

    /** The current version's id and state file, to compare before and after. */
    async function snapshot(): Promise<{ id: string; serial: number; state: string }> {
      const v = await current(wsId);
      return { id: v.id, serial: v.attributes.serial, state: await download(v) };
    }

    /** POSTs a state version as the CLI does; returns the response. */
    function create(attributes: Record<string, unknown>): Promise<Response> {
      return api.post(`/workspaces/${wsId}/state-versions`, { data: { type: 'state-versions', attributes: { force: false, ...attributes } } });
    }

    /** A pending version for content, created as the CLI creates it; returns its data. */
    async function pending(content: string, serial: number): Promise<Json> {
      const res = await create({ serial, lineage, md5: md5(content) });
      assert.equal(res.status, 201, res.text);
      return res.body.data;
    }

    /** A PUT to an upload URL as the CLI sends it: no bearer token. */
    function put(url: string, content: string | Buffer): Promise<Response> {
      return api.request('PUT', url, { token: null, raw: content, headers: { 'Content-Type': 'application/octet-stream' } });
    }

    before(async () => {
      wsId = (await createWorkspace(api, org, ws, { 'execution-mode': 'local' })).id;
      const dir = await initialised(cloudBlock(server, org, `name = "${ws}"`) + resources({ x: 'real' }));
      expectCode(await terraform(server, dir, ['apply', '-auto-approve', '-input=false']), 0);
      lineage = (await current(wsId)).attributes.lineage;
      // The rest of this describe writes state as the lock holder, as the CLI would.
      const lock = await api.post(`/workspaces/${wsId}/actions/lock`, { data: { type: '', attributes: { reason: 'Locked by Terraform' } } });
      assert.equal(lock.status, 200, lock.text);
    });
    after(async () => {
      // Uploads left pending keep a plain unlock waiting; nothing is uploading any more.
      await api.post(`/workspaces/${wsId}/actions/force-unlock`);
    });

    it('refuses a state file that is not JSON (422)', async () => {
      const before = await snapshot();
      const content = 'this is not a state file';
      const version = await pending(content, before.serial + 1);
      assertError(await put(version.attributes['hosted-state-upload-url'], content), 422, /not valid JSON/);
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses a state of another lineage without force (409)', async () => {
      const before = await snapshot();
      const other = crypto.randomUUID();
      const content = stateWithResource(before.serial + 1, other, 'intruder');
      assertError(await create({ serial: before.serial + 1, lineage: other, md5: md5(content) }), 409, new RegExp(`lineage "${other}" differs from the lineage "${lineage}"`));
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses an upload shorter than the md5 covers (422); an upload aborted mid-body changes nothing, and the URL still takes the whole file', async () => {
      const before = await snapshot();
      const content = stateWithResource(before.serial + 1, lineage, 'truncated');
      const version = await pending(content, before.serial + 1);
      const url = version.attributes['hosted-state-upload-url'];
      assertError(await put(url, content.slice(0, content.length / 2)), 422, /MD5/);
      assert.deepEqual(await snapshot(), before);

      // Promise the whole file, send half of it, and hang up.
      await new Promise<void>((resolve, reject) => {
        const req = https.request(url, { method: 'PUT', ca: fs.readFileSync(suite().certFile), headers: { 'Content-Length': String(Buffer.byteLength(content)) } });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.on('response', () => reject(new Error('the server answered a request whose body never ended')));
        req.write(content.slice(0, content.length / 2), () => req.destroy());
      });
      assert.deepEqual(await snapshot(), before);
      assert.equal((await api.get(`/state-versions/${version.id}`)).body.data.attributes.status, 'pending');

      const whole = await put(url, content);
      assert.equal(whole.status, 200, whole.text);
      const after = await snapshot();
      assert.equal(after.id, version.id);
      assert.equal(after.state, content);
    });

    it('refuses other content at an upload URL already used (409); the same content again is accepted', async () => {
      const base = await snapshot();
      const content = stateWithResource(base.serial + 1, lineage, 'first');
      const version = await pending(content, base.serial + 1);
      const url = version.attributes['hosted-state-upload-url'];
      assert.equal((await put(url, content)).status, 200);
      const before = await snapshot();
      assert.equal(before.id, version.id);

      assertError(await put(url, stateWithResource(base.serial + 1, lineage, 'second')), 409, /already finalized/);
      assert.deepEqual(await snapshot(), before);
      assert.equal((await put(url, content)).status, 200, 'a retry of the same upload');
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses an expired upload URL (404)', async () => {
      const before = await snapshot();
      const content = stateWithResource(before.serial + 1, lineage, 'late');
      const version = await pending(content, before.serial + 1);
      const expired = `${server.url}/_signed/state-versions/${version.id}/${new UrlSigner(server.secret).sign('state-versions', version.id, -60)}`;
      assertError(await put(expired, content), 404, /not valid, or it has expired/);
      assert.deepEqual(await snapshot(), before);
      assert.equal((await api.get(`/state-versions/${version.id}`)).body.data.attributes.status, 'pending');
    });
  });
});
