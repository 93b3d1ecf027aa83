// What a health assessment's refresh-only plan says drifted, read from its JSON rendering
// (terraform show -json). Two kinds of drift count:
// - resources whose real-world object differs from the state (resource_drift, for real providers);
// Checks that fail on refresh (check blocks, conditions) are kept beside, as TFC's continuous
// validation reports them; they are not drift.
// - outputs whose value changed on refresh (output_changes), named "output.<name>": a value read
//   from outside (a data source, another workspace's state) moved behind the configuration's back.

interface Change {
  actions?: string[];
}

/** The parts of terraform show -json's plan read here (as documented; driftOf checks them all). */
export interface JsonPlan {
  resource_drift?: Array<{ address?: string; mode?: string; change?: Change }>;
  output_changes?: Record<string, Change>;
  prior_state?: { values?: { root_module?: StateModule } };
  checks?: Array<{ address?: { to_display?: string }; status?: string }>;
}

interface StateModule {
  resources?: Array<{ address?: string; mode?: string }>;
  child_modules?: StateModule[];
}

export interface Drift {
  /** Drifted resources' and outputs' addresses, sorted. */
  addresses: string[];
  /** Managed resources that drifted. */
  resourcesDrifted: number;
  /** Managed resources in the state that did not. */
  resourcesUndrifted: number;
  /** Checks (check blocks, pre- and postconditions) whose status is fail, by address. */
  failedChecks: string[];
}

// The JSON plan is read from a runner's upload: every field is checked, never trusted to have the
// shape above, so that an odd plan counts what it can instead of throwing.

/** Deeper module nesting than this is not followed (Terraform has no such limit; a stack does). */
const MAX_MODULE_DEPTH = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * A name fit to store (jsonb) and show: without NUL and other control characters or lone
 * surrogates, which PostgreSQL refuses or a terminal misreads.
 */
export function clean(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
}

function changed(c: unknown): boolean {
  const actions = isObject(c) ? arrayOf(c.actions) : [];
  return actions.length > 0 && !(actions.length === 1 && actions[0] === 'no-op');
}

function managedAddresses(m: unknown, into: Set<string>, depth: number): void {
  if (!isObject(m) || depth > MAX_MODULE_DEPTH) return;
  for (const r of arrayOf(m.resources)) {
    if (isObject(r) && r.mode === 'managed' && typeof r.address === 'string' && r.address) into.add(clean(r.address));
  }
  for (const child of arrayOf(m.child_modules)) managedAddresses(child, into, depth + 1);
}

export function driftOf(plan: unknown): Drift {
  const p = isObject(plan) ? plan : {};
  const resources = new Set<string>();
  for (const d of arrayOf(p.resource_drift)) {
    if (!isObject(d) || typeof d.address !== 'string' || !d.address) continue;
    if ((d.mode ?? 'managed') === 'managed' && changed(d.change)) resources.add(clean(d.address));
  }
  const outputs = Object.entries(isObject(p.output_changes) ? p.output_changes : {})
    .filter(([, c]) => changed(c))
    .map(([name]) => `output.${clean(name)}`);
  const managed = new Set<string>();
  const priorValues = isObject(p.prior_state) ? p.prior_state.values : undefined;
  managedAddresses(isObject(priorValues) ? priorValues.root_module : undefined, managed, 0);
  const undrifted = [...managed].filter((a) => !resources.has(a)).length;
  const failedChecks = arrayOf(p.checks)
    .filter((c): c is Record<string, unknown> => isObject(c) && c.status === 'fail')
    .map((c) => (isObject(c.address) && typeof c.address.to_display === 'string' ? clean(c.address.to_display) : 'a check'));
  return { addresses: [...[...resources].sort(), ...outputs.sort()], resourcesDrifted: resources.size, resourcesUndrifted: undrifted, failedChecks: failedChecks.sort() };
}
