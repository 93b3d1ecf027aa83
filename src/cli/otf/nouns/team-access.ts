// otf team-access: what teams may do in a workspace (/team-workspaces): an access level (read,
// plan, write, admin) or custom permissions, one grant per team and workspace.
import { ACCESS_LEVELS, RUNS, SENTINEL_MOCKS, STATE_VERSIONS, VARIABLES } from '../../../auth/access.js';
import { relatedId, type Client, type Resource } from '../client.js';
import { CliError, UsageError, type FlagSpec, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { parseWorkspaceName, resolveTeams, resolveWorkspace, seg } from '../resolve.js';

/** The permissions of custom access, as flags: the same names as the attributes of a grant. */
const CUSTOM_FLAGS: FlagSpec[] = [
  { name: 'runs', value: '<level>', choices: RUNS, help: 'custom access: what the team may do with runs' },
  { name: 'variables', value: '<level>', choices: VARIABLES, help: 'custom access: workspace variables' },
  { name: 'state-versions', value: '<level>', choices: STATE_VERSIONS, help: 'custom access: state versions' },
  { name: 'sentinel-mocks', value: '<level>', choices: SENTINEL_MOCKS, help: 'custom access: sentinel mocks' },
  { name: 'workspace-locking', help: 'custom access: may lock and unlock the workspace' },
  { name: 'run-tasks', help: 'custom access: may manage run tasks' },
];

function accessView(teamNames: Map<string, string>): View {
  const team: Field = {
    name: 'team',
    value: (r) => {
      const id = relatedId(r, 'team');
      return id ? (teamNames.get(id) ?? id) : null;
    },
  };
  return {
    columns: [team, attribute('access'), attribute('runs'), attribute('variables'), attribute('state-versions'), attribute('workspace-locking', 'locking'), idField],
    fields: [
      idField,
      team,
      { name: 'workspace', value: (r) => relatedId(r, 'workspace') },
      attribute('access'),
      ...CUSTOM_FLAGS.map((f) => attribute(f.name)),
    ],
  };
}

const grantsPath = (ws: Resource) => `/team-workspaces?filter%5Bworkspace%5D%5Bid%5D=${seg(ws.id)}`;

/** The grant of a team (by name) on a workspace ("<org>/<ws>"), null when it has none. */
async function grantOf(api: Client, wsName: string, teamName: string): Promise<{ ws: Resource; team: Resource; grant: Resource | null }> {
  const { organization } = parseWorkspaceName(wsName);
  const ws = await resolveWorkspace(api, wsName);
  const [team] = await resolveTeams(api, organization, [teamName]);
  const grants = await api.list(grantsPath(ws));
  return { ws, team, grant: grants.find((g) => relatedId(g, 'team') === team.id) ?? null };
}

/** The permissions of a custom grant, in one line: "runs: plan, variables: read, ...". */
function describeCustom(grant: Resource): string {
  return CUSTOM_FLAGS.map((f) => `${f.name}: ${String(grant.attributes[f.name])}`).join(', ');
}

export const teamAccess: Noun = {
  name: 'team-access',
  summary: 'access of teams to a workspace: a level (read, plan, write, admin) or custom permissions',
  commands: [
    {
      verb: 'list',
      summary: 'List the teams that have access to a workspace',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args, json }) {
        const { organization } = parseWorkspaceName(args[0]);
        const ws = await resolveWorkspace(api(), args[0]);
        const grants = await api().list(grantsPath(ws));
        const names = new Map<string, string>();
        if (!json && grants.length > 0) {
          // Teams the token cannot list keep their ids.
          const teams = await api()
            .list(`/organizations/${seg(organization)}/teams`)
            .catch(() => []);
          for (const t of teams) names.set(t.id, String(t.attributes.name));
        }
        out.list(grants, accessView(names));
      },
    },
    {
      verb: 'grant',
      summary: "Give a team (by name) an access level on a workspace, or change the team's access",
      args: [{ name: '<org>/<ws>' }, { name: '<team-name>' }, { name: '<read|plan|write|admin|custom>' }],
      flags: CUSTOM_FLAGS,
      details:
        'read: see runs, state and variables; plan: read and queue plans; write: apply runs, write variables and state, lock the workspace; admin: write and manage the workspace and its team access. custom: the permissions the flags give; a new grant has runs read and nothing else in the others, an existing one keeps those no flag names.',
      async run({ api, out, args, flags }) {
        const [wsName, teamName, level] = args;
        if (!(ACCESS_LEVELS as readonly string[]).includes(level)) throw new UsageError(`access "${level}" is not one of ${ACCESS_LEVELS.join(', ')}`);
        const given = CUSTOM_FLAGS.filter((f) => flags.has(f.name));
        if (level !== 'custom' && given.length > 0) {
          throw new UsageError(`${given.map((f) => `--${f.name}`).join(', ')} go${given.length === 1 ? 'es' : ''} with access custom, not ${level}`);
        }
        const attributes: Record<string, unknown> = { access: level };
        for (const f of given) attributes[f.name] = f.value ? flags.get(f.name) : flags.on(f.name);
        const { ws, team, grant } = await grantOf(api(), wsName, teamName);
        const saved = grant
          ? await api().one('PATCH', `/team-workspaces/${seg(grant.id)}`, { data: { type: 'team-workspaces', attributes } })
          : await api().one('POST', '/team-workspaces', {
              data: {
                type: 'team-workspaces',
                attributes,
                relationships: { team: { data: { type: 'teams', id: team.id } }, workspace: { data: { type: 'workspaces', id: ws.id } } },
              },
            });
        const custom = saved.attributes.access === 'custom' ? ` (${describeCustom(saved)})` : '';
        out.done(`team "${teamName}" now has ${String(saved.attributes.access)} access to workspace "${wsName}"${custom}`, saved);
      },
    },
    {
      verb: 'revoke',
      summary: 'Take away the access of a team (by name) to a workspace',
      args: [{ name: '<org>/<ws>' }, { name: '<team-name>' }],
      async run({ api, out, args }) {
        const [wsName, teamName] = args;
        const { grant } = await grantOf(api(), wsName, teamName);
        if (!grant) throw new CliError(`team "${teamName}" has no access to workspace "${wsName}"`);
        await api().request('DELETE', `/team-workspaces/${seg(grant.id)}`);
        out.done(`team "${teamName}" no longer has access to workspace "${wsName}"`, grant);
      },
    },
  ],
};
