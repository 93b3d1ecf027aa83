// Versions and version constraints as terraform writes them: "1.11.4", "~> 1.11.0",
// ">= 1.5, < 2.0". Enough to pick an engine binary; prereleases only match exactly.

export interface Version {
  parts: [number, number, number];
  prerelease: string;
  text: string;
}

export function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) return null;
  return { parts: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], prerelease: m[4] ?? '', text: text.trim().replace(/^v/, '') };
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a.parts[i] !== b.parts[i]) return a.parts[i] - b.parts[i];
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === '') return 1;
  if (b.prerelease === '') return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

interface Clause {
  op: '=' | '!=' | '>' | '>=' | '<' | '<=' | '~>';
  version: Version;
  /** How many numeric parts the constraint wrote: "~> 1.2" has 2, "~> 1.2.0" has 3. */
  precision: number;
}

function parseClause(text: string): Clause | null {
  const m = /^\s*(=|!=|>=|<=|>|<|~>)?\s*(v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?)\s*$/.exec(text);
  if (!m) return null;
  const version = parseVersion(m[2]);
  if (!version) return null;
  const precision = m[2].replace(/^v/, '').split('-')[0].split('.').length;
  return { op: (m[1] ?? '=') as Clause['op'], version, precision };
}

/** Null when the text is not a version or constraint. */
export function parseConstraint(text: string): Clause[] | null {
  const clauses = text.split(',').map(parseClause);
  return clauses.every((c): c is Clause => c !== null) ? clauses : null;
}

function matches(v: Version, c: Clause): boolean {
  const cmp = compareVersions(v, c.version);
  // A prerelease satisfies only a clause that names that very prerelease.
  if (v.prerelease && !(c.version.prerelease && cmp === 0 && (c.op === '=' || c.op === '>=' || c.op === '<=' || c.op === '~>'))) return false;
  switch (c.op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '~>': {
      if (cmp < 0) return false;
      // ~> 1.2.3 allows 1.2.x; ~> 1.2 allows 1.x
      const fixed = Math.max(1, c.precision - 1);
      for (let i = 0; i < fixed; i++) if (v.parts[i] !== c.version.parts[i]) return false;
      return true;
    }
  }
}

export function satisfies(version: string, constraint: string): boolean {
  const v = parseVersion(version);
  const clauses = parseConstraint(constraint);
  return v !== null && clauses !== null && clauses.every((c) => matches(v, c));
}

/** True when the text names one exact version rather than a range. */
export function isExactVersion(text: string): boolean {
  return parseVersion(text) !== null;
}

/** The highest of the versions that satisfies the constraint. */
export function highestSatisfying(versions: string[], constraint: string): string | null {
  const ok = versions
    .filter((v) => satisfies(v, constraint))
    .map((v) => parseVersion(v)!)
    .sort(compareVersions);
  return ok.length ? ok[ok.length - 1].text : null;
}
