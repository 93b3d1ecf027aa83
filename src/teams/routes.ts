// HTTP routes of the teams domain, in Terraform Cloud's shapes: organization memberships, teams
// with their members and tokens, and team access to workspaces (/team-workspaces) and to projects
// (/team-projects).
import type { TBoolean, TOptional } from '@sinclair/typebox';
import {
  ACCESS_LEVELS,
  ORGANIZATION_PERMISSIONS,
  PROJECT_ACCESS_LEVELS,
  PROJECT_SETTINGS,
  PROJECT_TEAMS,
  RUNS,
  SENTINEL_MOCKS,
  STATE_VERSIONS,
  VARIABLES,
  type OrganizationPermission,
} from '../auth/access.js';
import { authenticationTokenType, presentToken } from '../auth/routes.js';
import type { Subject } from '../auth/subject.js';
import { encode, listParam, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, type Query, type Resource, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { resourceDocument, stringEnum, toMany, toOne, Type, untypedResourceDocument, validator, type Static } from '../api/schema.js';
import { BadRequestError } from '../errors.js';
import type { Organization } from '../orgs/index.js';
import { emailSchema, expiredAtSchema, expiry, optionalBody, presentUser, userType, type UserService } from '../users/index.js';
import type { Membership, MembershipService, MembershipStatus } from './memberships.js';
import {
  membershipType,
  presentMembership,
  presentProjectAccess,
  presentTeam,
  presentTeamAccess,
  teamAccessType,
  teamProjectAccessType,
  teamType,
} from './presenters.js';
import type { PermissionChanges, ProjectPermissionChanges, Team, TeamChangeRequest, TeamService } from './service.js';

// ---------------------------------------------------------------- request documents

const readMembership = validator(
  resourceDocument('organization-memberships', {
    attributes: Type.Optional(Type.Object({ email: Type.Optional(emailSchema), username: Type.Optional(Type.String({ minLength: 1 })) })),
    relationships: Type.Optional(Type.Object({ teams: Type.Optional(toMany('teams')) })),
  }),
);

const organizationAccessSchema = Type.Object(
  Object.fromEntries(ORGANIZATION_PERMISSIONS.map((p) => [p, Type.Optional(Type.Boolean())])) as Record<OrganizationPermission, TOptional<TBoolean>>,
  { additionalProperties: false, 'x-message': `may hold only these permissions: ${ORGANIZATION_PERMISSIONS.join(', ')}` },
);

/**
 * Team names as Terraform Cloud takes them (go-tfe's tests name teams "foo bar"): letters, digits,
 * spaces, ".", "-" and "_", neither starting nor ending with a space; no control characters.
 */
const teamNameSchema = Type.String({
  minLength: 1,
  maxLength: 90,
  pattern: '^[A-Za-z0-9._-]([A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$',
  'x-message': 'must be 1 to 90 letters, digits, spaces, ".", "-" or "_", not starting or ending with a space',
});

const teamAttributes = {
  name: teamNameSchema,
  visibility: stringEnum(['secret', 'organization']),
  // As one type list, which ajv reports as "must be string,null" (a union would report its first branch).
  'sso-team-id': Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255 }),
  'allow-member-token-management': Type.Boolean(),
  'organization-access': organizationAccessSchema,
};
const { name, ...otherTeamAttributes } = teamAttributes;
const createTeamDocument = resourceDocument('teams', {
  attributes: Type.Object({ name, ...Type.Partial(Type.Object(otherTeamAttributes)).properties }),
});
const updateTeamDocument = resourceDocument('teams', { attributes: Type.Optional(Type.Partial(Type.Object(teamAttributes))) });
const readCreateTeam = validator(createTeamDocument);
const readUpdateTeam = validator(updateTeamDocument);

const readUsers = validator(toMany('users'));
const readMemberships = validator(toMany('organization-memberships'));

// Later go-tfe versions send named team tokens typed "" too (their options have no JSON:API type).
const readNamedTeamToken = validator(
  untypedResourceDocument({
    attributes: Type.Object({ description: Type.String({ minLength: 1, maxLength: 512 }), 'expired-at': Type.Optional(expiredAtSchema) }),
  }),
);
// go-tfe sends this document with "type": "" (its options have no JSON:API type): any type is taken.
const legacyTeamTokenDocument = untypedResourceDocument({
  attributes: Type.Optional(Type.Object({ 'expired-at': Type.Optional(expiredAtSchema) })),
});
const readLegacyTeamToken = validator(legacyTeamTokenDocument);

