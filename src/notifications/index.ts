// The notifications domain: workspaces' notification configurations (Terraform Cloud's API), what
// runs and health assessments enqueue, and the worker that delivers it (generic webhooks signed
// with HMAC-SHA512, Slack, Microsoft Teams, email through SMTP). Wired into otfd by src/server.ts.
import type { Knex } from 'knex';
import client from 'prom-client';
import type { ApiRouter } from '../api/http.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../metrics.js';
import type { Run } from '../runs/index.js';
import type { UserService } from '../users/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { registerNotificationRoutes } from './routes.js';
import { NotificationService, type NotificationSettings, type WakeAfterCommit } from './service.js';
import type { AssessmentNotice } from './triggers.js';

export { NOTIFICATION_TRIGGERS, type AssessmentNotice, type NotificationTrigger } from './triggers.js';
export { NotificationService, runNotifications, type NotificationSettings } from './service.js';

export interface NotificationDeps {
  db: Db;
  /** --secret; tokens are sealed under a key derived from it, as sensitive variables are. */
  secret: string;
  workspaces: WorkspaceService;
  users: UserService;
  settings: NotificationSettings;
  registry: Registry;
  logger: Logger;
  /** otfd's base URL (known once it listens), for links in notifications. */
  baseUrl: () => string;
}

export interface NotificationDomain {
  routes(router: ApiRouter): void;
  service: NotificationService;
  // Each enqueues in the caller's transaction, and answers what to do once it has committed (wake the worker).
  /** The runs domain's transition hook: the triggers of a run's status change. */
  statusChanged(trx: Knex.Transaction, run: Run, from: string, to: string): Promise<WakeAfterCommit | void>;
  /** For the runs domain's created hook: run:created. */
  runCreated(trx: Knex.Transaction, run: Run): Promise<WakeAfterCommit | void>;
  /** For the assessments domain, as it finishes a result: whoever listens for its trigger. */
  assessmentFinished(trx: Knex.Transaction, notice: AssessmentNotice): Promise<WakeAfterCommit | void>;
  /** Starts the delivery worker (one per otfd; replicas share the queue). */
  start(): void;
  stop(): Promise<void>;
}

export function createNotificationDomain(deps: NotificationDeps): NotificationDomain {
  const deliveries = new client.Counter({
    name: 'otf_notification_deliveries_total',
    help: 'Notification delivery attempts, by destination type and result (success or failure).',
    labelNames: ['destination_type', 'result'] as const,
    registers: [deps.registry],
  });
  const service = new NotificationService({ ...deps, deliveries });
  return {
    routes: (router) => registerNotificationRoutes(router, service),
    service,
    statusChanged: service.statusChanged,
    runCreated: service.runCreated,
    assessmentFinished: service.assessmentFinished,
    start: () => service.start(),
    stop: () => service.stop(),
  };
}
