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
  | 'variable:read'
  | 'variable:update'
  | 'state:read'
  | 'state:read-outputs'
  | 'state:create';

/** What an organization token may not do inside its own organization. */
const ORGANIZATION_TOKEN_DENIED: ReadonlySet<Action> = new Set<Action>(['organization:delete']);

/** Whether the subject can see anything of the organization at all. */
export function canSeeOrganization(subject: Subject, organizationId: string): boolean {
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'organization-token':
      return subject.organizationId === organizationId;
  }
}

export function isAllowed(subject: Subject, action: Action, organizationId: string): boolean {
  if (!canSeeOrganization(subject, organizationId)) return false;
  switch (subject.kind) {
    case 'site-admin':
      return true;
    case 'organization-token':
      return !ORGANIZATION_TOKEN_DENIED.has(action);
  }
}

/**
 * Throws NotFoundError when the subject cannot see the organization (so its resources do not leak),
 * ForbiddenError naming the missing permission when it can see but may not act.
 */
export function authorize(subject: Subject, action: Action, organizationId: string, notFound: () => NotFoundError): void {
  if (!canSeeOrganization(subject, organizationId)) throw notFound();
  if (!isAllowed(subject, action, organizationId)) {
    throw new ForbiddenError(`missing permission ${action}`);
  }
}

/** Only site administrators may create organizations or act across all of them. */
export function requireSiteAdmin(subject: Subject, what: string): void {
  if (subject.kind !== 'site-admin') throw new ForbiddenError(`only a site administrator may ${what}`);
}
