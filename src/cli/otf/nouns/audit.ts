// otf audit: an organization's audit trail, as a table (list) or as JSON lines (export).
import { UsageError, type Command, type Context, type Noun } from '../command.js';
import { formatValue, table } from '../output.js';

/** An event as /organization/audit-trail answers it (src/audit/presenters.ts). */
interface AuditEvent {
  id: string;
  timestamp: string;
  auth: { accessor_id: string; description: string; accessor_type: string };
  request: { id: string | null; client_address: string | null };
  resource: { id: string; type: string; action: string; meta: Record<string, unknown> };
  result: string;
}

interface TrailPage {
  data: AuditEvent[];
  pagination: { next_page: number | null };
}

const PAGE_SIZE = 1000;

const since = { name: 'since', value: '<time>', help: 'only events after this ISO 8601 time, e.g. 2026-05-30T17:52:46Z' };
const orgArg = { name: '<org>', optional: true };
const details =
  'The organization is the argument; an organization token needs none (its own). Owners of the organization, its ' +
  'organization token and the site administrator may read it; the site administrator without an organization reads ' +
  "the site's events (users' own tokens).";

/** The query string of a request for the trail: the organization and --since, checked before anything is sent. */
function query(ctx: Context): URLSearchParams {
  const q = new URLSearchParams();
  const org = ctx.args[0];
  if (org !== undefined) {
    if (org === '' || org.includes('/')) throw new UsageError(`"${org}" is not an organization name`);
    q.set('filter[organization]', org);
  }
  const s = ctx.flags.get('since');
  if (s !== undefined) {
    if (Number.isNaN(new Date(s).getTime())) throw new UsageError(`--since: "${s}" is not an ISO 8601 time (e.g. 2026-05-30T17:52:46Z)`);
    q.set('since', s);
  }
  return q;
}

const list: Command = {
  verb: 'list',
  summary: "List an organization's audit trail, oldest first",
  details,
  args: [orgArg],
  flags: [since, { name: 'limit', value: '<n>', help: 'at most this many events (default 100; 0: all)' }],
  async run(ctx) {
    const raw = ctx.flags.get('limit') ?? '100';
    if (!/^\d+$/.test(raw)) throw new UsageError(`--limit: "${raw}" is not a whole number`);
    const limit = Number(raw) === 0 ? Infinity : Number(raw);
    const q = query(ctx);
    const events: AuditEvent[] = [];
    for (let page = 1; events.length < limit; page++) {
      q.set('page[number]', String(page));
      q.set('page[size]', String(PAGE_SIZE));
      const res = await ctx.api().raw('GET', `/organization/audit-trail?${q.toString()}`);
      const doc = JSON.parse(res.body.toString('utf8')) as TrailPage;
      events.push(...doc.data);
      if (!doc.pagination.next_page || doc.data.length === 0) break;
    }
    const shown = events.slice(0, limit);
    if (ctx.json) return ctx.out.printJson(shown);
    const rows = shown.map((e) => [
      e.timestamp,
      `${e.auth.accessor_type}:${e.auth.description}`,
      e.resource.action,
      `${e.resource.type}/${e.resource.id}`,
      e.result,
      formatValue(e.request.client_address),
    ]);
    ctx.out.write(table(['TIME', 'ACTOR', 'ACTION', 'RESOURCE', 'RESULT', 'ADDRESS'], rows));
  },
};

const exportTrail: Command = {
  verb: 'export',
  summary: "Write an organization's whole audit trail as JSON lines, oldest first",
  details,
  args: [orgArg],
  flags: [since],
  async run(ctx) {
    const res = await ctx.api().download(`/organization/audit-trail/export?${query(ctx).toString()}`);
    for await (const chunk of res) ctx.out.write(chunk as Buffer);
  },
};

export const audit: Noun = {
  name: 'audit',
  summary: "an organization's audit trail: who changed what, from where",
  commands: [list, exportTrail],
};
