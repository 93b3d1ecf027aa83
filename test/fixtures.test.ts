// The terraform configurations of fixtures/: only what terraform has built in (no test may
// download a provider or a module), and placeholders filled exactly, or the test is told why.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR, fixture, fixtureFiles } from './helpers/fixtures.js';

const folders = fs
  .readdirSync(FIXTURES_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('fixtures/', () => {
  it('holds one folder per configuration, each with a main.tf', () => {
    assert.ok(folders.length > 0, `configurations in ${FIXTURES_DIR}`);
    for (const name of folders) assert.ok(fs.existsSync(path.join(FIXTURES_DIR, name, 'main.tf')), `${name}/main.tf`);
  });

  it('uses built-in resources only: terraform_data, terraform_remote_state, no provider, no module from outside this machine', () => {
    for (const name of folders) {
      for (const [file, text] of Object.entries(fixtureFiles(name, placeholdersOf(name)))) {
        const where = `${name}/${file}`;
        for (const [, type] of text.matchAll(/^\s*resource\s+"([^"]+)"/gm)) assert.equal(type, 'terraform_data', `${where}: resource ${type}`);
        for (const [, type] of text.matchAll(/^\s*data\s+"([^"]+)"/gm)) assert.equal(type, 'terraform_remote_state', `${where}: data ${type}`);
        assert.doesNotMatch(text, /^\s*(provider|required_providers)\b/m, `${where} names no provider`);
        // Local, or the tests' own SSH git server on this machine (test/helpers/ssh-git-server.ts).
        for (const [, source] of text.matchAll(/^\s*source\s*=\s*"([^"]*)"/gm)) {
          assert.match(source, /^(\.\.?\/|git::ssh:\/\/git@127\.0\.0\.1:)/, `${where}: module source ${source} is local`);
        }
      }
    }
  });

  it('fills placeholders, and refuses one left without a value or a value nothing asks for', () => {
    assert.equal(fixture('slow-apply', { command: 'sleep 1' }).includes('command = "sleep 1"'), true);
    assert.throws(() => fixture('slow-apply'), /slow-apply\/main\.tf needs a value for \{\{command\}\}/);
    assert.throws(() => fixture('one-resource', { input: 'x' }), /fixture one-resource has no \{\{input\}\}/);
    assert.throws(() => fixture('no-such-configuration'), /no fixture no-such-configuration/);
  });
});

/** A value for every {{placeholder}} of a fixture, to read it whole. */
function placeholdersOf(name: string): Record<string, string> {
  const keys = new Set<string>();
  for (const file of fs.readdirSync(path.join(FIXTURES_DIR, name), { recursive: true, encoding: 'utf8' })) {
    const full = path.join(FIXTURES_DIR, name, file);
    if (fs.statSync(full).isFile()) for (const [, key] of fs.readFileSync(full, 'utf8').matchAll(/\{\{(\w+)\}\}/g)) keys.add(key);
  }
  return Object.fromEntries([...keys].map((k) => [k, 'placeholder']));
}
