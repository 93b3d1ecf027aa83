// The signed-in user's own tokens, as Terraform Cloud's user settings show them: description,
// when made and last used; a new token is shown once, then only its description.
import type { WebDeps } from '../deps.js';
import { html } from '../html.js';
import { redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { textField } from '../forms.js';
import { paths } from '../paths.js';
import { secretOnce, tokenSection } from './org-shared.js';

const MAX_TOKENS = 100;

export function registerProfilePages(router: WebRouter, deps: WebDeps): void {
  const users = deps.users.service;

  async function render(ctx: WebCtx, created?: string): Promise<void> {
    const subject = subjectOf(ctx);
    // The site administrator signs in with the site token: it has no user tokens of its own.
    const body =
      subject.kind === 'user'
        ? html`${created ? secretOnce('New user token', created) : ''}
${tokenSection(ctx, {
  title: 'Your tokens',
  tokens: (await users.listTokens(subject, subject.userId, { limit: MAX_TOKENS, offset: 0 })).items,
  action: paths.profileTokens(),
  createLabel: 'Create token',
  confirm: 'Delete this token? Whatever uses it stops working.',
})}`
        : html`<p>You are signed in with the site token, which has no user tokens. Users' tokens are under <a href="${paths.users()}">Users</a>.</p>`;
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
    redirect(ctx, paths.profileTokens());
  });
}
