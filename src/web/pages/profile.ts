// The signed-in user's own tokens, as Terraform Cloud's user settings show them: description,
// when made and last used; a new token is shown once, then only its description.
import type { UserToken } from '../../users/index.js';
import { actionButton, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { csrfField, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { secretOnce, textField } from './org-shared.js';

const MAX_TOKENS = 100;

/** A table of user tokens with a delete button each; `deleteBase` + "/<id>/delete" is where it posts. */
export function userTokenTable(ctx: WebCtx, tokens: UserToken[], deleteBase: string): Html {
  if (tokens.length === 0) return html`<p>No tokens.</p>`;
  return html`<div class="overflow-auto"><table tabindex="0" aria-label="Tokens">
<thead><tr><th scope="col">Description</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
<tbody>${tokens.map(
    (t) => html`<tr><td>${t.description ?? ''}</td><td>${timeTag(t.createdAt)}</td><td>${timeTag(t.lastUsedAt)}</td><td>${t.expiredAt ? timeTag(t.expiredAt) : 'never'}</td>
<td>${actionButton(ctx.state.csrf, `${deleteBase}/${encodeURIComponent(t.id)}/delete`, 'Delete', { confirm: 'Delete this token? Whatever uses it stops working.', secondary: true })}</td></tr>`,
  )}</tbody></table></div>`;
}

/** The form that makes a token (description only; expiry through the API). */
export function newTokenForm(ctx: WebCtx, action: string): Html {
  return html`<form method="post" action="${action}">
${csrfField(ctx)}
<label for="token-description">Description</label>
<input id="token-description" name="description" maxlength="512" required>
<button type="submit">Create token</button>
</form>`;
}

export function registerProfilePages(router: WebRouter, deps: WebDeps): void {
  const users = deps.users.service;

  async function render(ctx: WebCtx, created?: string): Promise<void> {
    const subject = subjectOf(ctx);
    // The site administrator signs in with the site token: it has no user tokens of its own.
    const body =
      subject.kind === 'user'
        ? html`${created ? secretOnce('New user token', created) : ''}
<section aria-labelledby="tokens"><h2 id="tokens">Your tokens</h2>
${userTokenTable(ctx, (await users.listTokens(subject, subject.userId, { limit: MAX_TOKENS, offset: 0 })).items, '/app/profile/tokens')}
</section>
<section aria-labelledby="new-token"><h2 id="new-token">New token</h2>${newTokenForm(ctx, '/app/profile/tokens')}</section>`
        : html`<p>You are signed in with the site token, which has no user tokens. Users' tokens are under <a href="/app/admin/users">Users</a>.</p>`;
    page(ctx, { title: 'Your tokens', crumbs: [{ label: 'Profile' }, { label: 'Tokens' }], body: html`<h1>Your tokens</h1>${body}` });
  }

  router.get('/app/profile/tokens', async (ctx) => render(ctx));

  router.post('/app/profile/tokens', async (ctx) => {
    const subject = subjectOf(ctx);
    const userId = subject.kind === 'user' ? subject.userId : '';
    const description = textField(ctx, 'description', 'the description', 512);
    const { secret } = await users.createToken(subject, userId, { description: description || null, expiredAt: null });
    await render(ctx, secret);
  });

  router.post('/app/profile/tokens/:id/delete', async (ctx) => {
    await users.deleteToken(subjectOf(ctx), ctx.params.id);
    redirect(ctx, '/app/profile/tokens');
  });
}
