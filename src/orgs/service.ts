// Rules of the orgs domain: organizations, their entitlements and their token.
import { audited, recordChange } from '../audit/index.js';
import type { Knex } from 'knex';
import { authorize, canSeeOrganization, visibleOrganizations } from '../auth/authorize.js';
import type { TokenResolver } from '../auth/service.js';
import type { Subject } from '../auth/subject.js';
import { issueToken, secretMatches, UsageRecorder } from '../auth/tokens.js';
import { cronProblem } from '../cron.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, ForbiddenError, InvalidError, notFound, NotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import * as store from './store.js';
import type { Organization, OrganizationChanges, OrganizationToken } from './store.js';

export type { Organization, OrganizationToken } from './store.js';

/** Runs inside the transaction that creates an organization (default project, owners team, ...). */
export type CreationHook = (trx: Knex.Transaction, org: Organization, creator: Subject) => Promise<void>;

export interface Capacity {
  pending: number;
  running: number;
}


/**
 * Refuses a pool that is not the organization's, or that new workspaces may not use. Called in the
 * transaction that sets the default (`trx`), so that the pool cannot change under the check.
 */
export type DefaultPoolCheck = (organizationId: string, poolId: string, trx: Db) => Promise<void>;

/**
 * This server estimates no costs, so no organization says it does: asking to turn cost estimation
 * on is refused. Creations are the exception (see create).
 */
function refuseCostEstimation(changes: OrganizationChanges): void {
  if (changes.costEstimationEnabled === true) {
    throw new InvalidError('cost estimation is not supported by this server: cost-estimation-enabled can only be false', {
      pointer: '/data/attributes/cost-estimation-enabled',
    });
  }
}

/** An organization's assessments-schedule must be a cron expression otfd can step (or null: the site's). */
function checkAssessmentsSchedule(changes: OrganizationChanges): void {
  const schedule = changes.assessmentsSchedule;
  if (schedule === undefined || schedule === null) return;
  const problem = cronProblem(schedule);
  if (problem) throw new InvalidError(`assessments-schedule ${problem}`, { pointer: '/data/attributes/assessments-schedule' });
}

export class OrganizationService implements TokenResolver {
  readonly prefix = 'ot';
  private readonly creationHooks: CreationHook[] = [];
  private readonly deletionHooks: Array<(organizationId: string) => Promise<void>> = [];
  private capacityOf: (org: Organization) => Promise<Capacity> = async () => ({ pending: 0, running: 0 });
  private defaultProjectOf: (org: Organization) => Promise<string | null> = async () => null;
  private poolCheck: DefaultPoolCheck = async (_org, poolId) => {
    throw new InvalidError(`agent pool "${poolId}" does not exist in this organization`, { pointer: '/data/relationships/default-agent-pool' });
  };
  private readonly usage = new UsageRecorder();

  constructor(private readonly db: Db) {}

  onCreate(hook: CreationHook): void {
    this.creationHooks.push(hook);
  }

  /** Called before an organization is deleted, for what lives outside the database (webhooks at VCS providers). */
  onDelete(hook: (organizationId: string) => Promise<void>): void {
    this.deletionHooks.push(hook);
  }

  /** The projects domain knows which project is an organization's default (made by onCreate). */
  setDefaultProjectLookup(lookup: (org: Organization) => Promise<string | null>): void {
    this.defaultProjectOf = lookup;
  }

  /** The pools domain knows whether a pool may be an organization's default. */
  setDefaultPoolCheck(check: DefaultPoolCheck): void {
    this.poolCheck = check;
  }

  /** The id of the organization's default project, for its default-project relationship. */
  async defaultProjectId(org: Organization): Promise<string | null> {
    return this.defaultProjectOf(org);
  }

  setCapacityProvider(provider: (org: Organization) => Promise<Capacity>): void {
    this.capacityOf = provider;
  }

  /** The organization by name, if the subject may see it; else NotFoundError. */
  async resolve(subject: Subject, name: string): Promise<Organization> {
    const org = await store.findByName(this.db, name);
    if (!org || !canSeeOrganization(subject, org.id)) throw notFound('organization', name);
    return org;
  }

