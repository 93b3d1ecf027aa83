// `npm install` on a fresh clone must leave package-lock.json as it is: npm rewrites the lock's
// root entry from package.json whenever the two disagree (a bin or a dependency added to one and
// not the other), and a clone whose install dirties the tree confuses every newcomer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Manifest = Record<string, unknown>;

const readJson = (file: string): Manifest => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Manifest;

/** Sorted keys, as npm writes them: the comparison is about content, not order. */
function sorted(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
}

describe('package-lock.json', () => {
  const manifest = readJson('package.json');
  const lock = readJson('package-lock.json');
  const root = (lock.packages as Record<string, Manifest>)[''];

  it('has a root entry that says what package.json says, so npm install has nothing to rewrite', () => {
    assert.equal(lock.name, manifest.name);
    assert.equal(lock.version, manifest.version);
    for (const field of ['name', 'version', 'license', 'bin', 'engines', 'dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      assert.deepEqual(sorted(root[field]), sorted(manifest[field]), `the lock's root "${field}" differs from package.json's`);
    }
  });

  it('locks every direct dependency', () => {
    const locked = lock.packages as Record<string, Manifest>;
    for (const name of Object.keys({ ...(manifest.dependencies as object), ...(manifest.devDependencies as object) })) {
      assert.ok(locked[`node_modules/${name}`]?.version, `${name} is not in package-lock.json`);
    }
  });
});
