// HTTP routes of users and teams, in Terraform Cloud's shapes: users (made by the site
// administrator through /admin/users), user tokens, organization memberships, teams with their
// members and tokens, and team access to workspaces (/team-workspaces).
import {
  ACCESS_LEVELS,
  ORGANIZATION_PERMISSIONS,
  RUNS,
  SENTINEL_MOCKS,
  STATE_VERSIONS,
  VARIABLES,
  type AccessLevel,
  type OrganizationPermission,
} from '../auth/access.js';
import { isAllowed, isOwner, missingPermission } from '../auth/authorize.js';
import { authenticationTokenType, presentToken, type TokenDirectory } from '../auth/routes.js';
import { principalOf, type Subject } from '../auth/subject.js';
import { encode, listParam, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, timestamp, type Query, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, toMany, toOne, validator, type Schema } from '../api/validate.js';
import { BadRequestError } from '../errors.js';
import type { Organization } from '../orgs/service.js';
import type { Membership, MembershipStatus, User, UserService } from './service.js';
import type { PermissionChanges, Team, TeamAccess, TeamService } from './teams.js';

export const userType: ResourceType = {
  type: 'users',
  attributes: ['username', 'email', 'avatar-url', 'is-service-account', 'is-site-admin', 'two-factor', 'v2-only', 'permissions'],
  selfLink: (v) => `/api/v2/users/${v.id}`,
  linkedRelationships: { 'authentication-tokens': (v) => `/api/v2/users/${v.id}/authentication-tokens` },
};

const teamType: ResourceType = {
  type: 'teams',
  attributes: ['name', 'users-count', 'visibility', 'sso-team-id', 'allow-member-token-management', 'organization-access', 'permissions', 'is-unified'],
  relationships: { organization: 'organizations', users: 'users' },
  selfLink: (v) => `/api/v2/teams/${v.id}`,
};

const membershipType: ResourceType = {
  type: 'organization-memberships',
  attributes: ['status', 'email', 'created-at'],
  relationships: { user: 'users', organization: 'organizations', teams: 'teams' },
  selfLink: (v) => `/api/v2/organization-memberships/${v.id}`,
};

const teamAccessType: ResourceType = {
  type: 'team-workspaces',
  attributes: ['access', 'runs', 'variables', 'state-versions', 'sentinel-mocks', 'workspace-locking', 'run-tasks'],
  relationships: { team: 'teams', workspace: 'workspaces' },
  selfLink: (v) => `/api/v2/team-workspaces/${v.id}`,
};

// ---------------------------------------------------------------- presenters

/** A user as others see it; its email only to itself and the site administrator. */
export function presentUser(user: User, subject: Subject): View {
  const self = subject.kind === 'user' && subject.userId === user.id;
  return {
    id: user.id,
    username: user.username,
    email: self || subject.kind === 'site-admin' ? user.email : null,
    'avatar-url': null,
    'is-service-account': false,
    'is-site-admin': false,
    'two-factor': { enabled: false, verified: false },
    'v2-only': true,
    permissions: { 'can-create-organizations': true, 'can-change-email': false, 'can-change-username': false, 'can-manage-user-tokens': self },
  };
}

/** The account behind a token that is not a user's: a service account, as Terraform Cloud shows them. */
function presentServiceAccount(subject: Subject): View {
  const principal = principalOf(subject);
  const username = subject.kind === 'team' ? `api-team_${subject.teamName}` : principal.name;
  return {
    id: principal.type === 'users' ? principal.id : `user-api-${principal.id}`,
    username,
    email: null,
    'avatar-url': null,
    'is-service-account': subject.kind !== 'site-admin',
    'is-site-admin': subject.kind === 'site-admin',
    'two-factor': { enabled: false, verified: false },
    'v2-only': true,
    permissions: { 'can-create-organizations': subject.kind === 'site-admin', 'can-change-email': false, 'can-change-username': false },
  };
}

