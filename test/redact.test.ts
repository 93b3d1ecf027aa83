// The redacted JSON plan keeps the shape of terraform's and loses every sensitive value: checked
// against a real `terraform show -json` of a plan with a sensitive variable, attribute and output.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mask, redactPlan } from '../src/runs/redact.js';
import type { Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { suite } from './hooks.js';

const SECRET = 'hunter2-very-secret';

describe('the redacted JSON plan', function () {
  this.timeout(60_000);

  it('masks values by their sensitivity masks, keeping everything else', () => {
    assert.deepEqual(mask({ a: 1, b: { c: 'x', d: 'y' }, e: [1, 2] }, { b: { d: true }, e: [false, true] }), { a: 1, b: { c: 'x', d: null }, e: [1, null] });
    assert.equal(mask('whole', true), null);
    assert.equal(mask('kept', false), 'kept');
  });

  it('hides sensitive variables, attributes and outputs of a real plan', () => {
    const dir = fs.mkdtempSync(path.join(suite().tmp, 'redact-'));
    fs.writeFileSync(
      path.join(dir, 'main.tf'),
      fixture('sensitive-variable', { secret: SECRET }),
    );
    const env = { PATH: process.env.PATH, HOME: dir, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' };
    execFileSync('terraform', ['init', '-input=false'], { cwd: dir, env, stdio: 'ignore' });
    execFileSync('terraform', ['plan', '-input=false', '-out=plan.tfplan'], { cwd: dir, env, stdio: 'ignore' });
    const raw = execFileSync('terraform', ['show', '-json', 'plan.tfplan'], { cwd: dir, env }).toString();
    assert.ok(raw.includes(SECRET), 'terraform itself writes the secret in clear');

    const redacted: Json = redactPlan(JSON.parse(raw));
    const text = JSON.stringify(redacted);
    assert.ok(!text.includes(SECRET), 'no trace of the secret');
    assert.equal(redacted.variables.region.value, 'eu');
    assert.equal(redacted.variables.password.value, null);
    const change = redacted.resource_changes.find((r: { address: string }) => r.address === 'terraform_data.db').change;
    assert.deepEqual(change.actions, ['create']);
    assert.equal(change.after.input.region, 'eu');
    assert.equal(change.after.input.password, null);
    assert.equal(redacted.output_changes.region.after, 'eu');
    assert.equal(redacted.output_changes.password.after, null);
    assert.equal(redacted.output_changes.password.after_sensitive, true, 'the masks stay, so renderers can say "(sensitive value)"');
  });
});
