// HTTP routes of the orgs domain: /organizations, entitlement sets, capacity, organization tokens.
import { authenticationTokenType, presentToken } from '../auth/routes.js';
import { encode, pageOffset, paginate, parseIncludes, parsePage, queryValue, type Resource, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, stringEnum, toOneOrNull, Type, validator, type Static } from '../api/schema.js';
import { capacityType, ENTITLEMENTS, entitlementSetType, organizationType, presentOrganization } from './presenters.js';
import type { OrganizationGrants, Subject } from '../auth/subject.js';
import type { Organization, OrganizationService } from './service.js';
import type { OrganizationChanges } from './store.js';
import { parseTimeoutAttribute } from '../timeouts.js';

const organizationAttributes = {
  name: nameSchema,
  email: Type.String({ format: 'email', maxLength: 254, 'x-message': 'must be a valid email address' }),
  'session-timeout': Type.Integer({ minimum: 1 }),
  'session-remember': Type.Integer({ minimum: 1 }),
  'collaborator-auth-policy': stringEnum(['password', 'two_factor_mandatory']),
  'cost-estimation-enabled': Type.Boolean(),
  'allow-force-delete-workspaces': Type.Boolean(),
  'default-execution-mode': stringEnum(['remote', 'local', 'agent']),
  // Health assessments for every workspace of the organization. TFC names it assessments-enforced;
  // assessments-enabled is accepted as the same setting (docs/assessments.md).
  'assessments-enforced': Type.Boolean(),
  'assessments-enabled': Type.Boolean(),
  // An extension: a cron expression (checked by the service), or null for otfd's --assessments-schedule.
  'assessments-schedule': Type.Union([Type.Null(), Type.String({ maxLength: 100 })], { 'x-message': 'must be a cron expression of at most 100 characters, or null' }),
  // A VCS setting; this server has no VCS integration, so the only true value is false.
  'send-passing-statuses-for-untriggered-speculative-plans': Type.Boolean({ const: false, 'x-message': 'can only be false: this server has no VCS integration' }),
  // otf's own (docs/timeouts-and-hooks.md): seconds or a duration string, null for otfd's default; checked by parseTimeoutAttribute.
  'plan-timeout': Type.Unknown(),
  'apply-timeout': Type.Unknown(),
};
const { name, email, ...otherAttributes } = organizationAttributes;
const relationships = Type.Optional(Type.Object({ 'default-agent-pool': Type.Optional(toOneOrNull('agent-pools')) }));

const createDocument = resourceDocument('organizations', {
  attributes: Type.Object({ name, email, ...Type.Partial(Type.Object(otherAttributes)).properties }),
  relationships,
});
const updateDocument = resourceDocument('organizations', { attributes: Type.Optional(Type.Partial(Type.Object(organizationAttributes))), relationships });
const readCreateOrganization = validator(createDocument);
const readUpdateOrganization = validator(updateDocument);

function changesFrom(doc: Static<typeof updateDocument>): OrganizationChanges {
  const a = doc.data.attributes ?? {};
  const pool = doc.data.relationships?.['default-agent-pool'];
  return {
    defaultAgentPoolId: pool === undefined ? undefined : (pool.data?.id ?? null),
    name: a.name,
    email: a.email,
    sessionTimeout: a['session-timeout'],
    sessionRemember: a['session-remember'],
    collaboratorAuthPolicy: a['collaborator-auth-policy'],
    costEstimationEnabled: a['cost-estimation-enabled'],
    allowForceDeleteWorkspaces: a['allow-force-delete-workspaces'],
    defaultExecutionMode: a['default-execution-mode'],
    planTimeoutSeconds: parseTimeoutAttribute(a['plan-timeout'], '/data/attributes/plan-timeout'),
    applyTimeoutSeconds: parseTimeoutAttribute(a['apply-timeout'], '/data/attributes/apply-timeout'),
    assessmentsEnforced: a['assessments-enforced'] ?? a['assessments-enabled'],
    assessmentsSchedule: a['assessments-schedule'],
  };
}

/**
 * The creating user as it stands once the organization exists: its owner (the creation made it
 * one). The caller's rights were gathered before, without the new organization, and the
 * permissions of the answer would otherwise all be false where a read the next moment says true.
 */
function asCreator(subject: Subject, org: Organization): Subject {
  if (subject.kind !== 'user') return subject;
  const owner: OrganizationGrants = { owner: true, access: new Set(), workspaces: new Map(), projects: new Map(), teams: [] };
  return { ...subject, organizations: new Map([...subject.organizations, [org.id, owner]]) };
}

