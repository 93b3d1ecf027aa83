// The terraform state file (format version 4, written by terraform 0.12 and later): what the state
// domain reads from it, and rewriting its serial for rollbacks without touching anything else.
import buffer from 'node:buffer';
import crypto from 'node:crypto';
import { InvalidError } from '../errors.js';
import { JsonScan } from './scan.js';

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

/** One instance of a managed resource: what GET /workspaces/:id/resources lists. */
export interface ResourceInstance {
  /** Terraform's address of the instance, e.g. module.network.terraform_data.subnet[0] */
  address: string;
  name: string;
  /** "root", or the module address, e.g. module.network */
  module: string;
  /** the provider's source address without the default registry's host, e.g. hashicorp/null */
  provider: string;
  /** the resource type, e.g. terraform_data */
  type: string;
  /** the count index or for_each key; null for a resource of neither */
  nameIndex: string | null;
  /** MD5 of the instance's JSON in the state file, to tell a modified instance from an unchanged one */
  md5: string;
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
  /** The current instances of managed resources, in the order of the state file. */
  instances: ResourceInstance[];
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

/** Parses JSON text that must be an object; 422 naming `what` otherwise. */
export function parseJsonObject(bytes: Buffer, what: string, pointer?: string): Record<string, unknown> {
  if (!buffer.isUtf8(bytes)) throw new InvalidError(`${what} is not valid UTF-8 text`, { pointer });
  const value = parseJson(bytes, what, pointer);
  if (!isObject(value)) throw new InvalidError(`${what} must be a JSON object`, { pointer });
  return value;
}

function parseJson(bytes: Buffer, what: string, pointer?: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidError(`${what} is not valid JSON: ${(err as Error).message}`, { pointer });
  }
}

function parseOutput(name: string, o: unknown, pointer?: string): StateOutput {
  if (!isObject(o) || !('value' in o)) {
    throw new InvalidError(`output "${name}" in the state file must be an object with a "value"`, { pointer });
  }
  if (o.sensitive !== undefined && typeof o.sensitive !== 'boolean') {
    throw new InvalidError(`output "${name}" in the state file has a "sensitive" that is not true or false`, { pointer });
  }
  return { name, value: o.value, type: isCtyType(o.type) ? o.type : null, sensitive: o.sensitive === true };
}

/**
 * The largest output (its whole entry in the state file) whose value otfd keeps for the outputs
 * API. A larger one is checked as it goes by but never held: it is listed as sensitive, with no
 * value and no type, and its value stays in the state file, which is streamed whole to whoever
 * downloads it. Holding it would cost several copies of its size (bytes, text, parsed value,
 * database row), which is what let one huge output take gigabytes.
 */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** The members of a resource that its summary needs. */
const RESOURCE_MEMBERS = new Set(['mode', 'type', 'name', 'module', 'provider']);

/** The members of a resource instance that its address needs. */
const INSTANCE_MEMBERS = new Set(['index_key', 'deposed']);

/** An index key longer than this is no count index or for_each key terraform writes: it is let go. */
const MAX_INDEX_KEY_BYTES = 64 * 1024;

const DEFAULT_REGISTRY = 'registry.terraform.io/';

/**
 * A provider as Terraform Cloud lists it: provider["registry.terraform.io/hashicorp/null"] is
 * hashicorp/null (other hosts are kept), the 0.12 form provider.null is null, and an alias
 * (provider["..."].west) is left out.
 */
export function providerName(raw: string): string {
  const quoted = /provider\["([^"]+)"\]/.exec(raw);
  if (quoted) return quoted[1].startsWith(DEFAULT_REGISTRY) ? quoted[1].slice(DEFAULT_REGISTRY.length) : quoted[1];
  const legacy = /(?:^|\.)provider\.([^.]+)/.exec(raw);
  return legacy ? legacy[1] : raw;
}