const teamAccessAttributes = {
  access: stringEnum(ACCESS_LEVELS),
  runs: stringEnum(RUNS),
  variables: stringEnum(VARIABLES),
  'state-versions': stringEnum(STATE_VERSIONS),
  'sentinel-mocks': stringEnum(SENTINEL_MOCKS),
  'workspace-locking': Type.Boolean(),
  'run-tasks': Type.Boolean(),
};
const { access, ...permissionAttributes } = teamAccessAttributes;
const createTeamAccessDocument = resourceDocument('team-workspaces', {
  attributes: Type.Object({ access, ...Type.Partial(Type.Object(permissionAttributes)).properties }),
  relationships: Type.Object({ team: toOne('teams'), workspace: toOne('workspaces') }),
});
const updateTeamAccessDocument = resourceDocument('team-workspaces', {
  attributes: Type.Optional(Type.Partial(Type.Object(teamAccessAttributes))),
});
const readCreateTeamAccess = validator(createTeamAccessDocument);
const readUpdateTeamAccess = validator(updateTeamAccessDocument);

type PermissionAttributes = Partial<Static<typeof updateTeamAccessDocument>['data']['attributes']>;

function permissionChanges(a: PermissionAttributes = {}): PermissionChanges {
  const out: PermissionChanges = {};
  if (a.runs !== undefined) out.runs = a.runs;
  if (a.variables !== undefined) out.variables = a.variables;
  if (a['state-versions'] !== undefined) out.stateVersions = a['state-versions'];
  if (a['sentinel-mocks'] !== undefined) out.sentinelMocks = a['sentinel-mocks'];
  if (a['workspace-locking'] !== undefined) out.workspaceLocking = a['workspace-locking'];
  if (a['run-tasks'] !== undefined) out.runTasks = a['run-tasks'];
  return out;
}

// As go-tfe sends them: "project-access" and "workspace-access" objects, each member optional.
const projectAccessAttributes = {
  access: stringEnum(PROJECT_ACCESS_LEVELS),
  'project-access': Type.Partial(Type.Object({ settings: stringEnum(PROJECT_SETTINGS), teams: stringEnum(PROJECT_TEAMS) }, { additionalProperties: false })),
  'workspace-access': Type.Partial(
    Type.Object(
      {
        runs: stringEnum(RUNS),
        'sentinel-mocks': stringEnum(SENTINEL_MOCKS),
        'state-versions': stringEnum(STATE_VERSIONS),
        variables: stringEnum(VARIABLES),
        create: Type.Boolean(),
        locking: Type.Boolean(),
        move: Type.Boolean(),
        delete: Type.Boolean(),
        'run-tasks': Type.Boolean(),
      },
      { additionalProperties: false },
    ),
  ),
};
const { access: projectAccessLevel, ...projectPermissionAttributes } = projectAccessAttributes;
const createProjectAccessDocument = resourceDocument('team-projects', {
  attributes: Type.Object({ access: projectAccessLevel, ...Type.Partial(Type.Object(projectPermissionAttributes)).properties }),
  relationships: Type.Object({ team: toOne('teams'), project: toOne('projects') }),
});
const updateProjectAccessDocument = resourceDocument('team-projects', {
  attributes: Type.Optional(Type.Partial(Type.Object(projectAccessAttributes))),
});
const readCreateProjectAccess = validator(createProjectAccessDocument);
const readUpdateProjectAccess = validator(updateProjectAccessDocument);

function projectPermissionChanges(a: Partial<Static<typeof updateProjectAccessDocument>['data']['attributes']> = {}): ProjectPermissionChanges {
  const p = a['project-access'] ?? {};
  const w = a['workspace-access'] ?? {};
  const out: ProjectPermissionChanges = {};
  if (p.settings !== undefined) out.settings = p.settings;
  if (p.teams !== undefined) out.teams = p.teams;
  if (w.create !== undefined) out.create = w.create;
  if (w.move !== undefined) out.move = w.move;
  if (w.delete !== undefined) out.delete = w.delete;
  const ws: NonNullable<ProjectPermissionChanges['workspaces']> = {};
  if (w.runs !== undefined) ws.runs = w.runs;
  if (w['sentinel-mocks'] !== undefined) ws.sentinelMocks = w['sentinel-mocks'];
  if (w['state-versions'] !== undefined) ws.stateVersions = w['state-versions'];
  if (w.variables !== undefined) ws.variables = w.variables;
  if (w.locking !== undefined) ws.workspaceLocking = w.locking;
  if (w['run-tasks'] !== undefined) ws.runTasks = w['run-tasks'];
  if (Object.keys(ws).length > 0) out.workspaces = ws;
  return out;
}

