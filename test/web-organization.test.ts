// The organization-level and site pages as their users see them: organizations and their
// settings and token, teams and members, variable sets, VCS providers, the site administrator's
// users, and one's own tokens. A real browser for the main happy paths; WebClient for what a
// visitor who may not do something gets when posting anyway, and for escaping and secrets.
import assert from 'node:assert/strict';
import type { Api } from './helpers/api.js';
import { launchBrowser, screenshot, seriousViolations, type Browser, type Page } from './helpers/browser.js';
import { addToOrganization, createTeam, createUser, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { WebClient } from './helpers/web.js';

/** The secret shown once on a page answering a "create token" form. */
function shownSecret(text: string): string {
  const secret = /id="secret-once-value"[^>]*value="([^"]+)"/.exec(text)?.[1];
  assert.ok(secret, 'the new token is shown on the answer to the form');
  return secret;
}

describe('web UI: organizations, teams, variable sets, VCS providers, users and tokens', function () {
  this.timeout(180_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let browser: Browser;
  /** A member of org in no team: reads what every member reads, manages nothing. */
  let member: TestUser;
  /** A user in no organization. */
  let outsider: TestUser;

  before(async () => {
    server = await startServer();
    api = server.api;
    org = await createOrganization(api);
    member = await createUser(api);
    await addToOrganization(api, org, member);
    outsider = await createUser(api);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function signedIn(token: string): Promise<WebClient> {
    const web = new WebClient(server.url);
    await web.signIn(token);
    return web;
  }

  /** A browser page signed in with `token` (after signing out whoever was signed in), at `path`. */
  async function browserAs(token: string, path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}`);
    if (!(await page.$('#token'))) {
      await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
      await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}`);
    }
    await page.type('#token', token);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/login/token"] button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, path);
    return page;
  }

  // ---------------------------------------------------------------- browser

  it('a user creates an organization in a browser, becomes its owner, changes its settings and makes its token', async () => {
    const user = await createUser(api);
    const page = await browserAs(user.token, '/app/organizations');
    assert.deepEqual(await seriousViolations(page), []);
    const name = randomName('org');
    await page.type('#org-name', name);
    await page.type('#org-email', `${name}@example.com`);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/app/organizations"] button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, `/app/${name}/workspaces`);
    const read = await user.client.get(`/organizations/${name}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.data.attributes.permissions['can-update'], true, 'its creator owns it');

    await page.goto(`${server.url}/app/${name}/settings`);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'organization-settings');
    await page.$eval('#email', (i) => ((i as unknown as { value: string }).value = ''));
    await page.type('#email', 'ops@example.com');
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/${name}/settings"] button[type="submit"]`)]);
    assert.equal((await user.client.get(`/organizations/${name}`)).body.data.attributes.email, 'ops@example.com');

    await page.type('#token-description', 'ci');
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/${name}/settings/token"] button[type="submit"]`)]);
    const secret = await page.$eval('#secret-once-value', (i) => (i as unknown as { value: string }).value);
    assert.equal((await api.withToken(secret).get(`/organizations/${name}/workspaces`)).status, 200, 'the token works against the API');
    await page.goto(`${server.url}/app/${name}/settings`);
    assert.ok(!(await page.content()).includes(secret), 'and is not shown again');
    await page.close();
  });

  it('a user makes a token of their own in a browser: shown once, good for the API, and gone once deleted', async () => {
    const user = await createUser(api);
    const page = await browserAs(user.token, '/app/profile/tokens');
    await page.type('#token-description', 'laptop <i>cli</i>');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/app/profile/tokens"] button[type="submit"]')]);
    const secret = await page.$eval('#secret-once-value', (i) => (i as unknown as { value: string }).value);
    const account = await api.withToken(secret).get('/account/details');
    assert.equal(account.status, 200);
    assert.equal(account.body.data.attributes.username, user.username);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, 'profile-tokens');

    await page.goto(`${server.url}/app/profile/tokens`);
    const html = await page.content();
    assert.ok(!html.includes(secret), 'not shown again');
    assert.ok(html.includes('laptop &lt;i&gt;cli&lt;/i&gt;'), 'the description is escaped');
    const tokenId = secret.split('.')[0];
    page.on('dialog', (d) => void d.accept());
    await Promise.all([page.waitForNavigation(), page.click(`form[action="/app/profile/tokens/${tokenId}/delete"] button`)]);
    assert.equal((await api.withToken(secret).get('/account/details')).status, 401, 'the deleted token no longer works');
    await page.close();
  });

  it('every page of these has no serious accessibility violation, also 360 px wide, and one h1', async () => {
    const team = await createTeam(api, org);
    const set = await api.post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: randomName('set') } } });
    assert.equal(set.status, 201, set.text);
    const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(pool.status, 201, pool.text);
    const paths = [
      '/app/organizations',
      `/app/${org}/settings`,
      `/app/${org}/teams`,
      `/app/${org}/teams/${team.id}`,
      `/app/${org}/varsets`,
      `/app/${org}/varsets/${set.body.data.id}`,
      `/app/${org}/vcs-providers`,
      `/app/${org}/agent-pools`,
      `/app/${org}/agent-pools/${pool.body.data.id}`,
      '/app/admin/users',
      `/app/admin/users/${member.id}`,
      '/app/profile/tokens',
    ];
    const page = await browserAs(server.siteToken, '/app/organizations');
    for (const width of [1280, 360]) {
      await page.setViewport({ width, height: 900 });
      for (const path of paths) {
        const res = await page.goto(`${server.url}${path}`);
        assert.equal(res?.status(), 200, path);
        assert.deepEqual(await seriousViolations(page), [], `${path} at ${width} px`);
        assert.equal(await page.$$eval('h1', (l) => l.length), 1, path);
        if (width === 360) {
          // Nothing wider than the screen but tables, which scroll inside their own box.
          const overflow = await page.evaluate('document.documentElement.scrollWidth');
          assert.ok(Number(overflow) <= 360 + 1, `${path} is ${overflow} px wide at 360 px`);
        }
      }
    }
    await screenshot(page, 'profile-tokens-360');
    await page.close();
  });

  it('hostile ids in URLs and odd form fields get a 4xx page, never a 5xx', async () => {
    const admin = await signedIn(server.siteToken);
    const ids = ['%00', "x'%3B--", 'a'.repeat(3000), '%E2%80%AE%F0%9F%92%A9', '..%2F..', '%3Cscript%3E'];
    for (const id of ids) {
      for (const path of [`/app/${org}/agent-pools/${id}`, `/app/${org}/teams/${id}`, `/app/${org}/varsets/${id}`, `/app/admin/users/${id}`, `/app/${id}/settings`, `/app/${id}/teams`]) {
        const res = await admin.get(path);
        assert.ok(res.status >= 400 && res.status < 500, `${path.slice(0, 80)}: ${res.status}`);
        assert.ok(!res.text.includes('<script>'), 'nothing echoed as markup');
      }
      const posted = await admin.post(`/app/${org}/vcs-providers/${id}/delete`, {}, { from: '/app/organizations' });
      assert.ok(posted.status >= 400 && posted.status < 500, `vcs delete ${id.slice(0, 20)}: ${posted.status}`);
    }
    const odd = [
      ['/app/organizations', { name: 'ok-name', email: 'x'.repeat(300) + '@example.com' }],
      [`/app/${org}/agent-pools`, { name: 'p'.repeat(91) }],
      [`/app/${org}/varsets`, { name: 's'.repeat(129) }],
      [`/app/${org}/teams`, { name: 'fine', visibility: 'public' }],
      [`/app/${org}/settings`, { name: org, email: 'a@example.com', session_timeout: '1e3', session_remember: '-1', collaborator_auth_policy: 'password', default_execution_mode: 'remote' }],
      [`/app/${org}/settings`, { name: org, email: 'a@example.com', session_timeout: '10', session_remember: '10', collaborator_auth_policy: 'password', default_execution_mode: 'agent', default_agent_pool: 'apool-nope' }],
      [`/app/${org}/vcs-providers`, { service_provider: 'svn', oauth_token: 't' }],
      [`/app/${org}/vcs-providers`, { service_provider: 'github_enterprise', api_url: 'http://169.254.169.254/latest', http_url: 'https://x.example', oauth_token: 'tok' }],
    ] as const;
    for (const [path, form] of odd) {
      const res = await admin.post(path, { ...form }, { from: '/app/organizations' });
      assert.ok(res.status >= 400 && res.status < 500, `${path} ${JSON.stringify(form).slice(0, 80)}: ${res.status}`);
    }
  });

  // ---------------------------------------------------------------- organization settings

  it('organization settings: owners change them and manage the token; members only read; outsiders see nothing', async () => {
    const owner = await signedIn(server.siteToken);
    const settings = await owner.get(`/app/${org}/settings`);
    assert.equal(settings.status, 200);
    for (const link of ['agent-pools', 'teams', 'varsets', 'vcs-providers']) assert.ok(settings.text.includes(`href="/app/${org}/${link}"`), link);
    const created = await owner.post(`/app/${org}/settings/token`, { description: '<script>x</script>' }, { from: `/app/${org}/settings` });
    assert.equal(created.status, 200);
    const secret = shownSecret(created.text);
    assert.equal((await api.withToken(secret).get(`/organizations/${org}`)).status, 200);
    const again = await owner.get(`/app/${org}/settings`);
    assert.ok(!again.text.includes(secret));
    assert.ok(again.text.includes('&lt;script&gt;x&lt;/script&gt;') && !again.text.includes('<script>x'), 'the description is escaped');
    assert.equal((await owner.post(`/app/${org}/settings/token/delete`, {}, { from: `/app/${org}/settings` })).status, 303);
    assert.equal((await api.withToken(secret).get(`/organizations/${org}`)).status, 401, 'the deleted token is refused');

    const web = await signedIn(member.token);
    const view = await web.get(`/app/${org}/settings`);
    assert.equal(view.status, 200);
    assert.ok(!view.text.includes('Organization token'), 'no token section for a member');
    assert.ok(!view.text.includes('Save settings'));
    const form = { name: org, email: 'x@example.com', session_timeout: '10', session_remember: '10', collaborator_auth_policy: 'password', default_execution_mode: 'remote' };
    assert.equal((await web.post(`/app/${org}/settings`, form, { from: `/app/${org}/settings` })).status, 403);
    assert.equal((await web.post(`/app/${org}/settings/token`, {}, { from: `/app/${org}/settings` })).status, 403);
    const bad = await owner.post(`/app/${org}/settings`, { ...form, email: '<b>not an email' }, { from: `/app/${org}/settings` });
    assert.equal(bad.status, 422);
    assert.ok(!bad.text.includes('<b>not'));

    const out = await signedIn(outsider.token);
    for (const path of ['settings', 'teams', 'varsets', 'vcs-providers', 'agent-pools']) assert.equal((await out.get(`/app/${org}/${path}`)).status, 404, path);
    assert.equal((await out.post(`/app/${org}/settings/token`, {}, { from: '/app/organizations' })).status, 404);
  });

  // ---------------------------------------------------------------- users (site admin)

  it('the site administrator manages users and their tokens; nobody else may', async () => {
    const web = await signedIn(member.token);
    assert.equal((await web.get('/app/admin/users')).status, 403);
    assert.equal((await web.get(`/app/admin/users/${member.id}`)).status, 403);
    assert.equal((await web.post('/app/admin/users', { username: 'x1', email: 'x1@example.com' }, { from: '/app/organizations' })).status, 403);

    const admin = await signedIn(server.siteToken);
    const list = await admin.get('/app/admin/users');
    assert.equal(list.status, 200);
    assert.ok(list.text.includes(member.username));
    const username = randomName('person');
    const made = await admin.post('/app/admin/users', { username, email: `${username}@example.com` }, { from: '/app/admin/users' });
    assert.equal(made.status, 303);
    const userPath = String(made.headers.location);
    assert.match(userPath, /^\/app\/admin\/users\/user-/);
    const tokenForm = await admin.post(`${userPath}/tokens`, { description: 'first' }, { from: userPath });
    assert.equal(tokenForm.status, 200);
    const secret = shownSecret(tokenForm.text);
    assert.equal((await api.withToken(secret).get('/account/details')).body.data.attributes.username, username);
    assert.ok(!(await admin.get(userPath)).text.includes(secret));
    assert.equal((await admin.post('/app/admin/users', { username: '<script>', email: 'a@example.com' }, { from: '/app/admin/users' })).status, 422);
    assert.equal((await admin.post(`${userPath}/delete`, {}, { from: userPath })).status, 303);
    assert.equal((await api.withToken(secret).get('/account/details')).status, 401, "the deleted user's token is refused");
    assert.equal((await admin.get(userPath)).status, 404);
  });

  // ---------------------------------------------------------------- teams

  it('teams: managers create teams, add and remove members and set organization access; members only read', async () => {
    const owner = await signedIn(server.siteToken);
    const list = await owner.get(`/app/${org}/teams`);
    assert.equal(list.status, 200);
    assert.ok(list.text.includes('owners'));
    const name = randomName('team');
    const made = await owner.post(`/app/${org}/teams`, { name, visibility: 'organization', 'access_manage-workspaces': 'on' }, { from: `/app/${org}/teams` });
    assert.equal(made.status, 303, made.text);
    const teamPath = String(made.headers.location);
    const teamId = teamPath.split('/').pop()!;
    const team = await api.get(`/teams/${teamId}`);
    assert.equal(team.body.data.attributes['organization-access']['manage-workspaces'], true);

    assert.equal((await owner.post(`${teamPath}/members`, { username: member.username }, { from: teamPath })).status, 303);
    assert.ok((await owner.get(teamPath)).text.includes(member.username));
    assert.deepEqual(
      (await api.get(`/teams/${teamId}`)).body.data.relationships.users.data.map((u: { id: string }) => u.id),
      [member.id],
    );
    // A user outside the organization cannot join: a clear 422, no 5xx.
    const notMember = await owner.post(`${teamPath}/members`, { username: outsider.username }, { from: teamPath });
    assert.equal(notMember.status, 422);
    assert.match(notMember.text, /not a member/);
    assert.equal((await owner.post(`${teamPath}/access`, { 'access_manage-vcs-settings': 'on' }, { from: teamPath })).status, 303);
    const access = (await api.get(`/teams/${teamId}`)).body.data.attributes['organization-access'];
    assert.equal(access['manage-vcs-settings'], true);
    assert.equal(access['manage-workspaces'], false);
    assert.equal((await owner.post(`${teamPath}/members/remove`, { username: member.username }, { from: teamPath })).status, 303);
    assert.ok(!(await owner.get(teamPath)).text.includes(member.username));

    // HTML in a team name is refused (not a valid name), and not echoed.
    const bad = await owner.post(`/app/${org}/teams`, { name: '<img src=x onerror=alert(1)>', visibility: 'secret' }, { from: `/app/${org}/teams` });
    assert.equal(bad.status, 422);
    assert.ok(!bad.text.includes('<img src=x'));

    const web = await signedIn(member.token);
    const seen = await web.get(`/app/${org}/teams`);
    assert.equal(seen.status, 200);
    assert.ok(seen.text.includes(name));
    assert.ok(!seen.text.includes('New team'));
    assert.ok(!(await web.get(teamPath)).text.includes('Add member'));
    assert.equal((await web.post(`/app/${org}/teams`, { name: 'sneaky', visibility: 'secret' }, { from: `/app/${org}/teams` })).status, 403);
    assert.equal((await web.post(`${teamPath}/members`, { username: member.username }, { from: `/app/${org}/teams` })).status, 403);
    assert.equal((await web.post(`${teamPath}/delete`, {}, { from: `/app/${org}/teams` })).status, 403);

    // Another organization's team is not found under this one.
    const other = await createOrganization(api);
    const otherTeam = await createTeam(api, other);
    assert.equal((await owner.get(`/app/${org}/teams/${otherTeam.id}`)).status, 404);
    assert.equal((await owner.post(`/app/${org}/teams/${otherTeam.id}/delete`, {}, { from: teamPath })).status, 404);
    assert.equal((await api.get(`/teams/${otherTeam.id}`)).status, 200, 'and it is still there');

    assert.equal((await owner.post(`${teamPath}/delete`, {}, { from: teamPath })).status, 303);
    assert.equal((await api.get(`/teams/${teamId}`)).status, 404);

    // Who manages memberships adds a user to the organization, then removes them.
    const newcomer = await createUser(api);
    assert.equal((await web.post(`/app/${org}/teams/invite`, { username: newcomer.username }, { from: `/app/${org}/teams` })).status, 403);
    assert.equal((await owner.post(`/app/${org}/teams/invite`, { username: newcomer.username }, { from: `/app/${org}/teams` })).status, 303);
    assert.equal((await newcomer.client.get(`/organizations/${org}`)).status, 200, 'the newcomer is a member');
    const withNewcomer = await owner.get(`/app/${org}/teams`);
    assert.ok(withNewcomer.text.includes(newcomer.username));
    const membership = (await api.get(`/organizations/${org}/organization-memberships?q=${newcomer.username}`)).body.data[0];
    assert.equal((await owner.post(`/app/${org}/teams/memberships/${membership.id}/delete`, {}, { from: `/app/${org}/teams` })).status, 303);
    assert.equal((await newcomer.client.get(`/organizations/${org}`)).status, 404, 'and no longer');
  });

  // ---------------------------------------------------------------- variable sets

  it('variable sets: names escaped, sensitive values never shown, applied to workspaces; readers without rights are refused', async () => {
    const owner = await signedIn(server.siteToken);
    const ws = await createWorkspace(api, org);
    const evil = '<img src=x onerror=alert(1)> set';
    const made = await owner.post(`/app/${org}/varsets`, { name: evil, description: '<b>desc</b>', priority: 'on' }, { from: `/app/${org}/varsets` });
    assert.equal(made.status, 303, made.text);
    const setPath = String(made.headers.location);
    const setId = setPath.split('/').pop()!;
    const list = await owner.get(`/app/${org}/varsets`);
    assert.ok(list.text.includes('&lt;img src=x onerror=alert(1)&gt; set'));
    assert.ok(!list.text.includes('<img src=x'), 'the name is escaped');

    assert.equal((await owner.post(`${setPath}/vars`, { key: 'password', value: 'hunter2-very-secret', category: 'terraform', sensitive: 'on' }, { from: setPath })).status, 303);
    assert.equal((await owner.post(`${setPath}/vars`, { key: 'region', value: 'eu-<west>', category: 'env' }, { from: setPath })).status, 303);
    assert.equal((await owner.post(`${setPath}/workspaces`, { workspace: ws.id }, { from: setPath })).status, 303);
    const view = await owner.get(setPath);
    assert.equal(view.status, 200);
    assert.ok(!view.text.includes('hunter2-very-secret'), 'the sensitive value is never in the page');
    assert.ok(view.text.includes('Sensitive: write-only'));
    assert.ok(view.text.includes('eu-&lt;west&gt;'));
    assert.ok(view.text.includes(ws.attributes.name));
    // Editing the sensitive variable without a value keeps its value, still never shown.
    const vars = (await api.get(`/varsets/${setId}/relationships/vars`)).body.data;
    const secretVar = vars.find((v: { attributes: { key: string } }) => v.attributes.key === 'password');
    const edit = await owner.get(`${setPath}/vars/${secretVar.id}`);
    assert.equal(edit.status, 200);
    assert.ok(!edit.text.includes('hunter2-very-secret'));
    const saved = await owner.post(`${setPath}/vars/${secretVar.id}`, { key: 'password', value: '', description: 'the db password', category: 'terraform', sensitive: 'on' }, { from: setPath });
    assert.equal(saved.status, 303, saved.text);
    const after = (await api.get(`/varsets/${setId}/relationships/vars/${secretVar.id}`)).body.data.attributes;
    assert.equal(after.description, 'the db password');
    assert.equal(after.sensitive, true);
    const applied = await api.get(`/varsets/${setId}`);
    assert.deepEqual(applied.body.data.relationships.workspaces.data.map((w: { id: string }) => w.id), [ws.id]);
    assert.equal(applied.body.data.attributes.priority, true);

    // A member who may read no workspace's variables may not read the organization's sets.
    const web = await signedIn(member.token);
    assert.equal((await web.get(`/app/${org}/varsets`)).status, 403);
    assert.equal((await web.get(setPath)).status, 403);
    assert.equal((await web.post(`${setPath}/vars`, { key: 'k', value: 'v', category: 'env' }, { from: '/app/organizations' })).status, 403);
    const out = await signedIn(outsider.token);
    assert.equal((await out.get(setPath)).status, 404);
    // Under another organization's URL, the set is not there.
    const other = await createOrganization(api);
    assert.equal((await owner.get(`/app/${other}/varsets/${setId}`)).status, 404);
    assert.equal((await owner.get(`/app/${org}/varsets/varset-doesnotexist`)).status, 404);

    assert.equal((await owner.post(`${setPath}/delete`, {}, { from: setPath })).status, 303);
    assert.equal((await api.get(`/varsets/${setId}`)).status, 404);
  });

  // ---------------------------------------------------------------- VCS providers

  it('VCS providers: the access token goes in a password field and never comes back; only who manages VCS settings sees them', async () => {
    const owner = await signedIn(server.siteToken);
    const form = await owner.get(`/app/${org}/vcs-providers`);
    assert.match(form.text, /<input id="oauth-token" name="oauth_token" type="password"/);
    const token = 'ghp_' + 'S3cr3t'.repeat(6);
    const added = await owner.post(`/app/${org}/vcs-providers`, { service_provider: 'github', name: '<b>hub</b>', oauth_token: token }, { from: `/app/${org}/vcs-providers` });
    assert.equal(added.status, 303, added.text);
    const list = await owner.get(`/app/${org}/vcs-providers`);
    assert.ok(list.text.includes('&lt;b&gt;hub&lt;/b&gt;'));
    assert.ok(!list.text.includes(token), 'the token is never shown');
    const clients = await api.get(`/organizations/${org}/oauth-clients`);
    assert.equal(clients.body.data.length, 1);
    const clientId: string = clients.body.data[0].id;
    // A bad token is refused with the service's message, which never quotes it.
    const bad = await owner.post(`/app/${org}/vcs-providers`, { service_provider: 'github', oauth_token: 'has spaces secretvalue' }, { from: `/app/${org}/vcs-providers` });
    assert.equal(bad.status, 422);
    assert.ok(!bad.text.includes('secretvalue'));

    const web = await signedIn(member.token);
    assert.equal((await web.get(`/app/${org}/vcs-providers`)).status, 403);
    assert.equal((await web.post(`/app/${org}/vcs-providers/${clientId}/delete`, {}, { from: '/app/organizations' })).status, 403);
    const other = await createOrganization(api);
    assert.equal((await owner.post(`/app/${other}/vcs-providers/${clientId}/delete`, {}, { from: '/app/organizations' })).status, 404);
    assert.equal((await owner.post(`/app/${org}/vcs-providers/${clientId}/delete`, {}, { from: `/app/${org}/vcs-providers` })).status, 303);
    assert.equal((await api.get(`/organizations/${org}/oauth-clients`)).body.data.length, 0);
  });
});
