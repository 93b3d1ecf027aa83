// `terraform login localhost:PORT` with the real terraform CLI: it finds login.v1 in service
// discovery, prints the authorize URL and listens on a loopback port; a real Chromium, signed in
// with a token, approves; terraform stores the new user token, which then plans a workspace. And
// what a forger gets at the token endpoint: a wrong verifier, a reused or expired code, a redirect
// that is not the CLI's loopback listener.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import knex from 'knex';
import { suite } from './hooks.js';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser } from './helpers/browser.js';
import { addToOrganization, createUser, ownersTeam, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, terraform, workdir } from './helpers/terraform.js';
import { WebClient } from './helpers/web.js';

interface TokenAnswer {
  status: number;
  body: Record<string, string>;
}

describe('web UI: terraform login', function () {
  this.timeout(240_000);
  let server: TestServer;
  let browser: Browser;
  let org: string;
  let ws: string;
  let user: TestUser;
  let ca: Buffer;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 2 } });
    ca = fs.readFileSync(suite().certFile);
    org = await createOrganization(server.api);
    ws = (await createWorkspace(server.api, org)).attributes.name;
    user = await createUser(server.api);
    await addToOrganization(server.api, org, user, [(await ownersTeam(server.api, org)).id]);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Posts a form to the token endpoint as the CLI does: no cookies, no CSRF token. */
  function tokenRequest(form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<TokenAnswer> {
    const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL('/app/oauth/token', server.url),
        { method: 'POST', ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), Accept: 'application/json', ...headers } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, string> }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** What the CLI's authorize URL holds, for a verifier of our own. */
  function authorizeQuery(verifier: string, redirectUri = 'http://localhost:10001/login'): URLSearchParams {
    return new URLSearchParams({
      client_id: 'terraform-cli',
      response_type: 'code',
      redirect_uri: redirectUri,
      state: crypto.randomUUID(),
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
  }

  /** Approves as the user through the form (a client holding the user's session) and returns the code. */
  async function approvedCode(client: WebClient, verifier: string): Promise<{ code: string; redirectUri: string }> {
    const query = authorizeQuery(verifier);
    const approval = await client.get(`/app/oauth/authorize?${query}`);
    assert.equal(approval.status, 200, approval.text.slice(0, 500));
    const res = await client.post('/app/oauth/authorize', { ...Object.fromEntries(query), decision: 'approve' }, { from: `/app/oauth/authorize?${query}` });
    assert.equal(res.status, 303, res.text.slice(0, 500));
    const back = new URL(String(res.headers.location));
    assert.equal(back.origin, 'http://localhost:10001');
    assert.equal(back.searchParams.get('state'), query.get('state'));
    return { code: back.searchParams.get('code')!, redirectUri: query.get('redirect_uri')! };
  }

  it('advertises login.v1 in service discovery', async () => {
    const res = await server.api.get('/.well-known/terraform.json');
    assert.deepEqual(res.body['login.v1'], {
      client: 'terraform-cli',
      grant_types: ['authz_code'],
      authz: '/app/oauth/authorize',
      token: '/app/oauth/token',
      ports: [10000, 10010],
    });
  });

  it('terraform login completes through the browser, and the stored token plans a workspace', async () => {
    const home = fs.mkdtempSync(path.join(suite().tmp, 'login-home-'));
    fs.mkdirSync(path.join(home, '.terraform.d'));
    const config = path.join(home, 'empty.tfrc');
    fs.writeFileSync(config, '');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      TF_CLI_CONFIG_FILE: config,
      SSL_CERT_FILE: suite().certFile,
      CHECKPOINT_DISABLE: '1',
      // Nothing opens a browser here: terraform prints the URL, which the test's Chromium opens.
      BROWSER: 'true',
    };
    const child = spawn('terraform', ['login', server.hostname], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    child.stdin.end('yes\n');
    try {
      const deadline = Date.now() + 30_000;
      let url: RegExpExecArray | null = null;
      while (!(url = /(https:\/\/\S+\/app\/oauth\/authorize\?\S+)/.exec(output)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(url, `terraform printed no authorize URL:\n${output}`);
      const authorize = new URL(url[1]);

      const page = await browser.newPage();
      await signInWithToken(page, server.url, user.token, authorize.pathname + authorize.search);
      assert.equal(new URL(page.url()).pathname, '/app/oauth/authorize');
      assert.equal(await page.$eval('h1', (h) => h.textContent), `Terraform CLI wants a token for ${user.username}`);
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'terraform-login-approval');
      await Promise.all([page.waitForNavigation(), page.click('button[value="approve"]')]);
      assert.match(page.url(), /^http:\/\/localhost:100(0\d|10)\/login\?/);
      await page.close();

      assert.equal(await exited, 0, output);
    } finally {
      child.kill();
    }
    const stored = JSON.parse(fs.readFileSync(path.join(home, '.terraform.d', 'credentials.tfrc.json'), 'utf8')) as { credentials: Record<string, { token: string }> };
    const token = stored.credentials[server.hostname]?.token;
    assert.ok(token, JSON.stringify(stored));
    // The token is the user's, listed with its tokens as made by terraform login.
    const tokens = await server.api.withToken(token).get(`/users/${user.id}/authentication-tokens`);
    assert.equal(tokens.status, 200, tokens.text);
    assert.ok((tokens.body.data as Array<{ attributes: { description: string } }>).some((t) => t.attributes.description === 'terraform login'));

    const dir = workdir({
      'main.tf': `${cloudBlock(server, org, `name = "${ws}"`)}
resource "terraform_data" "x" {
  input = "logged in"
}
`,
    });
    // No CLI config file: terraform then reads its config dir in HOME, where login stored the token.
    const opts = { env: { HOME: home, TF_CLI_CONFIG_FILE: '' } };
    expectCode(await terraform(server, dir, ['init', '-input=false'], opts), 0);
    const plan = await terraform(server, dir, ['plan', '-input=false'], opts);
    expectCode(plan, 0);
    assert.match(plan.output, /Plan: 1 to add, 0 to change, 0 to destroy/);
  });

  it('refuses a wrong verifier and a reused code with invalid_grant', async () => {
    const client = new WebClient(server.url, ca);
    await client.signIn(user.token);
    const verifier = crypto.randomBytes(32).toString('base64url');
    let { code, redirectUri } = await approvedCode(client, verifier);
    let res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: redirectUri, code_verifier: crypto.randomBytes(32).toString('base64url') });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
    // The code was spent by the failed try, even with the right verifier now.
    res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);

    ({ code, redirectUri } = await approvedCode(client, verifier));
    res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.equal(res.status, 200);
    assert.equal(res.body.token_type, 'bearer');
    assert.ok(res.body.access_token);
    res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant'], 'a code is good once');

    // Another redirect, or another client, than the code's.
    ({ code } = await approvedCode(client, verifier));
    res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: 'http://localhost:10002/login', code_verifier: verifier });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
    ({ code, redirectUri } = await approvedCode(client, verifier));
    res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'another-client', code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
  });

  it('answers malformed token requests with OAuth 2.0 JSON errors, never HTML or a 5xx', async () => {
    const client = new WebClient(server.url, ca);
    await client.signIn(user.token);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const { code, redirectUri } = await approvedCode(client, verifier);
    // A Basic client id that is not valid percent-encoding names no client.
    const basic = `Basic ${Buffer.from('%E0%A4%A:secret').toString('base64')}`;
    let res = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, { Authorization: basic });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
    // A body that is not a form, or carries a NUL: refused before the handler, still as JSON.
    res = await tokenRequest('{"grant_type":"authorization_code"}', { 'Content-Type': 'application/json' });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_request']);
    assert.match(res.body.error_description, /x-www-form-urlencoded/);
    res = await tokenRequest('grant_type=authorization_code&code=a%00b');
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_request']);
  });

  it('refuses an expired code with invalid_grant', async () => {
    const client = new WebClient(server.url, ca);
    await client.signIn(user.token);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const { code, redirectUri } = await approvedCode(client, verifier);
    // A minute passes: the code's expiry is moved into the past in the database.
    const db = knex({ client: 'pg', connection: server.databaseUrl });
    try {
      await db('oauth_codes').update({ expires_at: new Date(Date.now() - 1000) });
    } finally {
      await db.destroy();
    }
    const res = await tokenRequest({ grant_type: 'authorization_code', client_id: 'terraform-cli', code, redirect_uri: redirectUri, code_verifier: verifier });
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
  });

  it('never sends a code anywhere but the CLI\'s loopback listener, and accepts only S256', async () => {
    const client = new WebClient(server.url, ca);
    await client.signIn(user.token);
    const verifier = crypto.randomBytes(32).toString('base64url');
    for (const redirect of [
      'https://evil.example/login',
      'http://evil.example:10001/login',
      'http://localhost:9999/login',
      'http://localhost:10011/login',
      'https://localhost:10001/login',
      'http://user@localhost:10001/login',
      'http://localhost.evil.example:10001/login',
      '//localhost:10001/login',
      'javascript:alert(1)',
    ]) {
      const query = authorizeQuery(verifier, redirect);
      const page = await client.get(`/app/oauth/authorize?${query}`);
      assert.equal(page.status, 400, redirect);
      assert.match(page.text, /redirect_uri/);
      // Posting the approval anyway is refused the same way, with no redirect.
      const res = await client.post('/app/oauth/authorize', { ...Object.fromEntries(query), decision: 'approve' }, { from: '/app/organizations' });
      assert.equal(res.status, 400, redirect);
      assert.equal(res.headers.location, undefined);
    }
    const plain = authorizeQuery(verifier);
    plain.set('code_challenge_method', 'plain');
    assert.equal((await client.get(`/app/oauth/authorize?${plain}`)).status, 400);
    const other = authorizeQuery(verifier);
    other.set('client_id', 'somebody-else');
    assert.equal((await client.get(`/app/oauth/authorize?${other}`)).status, 400);
  });

  it('asks a visitor who is not signed in to sign in first, and lets a declined request go back with access_denied', async () => {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const query = authorizeQuery(verifier);
    const stranger = new WebClient(server.url, ca);
    const res = await stranger.get(`/app/oauth/authorize?${query}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/login?next=${encodeURIComponent(`/app/oauth/authorize?${query}`)}`);

    const client = new WebClient(server.url, ca);
    await client.signIn(user.token);
    const declined = await client.post('/app/oauth/authorize', { ...Object.fromEntries(query), decision: 'decline' }, { from: `/app/oauth/authorize?${query}` });
    assert.equal(declined.status, 303);
    const back = new URL(String(declined.headers.location));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('code'), null);
  });

  it('does not give the site administrator a user token, and says so', async () => {
    const client = new WebClient(server.url, ca);
    await client.signIn(server.siteToken);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const query = authorizeQuery(verifier);
    const approval = await client.get(`/app/oauth/authorize?${query}`);
    assert.equal(approval.status, 200);
    assert.match(approval.text, /cannot get a user token/);
    assert.ok(!approval.text.includes('value="approve"'), 'no Approve button');
    const res = await client.post('/app/oauth/authorize', { ...Object.fromEntries(query), decision: 'approve' }, { from: `/app/oauth/authorize?${query}` });
    assert.equal(res.status, 403);
  });
});
