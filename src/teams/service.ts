// Rules of teams: the owners team every organization has (made with it: see memberships.ts), other
// teams with their members and organization-level permissions, team tokens, and the access teams
// have to workspaces and to projects.
import { audited, recordChange } from '../audit/index.js';
import {
  CUSTOM_DEFAULTS,
  LEVEL_PERMISSIONS,
  PROJECT_CUSTOM_DEFAULTS,
  PROJECT_LEVEL_PERMISSIONS,
  type AccessLevel,
  type OrganizationPermission,
  type ProjectAccessLevel,
  type ProjectPermissions,
  type WorkspacePermissions,
} from '../auth/access.js';
import { actsAsTeam, authorize, isAllowed, isOwner, missingPermission, type Action } from '../auth/authorize.js';
import type { SubjectCache } from '../auth/cache.js';
import { teamSubject, teamTokenSubject } from '../auth/grants.js';
import type { TokenResolver } from '../auth/service.js';
import { principalOf, type Subject } from '../auth/subject.js';
import { issueToken, UsageRecorder } from '../auth/tokens.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import type { Project, ProjectService } from '../projects/index.js';
import { checkExpiry, type Page, type User, type UserService } from '../users/index.js';
import { workspaceScope, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import { keepAnOwner, OWNERS } from './memberships.js';
import * as store from './store.js';
import type { ProjectAccess, Team, TeamAccess, TeamChanges, TeamToken } from './store.js';

export type { ProjectAccess, Team, TeamAccess, TeamChanges, TeamToken } from './store.js';

/** Organization permissions that need another to be granted with them. */
const REQUIRES: Partial<Record<OrganizationPermission, OrganizationPermission>> = {
  'manage-projects': 'manage-workspaces',
  'read-projects': 'read-workspaces',
};

/** Custom permissions as a request gives them: any of them, the rest taken from elsewhere. */
export type PermissionChanges = Partial<WorkspacePermissions>;

/**
 * A team's settings as a request gives them: organization permissions named true are granted,
 * named false taken away, and those not named are kept (a PATCH changes only what it sends).
 */
export type TeamChangeRequest = Omit<TeamChanges, 'organizationAccess'> & { organizationAccess?: Partial<Record<OrganizationPermission, boolean>> };

/** The team's organization permissions once the request's changes are made to `current`. */
function changedAccess(current: readonly OrganizationPermission[], changes: Partial<Record<OrganizationPermission, boolean>>): OrganizationPermission[] {
  const held = new Set(current);
  for (const [p, on] of Object.entries(changes) as Array<[OrganizationPermission, boolean]>) {
    if (on) held.add(p);
    else held.delete(p);
  }
  return [...held];
}

/** Custom project permissions as a request gives them: any of them, the rest taken from elsewhere. */
export type ProjectPermissionChanges = Partial<Omit<ProjectPermissions, 'workspaces'>> & { workspaces?: Partial<WorkspacePermissions> };

export class TeamService implements TokenResolver {
  readonly prefix = 'tt';
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly users: UserService,
    private readonly workspaces: WorkspaceService,
    private readonly projects: ProjectService,
    /** Emptied after every write here: each one may change what some token's subject holds. */
    private readonly subjects: SubjectCache,
  ) {}

  private scope(org: { id: string }) {
    return { organizationId: org.id };
  }

  /** Whether the subject sees the team: teams visible to the organization, and secret ones to their members and owners. */
  private canSeeTeam(subject: Subject, team: Team): boolean {
    if (!isAllowed(subject, 'team:read', this.scope({ id: team.organizationId }))) return false;
    return team.visibility === 'organization' || this.secretTeamsVisible(subject, team.organizationId) === null || actsAsTeam(subject, team.organizationId, team.id);
  }

  /** The secret teams the subject may see; null for all of them (owners, and whoever manages teams or their members). */
  private secretTeamsVisible(subject: Subject, organizationId: string): string[] | null {
    const scope = { organizationId };
    if (isOwner(subject, organizationId) || isAllowed(subject, 'team:manage', scope) || isAllowed(subject, 'team:manage-membership', scope)) return null;
    if (subject.kind === 'user') {
      const grants = subject.organizations.get(organizationId);
      return grants?.access.has('access-secret-teams') ? null : [...(grants?.teams ?? [])];
    }
    if (subject.kind === 'team') return subject.grants.access.has('access-secret-teams') ? null : [subject.teamId];
    return [];
  }

  /** The team, if the subject may see it; else null. */
  async find(subject: Subject, id: string): Promise<{ team: Team; org: Organization } | null> {
    const team = await store.findTeam(this.db, id);
    if (!team || !this.canSeeTeam(subject, team)) return null;
    return { team, org: (await this.orgs.byId(team.organizationId))! };
  }

  /** The team, if the subject may see it; else NotFoundError. */
  async get(subject: Subject, id: string): Promise<{ team: Team; org: Organization }> {
    const found = await this.find(subject, id);
    if (!found) throw notFound('team', id);
    return found;
  }

  private async manageable(subject: Subject, id: string, action: Action): Promise<{ team: Team; org: Organization }> {
    const found = await this.get(subject, id);
    authorize(subject, action, this.scope(found.org), () => notFound('team', id));
    return found;
  }

  /**
   * The owners team is changed by owners only: its members, tokens and grants hold every right in
   * the organization, so whoever else changed it (a team that manages teams or members, an
   * organization token) would give out rights it does not hold itself.
   */
  private ownersOnly(subject: Subject, team: Team, org: Organization, what: string): void {
    if (team.isOwners && !isOwner(subject, org.id)) {
      const who = subject.kind === 'organization-token' ? 'an organization token may not' : 'insufficient permissions: only owners may';
      throw new ForbiddenError(`${who} ${what} of the owners team`);
    }
  }

  async list(
    subject: Subject,
    orgName: string,
    filter: Page & { search?: string; names?: string[] },
  ): Promise<{ org: Organization; items: Team[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'team:read', this.scope(org), () => notFound('organization', orgName));
    const page = await store.listTeams(this.db, { ...filter, organizationId: org.id, secretVisible: this.secretTeamsVisible(subject, org.id) });
    return { org, ...page };
  }

  /**
   * A team's permissions (`access`) must hold together, and a subject may grant (`granted`) only
   * organization permissions it holds itself (owners hold them all).
   */
  private checkGrantable(subject: Subject, org: Organization, access: OrganizationPermission[], granted: OrganizationPermission[] = access): void {
    for (const [permission, needed] of Object.entries(REQUIRES) as Array<[OrganizationPermission, OrganizationPermission]>) {
      if (access.includes(permission) && !access.includes(needed)) {
        throw new InvalidError(`organization access "${permission}" needs "${needed}" as well`, { pointer: `/data/attributes/organization-access/${permission}` });
      }
    }
    if (isOwner(subject, org.id) || subject.kind === 'organization-token') return;
    const held = subject.kind === 'user' ? subject.organizations.get(org.id)?.access : subject.kind === 'team' ? subject.grants.access : undefined;
    const missing = granted.find((p) => !held?.has(p));
    if (missing) throw new ForbiddenError(`insufficient permissions: you may grant only organization permissions you hold, and you do not hold "${missing}"`);
  }

  async create(subject: Subject, orgName: string, request: TeamChangeRequest & { name: string }): Promise<{ team: Team; org: Organization }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'team:manage', this.scope(org), () => notFound('organization', orgName));
    const access = changedAccess([], request.organizationAccess ?? {});
    const input = { ...request, organizationAccess: access };
    if (access.length > 0) {
      authorize(subject, 'team:manage-organization-access', this.scope(org), () => notFound('organization', orgName));
      this.checkGrantable(subject, org, access);
    }
    try {
      const teamId = newId('team');
      const team = await audited(this.db, (trx) => store.insertTeam(trx, { ...input, id: teamId, organizationId: org.id, isOwners: false, organizationAccess: access }), { action: 'team.create', resource: { type: 'teams', id: teamId }, organizationId: org.id, details: { name: input.name } });
      this.subjects.changed();
      return { team, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`organization "${org.name}" already has a team named "${input.name}"`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  async update(subject: Subject, id: string, request: TeamChangeRequest): Promise<{ team: Team; org: Organization }> {
    const { team, org } = await this.manageable(subject, id, 'team:manage');
    const changes: TeamChanges = { ...request, organizationAccess: undefined };
    const granted = Object.entries(request.organizationAccess ?? {}).flatMap(([p, on]) => (on && !team.organizationAccess.includes(p as OrganizationPermission) ? [p as OrganizationPermission] : []));
    if (request.organizationAccess !== undefined) changes.organizationAccess = changedAccess(team.organizationAccess, request.organizationAccess);
    this.ownersOnly(subject, team, org, 'change the settings');
    if (team.isOwners) {
      if (changes.name !== undefined && changes.name !== OWNERS) throw new InvalidError('the owners team cannot be renamed', { pointer: '/data/attributes/name' });
      if (changes.organizationAccess !== undefined) {
        throw new InvalidError('the owners team holds every organization permission; its organization access cannot be changed', {
          pointer: '/data/attributes/organization-access',
        });
      }
    }
    if (changes.organizationAccess !== undefined) {
      authorize(subject, 'team:manage-organization-access', this.scope(org), () => notFound('team', id));
      this.checkGrantable(subject, org, changes.organizationAccess, granted);
    }
    try {
      const updated = await audited(this.db, (trx) => store.updateTeam(trx, team.id, changes), { action: 'team.update', resource: { type: 'teams', id: team.id }, organizationId: org.id, details: { name: team.name, changed: Object.keys(request).join(',') } });
      this.subjects.changed();
      return { team: updated, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`organization "${org.name}" already has a team named "${changes.name}"`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  async delete(subject: Subject, id: string): Promise<void> {
    const { team } = await this.manageable(subject, id, 'team:manage');
    if (team.isOwners) throw new ConflictError('the owners team cannot be deleted');
    await audited(this.db, (trx) => store.deleteTeam(trx, team.id), { action: 'team.delete', resource: { type: 'teams', id: team.id }, organizationId: team.organizationId, details: { name: team.name } });
    this.subjects.changed();
  }

  /** Members of each of the teams, by username (a team without members is not in the map). */
  /** The members of these teams, for whoever may see each team: a team the subject may not see lists none. */
  async membersSeenBy(subject: Subject, teams: Team[]): Promise<Map<string, User[]>> {
    return this.members(teams.filter((t) => this.canSeeTeam(subject, t)));
  }

  async members(teams: Team[]): Promise<Map<string, User[]>> {
    const ids = await store.memberIdsOfTeams(
      this.db,
      teams.map((t) => t.id),
    );
    const users = await this.users.byIds([...ids.values()].flat());
    const members = new Map<string, User[]>();
    for (const [teamId, userIds] of ids) {
      const of = new Set(userIds);
      members.set(teamId, users.filter((u) => of.has(u.id)));
    }
    return members;
  }

  // ------------------------------------------------------------ members

  /** Members of the owners team are chosen by owners only. */
  private async membershipEditable(subject: Subject, id: string): Promise<{ team: Team; org: Organization }> {
    const found = await this.manageable(subject, id, 'team:manage-membership');
    this.ownersOnly(subject, found.team, found.org, 'change the members');
    return found;
  }

  /**
   * Joining a team, or holding one of its tokens, gives its organization permissions: whoever is
   * not an owner hands them out only when it holds each of them itself (as for granting them).
   */
  private checkNotStronger(subject: Subject, team: Team, org: Organization, what: string): void {
    const missing = missingPermission(subject, org.id, team.organizationAccess);
    if (missing) throw new ForbiddenError(`insufficient permissions: team "${team.name}" holds "${missing}", which you do not: only who holds it may ${what}`);
  }

  /** The users named (by id or username), each of whom must be an active member of the organization. */
  private async membersToBe(org: Organization, ids: string[]): Promise<User[]> {
    const users: User[] = [];
    for (const [i, id] of ids.entries()) {
      const user = await this.users.byIdOrName(id);
      const membership = user ? await store.membershipOf(this.db, org.id, user.id) : null;
      if (!user || membership?.status !== 'active') {
        throw new InvalidError(`user "${id}" is not a member of organization "${org.name}": invite them first`, { pointer: `/data/${i}/id` });
      }
      users.push(user);
    }
    return users;
  }

  async addMembers(subject: Subject, id: string, userIds: string[]): Promise<void> {
    const { team, org } = await this.membershipEditable(subject, id);
    this.checkNotStronger(subject, team, org, 'add members to the team');
    const users = await this.membersToBe(org, userIds);
    await this.db.transaction(async (trx) => {
      for (const user of users) await store.addTeamMembers(trx, [team.id], user.id);
      await recordChange(trx, { action: 'team.add-members', resource: { type: 'teams', id: team.id }, organizationId: org.id, details: { users: users.map((u) => u.username).join(',') } });
    });
    this.subjects.changed();
  }

  async removeMembers(subject: Subject, id: string, userIds: string[]): Promise<void> {
    const { team, org } = await this.membershipEditable(subject, id);
    const users = await Promise.all(userIds.map((u) => this.users.byIdOrName(u)));
    const unknown = users.findIndex((u) => u === null);
    if (unknown >= 0) throw new InvalidError(`there is no user "${userIds[unknown]}"`, { pointer: `/data/${unknown}/id` });
    const ids = users.map((u) => u!.id);
    await this.db.transaction(async (trx) => {
      if (team.isOwners) await keepAnOwner(trx, org, ids);
      await store.removeTeamMembers(trx, team.id, ids);
      await recordChange(trx, { action: 'team.remove-members', resource: { type: 'teams', id: team.id }, organizationId: org.id, details: { users: ids.join(',') } });
    });
    this.subjects.changed();
  }

  /** The memberships named, each of the team's organization, split into users (active) and invitations. */
  private async membershipsOf(org: Organization, membershipIds: string[]): Promise<{ userIds: string[]; invitations: string[] }> {
    const userIds: string[] = [];
    const invitations: string[] = [];
    for (const [i, membershipId] of membershipIds.entries()) {
      const m = await store.findMembership(this.db, membershipId);
      if (!m || m.organizationId !== org.id) throw new InvalidError(`"${membershipId}" is not a membership of organization "${org.name}"`, { pointer: `/data/${i}/id` });
      if (m.status === 'active' && m.userId) userIds.push(m.userId);
      else invitations.push(m.id);
    }
    return { userIds, invitations };
  }

  /**
   * Adds organization memberships to the team (the other way Terraform Cloud names members): an
   * active one's user joins at once; an invitation joins once its user exists, as if invited into
   * the team.
   */
  async addMemberships(subject: Subject, id: string, membershipIds: string[]): Promise<void> {
    const { team, org } = await this.membershipEditable(subject, id);
    this.checkNotStronger(subject, team, org, 'add members to the team');
    const { userIds, invitations } = await this.membershipsOf(org, membershipIds);
    if (userIds.length > 0) await this.addMembers(subject, id, userIds);
    if (invitations.length > 0) await store.inviteIntoTeam(this.db, invitations, team.id);
  }

  async removeMemberships(subject: Subject, id: string, membershipIds: string[]): Promise<void> {
    const { team, org } = await this.membershipEditable(subject, id);
    const { userIds, invitations } = await this.membershipsOf(org, membershipIds);
    if (userIds.length > 0) await this.removeMembers(subject, id, userIds);
    if (invitations.length > 0) await store.uninviteFromTeam(this.db, invitations, team.id);
  }

  /** The organization memberships of each of the teams: of their members, and the invitations into them. */
  async membershipIds(teams: Team[]): Promise<Map<string, string[]>> {
    return store.membershipIdsOfTeams(
      this.db,
      teams.map((t) => t.id),
    );
  }

  // ------------------------------------------------------------ team tokens

  /**
   * Who manages a team's tokens: users who manage teams, and the team's own members when the team
   * allows it (never for the owners team, whose token has every right). A token mints no tokens:
   * not an organization token (a team token may queue and apply runs, which it may not), nor a team
   * token (a leaked token could outlive its own revocation). Whoever manages teams gets the tokens
   * only of teams whose organization permissions it holds itself, as for granting them.
   */
  private async tokensManageable(subject: Subject, team: Team, org: Organization): Promise<void> {
    if (subject.kind === 'organization-token' || subject.kind === 'team') {
      const what = subject.kind === 'team' ? 'a team token' : 'an organization token';
      throw new ForbiddenError(`${what} may not manage team tokens: a token mints no tokens; use a user token`);
    }
    if (isAllowed(subject, 'team:manage', this.scope(org))) {
      this.ownersOnly(subject, team, org, 'manage the tokens');
      this.checkNotStronger(subject, team, org, "manage the team's tokens");
      return;
    }
    const member = subject.kind === 'user' && actsAsTeam(subject, org.id, team.id);
    if (member && team.allowMemberTokenManagement && !team.isOwners) return;
    throw new ForbiddenError(`insufficient permissions: to manage the tokens of team "${team.name}" you need the manage-teams organization permission`);
  }

  /** Creates the team's legacy token, replacing the one there was. */
  async createLegacyToken(subject: Subject, id: string, expiredAt: Date | null): Promise<{ token: TeamToken; secret: string }> {
    const { team, org } = await this.get(subject, id);
    await this.tokensManageable(subject, team, org);
    checkExpiry(expiredAt);
    const issued = issueToken(this.prefix);
    const token = await this.db.transaction(async (trx) => {
      await store.deleteLegacyTeamToken(trx, team.id);
      await recordChange(trx, { action: 'team-token.create', resource: { type: 'authentication-tokens', id: issued.id }, organizationId: org.id, details: { team: team.id } });
      return store.insertTeamToken(trx, { id: issued.id, teamId: team.id, description: null, secretHash: issued.secretHash, expiredAt, createdBy: principalOf(subject) });
    });
    this.subjects.changed();
    return { token, secret: issued.token };
  }

  async legacyToken(subject: Subject, id: string): Promise<TeamToken> {
    const { team, org } = await this.get(subject, id);
    await this.tokensManageable(subject, team, org);
    const token = await store.findLegacyTeamToken(this.db, team.id);
    if (!token) throw new NotFoundError(`team "${team.name}" has no authentication token`);
    return token;
  }

  async deleteLegacyToken(subject: Subject, id: string): Promise<void> {
    const { team, org } = await this.get(subject, id);
    await this.tokensManageable(subject, team, org);
    const tokenChange = { action: 'team-token.delete', resource: { type: 'teams', id: team.id }, organizationId: org.id, details: { team: team.id } };
    if (!(await audited(this.db, (trx) => store.deleteLegacyTeamToken(trx, team.id), (deleted) => (deleted ? tokenChange : null)))) throw new NotFoundError(`team "${team.name}" has no authentication token`);
    this.subjects.changed();
  }

  /** Creates one of the team's named tokens; their descriptions are unique within the team. */
  async createToken(subject: Subject, id: string, input: { description: string; expiredAt: Date | null }): Promise<{ token: TeamToken; secret: string }> {
    const { team, org } = await this.get(subject, id);
    await this.tokensManageable(subject, team, org);
    checkExpiry(input.expiredAt);
    const issued = issueToken(this.prefix);
    try {
      const tokenChange = { action: 'team-token.create', resource: { type: 'authentication-tokens', id: issued.id }, organizationId: org.id, details: { team: team.id, description: input.description } };
      const token = await audited(this.db, (trx) => store.insertTeamToken(trx, {
        id: issued.id,
        teamId: team.id,
        description: input.description,
        secretHash: issued.secretHash,
        expiredAt: input.expiredAt,
        createdBy: principalOf(subject),
      }), tokenChange);
      return { token, secret: issued.token };
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ConflictError(`team "${team.name}" already has a token described "${input.description}"`, { pointer: '/data/attributes/description' });
      }
      throw err;
    }
  }

  async listTokens(subject: Subject, id: string, page: Page): Promise<{ items: TeamToken[]; total: number }> {
    const { team, org } = await this.get(subject, id);
    await this.tokensManageable(subject, team, org);
    return store.listTeamTokens(this.db, team.id, page.limit, page.offset);
  }

  async getToken(subject: Subject, tokenId: string): Promise<TeamToken> {
    return (await this.locateToken(subject, tokenId)).token;
  }

  /** The token and its team, if the subject may manage the team's tokens; 404 when it may not see it. */
  private async locateToken(subject: Subject, tokenId: string): Promise<{ token: TeamToken; team: Team }> {
    const token = await store.findTeamToken(this.db, tokenId);
    if (!token) throw notFound('authentication token', tokenId);
    const team = (await store.findTeam(this.db, token.teamId))!;
    if (!this.canSeeTeam(subject, team)) throw notFound('authentication token', tokenId);
    await this.tokensManageable(subject, team, (await this.orgs.byId(team.organizationId))!);
    return { token, team };
  }

  async deleteToken(subject: Subject, tokenId: string): Promise<void> {
    const { token, team } = await this.locateToken(subject, tokenId);
    await audited(this.db, (trx) => store.deleteTeamToken(trx, token.id), { action: 'team-token.delete', resource: { type: 'authentication-tokens', id: token.id }, organizationId: team.organizationId, details: { team: team.id } });
    this.subjects.changed();
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const subject = await this.subjects.authenticate(id, secret, () => teamTokenSubject(this.db, id));
    if (subject && this.usage.due(id)) await store.touchTeamToken(this.db, id);
    return subject;
  }

  /** The team's subject as its tokens would have it now; null when there is no such team. */
  async subjectOfTeam(teamId: string): Promise<Subject | null> {
    return teamSubject(this.db, teamId);
  }

  // ------------------------------------------------------------ team access to workspaces

  /** Entries a subject may see: all of them for workspace admins, else those of its own teams. */
  private canSeeAccess(subject: Subject, ws: Workspace, access: TeamAccess): boolean {
    return isAllowed(subject, 'workspace:manage-team-access', workspaceScope(ws)) || actsAsTeam(subject, ws.organizationId, access.teamId);
  }

  /** Changing a grant of the owners team (on a workspace or a project) is for owners only. */
  private async grantOfOwnersOnly(subject: Subject, teamId: string, what: string): Promise<void> {
    const team = (await store.findTeam(this.db, teamId))!;
    this.ownersOnly(subject, team, (await this.orgs.byId(team.organizationId))!, what);
  }

  /** The team a new grant names: a team of the organization the subject can see, else 422. */
  private async grantableTeam(subject: Subject, teamId: string, organizationId: string, of: 'workspace' | 'project'): Promise<Team> {
    const team = await store.findTeam(this.db, teamId);
    if (!team || team.organizationId !== organizationId || !this.canSeeTeam(subject, team)) {
      throw new InvalidError(`team "${teamId}" is not a team of the ${of}'s organization that you can see`, { pointer: '/data/relationships/team/data/id' });
    }
    return team;
  }

  async listAccess(subject: Subject, workspaceId: string, page: Page): Promise<{ items: TeamAccess[]; total: number }> {
    const ws = await this.workspaces.get(subject, workspaceId);
    const { items } = await store.listTeamAccess(this.db, ws.id, 10_000, 0);
    const visible = items.filter((a) => this.canSeeAccess(subject, ws, a));
    return { items: visible.slice(page.offset, page.offset + page.limit), total: visible.length };
  }

  async getAccess(subject: Subject, id: string): Promise<TeamAccess> {
    return (await this.visibleAccess(subject, id)).access;
  }

  /** The entry, if the subject may see it, with its workspace; else NotFoundError. */
  private async visibleAccess(subject: Subject, id: string): Promise<{ access: TeamAccess; ws: Workspace }> {
    const access = await store.findTeamAccess(this.db, id);
    if (!access) throw notFound('team access', id);
    const ws = (await this.workspaces.byId(access.workspaceId))!;
    if (!isAllowed(subject, 'workspace:read', workspaceScope(ws)) || !this.canSeeAccess(subject, ws, access)) throw notFound('team access', id);
    return { access, ws };
  }

  async createAccess(
    subject: Subject,
    input: { teamId: string; workspaceId: string; access: AccessLevel; permissions: PermissionChanges },
  ): Promise<TeamAccess> {
    const ws = await this.workspaces.get(subject, input.workspaceId);
    authorize(subject, 'workspace:manage-team-access', workspaceScope(ws), () => notFound('workspace', input.workspaceId));
    const team = await this.grantableTeam(subject, input.teamId, ws.organizationId, 'workspace');
    this.ownersOnly(subject, team, (await this.orgs.byId(ws.organizationId))!, 'change the workspace access');
    try {
      const accessId = newId('tws');
      const accessChange = { action: 'team-access.create', resource: { type: 'team-workspaces', id: accessId }, organizationId: ws.organizationId, details: { team: team.id, workspace: ws.id, access: input.access } };
      const created = await audited(this.db, (trx) => store.insertTeamAccess(trx, {
        id: accessId,
        teamId: team.id,
        workspaceId: ws.id,
        access: input.access,
        permissions: permissionsFor(input.access, input.permissions, CUSTOM_DEFAULTS),
      }), accessChange);
      this.subjects.changed();
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`team "${team.name}" already has access to workspace "${ws.name}": update that access instead`);
      throw err;
    }
  }

  async updateAccess(subject: Subject, id: string, input: { access?: AccessLevel; permissions: PermissionChanges }): Promise<TeamAccess> {
    const { access: current, ws } = await this.visibleAccess(subject, id);
    authorize(subject, 'workspace:manage-team-access', workspaceScope(ws), () => notFound('team access', id));
    await this.grantOfOwnersOnly(subject, current.teamId, 'change the workspace access');
    const access = input.access ?? current.access;
    const accessChange = { action: 'team-access.update', resource: { type: 'team-workspaces', id }, organizationId: ws.organizationId, details: { team: current.teamId, workspace: ws.id, access } };
    const updated = await audited(this.db, (trx) => store.updateTeamAccess(trx, id, access, permissionsFor(access, input.permissions, current.permissions)), accessChange);
    this.subjects.changed();
    return updated;
  }

  async deleteAccess(subject: Subject, id: string): Promise<void> {
    const { access, ws } = await this.visibleAccess(subject, id);
    authorize(subject, 'workspace:manage-team-access', workspaceScope(ws), () => notFound('team access', id));
    await this.grantOfOwnersOnly(subject, access.teamId, 'change the workspace access');
    await audited(this.db, (trx) => store.deleteTeamAccess(trx, id), { action: 'team-access.delete', resource: { type: 'team-workspaces', id }, organizationId: ws.organizationId, details: { team: access.teamId, workspace: ws.id } });
    this.subjects.changed();
  }

  // ------------------------------------------------------------ team access to projects

  private projectScope(project: Project) {
    return { organizationId: project.organizationId, projectId: project.id };
  }

  /**
   * Entries a subject may see (as Terraform Cloud shows them to members): all of them to whoever
   * manages the project's team access, else those of the teams it sees.
   */
  private async visibleProjectAccess(subject: Subject, project: Project, items: ProjectAccess[]): Promise<ProjectAccess[]> {
    if (isAllowed(subject, 'project:manage-team-access', this.projectScope(project))) return items;
    const teams = new Map((await store.findTeams(this.db, items.map((a) => a.teamId))).map((t) => [t.id, t]));
    return items.filter((a) => this.canSeeTeam(subject, teams.get(a.teamId)!));
  }

  /** The entry, if the subject may see it, with its project; else NotFoundError. */
  private async projectAccessOf(subject: Subject, id: string): Promise<{ access: ProjectAccess; project: Project }> {
    const access = await store.findProjectAccess(this.db, id);
    if (!access) throw notFound('team project access', id);
    const project = (await this.projects.byId(access.projectId))!;
    if (!isAllowed(subject, 'project:read-team-access', this.projectScope(project))) throw notFound('team project access', id);
    if ((await this.visibleProjectAccess(subject, project, [access])).length === 0) throw notFound('team project access', id);
    return { access, project };
  }

  async listProjectAccess(subject: Subject, projectId: string, page: Page): Promise<{ items: ProjectAccess[]; total: number }> {
    const { project } = await this.projects.get(subject, projectId);
    authorize(subject, 'project:read-team-access', this.projectScope(project), () => notFound('project', projectId));
    const visible = await this.visibleProjectAccess(subject, project, await store.listProjectAccess(this.db, project.id));
    return { items: visible.slice(page.offset, page.offset + page.limit), total: visible.length };
  }

  async getProjectAccess(subject: Subject, id: string): Promise<ProjectAccess> {
    return (await this.projectAccessOf(subject, id)).access;
  }

  async createProjectAccess(
    subject: Subject,
    input: { teamId: string; projectId: string; access: ProjectAccessLevel; permissions: ProjectPermissionChanges },
  ): Promise<ProjectAccess> {
    const { project, org } = await this.projects.get(subject, input.projectId);
    authorize(subject, 'project:manage-team-access', this.projectScope(project), () => notFound('project', input.projectId));
    const team = await this.grantableTeam(subject, input.teamId, project.organizationId, 'project');
    this.ownersOnly(subject, team, org, 'change the project access');
    try {
      const created = await store.insertProjectAccess(this.db, {
        id: newId('tprj'),
        teamId: team.id,
        projectId: project.id,
        access: input.access,
        permissions: projectPermissionsFor(input.access, input.permissions, PROJECT_CUSTOM_DEFAULTS),
      });
      this.subjects.changed();
      return created;
    } catch (err) {
      // Terraform Cloud answers 422 here ("has already been taken"), not 409.
      if (isUniqueViolation(err)) {
        throw new InvalidError(`team "${team.name}" already has access to project "${project.name}": update that access instead`, {
          pointer: '/data/relationships/team/data/id',
        });
      }
      throw err;
    }
  }

  async updateProjectAccess(subject: Subject, id: string, input: { access?: ProjectAccessLevel; permissions: ProjectPermissionChanges }): Promise<ProjectAccess> {
    const { access: current, project } = await this.projectAccessOf(subject, id);
    authorize(subject, 'project:manage-team-access', this.projectScope(project), () => notFound('team project access', id));
    await this.grantOfOwnersOnly(subject, current.teamId, 'change the project access');
    const access = input.access ?? current.access;
    const updated = await store.updateProjectAccess(this.db, id, access, projectPermissionsFor(access, input.permissions, current.permissions));
    this.subjects.changed();
    return updated;
  }

  async deleteProjectAccess(subject: Subject, id: string): Promise<void> {
    const { access, project } = await this.projectAccessOf(subject, id);
    authorize(subject, 'project:manage-team-access', this.projectScope(project), () => notFound('team project access', id));
    await this.grantOfOwnersOnly(subject, access.teamId, 'change the project access');
    await store.deleteProjectAccess(this.db, id);
    this.subjects.changed();
  }
}

/** Each workspace permission as Terraform Cloud names it in its errors. */
const PERMISSION_NAMES: Record<keyof WorkspacePermissions, string> = {
  runs: 'Runs',
  variables: 'Variables',
  stateVersions: 'State versions',
  sentinelMocks: 'Sentinel mocks',
  workspaceLocking: 'Workspace locking',
  runTasks: 'Run tasks',
};

/**
 * The permissions a grant stores: a fixed level's own, or for custom access the given ones over
 * `base` (the grant's current permissions, or the defaults for a new grant). Permissions given with
 * a fixed level are refused: they would be ignored.
 */
function permissionsFor(access: AccessLevel, given: PermissionChanges, base: WorkspacePermissions): WorkspacePermissions {
  if (access !== 'custom') {
    const [first] = Object.keys(given) as Array<keyof WorkspacePermissions>;
    if (first !== undefined) {
      // Terraform Cloud's words, which go-tfe's tests compare.
      throw new InvalidError(`${PERMISSION_NAMES[first]} is read-only when access level is '${access}'; use the 'custom' access level to set this attribute.`, {
        pointer: '/data/attributes/access',
      });
    }
    return LEVEL_PERMISSIONS[access];
  }
  return { ...base, ...given };
}

/**
 * The permissions a project grant stores: a fixed level's own, or for custom access the given ones
 * over `base` (the grant's current permissions, or Terraform Cloud's custom defaults for a new grant). Permissions given with a fixed level are refused: they would be ignored.
 */
function projectPermissionsFor(access: ProjectAccessLevel, given: ProjectPermissionChanges, base: ProjectPermissions): ProjectPermissions {
  if (access !== 'custom') {
    const { workspaces, ...project } = given;
    if (Object.keys(project).length > 0 || Object.keys(workspaces ?? {}).length > 0) {
      throw new InvalidError(`permissions are read-only when access level is '${access}'; use the 'custom' access level to set them.`, {
        pointer: '/data/attributes/access',
      });
    }
    return PROJECT_LEVEL_PERMISSIONS[access];
  }
  const { workspaces, ...project } = given;
  return { ...base, ...project, workspaces: { ...base.workspaces, ...workspaces } };
}
