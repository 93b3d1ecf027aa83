// How VCS providers look in the API: Terraform Cloud's oauth-clients and oauth-tokens. The access
// token (oauth-token-string) and a token's SSH key are write-only: no view carries them.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { PROVIDERS, type OAuthClient, type OAuthToken } from './service.js';

export const oauthClientType: ResourceType = {
  type: 'oauth-clients',
  attributes: [
    'created-at',
    'callback-url',
    'connect-path',
    'service-provider',
    'service-provider-display-name',
    'name',
    'http-url',
    'api-url',
    'key',
    'secret',
    'rsa-public-key',
    'organization-scoped',
  ],
  relationships: { organization: 'organizations', 'oauth-tokens': 'oauth-tokens' },
  selfLink: (v) => `/api/v2/oauth-clients/${v.id}`,
};

export const oauthTokenType: ResourceType = {
  type: 'oauth-tokens',
  attributes: ['uid', 'created-at', 'has-ssh-key', 'service-provider-user'],
  relationships: { 'oauth-client': 'oauth-clients' },
  selfLink: (v) => `/api/v2/oauth-tokens/${v.id}`,
};

export function presentOAuthClient(c: OAuthClient): View {
  return {
    id: c.id,
    'created-at': timestamp(c.createdAt),
    // otfd has no OAuth application flow (a client is made with an access token), so there is
    // nothing to call back or connect to, and no OAuth application key, secret or RSA key.
    'callback-url': null,
    'connect-path': null,
    'service-provider': c.serviceProvider,
    'service-provider-display-name': PROVIDERS[c.serviceProvider].displayName,
    name: c.name,
    'http-url': c.httpUrl,
    'api-url': c.apiUrl,
    key: null,
    secret: null,
    'rsa-public-key': null,
    // Every workspace of the organization may use it (projects-scoped providers are not modelled).
    'organization-scoped': true,
    organization: { id: c.organization.name },
    'oauth-tokens': c.oauthTokenIds.map((id) => ({ id })),
  };
}

export function presentOAuthToken(t: OAuthToken): View {
  return {
    id: t.id,
    // The provider's id of the token's user: otfd does not ask the provider, so it does not know it.
    uid: null,
    'created-at': timestamp(t.createdAt),
    'has-ssh-key': t.hasSshKey,
    // Who the token acts as is the provider's to say; otfd does not ask it when the token is given.
    'service-provider-user': null,
    'oauth-client': { id: t.oauthClientId },
  };
}
