// Tables of the workspaces domain: workspaces (with their lock), tags and tag bindings.
import type { Knex } from 'knex';
import type { Principal } from '../auth/subject.js';
import { escapeLike, paged, statement, type Db } from '../db/index.js';
import { prepared } from '../db/lists.js';
import type { ServiceProvider, WorkspaceVcsRepo } from '../vcs/types.js';

export type ExecutionMode = 'remote' | 'local' | 'agent';
export type EngineName = 'terraform' | 'tofu';

export interface TagBinding {
  key: string;
  value: string;
}

/**
 * A workspace's connection to a repository: what its VCS-driven runs use (WorkspaceVcsRepo) and
 * what the API shows of it besides.
 */
export interface WorkspaceConnection extends WorkspaceVcsRepo {
  /** The branch as the workspace names it: '' for the repository's default, shown so (as Terraform Cloud shows it). */
  namedBranch: string;
  /** The repository's default branch, as the provider said it when the workspace was connected. */
  defaultBranch: string;
  oauthClientId: string;
  serviceProvider: ServiceProvider;
  /** The repository's web page. */
  repositoryHttpUrl: string;
  /** Where its repository webhook's deliveries arrive; null when the workspace polls. */
  webhookUrl: string | null;
}

/** What the workspaces table keeps of a connection (the webhook's URL is the hook's). */
export type StoredConnection = Omit<WorkspaceConnection, 'branch' | 'webhookUrl'>;

export interface WorkspaceLock {
  holder: Principal;
  reason: string | null;
  lockedAt: Date;
}

