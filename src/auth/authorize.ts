// Authorization, decided in one place. Services call authorize() before acting; the permission
// blocks of API resources are computed from the same rules.
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { Subject } from './subject.js';

export type Action =
  | 'organization:read'
  | 'organization:update'
  | 'organization:delete'
  | 'organization:manage-token'
  | 'project:read'
  | 'project:create'
  | 'tag:read'
  | 'workspace:create'
  | 'workspace:read'
  | 'workspace:update'
  | 'workspace:delete'
  | 'workspace:lock'
  | 'workspace:unlock'
  | 'workspace:force-unlock'
  | 'workspace:manage-tags'
  | 'run:read'
  | 'run:queue'
  | 'run:apply'
  | 'run:cancel'
  | 'variable:read'
  | 'variable:update'
  | 'state:read'
  | 'state:read-outputs'
  | 'state:create'
  | 'state:rollback'
  | 'pool:read'
  | 'pool:manage';

/** What an action is about: an organization, and within it perhaps one workspace. */
export interface Scope {
  organizationId: string;
  workspaceId?: string;
  /** Workspaces whose runs may read this workspace's state: everyone, or those named. */
  stateReaders?: 'everyone' | string[];
}

/** What the run of another workspace may read of a workspace that shares its state with it. */
const STATE_READING: ReadonlySet<Action> = new Set<Action>(['state:read', 'state:read-outputs']);

/** What an organization token may not do inside its own organization. */
const ORGANIZATION_TOKEN_DENIED: ReadonlySet<Action> = new Set<Action>(['organization:delete']);

/** What a job token may do, and only in the workspace of its run. */
const JOB_ALLOWED: ReadonlySet<Action> = new Set<Action>([
  'organization:read',
  'workspace:read',
  'run:read',
  'variable:read',
  'state:read',
  'state:read-outputs',
  'state:create',
]);

/** Whether the subject can see anything of the organization at all. */
export function canSeeOrganization(subject: Subject, organizationId: string): boolean {
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'organization-token':
    case 'job':
      return subject.organizationId === organizationId;
    // Agents speak the agent protocol only; to the API they see nothing.
    case 'agent-token':
    case 'agent':
      return false;
  }
}

/**
 * Whether the subject can see the scope for this action. A job sees its own workspace; of the
 * other workspaces of its organization it sees the settings, and the state only of those that
 * share it with the job's workspace. (terraform_remote_state looks a workspace up by name first:
 * seeing it, the CLI then reports a refused state as "Unable to find remote state" rather than
 * trying to create the workspace.)
 */
function canSee(subject: Subject, action: Action, scope: Scope): boolean {
  if (!canSeeOrganization(subject, scope.organizationId)) return false;
  if (subject.kind === 'job' && scope.workspaceId !== undefined && scope.workspaceId !== subject.workspaceId) {
    if (action === 'workspace:read') return true;
    const readers = scope.stateReaders ?? [];
    return STATE_READING.has(action) && (readers === 'everyone' || readers.includes(subject.workspaceId));
  }
  return true;
}

export function isAllowed(subject: Subject, action: Action, scope: Scope): boolean {
  if (!canSee(subject, action, scope)) return false;
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'organization-token':
      return !ORGANIZATION_TOKEN_DENIED.has(action);
    case 'job':
      return JOB_ALLOWED.has(action);
    case 'agent-token':
    case 'agent':
      return false;
  }
}

/** The workspaces of an organization the subject may list; null means all of them. A job lists its own. */
export function visibleWorkspaces(subject: Subject): string[] | null {
  return subject.kind === 'job' ? [subject.workspaceId] : null;
}

/**
 * Throws NotFoundError when the subject cannot see the scope (so its resources do not leak),
 * ForbiddenError naming the missing permission when it can see but may not act.
 */
export function authorize(subject: Subject, action: Action, scope: Scope, notFound: () => NotFoundError): void {
  if (!canSee(subject, action, scope)) throw notFound();
  if (!isAllowed(subject, action, scope)) {
    throw new ForbiddenError(`missing permission ${action}`);
  }
}

/** Only site administrators may create organizations or act across all of them. */
export function requireSiteAdmin(subject: Subject, what: string): void {
  if (subject.kind !== 'site-admin') throw new ForbiddenError(`only a site administrator may ${what}`);
}
