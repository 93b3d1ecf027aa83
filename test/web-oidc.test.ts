// Single sign-on with a real OpenID Connect provider (oidc-provider) and a real headless Chromium:
// signing in through the provider's own login and consent pages, the user made on first sign-in,
// team memberships from the groups claim (and taken away when the claim drops them), and what a
// forger gets: state and nonce mismatches, a replayed callback, a missing or invalid username
// claim, an off-site `next`: each refused with a 4xx page, never a 5xx.
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { launchBrowser, screenshot, seriousViolations, type Browser } from './helpers/browser.js';
import { startProvider, type TestProvider } from './helpers/oidc.js';
import { createTeam, createUser } from './helpers/people.js';
import { createOrganization, freePort, randomName, startServer, type TestServer } from './helpers/server.js';
import { WebClient, type WebResponse } from './helpers/web.js';

describe('web UI single sign-on (OpenID Connect)', function () {
  this.timeout(180_000);
  let server: TestServer;
  let provider: TestProvider;
  let browser: Browser;
  let org: string;
  let team: { id: string; name: string };
  let providerDown: WebResponse;

  before(async () => {
    const providerPort = await freePort();
    server = await startServer({
      config: {
        oidc: {
          issuer: `http://127.0.0.1:${providerPort}`,
          clientId: 'otfd',
          clientSecret: 'a-client-secret-of-at-least-32-characters',
          usernameClaim: 'preferred_username',
          teamsClaim: 'groups',
          // The provider gives the groups claim for the "groups" scope; otfd asks for what the operator lists.
          scopes: ['openid', 'groups', 'profile', 'email'],
          name: 'Test IdP',
        },
      },
    });
    // otfd started while the provider is not up yet: discovery happens at the first sign-in.
    providerDown = await new WebClient(server.url).get('/login/oidc');
    provider = await startProvider({ port: providerPort, redirectUri: `${server.url}/login/oidc/callback` });
    org = await createOrganization(server.api);
    const t = await createTeam(server.api, org);
    team = { id: t.id, name: t.attributes.name };
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await provider?.stop();
    await server?.stop();
  });

  /** Goes through the provider's login and consent pages as `login`; returns the callback's answer. */
  async function throughProvider(page: Page, login: string): Promise<{ status: number; page: Page }> {
    await page.waitForSelector('input[name="login"]', { timeout: 10_000 }).catch(async (err: unknown) => {
      throw new Error(`no login form at ${page.url()}: ${(await page.content()).slice(0, 1500)}`, { cause: err });
    });
    await page.type('input[name="login"]', login);
    await page.type('input[name="password"]', 'any password');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    const callback = page.waitForResponse((r) => r.url().startsWith(`${server.url}/login/oidc/callback`));
    if (new URL(page.url()).port !== new URL(server.url).port) {
      // The consent page: grant otfd what it asks for.
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type="submit"]')]);
    }
    const answer = await callback;
    await page.waitForNetworkIdle({ idleTime: 200 }).catch(() => undefined);
    return { status: answer.status(), page };
  }

  /**
   * A new page of a browser that forgot every cookie (otfd's and the provider's): a fresh visitor.
   * (The Chromium of @sparticuz/chromium runs as one process, where extra browser contexts crash.)
   */
  async function freshPage(): Promise<Page> {
    const page = await browser.newPage();
    const cdp = await page.createCDPSession();
    await cdp.send('Network.clearBrowserCookies');
    await cdp.detach();
    return page;
  }

  /** Signs in through the sign-in page's single sign-on button, as a fresh visitor. */
  async function signInWithProvider(login: string, start = '/login'): Promise<{ status: number; page: Page }> {
    const page = await freshPage();
    await page.goto(`${server.url}${start}`);
    if (start === '/login') await Promise.all([page.waitForNavigation(), page.click('a[href^="/login/oidc"]')]);
    return throughProvider(page, login);
  }

  async function teamMembers(teamId: string): Promise<string[]> {
    const res = await server.api.get(`/teams/${teamId}?include=users`);
    assert.equal(res.status, 200, res.text);
    return ((res.body.included ?? []) as Array<{ attributes: { username: string } }>).map((u) => u.attributes.username);
  }

  it('shows a clear error page while the provider cannot be reached, and reads its discovery once it can', async () => {
    assert.equal(providerDown.status, 503);
    assert.match(providerDown.text, /cannot be reached/);
    assert.match(providerDown.text, /sign in with a token/);
    const client = new WebClient(server.url);
    const res = await client.get('/login/oidc');
    assert.equal(res.status, 303);
    assert.ok(String(res.headers.location).startsWith(provider.issuer), String(res.headers.location));
    const url = new URL(String(res.headers.location));
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('scope'), 'openid groups profile email', 'the scopes of --oidc-scopes, as given');
    assert.ok(url.searchParams.get('state') && url.searchParams.get('nonce') && url.searchParams.get('code_challenge'));
  });

  it('signs a new user in through the provider: the user is made, and the groups claim makes it a team member', async () => {
    const username = randomName('sso');
    provider.accounts.set(username, {
      claims: { preferred_username: username, email: `${username}@example.com`, email_verified: true, groups: [`${org}/${team.name}`, 'no-such-org/x', 'bare-name'] },
    });
    const { status, page } = await signInWithProvider(username);
    assert.equal(status, 303);
    assert.equal(new URL(page.url()).pathname, '/app/organizations');
    const text = await page.content();
    assert.ok(text.includes(username), 'the page names the signed-in user');
    assert.ok(text.includes(org), 'the organization of the team from the groups claim is listed');
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'sso-signed-in');
    assert.ok((await teamMembers(team.id)).includes(username));
    const user = await server.api.get(`/admin/users?q=${username}`);
    assert.equal(user.status, 200);
    await page.close();
  });

  it('takes away on the next sign-in the team memberships single sign-on made that the claim no longer lists, not those given by hand', async () => {
    const username = randomName('sso');
    const byHand = await createTeam(server.api, org);
    provider.accounts.set(username, { claims: { preferred_username: username, groups: [`${org}/${team.name}`, `${org}/${byHand.attributes.name}`] } });
    let signIn = await signInWithProvider(username);
    assert.equal(signIn.status, 303);
    await signIn.page.close();
    assert.ok((await teamMembers(team.id)).includes(username));
    // The administrator puts the user into a third team by hand.
    const third = await createTeam(server.api, org);
    const users = await server.api.get(`/admin/users?q=${username}`);
    const userId = (users.body.data as Array<{ id: string; attributes: { username: string } }>).find((u) => u.attributes.username === username)!.id;
    const added = await server.api.post(`/teams/${third.id}/relationships/users`, { data: [{ type: 'users', id: userId }] });
    assert.equal(added.status, 204, added.text);

    // The provider now lists only the second team; and a `next` off the site is ignored.
    provider.accounts.set(username, { claims: { preferred_username: username, groups: [`${org}/${byHand.attributes.name}`] } });
    signIn = await signInWithProvider(username, `/login/oidc?next=${encodeURIComponent('//evil.example/x')}`);
    assert.equal(signIn.status, 303);
    assert.equal(new URL(signIn.page.url()).origin, new URL(server.url).origin);
    assert.equal(new URL(signIn.page.url()).pathname, '/app/organizations');
    await signIn.page.close();
    assert.ok(!(await teamMembers(team.id)).includes(username), 'left the team the claim dropped');
    assert.ok((await teamMembers(byHand.id)).includes(username), 'still in the team the claim lists');
    assert.ok((await teamMembers(third.id)).includes(username), 'still in the team given by hand');

    // With no group left for the organization, the membership single sign-on made ends too... but not
    // while a team given by hand keeps the user there.
    provider.accounts.set(username, { claims: { preferred_username: username, groups: [] } });
    signIn = await signInWithProvider(username);
    await signIn.page.close();
    assert.ok(!(await teamMembers(byHand.id)).includes(username));
    assert.ok((await teamMembers(third.id)).includes(username));
  });

  it('goes to a local `next` after signing in', async () => {
    const username = randomName('sso');
    provider.accounts.set(username, { claims: { preferred_username: username, groups: [`${org}/${team.name}`] } });
    const signIn = await signInWithProvider(username, `/login/oidc?next=${encodeURIComponent('/app/organizations?from=sso')}`);
    assert.equal(new URL(signIn.page.url()).search, '?from=sso');
    await signIn.page.close();
  });

  it('refuses an account the provider gives no username, or an invalid one, with a 4xx page', async () => {
    provider.accounts.set('nameless', { claims: { email: 'nameless@example.com' } });
    let signIn = await signInWithProvider('nameless');
    assert.equal(signIn.status, 403);
    assert.match(await signIn.page.content(), /has no claim "preferred_username"/);
    await signIn.page.close();

    provider.accounts.set('scripted', { claims: { preferred_username: '<script>alert(1)</script>' } });
    signIn = await signInWithProvider('scripted');
    assert.equal(signIn.status, 403);
    const text = await signIn.page.content();
    assert.match(text, /not a valid username/);
    assert.ok(!text.includes('<script>alert(1)'), 'the claim is escaped');
    await signIn.page.close();
  });

  it('refuses a callback whose state was not started in this browser, is unknown, or is replayed', async () => {
    // No cookie: a callback forged for somebody else's browser.
    const stranger = new WebClient(server.url);
    let res = await stranger.get('/login/oidc/callback?state=forged&code=whatever');
    assert.equal(res.status, 400);
    assert.match(res.text, /not started in this browser/);

    // A state of this browser's, but another one in the URL.
    const client = new WebClient(server.url);
    const started = await client.get('/login/oidc');
    const state = new URL(String(started.headers.location)).searchParams.get('state')!;
    res = await client.get(`/login/oidc/callback?state=${state}x&code=whatever`);
    assert.equal(res.status, 400);

    // A real, completed sign-in's callback, replayed with its state cookie.
    const username = randomName('sso');
    provider.accounts.set(username, { claims: { preferred_username: username } });
    const page = await freshPage();
    let callbackUrl = '';
    page.on('request', (r) => {
      if (r.url().startsWith(`${server.url}/login/oidc/callback`)) callbackUrl = r.url();
    });
    await page.goto(`${server.url}/login/oidc`);
    const done = await throughProvider(page, username);
    assert.equal(done.status, 303);
    await page.close();
    const replay = new WebClient(server.url);
    replay.cookies.set('otf_oidc', new URL(callbackUrl).searchParams.get('state')!);
    res = await replay.get(new URL(callbackUrl).pathname + new URL(callbackUrl).search);
    assert.equal(res.status, 400);
    assert.match(res.text, /expired or was already used/);
    assert.ok(!replay.cookies.has('otf_session'), 'no session from a replay');
  });

  it('refuses an ID token whose nonce is not the one otfd sent', async () => {
    const username = randomName('sso');
    provider.accounts.set(username, { claims: { preferred_username: username } });
    // otfd starts a sign-in; the forger swaps the nonce before the browser reaches the provider.
    const client = new WebClient(server.url);
    const started = await client.get('/login/oidc');
    const url = new URL(String(started.headers.location));
    url.searchParams.set('nonce', 'a-nonce-of-the-forgers-choosing');
    const page = await freshPage();
    await page.setCookie({ name: 'otf_oidc', value: client.cookies.get('otf_oidc')!, url: server.url, httpOnly: true, sameSite: 'Lax' });
    await page.goto(url.href);
    const { status } = await throughProvider(page, username);
    assert.equal(status, 400);
    const text = await page.content();
    assert.match(text, /single sign-on failed/);
    assert.match(text, /nonce/);
    await page.close();
  });

  it('refuses the provider\'s error answer with a fixed message, after checking the state', async () => {
    // Without this browser's state, nothing about the provider's answer is shown.
    const stranger = new WebClient(server.url);
    let res = await stranger.get(`/login/oidc/callback?error=access_denied&error_description=${encodeURIComponent('Call +1 555 0100 to restore your account')}`);
    assert.equal(res.status, 400);
    assert.match(res.text, /not started in this browser/);
    assert.ok(!res.text.includes('555 0100'));

    const client = new WebClient(server.url);
    const started = await client.get('/login/oidc');
    const state = new URL(String(started.headers.location)).searchParams.get('state')!;
    res = await client.get(`/login/oidc/callback?state=${state}&error=access_denied&error_description=${encodeURIComponent('Call +1 555 0100 to restore your account')}`);
    assert.equal(res.status, 401);
    assert.match(res.text, /the provider did not sign you in: start again from the sign-in page/);
    assert.ok(!res.text.includes('555 0100'), 'the provider\'s (or a forger\'s) text is not shown');
  });

  it('never signs anyone into an account single sign-on did not make: a 403 page sends them to the site administrator', async () => {
    const local = await createUser(server.api);
    provider.accounts.set('impostor', { claims: { preferred_username: local.username, groups: [`${org}/${team.name}`] } });
    const signIn = await signInWithProvider('impostor');
    assert.equal(signIn.status, 403);
    const text = await signIn.page.content();
    assert.match(text, /single sign-on did not create/);
    assert.match(text, /ask the site administrator/);
    const cookies = await signIn.page.cookies(server.url);
    assert.ok(!cookies.some((c) => c.name === 'otf_session'), 'no session');
    await signIn.page.close();
    assert.ok(!(await teamMembers(team.id)).includes(local.username), 'the claim\'s groups were not applied to the account');
  });

  it('links a user to the provider\'s subject: a renamed claim still signs in the same user, and another subject claiming its name is refused', async () => {
    const username = randomName('sso');
    provider.accounts.set('subject-a', { claims: { preferred_username: username } });
    let signIn = await signInWithProvider('subject-a');
    assert.equal(signIn.status, 303);
    await signIn.page.close();

    // The user edits its username at the provider: still the same user here, under its name here.
    provider.accounts.set('subject-a', { claims: { preferred_username: randomName('renamed') } });
    signIn = await signInWithProvider('subject-a');
    assert.equal(signIn.status, 303);
    assert.ok((await signIn.page.content()).includes(username), 'signed in as the linked user');
    await signIn.page.close();

    // Somebody else at the provider takes that username: refused, not signed in as the first user.
    provider.accounts.set('subject-b', { claims: { preferred_username: username } });
    signIn = await signInWithProvider('subject-b');
    assert.equal(signIn.status, 403);
    assert.match(await signIn.page.content(), /ask the site administrator/);
    await signIn.page.close();
  });

  it('keeps the team memberships when the provider\'s answer has no teams claim', async () => {
    const username = randomName('sso');
    provider.accounts.set(username, { claims: { preferred_username: username, groups: [`${org}/${team.name}`] } });
    let signIn = await signInWithProvider(username);
    assert.equal(signIn.status, 303);
    await signIn.page.close();
    assert.ok((await teamMembers(team.id)).includes(username));

    // No groups claim at all (not an empty list): the provider says nothing about teams this time.
    provider.accounts.set(username, { claims: { preferred_username: username } });
    signIn = await signInWithProvider(username);
    assert.equal(signIn.status, 303);
    await signIn.page.close();
    assert.ok((await teamMembers(team.id)).includes(username), 'still a member');
  });
});
