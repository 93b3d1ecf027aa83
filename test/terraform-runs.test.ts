// The real terraform CLI (on PATH) runs plans and applies remotely in otfd over TLS: the server
// agent executes them, the CLI streams their logs, answers prompts, cancels on Ctrl-C, and queues
// behind a run already holding the workspace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, startTerraform, terraform, workdir, type RunningTerraform } from './helpers/terraform.js';
import { sleep, waitFor } from './helpers/wait.js';

describe('terraform runs in otfd (real CLI over TLS, remote execution by the server agent)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 2 } });
    org = await createOrganization(server.api);
  });
  after(() => server.stop());

  // terraform processes a test started itself; those a failed test left running are killed.
  const spawnedClis: RunningTerraform[] = [];
  function spawned(cli: RunningTerraform): RunningTerraform {
    spawnedClis.push(cli);
    return cli;
  }
  afterEach(() => {
    for (const cli of spawnedClis.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    }
  });

  /** A work directory with a cloud block for the workspace and the given configuration, initialised. */
  async function initialised(workspace: string, configuration: string): Promise<string> {
    const dir = workdir({ 'main.tf': cloudBlock(server, org, `name = "${workspace}"`) + configuration });
    const init = await terraform(server, dir, ['init', '-input=false']);
    expectCode(init, 0);
    return dir;
  }

  async function workspaceId(name: string): Promise<string> {
    const res = await server.api.get(`/organizations/${org}/workspaces/${name}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data.id;
  }

  /** The workspace's runs, newest first. */
  async function runs(wsId: string): Promise<Json[]> {
    const res = await server.api.get(`/workspaces/${wsId}/runs`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  async function run(id: string): Promise<Json> {
    const res = await server.api.get(`/runs/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** The workspace's current state, as terraform wrote it. */
  async function currentState(wsId: string): Promise<Json> {
    const current = await server.api.get(`/workspaces/${wsId}/current-state-version`);
    assert.equal(current.status, 200, current.text);
    const download = await server.api.get(current.body.data.attributes['hosted-state-download-url']);
    assert.equal(download.status, 200, download.text);
    return JSON.parse(download.text);
  }

  async function locked(wsId: string): Promise<boolean> {
    return (await server.api.get(`/workspaces/${wsId}`)).body.data.attributes.locked;
  }

  /** Describes a run for assertion messages. */
  function describeRun(r: Json): string {
    return `${r.id} ${r.attributes.status}${r.attributes['error-message'] ? ` (${r.attributes['error-message']})` : ''}`;
  }

  describe('one workspace through its life: apply, output, plan, prompts, replace, refresh-only, destroy', () => {
    const ws = 'life';
    let dir: string;
    let wsId: string;

    function configuration(input: string, extra = ''): string {
      return `${extra}\n${fixture('greeting-and-secret', { input })}`;
    }

    before(async () => {
      dir = await initialised(ws, configuration('one'));
      wsId = await workspaceId(ws);
    });

    it('terraform apply -auto-approve creates the resource, streams the outputs and stores the state', async () => {
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /Running apply in HCP Terraform/);
      assert.match(apply.output, /\+ resource "terraform_data" "x"/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
      assert.match(apply.output, /greeting = "one"/);
      assert.match(apply.output, /secret = <sensitive>/);
      assert.doesNotMatch(apply.output, /s3cr3t-one/);

      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'applied', describeRun(latest));
      assert.equal(latest.attributes['auto-apply'], true);
      const current = await server.api.get(`/workspaces/${wsId}/current-state-version`);
      assert.equal(current.status, 200, current.text);
      const state = await currentState(wsId);
      assert.deepEqual(
        state.resources.map((r: Json) => `${r.type}.${r.name}`),
        ['terraform_data.x'],
      );
      assert.equal(await locked(wsId), false, 'the run released the workspace');
    });

    it('terraform output shows the outputs, the sensitive one hidden unless asked for with -raw', async () => {
      const all = await terraform(server, dir, ['output']);
      expectCode(all, 0);
      assert.match(all.stdout, /^greeting = "one"$/m);
      assert.match(all.stdout, /^secret = <sensitive>$/m);
      const raw = await terraform(server, dir, ['output', '-raw', 'secret']);
      expectCode(raw, 0);
      assert.equal(raw.stdout, 's3cr3t-one');
    });

    it('a second terraform plan reports no changes, and -detailed-exitcode exits 0', async () => {
      const plan = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(plan, 0);
      assert.match(plan.output, /Running plan in HCP Terraform/);
      assert.match(plan.output, /No changes\. Your infrastructure matches the configuration\./);
      const detailed = await terraform(server, dir, ['plan', '-input=false', '-detailed-exitcode']);
      expectCode(detailed, 0);
      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'planned_and_finished', describeRun(latest));
      assert.equal(latest.attributes['plan-only'], true);
      assert.equal(latest.attributes['has-changes'], false);
    });

    it('terraform plan -detailed-exitcode exits 2 when the configuration changed', async () => {
      fs.writeFileSync(path.join(dir, 'main.tf'), cloudBlock(server, org, `name = "${ws}"`) + configuration('two'));
      const plan = await terraform(server, dir, ['plan', '-input=false', '-detailed-exitcode']);
      expectCode(plan, 2);
      assert.match(plan.output, /~ input\s+= "one" -> "two"/);
      assert.match(plan.output, /Plan: 0 to add, 1 to change, 0 to destroy/);
    });

    it('terraform apply answered "no" discards the run and changes nothing', async () => {
      const apply = await terraform(server, dir, ['apply'], { input: 'no\n' });
      expectCode(apply, 1);
      assert.match(apply.output, /Do you want to perform these actions in workspace "life"\?/);
      assert.match(apply.output, /Apply discarded\./);
      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'discarded', describeRun(latest));
      assert.equal(latest.attributes['auto-apply'], false);
      const out = await terraform(server, dir, ['output', '-raw', 'greeting']);
      assert.equal(out.stdout, 'one', 'the state is unchanged');
      assert.equal(await locked(wsId), false);
    });

    it('terraform apply answered "yes" applies', async () => {
      const apply = await terraform(server, dir, ['apply'], { input: 'yes\n' });
      expectCode(apply, 0);
      assert.match(apply.output, /Do you want to perform these actions in workspace "life"\?/);
      assert.match(apply.output, /Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
      assert.match(apply.output, /greeting = "two"/);
      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'applied', describeRun(latest));
      const out = await terraform(server, dir, ['output', '-raw', 'greeting']);
      assert.equal(out.stdout, 'two');
    });

    it('terraform apply -replace replaces the resource', async () => {
      const before = (await currentState(wsId)).resources[0].instances[0].attributes.id;
      const apply = await terraform(server, dir, ['apply', '-replace=terraform_data.x', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /terraform_data\.x will be replaced, as requested/);
      assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'applied', describeRun(latest));
      assert.deepEqual(latest.attributes['replace-addrs'], ['terraform_data.x']);
      const after = (await currentState(wsId)).resources[0].instances[0].attributes.id;
      assert.notEqual(after, before, 'a new resource took the place of the old one');
    });

    it('terraform plan -refresh-only and apply -refresh-only -auto-approve save new outputs without touching the resource', async () => {
      const before = (await currentState(wsId)).resources[0].instances[0].attributes;
      // A new output is all a refresh-only run may change here (terraform_data never drifts).
      fs.writeFileSync(path.join(dir, 'main.tf'), cloudBlock(server, org, `name = "${ws}"`) + configuration('two', 'output "extra" {\n  value = "more"\n}\n'));
      const plan = await terraform(server, dir, ['plan', '-refresh-only', '-input=false']);
      expectCode(plan, 0);
      assert.match(plan.output, /\+ extra\s+= "more"/);
      assert.match(plan.output, /You can apply this plan to save these new output values to the Terraform\s+state, without changing any real infrastructure\./);
      assert.doesNotMatch(plan.output, /Plan: \d+ to add/);
      const [planned] = await runs(wsId);
      assert.equal(planned.attributes['refresh-only'], true);
      assert.equal(planned.attributes.status, 'planned_and_finished', describeRun(planned));
      assert.equal((await terraform(server, dir, ['output', 'extra'])).code, 1, 'a plan stores nothing');

      const apply = await terraform(server, dir, ['apply', '-refresh-only', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /\+ extra\s+= "more"/);
      assert.match(apply.output, /Apply complete! Resources: 0 added, 0 changed, 0 destroyed/);
      const [applied] = await runs(wsId);
      assert.notEqual(applied.id, planned.id);
      assert.equal(applied.attributes['refresh-only'], true);
      assert.equal(applied.attributes.status, 'applied', describeRun(applied));
      const extra = await terraform(server, dir, ['output', '-raw', 'extra']);
      expectCode(extra, 0);
      assert.equal(extra.stdout, 'more');
      assert.deepEqual((await currentState(wsId)).resources[0].instances[0].attributes, before, 'the resource is untouched');
      assert.equal(await locked(wsId), false);
    });

    it('terraform destroy -auto-approve empties the state', async () => {
      const destroy = await terraform(server, dir, ['destroy', '-auto-approve', '-input=false']);
      expectCode(destroy, 0);
      assert.match(destroy.output, /- resource "terraform_data" "x"/);
      // The server applies a saved destroy plan, so its log says what TFC's does.
      assert.match(destroy.output, /Apply complete! Resources: 0 added, 0 changed, 1 destroyed/);
      const [latest] = await runs(wsId);
      assert.equal(latest.attributes.status, 'applied', describeRun(latest));
      assert.equal(latest.attributes['is-destroy'], true);
      const current = await server.api.get(`/workspaces/${wsId}/current-state-version`);
      assert.equal(current.status, 200, current.text);
      const download = await server.api.get(current.body.data.attributes['hosted-state-download-url']);
      assert.match(download.text, /"resources": \[\]/);
      const out = await terraform(server, dir, ['output']);
      assert.doesNotMatch(out.stdout, /greeting/);
    });
  });

  it('terraform apply -target creates only the targeted resource', async () => {
    const dir = await initialised('targets', fixture('two-resources'));
    const wsId = await workspaceId('targets');
    const apply = await terraform(server, dir, ['apply', '-target=terraform_data.a', '-auto-approve', '-input=false']);
    expectCode(apply, 0);
    assert.match(apply.output, /Resource targeting is in effect/);
    assert.match(apply.output, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
    assert.doesNotMatch(apply.output, /terraform_data\.b/);
    const [latest] = await runs(wsId);
    assert.deepEqual(latest.attributes['target-addrs'], ['terraform_data.a']);
    const state = await currentState(wsId);
    assert.deepEqual(
      state.resources.map((r: Json) => `${r.type}.${r.name}`),
      ['terraform_data.a'],
    );
  });

  describe('variables', () => {
    const ws = 'vars';
    const secret = `hush-${Date.now().toString(36)}`;
    let dir: string;
    let wsId: string;

    before(async () => {
      dir = await initialised(ws, fixture('cli-variables'));
      wsId = await workspaceId(ws);
    });

    it('-var greeting=yo changes the plan', async () => {
      const plain = await terraform(server, dir, ['plan', '-input=false']);
      expectCode(plain, 0);
      assert.match(plain.output, /\+ greeting = "hello"/);
      const plan = await terraform(server, dir, ['plan', '-input=false', '-var', 'greeting=yo']);
      expectCode(plan, 0);
      assert.match(plan.output, /\+ greeting = "yo"/);
      assert.doesNotMatch(plan.output, /"hello"/);
    });

    it('workspace variables (terraform, HCL, sensitive, env) reach the run as they would locally', async () => {
      const vars: Array<Record<string, unknown>> = [
        { key: 'greeting', value: 'from-the-workspace', category: 'terraform' },
        { key: 'names', value: '["ann", "bob"]', category: 'terraform', hcl: true },
        { key: 'password', value: secret, category: 'terraform', sensitive: true },
        { key: 'FOO', value: 'bar', category: 'env' },
        // Keys Terraform Cloud accepts that are no terraform name: they set nothing, and the run goes on.
        { key: '0b5c8a2e-7d1f-4a9e-9c3b-2f6d8e1a4b7c', value: 'unused', category: 'terraform' },
        { key: '1-not-a-name', value: 'unused', category: 'env' },
      ];
      for (const attributes of vars) {
        const res = await server.api.post(`/workspaces/${wsId}/vars`, { data: { type: 'vars', attributes } });
        assert.equal(res.status, 201, res.text);
      }
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
      expectCode(apply, 0);
      assert.match(apply.output, /\+ greeting = "from-the-workspace"/);
      assert.match(apply.output, /\+ names\s+= \[\s+\+ "ann",\s+\+ "bob",\s+\]/);
      assert.match(apply.output, /\(local-exec\): FOO=bar/);
      assert.match(apply.output, /\+ password = \(sensitive value\)/);
      assert.match(apply.output, /Apply complete! Resources: 1 added/);
      assert.doesNotMatch(apply.output, new RegExp(secret), 'the sensitive value is never printed');

      const outputs = await terraform(server, dir, ['output', '-json']);
      expectCode(outputs, 0);
      const values = JSON.parse(outputs.stdout);
      assert.equal(values.greeting.value, 'from-the-workspace');
      assert.deepEqual(values.names.value, ['ann', 'bob']);
      assert.equal(values.password.value, secret, 'the run used the sensitive value');
    });

    it('-var beats a workspace variable', async () => {
      const plan = await terraform(server, dir, ['plan', '-input=false', '-var', 'greeting=yo']);
      expectCode(plan, 0);
      assert.match(plan.output, /~ greeting = "from-the-workspace" -> "yo"/);
      assert.doesNotMatch(plan.output, new RegExp(secret));
    });
  });

  it('Ctrl-C during terraform apply -auto-approve cancels the run, and the workspace is unlocked', async () => {
    const ws = 'ctrl-c';
    const dir = await initialised(ws, fixture('slow-apply', { command: 'sleep 20' }));
    const wsId = await workspaceId(ws);
    const cli = spawned(startTerraform(server, dir, ['apply', '-auto-approve', '-input=false']));
    const started = Date.now();
    const applying = await waitFor('the run to be applying', async () => (await runs(wsId)).find((r) => r.attributes.status === 'applying'));
    await waitFor('the provisioner to start', async () => /\(local-exec\): Executing/.test(cli.output()));
    const interrupted = Date.now();
    cli.child.kill('SIGINT');
    const result = await cli.result;
    // terraform 1.11 reads the run before it cancels it and decides its exit code from that read
    // (the run is still applying then), so it exits 0 after a successful cancel whatever the server does.
    expectCode(result, 0);
    assert.match(result.output, /Interrupt received/);
    assert.match(result.output, /The remote operation was successfully cancelled\./);
    assert.doesNotMatch(result.output, /Do you want to cancel the remote operation\?/, 'with -auto-approve the CLI does not ask');
    const canceled = await waitFor(
      'the run to end canceled',
      async () => {
        const r = await run(applying.id);
        return ['canceled', 'errored', 'applied', 'force_canceled'].includes(r.attributes.status) ? r : null;
      },
      15_000,
    );
    assert.equal(canceled.attributes.status, 'canceled', describeRun(canceled));
    assert.ok(Date.now() - interrupted < 10_000, `the run stopped ${Date.now() - interrupted} ms after Ctrl-C, not after the 20 s sleep`);
    assert.ok(Date.now() - started < 20_000, 'the sleep was cut short');
    assert.notEqual(canceled.attributes['canceled-at'], null);
    const applyPhase = await server.api.get(`/applies/${canceled.relationships.apply.data.id}`);
    assert.equal(applyPhase.body.data.attributes.status, 'canceled', applyPhase.text);
    assert.equal(await locked(wsId), false, 'the canceled run released the workspace');
  });

  it('a second apply waits behind a running one and starts after it; a speculative plan runs meanwhile', async () => {
    const ws = 'queue';
    const configuration = (input: string) => fixture('slow-apply-with-input', { input, seconds: 15 });

    const first = await initialised(ws, configuration('first'));
    const second = await initialised(ws, configuration('second'));
    const third = await initialised(ws, configuration('second'));
    const wsId = await workspaceId(ws);

    const firstCli = spawned(startTerraform(server, first, ['apply', '-auto-approve', '-input=false']));
    const firstRun = await waitFor('the first run to be applying', async () => (await runs(wsId)).find((r) => r.attributes.status === 'applying'));

    const secondCli = spawned(startTerraform(server, second, ['apply', '-auto-approve', '-input=false']));
    const speculative = terraform(server, third, ['plan', '-input=false']);
    const secondRun = await waitFor('the second run to be created', async () =>
      (await runs(wsId)).find((r) => r.id !== firstRun.id && r.attributes['plan-only'] === false),
    );
    // Give the second run time to be admitted, were the queue wrong.
    await sleep(1500);
    assert.equal((await run(secondRun.id)).attributes.status, 'pending', 'the second run waits');
    assert.equal((await run(firstRun.id)).attributes.status, 'applying', 'while the first applies');

    const plan = await speculative;
    expectCode(plan, 0);
    // It plans against the current state, which the first run has not replaced yet.
    assert.match(plan.output, /Plan: 1 to add, 0 to change, 0 to destroy/);
    const afterPlan = await run(firstRun.id);
    assert.equal(afterPlan.attributes.status, 'applying', 'the speculative plan finished while the first run was still applying');
    assert.equal((await run(secondRun.id)).attributes.status, 'pending');

    const firstResult = await firstCli.result;
    expectCode(firstResult, 0);
    assert.match(firstResult.output, /Apply complete! Resources: 1 added/);
    const secondResult = await secondCli.result;
    expectCode(secondResult, 0);
    assert.match(secondResult.output, /Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);

    const a = await run(firstRun.id);
    const b = await run(secondRun.id);
    assert.equal(a.attributes.status, 'applied', describeRun(a));
    assert.equal(b.attributes.status, 'applied', describeRun(b));
    const appliedAt = Date.parse(a.attributes['status-timestamps']['applied-at']);
    const planningAt = Date.parse(b.attributes['status-timestamps']['planning-at']);
    assert.ok(planningAt >= appliedAt, `the second run planned at ${b.attributes['status-timestamps']['planning-at']}, before the first applied at ${a.attributes['status-timestamps']['applied-at']}`);
    assert.equal((await currentState(wsId)).resources[0].instances[0].attributes.input.value, 'second');
    assert.equal(await locked(wsId), false);
  });
});
