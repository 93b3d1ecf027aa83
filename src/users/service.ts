// Rules of users: accounts (made by the site administrator) and their tokens. What a user may do
// comes from its organization memberships and teams, which the teams domain keeps (src/teams/);
// it is gathered when its token is checked (src/auth/grants.ts).
import { audited, recordChange } from '../audit/index.js';
import type { Knex } from 'knex';
import { requireSiteAdmin } from '../auth/authorize.js';
import type { SubjectCache } from '../auth/cache.js';
import { userSubject, userTokenSubject } from '../auth/grants.js';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { issueToken, UsageRecorder } from '../auth/tokens.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { AppError, ConflictError, ForbiddenError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import * as store from './store.js';
import type { User, UserToken } from './store.js';

export type { User, UserToken } from './store.js';

/** What a username may be (the API's rule for usernames, src/users/routes.ts). */
export const USERNAME_RULE = '1 to 90 letters, digits, "-", "_" or "." starting with a letter or digit';

export function isValidUsername(name: string): boolean {
  return name.length >= 1 && name.length <= 90 && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);
}

/**
 * Single sign-on names a username that is already an account's, one single sign-on did not make
 * for this identity: signing in as it would hand the account to whoever the provider calls that.
 */
export class SignOnNotLinked extends AppError {
  readonly status = 403;
  readonly title = 'this account is not linked to single sign-on';
  constructor(readonly username: string) {
    super(
      `the username "${username.slice(0, 100)}" belongs to an account that single sign-on did not create, so single sign-on will not sign you in as it: ask the site administrator of this server`,
    );
  }
}

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
 * What users need of organization memberships, which the teams domain keeps. That domain builds
 * on this one (its members are users), so users reach memberships only through these hooks,
 * connected in src/server.ts.
 */
export interface MembershipHooks {
  /** Inside the transaction that creates the user: invitations to its email become its memberships. */
  userCreated(trx: Knex.Transaction, user: User): Promise<void>;
  /** Inside the transaction that deletes the user, first: refuses when the user is an organization's last owner. */
  userDeleting(trx: Knex.Transaction, user: User): Promise<void>;
  /** Whether the subject sees the user through an organization: a user sharing one with it, a token of one it is a member of. */
  seesThroughOrganization(subject: Subject, user: User): Promise<boolean>;
}

export class UserService implements TokenResolver {
  readonly prefix = 'ut';
  private readonly usage = new UsageRecorder();
  private memberships: MembershipHooks | null = null;

  constructor(
    private readonly db: Db,
    /** Emptied after every write here: each one may change what some token's subject holds. */
    private readonly subjects: SubjectCache,
  ) {}

  connectMemberships(hooks: MembershipHooks): void {
    this.memberships = hooks;
  }

  /** The hooks, which otfd connects at start: without them a user's memberships would go unchecked. */
  private hooks(): MembershipHooks {
    if (!this.memberships) throw new Error('users: memberships are not connected (src/server.ts connects them at start)');
    return this.memberships;
  }

  // ------------------------------------------------------------ users

  async create(subject: Subject, input: { username: string; email: string }): Promise<User> {
    requireSiteAdmin(subject, 'create users');
    try {
      return await this.insertOrClaim(input);
    } catch (err) {
      if (isUniqueViolation(err)) {
        const taken = (await store.findUserByIdOrName(this.db, input.username)) ? `username "${input.username}"` : `email "${input.email}"`;
        throw new ConflictError(`${taken} is already taken`, { pointer: taken.startsWith('username') ? '/data/attributes/username' : '/data/attributes/email' });
      }
      throw err;
    }
  }

