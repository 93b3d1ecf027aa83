// Rules of users: accounts (made by the site administrator), their tokens, and their memberships
// of organizations. A user's rights come from the teams it is in (src/users/teams.ts); they are
// gathered when its token is checked.
import type { Knex } from 'knex';
import { authorize, isOwner, missingPermission, requireSiteAdmin } from '../auth/authorize.js';
import type { SubjectCache } from '../auth/cache.js';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { issueToken, UsageRecorder } from '../auth/tokens.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, ForbiddenError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/service.js';
import * as store from './store.js';
import type { Membership, MembershipStatus, User, UserToken } from './store.js';

export type { Membership, MembershipStatus, User, UserToken } from './store.js';

export interface Page {
  limit: number;
  offset: number;
}

/** Refuses an expiry that has passed. */
export function checkExpiry(expiredAt: Date | null): void {
  if (expiredAt && expiredAt.getTime() <= Date.now()) {
    throw new InvalidError('attribute "expired-at" must be in the future', { pointer: '/data/attributes/expired-at' });
  }
}

/**
 * Refuses, inside the transaction, to take the last members out of an organization's owners
 * team: an organization always keeps somebody who may administer it.
 */
export async function keepAnOwner(trx: Knex.Transaction, org: Organization, leaving: string[]): Promise<void> {
  const owners = await store.ownersTeam(trx, org.id);
  if (!owners) return;
  await store.lockTeam(trx, owners.id);
  const members = await store.teamMembers(trx, owners.id);
  if (members.length > 0 && members.every((m) => leaving.includes(m.id))) {
    throw new ConflictError(`the owners team of organization "${org.name}" cannot be left empty: add another owner first`);
  }
}

