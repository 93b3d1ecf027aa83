// Which value of a variable a run gets, when several sources set the same key, as Terraform Cloud
// documents it ("Variables" → "Precedence", and "priority variable sets"), highest first:
//
//   1. variables of priority sets: they beat everything else, the run's own variables included
//      (-var on the CLI, the run's API variables);
//   2. the run's own variables;
//   3. the workspace's variables;
//   4. variables of sets applied to the workspace;
//   5. variables of sets applied to the workspace's project;
//   6. variables of global sets.
//
// Among several sets of the same level (and among priority sets, which are ranked the same way:
// workspace-scoped, then project-scoped, then global), the set whose name comes first in lexical
// order wins. A key is the pair (category, key): a terraform variable and an environment variable
// of the same name do not compete.
//
// Run variables beat the workspace's because the runner writes them in a -var-file read after the
// workspace's; so here they only have to be dropped where a priority set overrides them.

/** A variable of the workspace or of a set, with its value in clear. */
export interface MergeVariable {
  key: string;
  value: string;
  category: 'terraform' | 'env';
  hcl: boolean;
  sensitive: boolean;
}

/** How a set reaches the workspace, most specific first. */
export type SetScope = 'workspace' | 'project' | 'global';

export interface MergeSet {
  name: string;
  priority: boolean;
  scope: SetScope;
  variables: MergeVariable[];
}

const SCOPE_RANK: Record<SetScope, number> = { workspace: 0, project: 1, global: 2 };

/** Sets of one level in the order they win: most specific scope first, then by name. */
function ranked(sets: MergeSet[]): MergeSet[] {
  return [...sets].sort((a, b) => SCOPE_RANK[a.scope] - SCOPE_RANK[b.scope] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The variables of a run: one per (category, key), the winner by the precedence above; and the
 * run's own variables, less those a priority set overrides.
 */
export function mergeVariables<R extends { key: string }>(input: {
  workspace: MergeVariable[];
  sets: MergeSet[];
  run: R[];
}): { variables: MergeVariable[]; run: R[] } {
  const chosen = new Map<string, MergeVariable>();
  const offer = (v: MergeVariable) => {
    const id = `${v.category}\u0000${v.key}`;
    if (!chosen.has(id)) chosen.set(id, v);
  };
  const priority = ranked(input.sets.filter((s) => s.priority));
  for (const s of priority) s.variables.forEach(offer);
  const overridden = new Set([...chosen.values()].filter((v) => v.category === 'terraform').map((v) => v.key));
  input.workspace.forEach(offer);
  for (const s of ranked(input.sets.filter((s) => !s.priority))) s.variables.forEach(offer);
  return {
    variables: [...chosen.values()],
    run: input.run.filter((r) => !overridden.has(r.key)),
  };
}
