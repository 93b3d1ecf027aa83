// otf workspaces: list, show, create, update, delete, lock, unlock, set-execution-mode, connect-vcs,
// disconnect-vcs.
import { relatedId, type Resource } from '../client.js';
import { UsageError, type FlagSpec, type Flags, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { parseWorkspaceName, resolveWorkspace, seg } from '../resolve.js';

export const EXECUTION_MODES = ['remote', 'local', 'agent'] as const;
export const ENGINES = ['terraform', 'tofu'] as const;

/** The settings `create` and `update` share, each a flag named as the API attribute it sets. */
const settingFlags: FlagSpec[] = [
  { name: 'execution-mode', value: '<mode>', help: 'where runs execute', choices: EXECUTION_MODES },
  { name: 'agent-pool', value: '<pool id>', help: 'the agent pool of a workspace in agent mode' },
  { name: 'engine', value: '<engine>', help: "the engine its runs use (otfd's --default-engine when not given at create)", choices: ENGINES },
  {
    name: 'terraform-version',
    value: '<version>',
    help: "the engine's version: a version, a constraint or latest (OpenTofu's version for tofu; a new engine without one gets otfd's default for it)",
  },
  { name: 'description', value: '<text>', help: 'what the workspace is for' },
  { name: 'working-directory', value: '<path>', help: 'where in the configuration runs execute' },
  { name: 'auto-apply', help: 'apply runs without confirmation (--auto-apply=false turns it off)' },
  { name: 'global-remote-state', help: 'let every workspace of the organization read its state outputs (=false turns it off)' },
];

/** The attributes the setting flags given name. */
function settingAttributes(flags: Flags): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  const mode = flags.get('execution-mode');
  if (flags.has('agent-pool') && mode !== undefined && mode !== 'agent') throw new UsageError(`--agent-pool goes with execution mode agent, not ${mode}`);
  if (mode !== undefined) attributes['execution-mode'] = mode;
  if (flags.has('agent-pool')) attributes['agent-pool-id'] = flags.get('agent-pool');
  for (const name of ['engine', 'terraform-version', 'description', 'working-directory']) if (flags.has(name)) attributes[name] = flags.get(name);
  for (const name of ['auto-apply', 'global-remote-state']) if (flags.has(name)) attributes[name] = flags.on(name);
  return attributes;
}

/** The workspace a command names: "<org>/<ws>" as its argument, or --organization with --workspace. */
const namedFlags: FlagSpec[] = [
  { name: 'organization', value: '<org>', help: 'the organization (with --workspace, instead of <org>/<ws>)' },
  { name: 'workspace', value: '<ws>', help: 'the workspace (with --organization, instead of <org>/<ws>)' },
];

function workspaceArg(args: string[], flags: Flags): string {
  const org = flags.get('organization');
  const name = flags.get('workspace');
  if (args[0] !== undefined) {
    if (org !== undefined || name !== undefined) throw new UsageError('name the workspace either as <org>/<ws> or with --organization and --workspace, not both');
    return args[0];
  }
  if (org === undefined || name === undefined) throw new UsageError('name the workspace: <org>/<ws>, or --organization and --workspace');
  return `${org}/${name}`;
}

/** How a repository connection is shown: vcs-repo's members, never anything secret (there is none in it). */
const vcsRepoField = (member: string, label = member): Field => ({
  name: label,
  value: (r) => (r.attributes['vcs-repo'] as Record<string, unknown> | null)?.[member] ?? null,
});

const related = (name: string, label = name): Field => ({ name: label, value: (r) => relatedId(r, name) });

export const workspaceView: View = {
  columns: [attribute('name'), idField, attribute('execution-mode'), related('agent-pool'), attribute('locked'), attribute('terraform-version')],
  fields: [
    idField,
    attribute('name'),
    related('organization'),
    related('project'),
    attribute('description'),
    attribute('execution-mode'),
    related('agent-pool'),
    attribute('engine'),
    attribute('terraform-version'),
    attribute('auto-apply'),
    attribute('working-directory'),
    vcsRepoField('identifier', 'vcs-repo'),
    vcsRepoField('branch', 'vcs-branch'),
    vcsRepoField('webhook-url', 'vcs-webhook-url'),
    vcsRepoField('poll-interval-seconds', 'vcs-poll-interval-seconds'),
    attribute('tag-names', 'tags'),
    attribute('locked'),
    attribute('locked-reason'),
    related('locked-by'),
    related('current-run'),
    attribute('created-at'),
    attribute('updated-at'),
  ],
};