export interface Workspace {
  id: string;
  organizationId: string;
  organizationName: string;
  projectId: string;
  name: string;
  description: string;
  executionMode: ExecutionMode;
  autoApply: boolean;
  autoApplyRunTrigger: boolean;
  allowDestroyPlan: boolean;
  fileTriggersEnabled: boolean;
  globalRemoteState: boolean;
  queueAllRuns: boolean;
  assessmentsEnabled: boolean;
  /** Plan and apply timeouts in seconds; null: the organization's, then otfd's (docs/timeouts-and-hooks.md). */
  planTimeoutSeconds: number | null;
  applyTimeoutSeconds: number | null;
  /**
   * False: executionMode and agentPoolId are the organization's defaults, read with the workspace
   * (TFC's setting-overwrites, here one flag for both: the mode and its pool go together).
   */
  executionOverwritten: boolean;
  speculativeEnabled: boolean;
  structuredRunOutputEnabled: boolean;
  terraformVersion: string;
  workingDirectory: string;
  triggerPrefixes: string[];
  triggerPatterns: string[];
  sourceName: string | null;
  sourceUrl: string | null;
  agentPoolId: string | null;
  /** The SSH key its runs fetch git::ssh:// modules with (the ssh-key relationship). */
  sshKeyId: string | null;
  engine: EngineName;
  /** Workspaces allowed to read this one's state (besides everyone, when globalRemoteState). */
  remoteStateConsumers: string[];
  /** The repository it is connected to (vcs-repo), or null. */
  vcsRepo: WorkspaceConnection | null;
  /**
   * Who connected the repository: runs its commits queue act with this principal's rights,
   * gathered afresh. Not shown in the API.
   */
  vcsConnectedBy: Principal | null;
  lock: WorkspaceLock | null;
  tags: TagBinding[];
  /** What the workspace holds, read from the runs and state domains' tables (never written here). */
  latestRunId: string | null;
  /** The newest run that got past the queue (not speculative); it stays current after it ends, as in TFC. */
  currentRunId: string | null;
  /** How many runs the workspace has had. */
  runsCount: number;
  currentStateVersionId: string | null;
  /** The latest finished health assessment (the assessments domain's table); null when none has finished. */
  currentAssessmentResultId: string | null;
  currentConfigurationVersionId: string | null;
  /** Instances of managed resources in the current state. */
  resourceCount: number;
  /** The outputs of the current state version (the workspace's outputs relationship). */
  outputIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** The settings a client may write. */
export interface WorkspaceSettings {
  name: string;
  description: string;
  executionMode: ExecutionMode;
  autoApply: boolean;
  autoApplyRunTrigger: boolean;
  allowDestroyPlan: boolean;
  fileTriggersEnabled: boolean;
  globalRemoteState: boolean;
  queueAllRuns: boolean;
  assessmentsEnabled: boolean;
  /** Plan and apply timeouts in seconds; null: the organization's, then otfd's (docs/timeouts-and-hooks.md). */
  planTimeoutSeconds: number | null;
  applyTimeoutSeconds: number | null;
  /**
   * False: executionMode and agentPoolId are the organization's defaults, read with the workspace
   * (TFC's setting-overwrites, here one flag for both: the mode and its pool go together).
   */
  executionOverwritten: boolean;
  speculativeEnabled: boolean;
  structuredRunOutputEnabled: boolean;
  terraformVersion: string;
  workingDirectory: string;
  triggerPrefixes: string[];
  triggerPatterns: string[];
  sourceName: string | null;
  sourceUrl: string | null;
  agentPoolId: string | null;
  engine: EngineName;
  projectId: string;
}

interface WorkspaceRow {
  id: string;
  organization_id: string;
  organization_name: string;
  project_id: string;
  name: string;
  description: string;
  execution_mode: ExecutionMode;
  auto_apply: boolean;
  auto_apply_run_trigger: boolean;
  allow_destroy_plan: boolean;
  file_triggers_enabled: boolean;
  global_remote_state: boolean;
  queue_all_runs: boolean;
  assessments_enabled: boolean;
  plan_timeout_seconds: number | null;
  apply_timeout_seconds: number | null;
  execution_overwritten: boolean;
  speculative_enabled: boolean;
  structured_run_output_enabled: boolean;
  terraform_version: string;
  working_directory: string;
  trigger_prefixes: string[];
  trigger_patterns: string[];
  source_name: string | null;
  source_url: string | null;
  agent_pool_id: string | null;
  ssh_key_id: string | null;
  engine: EngineName;
  remote_state_consumers: string[];
  vcs_identifier: string | null;
  vcs_oauth_token_id: string | null;
  vcs_oauth_client_id: string | null;
  vcs_service_provider: ServiceProvider | null;
  vcs_branch: string | null;
  vcs_default_branch: string | null;
  vcs_tags_regex: string | null;
  vcs_ingress_submodules: boolean;
  vcs_repository_http_url: string | null;
  vcs_repo_hook_id: string | null;
  vcs_poll_interval_seconds: number | null;
  vcs_allow_fork_pull_requests: boolean;
  vcs_connected_by_type: Principal['type'] | null;
  vcs_connected_by_id: string | null;
  vcs_connected_by_name: string | null;
  vcs_webhook_url: string | null;
  locked: boolean;
  lock_holder_type: Principal['type'] | null;
  lock_holder_id: string | null;
  lock_holder_name: string | null;
  lock_reason: string | null;
  locked_at: Date | null;
  tags: TagBinding[];
  latest_run_id: string | null;
  current_run_id: string | null;
  runs_count: number;
  current_state_version_id: string | null;
  current_assessment_result_id: string | null;
  current_configuration_version_id: string | null;
  resource_count: number;
  output_ids: string[];
  created_at: Date;
  updated_at: Date;
}

const COLUMNS: Record<keyof WorkspaceSettings, string> = {
  name: 'name',
  description: 'description',
  executionMode: 'execution_mode',
  autoApply: 'auto_apply',
  autoApplyRunTrigger: 'auto_apply_run_trigger',
  allowDestroyPlan: 'allow_destroy_plan',
  fileTriggersEnabled: 'file_triggers_enabled',
  globalRemoteState: 'global_remote_state',
  queueAllRuns: 'queue_all_runs',
  assessmentsEnabled: 'assessments_enabled',
  planTimeoutSeconds: 'plan_timeout_seconds',
  applyTimeoutSeconds: 'apply_timeout_seconds',
  executionOverwritten: 'execution_overwritten',
  speculativeEnabled: 'speculative_enabled',
  structuredRunOutputEnabled: 'structured_run_output_enabled',
  terraformVersion: 'terraform_version',
  workingDirectory: 'working_directory',
  triggerPrefixes: 'trigger_prefixes',
  triggerPatterns: 'trigger_patterns',
  sourceName: 'source_name',
  sourceUrl: 'source_url',
  agentPoolId: 'agent_pool_id',
  engine: 'engine',
  projectId: 'project_id',
};

function toColumns(settings: Partial<WorkspaceSettings>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) row[COLUMNS[key as keyof WorkspaceSettings]] = value;
  }
  return row;
}