/** Related resources another domain adds to include= on organizations (default_project, ...). */
export type OrganizationIncluder = (subject: Subject, orgs: Organization[]) => Promise<Resource[]>;

// Terraform Cloud documents the type as "authentication-token"; accept the plural too, and the
// empty type go-tfe sends (its options carry no type of their own).
const tokenDocument = Type.Object({
  data: Type.Object({
    type: stringEnum(['authentication-token', 'authentication-tokens', '']),
    attributes: Type.Optional(
      Type.Object({
        description: Type.Optional(Type.String({ maxLength: 512 })),
        'expired-at': Type.Optional(Type.Union([Type.Null(), Type.String({ format: 'date-time' })], { 'x-message': 'must be an RFC 3339 timestamp or null' })),
      }),
    ),
  }),
});
const readCreateToken = validator(tokenDocument);

export function registerOrganizationRoutes(router: ApiRouter, orgs: OrganizationService, site: Site, includers: Record<string, OrganizationIncluder>): void {
  /** What include= asks for that some domain serves; other names are ignored, as Terraform Cloud does. */
  async function included(ctx: Ctx, list: Organization[]): Promise<Resource[]> {
    const subject = subjectOf(ctx);
    const out: Resource[] = [];
    for (const name of parseIncludes(query(ctx))) {
      const includer = includers[name];
      if (includer) out.push(...(await includer(subject, list)));
    }
    return out;
  }

  router.get('/organizations', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await orgs.list(subject, { search: queryValue(query(ctx), 'q'), limit: page.size, offset: pageOffset(page) });
    const views = await Promise.all(items.map(async (o) => presentOrganization(o, subject, await orgs.defaultProjectId(o))));
    send(ctx, 200, encode(organizationType, views, { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, items) }));
  });

  router.post('/organizations', async (ctx) => {
    const subject = subjectOf(ctx);
    const changes = changesFrom(readCreateOrganization(body(ctx)));
    const org = await orgs.create(subject, { ...changes, name: changes.name!, email: changes.email! });
    send(ctx, 201, encode(organizationType, presentOrganization(org, asCreator(subject, org), await orgs.defaultProjectId(org))));
  });

  router.get('/organizations/:org', async (ctx) => {
    const subject = subjectOf(ctx);
    const org = await orgs.resolve(subject, ctx.params.org);
    send(ctx, 200, encode(organizationType, presentOrganization(org, subject, await orgs.defaultProjectId(org)), { included: await included(ctx, [org]) }));
  });

  router.patch('/organizations/:org', async (ctx) => {
    const subject = subjectOf(ctx);
    const org = await orgs.update(subject, ctx.params.org, changesFrom(readUpdateOrganization(body(ctx))));
    send(ctx, 200, encode(organizationType, presentOrganization(org, subject, await orgs.defaultProjectId(org))));
  });

  router.delete('/organizations/:org', async (ctx) => {
    await orgs.delete(subjectOf(ctx), ctx.params.org);
    noContent(ctx);
  });

  router.get('/organizations/:org/entitlement-set', async (ctx) => {
    const org = await orgs.resolve(subjectOf(ctx), ctx.params.org);
    const view: View = { id: org.id, ...ENTITLEMENTS, 'user-limit': null };
    send(ctx, 200, encode(entitlementSetType, view));
  });

  router.get('/organizations/:org/capacity', async (ctx) => {
    const { org, capacity } = await orgs.capacity(subjectOf(ctx), ctx.params.org);
    send(ctx, 200, encode(capacityType, { id: org.name, pending: capacity.pending, running: capacity.running }));
  });

  router.post('/organizations/:org/authentication-token', async (ctx) => {
    const subject = subjectOf(ctx);
    const raw = body(ctx);
    // The body is optional: an empty POST creates a token without description or expiry.
    const doc: Static<typeof tokenDocument> = raw && Object.keys(raw as object).length > 0 ? readCreateToken(raw) : { data: { type: 'authentication-token' } };
    const a = doc.data.attributes ?? {};
    const { token, secret } = await orgs.createToken(subject, ctx.params.org, {
      description: a.description ?? null,
      expiredAt: a['expired-at'] ? new Date(a['expired-at']) : null,
    });
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });

  router.get('/organizations/:org/authentication-token', async (ctx) => {
    const token = await orgs.showToken(subjectOf(ctx), ctx.params.org);
    send(ctx, 200, encode(authenticationTokenType, presentToken(token)));
  });

  router.delete('/organizations/:org/authentication-token', async (ctx) => {
    await orgs.deleteToken(subjectOf(ctx), ctx.params.org);
    noContent(ctx);
  });
}