/** "acme/app", as the user named it. */
const fullName = (ws: Resource) => `${relatedId(ws, 'organization') ?? '?'}/${String(ws.attributes.name)}`;

export const workspaces: Noun = {
  name: 'workspaces',
  summary: 'workspaces of an organization, named <org>/<ws>',
  commands: [
    {
      verb: 'list',
      summary: 'List the workspaces of an organization',
      flags: [{ name: 'organization', value: '<org>', help: 'the organization', required: true }],
      async run({ api, out, flags }) {
        out.list(await api().list(`/organizations/${seg(flags.get('organization')!)}/workspaces`), workspaceView);
      },
    },
    {
      verb: 'show',
      summary: 'Show a workspace',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args }) {
        out.one(await resolveWorkspace(api(), args[0]), workspaceView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a workspace',
      args: [{ name: '<org>/<ws>' }],
      flags: settingFlags,
      async run({ api, out, args, flags }) {
        const { organization, name } = parseWorkspaceName(args[0]);
        const attributes: Record<string, unknown> = { name, ...settingAttributes(flags) };
        const ws = await api().one('POST', `/organizations/${seg(organization)}/workspaces`, { data: { type: 'workspaces', attributes } });
        out.one(ws, workspaceView);
      },
    },
    {
      verb: 'update',
      summary: 'Change the settings of a workspace',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'name', value: '<name>', help: 'its new name' }, ...settingFlags],
      details: 'Only the settings given change. Switching the engine without --terraform-version gives the workspace otfd\'s default version of the new engine.',
      async run({ api, out, args, flags }) {
        const attributes = settingAttributes(flags);
        if (flags.has('name')) attributes.name = flags.get('name');
        if (Object.keys(attributes).length === 0) {
          throw new UsageError(`nothing to change: give at least one of ${['name', ...settingFlags.map((f) => f.name)].map((n) => `--${n}`).join(', ')}`);
        }
        const ws = await resolveWorkspace(api(), args[0]);
        out.one(await api().one('PATCH', `/workspaces/${seg(ws.id)}`, { data: { type: 'workspaces', attributes } }), workspaceView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a workspace with its runs, state and variables',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args }) {
        const ws = await resolveWorkspace(api(), args[0]);
        await api().request('DELETE', `/workspaces/${seg(ws.id)}`);
        out.done(`workspace "${fullName(ws)}" deleted`, ws);
      },
    },
    {
      verb: 'lock',
      summary: 'Lock a workspace, so that no run or state change starts',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'reason', value: '<text>', help: 'why it is locked' }],
      async run({ api, out, args, flags }) {
        const ws = await resolveWorkspace(api(), args[0]);
        const body = flags.has('reason') ? { data: { attributes: { reason: flags.get('reason') } } } : {};
        const locked = await api().one('POST', `/workspaces/${seg(ws.id)}/actions/lock`, body);
        out.done(`workspace "${fullName(ws)}" locked`, locked);
      },
    },
    {
      verb: 'unlock',
      summary: 'Unlock a workspace',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'force', help: 'unlock it even when someone else (a run, another token) holds the lock' }],
      async run({ api, out, args, flags }) {
        const ws = await resolveWorkspace(api(), args[0]);
        const action = flags.on('force') ? 'force-unlock' : 'unlock';
        const unlocked = await api().one('POST', `/workspaces/${seg(ws.id)}/actions/${action}`);
        out.done(`workspace "${fullName(ws)}" unlocked`, unlocked);
      },
    },
    {
      verb: 'set-execution-mode',
      summary: 'Choose where the runs of a workspace execute',
      args: [{ name: '<org>/<ws>' }, { name: '<remote|local|agent>' }],
      flags: [{ name: 'agent-pool', value: '<pool id>', help: 'the agent pool, for agent mode' }],
      details: 'remote: the server agent inside otfd; local: your machine, otfd keeps state and lock; agent: the pool agents of --agent-pool.',
      async run({ api, out, args, flags }) {
        const mode = args[1];
        if (!(EXECUTION_MODES as readonly string[]).includes(mode)) throw new UsageError(`execution mode "${mode}" is not one of ${EXECUTION_MODES.join(', ')}`);
        const pool = flags.get('agent-pool');
        if (pool !== undefined && mode !== 'agent') throw new UsageError(`--agent-pool goes with execution mode agent, not ${mode}`);
        const ws = await resolveWorkspace(api(), args[0]);
        const attributes: Record<string, unknown> = { 'execution-mode': mode };
        if (pool !== undefined) attributes['agent-pool-id'] = pool;
        const updated = await api().one('PATCH', `/workspaces/${seg(ws.id)}`, { data: { type: 'workspaces', attributes } });
        const assigned = relatedId(updated, 'agent-pool');
        out.done(`workspace "${fullName(ws)}" now runs in ${String(updated.attributes['execution-mode'])} mode${assigned ? ` on agent pool ${assigned}` : ''}`, updated);
      },
    },
    {
      verb: 'connect-vcs',
      summary: 'Connect a workspace to a repository of a VCS provider',
      args: [{ name: '<org>/<ws>', optional: true }],
      flags: [
        ...namedFlags,
        { name: 'oauth-token-id', value: '<ot-...>', help: "the VCS provider's oauth token (otf vcs-providers list shows it)", required: true },
        { name: 'identifier', value: '<owner/repo>', help: 'the repository: owner/name (GitLab: group/subgroup/name)', required: true },
        { name: 'branch', value: '<branch>', help: "the branch runs plan (the repository's default branch when not given)" },
        { name: 'tags-regex', value: '<regex>', help: 'tags matching it queue runs too' },
        { name: 'ingress-submodules', help: 'fetch git submodules with the configuration' },
        { name: 'allow-fork-pull-requests', help: 'plan pull requests from forks too (a plan can read the runner\'s environment)' },
        { name: 'poll-interval', value: '<seconds>', help: 'poll the branch every so many seconds (at least 10) instead of receiving webhooks' },
      ],
      details:
        'Connecting makes a webhook at the provider (one per repository, shared by its workspaces), unless the workspace polls. ' +
        "Runs its commits queue act with the connecting user's rights. Connecting a connected workspace again changes what is given.",
      async run({ api, out, args, flags }) {
        const vcsRepo: Record<string, unknown> = { 'oauth-token-id': flags.get('oauth-token-id'), identifier: flags.get('identifier') };
        for (const name of ['branch', 'tags-regex']) if (flags.has(name)) vcsRepo[name] = flags.get(name);
        for (const name of ['ingress-submodules', 'allow-fork-pull-requests']) if (flags.has(name)) vcsRepo[name] = flags.on(name);
        if (flags.has('poll-interval')) {
          const seconds = Number(flags.get('poll-interval'));
          if (!Number.isInteger(seconds) || seconds <= 0) throw new UsageError(`--poll-interval must be a whole number of seconds, not "${flags.get('poll-interval')}"`);
          vcsRepo['poll-interval-seconds'] = seconds;
        }
        const ws = await resolveWorkspace(api(), workspaceArg(args, flags));
        const updated = await api().one('PATCH', `/workspaces/${seg(ws.id)}`, { data: { type: 'workspaces', attributes: { 'vcs-repo': vcsRepo } } });
        const repo = updated.attributes['vcs-repo'] as Record<string, unknown>;
        const how = repo['poll-interval-seconds'] ? `polling every ${String(repo['poll-interval-seconds'])} s` : `webhook ${String(repo['webhook-url'])}`;
        out.done(`workspace "${fullName(ws)}" connected to ${String(repo.identifier)} (${how})`, updated);
      },
    },
    {
      verb: 'disconnect-vcs',
      summary: 'Disconnect a workspace from its repository',
      args: [{ name: '<org>/<ws>', optional: true }],
      flags: namedFlags,
      details: 'The repository\'s webhook is deleted at the provider once no workspace uses it.',
      async run({ api, out, args, flags }) {
        const ws = await resolveWorkspace(api(), workspaceArg(args, flags));
        const updated = await api().one('PATCH', `/workspaces/${seg(ws.id)}`, { data: { type: 'workspaces', attributes: { 'vcs-repo': null } } });
        out.done(`workspace "${fullName(ws)}" disconnected from its repository`, updated);
      },
    },
  ],
};
