// otf memberships: the members of an organization (users, and emails invited to join), added by
// username or email, optionally into teams, and removed from the organization with all its teams.
import { relatedId, relatedIds, type Client, type Resource } from '../client.js';
import { CliError, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { resolveTeams, seg } from '../resolve.js';

/** Names of the users and teams a membership points at, from the resources a document included. */
interface Names {
  users: Map<string, string>;
  teams: Map<string, string>;
}

function namesOf(included: Resource[], teams: Resource[] = []): Names {
  const names: Names = { users: new Map(), teams: new Map() };
  for (const r of [...included, ...teams]) {
    if (r.type === 'users') names.users.set(r.id, String(r.attributes.username));
    if (r.type === 'teams') names.teams.set(r.id, String(r.attributes.name));
  }
  return names;
}

/** How memberships are shown: usernames and team names rather than ids, where they are known. */
function membershipView(names: Names): View {
  const username: Field = {
    name: 'username',
    value: (r) => {
      // An invitation names the user made for its email, whose name is a placeholder until the user is created.
      const id = r.attributes.status === 'invited' ? null : relatedId(r, 'user');
      return id ? (names.users.get(id) ?? id) : null;
    },
  };
  const teamNames: Field = { name: 'teams', value: (r) => relatedIds(r, 'teams').map((id) => names.teams.get(id) ?? id) };
  return {
    columns: [username, attribute('email'), attribute('status'), teamNames, idField],
    fields: [
      idField,
      username,
      { name: 'user', value: (r) => relatedId(r, 'user') },
      attribute('email'),
      attribute('status'),
      { name: 'organization', value: (r) => relatedId(r, 'organization') },
      teamNames,
      attribute('created-at'),
    ],
  };
}

const membershipsPath = (org: string) => `/organizations/${seg(org)}/organization-memberships`;

/** An argument with an "@" is an email; anything else a username. */
const isEmail = (who: string) => who.includes('@');

/** The membership of a user (by username) or of an email in the organization. */
async function findMembership(api: Client, org: string, who: string): Promise<Resource> {
  const query = isEmail(who) ? `filter%5Bemail%5D=${seg(who)}` : `q=${seg(who)}`;
  const { items, included } = await api.listIncluding(`${membershipsPath(org)}?${query}&include=user`);
  const names = namesOf(included);
  const membership = items.find((m) => {
    if (isEmail(who)) return String(m.attributes.email).toLowerCase() === who.toLowerCase();
    const user = relatedId(m, 'user');
    return user !== null && names.users.get(user) === who;
  });
  if (!membership) throw new CliError(`${isEmail(who) ? '' : 'user '}"${who}" is not a member of organization "${org}"`);
  return membership;
}

export const memberships: Noun = {
  name: 'memberships',
  summary: 'members of an organization: users, and emails invited to join',
  commands: [
    {
      verb: 'list',
      summary: 'List the members of an organization',
      args: [{ name: '<org>' }],
      flags: [
        { name: 'status', value: '<status>', choices: ['invited', 'active'], help: 'only members of this status' },
        { name: 'search', value: '<text>', help: 'only members whose username or email contains it' },
      ],
      async run({ api, out, args, flags }) {
        const query = ['include=user%2Cteams'];
        if (flags.has('status')) query.push(`filter%5Bstatus%5D=${seg(flags.get('status')!)}`);
        if (flags.has('search')) query.push(`q=${seg(flags.get('search')!)}`);
        const { items, included } = await api().listIncluding(`${membershipsPath(args[0])}?${query.join('&')}`);
        out.list(items, membershipView(namesOf(included)));
      },
    },
    {
      verb: 'add',
      summary: 'Add a user (by username) to an organization, or invite an email',
      args: [{ name: '<org>' }, { name: '<username-or-email>' }],
      flags: [{ name: 'team', value: '<team-name>', repeatable: true, help: 'a team of the organization to put the member in' }],
      details:
        'An argument with an "@" is an email: the user with that email becomes a member at once, and an email nobody has yet is invited (the membership becomes active, in its teams, when a user with that email is created).',
      async run({ api, out, args, flags }) {
        const [org, who] = args;
        const teams = await resolveTeams(api(), org, flags.all('team'));
        const doc = await api().document('POST', membershipsPath(org), {
          data: {
            type: 'organization-memberships',
            attributes: isEmail(who) ? { email: who } : { username: who },
            relationships: { teams: { data: teams.map((t) => ({ type: 'teams', id: t.id })) } },
          },
        });
        if (!doc.data || Array.isArray(doc.data)) throw new CliError(`otfd answered POST ${membershipsPath(org)} without a resource`);
        out.one(doc.data, membershipView(namesOf(doc.included ?? [], teams)));
      },
    },
    {
      verb: 'remove',
      summary: 'Take a user (by username) or an invited email out of an organization and all its teams',
      args: [{ name: '<org>' }, { name: '<username-or-email>' }],
      async run({ api, out, args }) {
        const [org, who] = args;
        const membership = await findMembership(api(), org, who);
        await api().request('DELETE', `/organization-memberships/${seg(membership.id)}`);
        out.done(`${isEmail(who) ? '' : 'user '}"${who}" removed from organization "${org}"`, membership);
      },
    },
  ],
};
