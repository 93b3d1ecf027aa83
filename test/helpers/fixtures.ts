// The terraform configurations of the tests live in fixtures/ at the top of the repository, one
// folder per configuration. A test reads a folder's files and fills in its {{placeholders}} (a
// pid file, a sleep, a server's hostname) with what it knows only when it runs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root: the nearest folder above this file holding package.json and fixtures/.
 * Tests run compiled from dist/test/, and fixtures/ is not copied there, so paths start from the root.
 */
export const REPO_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!(fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'fixtures')))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no folder with package.json and fixtures/ above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
})();

export const FIXTURES_DIR = path.join(REPO_ROOT, 'fixtures');

/** Values for a fixture's {{name}} placeholders, written into the text as they are. */
export type Substitutions = Record<string, string | number>;

/**
 * Every file of fixtures/<name>, by its path inside the folder ('main.tf', 'modules/m/main.tf'),
 * with each {{key}} replaced by substitutions[key]. A placeholder left without a value, or a value
 * no file asks for, is a mistake in the test and throws.
 */
export function fixtureFiles(name: string, substitutions: Substitutions = {}): Record<string, string> {
  const root = path.join(FIXTURES_DIR, name);
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`no fixture ${name} in ${FIXTURES_DIR}`);
  const used = new Set<string>();
  const files: Record<string, string> = {};
  for (const relative of listFiles(root)) {
    const text = fs.readFileSync(path.join(root, relative), 'utf8');
    files[relative] = text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
      if (!(key in substitutions)) throw new Error(`fixture ${name}/${relative} needs a value for {{${key}}}`);
      used.add(key);
      return String(substitutions[key]);
    });
  }
  const unused = Object.keys(substitutions).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`fixture ${name} has no {{${unused.join('}}, {{')}}}`);
  return files;
}

/** fixtures/<name>/main.tf, with its placeholders filled in. */
export function fixture(name: string, substitutions: Substitutions = {}): string {
  const files = fixtureFiles(name, substitutions);
  if (!('main.tf' in files)) throw new Error(`fixture ${name} has no main.tf`);
  return files['main.tf'];
}

/** Paths of the files under `root`, relative to it, with '/' between folders, sorted. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}