/** The address of a resource instance, as terraform writes it: [0] for a count index, ["key"] for a for_each key. */
function instanceAddress(module: string, type: string, name: string, key: unknown): string {
  const base = `${module === 'root' ? '' : `${module}.`}${type}.${name}`;
  if (typeof key === 'number') return `${base}[${key}]`;
  if (typeof key === 'string') return `${base}[${JSON.stringify(key)}]`;
  return base;
}

/** One instance of a resource as it goes by: the few members its address needs, and the MD5 of its bytes. */
interface InstanceScan {
  scan: JsonScan;
  hash: crypto.Hash;
}

/** The top-level members of a state file that otfd reads; its resources and outputs are read one by one. */
const KEPT_MEMBERS = new Set(['version', 'serial', 'lineage', 'terraform_version']);

/**
 * Reads a state file chunk by chunk, so that it never has to be held whole, as bytes, text or
 * objects: only the top-level members otfd needs are kept, and each resource is parsed and
 * summarized on its own as it goes by. A 422 names what is wrong with the file.
 */
export class StateReader {
  private readonly scan: JsonScan;
  private readonly resources: ResourceSummary[] = [];
  /** The scanner of the resource being read. */
  private current: JsonScan | null = null;
  /** By name: a name given twice keeps its last entry, as JSON.parse would. */
  private readonly outputs = new Map<string, StateOutput>();
  private managedInstances = 0;
  private readonly instances: ResourceInstance[] = [];
  /** The instances of the resource being read: index key (absent: none) and MD5 of each current one. */
  private currentInstances: Array<{ key: unknown; md5: string }> = [];
  private instance: InstanceScan | null = null;

  constructor(private readonly pointer?: string) {
    this.scan = new JsonScan('the state file', {
      keep: KEPT_MEMBERS,
      elementsOf: 'resources',
      // Each resource is read by a scanner of its own as its bytes go by: a resource is summarized
      // from a few small members and the number of its instances, and never held whole.
      streamElements: {
        begin: () => {
          this.currentInstances = [];
          this.current = new JsonScan('the state file', {
            keep: RESOURCE_MEMBERS,
            elementsOf: 'instances',
            // Each instance, too, is read as it goes by: its index key, whether it is deposed, and a hash.
            streamElements: {
              begin: () => {
                this.instance = { scan: new JsonScan('the state file', { keep: INSTANCE_MEMBERS, maxMemberBytes: MAX_INDEX_KEY_BYTES, pointer }), hash: crypto.createHash('md5') };
              },
              data: (piece) => {
                this.instance!.scan.write(piece);
                this.instance!.hash.update(piece);
              },
              end: (index) => this.instanceEnd(index),
            },
            pointer,
          });
        },
        data: (piece) => this.current!.write(piece),
        end: (index) => {
          const scan = this.current!;
          this.current = null;
          this.resource(scan, index);
        },
      },
      membersOf: 'outputs',
      maxMemberBytes: MAX_OUTPUT_BYTES,
      onMember: (name, raw) => {
        this.outputs.set(name, raw === null ? { name, value: null, type: null, sensitive: true } : parseOutput(name, parseJson(raw, 'the state file', pointer), pointer));
      },
      pointer,
    });
  }

  write(chunk: Buffer): void {
    this.scan.write(chunk);
  }

