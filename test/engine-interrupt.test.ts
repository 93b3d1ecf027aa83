// A cancel reaches the engine whenever it comes. Terraform loses an interrupt that arrives in its
// first moments (it stops an operation that has not begun, then runs it to its end), so the runner
// holds a cancel until the engine is under way (JobControl in src/agent/runner.ts). Here the real
// terraform applies a plan whose provisioner sleeps ten minutes, canceled at once and a little later.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobControl, runEngine } from '../src/agent/runner.js';
import { fixture } from './helpers/fixtures.js';
import { sleep } from './helpers/wait.js';

describe('canceling a running engine', function () {
  this.timeout(120_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const planFile = () => path.join(dir, 'plan.tfplan');

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-interrupt-'));
    fs.writeFileSync(path.join(dir, 'main.tf'), fixture('slow-apply', { command: 'sleep 600' }));
    // As the runner runs it: a CLI configuration of its own (an absent one is warned about, on the first line).
    fs.writeFileSync(path.join(dir, 'cli.tfrc'), '');
    env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: path.join(dir, 'cli.tfrc') };
    execFileSync('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, env, stdio: 'ignore' });
    execFileSync('terraform', ['plan', '-input=false', '-no-color', `-out=${planFile()}`], { cwd: dir, env, stdio: 'ignore' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const delayMs of [0, 50, 200, 1500]) {
    it(`an apply canceled ${delayMs} ms after it started stops, as Ctrl-C would stop it`, async () => {
      // Each apply starts from no state, as the plan expects.
      for (const f of fs.readdirSync(dir)) if (f.startsWith('terraform.tfstate')) fs.rmSync(path.join(dir, f));
      const control = new JobControl();
      const started = Date.now();
      const applying = runEngine({ name: 'terraform', path: 'terraform', version: '' }, ['apply', '-input=false', '-no-color', planFile()], { cwd: dir, env, control });
      await sleep(delayMs);
      control.cancel();
      const result = await applying;
      const ms = Date.now() - started;
      assert.match(result.output, /Interrupt received/, result.output);
      assert.notEqual(result.code, 0, 'an interrupted apply fails');
      // Well under the provisioner's ten minutes: the interrupt was heard, not lost.
      assert.ok(ms < 60_000, `the apply took ${ms} ms to stop`);
    });
  }

  it('a timeout after a held cancel interrupts once: a second SIGINT would end terraform without its state', async () => {
    for (const f of fs.readdirSync(dir)) if (f.startsWith('terraform.tfstate')) fs.rmSync(path.join(dir, f));
    const control = new JobControl();
    const applying = runEngine({ name: 'terraform', path: 'terraform', version: '' }, ['apply', '-input=false', '-no-color', planFile()], { cwd: dir, env, control });
    control.cancel(); // held: the engine has said nothing yet
    await sleep(50);
    control.timeOut(); // interrupts now, and kills FORCE_KILL_AFTER_MS later if need be
    const result = await applying;
    assert.doesNotMatch(result.output, /Two interrupts received/, result.output);
    assert.notEqual(result.code, 0);
  });
});
