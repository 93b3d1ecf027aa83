// The site administrator's pages: every user, creating and deleting them, and their tokens (the
// administrator hands out a user's first token). Nobody else may list users: the users service
// refuses them (403), as the API does.
import { requireSiteAdmin } from '../../auth/authorize.js';
import { InvalidError } from '../../errors.js';
import { actionButton, pager, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { emailField } from './organizations.js';
import { enc, pageNumber, secretOnce, textField } from './org-shared.js';
import { newTokenForm, userTokenTable } from './profile.js';

const PAGE_SIZE = 50;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const crumbs = (rest: Array<{ label: string; href?: string }> = []) => [{ label: 'Site administration' }, { label: 'Users', href: rest.length ? '/app/admin/users' : undefined }, ...rest];

export function registerAdminPages(router: WebRouter, deps: WebDeps): void {
  const users = deps.users.service;

  router.get('/app/admin/users', async (ctx) => {
    const subject = subjectOf(ctx);
    const n = pageNumber(ctx);
    const search = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
    const { items, total } = await users.list(subject, { search: search || undefined, limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE });
    page(ctx, {
      title: 'Users',
      crumbs: crumbs(),
      body: html`<h1>Users</h1>
<form method="get" action="/app/admin/users" role="search"><label for="q">Search users</label><input id="q" name="q" type="search" value="${search}"><button type="submit">Search</button></form>
${items.length === 0
  ? html`<p>No users${search ? ' match' : ' yet'}.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="Users">
<thead><tr><th scope="col">Username</th><th scope="col">Email</th><th scope="col">Created</th></tr></thead>
<tbody>${items.map((u) => html`<tr><td><a href="/app/admin/users/${enc(u.id)}">${u.username}</a>${u.invited ? ' (invited)' : ''}</td><td>${u.email}</td><td>${timeTag(u.createdAt)}</td></tr>`)}</tbody>
</table></div>`}
${pager('/app/admin/users', search ? { q: search } : {}, n, Math.max(1, Math.ceil(total / PAGE_SIZE)))}
<section aria-labelledby="new-user"><h2 id="new-user">New user</h2>
<form method="post" action="/app/admin/users">
${csrfField(ctx)}
<label for="username">Username</label>
<input id="username" name="username" required maxlength="90">
<label for="email">Email</label>
<input id="email" name="email" type="email" required maxlength="254">
<button type="submit">Create user</button>
</form></section>`,
    });
  });

  router.post('/app/admin/users', async (ctx) => {
    const username = field(ctx, 'username').trim();
    if (!USERNAME.test(username) || username.length > 90) {
      throw new InvalidError('the username must be 1 to 90 letters, digits, "-", "_" or "." starting with a letter or digit');
    }
    const user = await users.create(subjectOf(ctx), { username, email: emailField(ctx, 'email') });
    redirect(ctx, `/app/admin/users/${enc(user.id)}`);
  });

  async function userPage(ctx: WebCtx, id: string, created?: string): Promise<void> {
    const subject = subjectOf(ctx);
    // Only the site administrator: users.get alone would show a user sharing an organization.
    requireSiteAdmin(subject, 'manage users');
    const user = await users.get(subject, id);
    const tokens = await users.listTokens(subject, user.id, { limit: 100, offset: 0 });
    const base = `/app/admin/users/${enc(user.id)}`;
    page(ctx, {
      title: `User ${user.username}`,
      crumbs: crumbs([{ label: user.username }]),
      body: html`<h1>User ${user.username}</h1>
${created ? secretOnce(`New token of ${user.username}`, created) : ''}
<dl><dt>Email</dt><dd>${user.email}</dd><dt>Id</dt><dd>${user.id}</dd><dt>Created</dt><dd>${timeTag(user.createdAt)}</dd></dl>
<section aria-labelledby="tokens"><h2 id="tokens">Tokens</h2>
${userTokenTable(ctx, tokens.items, `${base}/tokens`)}
<h3>New token</h3>
${newTokenForm(ctx, `${base}/tokens`)}
</section>
<section aria-labelledby="delete"><h2 id="delete">Delete user</h2>
${actionButton(ctx.state.csrf, `${base}/delete`, 'Delete user', { confirm: `Delete user ${user.username}, their tokens and memberships?`, secondary: true })}
</section>`,
    });
  }

  router.get('/app/admin/users/:id', async (ctx) => userPage(ctx, ctx.params.id));

  router.post('/app/admin/users/:id/delete', async (ctx) => {
    await users.delete(subjectOf(ctx), ctx.params.id);
    redirect(ctx, '/app/admin/users');
  });

  router.post('/app/admin/users/:id/tokens', async (ctx) => {
    const subject = subjectOf(ctx);
    requireSiteAdmin(subject, "manage users' tokens");
    const description = textField(ctx, 'description', 'the description', 512);
    const { secret } = await users.createToken(subject, ctx.params.id, { description: description || null, expiredAt: null });
    await userPage(ctx, ctx.params.id, secret);
  });

  router.post('/app/admin/users/:id/tokens/:token/delete', async (ctx) => {
    const subject = subjectOf(ctx);
    requireSiteAdmin(subject, "manage users' tokens");
    const token = await users.getToken(subject, ctx.params.token);
    if (token.userId !== ctx.params.id) throw new InvalidError('that token is not one of this user');
    await users.deleteToken(subject, token.id);
    redirect(ctx, `/app/admin/users/${enc(ctx.params.id)}`);
  });
}
