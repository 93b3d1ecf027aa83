// HTTP routes of users, in Terraform Cloud's shapes: the caller's account, users (made by the site
// administrator through /admin/users) and user tokens.
import { authenticationTokenType, presentToken } from '../auth/routes.js';
import { encode, pageOffset, paginate, parsePage, queryValue } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { resourceDocument, stringEnum, Type, validator, type Static } from '../api/schema.js';
import { presentServiceAccount, presentUser, userType } from './presenters.js';
import type { UserService } from './service.js';

/** Attribute "email" of requests (users, organization memberships). */
export const emailSchema = Type.String({ format: 'email', maxLength: 254, 'x-message': 'must be a valid email address' });

/** Attribute "expired-at" of token requests (user and team tokens). */
export const expiredAtSchema = Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { 'x-message': 'must be an RFC 3339 date and time, or null' });

const usernameSchema = Type.String({
  minLength: 1,
  maxLength: 90,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  'x-message': 'must be 1 to 90 letters, digits, "-", "_" or "." starting with a letter or digit',
});

const readCreateUser = validator(resourceDocument('users', { attributes: Type.Object({ username: usernameSchema, email: emailSchema }) }));

// go-tfe sends type "users"; attributes it leaves out stay as they are.
const readUpdateAccount = validator(
  resourceDocument('users', { attributes: Type.Optional(Type.Object({ username: Type.Optional(usernameSchema), email: Type.Optional(emailSchema) })) }),
);

// go-tfe sends the type "" (its options carry no type of their own): accepted beside the documented one.
const userTokenDocument = Type.Object({
  data: Type.Object({
    type: stringEnum(['authentication-tokens', '']),
    attributes: Type.Optional(Type.Object({ description: Type.Optional(Type.String({ maxLength: 512 })), 'expired-at': Type.Optional(expiredAtSchema) })),
  }),
});
const readUserToken = validator(userTokenDocument);

/** An optional body: an empty POST means no attributes. */
export function optionalBody<T>(raw: unknown, read: (b: unknown) => T, empty: T): T {
  return raw && Object.keys(raw as object).length > 0 ? read(raw) : empty;
}

/** The expiry a token request asks for; none when absent or null. */
export function expiry(attributes: { 'expired-at'?: string | null } | undefined): Date | null {
  const v = attributes?.['expired-at'];
  return v ? new Date(v) : null;
}

export function registerUserRoutes(router: ApiRouter, { users, site }: { users: UserService; site: Site }): void {
  router.get('/account/details', async (ctx) => {
    const subject = subjectOf(ctx);
    const user = await users.self(subject);
    send(ctx, 200, encode(userType, user ? presentUser(user, subject) : presentServiceAccount(subject)));
  });

  router.patch('/account/update', async (ctx) => {
    const subject = subjectOf(ctx);
    const a = readUpdateAccount(body(ctx)).data.attributes ?? {};
    const user = await users.updateSelf(subject, { username: a.username, email: a.email });
    send(ctx, 200, encode(userType, presentUser(user, subject)));
  });

  router.post('/admin/users', async (ctx) => {
    const subject = subjectOf(ctx);
    const doc = readCreateUser(body(ctx));
    const user = await users.create(subject, doc.data.attributes);
    send(ctx, 201, encode(userType, presentUser(user, subject)));
  });

  router.get('/admin/users', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { items, total } = await users.list(subject, { search: queryValue(q, 'q'), limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(userType, items.map((u) => presentUser(u, subject)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.delete('/admin/users/:id', async (ctx) => {
    await users.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  router.get('/users/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    send(ctx, 200, encode(userType, presentUser(await users.get(subject, ctx.params.id), subject)));
  });

  router.get('/users/:id/authentication-tokens', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await users.listTokens(subjectOf(ctx), ctx.params.id, { limit: page.size, offset: pageOffset(page) });
    send(ctx, 200, encode(authenticationTokenType, items.map((t) => presentToken(t)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/users/:id/authentication-tokens', async (ctx) => {
    const doc: Static<typeof userTokenDocument> = optionalBody(body(ctx), readUserToken, { data: { type: 'authentication-tokens' } });
    const { token, secret } = await users.createToken(subjectOf(ctx), ctx.params.id, {
      description: doc.data.attributes?.description ?? null,
      expiredAt: expiry(doc.data.attributes),
    });
    send(ctx, 201, encode(authenticationTokenType, presentToken(token, secret)));
  });
}
