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

function changed(c: Change | undefined): boolean {
  const actions = c?.actions ?? [];
  return actions.length > 0 && !(actions.length === 1 && actions[0] === 'no-op');
}

function managedAddresses(m: StateModule | undefined, into: Set<string>): void {
  if (!m) return;
  for (const r of m.resources ?? []) if (r.mode === 'managed' && r.address) into.add(r.address);
  for (const child of m.child_modules ?? []) managedAddresses(child, into);
}

export function driftOf(plan: JsonPlan): Drift {
  const resources = new Set<string>();
  for (const d of plan.resource_drift ?? []) {
    if (d.address && (d.mode ?? 'managed') === 'managed' && changed(d.change)) resources.add(d.address);
  }
  const outputs = Object.entries(plan.output_changes ?? {})
    .filter(([, c]) => changed(c))
    .map(([name]) => `output.${name}`);
  const managed = new Set<string>();
  managedAddresses(plan.prior_state?.values?.root_module, managed);
  const undrifted = [...managed].filter((a) => !resources.has(a)).length;
  const failedChecks = (plan.checks ?? []).filter((c) => c.status === 'fail').map((c) => c.address?.to_display ?? 'a check');
  return { addresses: [...[...resources].sort(), ...outputs.sort()], resourcesDrifted: resources.size, resourcesUndrifted: undrifted, failedChecks: failedChecks.sort() };
}