  /**
   * Makes a user, in one transaction with what must come with it. Somebody invited by this email
   * already has a user (the memberships name it): it becomes this user. `linked` runs inside the
   * transaction, before the invitations become memberships (single sign-on links its identity).
   */
  private async insertOrClaim(input: { username: string; email: string }, linked?: (trx: Knex.Transaction, user: User) => Promise<void>): Promise<User> {
    const created = await this.db.transaction(async (trx) => {
      const invitee = await store.findInvitee(trx, input.email);
      const user = invitee
        ? await store.claimInvitee(trx, invitee.id, input)
        : await store.insertUser(trx, { id: newId('user'), username: input.username, email: input.email });
      if (linked) await linked(trx, user);
      await this.hooks().userCreated(trx, user);
      // A user belongs to no organization: the site's trail (single sign-on's users are the system's doing).
      await recordChange(trx, { action: 'user.create', resource: { type: 'users', id: user.id }, organizationId: null, details: { username: user.username } });
      return user;
    });
    this.subjects.changed();
    return created;
  }

  /**
   * Inside the transaction that invites an email nobody has (teams domain): the invited user of
   * that email, made now if there is none, as Terraform Cloud makes one. It holds no token and no
   * rights; the user the site administrator creates with that email later takes it over.
   */
  async invitee(trx: Knex.Transaction, email: string): Promise<User> {
    const found = await store.findInvitee(trx, email);
    if (found) return found;
    return store.insertUser(trx, { id: newId('user'), username: newId('invitee', 12), email, invited: true });
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

  /**
   * A user as the site administrator's pages manage it (its tokens, deleting it): only the site
   * administrator (403 for anybody else, even a user sharing an organization or the user itself).
   */
  async administered(subject: Subject, idOrName: string): Promise<User> {
    requireSiteAdmin(subject, 'manage users');
    const user = await store.findUserByIdOrName(this.db, idOrName);
    if (!user) throw notFound('user', idOrName);
    return user;
  }

  private async canSee(subject: Subject, user: User): Promise<boolean> {
    if (subject.kind === 'site-admin') return true;
    if (subject.kind === 'user' && subject.userId === user.id) return true;
    return this.hooks().seesThroughOrganization(subject, user);
  }

  /** Deletes a user with its tokens and memberships; never the last owner of an organization. */
  async delete(subject: Subject, id: string): Promise<void> {
    requireSiteAdmin(subject, 'delete users');
    const user = await store.findUserByIdOrName(this.db, id);
    if (!user) throw notFound('user', id);
    await this.db.transaction(async (trx) => {
      await this.hooks().userDeleting(trx, user);
      await store.deleteUser(trx, user.id);
      await recordChange(trx, { action: 'user.delete', resource: { type: 'users', id: user.id }, organizationId: null, details: { username: user.username } });
    });
    this.subjects.changed();
  }

  /** The user behind the subject, for /account/details; null for callers that are not users. */
  async self(subject: Subject): Promise<User | null> {
    return subject.kind === 'user' ? store.findUser(this.db, subject.userId) : null;
  }

  /**
   * PATCH /account/update: the user changes its own username. Its email it may only send back
   * unchanged: an invitation by email makes whoever has that email a member at once (and the site
   * administrator's user of that email impossible), so an address nobody confirmed would let any
   * user collect the invitations meant for someone else. Terraform Cloud confirms a new address by
   * mail first; this server sends no mail, so the email stays the one the user was created with.
   */
  async updateSelf(subject: Subject, changes: { username?: string; email?: string }): Promise<User> {
    if (subject.kind !== 'user') throw new ForbiddenError('only a user may change its account: this token is not a user\'s');
    const current = (await store.findUser(this.db, subject.userId))!;
    if (changes.email !== undefined && changes.email.toLowerCase() !== current.email.toLowerCase()) {
      throw new InvalidError(
        'the email cannot be changed here: a new address must be confirmed by a mail sent to it, and this server sends no mail; the site administrator creates users with their email',
        { pointer: '/data/attributes/email' },
      );
    }
    if (changes.username === undefined) return current;
    try {
      const user = await store.updateUser(this.db, subject.userId, { username: changes.username });
      this.subjects.changed();
      return user;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`username "${changes.username}" is already taken`, { pointer: '/data/attributes/username' });
      throw err;
    }
  }

  // ------------------------------------------------------------ single sign-on

