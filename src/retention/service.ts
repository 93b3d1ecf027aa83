// Rules of data retention: Terraform Cloud's data retention policies. An organization's policy
// applies to each of its workspaces that has none of its own; a workspace's overrides it (a
// "dont-delete" one keeps everything of that workspace). Only owners read or change them.
//
// Enforcement (enforce(), run with the blob collector) deletes, per workspace under a
// "delete-older" policy, what was created more than N days ago, through the owning domains:
// runs (with their plans, applies, logs and artifacts) and configuration versions (src/runs/
// retention.ts), state versions (src/state/retention.ts). Those modules keep what a workspace
// still needs: its current state, non-final runs, its current and latest run, its newest
// configuration version and every version a remaining run uses. Replicas may enforce at the same
// time: every delete is idempotent and locks what it deletes.
import { audited, type Change } from '../audit/index.js';
import type { Logger } from 'pino';
import { authorize } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import { pruneRuns } from '../runs/index.js';
import { pruneStateVersions } from '../state/index.js';
import type { Workspace, WorkspaceService } from '../workspaces/index.js';
import * as store from './store.js';
import type { PolicyKind, RetentionPolicy } from './store.js';

/** The longest a policy may keep things: 100 years (a larger number is surely a mistake). */
export const MAX_DAYS = 36_500;
const DAY_MS = 86_400_000;

export interface PolicyInput {
  kind: PolicyKind;
  deleteOlderThanNDays: number | null;
}

export interface RetentionReport {
  workspaces: number;
  runs: number;
  configurationVersions: number;
  stateVersions: number;
}

export class RetentionService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
    private readonly logger: Logger,
    /** Told what each enforcement deleted (otfd's metrics). */
    private readonly onEnforced: (report: RetentionReport) => void = () => undefined,
  ) {}

  private async organization(subject: Subject, action: 'retention:read' | 'retention:manage', orgName: string): Promise<Organization> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, action, { organizationId: org.id }, () => notFound('organization', orgName));
    return org;
  }

  private async workspace(subject: Subject, action: 'retention:read' | 'retention:manage', id: string): Promise<Workspace> {
    const ws = await this.workspaces.get(subject, id);
    authorize(subject, action, { organizationId: ws.organizationId }, () => notFound('workspace', id));
    return ws;
  }

  async getForOrganization(subject: Subject, orgName: string): Promise<RetentionPolicy | null> {
    const org = await this.organization(subject, 'retention:read', orgName);
    return store.find(this.db, org.id, null);
  }

  async setForOrganization(subject: Subject, orgName: string, input: PolicyInput): Promise<RetentionPolicy> {
    const org = await this.organization(subject, 'retention:manage', orgName);
    return this.set(org.id, null, input);
  }

  async deleteForOrganization(subject: Subject, orgName: string): Promise<void> {
    const org = await this.organization(subject, 'retention:manage', orgName);
    await audited(this.db, (trx) => store.remove(trx, org.id, null), policyChange('delete', org.id, null));
  }

  async getForWorkspace(subject: Subject, workspaceId: string): Promise<RetentionPolicy | null> {
    const ws = await this.workspace(subject, 'retention:read', workspaceId);
    return store.find(this.db, ws.organizationId, ws.id);
  }

  async setForWorkspace(subject: Subject, workspaceId: string, input: PolicyInput): Promise<RetentionPolicy> {
    const ws = await this.workspace(subject, 'retention:manage', workspaceId);
    return this.set(ws.organizationId, ws.id, input);
  }

  async deleteForWorkspace(subject: Subject, workspaceId: string): Promise<void> {
    const ws = await this.workspace(subject, 'retention:manage', workspaceId);
    await audited(this.db, (trx) => store.remove(trx, ws.organizationId, ws.id), policyChange('delete', ws.organizationId, ws.id));
  }

  private async set(organizationId: string, workspaceId: string | null, input: PolicyInput): Promise<RetentionPolicy> {
    if (input.kind === 'delete-older') {
      const n = input.deleteOlderThanNDays;
      // The schema checks this too; the service holds the rule whoever calls it.
      if (n === null || !Number.isInteger(n) || n < 1 || n > MAX_DAYS) {
        throw new InvalidError(`attribute "delete-older-than-n-days" must be a whole number of days from 1 to ${MAX_DAYS}`, { pointer: '/data/attributes/delete-older-than-n-days' });
      }
    }
    const id = newId('drp');
    const days = input.kind === 'delete-older' ? input.deleteOlderThanNDays : null;
    await audited(this.db, (trx) => store.replace(trx, { id, organizationId, workspaceId, kind: input.kind, deleteOlderThanNDays: days }), {
      ...policyChange('set', organizationId, workspaceId),
      details: { workspace: workspaceId, kind: input.kind, days },
    });
    const saved = await store.find(this.db, organizationId, workspaceId);
    if (!saved) throw new Error(`data retention policy ${id} vanished after it was saved`);
    return saved;
  }

  /** Applies every policy once: see the top of this file. */
  async enforce(now = new Date()): Promise<RetentionReport> {
    const report: RetentionReport = { workspaces: 0, runs: 0, configurationVersions: 0, stateVersions: 0 };
    const policies = await store.all(this.db);
    const own = new Map(policies.filter((p) => p.workspaceId !== null).map((p) => [p.workspaceId!, p]));
    // Each workspace due, with its organization (the audit trail's) and the policy's days.
    const due = new Map<string, { organizationId: string; days: number }>();
    for (const p of policies) {
      if (p.workspaceId !== null) {
        if (p.kind === 'delete-older') due.set(p.workspaceId, { organizationId: p.organizationId, days: p.deleteOlderThanNDays! });
        continue;
      }
      if (p.kind !== 'delete-older') continue;
      for (const id of await this.workspaces.idsInOrganization(p.organizationId)) {
        if (!own.has(id)) due.set(id, { organizationId: p.organizationId, days: p.deleteOlderThanNDays! });
      }
    }
    for (const [workspaceId, { organizationId, days }] of due) {
      const before = new Date(now.getTime() - days * DAY_MS);
      const ws = { id: workspaceId, organizationId };
      try {
        const runs = await pruneRuns(this.db, ws, before);
        const states = await pruneStateVersions(this.db, ws, before);
        report.workspaces++;
        report.runs += runs.runs;
        report.configurationVersions += runs.configurationVersions;
        report.stateVersions += states;
      } catch (err) {
        // One workspace's failure (deleted meanwhile, a lock timeout) does not stop the others.
        this.logger.error({ err, workspaceId }, 'enforcing the data retention policy failed');
      }
    }
    if (report.runs + report.configurationVersions + report.stateVersions > 0) this.logger.info(report, 'deleted what data retention policies no longer keep');
    this.onEnforced(report);
    return report;
  }
}

/** The audit trail's record of a change to the organization's (workspaceId null) or a workspace's policy. */
function policyChange(verb: string, organizationId: string, workspaceId: string | null): Change {
  return {
    action: `data-retention-policy.${verb}`,
    resource: { type: workspaceId ? 'workspaces' : 'organizations', id: workspaceId ?? organizationId },
    organizationId,
    details: { workspace: workspaceId },
  };
}
