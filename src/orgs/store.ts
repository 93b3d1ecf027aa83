// Tables of the orgs domain: organizations and organization tokens.
import { escapeLike, paged, type Db } from '../db/index.js';

export interface Organization {
  id: string; // org-..., the external id; the API addresses organizations by name
  name: string;
  email: string;
  sessionTimeout: number;
  sessionRemember: number;
  collaboratorAuthPolicy: string;
  costEstimationEnabled: boolean;
  allowForceDeleteWorkspaces: boolean;
  defaultExecutionMode: string;
  /** The pool of new workspaces when the default execution mode is "agent"; null otherwise. */
  defaultAgentPoolId: string | null;
  /** Plan and apply timeouts of its workspaces that set none (null: otfd's --plan-timeout, --apply-timeout). */
  planTimeoutSeconds: number | null;
  applyTimeoutSeconds: number | null;
  /** Every workspace of the organization gets health assessments, whatever its own setting (TFC's assessments-enforced). */
  assessmentsEnforced: boolean;
  /** A cron expression overriding otfd's --assessments-schedule for this organization; null: the site's. */
  assessmentsSchedule: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface OrganizationRow {
  id: string;
  name: string;
  email: string;
  session_timeout: number;
  session_remember: number;
  collaborator_auth_policy: string;
  cost_estimation_enabled: boolean;
  allow_force_delete_workspaces: boolean;
  default_execution_mode: string;
  default_agent_pool_id: string | null;
  plan_timeout_seconds: number | null;
  apply_timeout_seconds: number | null;
  assessments_enforced: boolean;
  assessments_schedule: string | null;
  created_at: Date;
  updated_at: Date;
}

export type OrganizationChanges = Partial<Omit<Organization, 'id' | 'createdAt' | 'updatedAt'>>;

const COLUMNS: Record<keyof OrganizationChanges, keyof OrganizationRow> = {
  name: 'name',
  email: 'email',
  sessionTimeout: 'session_timeout',
  sessionRemember: 'session_remember',
  collaboratorAuthPolicy: 'collaborator_auth_policy',
  costEstimationEnabled: 'cost_estimation_enabled',
  allowForceDeleteWorkspaces: 'allow_force_delete_workspaces',
  defaultExecutionMode: 'default_execution_mode',
  defaultAgentPoolId: 'default_agent_pool_id',
  planTimeoutSeconds: 'plan_timeout_seconds',
  applyTimeoutSeconds: 'apply_timeout_seconds',
  assessmentsEnforced: 'assessments_enforced',
  assessmentsSchedule: 'assessments_schedule',
};

/** Named columns, not *: some statements are prepared per connection (see workspaces/store.ts). */
const ORGANIZATION_COLUMNS = [
  'id',
  'name',
  'email',
  'session_timeout',
  'session_remember',
  'collaborator_auth_policy',
  'cost_estimation_enabled',
  'allow_force_delete_workspaces',
  'default_execution_mode',
  'default_agent_pool_id',
  'plan_timeout_seconds',
  'apply_timeout_seconds',
  'assessments_enforced',
  'assessments_schedule',
  'created_at',
  'updated_at',
] as const;

function toOrganization(r: OrganizationRow): Organization {
  return {
    id: r.id,
    name: r.name,
    email: r.email,
    sessionTimeout: r.session_timeout,
    sessionRemember: r.session_remember,
    collaboratorAuthPolicy: r.collaborator_auth_policy,
    costEstimationEnabled: r.cost_estimation_enabled,
    allowForceDeleteWorkspaces: r.allow_force_delete_workspaces,
    defaultExecutionMode: r.default_execution_mode,
    defaultAgentPoolId: r.default_agent_pool_id,
    planTimeoutSeconds: r.plan_timeout_seconds,
    applyTimeoutSeconds: r.apply_timeout_seconds,
    assessmentsEnforced: r.assessments_enforced,
    assessmentsSchedule: r.assessments_schedule,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toColumns(changes: OrganizationChanges): Partial<OrganizationRow> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined) row[COLUMNS[key as keyof OrganizationChanges]] = value;
  }
  return row as Partial<OrganizationRow>;
}

export async function findByName(db: Db, name: string): Promise<Organization | null> {
  const row = await db<OrganizationRow>('organizations')
    .where({ name })
    .first(...ORGANIZATION_COLUMNS)
    .options({ name: 'organizations.findByName' });
  return row ? toOrganization(row) : null;
}

