// The audit domain: every change made in an organization (who, from where, what, on which
// resource, with what result), recorded by the services in the change's own transaction
// (recordChange), refused and failed change requests (recordRefusal, by the API layer), the
// trail read back at /organization/audit-trail, and its pruning (--audit-retention) in the hourly
// collection. Wired into otfd by src/server.ts.
import type { Logger } from 'pino';
import type { ApiRouter } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { OrganizationService } from '../orgs/index.js';
import { registerAuditRoutes } from './routes.js';
import { AuditService } from './service.js';

export { actorOf, ANONYMOUS_ACTOR } from './actor.js';
export { audited, creatorOf, recordAnonymousRefusal, recordChange, recordRefusal, type Change, type Details, type Refusal } from './record.js';
export { AuditService } from './service.js';

export interface AuditDeps {
  db: Db;
  orgs: OrganizationService;
  /** --audit-retention: events older than this are pruned by the periodic collection; null keeps them forever. */
  retentionMs: number | null;
  logger: Logger;
}

export interface AuditDomain {
  routes(router: ApiRouter): void;
  service: AuditService;
}

export function createAuditDomain(deps: AuditDeps): AuditDomain {
  const service = new AuditService(deps.db, deps.orgs, deps.retentionMs, deps.logger);
  return { routes: (router) => registerAuditRoutes(router, service), service };
}