  /**
   * Single sign-on (src/web/sso/): the user linked to the provider's identity (issuer and subject,
   * which never change), made and linked on its first sign-on without the site administrator, as
   * the provider vouches for it. The username claim only names a new user: providers often let
   * their users edit it, so a username that is already an account's never signs anyone into that
   * account (SignOnNotLinked): the site administrator decides. Its email is the provider's when the
   * provider says it verified it and nobody else has it (an invitation to that email then becomes
   * this user's, as when the administrator creates it); otherwise a placeholder that no mail reaches.
   */
  async signOn(input: { issuer: string; subject: string; username: string; email: string | null }): Promise<User> {
    const linked = await store.findUserByIdentity(this.db, input.issuer, input.subject);
    if (linked) return linked;
    if (!isValidUsername(input.username)) {
      throw new InvalidError(`"${input.username.slice(0, 100)}" is not a valid username: ${USERNAME_RULE}`);
    }
    const existing = await store.findUserByUsername(this.db, input.username);
    if (existing && !existing.invited) throw new SignOnNotLinked(input.username);
    const verified = input.email && (await store.findUserByEmail(this.db, input.email));
    const email = input.email && (!verified || verified.invited) ? input.email : `${input.username}@sso.invalid`;
    try {
      return await this.insertOrClaim({ username: input.username, email }, (trx, user) =>
        store.insertIdentity(trx, { issuer: input.issuer, subject: input.subject, userId: user.id }),
      );
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Two first sign-ons of one identity at once: the other one made and linked it.
      const user = await store.findUserByIdentity(this.db, input.issuer, input.subject);
      if (user) return user;
      if (await store.findUserByUsername(this.db, input.username)) throw new SignOnNotLinked(input.username);
      throw new ConflictError(`the user "${input.username}" could not be created: its email is taken`);
    }
  }

  // ------------------------------------------------------------ lookups for other domains, without authorization

  /** A user by id; inside another domain's transaction, pass it (a second connection could wait on the first). */
  async byId(id: string, within: Db = this.db): Promise<User | null> {
    return store.findUser(within, id);
  }

  /** A user by id, or by username (the API accepts both where it names users). */
  async byIdOrName(idOrName: string): Promise<User | null> {
    return store.findUserByIdOrName(this.db, idOrName);
  }

  async byEmail(email: string): Promise<User | null> {
    return store.findUserByEmail(this.db, email);
  }

  /** The users with these ids that exist, by username. */
  async byIds(ids: string[]): Promise<User[]> {
    return store.findUsers(this.db, ids);
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
    const tokenChange = { action: 'user-token.create', resource: { type: 'authentication-tokens', id: issued.id }, organizationId: null, details: { user: user.id, description: input.description } };
    const token = await audited(this.db, (trx) => store.insertUserToken(trx, { id: issued.id, userId: user.id, description: input.description, secretHash: issued.secretHash, expiredAt: input.expiredAt }), tokenChange);
    return { token, secret: issued.token };
  }

  async getToken(subject: Subject, id: string): Promise<UserToken> {
    const token = await store.findUserToken(this.db, id);
    if (!token || !(subject.kind === 'site-admin' || (subject.kind === 'user' && subject.userId === token.userId))) throw notFound('authentication token', id);
    return token;
  }

  async deleteToken(subject: Subject, id: string): Promise<void> {
    const token = await this.getToken(subject, id);
    await audited(this.db, (trx) => store.deleteUserToken(trx, token.id), { action: 'user-token.delete', resource: { type: 'authentication-tokens', id: token.id }, organizationId: null, details: { user: token.userId } });
    this.subjects.changed();
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const subject = await this.subjects.authenticate(id, secret, () => userTokenSubject(this.db, id));
    if (subject && this.usage.due(id)) await store.touchUserToken(this.db, id);
    return subject;
  }

  /** The user's subject as its tokens would have it now; null when there is no such user. */
  async subjectOfUser(userId: string): Promise<Subject | null> {
    return userSubject(this.db, userId);
  }
}