export async function findById(db: Db, id: string): Promise<Organization | null> {
  const row = await db<OrganizationRow>('organizations').where({ id }).first();
  return row ? toOrganization(row) : null;
}

export async function list(
  db: Db,
  opts: { onlyIds?: string[]; search?: string; limit: number; offset: number },
): Promise<{ items: Organization[]; total: number }> {
  const q = db<OrganizationRow>('organizations').select('*').orderBy('name');
  if (opts.onlyIds) q.whereIn('id', opts.onlyIds);
  if (opts.search) {
    const pattern = `%${escapeLike(opts.search)}%`;
    q.where((w) => w.whereILike('name', pattern).orWhereILike('email', pattern));
  }
  const { rows, total } = await paged<OrganizationRow>(db, q, opts.limit, opts.offset);
  return { items: rows.map(toOrganization), total };
}

export async function insert(db: Db, org: Omit<Organization, 'createdAt' | 'updatedAt'>): Promise<Organization> {
  const { id, ...rest } = org;
  const [row] = await db<OrganizationRow>('organizations')
    .insert({ id, ...toColumns(rest) })
    .returning('*');
  return toOrganization(row as OrganizationRow);
}

export async function update(db: Db, id: string, changes: OrganizationChanges): Promise<Organization> {
  const [row] = await db<OrganizationRow>('organizations')
    .where({ id })
    .update({ ...toColumns(changes), updated_at: db.fn.now() as unknown as Date })
    .returning('*');
  return toOrganization(row as OrganizationRow);
}

export async function remove(db: Db, id: string): Promise<void> {
  await db('organizations').where({ id }).delete();
}

// ---------------------------------------------------------------- organization tokens

export interface OrganizationToken {
  id: string;
  organizationId: string;
  description: string | null;
  expiredAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

interface TokenRow {
  id: string;
  organization_id: string;
  secret_hash: Buffer;
  description: string | null;
  expired_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

function toToken(r: TokenRow): OrganizationToken {
  return {
    id: r.id,
    organizationId: r.organization_id,
    description: r.description,
    expiredAt: r.expired_at,
    lastUsedAt: r.last_used_at,
    createdAt: r.created_at,
  };
}

/** Stores the organization's token, replacing any earlier one. */
export async function replaceToken(
  db: Db,
  token: { id: string; organizationId: string; secretHash: Buffer; description: string | null; expiredAt: Date | null },
): Promise<OrganizationToken> {
  return db.transaction(async (trx) => {
    await trx('organization_tokens').where({ organization_id: token.organizationId }).delete();
    const [row] = await trx<TokenRow>('organization_tokens')
      .insert({
        id: token.id,
        organization_id: token.organizationId,
        secret_hash: token.secretHash,
        description: token.description,
        expired_at: token.expiredAt,
      })
      .returning('*');
    return toToken(row as TokenRow);
  });
}

export async function findToken(db: Db, organizationId: string): Promise<OrganizationToken | null> {
  const row = await db<TokenRow>('organization_tokens').where({ organization_id: organizationId }).first();
  return row ? toToken(row) : null;
}

export async function deleteToken(db: Db, organizationId: string): Promise<boolean> {
  return (await db('organization_tokens').where({ organization_id: organizationId }).delete()) > 0;
}

/** The token with its secret hash and its organization's name, for authentication. */
export async function tokenForAuth(
  db: Db,
  id: string,
): Promise<{ token: OrganizationToken; secretHash: Buffer; organizationName: string } | null> {
  const row = await db<TokenRow>('organization_tokens as t')
    .join('organizations as o', 'o.id', 't.organization_id')
    .where('t.id', id)
    .first('t.id', 't.organization_id', 't.secret_hash', 't.description', 't.expired_at', 't.last_used_at', 't.created_at', 'o.name as organization_name')
    .options({ name: 'organization_tokens.forAuth' });
  if (!row) return null;
  const r = row as TokenRow & { organization_name: string };
  return { token: toToken(r), secretHash: r.secret_hash, organizationName: r.organization_name };
}

export async function touchToken(db: Db, id: string): Promise<void> {
  await db('organization_tokens').where({ id }).update({ last_used_at: db.fn.now() });
}