function presentTeam(team: Team, org: Organization, memberIds: string[], subject: Subject): View {
  const scope = { organizationId: org.id };
  const access: Record<string, boolean> = {};
  for (const p of ORGANIZATION_PERMISSIONS) access[p] = team.isOwners || team.organizationAccess.includes(p);
  const manage = isAllowed(subject, 'team:manage', scope);
  // As TeamService decides: the owners team is changed by owners only, a team's permissions are
  // handed out (members, tokens) only by who holds them, and only users mint team tokens.
  const changeable = !team.isOwners || isOwner(subject, org.id);
  const notStronger = missingPermission(subject, org.id, team.organizationAccess) === null;
  const mintsTokens = subject.kind === 'user' || subject.kind === 'site-admin';
  return {
    id: team.id,
    name: team.name,
    'users-count': memberIds.length,
    visibility: team.visibility,
    'sso-team-id': team.ssoTeamId,
    'allow-member-token-management': team.allowMemberTokenManagement,
    'organization-access': access,
    permissions: {
      'can-update-membership': isAllowed(subject, 'team:manage-membership', scope) && changeable && notStronger,
      'can-destroy': manage && !team.isOwners,
      'can-update-organization-access': isAllowed(subject, 'team:manage-organization-access', scope) && !team.isOwners,
      'can-update-api-token': manage && changeable && notStronger && mintsTokens,
      'can-update-visibility': manage && changeable,
    },
    'is-unified': false,
    organization: { id: org.name },
    users: memberIds.map((id) => ({ id })),
  };
}

function presentMembership(m: Membership, org: Organization, teamIds: string[]): View {
  return {
    id: m.id,
    status: m.status,
    email: m.email,
    'created-at': timestamp(m.createdAt),
    user: m.userId ? { id: m.userId } : null,
    organization: { id: org.name },
    teams: teamIds.map((id) => ({ id })),
  };
}

function presentTeamAccess(a: TeamAccess): View {
  return {
    id: a.id,
    access: a.access,
    runs: a.permissions.runs,
    variables: a.permissions.variables,
    'state-versions': a.permissions.stateVersions,
    'sentinel-mocks': a.permissions.sentinelMocks,
    'workspace-locking': a.permissions.workspaceLocking,
    'run-tasks': a.permissions.runTasks,
    team: { id: a.teamId },
    workspace: { id: a.workspaceId },
  };
}

// ---------------------------------------------------------------- request documents

const email = { type: 'string', format: 'email', maxLength: 254, 'x-message': 'must be a valid email address' };
const expiredAt = { type: ['string', 'null'], format: 'date-time', 'x-message': 'must be an RFC 3339 date and time, or null' };

