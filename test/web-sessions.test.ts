// The web UI's sessions: signing in with a token in a real browser, signing out, and what a forger
// or a tampered cookie gets.
import assert from 'node:assert/strict';
import { launchBrowser, seriousViolations, signInWithToken, type Browser } from './helpers/browser.js';
import { createUser } from './helpers/people.js';
import { createOrganization, startServer, type TestServer } from './helpers/server.js';
import { WebClient } from './helpers/web.js';

describe('web UI sessions', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  let org: string;

  before(async () => {
    server = await startServer();
    org = await createOrganization(server.api);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('signs in with the site token in a browser, lists organizations, and signs out', async () => {
    const page = await browser.newPage();
    await signInWithToken(page, server.url, server.siteToken);
    assert.equal(new URL(page.url()).pathname, '/app/organizations');
    assert.ok((await page.content()).includes(org));
    assert.deepEqual(await seriousViolations(page), []);
    const cookie = (await page.cookies()).find((c) => c.name === 'otf_session');
    assert.ok(cookie?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(cookie?.sameSite, 'Lax');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
    assert.equal(new URL(page.url()).pathname, '/login');
    // The old cookie no longer opens anything.
    const client = new WebClient(server.url);
    client.cookies.set('otf_session', cookie!.value);
    const res = await client.get('/app/organizations');
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), /^\/login\?next=/);
    await page.close();
  });

  it('refuses a token that is not a user token or the site token, without a 5xx', async () => {
    const client = new WebClient(server.url);
    for (const token of ['nope', 'x'.repeat(5000), 'ut-AAAAAAAAAAAAAAAA.' + 'A'.repeat(43)]) {
      const res = await client.post('/login/token', { token }, { from: '/login' });
      assert.equal(res.status, 401, token.slice(0, 20));
      assert.match(res.text, /not a valid user token/);
    }
  });

  it('a user token signs that user in: pages show what the user may see', async () => {
    const user = await createUser(server.api);
    const client = new WebClient(server.url);
    await client.signIn(user.token);
    const res = await client.get('/app/organizations');
    assert.equal(res.status, 200);
    assert.ok(res.text.includes(user.username));
    assert.ok(!res.text.includes(org), 'a user outside the organization does not see it');
  });

  it('refuses forms without a CSRF token, with a wrong one, or posted from another site', async () => {
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    assert.equal((await client.post('/logout', {}, { csrf: null })).status, 403);
    assert.equal((await client.post('/logout', {}, { csrf: 'forged' })).status, 403);
    const cross = await client.post('/logout', {}, { headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(cross.status, 403);
    assert.match(cross.text, /cross-site/);
    // Still signed in after all three.
    assert.equal((await client.get('/app/organizations')).status, 200);
  });

  it('treats a tampered or unknown session cookie as signed out', async () => {
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    const real = client.cookies.get('otf_session')!;
    for (const value of [real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A'), 'garbage', '%00', 'x'.repeat(4000)]) {
      client.cookies.set('otf_session', value);
      const res = await client.get('/app/organizations');
      assert.equal(res.status, 303, value.slice(0, 10));
    }
  });

  it('never redirects off the site after sign-in', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', '/app/\r\nSet-Cookie:x', 'javascript:alert(1)']) {
      const client = new WebClient(server.url);
      const csrf = await client.csrfOf('/login');
      const res = await client.post('/login/token', { token: server.siteToken, next }, { csrf });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/app/organizations', next);
    }
  });

  it('ends sessions when their lifetime is over', async () => {
    const short = await startServer({ config: { sessionLifetimeMs: 1000 } });
    try {
      const client = new WebClient(short.url);
      await client.signIn(short.siteToken);
      assert.equal((await client.get('/app/organizations')).status, 200);
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal((await client.get('/app/organizations')).status, 303);
    } finally {
      await short.stop();
    }
  });

  it('serves pages with a Content-Security-Policy that allows no inline script', async () => {
    const res = await new WebClient(server.url).get('/login');
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.ok(!String(res.headers['content-security-policy']).includes('unsafe-inline'));
    assert.ok(!/<script>(?!<\/script>)/.test(res.text), 'no inline script');
  });
});
