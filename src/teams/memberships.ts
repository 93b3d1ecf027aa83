// Rules of organization memberships: who is in an organization (an active member), or invited to
// it by email, and the teams it is in or is invited into. They live with teams because each needs
// the other (a team's members are members of its organization; a membership ends by leaving the
// teams), and both build on users, which reach them only through MembershipHooks.
import { recordChange } from '../audit/index.js';
import type { Knex } from 'knex';
import { authorize, isOwner, missingPermission } from '../auth/authorize.js';
import type { SubjectCache } from '../auth/cache.js';
import type { Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, ForbiddenError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import type { MembershipHooks, Page, User, UserService } from '../users/index.js';
import * as store from './store.js';
import type { Membership, MembershipStatus } from './store.js';

export type { Membership, MembershipStatus } from './store.js';

export const OWNERS = 'owners';

/**
 * Refuses, inside the transaction, to take the last members out of an organization's owners
 * team: an organization always keeps somebody who may administer it.
 */
export async function keepAnOwner(trx: Knex.Transaction, org: Organization, leaving: string[]): Promise<void> {
  const owners = await store.ownersTeam(trx, org.id);
  if (!owners) return;
  await store.lockTeam(trx, owners.id);
  const members = await store.teamMemberIds(trx, owners.id);
  if (members.length > 0 && members.every((id) => leaving.includes(id))) {
    throw new ConflictError(`the owners team of organization "${org.name}" cannot be left empty: add another owner first`);
  }
}

export class MembershipService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly users: UserService,
    /** Emptied after every write here: each one may change what some token's subject holds. */
    private readonly subjects: SubjectCache,
  ) {}

  /**
   * Inside the transaction that creates an organization: the user who creates it is its first
   * member, and the only member of its owners team, which every organization has.
   */
  readonly organizationCreated = async (trx: Knex.Transaction, org: Organization, creator: Subject): Promise<void> => {
    if (creator.kind === 'user') {
      const user = (await this.users.byId(creator.userId, trx))!;
      await store.insertMembership(trx, { id: newId('ou'), organizationId: org.id, userId: user.id, email: user.email, status: 'active', invitedTeamIds: [] });
    }
    const owners = await store.insertTeam(trx, { id: newId('team'), organizationId: org.id, name: OWNERS, isOwners: true });
    if (creator.kind === 'user') await store.addTeamMembers(trx, [owners.id], creator.userId);
    this.subjects.changedAfter(trx);
  };

  /** What the users domain needs of memberships (see MembershipHooks). */
  readonly userHooks: MembershipHooks = {
    userCreated: (trx, user) => store.activateInvitations(trx, user),
    userDeleting: async (trx, user) => {
      const memberships = await store.listMemberships(trx, { userId: user.id, limit: 10_000, offset: 0 });
      for (const m of memberships.items) {
        const org = (await this.orgs.byId(m.organizationId))!;
        await keepAnOwner(trx, org, [user.id]);
      }
    },
    seesThroughOrganization: async (subject, user) => {
      if (subject.kind === 'user') return store.shareAnOrganization(this.db, subject.userId, user.id);
      if (subject.kind === 'team' || subject.kind === 'organization-token') {
        return (await store.membershipOf(this.db, subject.organizationId, user.id)) !== null;
      }
      return false;
    },
  };

  /**
   * Adds a user to the organization, by email or username, optionally into teams. A user that
   * exists becomes an active member at once; an email nobody has yet is invited: as Terraform
   * Cloud does, a user is made for it now (the membership names it, `include=user` shows it), and
   * the membership becomes active, in the teams it was invited into, when the site administrator
   * creates the user of that email (which takes the invited user over).
   */
  async invite(
    subject: Subject,
    orgName: string,
    input: { email?: string; username?: string; teamIds: string[] },
  ): Promise<{ membership: Membership; org: Organization }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'membership:manage', { organizationId: org.id }, () => notFound('organization', orgName));
    let user: User | null = null;
    if (input.username !== undefined) {
      user = await this.users.byIdOrName(input.username);
      if (!user) throw new InvalidError(`there is no user named "${input.username}"`, { pointer: '/data/attributes/username' });
      if (input.email !== undefined && input.email.toLowerCase() !== user.email.toLowerCase()) {
        throw new InvalidError(`user "${input.username}" has another email than "${input.email}"`, { pointer: '/data/attributes/email' });
      }
    } else if (input.email !== undefined) {
      user = await this.users.byEmail(input.email);
    } else {
      throw new InvalidError('an organization membership needs the "email" or the "username" of the user', { pointer: '/data/attributes' });
    }
    const teams = await Promise.all(input.teamIds.map((id) => store.findTeam(this.db, id)));
    teams.forEach((team, i) => {
      if (!team || team.organizationId !== org.id) {
        throw new InvalidError(`team "${input.teamIds[i]}" is not a team of organization "${org.name}"`, { pointer: `/data/relationships/teams/data/${i}` });
      }
    });
    if (teams.some((t) => t?.isOwners) && !isOwner(subject, org.id)) {
      throw new ForbiddenError('only owners may add members to the owners team');
    }
    for (const team of teams) {
      const missing = missingPermission(subject, org.id, team!.organizationAccess);
      if (missing) throw new ForbiddenError(`insufficient permissions: team "${team!.name}" holds "${missing}", which you do not: only who holds it may add members to the team`);
    }
    const active = user !== null && !user.invited;
    try {
      const membership = await this.db.transaction(async (trx) => {
        const member = user ?? (await this.users.invitee(trx, input.email!));
        const m = await store.insertMembership(trx, {
          id: newId('ou'),
          organizationId: org.id,
          userId: member.id,
          email: member.email,
          status: active ? 'active' : 'invited',
          invitedTeamIds: active ? [] : input.teamIds,
        });
        if (active) await store.addTeamMembers(trx, input.teamIds, member.id);
        await recordChange(trx, { action: 'membership.create', resource: { type: 'organization-memberships', id: m.id }, organizationId: org.id, details: { user: member.id, status: m.status, teams: input.teamIds.join(',') } });
        return m;
      });
      this.subjects.changed();
      return { membership, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`${user ? `user "${user.username}"` : `"${input.email}"`} is already a member of organization "${org.name}"`);
      throw err;
    }
  }

  async list(
    subject: Subject,
    orgName: string,
    filter: Page & { search?: string; statuses?: MembershipStatus[]; emails?: string[] },
  ): Promise<{ org: Organization; items: Membership[]; total: number; counts: Record<MembershipStatus, number> }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'membership:read', { organizationId: org.id }, () => notFound('organization', orgName));
    const { items, total } = await store.listMemberships(this.db, { ...filter, organizationId: org.id });
    return { org, items, total, counts: await store.statusCounts(this.db, org.id) };
  }

  /**
   * The organization's memberships as `list` gives them, each with the username of its user (none
   * for an invitation not yet accepted), for whoever may read the memberships.
   */
  async listWithUsernames(
    subject: Subject,
    orgName: string,
    page: Page,
  ): Promise<{ org: Organization; items: Array<Membership & { username: string | null }>; total: number }> {
    const { org, items, total } = await this.list(subject, orgName, page);
    const users = await this.users.byIds(items.flatMap((m) => (m.userId ? [m.userId] : [])));
    const names = new Map(users.map((u) => [u.id, u.username]));
    return { org, total, items: items.map((m) => ({ ...m, username: m.userId ? (names.get(m.userId) ?? null) : null })) };
  }

  /** The caller's own memberships, in every organization. */
  async own(subject: Subject, page: Page): Promise<{ items: Array<{ membership: Membership; org: Organization }>; total: number }> {
    if (subject.kind !== 'user') throw new ForbiddenError('only a user token has organization memberships of its own');
    const { items, total } = await store.listMemberships(this.db, { userId: subject.userId, ...page });
    return { items: await Promise.all(items.map(async (membership) => ({ membership, org: (await this.orgs.byId(membership.organizationId))! }))), total };
  }

  async get(subject: Subject, id: string): Promise<{ membership: Membership; org: Organization }> {
    const membership = await store.findMembership(this.db, id);
    const own = membership !== null && subject.kind === 'user' && membership.userId === subject.userId;
    if (!membership) throw notFound('organization membership', id);
    const org = (await this.orgs.byId(membership.organizationId))!;
    if (!own) authorize(subject, 'membership:read', { organizationId: org.id }, () => notFound('organization membership', id));
    return { membership, org };
  }

  /** Ends a membership: the user leaves the organization and all its teams. */
  async delete(subject: Subject, id: string): Promise<void> {
    const { membership, org } = await this.get(subject, id);
    const own = subject.kind === 'user' && membership.userId === subject.userId;
    if (!own) authorize(subject, 'membership:manage', { organizationId: org.id }, () => notFound('organization membership', id));
    await this.db.transaction(async (trx) => {
      if (membership.userId && membership.status === 'active') {
        // Taking an owner out of the organization changes the owners team: owners only.
        if (!own && !isOwner(subject, org.id)) {
          const owners = await store.ownersTeam(trx, org.id);
          const members = owners ? await store.teamMemberIds(trx, owners.id) : [];
          if (members.includes(membership.userId)) {
            throw new ForbiddenError('insufficient permissions: only owners may remove a member of the owners team from the organization');
          }
        }
        await keepAnOwner(trx, org, [membership.userId]);
        await store.leaveTeams(trx, org.id, membership.userId);
      }
      await store.deleteMembership(trx, membership.id);
      await recordChange(trx, { action: 'membership.delete', resource: { type: 'organization-memberships', id: membership.id }, organizationId: org.id, details: { user: membership.userId } });
    });
    this.subjects.changed();
  }

  /**
   * Single sign-on (src/web/sso/), at each sign-in: the teams the provider's groups name, as
   * "<organization>/<team>", become the user's (and their organizations, if it was not a member);
   * the team memberships single sign-on made earlier that the groups no longer name end (and the
   * organization memberships it made, once the user is in no team there). Memberships given by
   * hand are left alone. A group of any other form, or naming no team, is ignored. The last owner
   * of an organization stays an owner (an organization always keeps one).
   */
  async signOnGroups(userId: string, groups: string[]): Promise<{ joined: string[]; left: string[] }> {
    const pairs = groups.slice(0, 1000).flatMap((group) => {
      const slash = group.indexOf('/');
      if (slash <= 0 || slash === group.length - 1 || group.length > 300) return [];
      return [{ organization: group.slice(0, slash), team: group.slice(slash + 1) }];
    });
    try {
      return await this.syncSignOnGroups(userId, pairs);
    } catch (err) {
      // Two sign-ins of one user at once both made the same membership: the second one, again, finds it.
      if (isUniqueViolation(err)) return this.syncSignOnGroups(userId, pairs);
      throw err;
    }
  }

  private async syncSignOnGroups(userId: string, pairs: Array<{ organization: string; team: string }>): Promise<{ joined: string[]; left: string[] }> {
    const joined: string[] = [];
    const left: string[] = [];
    await this.db.transaction(async (trx) => {
      const user = await this.users.byId(userId, trx);
      if (!user) throw notFound('user', userId);
      const wanted = await store.teamsByOrganizationAndName(trx, pairs);
      const wantedIds = new Set(wanted.map((t) => t.id));
      const previous = await store.ssoTeamIds(trx, userId);
      for (const team of wanted) {
        if (!(await store.membershipOf(trx, team.organizationId, userId))) {
          await store.insertMembership(trx, { id: newId('ou'), organizationId: team.organizationId, userId, email: user.email, status: 'active', invitedTeamIds: [] });
          await store.recordSsoOrganization(trx, userId, team.organizationId);
        }
        const members = await store.teamMemberIds(trx, team.id);
        if (!members.includes(userId)) {
          await store.addTeamMembers(trx, [team.id], userId);
          await store.recordSsoTeam(trx, userId, team.id);
          joined.push(team.id);
        }
      }
      for (const teamId of previous.filter((id) => !wantedIds.has(id))) {
        const team = await store.findTeam(trx, teamId);
        if (team?.isOwners) {
          const org = (await this.orgs.byId(team.organizationId))!;
          const owners = await store.teamMemberIds(trx, team.id);
          // The last owner stays: keepAnOwner would refuse, and sign-in should not fail for it.
          if (owners.length > 0 && owners.every((id) => id === userId)) continue;
          await keepAnOwner(trx, org, [userId]);
        }
        if (team) await store.removeTeamMembers(trx, team.id, [userId]);
        await store.forgetSsoTeam(trx, userId, teamId);
        left.push(teamId);
      }
      for (const organizationId of await store.ssoOrganizationIds(trx, userId)) {
        if (await store.inATeamOf(trx, organizationId, userId)) continue;
        const membership = await store.membershipOf(trx, organizationId, userId);
        if (membership) await store.deleteMembership(trx, membership.id);
        await store.forgetSsoOrganization(trx, userId, organizationId);
      }
    });
    this.subjects.changed();
    return { joined, left };
  }

  /** Internal: the memberships of these ids that exist (for include= on teams, whose visibility is checked). */
  async byIds(ids: string[]): Promise<Membership[]> {
    return store.findMemberships(this.db, ids);
  }

  /** For each membership, the teams of the organization its user is in, or is invited into. */
  async teamsOf(memberships: Membership[]): Promise<string[][]> {
    const joined = memberships.filter((m) => m.status === 'active');
    const teams = await store.teamIdsOfUsers(
      this.db,
      joined.map((m) => ({ organizationId: m.organizationId, userId: m.userId! })),
    );
    let next = 0;
    return memberships.map((m) => (m.status === 'active' ? teams[next++] : m.invitedTeamIds));
  }
}
