// Rules of the audit domain: who may read an organization's audit trail (its owners, and its
// organization token as in Terraform Cloud), reading it by page or as a stream, and pruning what
// is older than --audit-retention.
import type { Logger } from 'pino';
import { authorize } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import type { OrganizationService } from '../orgs/index.js';
import * as store from './store.js';
import type { AuditEvent } from './store.js';

/** Events the export reads from the database at a time: memory stays bounded whatever the trail's length. */
export const EXPORT_BATCH = 500;
/** Events pruning deletes in one statement: a long backlog goes in short steps, never in one long lock. */
export const PRUNE_BATCH = 1000;

export interface TrailQuery {
  /** filter[organization]: needed by every caller but an organization token, whose organization it is. */
  organization?: string;
  /** Only events after this time. */
  since?: Date;
}

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    /** --audit-retention in milliseconds; null keeps events forever. */
    private readonly retentionMs: number | null,
    private readonly logger: Logger,
  ) {}

  /**
   * Deletes the events older than the retention period (--audit-retention), in batches; returns
   * how many. Run by the periodic collection (src/blobs/collector.ts) beside data retention. Any
   * replica may run it at the same time as another: deleting what is gone deletes nothing.
   */
  async prune(now = new Date()): Promise<number> {
    if (this.retentionMs === null) return 0;
    const before = new Date(now.getTime() - this.retentionMs);
    let deleted = 0;
    for (;;) {
      const n = await store.deleteBefore(this.db, before, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH) break;
    }
    if (deleted > 0) this.logger.info({ deleted, before }, 'pruned audit events older than --audit-retention');
    return deleted;
  }

  /**
   * The organization whose trail the subject asks for, when it may read it; 404 when it cannot see
   * it. The site administrator without a filter reads the site's trail: events of no organization
   * (users' own tokens, refused requests about no organization).
   */
  private async organizationOf(subject: Subject, name: string | undefined): Promise<string | null> {
    if (subject.kind === 'organization-token') {
      // Terraform Cloud's way: the token says which organization. A filter naming another is an
      // organization the token cannot see.
      if (name !== undefined && name !== subject.organizationName) throw notFound('organization', name);
      return subject.organizationId;
    }
    if (name === undefined && subject.kind === 'site-admin') return null;
    if (name === undefined) {
      throw new InvalidError('query parameter filter[organization] is required: name the organization whose audit trail to read (an organization token needs none)', {
        parameter: 'filter[organization]',
      });
    }
    const org = await this.orgs.resolve(subject, name);
    authorize(subject, 'audit-trail:read', { organizationId: org.id }, () => notFound('organization', name));
    return org.id;
  }

  async page(subject: Subject, q: TrailQuery, offset: number, limit: number): Promise<{ items: AuditEvent[]; total: number }> {
    const organizationId = await this.organizationOf(subject, q.organization);
    return store.page(this.db, organizationId, q.since, offset, limit);
  }

  /**
   * Every event of the trail, oldest first, read in batches as the consumer takes them. Authorized
   * before the first is read, so that a refusal is an ordinary error answer, not a cut stream.
   */
  async export(subject: Subject, q: TrailQuery): Promise<AsyncGenerator<AuditEvent>> {
    const organizationId = await this.organizationOf(subject, q.organization);
    const db = this.db;
    return (async function* () {
      let cursor: store.ExportCursor | null = null;
      for (;;) {
        const batch = await store.batchAfter(db, organizationId, q.since, cursor, EXPORT_BATCH);
        for (const e of batch.items) yield e;
        if (batch.items.length < EXPORT_BATCH) return;
        cursor = batch.cursor;
      }
    })();
  }
}
