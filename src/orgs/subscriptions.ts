// Feature sets and subscriptions, as a server without billing answers them. Terraform Cloud sells
// features in feature sets, and an organization's subscription names the one it bought; go-tfe's
// test helpers "upgrade" an organization through the admin API before testing paid features.
// Here every organization always has everything this server does: there is one feature set, and a
// subscription request changes nothing but is answered, so that such scripts keep working.
import { requireSiteAdmin } from '../auth/authorize.js';
import { encode, paginate, timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { body, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { stringEnum, toOne, Type, validator } from '../api/schema.js';
import { InvalidError } from '../errors.js';
import { ENTITLEMENTS } from './presenters.js';
import type { Organization, OrganizationService } from './service.js';

/** The one feature set: what this server does, as entitlement flags. */
export const FEATURE_SET_ID = 'fs-otf-ts';

const featureSetType: ResourceType = { type: 'feature-sets', attributes: ['name', 'is-current', 'is-free-tier', ...Object.keys(ENTITLEMENTS)] };

const subscriptionType: ResourceType = {
  type: 'subscriptions',
  attributes: ['is-active', 'is-public-free-tier', 'start-at', 'end-at', 'runs-ceiling', 'contract-user-limit', 'contract-apply-limit'],
  relationships: { 'feature-set': 'feature-sets', organization: 'organizations' },
};

function featureSetView(): View {
  return { id: FEATURE_SET_ID, name: 'otf-ts', 'is-current': true, 'is-free-tier': true, ...ENTITLEMENTS };
}

/** The organization's subscription: the one feature set, from the organization's creation, without limits. */
function subscriptionView(org: Organization): View {
  return {
    id: `sub-${org.id}`,
    'is-active': true,
    'is-public-free-tier': true,
    'start-at': timestamp(org.createdAt),
    'end-at': null,
    'runs-ceiling': null,
    'contract-user-limit': null,
    'contract-apply-limit': null,
    'feature-set': { id: FEATURE_SET_ID },
    organization: { id: org.name },
  };
}

// What go-tfe's helper sends (type "subscription"); the limits are read only to be checked.
const readSubscription = validator(
  Type.Object({
    data: Type.Object({
      type: stringEnum(['subscription', 'subscriptions']),
      attributes: Type.Optional(
        Type.Object({
          'runs-ceiling': Type.Optional(Type.Integer({ minimum: 0 })),
          'contract-start-at': Type.Optional(Type.String({ format: 'date-time', 'x-message': 'must be an RFC 3339 timestamp' })),
          'contract-user-limit': Type.Optional(Type.Integer({ minimum: 0 })),
          'contract-apply-limit': Type.Optional(Type.Integer({ minimum: 0 })),
        }),
      ),
      relationships: Type.Object({ 'feature-set': toOne('feature-sets') }),
    }),
  }),
);

export function registerSubscriptionRoutes(router: ApiRouter, orgs: OrganizationService, site: Site): void {
  // Whatever q asks for, the one feature set: there is nothing else to choose.
  router.get('/admin/feature-sets', async (ctx) => {
    requireSiteAdmin(subjectOf(ctx), 'list feature sets');
    send(ctx, 200, encode(featureSetType, [featureSetView()], paginate({ number: 1, size: 20 }, 1, requestUrl(ctx, site))));
  });

  router.post('/admin/organizations/:org/subscription', async (ctx) => {
    const subject = subjectOf(ctx);
    requireSiteAdmin(subject, "change an organization's subscription");
    const doc = readSubscription(body(ctx));
    const org = await orgs.resolve(subject, ctx.params.org);
    const wanted = doc.data.relationships['feature-set'].data.id;
    if (wanted !== FEATURE_SET_ID) {
      throw new InvalidError(`feature set "${wanted}" does not exist: this server has one, "${FEATURE_SET_ID}"`, {
        pointer: '/data/relationships/feature-set/data/id',
      });
    }
    send(ctx, 201, encode(subscriptionType, subscriptionView(org)));
  });

  router.get('/organizations/:org/subscription', async (ctx) => {
    const org = await orgs.resolve(subjectOf(ctx), ctx.params.org);
    send(ctx, 200, encode(subscriptionType, subscriptionView(org)));
  });
}