/** A team's settings as a request gives them; of "organization-access", only the permissions it names (true or false). */
function teamChanges(a: Static<typeof updateTeamDocument>['data']['attributes'] = {}): TeamChangeRequest {
  const access = a['organization-access'];
  return {
    name: a.name,
    visibility: a.visibility,
    ssoTeamId: a['sso-team-id'],
    allowMemberTokenManagement: a['allow-member-token-management'],
    organizationAccess: access
      ? Object.fromEntries(ORGANIZATION_PERMISSIONS.filter((p) => access[p] !== undefined).map((p) => [p, access[p] === true]))
      : undefined,
  };
}

const MEMBERSHIP_STATUSES: readonly MembershipStatus[] = ['invited', 'active'];
/** What include= may name on organization memberships (as parseIncludes spells them). */
const MEMBERSHIP_INCLUDES = ['user', 'teams'];

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

export interface TeamRouteDeps {
  users: UserService;
  memberships: MembershipService;
  teams: TeamService;
  site: Site;
}

export function registerTeamRoutes(router: ApiRouter, { users, memberships, teams, site }: TeamRouteDeps): void {
  // ------------------------------------------------------------ organization memberships

  /** Memberships as resources, with their teams (loaded in one query). */
  async function membershipViews(list: Array<{ membership: Membership; org: Organization }>): Promise<View[]> {
    const teamIds = await memberships.teamsOf(list.map((i) => i.membership));
    return list.map(({ membership, org }, i) => presentMembership(membership, org, teamIds[i]));
  }

  async function membershipIncludes(q: Query, views: View[], list: Membership[], subject: Subject): Promise<Resource[]> {
    const includes = parseIncludes(q);
    // As Terraform Cloud answers (and go-tfe recognizes as ErrInvalidIncludeValue).
    const unknown = [...includes].find((i) => !MEMBERSHIP_INCLUDES.includes(i));
    if (unknown !== undefined) {
      throw new BadRequestError(`Invalid include parameter: "${unknown.replace(/_/g, '-')}"; organization memberships include ${MEMBERSHIP_INCLUDES.join(' and ')}`, {
        parameter: 'include',
      });
    }
    const included: Resource[] = [];
    if (includes.has('user')) {
      const ids = list.flatMap((m) => m.userId ?? []);
      const byId = new Map((await users.byIds(ids)).map((u) => [u.id, u]));
      const found = ids.flatMap((id) => byId.get(id) ?? []);
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
    const { membership, org } = await memberships.invite(subject, ctx.params.org, {
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
    const { org, items, total, counts } = await memberships.list(subject, ctx.params.org, {
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
    const { items, total } = await memberships.own(subject, { limit: page.size, offset: pageOffset(page) });
    const views = await membershipViews(items);
    const included = await membershipIncludes(q, views, items.map((i) => i.membership), subject);
    send(ctx, 200, encode(membershipType, views, { ...paginate(page, total, requestUrl(ctx, site)), included }));
  });

  router.get('/organization-memberships/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { membership, org } = await memberships.get(subject, ctx.params.id);
    const [view] = await membershipViews([{ membership, org }]);
    send(ctx, 200, encode(membershipType, view, { included: await membershipIncludes(query(ctx), [view], [membership], subject) }));
  });

  router.delete('/organization-memberships/:id', async (ctx) => {
    await memberships.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // ------------------------------------------------------------ teams

  /**
   * Teams as resources, with their members and memberships (loaded in one query each); `included`,
   * the members as users and the memberships, when q includes them.
   */
  async function teamViews(list: Array<{ team: Team; org: Organization }>, subject: Subject, q: Query = {}): Promise<{ views: View[]; included: Resource[] }> {
    const members = await teams.members(list.map((t) => t.team));
    const membershipIds = await teams.membershipIds(list.map((t) => t.team));
    const membersOf = (team: Team) => members.get(team.id) ?? [];
    const views = list.map(({ team, org }) => presentTeam(team, org, membersOf(team).map((u) => u.id), membershipIds.get(team.id) ?? [], subject));
    const includes = parseIncludes(q);
    const included = includes.has('users') ? resources(userType, list.flatMap(({ team }) => membersOf(team)).map((u) => presentUser(u, subject))) : [];
    if (includes.has('organization_memberships')) {
      const found = await memberships.byIds([...new Set([...membershipIds.values()].flat())]);
      const orgs = new Map(list.map(({ org }) => [org.id, org]));
      included.push(...resources(membershipType, await membershipViews(found.map((membership) => ({ membership, org: orgs.get(membership.organizationId)! })))));
    }
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
    const changes = teamChanges(readCreateTeam(body(ctx)).data.attributes);
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
    const updated = await teams.update(subject, ctx.params.id, teamChanges(readUpdateTeam(body(ctx)).data.attributes));
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
    await teams.addMemberships(subjectOf(ctx), ctx.params.id, readMemberships(body(ctx)).data.map((m) => m.id));
    noContent(ctx);
  });

  router.delete('/teams/:id/relationships/organization-memberships', async (ctx) => {
    await teams.removeMemberships(subjectOf(ctx), ctx.params.id, readMemberships(body(ctx)).data.map((m) => m.id));
    noContent(ctx);
  });

  // ------------------------------------------------------------ team tokens

  router.post('/teams/:id/authentication-token', async (ctx) => {
    const doc: Static<typeof legacyTeamTokenDocument> = optionalBody(body(ctx), readLegacyTeamToken, { data: { type: 'authentication-token' } });
    const { token, secret } = await teams.createLegacyToken(subjectOf(ctx), ctx.params.id, expiry(doc.data.attributes));
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
    const { token, secret } = await teams.createToken(subjectOf(ctx), ctx.params.id, { description: doc.data.attributes.description, expiredAt: expiry(doc.data.attributes) });
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
      teamId: doc.data.relationships.team.data.id,
      workspaceId: doc.data.relationships.workspace.data.id,
      access: doc.data.attributes.access,
      permissions: permissionChanges(doc.data.attributes),
    });
    send(ctx, 201, encode(teamAccessType, presentTeamAccess(access)));
  });

  router.get('/team-workspaces/:id', async (ctx) => {
    send(ctx, 200, encode(teamAccessType, presentTeamAccess(await teams.getAccess(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/team-workspaces/:id', async (ctx) => {
    const doc = readUpdateTeamAccess(body(ctx));
    const access = await teams.updateAccess(subjectOf(ctx), ctx.params.id, { access: doc.data.attributes?.access, permissions: permissionChanges(doc.data.attributes) });
    send(ctx, 200, encode(teamAccessType, presentTeamAccess(access)));
  });

  router.delete('/team-workspaces/:id', async (ctx) => {
    await teams.deleteAccess(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // ------------------------------------------------------------ team access to projects

  router.get('/team-projects', async (ctx) => {
    const q = query(ctx);
    const projectId = queryValue(q, 'filter[project][id]');
    if (!projectId) throw new BadRequestError('query parameter filter[project][id] is required', { parameter: 'filter[project][id]' });
    const page = parsePage(q);
    const { items, total } = await teams.listProjectAccess(subjectOf(ctx), projectId, { limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(teamProjectAccessType, items.map(presentProjectAccess), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/team-projects', async (ctx) => {
    const doc = readCreateProjectAccess(body(ctx));
    const access = await teams.createProjectAccess(subjectOf(ctx), {
      teamId: doc.data.relationships.team.data.id,
      projectId: doc.data.relationships.project.data.id,
      access: doc.data.attributes.access,
      permissions: projectPermissionChanges(doc.data.attributes),
    });
    send(ctx, 201, encode(teamProjectAccessType, presentProjectAccess(access)));
  });

  router.get('/team-projects/:id', async (ctx) => {
    send(ctx, 200, encode(teamProjectAccessType, presentProjectAccess(await teams.getProjectAccess(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/team-projects/:id', async (ctx) => {
    const doc = readUpdateProjectAccess(body(ctx));
    const attributes = doc.data.attributes;
    const access = await teams.updateProjectAccess(subjectOf(ctx), ctx.params.id, { access: attributes?.access, permissions: projectPermissionChanges(attributes) });
    send(ctx, 200, encode(teamProjectAccessType, presentProjectAccess(access)));
  });

  router.delete('/team-projects/:id', async (ctx) => {
    await teams.deleteProjectAccess(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
