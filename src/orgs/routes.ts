// HTTP routes of the orgs domain: /organizations, entitlement sets, capacity, organization tokens.
import { isAllowed, type Action } from '../auth/authorize.js';
import { authenticationTokenType, presentToken } from '../auth/routes.js';
import type { Subject } from '../auth/subject.js';
import { encode, pageOffset, paginate, parsePage, queryValue, timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { nameSchema, resourceDocument, validator } from '../api/validate.js';
import type { Organization, OrganizationService } from './service.js';
import type { OrganizationChanges } from './store.js';

export const organizationType: ResourceType = {
  type: 'organizations',
  attributes: [
    'name',
    'email',
    'external-id',
    'created-at',
    'session-timeout',
    'session-remember',
    'collaborator-auth-policy',
    'cost-estimation-enabled',
    'allow-force-delete-workspaces',
    'default-execution-mode',
    'two-factor-conformant',
    'saml-enabled',
    'fair-run-queuing-enabled',
    'assessments-enforced',
    'is-in-degraded-mode',
    'trial-expires-at',
    'owners-team-saml-role-id',
    'permissions',
  ],
  selfLink: (v) => `/api/v2/organizations/${v.id}`,
};

const ORG_PERMISSIONS: Record<string, Action> = {
  'can-update': 'organization:update',
  'can-destroy': 'organization:delete',
  'can-create-workspace': 'workspace:create',
  'can-create-project': 'project:create',
  'can-update-api-token': 'organization:manage-token',
  'can-read-projects': 'project:read',
  'can-manage-tags': 'workspace:manage-tags',
  'can-create-team': 'team:manage',
  'can-manage-users': 'membership:manage',
  'can-update-agent-pools': 'pool:manage',
};

export function presentOrganization(org: Organization, subject: Subject): View {
  const permissions: Record<string, boolean> = { 'can-access-via-teams': subject.kind === 'user' || subject.kind === 'team', 'can-traverse': true };
  for (const [key, action] of Object.entries(ORG_PERMISSIONS)) permissions[key] = isAllowed(subject, action, { organizationId: org.id });
  return {
    id: org.name,
    name: org.name,
    email: org.email,
    'external-id': org.id,
    'created-at': timestamp(org.createdAt),
    'session-timeout': org.sessionTimeout,
    'session-remember': org.sessionRemember,
    'collaborator-auth-policy': org.collaboratorAuthPolicy,
    'cost-estimation-enabled': org.costEstimationEnabled,
    'allow-force-delete-workspaces': org.allowForceDeleteWorkspaces,
    'default-execution-mode': org.defaultExecutionMode,
    'two-factor-conformant': true,
    'saml-enabled': false,
    'fair-run-queuing-enabled': true,
    'assessments-enforced': false,
    'is-in-degraded-mode': false,
    'trial-expires-at': null,
    'owners-team-saml-role-id': null,
    permissions,
  };
}

const ENTITLEMENTS = [
  'agents',
  'assessments',
  'audit-logging',
  'configuration-designer',
  'cost-estimation',
  'global-run-tasks',
  'module-tests-generation',
  'operations',
  'private-module-registry',
  'private-run-tasks',
  'run-tasks',
  'sentinel',
  'sso',
  'state-storage',
  'teams',
  'vcs-integrations',
] as const;

const entitlementSetType: ResourceType = { type: 'entitlement-sets', attributes: [...ENTITLEMENTS, 'user-limit'] };
const capacityType: ResourceType = { type: 'organization-capacity', attributes: ['pending', 'running'] };

const organizationAttributes = {
  name: nameSchema,
  email: { type: 'string', format: 'email', maxLength: 254, 'x-message': 'must be a valid email address' },
  'session-timeout': { type: 'integer', minimum: 1 },
  'session-remember': { type: 'integer', minimum: 1 },
  'collaborator-auth-policy': { type: 'string', enum: ['password', 'two_factor_mandatory'] },
  'cost-estimation-enabled': { type: 'boolean' },
  'allow-force-delete-workspaces': { type: 'boolean' },
  'default-execution-mode': { type: 'string', enum: ['remote', 'local', 'agent'] },
};

interface OrganizationDocument {
  data: {
    attributes?: {
      name?: string;
      email?: string;
      'session-timeout'?: number;
      'session-remember'?: number;
      'collaborator-auth-policy'?: string;
      'cost-estimation-enabled'?: boolean;
      'allow-force-delete-workspaces'?: boolean;
      'default-execution-mode'?: string;
    };
  };
}

const readCreateOrganization = validator<OrganizationDocument>(resourceDocument('organizations', organizationAttributes, { required: ['name', 'email'] }));
const readUpdateOrganization = validator<OrganizationDocument>(resourceDocument('organizations', organizationAttributes));

function changesFrom(doc: OrganizationDocument): OrganizationChanges {
  const a = doc.data.attributes ?? {};
  return {
    name: a.name,
    email: a.email,
    sessionTimeout: a['session-timeout'],
    sessionRemember: a['session-remember'],
    collaboratorAuthPolicy: a['collaborator-auth-policy'],
    costEstimationEnabled: a['cost-estimation-enabled'],
    allowForceDeleteWorkspaces: a['allow-force-delete-workspaces'],
    defaultExecutionMode: a['default-execution-mode'],
  };
}

interface TokenDocument {
  data: { attributes?: { description?: string; 'expired-at'?: string | null } };
}

// Terraform Cloud documents the type as "authentication-token"; accept the plural too.
const readCreateToken = validator<TokenDocument>({
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['authentication-token', 'authentication-tokens'] },
        attributes: {
          type: 'object',
          properties: {
            description: { type: 'string', maxLength: 512 },
            'expired-at': { oneOf: [{ type: 'null' }, { type: 'string', format: 'date-time' }], 'x-message': 'must be an RFC 3339 timestamp or null' },
          },
        },
      },
      required: ['type'],
    },
  },
  required: ['data'],
});

