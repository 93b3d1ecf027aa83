// The tfvars writer of the runner: the exact text it renders, what it refuses, and proof with the
// real terraform that every value round-trips and that the files take precedence as intended.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TfvarsError, renderRunVariables, renderTfvars } from '../src/agent/tfvars.js';
import { fixture } from './helpers/fixtures.js';

// The runner writes these two files and passes them with -var-file, the workspace's first.
const WORKSPACE_TFVARS_FILE = 'workspace.tfvars';
const RUN_TFVARS_FILE = 'run.tfvars';
const VAR_FILES = [`-var-file=${WORKSPACE_TFVARS_FILE}`, `-var-file=${RUN_TFVARS_FILE}`];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs terraform offline in dir with an empty CLI config and its own HOME. */
function terraform(dir: string, args: string[]): Promise<Result> {
  const home = path.join(dir, '.home');
  fs.mkdirSync(home, { recursive: true });
  const cliConfig = path.join(home, 'empty.tfrc');
  fs.writeFileSync(cliConfig, '');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TF_CLI_CONFIG_FILE: cliConfig, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
  return new Promise((resolve, reject) => {
    const child = spawn('terraform', [...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Applies the configuration in a fresh directory with the given files and returns `terraform output -json` values. */
async function applyAndReadOutputs(files: Record<string, string>, extraArgs: string[] = []): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otf-tfvars-'));
  try {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const init = await terraform(dir, ['init', '-input=false', '-no-color']);
    assert.equal(init.code, 0, `terraform init failed:\n${init.stdout}\n${init.stderr}`);
    const apply = await terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', ...extraArgs]);
    assert.equal(apply.code, 0, `terraform apply failed:\n${apply.stdout}\n${apply.stderr}\nfiles:\n${JSON.stringify(files, null, 2)}`);
    const output = await terraform(dir, ['output', '-json', '-no-color']);
    assert.equal(output.code, 0, output.stderr);
    const parsed = JSON.parse(output.stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v.value]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A configuration declaring each variable with its type and an output echoing it. */
function configOf(types: Record<string, string>): string {
  return Object.entries(types)
    .map(([name, type]) => fixture('variable-echoed', { name, type }))
    .join('\n');
}

const TRICKY = [
  'first line',
  'quotes "double" and \'single\'',
  'backslashes \\ \\\\ \\n (not a newline) \\" \\u0041',
  'templates ${x} ${ var.y } %{ if true }yes%{ endif } $${already} %%{already} $$${x} a$ b% {plain}',
  'tab\there, carriage return\r\nand CRLF',
  'controls \u0001 \u0007 \u001b[31m \u007f \u0085 nul\u0000',
  'unicode: ünïcødé ✓ 日本語 🦄 \u2028 \u2029 \u00a0 \ufeff',
  '    indented',
  '',
].join('\n');

describe('tfvars writer', function () {
  describe('rendering', function () {
    it('writes a plain value as a quoted HCL string with escapes', () => {
      assert.equal(renderTfvars([{ key: 'a', value: 'x "y" \\ z', hcl: false }]), 'a = "x \\"y\\" \\\\ z"\n');
      assert.equal(renderTfvars([{ key: 'a', value: 'l1\nl2\r\tend', hcl: false }]), 'a = "l1\\nl2\\r\\tend"\n');
      assert.equal(renderTfvars([{ key: 'a', value: '\u0000\u0001\u001f\u007f\u0085', hcl: false }]), 'a = "\\u0000\\u0001\\u001F\\u007F\\u0085"\n');
      assert.equal(renderTfvars([{ key: 'a', value: 'ü 🦄', hcl: false }]), 'a = "ü 🦄"\n');
      assert.equal(renderTfvars([{ key: 'a', value: '', hcl: false }]), 'a = ""\n');
    });

    it('doubles the template introducers ${ and %{, and only those', () => {
      assert.equal(renderTfvars([{ key: 'a', value: '${x} %{y} $x %x $ % {}', hcl: false }]), 'a = "$${x} %%{y} $x %x $ % {}"\n');
      assert.equal(renderTfvars([{ key: 'a', value: '$${x}', hcl: false }]), 'a = "$$${x}"\n');
    });

    it('writes an HCL value raw: on the same line when it has one line, in parentheses when it spans lines', () => {
      assert.equal(renderTfvars([{ key: 'l', value: '["a", "b"]', hcl: true }]), 'l = ["a", "b"]\n');
      assert.equal(renderTfvars([{ key: 'm', value: '{\n  x = 1\n}', hcl: true }]), 'm = (\n{\n  x = 1\n}\n)\n');
      assert.equal(renderTfvars([{ key: 'h', value: '<<EOT\nhi\nEOT', hcl: true }]), 'h = (\n<<EOT\nhi\nEOT\n)\n');
    });

    it('writes run variables raw, as the CLI encoded them', () => {
      assert.equal(renderRunVariables([{ key: 'greeting', value: '"yo"' }, { key: 'list', value: '["a"]' }]), 'greeting = "yo"\nlist = ["a"]\n');
    });

    it('renders nothing for no variables, and one line per variable in the given order', () => {
      assert.equal(renderTfvars([]), '');
      assert.equal(renderRunVariables([]), '');
      assert.equal(
        renderTfvars([
          { key: 'b', value: '1', hcl: false },
          { key: 'a-dash', value: '2', hcl: true },
        ]),
        'b = "1"\na-dash = 2\n',
      );
    });

    it('leaves out workspace variables whose key is no variable name (no configuration can declare them), and refuses such a run variable', () => {
      for (const key of ['a b', '1a', 'a=b', 'a\nb = 1', '', '0b5c8a2e-uuid']) {
        assert.equal(renderTfvars([{ key, value: 'x', hcl: false }, { key: 'ok', value: 'y', hcl: false }]), 'ok = "y"\n', JSON.stringify(key));
      }
      assert.throws(() => renderRunVariables([{ key: 'x.y', value: '1' }]), (err: Error) => err instanceof TfvarsError && /is not a valid terraform variable name/.test(err.message));
    });

    it('refuses a key given twice', () => {
      assert.throws(
        () =>
          renderTfvars([
            { key: 'a', value: '1', hcl: false },
            { key: 'a', value: '2', hcl: true },
          ]),
        /variable "a" is given twice/,
      );
    });

    it('refuses an empty HCL value and unpaired surrogates, without quoting the value', () => {
      assert.throws(() => renderTfvars([{ key: 'e', value: '  \n ', hcl: true }]), /variable "e" is HCL but its value is empty/);
      assert.throws(() => renderRunVariables([{ key: 'e', value: '' }]), /variable "e" is HCL but its value is empty/);
      assert.throws(
        () => renderTfvars([{ key: 's', value: 'secret\ud800', hcl: false }]),
        (err: Error) => err instanceof TfvarsError && /not valid Unicode/.test(err.message) && !err.message.includes('secret'),
      );
    });
  });

  describe('with terraform', function () {
    this.timeout(120_000);

    it('round-trips every value exactly through a real apply', async () => {
      const types = {
        s_plain: 'string',
        s_tricky: 'string',
        s_empty: 'string',
        s_space: 'string',
        s_number_like: 'string',
        n_from_string: 'number',
        n_hcl: 'number',
        b_from_string: 'bool',
        b_hcl: 'bool',
        l_hcl: 'list(string)',
        m_hcl: 'map(string)',
        o_hcl: 'object({ name = string, ports = list(number), nested = map(list(string)) })',
        heredoc: 'string',
        heredoc_indented: 'string',
        commented: 'list(number)',
        leading_newline: 'string',
        'with-dash': 'string',
      };
      const vars = [
        { key: 's_plain', value: 'hello', hcl: false },
        { key: 's_tricky', value: TRICKY, hcl: false },
        { key: 's_empty', value: '', hcl: false },
        { key: 's_space', value: '  \n  ', hcl: false },
        { key: 's_number_like', value: '007', hcl: false },
        { key: 'n_from_string', value: '42', hcl: false },
        { key: 'n_hcl', value: '3.25', hcl: true },
        { key: 'b_from_string', value: 'true', hcl: false },
        { key: 'b_hcl', value: 'false', hcl: true },
        { key: 'l_hcl', value: '["a", "b\\"c", "$${x}"]', hcl: true },
        { key: 'm_hcl', value: '{\n  x     = "1"\n  "y z" = "2"\n}\n', hcl: true },
        { key: 'o_hcl', value: '{\n  name = "svc" # a comment\n  ports = [80,\n    443]\n  nested = { a = ["p", "q"] }\n}', hcl: true },
        { key: 'heredoc', value: '<<EOT\nline one\n  "two" \\ $${not} %%{not}\nEOT', hcl: true },
        { key: 'heredoc_indented', value: '<<-EOT\n    a\n      b\n    EOT\n', hcl: true },
        { key: 'commented', value: '# a leading comment\n[1, 2] // trailing', hcl: true },
        { key: 'leading_newline', value: '\n\n  "x"  \n', hcl: true },
        { key: 'with-dash', value: 'dashed', hcl: false },
      ];
      const outputs = await applyAndReadOutputs({ 'main.tf': configOf(types), [WORKSPACE_TFVARS_FILE]: renderTfvars(vars) }, [`-var-file=${WORKSPACE_TFVARS_FILE}`]);
      assert.deepEqual(outputs, {
        s_plain: 'hello',
        s_tricky: TRICKY,
        s_empty: '',
        s_space: '  \n  ',
        s_number_like: '007',
        n_from_string: 42,
        n_hcl: 3.25,
        b_from_string: true,
        b_hcl: false,
        l_hcl: ['a', 'b"c', '${x}'],
        m_hcl: { x: '1', 'y z': '2' },
        o_hcl: { name: 'svc', ports: [80, 443], nested: { a: ['p', 'q'] } },
        heredoc: 'line one\n  "two" \\ ${not} %{not}\n',
        heredoc_indented: 'a\n  b\n',
        commented: [1, 2],
        leading_newline: 'x',
        'with-dash': 'dashed',
      });
    });

    it('round-trips run variables as the CLI encodes them, multi-line ones included', async () => {
      const types = { greeting: 'string', list: 'list(string)', map: 'map(any)', num: 'number', escaped: 'string' };
      const run = [
        { key: 'greeting', value: '"yo"' },
        { key: 'list', value: '["a", "b"]' },
        { key: 'map', value: '{\n  "a" = "b"\n  c   = 1\n}' },
        { key: 'num', value: '12' },
        { key: 'escaped', value: '"line\\n$${x} \\"q\\""' },
      ];
      const outputs = await applyAndReadOutputs({ 'main.tf': configOf(types), [RUN_TFVARS_FILE]: renderRunVariables(run) }, [`-var-file=${RUN_TFVARS_FILE}`]);
      assert.deepEqual(outputs, { greeting: 'yo', list: ['a', 'b'], map: { a: 'b', c: '1' }, num: 12, escaped: 'line\n${x} "q"' });
    });

    it('lets the run file override the workspace file, and both override terraform.tfvars and every .auto.tfvars', async () => {
      const config = configOf({ both: 'string', workspace_only: 'string', config_only: 'string' });
      const outputs = await applyAndReadOutputs(
        {
          'main.tf': config,
          'terraform.tfvars': 'both = "terraform.tfvars"\nworkspace_only = "terraform.tfvars"\nconfig_only = "terraform.tfvars"\n',
          'config.auto.tfvars': 'both = "config.auto.tfvars"\nworkspace_only = "config.auto.tfvars"\n',
          // sorts after any name the runner could give an .auto.tfvars file of its own
          'zzzzz.auto.tfvars': 'both = "zzzzz.auto.tfvars"\nworkspace_only = "zzzzz.auto.tfvars"\n',
          [WORKSPACE_TFVARS_FILE]: renderTfvars([
            { key: 'both', value: 'workspace', hcl: false },
            { key: 'workspace_only', value: 'workspace', hcl: false },
          ]),
          [RUN_TFVARS_FILE]: renderRunVariables([{ key: 'both', value: '"run"' }]),
        },
        VAR_FILES,
      );
      assert.deepEqual(outputs, { both: 'run', workspace_only: 'workspace', config_only: 'terraform.tfvars' });
    });

    it('only warns about a value for a variable the configuration does not declare', async () => {
      const outputs = await applyAndReadOutputs(
        {
          'main.tf': configOf({ declared: 'string' }),
          [WORKSPACE_TFVARS_FILE]: renderTfvars([
            { key: 'declared', value: 'yes', hcl: false },
            { key: 'undeclared', value: 'ignored', hcl: false },
          ]),
        },
        [`-var-file=${WORKSPACE_TFVARS_FILE}`],
      );
      assert.deepEqual(outputs, { declared: 'yes' });
    });
  });
});
