// HTTP routes of the vcs domain: Terraform Cloud's OAuth Clients API (/organizations/:org/
// oauth-clients, /oauth-clients/:id) and OAuth Tokens API (/oauth-clients/:id/oauth-tokens,
// /organizations/:org/oauth-tokens as go-tfe lists them, /oauth-tokens/:id).
import { encode, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, type Resource } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { resourceDocument, Type, validator } from '../api/schema.js';
import { oauthClientType, oauthTokenType, presentOAuthClient, presentOAuthToken } from './presenters.js';
import type { OAuthClient, VcsService } from './service.js';

const name = Type.Union([Type.String({ maxLength: 256 }), Type.Null()], { 'x-message': 'must be a string of at most 256 characters, or null' });
const url = Type.String({ minLength: 1, maxLength: 2048, 'x-message': 'must be an http or https URL of at most 2048 characters' });
// Its length and characters are checked by the service, whose messages never quote it: it is a secret.
const token = Type.String({ 'x-message': 'must be a string: an access token of the provider' });

// Terraform Cloud's other attributes (key, secret, rsa-public-key, private-key,
// organization-scoped) belong to its OAuth application flow, which otfd does not have: ignored.
const readCreate = validator(
  resourceDocument('oauth-clients', {
    attributes: Type.Object({
      'service-provider': Type.String({ maxLength: 64, 'x-message': 'must be a string naming the provider, e.g. github' }),
      name: Type.Optional(name),
      // go-tfe sends null for a URL it was not given: the provider's default, as when absent.
      'api-url': Type.Optional(Type.Union([url, Type.Null()], { 'x-message': 'must be an http or https URL of at most 2048 characters' })),
      'http-url': Type.Optional(Type.Union([url, Type.Null()], { 'x-message': 'must be an http or https URL of at most 2048 characters' })),
      'oauth-token-string': Type.Optional(token),
    }),
  }),
);
const readUpdate = validator(
  resourceDocument('oauth-clients', {
    id: Type.Optional(Type.String()),
    attributes: Type.Optional(Type.Object({ name: Type.Optional(name), 'oauth-token-string': Type.Optional(token) })),
  }),
);
const readTokenUpdate = validator(
  resourceDocument('oauth-tokens', {
    id: Type.Optional(Type.String()),
    attributes: Type.Optional(Type.Object({ 'ssh-key': Type.Optional(Type.String({ 'x-message': 'must be a string: an SSH private key, or "" to remove it' })) })),
  }),
);

/** An organization has a handful of VCS providers; an unpaged list stops here all the same. */
const MAX_UNPAGED = 1000;

export function registerVcsRoutes(router: ApiRouter, vcs: VcsService, site: Site): void {
  /** include=oauth_tokens, as go-tfe asks for it; other names are ignored, as Terraform Cloud does. */
  async function included(ctx: Ctx, clients: OAuthClient[]): Promise<Resource[]> {
    if (!parseIncludes(query(ctx)).has('oauth_tokens')) return [];
    return resources(oauthTokenType, (await vcs.tokensOfClients(clients)).map(presentOAuthToken));
  }

  // Terraform Cloud pages this list only when asked to: without page[number] or page[size], every client comes.
  router.get('/organizations/:org/oauth-clients', async (ctx) => {
    const q = query(ctx);
    const paged = queryValue(q, 'page[number]') !== undefined || queryValue(q, 'page[size]') !== undefined;
    const asked = parsePage(q);
    const { items, total } = await vcs.listClients(subjectOf(ctx), ctx.params.org, paged ? { offset: pageOffset(asked), limit: asked.size } : { offset: 0, limit: MAX_UNPAGED });
    const page = paged ? asked : { number: 1, size: Math.max(items.length, 1) };
    send(ctx, 200, encode(oauthClientType, items.map(presentOAuthClient), { ...paginate(page, total, requestUrl(ctx, site)), included: await included(ctx, items) }));
  });

  router.post('/organizations/:org/oauth-clients', async (ctx) => {
    const a = readCreate(body(ctx)).data.attributes;
    const created = await vcs.createClient(subjectOf(ctx), ctx.params.org, {
      serviceProvider: a['service-provider'],
      name: a.name,
      apiUrl: a['api-url'] ?? undefined,
      httpUrl: a['http-url'] ?? undefined,
      oauthTokenString: a['oauth-token-string'],
    });
    send(ctx, 201, encode(oauthClientType, presentOAuthClient(created)));
  });

  router.get('/oauth-clients/:id', async (ctx) => {
    const client = await vcs.getClient(subjectOf(ctx), ctx.params.id);
    send(ctx, 200, encode(oauthClientType, presentOAuthClient(client), { included: await included(ctx, [client]) }));
  });

  router.patch('/oauth-clients/:id', async (ctx) => {
    const a = readUpdate(body(ctx)).data.attributes ?? {};
    const updated = await vcs.updateClient(subjectOf(ctx), ctx.params.id, { name: a.name, oauthTokenString: a['oauth-token-string'] });
    send(ctx, 200, encode(oauthClientType, presentOAuthClient(updated)));
  });

  router.delete('/oauth-clients/:id', async (ctx) => {
    await vcs.deleteClient(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // A client has one token or none: Terraform Cloud does not page this list either.
  router.get('/oauth-clients/:id/oauth-tokens', async (ctx) => {
    const items = await vcs.listTokens(subjectOf(ctx), ctx.params.id);
    const page = { number: 1, size: Math.max(items.length, 1) };
    send(ctx, 200, encode(oauthTokenType, items.map(presentOAuthToken), paginate(page, items.length, requestUrl(ctx, site))));
  });

  router.get('/organizations/:org/oauth-tokens', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await vcs.listOrganizationTokens(subjectOf(ctx), ctx.params.org, { offset: pageOffset(page), limit: page.size });
    send(ctx, 200, encode(oauthTokenType, items.map(presentOAuthToken), paginate(page, total, requestUrl(ctx, site))));
  });

  router.get('/oauth-tokens/:id', async (ctx) => {
    send(ctx, 200, encode(oauthTokenType, presentOAuthToken(await vcs.getToken(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/oauth-tokens/:id', async (ctx) => {
    const a = readTokenUpdate(body(ctx)).data.attributes ?? {};
    send(ctx, 200, encode(oauthTokenType, presentOAuthToken(await vcs.updateToken(subjectOf(ctx), ctx.params.id, { sshKey: a['ssh-key'] }))));
  });

  router.delete('/oauth-tokens/:id', async (ctx) => {
    await vcs.deleteToken(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
