// otf teams, team-members and team-tokens: the teams of an organization (named <org>/<team>) with
// their organization permissions, their members, and their API tokens.
import { ORGANIZATION_PERMISSIONS } from '../../../auth/access.js';
import { relatedId, type Resource } from '../client.js';
import { UsageError, type Context, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { parseTeamName, resolveTeam, seg } from '../resolve.js';
import { apiTokenView, deleteTokenCommand, expiresFlag, printSecret, userView } from './users.js';

export const VISIBILITIES = ['secret', 'organization'] as const;

function held(r: Resource): { held: string[]; all: boolean } {
  const access = (r.attributes['organization-access'] ?? {}) as Record<string, unknown>;
  const keys = Object.keys(access);
  const on = keys.filter((k) => access[k] === true);
  return { held: on, all: keys.length > 0 && on.length === keys.length };
}

/** In a table, a team holding every permission (the owners) says "all" rather than fifteen names. */
const permissionsColumn: Field = { name: 'permissions', value: (r) => (held(r).all ? 'all' : held(r).held) };

export const teamView: View = {
  columns: [attribute('name'), idField, attribute('visibility'), attribute('users-count', 'members'), permissionsColumn],
  fields: [
    idField,
    attribute('name'),
    { name: 'organization', value: (r) => relatedId(r, 'organization') },
    attribute('visibility'),
    attribute('users-count', 'members'),
    { name: 'organization-access', value: (r) => held(r).held },
    attribute('allow-member-token-management'),
    attribute('sso-team-id'),
  ],
};

const permissionFlag = {
  name: 'permission',
  value: '<key>',
  repeatable: true,
  choices: ORGANIZATION_PERMISSIONS,
  help: 'an organization permission of the team, e.g. manage-workspaces',
};
const visibilityFlag = {
  name: 'visibility',
  value: '<v>',
  choices: VISIBILITIES,
  help: 'who sees the team: secret (its members and owners; the default for a new team) or organization',
};

/** "acme/devs", as the user named it. */
const fullName = (team: Resource) => `${relatedId(team, 'organization') ?? '?'}/${String(team.attributes.name)}`;

export const teams: Noun = {
  name: 'teams',
  summary: 'teams of an organization, named <org>/<team>, and their organization permissions',
  commands: [
    {
      verb: 'list',
      summary: 'List the teams of an organization the token can see',
      args: [{ name: '<org>' }],
      async run({ api, out, args }) {
        out.list(await api().list(`/organizations/${seg(args[0])}/teams`), teamView);
      },
    },
    {
      verb: 'show',
      summary: 'Show a team',
      args: [{ name: '<org>/<team>' }],
      async run({ api, out, args }) {
        out.one(await resolveTeam(api(), args[0]), teamView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a team',
      args: [{ name: '<org>/<team>' }],
      flags: [visibilityFlag, permissionFlag],
      details: 'Give its members access to workspaces with otf team-access grant, and members with otf team-members add or otf memberships add --team.',
      async run({ api, out, args, flags }) {
        const { organization, name } = parseTeamName(args[0]);
        const attributes: Record<string, unknown> = { name };
        if (flags.has('visibility')) attributes.visibility = flags.get('visibility');
        const permissions = flags.all('permission');
        if (permissions.length > 0) attributes['organization-access'] = Object.fromEntries(permissions.map((p) => [p, true]));
        out.one(await api().one('POST', `/organizations/${seg(organization)}/teams`, { data: { type: 'teams', attributes } }), teamView);
      },
    },
    {
      verb: 'update',
      summary: 'Rename a team, change its visibility, or set its organization permissions',
      args: [{ name: '<org>/<team>' }],
      flags: [
        { name: 'name', value: '<name>', help: 'its new name' },
        visibilityFlag,
        { ...permissionFlag, help: 'an organization permission of the team; the team then holds exactly those given' },
        { name: 'no-permissions', help: 'take every organization permission away from the team' },
      ],
      async run({ api, out, args, flags }) {
        const permissions = flags.all('permission');
        const clear = flags.on('no-permissions');
        if (clear && permissions.length > 0) throw new UsageError('--permission and --no-permissions do not go together');
        const attributes: Record<string, unknown> = {};
        if (flags.has('name')) attributes.name = flags.get('name');
        if (flags.has('visibility')) attributes.visibility = flags.get('visibility');
        if (clear || permissions.length > 0) attributes['organization-access'] = Object.fromEntries(ORGANIZATION_PERMISSIONS.map((p) => [p, permissions.includes(p)]));
        if (Object.keys(attributes).length === 0) throw new UsageError('nothing to change: give --name, --visibility, --permission or --no-permissions');
        const team = await resolveTeam(api(), args[0]);
        out.one(await api().one('PATCH', `/teams/${seg(team.id)}`, { data: { type: 'teams', attributes } }), teamView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a team; its members stay in the organization',
      args: [{ name: '<org>/<team>' }],
      async run({ api, out, args }) {
        const team = await resolveTeam(api(), args[0]);
        await api().request('DELETE', `/teams/${seg(team.id)}`);
        out.done(`team "${fullName(team)}" deleted`, team);
      },
    },
  ],
};

/** Adds or removes members; with --json prints the team as it now is. */
async function changeMembers(ctx: Context, method: 'POST' | 'DELETE'): Promise<void> {
  const { api, out, args, json } = ctx;
  const [name, ...usernames] = args;
  const team = await resolveTeam(api(), name);
  const path = `/teams/${seg(team.id)}`;
  await api().request(method, `${path}/relationships/users`, { data: usernames.map((id) => ({ type: 'users', id })) });
  const message = method === 'POST' ? `added ${usernames.join(', ')} to team "${fullName(team)}"` : `removed ${usernames.join(', ')} from team "${fullName(team)}"`;
  out.done(message, json ? await api().get(path) : team);
}

export const teamMembers: Noun = {
  name: 'team-members',
  summary: 'members of a team (users that are members of its organization)',
  commands: [
    {
      verb: 'list',
      summary: 'List the members of a team',
      args: [{ name: '<org>/<team>' }],
      async run({ api, out, args }) {
        const team = await resolveTeam(api(), args[0]);
        const doc = await api().document('GET', `/teams/${seg(team.id)}?include=users`);
        out.list((doc.included ?? []).filter((r) => r.type === 'users'), userView);
      },
    },
    {
      verb: 'add',
      summary: 'Add users (by username) to a team; each must be a member of the organization already',
      args: [{ name: '<org>/<team>' }, { name: '<username>', variadic: true }],
      run: (ctx) => changeMembers(ctx, 'POST'),
    },
    {
      verb: 'remove',
      summary: 'Take users (by username) out of a team; they stay in the organization',
      args: [{ name: '<org>/<team>' }, { name: '<username>', variadic: true }],
      run: (ctx) => changeMembers(ctx, 'DELETE'),
    },
  ],
};

export const teamTokens: Noun = {
  name: 'team-tokens',
  summary: "API tokens of a team, acting with the team's permissions",
  commands: [
    {
      verb: 'list',
      summary: 'List the tokens of a team',
      args: [{ name: '<org>/<team>' }],
      async run({ api, out, args }) {
        const team = await resolveTeam(api(), args[0]);
        out.list(await api().list(`/teams/${seg(team.id)}/authentication-tokens`), apiTokenView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a token of a team and print its secret (shown only this once)',
      args: [{ name: '<org>/<team>' }],
      flags: [{ name: 'description', value: '<text>', help: "what the token is for (unique in the team); without it, the team's one legacy token" }, expiresFlag],
      details:
        "With --description, a new named token beside the team's others. Without it, the team's legacy token, which replaces the one there was. Prints only the secret; with --json, the whole resource.",
      async run({ api, out, args, flags }) {
        const team = await resolveTeam(api(), args[0]);
        const attributes: Record<string, unknown> = {};
        if (flags.has('expires')) attributes['expired-at'] = flags.get('expires');
        let token: Resource;
        if (flags.has('description')) {
          attributes.description = flags.get('description');
          token = await api().one('POST', `/teams/${seg(team.id)}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes } });
        } else {
          token = await api().one('POST', `/teams/${seg(team.id)}/authentication-token`, { data: { type: 'authentication-token', attributes } });
        }
        printSecret(out, token);
      },
    },
    deleteTokenCommand('a team token'),
  ],
};
