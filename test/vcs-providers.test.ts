// VCS providers as a client sees them: Terraform Cloud's OAuth clients and OAuth tokens APIs on a
// real otfd. A client is made with the provider's access token (oauth-token-string), which becomes
// its one OAuth token: never in an answer or a log, encrypted in the database. The hosted
// providers have default URLs; the others need theirs. Other organizations' ids are 404, members
// without manage-vcs-settings are refused, and hostile input gets a 4xx that says why. The other
// domains' side (tokenInOrganization, adapterFor) is shown against the providers' REST stand-in.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pg from 'pg';
import ssh2 from 'ssh2';
import { SITE_ADMIN } from '../src/auth/subject.js';
import { createLogger } from '../src/logger.js';
import { createOrganizationDomain } from '../src/orgs/index.js';
import { createVcsDomain, type VcsDomain } from '../src/vcs/index.js';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { addToOrganization, createTeam, createUser, grant, organizationToken } from './helpers/people.js';
import { startProviderApi, type ProviderApi } from './helpers/provider-api.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function clientDoc(attributes: Record<string, unknown>): Json {
  return { data: { type: 'oauth-clients', attributes } };
}

/** A logger whose lines the test reads. */
function capturedLogger() {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('debug', 'otfd', stream), text };
}

describe('VCS providers API (oauth-clients, oauth-tokens)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let sql: pg.Client;
  let org: string;
  let providers: ProviderApi;
  let vcs: VcsDomain;
  const logs = capturedLogger();
  const secretToken = () => `ghp_${randomName('tok').replace('-', '')}${'Z'.repeat(20)}`;
  const tokensUsed: string[] = [];

  before(async () => {
    server = await startServer({ logger: logs.logger });
    api = server.api;
    sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    org = await createOrganization(api);
    providers = await startProviderApi();
    // The domain as other domains use it, on otfd's database with otfd's secret.
    const site = { baseUrl: server.url, secret: server.secret };
    vcs = createVcsDomain({ db: server.otfd.db, secret: server.secret, site, orgs: createOrganizationDomain({ db: server.otfd.db, site }).service });
  });
  after(async () => {
    await providers?.stop();
    await sql?.end();
    await server?.stop();
  });

  async function createClient(attributes: Record<string, unknown> = {}, organization = org, client = api): Promise<Json> {
    const token = secretToken();
    tokensUsed.push(token);
    const res = await client.post(`/organizations/${organization}/oauth-clients`, clientDoc({ 'service-provider': 'github', 'oauth-token-string': token, ...attributes }));
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  it('creates a client with its one token, lists, shows, renames and deletes it, never showing the token', async () => {
    const token = secretToken();
    tokensUsed.push(token);
    const res = await api.post(`/organizations/${org}/oauth-clients`, clientDoc({ 'service-provider': 'github', name: 'GitHub', 'oauth-token-string': token }));
    assert.equal(res.status, 201, res.text);
    const created = res.body.data;
    assert.equal(created.type, 'oauth-clients');
    assert.match(created.id, /^oc-/);
    assert.equal(created.links.self, `/api/v2/oauth-clients/${created.id}`);
    assert.equal(created.attributes['service-provider'], 'github');
    assert.equal(created.attributes['service-provider-display-name'], 'GitHub');
    assert.equal(created.attributes.name, 'GitHub');
    assert.equal(created.attributes['api-url'], 'https://api.github.com');
    assert.equal(created.attributes['http-url'], 'https://github.com');
    assert.ok(!('oauth-token-string' in created.attributes));
    assert.deepEqual(created.relationships.organization, { data: { type: 'organizations', id: org } });
    const tokenRefs = created.relationships['oauth-tokens'].data;
    assert.equal(tokenRefs.length, 1);
    assert.equal(tokenRefs[0].type, 'oauth-tokens');
    assert.match(tokenRefs[0].id, /^ot-/);

    const listed = await api.get(`/organizations/${org}/oauth-clients`);
    assert.equal(listed.status, 200, listed.text);
    assert.ok(listed.body.data.some((c: Json) => c.id === created.id));
    assert.equal(listed.body.meta.pagination['total-count'], listed.body.data.length);

    const shown = await api.get(`/oauth-clients/${created.id}?include=oauth_tokens`);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.included[0].id, tokenRefs[0].id);

    const tokens = await api.get(`/oauth-clients/${created.id}/oauth-tokens`);
    assert.equal(tokens.status, 200, tokens.text);
    assert.equal(tokens.body.data.length, 1);
    const ot = tokens.body.data[0];
    assert.equal(ot.type, 'oauth-tokens');
    assert.equal(ot.attributes['has-ssh-key'], false);
    assert.deepEqual(ot.relationships['oauth-client'], { data: { type: 'oauth-clients', id: created.id } });
    const shownToken = await api.get(`/oauth-tokens/${ot.id}`);
    assert.equal(shownToken.status, 200, shownToken.text);
    const byOrg = await api.get(`/organizations/${org}/oauth-tokens`);
    assert.ok(byOrg.body.data.some((t: Json) => t.id === ot.id));

    const renamed = await api.patch(`/oauth-clients/${created.id}`, { data: { type: 'oauth-clients', id: created.id, attributes: { name: 'renamed' } } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.data.attributes.name, 'renamed');
    const newToken = secretToken();
    tokensUsed.push(newToken);
    const retokened = await api.patch(`/oauth-clients/${created.id}`, clientDoc({ 'oauth-token-string': newToken }));
    assert.equal(retokened.status, 200, retokened.text);
    assert.deepEqual(retokened.body.data.relationships['oauth-tokens'].data, tokenRefs, 'the token keeps its id: workspaces using it go on');

    for (const r of [res, listed, shown, tokens, shownToken, byOrg, renamed, retokened]) {
      assert.ok(!r.text.includes(token) && !r.text.includes(newToken), 'an answer holds the token');
    }

    assert.equal((await api.delete(`/oauth-clients/${created.id}`)).status, 204);
    assertError(await api.get(`/oauth-clients/${created.id}`), 404, /oauth client "oc-\S+" not found/);
    assertError(await api.get(`/oauth-tokens/${ot.id}`), 404, /oauth token "ot-\S+" not found/, {});
    assertError(await api.delete(`/oauth-clients/${created.id}`), 404, /not found/);
  });

  it('takes a create as go-tfe sends it: null for what it was not given, the OAuth application attributes ignored', async () => {
    const res = await api.post(`/organizations/${org}/oauth-clients`, clientDoc({
      name: null,
      'api-url': null,
      'http-url': null,
      key: null,
      secret: null,
      'rsa-public-key': null,
      'private-key': null,
      'organization-scoped': true,
      'oauth-token-string': 'ghp_gotfe',
      'service-provider': 'github',
    }));
    assert.equal(res.status, 201, res.text);
    const a = res.body.data.attributes;
    assert.equal(a.name, null);
    assert.equal(a['api-url'], 'https://api.github.com');
    assert.equal(a['organization-scoped'], true);
    for (const k of ['key', 'secret', 'rsa-public-key', 'callback-url', 'connect-path']) assert.equal(a[k], null, k);
    assert.ok(!res.text.includes('ghp_gotfe'));
  });

  it('gives the hosted providers their URLs and needs them for the others', async () => {
    const gitlab = await createClient({ 'service-provider': 'gitlab_hosted' });
    assert.equal(gitlab.attributes['api-url'], 'https://gitlab.com/api/v4');
    assert.equal(gitlab.attributes['http-url'], 'https://gitlab.com');
    assert.equal(gitlab.attributes['service-provider-display-name'], 'GitLab.com');
    for (const provider of ['github_enterprise', 'gitlab_community_edition', 'gitlab_enterprise_edition', 'forgejo']) {
      const path = `/organizations/${org}/oauth-clients`;
      assertError(await api.post(path, clientDoc({ 'service-provider': provider, 'oauth-token-string': 't', 'http-url': 'https://git.example.com' })), 422, new RegExp(`attribute "api-url" is required for ${provider}`), { pointer: '/data/attributes/api-url' });
      assertError(await api.post(path, clientDoc({ 'service-provider': provider, 'oauth-token-string': 't', 'api-url': 'https://git.example.com/api' })), 422, /attribute "http-url" is required/, { pointer: '/data/attributes/http-url' });
      const made = await createClient({ 'service-provider': provider, 'api-url': 'https://git.example.com/api/v1/', 'http-url': 'https://git.example.com' });
      assert.equal(made.attributes['api-url'], 'https://git.example.com/api/v1', 'kept without its trailing slash');
    }
  });

  it('keeps the token encrypted in the database, out of the logs, and opens it only for an adapter', async () => {
    const token = secretToken();
    const res = await api.post(`/organizations/${org}/oauth-clients`, clientDoc({
      'service-provider': 'github_enterprise',
      'api-url': providers.apiUrl('github'),
      'http-url': providers.url,
      'oauth-token-string': token,
    }));
    assert.equal(res.status, 201, res.text);
    const tokenId = res.body.data.relationships['oauth-tokens'].data[0].id;
    const { rows } = await sql.query('SELECT t::text AS t FROM oauth_tokens t WHERE id = $1', [tokenId]);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0].t.includes(token) && !rows[0].t.includes(Buffer.from(token).toString('hex')), 'the row holds the token in plaintext');

    // The other domains' door: the token in its organization only, and an adapter that uses it.
    const orgId = (await sql.query('SELECT id FROM organizations WHERE name = $1', [org])).rows[0].id as string;
    const info = await vcs.providers.tokenInOrganization(tokenId, orgId);
    assert.deepEqual(info, {
      oauthTokenId: tokenId,
      oauthClientId: res.body.data.id,
      provider: 'github_enterprise',
      serviceProvider: 'github_enterprise',
      apiUrl: providers.apiUrl('github'),
      httpUrl: providers.url,
      organizationId: orgId,
    });
    assert.equal(await vcs.providers.tokenInOrganization(tokenId, 'org-someoneelse'), null);
    assert.equal(await vcs.providers.tokenInOrganization('ot-nonexisting', orgId), null);

    providers.addToken(token);
    providers.addRepository({ identifier: 'acme/infra', defaultBranch: 'trunk', cloneUrl: 'http://127.0.0.1:1/acme/infra.git' });
    const adapter = await vcs.providers.adapterFor(tokenId);
    assert.ok(adapter);
    assert.equal((await adapter.repository('acme/infra')).defaultBranch, 'trunk');
    assert.equal(adapter.cloneCredentials().password, token);
    assert.equal(providers.requests[providers.requests.length - 1].authorized, true);

    // Deleting the token tells the hooks first (the adapter still works then), then it is gone.
    const told: string[] = [];
    vcs.providers.onTokenDeleted(async (t) => {
      told.push(t.oauthTokenId);
      assert.ok(await vcs.providers.adapterFor(t.oauthTokenId), 'a hook can still reach the provider');
    });
    // The hook is registered on this test's domain object (otfd has its own): deleting through it shows the order.
    await vcs.service.deleteToken(SITE_ADMIN, tokenId);
    assert.deepEqual(told, [tokenId]);
    assert.equal(await vcs.providers.adapterFor(tokenId), null);
    assert.equal(await vcs.providers.tokenInOrganization(tokenId, orgId), null);
    const client = await api.get(`/oauth-clients/${res.body.data.id}`);
    assert.deepEqual(client.body.data.relationships['oauth-tokens'].data, [], 'the client stays, without a token');

    const all = logs.text.join('');
    assert.ok(all.length > 0, 'otfd logged');
    for (const t of [token, ...tokensUsed]) assert.ok(!all.includes(t), 'a log line holds a token');
  });

  it('sets and removes a token\'s SSH key, write-only', async () => {
    const client = await createClient();
    const tokenId = client.relationships['oauth-tokens'].data[0].id;
    const key = ssh2.utils.generateKeyPairSync('ed25519').private;
    const material = key.split('\n')[2];
    // What git could never use is refused when given, not at the first clone.
    for (const bad of ['not a key', ssh2.utils.generateKeyPairSync('ed25519').public]) {
      const refused = await api.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', id: tokenId, attributes: { 'ssh-key': bad } } });
      assertError(refused, 422, /ssh-key/);
      assert.ok(!refused.text.includes(bad), 'the refusal does not quote the key');
    }
    const set = await api.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', id: tokenId, attributes: { 'ssh-key': key } } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.data.attributes['has-ssh-key'], true);
    assert.equal(set.body.data.attributes.uid, null, 'otfd does not know the provider user behind the token');
    assert.ok(!set.text.includes(material));
    assert.equal(await vcs.providers.sshKeyFor(tokenId), key);
    const removed = await api.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': '' } } });
    assert.equal(removed.body.data.attributes['has-ssh-key'], false);
    assert.equal(await vcs.providers.sshKeyFor(tokenId), null);
  });

  it('refuses hostile input with a 4xx that says what is wrong, and never quotes the token', async () => {
    const path = `/organizations/${org}/oauth-clients`;
    assertError(await api.post(path, clientDoc({ 'service-provider': 'bitbucket_hosted', 'oauth-token-string': 't' })), 422,
      /attribute "service-provider" must be one of github, github_enterprise, gitlab_hosted, gitlab_community_edition, gitlab_enterprise_edition, forgejo/, { pointer: '/data/attributes/service-provider' });
    assertError(await api.post(path, clientDoc({ 'oauth-token-string': 't' })), 422, /service-provider/);
    assertError(await api.post(path, clientDoc({ 'service-provider': 42, 'oauth-token-string': 't' })), 422, /service-provider/);
    assertError(await api.post(path, clientDoc({ 'service-provider': 'github' })), 422, /attribute "oauth-token-string" is required/, { pointer: '/data/attributes/oauth-token-string' });
    assertError(await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': '' })), 422, /it is empty/);
    const spaced = await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 'ghp_secret with space' }));
    assertError(spaced, 422, /printable ASCII characters without spaces/);
    assert.ok(!spaced.text.includes('ghp_secret'), 'the refusal does not quote the token');
    const newline = await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 'ghp_secret\r\nX-Evil: 1' }));
    assertError(newline, 422, /printable ASCII/);
    assert.ok(!newline.text.includes('ghp_secret'));
    const huge = await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 'A'.repeat(5000) }));
    assertError(huge, 422, /at most 1024 bytes/);
    assert.ok(!huge.text.includes('AAAAAAAAAA'));
    const numeric = await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 12345678901 }));
    assertError(numeric, 422, /must be a string: an access token/);
    const nul = await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 'ghp_nulsecret\u0000' }));
    assert.ok(nul.status >= 400 && nul.status < 500 && nul.body.errors[0].detail, nul.text);
    assert.ok(!nul.text.includes('ghp_nulsecret'));
    assertError(await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 't', name: 'n\u0000' })), 422, /NUL/);
    assertError(await api.post(path, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 't', name: 'x'.repeat(257) })), 422, /at most 256 characters/);

    const bad: Array<[string, RegExp]> = [
      ['not a url', /must be an http or https URL/],
      ['ftp://git.example.com', /"ftp:" is not one/],
      ['file:///etc/passwd', /"file:" is not one/],
      ['javascript:alert(1)', /"javascript:" is not one/],
      ['https://user:pass@git.example.com', /without a user name or password/],
      ['https://git.example.com/?q=1', /without a query or fragment/],
      ['https://git.example.com/#x', /without a query or fragment/],
      ['', /http or https URL/],
      [`https://git.example.com/${'a'.repeat(3000)}`, /at most 2048 characters/],
      // link-local (the cloud metadata service) and unspecified hosts, however they are spelled
      ['http://169.254.169.254/latest/meta-data', /must not name a link-local address/],
      ['http://2852039166/', /must not name a link-local address/],
      ['http://[fe80::1]/api/v3', /must not name a link-local address/],
      ['http://[::ffff:169.254.169.254]/', /must not name a link-local address/],
      ['http://0.0.0.0:8080/', /must not name an unspecified address/],
      ['http://0/', /must not name an unspecified address/],
      ['http://[::]/', /must not name the unspecified address/],
    ];
    for (const [value, detail] of bad) {
      for (const attribute of ['api-url', 'http-url']) {
        const res = await api.post(path, clientDoc({ 'service-provider': 'github_enterprise', 'oauth-token-string': 't', 'api-url': 'https://g.example.com/api/v3', 'http-url': 'https://g.example.com', [attribute]: value }));
        assertError(res, 422, detail, { pointer: `/data/attributes/${attribute}` });
      }
    }

    assertError(await api.post(path, { data: { type: 'ssh-keys', attributes: { 'service-provider': 'github' } } }), 422, /type/);
    assertError(await api.post(path, { data: [] }), 422, /object/);
    assertError(await api.post(path, {}), 422, /data/);
    assert.equal((await api.request('POST', path, { raw: '{"data": {' })).status, 400);
    const oversized = await api.request('POST', path, { raw: JSON.stringify(clientDoc({ 'service-provider': 'github', 'oauth-token-string': 't', name: 'x'.repeat(12 * 1024 * 1024) })) });
    assert.ok(oversized.status === 413 || oversized.status === 422, oversized.text.slice(0, 300));

    const client = await createClient();
    const tokenId = client.relationships['oauth-tokens'].data[0].id;
    assertError(await api.patch(`/oauth-clients/${client.id}`, clientDoc({ 'oauth-token-string': 'two words' })), 422, /printable ASCII/);
    assertError(await api.patch(`/oauth-clients/${client.id}`, clientDoc({ name: 7 })), 422, /name/);
    assertError(await api.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': 'k'.repeat(65 * 1024) } } }), 422, /at most 65536 bytes/);
    assertError(await api.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': 5 } } }), 422, /ssh-key/);
    assertError(await api.get('/oauth-clients/oc-nonexisting'), 404, /not found/);
    assertError(await api.get('/oauth-tokens/ot-nonexisting'), 404, /not found/);
    assertError(await api.get(`/oauth-clients/${encodeURIComponent('oc-\u00e9\u0301')}`), 404, /not found/);
    assertError(await api.get('/organizations/no-such-org/oauth-clients'), 404, /organization "no-such-org" not found/);
    assertError(await api.get(`/organizations/${org}/oauth-clients?page[size]=abc`), 400, /page\[size\]/);
  });

  it('another organization\'s clients and tokens are not there for its members (404)', async () => {
    const client = await createClient();
    const tokenId = client.relationships['oauth-tokens'].data[0].id;
    const stranger = await createUser(api);
    const otherOrg = randomName();
    const made = await stranger.client.post('/organizations', { data: { type: 'organizations', attributes: { name: otherOrg, email: `${otherOrg}@example.com` } } });
    assert.equal(made.status, 201, made.text);
    const theirs = await createClient({}, otherOrg, stranger.client);
    assert.equal((await stranger.client.get(`/oauth-clients/${theirs.id}`)).status, 200);

    const s = stranger.client;
    assertError(await s.get(`/oauth-clients/${client.id}`), 404, /not found/);
    assertError(await s.patch(`/oauth-clients/${client.id}`, clientDoc({ name: 'mine' })), 404, /not found/);
    assertError(await s.delete(`/oauth-clients/${client.id}`), 404, /not found/);
    assertError(await s.get(`/oauth-clients/${client.id}/oauth-tokens`), 404, /not found/);
    assertError(await s.get(`/oauth-tokens/${tokenId}`), 404, /not found/);
    assertError(await s.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': 'k' } } }), 404, /not found/);
    assertError(await s.delete(`/oauth-tokens/${tokenId}`), 404, /not found/);
    assertError(await s.get(`/organizations/${org}/oauth-clients`), 404, /not found/);
    assertError(await s.get(`/organizations/${org}/oauth-tokens`), 404, /not found/);
    assertError(await s.post(`/organizations/${org}/oauth-clients`, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 't' })), 404, /not found/);
    const listed = await s.get(`/organizations/${otherOrg}/oauth-clients`);
    assert.deepEqual(listed.body.data.map((c: Json) => c.id), [theirs.id]);
    assert.equal((await api.get(`/oauth-clients/${client.id}`)).body.data.attributes.name, client.attributes.name, 'unchanged');
  });

  it('lets teams with manage-vcs-settings manage providers, workspace admins read them, and refuses other members', async () => {
    const client = await createClient();
    const manager = await createUser(api);
    await addToOrganization(api, org, manager, [(await createTeam(api, org, { 'manage-vcs-settings': true })).id]);
    const theirs = await createClient({}, org, manager.client);
    assert.equal((await manager.client.delete(`/oauth-clients/${theirs.id}`)).status, 204);

    const member = await createUser(api);
    await addToOrganization(api, org, member);
    assertError(await member.client.get(`/organizations/${org}/oauth-clients`), 403, /to read VCS providers you need the manage-vcs-settings organization permission, or admin access to a workspace/);
    assertError(await member.client.get(`/oauth-clients/${client.id}`), 403, /read VCS providers/);
    assertError(await member.client.post(`/organizations/${org}/oauth-clients`, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 't' })), 403, /to manage VCS providers you need the manage-vcs-settings/);
    // Every other route of clients and tokens refuses the member too, and says why.
    const tokenId = client.relationships['oauth-tokens'].data[0].id;
    assertError(await member.client.patch(`/oauth-clients/${client.id}`, clientDoc({ name: 'x' })), 403, /manage VCS providers/);
    assertError(await member.client.delete(`/oauth-clients/${client.id}`), 403, /manage VCS providers/);
    assertError(await member.client.get(`/oauth-clients/${client.id}/oauth-tokens`), 403, /read VCS providers/);
    assertError(await member.client.get(`/organizations/${org}/oauth-tokens`), 403, /read VCS providers/);
    assertError(await member.client.get(`/oauth-tokens/${tokenId}`), 403, /read VCS providers/);
    assertError(await member.client.patch(`/oauth-tokens/${tokenId}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': '' } } }), 403, /manage VCS providers/);
    assertError(await member.client.delete(`/oauth-tokens/${tokenId}`), 403, /manage VCS providers/);

    const adminTeam = await createTeam(api, org);
    const ws = await createWorkspace(api, org);
    await grant(api, adminTeam.id, ws.id, 'admin');
    const wsAdmin = await createUser(api);
    await addToOrganization(api, org, wsAdmin, [adminTeam.id]);
    assert.equal((await wsAdmin.client.get(`/organizations/${org}/oauth-clients`)).status, 200);
    assert.equal((await wsAdmin.client.get(`/oauth-clients/${client.id}/oauth-tokens`)).status, 200);
    assertError(await wsAdmin.client.delete(`/oauth-clients/${client.id}`), 403, /manage VCS providers/);
    assertError(await wsAdmin.client.patch(`/oauth-clients/${client.id}`, clientDoc({ name: 'x' })), 403, /manage VCS providers/);

    // An organization token manages VCS providers, as Terraform Cloud's does (the tfe provider uses one).
    const orgApi = await organizationToken(api, org);
    const byOrgToken = await orgApi.post(`/organizations/${org}/oauth-clients`, clientDoc({ 'service-provider': 'github', 'oauth-token-string': 'ghp_orgtoken' }));
    assert.equal(byOrgToken.status, 201, byOrgToken.text);
  });

  it('pages the list of clients when asked to', async () => {
    const other = await createOrganization(api);
    for (let i = 0; i < 3; i++) await createClient({ name: `c${i}` }, other);
    const page = await api.get(`/organizations/${other}/oauth-clients?page[size]=2&page[number]=2`);
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body.data.map((c: Json) => c.attributes.name), ['c2']);
    assert.equal(page.body.meta.pagination['total-count'], 3);
    // Unpaged unless asked, as Terraform Cloud documents for this list.
    const all = await api.get(`/organizations/${other}/oauth-clients`);
    assert.deepEqual(all.body.data.map((c: Json) => c.attributes.name), ['c0', 'c1', 'c2']);
    assert.equal(all.body.meta.pagination['total-pages'], 1);
  });
});