export function registerOrganizationRoutes(router: ApiRouter, orgs: OrganizationService, site: Site): void {
  router.get('/organizations', async (ctx) => {
    const subject = subjectOf(ctx);
    const page = parsePage(query(ctx));
    const { items, total } = await orgs.list(subject, { search: queryValue(query(ctx), 'q'), limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(organizationType, items.map((o) => presentOrganization(o, subject)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/organizations', async (ctx) => {
    const subject = subjectOf(ctx);
    const doc = readCreateOrganization(body(ctx));
    const changes = changesFrom(doc);
    const org = await orgs.create(subject, { ...changes, name: changes.name!, email: changes.email! });
    send(ctx, 201, encode(organizationType, presentOrganization(org, subject)));
  });

  router.get('/organizations/:org', async (ctx) => {
    const subject = subjectOf(ctx);
    const org = await orgs.resolve(subject, ctx.params.org);
    send(ctx, 200, encode(organizationType, presentOrganization(org, subject)));
  });

  router.patch('/organizations/:org', async (ctx) => {
    const subject = subjectOf(ctx);
    const doc = readUpdateOrganization(body(ctx));
    const org = await orgs.update(subject, ctx.params.org, changesFrom(doc));
    send(ctx, 200, encode(organizationType, presentOrganization(org, subject)));
  });

  router.delete('/organizations/:org', async (ctx) => {
    await orgs.delete(subjectOf(ctx), ctx.params.org);
    noContent(ctx);
  });

  router.get('/organizations/:org/entitlement-set', async (ctx) => {
    const org = await orgs.resolve(subjectOf(ctx), ctx.params.org);
    const view: View = { id: org.id, 'user-limit': null };
    for (const e of ENTITLEMENTS) view[e] = true;
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
    const doc = raw && Object.keys(raw as object).length > 0 ? readCreateToken(raw) : { data: {} };
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
