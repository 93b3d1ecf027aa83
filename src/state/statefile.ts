// The terraform state file (format version 4, written by terraform 0.12 and later): what the state
// domain reads from it, and rewriting its serial for rollbacks without touching anything else.
import crypto from 'node:crypto';
import { InvalidError } from '../errors.js';

/** A cty type as terraform writes it in JSON: "string", ["list","number"], ["object",{"a":"bool"}], ... */
export type CtyType = string | unknown[];

export interface StateOutput {
  name: string;
  value: unknown;
  /** null when the state file gives no type */
  type: CtyType | null;
  sensitive: boolean;
}

/** One resource of the state, as Terraform Cloud lists them. */
export interface ResourceSummary {
  name: string;
  /** the resource type; data sources carry a "data." prefix */
  type: string;
  /** "root", or the module address, e.g. module.network */
  module: string;
  provider: string;
  /** number of instances */
  count: number;
}

export interface ParsedState {
  formatVersion: number;
  serial: number;
  lineage: string;
  terraformVersion: string | null;
  outputs: StateOutput[];
  resources: ResourceSummary[];
  /** Instance objects of managed resources (current and deposed): what makes a state "have resources". */
  managedInstances: number;
}

export function md5Hex(bytes: Buffer): string {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCtyType(v: unknown): v is CtyType {
  return typeof v === 'string' || Array.isArray(v);
}

/** The bytes as UTF-8 text; 422 when they are not. */
function utf8(bytes: Buffer, what: string, pointer?: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidError(`${what} is not valid UTF-8 text`, { pointer });
  }
}

/** Parses JSON text that must be an object; 422 naming `what` otherwise. */
export function parseJsonObject(bytes: Buffer, what: string, pointer?: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8(bytes, what, pointer));
  } catch (err) {
    if (err instanceof InvalidError) throw err;
    throw new InvalidError(`${what} is not valid JSON: ${(err as Error).message}`, { pointer });
  }
  if (!isObject(value)) throw new InvalidError(`${what} must be a JSON object`, { pointer });
  return value;
}