function toWorkspace(r: WorkspaceRow): Workspace {
  return {
    id: r.id,
    organizationId: r.organization_id,
    organizationName: r.organization_name,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    executionMode: r.execution_mode,
    autoApply: r.auto_apply,
    autoApplyRunTrigger: r.auto_apply_run_trigger,
    allowDestroyPlan: r.allow_destroy_plan,
    fileTriggersEnabled: r.file_triggers_enabled,
    globalRemoteState: r.global_remote_state,
    queueAllRuns: r.queue_all_runs,
    assessmentsEnabled: r.assessments_enabled,
    planTimeoutSeconds: r.plan_timeout_seconds,
    applyTimeoutSeconds: r.apply_timeout_seconds,
    executionOverwritten: r.execution_overwritten,
    speculativeEnabled: r.speculative_enabled,
    structuredRunOutputEnabled: r.structured_run_output_enabled,
    terraformVersion: r.terraform_version,
    workingDirectory: r.working_directory,
    triggerPrefixes: r.trigger_prefixes,
    triggerPatterns: r.trigger_patterns,
    sourceName: r.source_name,
    sourceUrl: r.source_url,
    agentPoolId: r.agent_pool_id,
    sshKeyId: r.ssh_key_id,
    engine: r.engine,
    remoteStateConsumers: r.remote_state_consumers,
    vcsRepo: connectionOf(r),
    vcsConnectedBy:
      r.vcs_identifier && r.vcs_connected_by_type && r.vcs_connected_by_id
        ? { type: r.vcs_connected_by_type, id: r.vcs_connected_by_id, name: r.vcs_connected_by_name ?? r.vcs_connected_by_id }
        : null,
    lock:
      r.locked && r.lock_holder_type && r.lock_holder_id
        ? {
            holder: { type: r.lock_holder_type, id: r.lock_holder_id, name: r.lock_holder_name ?? r.lock_holder_id },
            reason: r.lock_reason,
            lockedAt: r.locked_at ?? r.updated_at,
          }
        : null,
    tags: r.tags,
    latestRunId: r.latest_run_id,
    currentRunId: r.current_run_id,
    runsCount: Number(r.runs_count),
    currentStateVersionId: r.current_state_version_id,
    currentAssessmentResultId: r.current_assessment_result_id,
    currentConfigurationVersionId: r.current_configuration_version_id,
    resourceCount: r.resource_count,
    outputIds: r.output_ids,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function connectionOf(r: WorkspaceRow): WorkspaceConnection | null {
  if (!r.vcs_identifier || !r.vcs_oauth_token_id || !r.vcs_oauth_client_id || !r.vcs_service_provider) return null;
  const namedBranch = r.vcs_branch ?? '';
  const defaultBranch = r.vcs_default_branch ?? '';
  return {
    identifier: r.vcs_identifier,
    oauthTokenId: r.vcs_oauth_token_id,
    oauthClientId: r.vcs_oauth_client_id,
    serviceProvider: r.vcs_service_provider,
    branch: namedBranch || defaultBranch,
    namedBranch,
    defaultBranch,
    tagsRegex: r.vcs_tags_regex,
    ingressSubmodules: r.vcs_ingress_submodules,
    repositoryHttpUrl: r.vcs_repository_http_url ?? '',
    repoHookId: r.vcs_repo_hook_id,
    webhookUrl: r.vcs_webhook_url,
    pollIntervalSeconds: r.vcs_poll_interval_seconds,
    allowForkPullRequests: r.vcs_allow_fork_pull_requests,
  };
}

const VCS_COLUMNS = [
  'vcs_identifier',
  'vcs_oauth_token_id',
  'vcs_oauth_client_id',
  'vcs_service_provider',
  'vcs_branch',
  'vcs_default_branch',
  'vcs_tags_regex',
  'vcs_ingress_submodules',
  'vcs_repository_http_url',
  'vcs_repo_hook_id',
  'vcs_poll_interval_seconds',
  'vcs_allow_fork_pull_requests',
  'vcs_connected_by_type',
  'vcs_connected_by_id',
  'vcs_connected_by_name',
];

const WORKSPACE_COLUMNS = [
  'id',
  'organization_id',
  'project_id',
  'name',
  'description',
  'auto_apply',
  'auto_apply_run_trigger',
  'allow_destroy_plan',
  'file_triggers_enabled',
  'global_remote_state',
  'queue_all_runs',
  'assessments_enabled',
  'plan_timeout_seconds',
  'apply_timeout_seconds',
  'execution_overwritten',
  'speculative_enabled',
  'structured_run_output_enabled',
  'terraform_version',
  'working_directory',
  'trigger_prefixes',
  'trigger_patterns',
  'source_name',
  'source_url',
  'ssh_key_id',
  'engine',
  'locked',
  'lock_holder_type',
  'lock_holder_id',
  'lock_holder_name',
  'lock_reason',
  'locked_at',
  'created_at',
  'updated_at',
  ...VCS_COLUMNS,
].map((c) => `w.${c}`);

/**
 * The execution mode and agent pool in effect: the workspace's own, or, when it follows its
 * organization (execution_overwritten false), the organization's defaults as they are now.
 */
/** A workspace's execution mode in SQL, with its organization's default: `w` is the workspace, `o` its organization. */
export const EFFECTIVE_MODE = `CASE WHEN w.execution_overwritten THEN w.execution_mode ELSE o.default_execution_mode END`;
const EFFECTIVE_POOL = `CASE WHEN w.execution_overwritten THEN w.agent_pool_id
  WHEN o.default_execution_mode = 'agent' THEN o.default_agent_pool_id END`;

/** The workspace's latest run (`w` the workspace), in SQL: health assessments' hidden runs never count. */
export const LATEST_RUN_ID = `(SELECT r.id FROM runs r WHERE r.workspace_id = w.id AND NOT r.assessment ORDER BY r.created_at DESC, r.id DESC LIMIT 1)`;

/**
 * The workspace's current run (`w` the workspace), in SQL. A run is admitted to the workspace queue
 * when its plan is queued (plan-queued-at). While a user or team holds the lock, the run it holds
 * back (the oldest pending one) is current, as in TFC: the terraform CLI reads a locked workspace
 * with a pending current run as "manually locked" and says so, instead of counting runs that are
 * not in the way.
 */
export const CURRENT_RUN_ID = `coalesce(
  (SELECT r.id FROM runs r WHERE w.locked AND w.lock_holder_type <> 'runs' AND r.workspace_id = w.id AND r.status = 'pending' AND NOT r.speculative
    ORDER BY r.created_at, r.id LIMIT 1),
  (SELECT r.id FROM runs r WHERE r.workspace_id = w.id AND NOT r.speculative AND r.status_timestamps->>'plan-queued-at' IS NOT NULL
    ORDER BY r.created_at DESC, r.id DESC LIMIT 1))`;

/** A column of the workspace's current state version: the one finalized last. */
const CURRENT_STATE_VERSION = (column: string) =>
  `${column} FROM state_versions sv WHERE sv.workspace_id = w.id AND sv.status = 'finalized' ORDER BY sv.finalized_seq DESC LIMIT 1`;

/**
 * Workspaces with their organization's name and their tags, in one statement. Columns are named
 * (not w.*) because some of these statements are prepared per connection, and a prepared w.*
 * breaks when a later migration adds a column.
 */
function selectWorkspaces(db: Db): Knex.QueryBuilder {
  return db('workspaces as w')
    .join('organizations as o', 'o.id', 'w.organization_id')
    // The current state version, found once for the three columns that need it.
    .joinRaw(`LEFT JOIN LATERAL (SELECT ${CURRENT_STATE_VERSION('sv.id, sv.managed_instances')}) AS csv ON true`)
    .select(
      ...WORKSPACE_COLUMNS,
      'o.name as organization_name',
      db.raw(`${EFFECTIVE_MODE} AS execution_mode`),
      db.raw(`${EFFECTIVE_POOL} AS agent_pool_id`),
      db.raw(
        `coalesce((SELECT json_agg(json_build_object('key', t.key, 'value', t.value) ORDER BY t.key)
                   FROM workspace_tags t WHERE t.workspace_id = w.id), '[]'::json) AS tags`,
      ),
      db.raw(`coalesce((SELECT array_agg(c.consumer_id ORDER BY c.consumer_id) FROM remote_state_consumers c WHERE c.workspace_id = w.id), '{}') AS remote_state_consumers`),
      // The URL its repository webhook was registered with (the connections domain's table).
      db.raw(`(SELECT h.url FROM repo_hooks h WHERE h.id = w.vcs_repo_hook_id) AS vcs_webhook_url`),
      // Read-only glimpses into the tables of runs and state, in the same statement so that
      // showing a workspace stays one round trip. "Current" is what those domains call current.
      db.raw(`${LATEST_RUN_ID} AS latest_run_id`),
      db.raw(`${CURRENT_RUN_ID} AS current_run_id`),
      db.raw(`(SELECT count(*) FROM runs r WHERE r.workspace_id = w.id AND NOT r.assessment)::int AS runs_count`),
      db.raw(`csv.id AS current_state_version_id`),
      db.raw(
        `(SELECT ar.id FROM assessment_results ar WHERE ar.workspace_id = w.id AND ar.status <> 'running'
          ORDER BY ar.created_at DESC, ar.id LIMIT 1) AS current_assessment_result_id`,
      ),
      db.raw(`coalesce(csv.managed_instances, 0) AS resource_count`),
      db.raw(`coalesce((SELECT array_agg(so.id ORDER BY so.name) FROM state_version_outputs so WHERE so.state_version_id = csv.id), '{}') AS output_ids`),
      db.raw(
        // The newest configuration version, also while it waits for its upload (as TFC shows it);
        // a provisional one is not current (TFC: until a run of it is applied; otf: never).
        `(SELECT cv.id FROM configuration_versions cv WHERE cv.workspace_id = w.id AND NOT cv.provisional
          ORDER BY cv.created_at DESC, cv.id DESC LIMIT 1) AS current_configuration_version_id`,
      ),
    );
}

// The hottest query of the API: built once, prepared once per connection (src/db statement).
const byId = statement<WorkspaceRow>('workspaces.findById', (db, parameter) => selectWorkspaces(db).where('w.id', parameter(0)).limit(1));

export async function findById(db: Db, id: string): Promise<Workspace | null> {
  const [row] = await byId(db, [id]);
  return row ? toWorkspace(row) : null;
}

/** The workspaces of these ids that exist, in one statement. */
export async function findByIds(db: Db, ids: string[]): Promise<Workspace[]> {
  if (ids.length === 0) return [];
  return ((await selectWorkspaces(db).whereRaw('w.id = ANY(?)', [ids])) as WorkspaceRow[]).map(toWorkspace);
}

export async function findByName(db: Db, organizationId: string, name: string): Promise<Workspace | null> {
  const row = (await selectWorkspaces(db)
    .where({ 'w.organization_id': organizationId, 'w.name': name })
    .first()
    .options({ name: 'workspaces.findByName' })) as WorkspaceRow | undefined;
  return row ? toWorkspace(row) : null;
}

export interface ListFilter {
  organizationId: string;
  /** Substring of the name. */
  search?: string;
  /** Name pattern with * wildcards. */
  wildcardName?: string;
  /** Tag keys every result carries. */
  tags?: string[];
  /** Tag keys no result carries. */
  excludeTags?: string[];
  /** Key/value bindings every result carries; a missing value matches any. */
  tagged?: Array<{ key: string; value?: string }>;
  projectId?: string;
  /** Only these workspaces (what the caller may see). */
  onlyIds?: string[];
  sort: { column: 'name' | 'created_at' | 'updated_at'; descending: boolean };
  limit: number;
  offset: number;
}

export async function list(db: Db, f: ListFilter): Promise<{ items: Workspace[]; total: number }> {
  // The page is chosen over narrow rows (ids in order, with the total), and only its rows are read
  // in full: sorting and counting every matching workspace with its tags, current run and state
  // made the database's share of a page of 100 several times what the page itself needed.
  const q = db('workspaces as w').select('w.id').where('w.organization_id', f.organizationId);
  if (f.search) q.whereILike('w.name', `%${escapeLike(f.search)}%`);
  if (f.wildcardName) q.whereILike('w.name', f.wildcardName.split('*').map(escapeLike).join('%'));
  if (f.projectId) q.where('w.project_id', f.projectId);
  if (f.onlyIds) q.whereRaw('w.id = ANY(?)', [f.onlyIds]);
  // One subquery for all the wanted tags (a workspace matches when it carries each of them) and one
  // for all the excluded ones, so the plan's cost does not grow with one EXISTS per tag.
  const tags = [...new Set(f.tags ?? [])];
  if (tags.length > 0) {
    // ARRAY(...): the tagged workspaces are found once, not again for each workspace of the
    // organization, which the planner chose (a nested loop) when its statistics were stale.
    const tagged = db('workspace_tags').select('workspace_id').whereRaw('key = ANY(?)', [tags]).groupBy('workspace_id').havingRaw('count(DISTINCT key) = ?', [tags.length]);
    q.whereRaw('w.id = ANY(ARRAY(?))', [tagged]);
  }
  const excluded = [...new Set(f.excludeTags ?? [])];
  if (excluded.length > 0) {
    q.whereNotExists((s) => s.select(db.raw('1')).from('workspace_tags as t').whereRaw('t.workspace_id = w.id').whereRaw('t.key = ANY(?)', [excluded]));
  }
  for (const { key, value } of f.tagged ?? []) {
    q.whereExists((s) => {
      s.select(db.raw('1')).from('workspace_tags as t').whereRaw('t.workspace_id = w.id').andWhere('t.key', key);
      if (value !== undefined) s.andWhere('t.value', value);
    });
  }
  const order = (b: Knex.QueryBuilder) => {
    b.orderBy(`w.${f.sort.column}`, f.sort.descending ? 'desc' : 'asc');
    // Names are unique in an organization; other orders need a tie-break to page stably.
    if (f.sort.column !== 'name') b.orderBy('w.id');
    return b;
  };
  // filter[tagged] adds a clause per tag: those statements come in too many shapes to keep prepared.
  const prepare = (f.tagged ?? []).length === 0;
  const { rows, total } = await paged<WorkspaceRow>(db, order(q), f.limit, f.offset, (page) => {
    const full = order(selectWorkspaces(db).join(page.as('page'), 'page.id', 'w.id').select('page.total_count'));
    return prepare ? prepared(full, 'workspaces.list', f.offset) : full;
  });
  return { items: rows.map(toWorkspace), total };
}

/** Workspaces assigned to an agent pool. */
/** The ids of an organization's workspaces (for data retention). */
export async function idsInOrganization(db: Db, organizationId: string): Promise<string[]> {
  return db('workspaces').where({ organization_id: organizationId }).orderBy('id').pluck('id');
}

export async function usingPool(db: Db, poolId: string): Promise<Workspace[]> {
  const rows = (await selectWorkspaces(db).whereRaw(`(${EFFECTIVE_POOL}) = ?`, [poolId]).orderBy('w.name')) as WorkspaceRow[];
  return rows.map(toWorkspace);
}

export async function insert(db: Db, ws: { id: string; organizationId: string } & WorkspaceSettings): Promise<void> {
  const { id, organizationId, ...settings } = ws;
  await db('workspaces').insert({ id, organization_id: organizationId, ...toColumns(settings) });
}

export async function update(db: Db, id: string, changes: Partial<WorkspaceSettings>): Promise<void> {
  await db('workspaces')
    .where({ id })
    .update({ ...toColumns(changes), updated_at: db.fn.now() });
}

export async function remove(db: Db, id: string): Promise<void> {
  await db('workspaces').where({ id }).delete();
}

/** Connects the workspace to a repository (or changes how), recording who did; null disconnects it. */
export async function setConnection(db: Db, id: string, c: StoredConnection | null, connectedBy: Principal | null): Promise<void> {
  await db('workspaces')
    .where({ id })
    .update({
      vcs_identifier: c?.identifier ?? null,
      vcs_oauth_token_id: c?.oauthTokenId ?? null,
      vcs_oauth_client_id: c?.oauthClientId ?? null,
      vcs_service_provider: c?.serviceProvider ?? null,
      vcs_branch: c?.namedBranch ?? null,
      vcs_default_branch: c?.defaultBranch ?? null,
      vcs_tags_regex: c?.tagsRegex ?? null,
      vcs_ingress_submodules: c?.ingressSubmodules ?? false,
      vcs_repository_http_url: c?.repositoryHttpUrl ?? null,
      vcs_repo_hook_id: c?.repoHookId ?? null,
      vcs_poll_interval_seconds: c?.pollIntervalSeconds ?? null,
      vcs_allow_fork_pull_requests: c?.allowForkPullRequests ?? false,
      vcs_connected_by_type: c && connectedBy ? connectedBy.type : null,
      vcs_connected_by_id: c && connectedBy ? connectedBy.id : null,
      vcs_connected_by_name: c && connectedBy ? connectedBy.name : null,
      updated_at: db.fn.now(),
    });
}

/** Workspaces whose deliveries arrive at this repository webhook. */
export async function usingRepoHook(db: Db, hookId: string): Promise<Workspace[]> {
  const rows = (await selectWorkspaces(db).where('w.vcs_repo_hook_id', hookId).orderBy('w.id')) as WorkspaceRow[];
  return rows.map(toWorkspace);
}

/** Whether any workspace names this repository webhook (read in the caller's transaction). */
export async function anyUsesRepoHook(db: Db, hookId: string): Promise<boolean> {
  return (await db('workspaces').where({ vcs_repo_hook_id: hookId }).first('id')) !== undefined;
}

/** Workspaces connected with this oauth token. */
export async function usingOauthToken(db: Db, oauthTokenId: string): Promise<Workspace[]> {
  const rows = (await selectWorkspaces(db).where('w.vcs_oauth_token_id', oauthTokenId).orderBy('w.id')) as WorkspaceRow[];
  return rows.map(toWorkspace);
}

/** Connected workspaces that poll their branch instead of receiving webhooks. */
export async function polling(db: Db): Promise<Workspace[]> {
  const rows = (await selectWorkspaces(db).whereNotNull('w.vcs_identifier').whereNotNull('w.vcs_poll_interval_seconds').orderBy('w.id')) as WorkspaceRow[];
  return rows.map(toWorkspace);
}

/** Sets or clears (null) the workspace's SSH key. */
export async function setSshKey(db: Db, id: string, sshKeyId: string | null): Promise<void> {
  await db('workspaces').where({ id }).update({ ssh_key_id: sshKeyId, updated_at: db.fn.now() });
}

// ---------------------------------------------------------------- locks

/** Takes the lock when it is free; false when somebody holds it already. */
export async function lock(db: Db, id: string, holder: Principal, reason: string | null): Promise<boolean> {
  const n = await db('workspaces').where({ id, locked: false }).update({
    locked: true,
    lock_holder_type: holder.type,
    lock_holder_id: holder.id,
    lock_holder_name: holder.name,
    lock_reason: reason,
    locked_at: db.fn.now(),
  });
  return n === 1;
}

/** Releases the lock if it is held by `holder` (any holder when null); false otherwise. */
export async function unlock(db: Db, id: string, holder: Principal | null): Promise<boolean> {
  const q = db('workspaces').where({ id, locked: true });
  if (holder) q.where({ lock_holder_type: holder.type, lock_holder_id: holder.id });
  const n = await q.update({
    locked: false,
    lock_holder_type: null,
    lock_holder_id: null,
    lock_holder_name: null,
    lock_reason: null,
    locked_at: null,
  });
  return n === 1;
}

/** Takes the lock for a run, or keeps it when the run holds it already; false when anyone else does. */
export async function lockForRun(db: Db, id: string, runId: string): Promise<boolean> {
  if (await lock(db, id, { type: 'runs', id: runId, name: runId }, null)) return true;
  const row = await db('workspaces').where({ id, locked: true, lock_holder_type: 'runs', lock_holder_id: runId }).first('id');
  return row !== undefined;
}

// ---------------------------------------------------------------- remote state consumers

export async function addConsumers(db: Db, workspaceId: string, consumerIds: string[]): Promise<void> {
  if (consumerIds.length === 0) return;
  await db('remote_state_consumers')
    .insert([...new Set(consumerIds)].map((c) => ({ workspace_id: workspaceId, consumer_id: c })))
    .onConflict(['workspace_id', 'consumer_id'])
    .ignore();
}

export async function removeConsumers(db: Db, workspaceId: string, consumerIds: string[]): Promise<void> {
  await db('remote_state_consumers').where({ workspace_id: workspaceId }).whereIn('consumer_id', consumerIds).delete();
}

export async function setConsumers(db: Db, workspaceId: string, consumerIds: string[]): Promise<void> {
  await db('remote_state_consumers').where({ workspace_id: workspaceId }).delete();
  await addConsumers(db, workspaceId, consumerIds);
}

// ---------------------------------------------------------------- tags

/** Adds or updates tag bindings; other bindings stay. Every key also becomes an organization tag. */
export async function upsertTags(db: Db, organizationId: string, workspaceId: string, given: TagBinding[], newTagId: () => string): Promise<void> {
  // A key named twice in one request is one binding; the last value wins.
  const tags = [...new Map(given.map((t) => [t.key, t])).values()];
  if (tags.length === 0) return;
  await db('tags')
    .insert(tags.map((t) => ({ id: newTagId(), organization_id: organizationId, name: t.key })))
    .onConflict(['organization_id', 'name'])
    .ignore();
  await db('workspace_tags')
    .insert(tags.map((t) => ({ workspace_id: workspaceId, key: t.key, value: t.value })))
    .onConflict(['workspace_id', 'key'])
    .merge(['value']);
}

export async function removeTags(db: Db, workspaceId: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db('workspace_tags').where({ workspace_id: workspaceId }).whereIn('key', keys).delete();
}

export interface NamedTag {
  id: string;
  name: string;
}

/** Organization tags by name or id. */
export async function findTags(db: Db, organizationId: string, refs: { ids: string[]; names: string[] }): Promise<NamedTag[]> {
  if (refs.ids.length === 0 && refs.names.length === 0) return [];
  return db('tags')
    .where({ organization_id: organizationId })
    .andWhere((w) => w.whereIn('id', refs.ids).orWhereIn('name', refs.names))
    .orderBy('name')
    .select('id', 'name');
}
