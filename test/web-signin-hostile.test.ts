// Sign-in against what test/web-sessions.test.ts does not try yet: cookies under TLS, login CSRF
// (a sign-in form posted from another site or without its token), session fixation, tokens that
// are not a person's (team, organization), expired and deleted users, an off-site or HTML `next`
// on the sign-in page, oversized and malformed forms. Each refused or escaped, never a 5xx.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { suite } from './hooks.js';
import { createTeam, createUser } from './helpers/people.js';
import { createOrganization, startServer, type TestServer } from './helpers/server.js';
import { WebClient } from './helpers/web.js';

describe('web UI sign-in, hostile', function () {
  this.timeout(120_000);
  let server: TestServer;
  let ca: Buffer;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true });
    ca = fs.readFileSync(suite().certFile);
    org = await createOrganization(server.api);
  });
  after(async () => {
    await server?.stop();
  });

  const client = () => new WebClient(server.url, ca);

  it('sets the session cookie HttpOnly, Secure and SameSite=Lax under TLS, with the session\'s expiry', async () => {
    const c = client();
    const res = await c.signIn(server.siteToken);
    const cookie = (res.headers['set-cookie'] ?? []).find((v) => v.startsWith('otf_session='));
    assert.ok(cookie, JSON.stringify(res.headers['set-cookie']));
    assert.match(cookie, /;\s*httponly/i);
    assert.match(cookie, /;\s*secure/i);
    assert.match(cookie, /;\s*samesite=lax/i);
    assert.match(cookie, /;\s*expires=/i);
    // The pre-session cookie of a visitor who is not signed in is Secure too.
    const pre = (await client().get('/login')).headers['set-cookie']?.find((v) => v.startsWith('otf_pre='));
    assert.match(String(pre), /;\s*secure/i);
  });

  it('refuses a sign-in form posted without its CSRF token, with another visitor\'s, or from another site (login CSRF)', async () => {
    const c = client();
    assert.equal((await c.post('/login/token', { token: server.siteToken }, { csrf: null })).status, 403);
    // The token of another visitor's sign-in page is bound to that visitor's pre-session cookie.
    const other = client();
    const theirs = await other.csrfOf('/login');
    await c.get('/login');
    assert.equal((await c.post('/login/token', { token: server.siteToken }, { csrf: theirs })).status, 403);
    const cross = await c.post('/login/token', { token: server.siteToken }, { from: '/login', headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(cross.status, 403);
    const opaque = await c.post('/login/token', { token: server.siteToken }, { from: '/login', headers: { Origin: 'null', 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal(opaque.status, 403);
    assert.ok(!c.cookies.has('otf_session'), 'no session from any of them');
  });

  it('gives a new session cookie at each sign-in, and ends the old one (no session fixation)', async () => {
    const c = client();
    // A cookie value planted before sign-in is not adopted.
    c.cookies.set('otf_session', 'A'.repeat(43));
    await c.signIn(server.siteToken);
    const first = c.cookies.get('otf_session')!;
    assert.notEqual(first, 'A'.repeat(43));
    assert.equal((await c.get('/app/organizations')).status, 200);
    // Signing in again, while signed in, starts a new session and ends the first.
    assert.equal((await c.post('/login/token', { token: server.siteToken }, { from: '/app/organizations' })).status, 303);
    const second = c.cookies.get('otf_session')!;
    assert.notEqual(second, first);
    const stale = client();
    stale.cookies.set('otf_session', first);
    assert.equal((await stale.get('/app/organizations')).status, 303);
  });

  it('signs in with neither a team token nor an organization token, nor an expired user token', async () => {
    const team = await createTeam(server.api, org);
    const teamToken = await server.api.post(`/teams/${team.id}/authentication-token`, { data: { type: 'authentication-token' } });
    assert.equal(teamToken.status, 201, teamToken.text);
    const orgToken = await server.api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token' } });
    assert.equal(orgToken.status, 201, orgToken.text);
    const user = await createUser(server.api);
    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = await server.api.post(`/users/${user.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'short', 'expired-at': soon } } });
    assert.equal(expiring.status, 201, expiring.text);
    await new Promise((r) => setTimeout(r, 2000));
    for (const token of [teamToken.body.data.attributes.token, orgToken.body.data.attributes.token, expiring.body.data.attributes.token]) {
      const c = client();
      const res = await c.post('/login/token', { token }, { from: '/login' });
      assert.equal(res.status, 401, token.slice(0, 6));
      assert.ok(!c.cookies.has('otf_session'));
    }
  });

  it('ends the sessions of a user the site administrator deletes', async () => {
    const user = await createUser(server.api);
    const c = client();
    await c.signIn(user.token);
    assert.equal((await c.get('/app/organizations')).status, 200);
    assert.equal((await server.api.delete(`/admin/users/${user.id}`)).status, 204);
    const res = await c.get('/app/organizations');
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), /^\/login\?next=/);
    // A form posted with the old session is not taken as the user's.
    const post = await c.post('/logout', {}, { csrf: 'whatever' });
    assert.equal(post.status, 403);
  });

  it('never sends a signed-in visitor off the site from /login?next=, and escapes `next` on the sign-in page', async () => {
    const c = client();
    await c.signIn(server.siteToken);
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/app/\r\nX-Injected: 1', '%2F%2Fevil.example']) {
      const res = await c.get(`/login?next=${encodeURIComponent(next)}`);
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.location, '/app/organizations', next);
      assert.equal(res.headers['x-injected'], undefined);
    }
    const stranger = client();
    const page = await stranger.get(`/login?next=${encodeURIComponent('/app/"><script>alert(1)</script>')}`);
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes('<script>alert(1)'), 'the next path is escaped');
  });

  it('answers single sign-on with a 404 page when no provider is configured', async () => {
    const res = await client().get('/login/oidc?next=/app/organizations');
    assert.equal(res.status, 404);
    assert.match(res.text, /not configured/);
    const callback = await client().get('/login/oidc/callback?state=x&code=y');
    assert.equal(callback.status, 404);
  });

  it('refuses oversized, NUL-carrying and non-form sign-in posts with a 4xx', async () => {
    const c = client();
    const csrf = await c.csrfOf('/login');
    const headers = { Origin: new URL(server.url).origin, 'Sec-Fetch-Site': 'same-origin' };
    const big = await c.request('POST', '/login/token', { form: { _csrf: csrf, token: 'x'.repeat(300 * 1024) }, headers });
    assert.equal(big.status, 413);
    const nul = await c.request('POST', '/login/token', { raw: `_csrf=${csrf}&token=ab%00cd`, headers });
    assert.equal(nul.status, 400);
    const json = await c.request('POST', '/login/token', { raw: JSON.stringify({ token: server.siteToken }), headers: { ...headers, 'Content-Type': 'application/json' } });
    assert.equal(json.status, 400);
    const get = await c.get('/login/token');
    assert.ok(get.status === 404 || get.status === 405, String(get.status));
  });
});
