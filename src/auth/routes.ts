// HTTP routes of the auth domain: the caller's own account.
import { encode, type ResourceType } from '../api/jsonapi.js';
import { send, subjectOf, type ApiRouter } from '../api/http.js';
import { principalOf } from './subject.js';

export const userType: ResourceType = {
  type: 'users',
  attributes: ['username', 'email', 'avatar-url', 'is-service-account', 'is-site-admin', 'two-factor', 'permissions'],
};

export function registerAuthRoutes(router: ApiRouter): void {
  router.get('/account/details', (ctx) => {
    const subject = subjectOf(ctx);
    const principal = principalOf(subject);
    send(
      ctx,
      200,
      encode(userType, {
        id: principal.id,
        username: principal.name,
        email: null,
        'avatar-url': null,
        'is-service-account': subject.kind !== 'site-admin',
        'is-site-admin': subject.kind === 'site-admin',
        'two-factor': { enabled: false, verified: false },
        permissions: { 'can-create-organizations': subject.kind === 'site-admin', 'can-change-email': false, 'can-change-username': false },
      }),
    );
  });
}