function parseOutputs(raw: unknown, pointer?: string): StateOutput[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) throw new InvalidError('the state file\'s "outputs" must be an object', { pointer });
  return Object.entries(raw)
    .map(([name, o]): StateOutput => {
      if (!isObject(o) || !('value' in o)) {
        throw new InvalidError(`output "${name}" in the state file must be an object with a "value"`, { pointer });
      }
      if (o.sensitive !== undefined && typeof o.sensitive !== 'boolean') {
        throw new InvalidError(`output "${name}" in the state file has a "sensitive" that is not true or false`, { pointer });
      }
      return { name, value: o.value, type: isCtyType(o.type) ? o.type : null, sensitive: o.sensitive === true };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function parseResources(raw: unknown, pointer?: string): { resources: ResourceSummary[]; managedInstances: number } {
  if (raw === undefined || raw === null) return { resources: [], managedInstances: 0 };
  if (!Array.isArray(raw)) throw new InvalidError('the state file\'s "resources" must be an array', { pointer });
  const resources: ResourceSummary[] = [];
  let managedInstances = 0;
  raw.forEach((r: unknown, i) => {
    if (!isObject(r) || typeof r.mode !== 'string' || typeof r.type !== 'string' || typeof r.name !== 'string') {
      throw new InvalidError(`resource ${i} in the state file must be an object with a "mode", a "type" and a "name"`, { pointer });
    }
    if (r.instances !== undefined && !Array.isArray(r.instances)) {
      throw new InvalidError(`resource ${i} in the state file has "instances" that are not an array`, { pointer });
    }
    const count = Array.isArray(r.instances) ? r.instances.length : 0;
    if (r.mode === 'managed') managedInstances += count;
    resources.push({
      name: r.name,
      type: r.mode === 'data' ? `data.${r.type}` : r.type,
      module: typeof r.module === 'string' && r.module !== '' ? r.module : 'root',
      provider: typeof r.provider === 'string' ? r.provider : '',
      count,
    });
  });
  return { resources, managedInstances };
}

/** Reads a state file; a 422 names what is wrong with it. */
export function parseState(bytes: Buffer, pointer?: string): ParsedState {
  const doc = parseJsonObject(bytes, 'the state file', pointer);
  if (doc.version !== 4) {
    throw new InvalidError(
      `the state file has format version ${JSON.stringify(doc.version ?? null)}; only version 4 (terraform 0.12 and later) is supported`,
      { pointer },
    );
  }
  if (typeof doc.serial !== 'number' || !Number.isSafeInteger(doc.serial) || doc.serial < 0) {
    throw new InvalidError(`the state file's "serial" must be a whole number of at least 0, got ${JSON.stringify(doc.serial ?? null)}`, { pointer });
  }
  if (typeof doc.lineage !== 'string') {
    throw new InvalidError(`the state file's "lineage" must be a string, got ${JSON.stringify(doc.lineage ?? null)}`, { pointer });
  }
  return {
    formatVersion: doc.version,
    serial: doc.serial,
    lineage: doc.lineage,
    terraformVersion: typeof doc.terraform_version === 'string' ? doc.terraform_version : null,
    outputs: parseOutputs(doc.outputs, pointer),
    ...parseResources(doc.resources, pointer),
  };
}

/** The index of the quote that closes the JSON string opening at `open`. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new Error('unterminated string in JSON text');
}

/** Where the values of the top-level member `key` of a JSON object text start and end. */
function topLevelValues(text: string, key: string): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const close = closingQuote(text, i);
      let j = close + 1;
      while (/\s/.test(text[j] ?? '')) j++;
      // At depth 1 of the top-level object, a string followed by ":" is a member name.
      if (depth === 1 && text[j] === ':' && JSON.parse(text.slice(i, close + 1)) === key) {
        j++;
        while (/\s/.test(text[j] ?? '')) j++;
        let end = j;
        while (end < text.length && /[-+0-9.eE]/.test(text[end])) end++;
        spans.push({ start: j, end });
      }
      i = close;
    }
  }
  return spans;
}

/**
 * The state file with its top-level serial replaced and every other byte unchanged (re-encoding
 * the JSON could alter numbers beyond double precision and terraform's own formatting).
 */
export function withSerial(bytes: Buffer, serial: number): Buffer {
  let text = bytes.toString('utf8');
  const spans = topLevelValues(text, 'serial');
  if (spans.length === 0) throw new Error('the state file has no top-level serial');
  for (const { start, end } of spans.reverse()) text = text.slice(0, start) + String(serial) + text.slice(end);
  return Buffer.from(text, 'utf8');
}

/** Terraform Cloud's simple output type: string, number, bool, array or object. */
export function legacyType(type: CtyType | null, value: unknown): string {
  const kind = Array.isArray(type) ? type[0] : type;
  switch (kind) {
    case 'string':
    case 'number':
    case 'bool':
      return kind;
    case 'list':
    case 'set':
    case 'tuple':
      return 'array';
    case 'map':
    case 'object':
      return 'object';
  }
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'array';
  if (isObject(value)) return 'object';
  return 'string';
}

/**
 * Output types from the json-state-outputs attribute: {"name":{"sensitive":..,"value":..,"type":..}}.
 * Only the types are kept; outputs themselves come from the state file.
 */
export function parseJsonStateOutputs(bytes: Buffer, pointer: string): Record<string, CtyType> {
  const doc = parseJsonObject(bytes, 'json-state-outputs', pointer);
  const types: Record<string, CtyType> = {};
  for (const [name, o] of Object.entries(doc)) {
    if (!isObject(o)) throw new InvalidError(`json-state-outputs: output "${name}" must be an object`, { pointer });
    if (isCtyType(o.type)) types[name] = o.type;
  }
  return types;
}
