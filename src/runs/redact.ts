// The redacted JSON plan (plans/:id/json-output-redacted): `terraform show -json` with every value
// that terraform marks sensitive replaced by null. terraform itself writes sensitive variables'
// values in clear under `variables`, and sensitive attributes and outputs in clear beside the
// masks that flag them.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value with every part flagged true in the sensitivity mask replaced by null. */
export function mask(value: Json | undefined, sensitive: Json | undefined): Json {
  if (value === undefined) return null;
  if (sensitive === true) return null;
  if (Array.isArray(value) && Array.isArray(sensitive)) return value.map((v, i) => mask(v, sensitive[i]));
  if (isObject(value) && isObject(sensitive)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = mask(v, sensitive[k]);
    return out;
  }
  return value;
}

function maskChange(change: Json | undefined): void {
  if (!isObject(change)) return;
  change.before = mask(change.before, change.before_sensitive);
  change.after = mask(change.after, change.after_sensitive);
}

/** Resources of a module (planned_values, prior_state) and of its children. */
function maskModule(module: Json | undefined): void {
  if (!isObject(module)) return;
  for (const r of Array.isArray(module.resources) ? module.resources : []) {
    if (isObject(r)) r.values = mask(r.values, r.sensitive_values);
  }
  for (const child of Array.isArray(module.child_modules) ? module.child_modules : []) maskModule(child);
}

function maskOutputs(outputs: Json | undefined): void {
  if (!isObject(outputs)) return;
  for (const o of Object.values(outputs)) {
    if (isObject(o) && o.sensitive === true) o.value = null;
  }
}

export function redactPlan(plan: JsonObject): JsonObject {
  const out = structuredClone(plan);
  const declared = isObject(out.configuration) && isObject(out.configuration.root_module) ? out.configuration.root_module.variables : undefined;
  if (isObject(declared)) {
    for (const [name, v] of Object.entries(declared)) {
      if (!isObject(v) || v.sensitive !== true) continue;
      delete v.default;
      if (isObject(out.variables) && isObject(out.variables[name])) (out.variables[name] as JsonObject).value = null;
    }
  }
  for (const list of [out.resource_changes, out.resource_drift]) {
    for (const rc of Array.isArray(list) ? list : []) if (isObject(rc)) maskChange(rc.change);
  }
  if (isObject(out.output_changes)) for (const c of Object.values(out.output_changes)) maskChange(c);
  if (isObject(out.planned_values)) {
    maskOutputs(out.planned_values.outputs);
    maskModule(out.planned_values.root_module);
  }
  if (isObject(out.prior_state) && isObject(out.prior_state.values)) {
    maskOutputs(out.prior_state.values.outputs);
    maskModule(out.prior_state.values.root_module);
  }
  return out;
}