interface UserDocument {
  data: { attributes: { username: string; email: string } };
}
const readCreateUser = validator<UserDocument>(
  resourceDocument(
    'users',
    {
      username: { type: 'string', minLength: 1, maxLength: 90, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', 'x-message': 'must be 1 to 90 letters, digits, "-", "_" or "." starting with a letter or digit' },
      email,
    },
    { required: ['username', 'email'] },
  ),
);

interface TokenDocument {
  data: { attributes?: { description?: string; 'expired-at'?: string | null } };
}
const readUserToken = validator<TokenDocument>(resourceDocument('authentication-tokens', { description: { type: 'string', maxLength: 512 }, 'expired-at': expiredAt }));
const readNamedTeamToken = validator<TokenDocument>(
  resourceDocument('authentication-tokens', { description: { type: 'string', minLength: 1, maxLength: 512 }, 'expired-at': expiredAt }, { required: ['description'] }),
);
const readLegacyTeamToken = validator<TokenDocument>(resourceDocument('authentication-token', { 'expired-at': expiredAt }));

/** An optional body: an empty POST means no attributes. */
function optionalBody<T>(raw: unknown, read: (b: unknown) => T, empty: T): T {
  return raw && Object.keys(raw as object).length > 0 ? read(raw) : empty;
}

function expiry(doc: TokenDocument): Date | null {
  const v = doc.data.attributes?.['expired-at'];
  return v ? new Date(v) : null;
}

interface MembershipDocument {
  data: { attributes?: { email?: string; username?: string }; relationships?: { teams?: { data: Array<{ id: string }> } } };
}
const readMembership = validator<MembershipDocument>(
  resourceDocument('organization-memberships', { email, username: { type: 'string', minLength: 1 } }, { relationships: { teams: toMany('teams') } }),
);

const organizationAccessSchema: Schema = {
  type: 'object',
  properties: Object.fromEntries(ORGANIZATION_PERMISSIONS.map((p) => [p, { type: 'boolean' }])),
  additionalProperties: false,
  'x-message': `may hold only these permissions: ${ORGANIZATION_PERMISSIONS.join(', ')}`,
};

interface TeamDocument {
  data: {
    attributes?: {
      name?: string;
      visibility?: 'secret' | 'organization';
      'sso-team-id'?: string | null;
      'allow-member-token-management'?: boolean;
      'organization-access'?: Partial<Record<OrganizationPermission, boolean>>;
    };
  };
}
const teamAttributes = {
  name: nameSchema,
  visibility: { type: 'string', enum: ['secret', 'organization'] },
  'sso-team-id': { type: ['string', 'null'], maxLength: 255 },
  'allow-member-token-management': { type: 'boolean' },
  'organization-access': organizationAccessSchema,
};
const readCreateTeam = validator<TeamDocument>(resourceDocument('teams', teamAttributes, { required: ['name'] }));
const readUpdateTeam = validator<TeamDocument>(resourceDocument('teams', teamAttributes));

interface LinkageDocument {
  data: Array<{ type: string; id: string }>;
}
const readUsers = validator<LinkageDocument>(toMany('users'));
const readMemberships = validator<LinkageDocument>(toMany('organization-memberships'));

interface TeamAccessDocument {
  data: {
    attributes?: {
      access?: AccessLevel;
      runs?: PermissionChanges['runs'];
      variables?: PermissionChanges['variables'];
      'state-versions'?: PermissionChanges['stateVersions'];
      'sentinel-mocks'?: PermissionChanges['sentinelMocks'];
      'workspace-locking'?: boolean;
      'run-tasks'?: boolean;
    };
    relationships?: { team?: { data: { id: string } }; workspace?: { data: { id: string } } };
  };
}
const teamAccessAttributes = {
  access: { type: 'string', enum: ACCESS_LEVELS },
  runs: { type: 'string', enum: RUNS },
  variables: { type: 'string', enum: VARIABLES },
  'state-versions': { type: 'string', enum: STATE_VERSIONS },
  'sentinel-mocks': { type: 'string', enum: SENTINEL_MOCKS },
  'workspace-locking': { type: 'boolean' },
  'run-tasks': { type: 'boolean' },
};
const readCreateTeamAccess = validator<TeamAccessDocument>(
  resourceDocument('team-workspaces', teamAccessAttributes, {
    required: ['access'],
    relationships: { team: toOne('teams'), workspace: toOne('workspaces') },
    requiredRelationships: ['team', 'workspace'],
  }),
);
const readUpdateTeamAccess = validator<TeamAccessDocument>(resourceDocument('team-workspaces', teamAccessAttributes));

function permissionChanges(doc: TeamAccessDocument): PermissionChanges {
  const a = doc.data.attributes ?? {};
  const out: PermissionChanges = {};
  if (a.runs !== undefined) out.runs = a.runs;
  if (a.variables !== undefined) out.variables = a.variables;
  if (a['state-versions'] !== undefined) out.stateVersions = a['state-versions'];
  if (a['sentinel-mocks'] !== undefined) out.sentinelMocks = a['sentinel-mocks'];
  if (a['workspace-locking'] !== undefined) out.workspaceLocking = a['workspace-locking'];
  if (a['run-tasks'] !== undefined) out.runTasks = a['run-tasks'];
  return out;
}

function teamChanges(doc: TeamDocument) {
  const a = doc.data.attributes ?? {};
  const access = a['organization-access'];
  return {
    name: a.name,
    visibility: a.visibility,
    ssoTeamId: a['sso-team-id'],
    allowMemberTokenManagement: a['allow-member-token-management'],
    organizationAccess: access ? ORGANIZATION_PERMISSIONS.filter((p) => access[p] === true) : undefined,
  };
}

const MEMBERSHIP_STATUSES: readonly MembershipStatus[] = ['invited', 'active'];

function statusFilter(q: Query): MembershipStatus[] | undefined {
  const raw = queryValue(q, 'filter[status]');
  if (raw === undefined || raw === '') return undefined;
  const statuses = raw.split(',');
  const bad = statuses.find((s) => !MEMBERSHIP_STATUSES.includes(s as MembershipStatus));
  if (bad !== undefined) throw new BadRequestError(`filter[status] must be invited or active, got "${bad}"`, { parameter: 'filter[status]' });
  return statuses as MembershipStatus[];
}

function listOf(q: Query, name: string): string[] | undefined {
  const values = listParam(q, name);
  return values && values.length > 0 ? values : undefined;
}

// ---------------------------------------------------------------- routes

export interface UserRouteDeps {
  users: UserService;
  teams: TeamService;
  site: Site;
}

export function registerUserRoutes(router: ApiRouter, { users, teams, site }: UserRouteDeps): void {
  // ------------------------------------------------------------ users

  router.get('/account/details', async (ctx) => {
    const subject = subjectOf(ctx);
    const user = await users.self(subject);
    send(ctx, 200, encode(userType, user ? presentUser(user, subject) : presentServiceAccount(subject)));
  });

  router.post('/admin/users', async (ctx) => {
    const subject = subjectOf(ctx);
    const doc = readCreateUser(body(ctx));
    const user = await users.create(subject, doc.data.attributes);
    send(ctx, 201, encode(userType, presentUser(user, subject)));
  });

  router.get('/admin/users', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { items, total } = await users.list(subject, { search: queryValue(q, 'q'), limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(userType, items.map((u) => presentUser(u, subject)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.delete('/admin/users/:id', async (ctx) => {
    await users.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  router.get('/users/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    send(ctx, 200, encode(userType, presentUser(await users.get(subject, ctx.params.id), subject)));
  });

  router.get('/users/:id/authentication-tokens', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await users.listTokens(subjectOf(ctx), ctx.params.id, { limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(authenticationTokenType, items.map((t) => presentToken(t)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/users/:id/authentication-tokens', async (ctx) => {
    const doc = optionalBody(body(ctx), readUserToken, { data: {} });
    const { token, secret } = await users.createToken(subjectOf(ctx), ctx.params.id, {
      description: doc.data.attributes?.description ?? null,
      expiredAt: expiry(doc),
    });
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });

  // ------------------------------------------------------------ organization memberships

  /** Memberships as resources, with their teams (loaded in one query). */
  async function membershipViews(list: Array<{ membership: Membership; org: Organization }>): Promise<View[]> {
    const teamIds = await users.teamsOf(list.map((i) => i.membership));
    return list.map(({ membership, org }, i) => presentMembership(membership, org, teamIds[i]));
  }

  async function membershipIncludes(q: Query, views: View[], memberships: Membership[], subject: Subject): Promise<Resource[]> {
    const includes = parseIncludes(q);
    const included: Resource[] = [];
    if (includes.has('user')) {
      const found = await users.usersByIds(memberships.flatMap((m) => m.userId ?? []));
      included.push(...resources(userType, found.map((u) => presentUser(u, subject))));
    }
    if (includes.has('teams')) {
      const ids = new Set(views.flatMap((v) => (v.teams as Array<{ id: string }>).map((t) => t.id)));
      const found: Array<{ team: Team; org: Organization }> = [];
      for (const id of ids) {
        const team = await teams.find(subject, id);
        if (team) found.push(team);
      }
      included.push(...resources(teamType, (await teamViews(found, subject)).views));
    }
    return included;
  }

  router.post('/organizations/:org/organization-memberships', async (ctx) => {
    const subject = subjectOf(ctx);
    const doc = readMembership(body(ctx));
    const { membership, org } = await users.invite(subject, ctx.params.org, {
      email: doc.data.attributes?.email,
      username: doc.data.attributes?.username,
      teamIds: doc.data.relationships?.teams?.data.map((t) => t.id) ?? [],
    });
    const [view] = await membershipViews([{ membership, org }]);
    send(ctx, 201, encode(membershipType, view, { included: await membershipIncludes({ include: 'user' }, [view], [membership], subject) }));
  });

  router.get('/organizations/:org/organization-memberships', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { org, items, total, counts } = await users.listMemberships(subject, ctx.params.org, {
      search: queryValue(q, 'q'),
      statuses: statusFilter(q),
      emails: listOf(q, 'filter[email]'),
      limit: page.size,
      offset: pageOffset(page),
    });
    const views = await membershipViews(items.map((membership) => ({ membership, org })));
    const paging = paginate(page, total, requestUrl(ctx, site));
    send(
      ctx,
      200,
      encode(membershipType, views, {
        ...paging,
        meta: { ...paging.meta, 'status-counts': { total: counts.active + counts.invited, ...counts } },
        included: await membershipIncludes(q, views, items, subject),
      }),
    );
  });

  router.get('/organization-memberships', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { items, total } = await users.ownMemberships(subject, { limit: page.size, offset: pageOffset(page) });
    const views = await membershipViews(items);
    const included = await membershipIncludes(q, views, items.map((i) => i.membership), subject);
    send(ctx, 200, encode(membershipType, views, { ...paginate(page, total, requestUrl(ctx, site)), included }));
  });

  router.get('/organization-memberships/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { membership, org } = await users.getMembership(subject, ctx.params.id);
    const [view] = await membershipViews([{ membership, org }]);
    send(ctx, 200, encode(membershipType, view, { included: await membershipIncludes(query(ctx), [view], [membership], subject) }));
  });

  router.delete('/organization-memberships/:id', async (ctx) => {
    await users.deleteMembership(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // ------------------------------------------------------------ teams

  /** Teams as resources, with their members (loaded in one query); `included`, the members as users when q includes them. */
  async function teamViews(list: Array<{ team: Team; org: Organization }>, subject: Subject, q: Query = {}): Promise<{ views: View[]; included: Resource[] }> {
    const members = await teams.members(list.map((t) => t.team));
    const membersOf = (team: Team) => members.get(team.id) ?? [];
    const views = list.map(({ team, org }) => presentTeam(team, org, membersOf(team).map((u) => u.id), subject));
    const included = parseIncludes(q).has('users') ? resources(userType, list.flatMap(({ team }) => membersOf(team)).map((u) => presentUser(u, subject))) : [];
    return { views, included };
  }

  router.get('/organizations/:org/teams', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { org, items, total } = await teams.list(subject, ctx.params.org, {
      search: queryValue(q, 'q'),
      names: listOf(q, 'filter[names]'),
      limit: page.size,
      offset: pageOffset(page),
    });
    const { views, included } = await teamViews(items.map((team) => ({ team, org })), subject, q);
    send(ctx, 200, encode(teamType, views, { ...paginate(page, total, requestUrl(ctx, site)), included }));
  });

  router.post('/organizations/:org/teams', async (ctx) => {
    const subject = subjectOf(ctx);
    const changes = teamChanges(readCreateTeam(body(ctx)));
    const created = await teams.create(subject, ctx.params.org, { ...changes, name: changes.name! });
    send(ctx, 201, encode(teamType, (await teamViews([created], subject)).views[0]));
  });

  router.get('/teams/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { views, included } = await teamViews([await teams.get(subject, ctx.params.id)], subject, query(ctx));
    send(ctx, 200, encode(teamType, views[0], { included }));
  });

  router.patch('/teams/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const updated = await teams.update(subject, ctx.params.id, teamChanges(readUpdateTeam(body(ctx))));
    send(ctx, 200, encode(teamType, (await teamViews([updated], subject)).views[0]));
  });

  router.delete('/teams/:id', async (ctx) => {
    await teams.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  router.post('/teams/:id/relationships/users', async (ctx) => {
    await teams.addMembers(subjectOf(ctx), ctx.params.id, readUsers(body(ctx)).data.map((u) => u.id));
    noContent(ctx);
  });

  router.delete('/teams/:id/relationships/users', async (ctx) => {
    await teams.removeMembers(subjectOf(ctx), ctx.params.id, readUsers(body(ctx)).data.map((u) => u.id));
    noContent(ctx);
  });

  router.post('/teams/:id/relationships/organization-memberships', async (ctx) => {
    const subject = subjectOf(ctx);
    const userIds = await teams.membershipUsers(subject, ctx.params.id, readMemberships(body(ctx)).data.map((m) => m.id));
    await teams.addMembers(subject, ctx.params.id, userIds);
    noContent(ctx);
  });

  router.delete('/teams/:id/relationships/organization-memberships', async (ctx) => {
    const subject = subjectOf(ctx);
    const userIds = await teams.membershipUsers(subject, ctx.params.id, readMemberships(body(ctx)).data.map((m) => m.id));
    await teams.removeMembers(subject, ctx.params.id, userIds);
    noContent(ctx);
  });

  // ------------------------------------------------------------ team tokens

  router.post('/teams/:id/authentication-token', async (ctx) => {
    const doc = optionalBody(body(ctx), readLegacyTeamToken, { data: {} });
    const { token, secret } = await teams.createLegacyToken(subjectOf(ctx), ctx.params.id, expiry(doc));
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });

  router.get('/teams/:id/authentication-token', async (ctx) => {
    send(ctx, 200, encode(authenticationTokenType, presentToken(await teams.legacyToken(subjectOf(ctx), ctx.params.id))));
  });

  router.delete('/teams/:id/authentication-token', async (ctx) => {
    await teams.deleteLegacyToken(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  router.post('/teams/:id/authentication-tokens', async (ctx) => {
    const doc = readNamedTeamToken(body(ctx));
    const { token, secret } = await teams.createToken(subjectOf(ctx), ctx.params.id, { description: doc.data.attributes!.description!, expiredAt: expiry(doc) });
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });

  router.get('/teams/:id/authentication-tokens', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await teams.listTokens(subjectOf(ctx), ctx.params.id, { limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(authenticationTokenType, items.map((t) => presentToken(t)), paginate(page, total, requestUrl(ctx, site))));
  });

  // ------------------------------------------------------------ team access

  router.get('/team-workspaces', async (ctx) => {
    const q = query(ctx);
    const workspaceId = queryValue(q, 'filter[workspace][id]');
    if (!workspaceId) throw new BadRequestError('query parameter filter[workspace][id] is required', { parameter: 'filter[workspace][id]' });
    const page = parsePage(q);
    const { items, total } = await teams.listAccess(subjectOf(ctx), workspaceId, { limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(teamAccessType, items.map(presentTeamAccess), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/team-workspaces', async (ctx) => {
    const doc = readCreateTeamAccess(body(ctx));
    const access = await teams.createAccess(subjectOf(ctx), {
      teamId: doc.data.relationships!.team!.data.id,
      workspaceId: doc.data.relationships!.workspace!.data.id,
      access: doc.data.attributes!.access!,
      permissions: permissionChanges(doc),
    });
    send(ctx, 201, encode(teamAccessType, presentTeamAccess(access)));
  });

  router.get('/team-workspaces/:id', async (ctx) => {
    send(ctx, 200, encode(teamAccessType, presentTeamAccess(await teams.getAccess(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/team-workspaces/:id', async (ctx) => {
    const doc = readUpdateTeamAccess(body(ctx));
    const access = await teams.updateAccess(subjectOf(ctx), ctx.params.id, { access: doc.data.attributes?.access, permissions: permissionChanges(doc) });
    send(ctx, 200, encode(teamAccessType, presentTeamAccess(access)));
  });

  router.delete('/team-workspaces/:id', async (ctx) => {
    await teams.deleteAccess(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}

/** The user and team tokens behind /authentication-tokens/:id (agent tokens are the pools domain's). */
export function userTokenDirectories(users: UserService, teams: TeamService): TokenDirectory[] {
  return [
    { prefix: users.prefix, show: async (subject, id) => presentToken(await users.getToken(subject, id)), remove: (subject, id) => users.deleteToken(subject, id) },
    { prefix: teams.prefix, show: async (subject, id) => presentToken(await teams.getToken(subject, id)), remove: (subject, id) => teams.deleteToken(subject, id) },
  ];
}