  /** The state, once all of it has been written. */
  end(): ParsedState {
    const pointer = this.pointer;
    this.scan.end();
    const values = this.scan.values;
    const version = values.get('version');
    if (version !== 4) {
      throw new InvalidError(
        `the state file has format version ${JSON.stringify(version ?? null)}; only version 4 (terraform 0.12 and later) is supported`,
        { pointer },
      );
    }
    const serial = values.get('serial');
    if (typeof serial !== 'number' || !Number.isSafeInteger(serial) || serial < 0) {
      throw new InvalidError(`the state file's "serial" must be a whole number of at least 0, got ${JSON.stringify(serial ?? null)}`, { pointer });
    }
    const lineage = values.get('lineage');
    if (typeof lineage !== 'string') {
      throw new InvalidError(`the state file's "lineage" must be a string, got ${JSON.stringify(lineage ?? null)}`, { pointer });
    }
    const resources = this.scan.members.get('resources');
    if (resources && resources.first !== 0x5b && resources.first !== 0x6e) {
      throw new InvalidError('the state file\'s "resources" must be an array', { pointer });
    }
    const outputs = this.scan.members.get('outputs');
    if (outputs && outputs.first !== 0x7b && outputs.first !== 0x6e) {
      throw new InvalidError('the state file\'s "outputs" must be an object', { pointer });
    }
    const terraformVersion = values.get('terraform_version');
    return {
      formatVersion: version,
      serial,
      lineage,
      terraformVersion: typeof terraformVersion === 'string' ? terraformVersion : null,
      outputs: [...this.outputs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      resources: this.resources,
      managedInstances: this.managedInstances,
      instances: this.instances,
    };
  }

  private instanceEnd(index: number): void {
    const { scan, hash } = this.instance!;
    this.instance = null;
    try {
      scan.end();
    } catch (err) {
      if (err instanceof InvalidError && /must be a JSON object/.test(err.message)) {
        throw new InvalidError(`instance ${index} of a resource in the state file must be an object`, { pointer: this.pointer });
      }
      throw err;
    }
    // A deposed object waits to be destroyed beside the current one, under the same address.
    if (scan.values.get('deposed') !== undefined) return;
    this.currentInstances.push({ key: scan.values.get('index_key'), md5: hash.digest('hex') });
  }

  private resource(scan: JsonScan, index: number): void {
    const invalid = () => new InvalidError(`resource ${index} in the state file must be an object with a "mode", a "type" and a "name"`, { pointer: this.pointer });
    try {
      scan.end();
    } catch (err) {
      // a resource's bytes are valid JSON (the outer scan checked them); only its shape can be wrong
      if (err instanceof InvalidError && /must be a JSON object/.test(err.message)) throw invalid();
      throw err;
    }
    const r = Object.fromEntries(scan.values);
    if (typeof r.mode !== 'string' || typeof r.type !== 'string' || typeof r.name !== 'string') throw invalid();
    const instances = scan.members.get('instances');
    if (instances && instances.first !== 0x5b) {
      throw new InvalidError(`resource ${index} in the state file has "instances" that are not an array`, { pointer: this.pointer });
    }
    const count = instances ? scan.elementCount : 0;
    const module = typeof r.module === 'string' && r.module !== '' ? r.module : 'root';
    const provider = typeof r.provider === 'string' ? r.provider : '';
    if (r.mode === 'managed') {
      this.managedInstances += count;
      for (const i of this.currentInstances) {
        const nameIndex = typeof i.key === 'number' || typeof i.key === 'string' ? String(i.key) : null;
        const address = instanceAddress(module, r.type, r.name, i.key);
        this.instances.push({ address, name: r.name, module, provider: providerName(provider), type: r.type, nameIndex, md5: i.md5 });
      }
    }
    this.currentInstances = [];
    this.resources.push({
      name: r.name,
      type: r.mode === 'data' ? `data.${r.type}` : r.type,
      module,
      provider,
      count,
    });
  }
}

/** Reads a whole state file at once (see StateReader). */
export function parseState(bytes: Buffer, pointer?: string): ParsedState {
  const reader = new StateReader(pointer);
  reader.write(bytes);
  return reader.end();
}

/**
 * The state file with its top-level serial replaced and every other byte unchanged (re-encoding
 * the JSON could alter numbers beyond double precision and terraform's own formatting).
 */
export function withSerial(bytes: Buffer, serial: number): Buffer {
  const scan = new JsonScan('the state file');
  scan.write(bytes);
  scan.end();
  const span = scan.members.get('serial');
  if (!span) throw new Error('the state file has no top-level serial');
  return Buffer.concat([bytes.subarray(0, span.start), Buffer.from(String(serial)), bytes.subarray(span.end)]);
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
