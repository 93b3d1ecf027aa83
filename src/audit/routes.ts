// HTTP routes of the audit domain: /organization/audit-trail (Terraform Cloud's path: the
// organization is the token's, or filter[organization]) and its JSON lines export.
import { Readable } from 'node:stream';
import { MAX_PAGE_NUMBER, queryValue, type Query } from '../api/jsonapi.js';
import { query, subjectOf, type ApiRouter } from '../api/http.js';
import { InvalidError } from '../errors.js';
import { pagination, presentEvent } from './presenters.js';
import type { AuditService, TrailQuery } from './service.js';

/** TFC's default page is 1000 events; it is also the largest page otfd serves. */
export const DEFAULT_AUDIT_PAGE_SIZE = 1000;
export const MAX_AUDIT_PAGE_SIZE = 1000;

// ISO 8601 as TFC asks for it (YYYY-MM-DDTHH:MM:SS.SSSZ), with the time or its parts optional.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseSince(q: Query): Date | undefined {
  const raw = queryValue(q, 'since');
  if (raw === undefined) return undefined;
  const d = new Date(raw);
  if (!ISO_8601.test(raw) || Number.isNaN(d.getTime())) {
    throw new InvalidError(`query parameter since must be a date and time in ISO 8601 form, e.g. 2026-05-30T17:52:46.000Z; got "${raw.slice(0, 64)}"`, { parameter: 'since' });
  }
  return d;
}

function whole(q: Query, name: string, fallback: number, max: number): number {
  const raw = queryValue(q, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new InvalidError(`query parameter ${name} must be a whole number from 1 to ${max}; got "${raw.slice(0, 64)}"`, { parameter: name });
  }
  return Number(raw);
}

function trailQuery(q: Query): TrailQuery {
  const organization = queryValue(q, 'filter[organization]');
  if (organization !== undefined && (organization === '' || organization.length > 256)) {
    throw new InvalidError('query parameter filter[organization] must be an organization name of 1 to 256 characters', { parameter: 'filter[organization]' });
  }
  return { organization, since: parseSince(q) };
}

export function registerAuditRoutes(router: ApiRouter, audit: AuditService): void {
  router.get('/organization/audit-trail', async (ctx) => {
    const q = query(ctx);
    const tq = trailQuery(q);
    const number = whole(q, 'page[number]', 1, MAX_PAGE_NUMBER);
    const size = whole(q, 'page[size]', DEFAULT_AUDIT_PAGE_SIZE, MAX_AUDIT_PAGE_SIZE);
    const { items, total } = await audit.page(subjectOf(ctx), tq, (number - 1) * size, size);
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = Buffer.from(JSON.stringify({ data: items.map(presentEvent), pagination: pagination(number, size, total) }));
  });

  // One event per line, oldest first: read from the database in batches as the client reads.
  router.get('/organization/audit-trail/export', async (ctx) => {
    const events = await audit.export(subjectOf(ctx), trailQuery(query(ctx)));
    ctx.status = 200;
    ctx.type = 'application/x-ndjson';
    ctx.body = Readable.from(
      (async function* () {
        for await (const e of events) yield `${JSON.stringify(presentEvent(e))}\n`;
      })(),
    );
  });
}