  /** Internal lookup by name, without authorization: the audit trail files a refused request under it. */
  async byName(name: string): Promise<Organization | null> {
    return store.findByName(this.db, name);
  }

  /** Internal lookup by id, without authorization, for other domains that already hold an id. */
  async byId(id: string): Promise<Organization | null> {
    return store.findById(this.db, id);
  }

  async list(subject: Subject, opts: { search?: string; limit: number; offset: number }): Promise<{ items: Organization[]; total: number }> {
    const onlyIds = visibleOrganizations(subject);
    return store.list(this.db, { ...opts, onlyIds: onlyIds ?? undefined });
  }

  async create(subject: Subject, attrs: OrganizationChanges & { name: string; email: string }): Promise<Organization> {
    // As in Terraform Cloud, any user may create an organization, and becomes its owner.
    if (subject.kind !== 'site-admin' && subject.kind !== 'user') {
      throw new ForbiddenError('only a user or the site administrator may create organizations');
    }
    checkAssessmentsSchedule(attrs);
    // The default pool must be a pool of the organization, which does not exist yet.
    if (attrs.defaultExecutionMode === 'agent' || attrs.defaultAgentPoolId) {
      throw new InvalidError(
        'a new organization has no agent pools yet: create it, then an agent pool in it, then set default-execution-mode "agent" with that pool',
        { pointer: '/data/attributes/default-execution-mode' },
      );
    }
    try {
      return await this.db.transaction(async (trx) => {
        const org = await store.insert(trx, {
          id: newId('org'),
          name: attrs.name,
          email: attrs.email,
          sessionTimeout: attrs.sessionTimeout ?? 20160,
          sessionRemember: attrs.sessionRemember ?? 20160,
          collaboratorAuthPolicy: attrs.collaboratorAuthPolicy ?? 'password',
          // go-tfe's test helpers, and scripts written like them, create every organization with
          // cost-estimation-enabled true: refusing would break them all, so the organization is made
          // without it and the answer says so (false).
          costEstimationEnabled: false,
          allowForceDeleteWorkspaces: attrs.allowForceDeleteWorkspaces ?? false,
          defaultExecutionMode: attrs.defaultExecutionMode ?? 'remote',
          defaultAgentPoolId: null,
          planTimeoutSeconds: attrs.planTimeoutSeconds ?? null,
          applyTimeoutSeconds: attrs.applyTimeoutSeconds ?? null,
          assessmentsEnforced: attrs.assessmentsEnforced ?? false,
          assessmentsSchedule: attrs.assessmentsSchedule ?? null,
        });
        for (const hook of this.creationHooks) await hook(trx, org, subject);
        await recordChange(trx, { action: 'organization.create', resource: { type: 'organizations', id: org.id }, organizationId: org.id, details: { name: org.name } });
        return org;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`organization name "${attrs.name}" is already taken`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  async update(subject: Subject, name: string, changes: OrganizationChanges): Promise<Organization> {
    const org = await this.resolve(subject, name);
    authorize(subject, 'organization:update', { organizationId: org.id }, () => notFound('organization', name));
    refuseCostEstimation(changes);
    checkAssessmentsSchedule(changes);
    const defaults = await this.executionDefaults(org, changes);
    // A new default pool is checked in the transaction that sets it (the pool is locked then).
    const newPool = defaults.defaultAgentPoolId !== null && defaults.defaultAgentPoolId !== org.defaultAgentPoolId ? defaults.defaultAgentPoolId : null;
    try {
      return await audited(this.db, async (trx) => {
        if (newPool) await this.poolCheck(org.id, newPool, trx);
        return store.update(trx, org.id, { ...changes, ...defaults });
      }, { action: 'organization.update', resource: { type: 'organizations', id: org.id }, organizationId: org.id, details: { name: org.name, changed: Object.keys(changes).join(',') } });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`organization name "${changes.name}" is already taken`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  /**
   * The default execution mode and pool after a change, as Terraform Cloud rules them: mode "agent"
   * needs a pool of the organization's; any other mode has none, and naming one with it is refused.
   */
  private async executionDefaults(
    org: Organization,
    changes: OrganizationChanges,
  ): Promise<{ defaultExecutionMode: string; defaultAgentPoolId: string | null }> {
    const mode = changes.defaultExecutionMode ?? org.defaultExecutionMode;
    if (mode !== 'agent') {
      if (changes.defaultAgentPoolId) {
        throw new InvalidError("Default agent pool must not be specified unless using 'agent' execution mode", {
          pointer: '/data/relationships/default-agent-pool',
        });
      }
      return { defaultExecutionMode: mode, defaultAgentPoolId: null };
    }
    const pool = changes.defaultAgentPoolId !== undefined ? changes.defaultAgentPoolId : org.defaultAgentPoolId;
    if (!pool) {
      throw new InvalidError('default-execution-mode "agent" needs a default agent pool: set the default-agent-pool relationship', {
        pointer: '/data/relationships/default-agent-pool',
      });
    }
    return { defaultExecutionMode: mode, defaultAgentPoolId: pool };
  }

  /** Deletes the organization and everything under it. */
  async delete(subject: Subject, name: string): Promise<void> {
    const org = await this.resolve(subject, name);
    authorize(subject, 'organization:delete', { organizationId: org.id }, () => notFound('organization', name));
    for (const hook of this.deletionHooks) await hook(org.id);
    await audited(this.db, (trx) => store.remove(trx, org.id), { action: 'organization.delete', resource: { type: 'organizations', id: org.id }, organizationId: org.id, details: { name: org.name } });
  }

  async capacity(subject: Subject, name: string): Promise<{ org: Organization; capacity: Capacity }> {
    const org = await this.resolve(subject, name);
    return { org, capacity: await this.capacityOf(org) };
  }

  // ------------------------------------------------------------ organization token

  async createToken(
    subject: Subject,
    name: string,
    opts: { description: string | null; expiredAt: Date | null },
  ): Promise<{ token: OrganizationToken; secret: string }> {
    const org = await this.resolve(subject, name);
    authorize(subject, 'organization:manage-token', { organizationId: org.id }, () => notFound('organization', name));
    if (opts.expiredAt && opts.expiredAt.getTime() <= Date.now()) {
      throw new InvalidError('attribute "expired-at" must be in the future', { pointer: '/data/attributes/expired-at' });
    }
    const issued = issueToken(this.prefix);
    const tokenChange = { action: 'organization-token.create', resource: { type: 'authentication-tokens', id: issued.id }, organizationId: org.id, details: { description: opts.description } };
    const token = await audited(this.db, (trx) => store.replaceToken(trx, {
      id: issued.id,
      organizationId: org.id,
      secretHash: issued.secretHash,
      description: opts.description,
      expiredAt: opts.expiredAt,
    }), tokenChange);
    return { token, secret: issued.token };
  }

  async showToken(subject: Subject, name: string): Promise<OrganizationToken> {
    const org = await this.resolve(subject, name);
    authorize(subject, 'organization:manage-token', { organizationId: org.id }, () => notFound('organization', name));
    const token = await store.findToken(this.db, org.id);
    if (!token) throw new NotFoundError(`organization "${name}" has no authentication token`);
    return token;
  }

  async deleteToken(subject: Subject, name: string): Promise<void> {
    const org = await this.resolve(subject, name);
    authorize(subject, 'organization:manage-token', { organizationId: org.id }, () => notFound('organization', name));
    const tokenChange = { action: 'organization-token.delete', resource: { type: 'organizations', id: org.id }, organizationId: org.id };
    if (!(await audited(this.db, (trx) => store.deleteToken(trx, org.id), (deleted) => (deleted ? tokenChange : null)))) throw new NotFoundError(`organization "${name}" has no authentication token`);
  }

  async authenticateToken(id: string, secret: string): Promise<Subject | null> {
    const found = await store.tokenForAuth(this.db, id);
    if (!found || !secretMatches(secret, found.secretHash)) return null;
    if (found.token.expiredAt && found.token.expiredAt.getTime() <= Date.now()) return null;
    if (this.usage.due(id)) await store.touchToken(this.db, id);
    return { kind: 'organization-token', organizationId: found.token.organizationId, organizationName: found.organizationName, tokenId: id };
  }
}