export class UserService implements TokenResolver {
  readonly prefix = 'ut';
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    /** Emptied after every write here: each one may change what some token's subject holds. */
    private readonly subjects: SubjectCache,
  ) {
    // The user who creates an organization is its first member (and owner: see TeamService).
    orgs.onCreate(async (trx, org, creator) => {
      if (creator.kind !== 'user') return;
      const user = (await store.findUser(trx, creator.userId))!;
      await store.insertMembership(trx, { id: newId('ou'), organizationId: org.id, userId: user.id, email: user.email, status: 'active', invitedTeamIds: [] });
      subjects.changedAfter(trx);
    });
  }

  // ------------------------------------------------------------ users

  async create(subject: Subject, input: { username: string; email: string }): Promise<User> {
    requireSiteAdmin(subject, 'create users');
    try {
      const created = await this.db.transaction(async (trx) => {
        const user = await store.insertUser(trx, { id: newId('user'), username: input.username, email: input.email });
        await store.activateInvitations(trx, user);
        return user;
      });
      this.subjects.changed();
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) {
        const taken = (await store.findUserByIdOrName(this.db, input.username)) ? `username "${input.username}"` : `email "${input.email}"`;
        throw new ConflictError(`${taken} is already taken`, { pointer: taken.startsWith('username') ? '/data/attributes/username' : '/data/attributes/email' });
      }
      throw err;
    }
  }

  async list(subject: Subject, opts: Page & { search?: string }): Promise<{ items: User[]; total: number }> {
    requireSiteAdmin(subject, 'list all users');
    return store.listUsers(this.db, opts);
  }

  /** A user by id or username: the caller itself, or a user sharing an organization with it. */
  async get(subject: Subject, idOrName: string): Promise<User> {
    const user = await store.findUserByIdOrName(this.db, idOrName);
    if (!user || !(await this.canSee(subject, user))) throw notFound('user', idOrName);
    return user;
  }

  private async canSee(subject: Subject, user: User): Promise<boolean> {
    if (subject.kind === 'site-admin') return true;
    if (subject.kind === 'user') return subject.userId === user.id || (await store.shareAnOrganization(this.db, subject.userId, user.id));
    if (subject.kind === 'team' || subject.kind === 'organization-token') {
      return (await store.membershipOf(this.db, subject.organizationId, user.id)) !== null;
    }
    return false;
  }

  /** Deletes a user with its tokens and memberships; never the last owner of an organization. */
  async delete(subject: Subject, id: string): Promise<void> {
    requireSiteAdmin(subject, 'delete users');
    const user = await store.findUserByIdOrName(this.db, id);
    if (!user) throw notFound('user', id);
    await this.db.transaction(async (trx) => {
      const memberships = await store.listMemberships(trx, { userId: user.id, limit: 10_000, offset: 0 });
      for (const m of memberships.items) {
        const org = (await this.orgs.byId(m.organizationId))!;
        await keepAnOwner(trx, org, [user.id]);
      }
      await store.deleteUser(trx, user.id);
    });
    this.subjects.changed();
  }

  /** The user behind the subject, for /account/details; null for callers that are not users. */
  async self(subject: Subject): Promise<User | null> {
    return subject.kind === 'user' ? store.findUser(this.db, subject.userId) : null;
  }

  // ------------------------------------------------------------ user tokens

  /** A user manages its own tokens; the site administrator may manage anybody's (to hand out the first one). */
  private async tokenOwner(subject: Subject, userId: string): Promise<User> {
    const user = await store.findUserByIdOrName(this.db, userId);
    const own = user !== null && subject.kind === 'user' && subject.userId === user.id;
    if (!user || !(own || subject.kind === 'site-admin')) throw notFound('user', userId);
    return user;
  }

  async listTokens(subject: Subject, userId: string, page: Page): Promise<{ items: UserToken[]; total: number }> {
    const user = await this.tokenOwner(subject, userId);
    return store.listUserTokens(this.db, user.id, page.limit, page.offset);
  }

  async createToken(subject: Subject, userId: string, input: { description: string | null; expiredAt: Date | null }): Promise<{ token: UserToken; secret: string }> {
    const user = await this.tokenOwner(subject, userId);
    checkExpiry(input.expiredAt);
    const issued = issueToken(this.prefix);
    const token = await store.insertUserToken(this.db, { id: issued.id, userId: user.id, description: input.description, secretHash: issued.secretHash, expiredAt: input.expiredAt });
    return { token, secret: issued.token };
  }

  async getToken(subject: Subject, id: string): Promise<UserToken> {
    const token = await store.findUserToken(this.db, id);
    if (!token || !(subject.kind === 'site-admin' || (subject.kind === 'user' && subject.userId === token.userId))) throw notFound('authentication token', id);
    return token;
  }

  async deleteToken(subject: Subject, id: string): Promise<void> {
    const token = await this.getToken(subject, id);
    await store.deleteUserToken(this.db, token.id);
    this.subjects.changed();
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const subject = await this.subjects.authenticate(id, secret, async () => {
      const found = await store.userTokenForAuth(this.db, id);
      if (!found) return null;
      const { user, organizations } = found;
      return { subject: { kind: 'user', userId: user.id, username: user.username, organizations }, secretHash: found.secretHash, expiredAt: found.token.expiredAt };
    });
    if (subject && this.usage.due(id)) await store.touchToken(this.db, 'user_tokens', id);
    return subject;
  }

  /** The user's subject as its tokens would have it now; null when there is no such user. */
  async subjectOfUser(userId: string): Promise<Subject | null> {
    const found = await store.userWithGrants(this.db, userId);
    return found ? { kind: 'user', userId: found.user.id, username: found.user.username, organizations: found.organizations } : null;
  }

  // ------------------------------------------------------------ organization memberships

  /**
   * Adds a user to the organization, by email or username, optionally into teams. A user that
   * exists becomes an active member at once; an email nobody has yet is invited, and the
   * membership becomes active when a user with that email is created.
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
      user = await store.findUserByIdOrName(this.db, input.username);
      if (!user) throw new InvalidError(`there is no user named "${input.username}"`, { pointer: '/data/attributes/username' });
      if (input.email !== undefined && input.email.toLowerCase() !== user.email.toLowerCase()) {
        throw new InvalidError(`user "${input.username}" has another email than "${input.email}"`, { pointer: '/data/attributes/email' });
      }
    } else if (input.email !== undefined) {
      user = await store.findUserByEmail(this.db, input.email);
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
    try {
      const membership = await this.db.transaction(async (trx) => {
        const m = await store.insertMembership(trx, {
          id: newId('ou'),
          organizationId: org.id,
          userId: user?.id ?? null,
          email: user?.email ?? input.email!,
          status: user ? 'active' : 'invited',
          invitedTeamIds: user ? [] : input.teamIds,
        });
        if (user) await store.addTeamMembers(trx, input.teamIds, user.id);
        return m;
      });
      this.subjects.changed();
      return { membership, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`${user ? `user "${user.username}"` : `"${input.email}"`} is already a member of organization "${org.name}"`);
      throw err;
    }
  }

  async listMemberships(
    subject: Subject,
    orgName: string,
    filter: Page & { search?: string; statuses?: MembershipStatus[]; emails?: string[] },
  ): Promise<{ org: Organization; items: Membership[]; total: number; counts: Record<MembershipStatus, number> }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'membership:read', { organizationId: org.id }, () => notFound('organization', orgName));
    const { items, total } = await store.listMemberships(this.db, { ...filter, organizationId: org.id });
    return { org, items, total, counts: await store.statusCounts(this.db, org.id) };
  }

  /** The caller's own memberships, in every organization. */
  async ownMemberships(subject: Subject, page: Page): Promise<{ items: Array<{ membership: Membership; org: Organization }>; total: number }> {
    if (subject.kind !== 'user') throw new ForbiddenError('only a user token has organization memberships of its own');
    const { items, total } = await store.listMemberships(this.db, { userId: subject.userId, ...page });
    return { items: await Promise.all(items.map(async (membership) => ({ membership, org: (await this.orgs.byId(membership.organizationId))! }))), total };
  }

  async getMembership(subject: Subject, id: string): Promise<{ membership: Membership; org: Organization }> {
    const membership = await store.findMembership(this.db, id);
    const own = membership !== null && subject.kind === 'user' && membership.userId === subject.userId;
    if (!membership) throw notFound('organization membership', id);
    const org = (await this.orgs.byId(membership.organizationId))!;
    if (!own) authorize(subject, 'membership:read', { organizationId: org.id }, () => notFound('organization membership', id));
    return { membership, org };
  }

  /** Ends a membership: the user leaves the organization and all its teams. */
  async deleteMembership(subject: Subject, id: string): Promise<void> {
    const { membership, org } = await this.getMembership(subject, id);
    const own = subject.kind === 'user' && membership.userId === subject.userId;
    if (!own) authorize(subject, 'membership:manage', { organizationId: org.id }, () => notFound('organization membership', id));
    await this.db.transaction(async (trx) => {
      if (membership.userId) {
        // Taking an owner out of the organization changes the owners team: owners only.
        if (!own && !isOwner(subject, org.id)) {
          const owners = await store.ownersTeam(trx, org.id);
          const members = owners ? await store.teamMembers(trx, owners.id) : [];
          if (members.some((m) => m.id === membership.userId)) {
            throw new ForbiddenError('insufficient permissions: only owners may remove a member of the owners team from the organization');
          }
        }
        await keepAnOwner(trx, org, [membership.userId]);
        await store.leaveTeams(trx, org.id, membership.userId);
      }
      await store.deleteMembership(trx, membership.id);
    });
    this.subjects.changed();
  }

  /** For each membership, the teams of the organization its user is in, or is invited into. */
  async teamsOf(memberships: Membership[]): Promise<string[][]> {
    const joined = memberships.filter((m) => m.userId !== null);
    const teams = await store.teamIdsOfUsers(
      this.db,
      joined.map((m) => ({ organizationId: m.organizationId, userId: m.userId! })),
    );
    let next = 0;
    return memberships.map((m) => (m.userId ? teams[next++] : m.invitedTeamIds));
  }

  /** The users with these ids that exist, in the order given. */
  async usersByIds(ids: string[]): Promise<User[]> {
    const found = await store.findUsers(this.db, ids);
    return ids.flatMap((id) => found.get(id) ?? []);
  }
}
