// A workspace's connection to a repository (vcs-repo) as a client sees it, and the repository
// webhooks otfd makes for connections at the providers: one per repository, shared by the
// workspaces connected to it, deleted with the last of them. The providers answer through the
// REST stand-in (test/helpers/provider-api.ts), which records the webhooks it is given.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import type { HookKind } from '../src/vcs/types.js';
import { tagsRegexMatches } from '../src/workspaces/index.js';
import type { Api, Json, Response } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { githubPing } from './helpers/deliveries.js';
import { runOtf } from './helpers/otf.js';
import { organizationToken } from './helpers/people.js';
import { startProviderApi, type ProviderApi } from './helpers/provider-api.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function workspaceDoc(attributes: Record<string, unknown>): Json {
  return { data: { type: 'workspaces', attributes } };
}

describe('VCS connections', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    // HTTPS: otf, the admin CLI, reaches a bare host:port over TLS.
    server = await startServer({ ssl: true });
    api = server.api;
    org = await createOrganization(api);
  });
  after(async () => {
    await server?.stop();
  });

  describe('a workspace without a repository', function () {
    it('shows vcs-repo null, and keeps the trigger settings as they are given', async () => {
      const ws = await createWorkspace(api, org, randomName('ws'), {
        'working-directory': 'envs/prod',
        'trigger-prefixes': ['modules/', 'envs/prod/'],
        'trigger-patterns': [],
        'file-triggers-enabled': false,
        'speculative-enabled': false,
        'queue-all-runs': true,
      });
      assert.equal(ws.attributes['vcs-repo'], null);
      assert.equal(ws.attributes['vcs-repo-identifier'], null);
      const shown = await api.get(`/workspaces/${ws.id}`);
      const a = shown.body.data.attributes;
      assert.equal(a['working-directory'], 'envs/prod');
      assert.deepEqual(a['trigger-prefixes'], ['modules/', 'envs/prod/']);
      assert.deepEqual(a['trigger-patterns'], []);
      assert.equal(a['file-triggers-enabled'], false);
      assert.equal(a['speculative-enabled'], false);
      assert.equal(a['queue-all-runs'], true);
      const updated = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'trigger-patterns': ['**/*.tf'], 'trigger-prefixes': [], 'file-triggers-enabled': true }));
      assert.equal(updated.status, 200, updated.text);
      assert.deepEqual(updated.body.data.attributes['trigger-patterns'], ['**/*.tf']);
      assert.deepEqual(updated.body.data.attributes['trigger-prefixes'], []);
      assert.equal(updated.body.data.attributes['file-triggers-enabled'], true);
      assert.equal(updated.body.data.attributes['working-directory'], 'envs/prod');
    });

    it('takes "vcs-repo": null on update (disconnect) as a change that changes nothing', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': null }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes['vcs-repo'], null);
    });

    it('refuses GitHub App installations with a 422 saying they are not supported, and makes no workspace', async () => {
      const name = randomName('ws');
      const res = await api.post(
        `/organizations/${org}/workspaces`,
        workspaceDoc({ name, 'vcs-repo': { identifier: 'acme/app', 'github-app-installation-id': 'ghain-123' } }),
      );
      assertError(res, 422, /GitHub Apps are not supported/, { pointer: '/data/attributes/vcs-repo/github-app-installation-id' });
      assert.equal((await api.get(`/organizations/${org}/workspaces/${name}`)).status, 404);
    });

    it('refuses a vcs-repo without identifier or oauth-token-id', async () => {
      const ws = await createWorkspace(api, org);
      assertError(await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': { 'oauth-token-id': 'ot-abc' } })), 422, /identifier is required/, {
        pointer: '/data/attributes/vcs-repo/identifier',
      });
      assertError(await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': { identifier: 'acme/app' } })), 422, /oauth-token-id is required/, {
        pointer: '/data/attributes/vcs-repo/oauth-token-id',
      });
    });

    it('refuses an oauth token that does not exist with a 422 at oauth-token-id', async () => {
      const ws = await createWorkspace(api, org);
      const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': { identifier: 'acme/app', 'oauth-token-id': 'ot-doesnotexist0000' } }));
      assertError(res, 422, /oauth token "ot-doesnotexist0000" does not exist in this organization/, { pointer: '/data/attributes/vcs-repo/oauth-token-id' });
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'], null);
    });

    it('refuses an organization token, whose rights could queue no run of a push', async () => {
      const ws = await createWorkspace(api, org);
      const orgApi = await organizationToken(api, org);
      const res = await orgApi.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': null }));
      assertError(res, 403, /organization token may not connect the workspace to a repository/);
    });

    const hostile: Array<[string, Record<string, unknown>, RegExp, string]> = [
      ['a branch with ".."', { branch: 'main..evil' }, /valid git branch name/, 'branch'],
      ['a branch with a space', { branch: 'my branch' }, /valid git branch name/, 'branch'],
      ['a branch starting with "-"', { branch: '-x' }, /valid git branch name/, 'branch'],
      ['a branch ending with ".lock"', { branch: 'refs/x.lock' }, /valid git branch name/, 'branch'],
      ['a branch with "@{"', { branch: 'a@{1}' }, /valid git branch name/, 'branch'],
      ['a branch with a control character', { branch: 'a\u0007b' }, /valid git branch name/, 'branch'],
      ['a branch of 256 characters', { branch: 'b'.repeat(256) }, /more than 255 characters/, 'branch'],
      ['a tags-regex that does not compile', { 'tags-regex': 'v(\\d+' }, /not a valid regular expression/, 'tags-regex'],
      ['a tags-regex of 256 characters', { 'tags-regex': 'a'.repeat(256) }, /255/, 'tags-regex'],
      ['a poll interval below the minimum', { 'poll-interval-seconds': 1 }, /poll-interval-seconds must be null .* from 10/, 'poll-interval-seconds'],
      ['a poll interval of a year', { 'poll-interval-seconds': 31_536_000 }, /poll-interval-seconds/, 'poll-interval-seconds'],
      ['a poll interval that is not a whole number', { 'poll-interval-seconds': 12.5 }, /integer|whole number/, 'poll-interval-seconds'],
      ['an identifier that is a number', { identifier: 42 }, /string/, 'identifier'],
      ['an empty identifier', { identifier: '' }, /must NOT have fewer than 1 characters|identifier/, 'identifier'],
      ['an identifier of 300 characters', { identifier: 'a/' + 'b'.repeat(298) }, /255/, 'identifier'],
      ['ingress-submodules that is not a boolean', { 'ingress-submodules': 'yes' }, /boolean/, 'ingress-submodules'],
      ['allow-fork-pull-requests that is not a boolean', { 'allow-fork-pull-requests': 1 }, /boolean/, 'allow-fork-pull-requests'],
      ['a NUL byte in the identifier', { identifier: 'acme/a\u0000b' }, /NUL/, 'identifier'],
      ['a NUL byte in the branch', { branch: 'ma\u0000in' }, /NUL/, 'branch'],
    ];
    for (const [what, members, detail, member] of hostile) {
      it(`refuses ${what} with a 422 at vcs-repo.${member}, and stays unconnected`, async () => {
        const ws = await createWorkspace(api, org);
        const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': { identifier: 'acme/app', 'oauth-token-id': 'ot-doesnotexist0000', ...members } }));
        assert.equal(res.status, 422, res.text);
        assert.match(res.body.errors[0].detail, detail);
        assert.match(res.body.errors[0].source?.pointer ?? '', new RegExp(`^/data/attributes/vcs-repo(/${member})?$`), res.text);
        assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'], null);
      });
    }

    it('matches tags against a tags-regex with a time limit, so a regex that backtracks for minutes matches nothing instead of stopping otfd', () => {
      assert.deepEqual(tagsRegexMatches('^v\\d+\\.\\d+$', 'v1.2'), { matches: true, timedOut: false });
      assert.deepEqual(tagsRegexMatches('^v\\d+\\.\\d+$', 'v1.x'), { matches: false, timedOut: false });
      const started = Date.now();
      assert.deepEqual(tagsRegexMatches('^(a+)+$', `${'a'.repeat(40)}!`), { matches: false, timedOut: true });
      assert.ok(Date.now() - started < 2_000);
    });

    it('refuses a vcs-repo that is not an object', async () => {
      const ws = await createWorkspace(api, org);
      for (const value of ['acme/app', 42, ['acme/app'], true]) {
        const res = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': value }));
        assert.equal(res.status, 422, res.text);
        assert.match(res.body.errors[0].source?.pointer ?? '', /^\/data\/attributes\/vcs-repo/);
      }
    });
  });

  describe('otf workspaces connect-vcs / disconnect-vcs', function () {
    it('disconnects by <org>/<ws> or by --organization and --workspace, and says so', async () => {
      const ws = await createWorkspace(api, org);
      const name = ws.attributes.name as string;
      const byArg = await runOtf(server, ['workspaces', 'disconnect-vcs', `${org}/${name}`]);
      assert.equal(byArg.code, 0, byArg.stderr);
      assert.match(byArg.stdout, new RegExp(`workspace "${org}/${name}" disconnected from its repository`));
      const byFlags = await runOtf(server, ['workspaces', 'disconnect-vcs', '--organization', org, '--workspace', name]);
      assert.equal(byFlags.code, 0, byFlags.stderr);
    });

    it("fails with the server's detail for a token that is not the organization's, and with usage errors for bad command lines", async () => {
      const ws = await createWorkspace(api, org);
      const name = ws.attributes.name as string;
      const res = await runOtf(server, ['workspaces', 'connect-vcs', `${org}/${name}`, '--oauth-token-id', 'ot-doesnotexist0000', '--identifier', 'acme/app']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /oauth token "ot-doesnotexist0000" does not exist in this organization/);
      const missing = await runOtf(server, ['workspaces', 'connect-vcs', `${org}/${name}`, '--identifier', 'acme/app']);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /oauth-token-id/);
      const both = await runOtf(server, ['workspaces', 'disconnect-vcs', `${org}/${name}`, '--organization', org]);
      assert.equal(both.code, 2, both.stderr);
      const none = await runOtf(server, ['workspaces', 'disconnect-vcs']);
      assert.equal(none.code, 2, none.stderr);
      const poll = await runOtf(server, ['workspaces', 'connect-vcs', `${org}/${name}`, '--oauth-token-id', 'ot-x', '--identifier', 'a/b', '--poll-interval', 'soon']);
      assert.equal(poll.code, 2, poll.stderr);
      assert.match(poll.stderr, /--poll-interval/);
    });
  });
});

describe('VCS connections with a provider', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let sql: pg.Client;
  let provider: ProviderApi;
  let org: string;
  const logged: string[] = [];
  /** Every answer the tests read, to look for secrets in. */
  const answers: string[] = [];
  const TOKEN = `ghp_${crypto.randomBytes(16).toString('hex')}`;

  /** Makes a VCS provider (oauth client) of the organization and returns its oauth token's id. */
  async function oauthToken(kind: HookKind, organization = org, token = TOKEN, apiUrl = provider.apiUrl(kind), client = api): Promise<string> {
    const serviceProvider = { github: 'github', gitlab: 'gitlab_hosted', forgejo: 'forgejo' }[kind];
    const res = await client.post(`/organizations/${organization}/oauth-clients`, {
      data: { type: 'oauth-clients', attributes: { 'service-provider': serviceProvider, 'api-url': apiUrl, 'http-url': provider.url, 'oauth-token-string': token } },
    });
    assert.equal(res.status, 201, res.text);
    const id = res.body.data.relationships['oauth-tokens'].data[0].id as string;
    assert.match(id, /^ot-/);
    return id;
  }

  function repository(identifier = `acme/${randomName('repo')}`, defaultBranch = 'main'): string {
    provider.addRepository({ identifier, defaultBranch, cloneUrl: `${provider.url}/git/${identifier}.git`, webUrl: `${provider.url}/web/${identifier}` });
    return identifier;
  }

  /** This otfd serves plain HTTP: otf is told so. */
  const overHttp = { env: { OTF_ADDRESS: '' } };

  async function connect(wsId: string, vcsRepo: Record<string, unknown>, client = api): Promise<Response> {
    const res = await client.patch(`/workspaces/${wsId}`, workspaceDoc({ 'vcs-repo': vcsRepo }));
    answers.push(res.text);
    return res;
  }

  async function hookRows(identifier: string): Promise<Array<{ id: string; url: string; encrypted_secret: Buffer }>> {
    return (await sql.query('SELECT id, url, encrypted_secret FROM repo_hooks WHERE identifier = $1', [identifier])).rows;
  }

  before(async () => {
    provider = await startProviderApi();
    provider.addToken(TOKEN);
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString('utf8'));
        done();
      },
    });
    server = await startServer({ logger: createLogger('debug', 'otfd', stream) });
    api = server.api;
    sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    org = await createOrganization(api);
    overHttp.env.OTF_ADDRESS = server.url;
  });
  after(async () => {
    await sql?.end();
    await server?.stop();
    await provider?.stop();
  });

  it('connecting makes one webhook whose URL and secret are right, and shows vcs-repo as Terraform Cloud shows it', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    const res = await connect(ws.id, { identifier, 'oauth-token-id': tokenId });
    assert.equal(res.status, 200, res.text);
    const hooks = provider.hooks(identifier);
    assert.equal(hooks.length, 1);
    const [hook] = hooks;
    assert.match(hook.url, new RegExp(`^${server.url}/webhooks/github/[0-9a-f-]{36}$`));
    assert.match(hook.secret ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual([...hook.events].sort(), ['pull_request', 'push']);
    const a = res.body.data.attributes;
    assert.deepEqual(a['vcs-repo'], {
      identifier,
      'display-identifier': identifier,
      branch: '',
      'ingress-submodules': false,
      'oauth-token-id': tokenId,
      'tags-regex': null,
      'repository-http-url': `${provider.url}/web/${identifier}`,
      'service-provider': 'github',
      'webhook-url': hook.url,
      'allow-fork-pull-requests': false,
      'poll-interval-seconds': null,
    });
    assert.equal(a['vcs-repo-identifier'], identifier);
    // Shown the same when read again, by id and in a list.
    assert.deepEqual((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'], a['vcs-repo']);
    const listed = await api.get(`/organizations/${org}/workspaces?search%5Bname%5D=${ws.attributes.name}`);
    assert.deepEqual(listed.body.data[0].attributes['vcs-repo'], a['vcs-repo']);
    // The secret is sealed at rest, and in no answer.
    const [row] = await hookRows(identifier);
    assert.ok(!row.encrypted_secret.toString('latin1').includes(hook.secret!));
    assert.ok(!res.text.includes(hook.secret!));
  });

  it("tracks the repository's default branch when none is named, and the named one otherwise", async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository(undefined, 'trunk');
    const ws = await createWorkspace(api, org);
    const res = await connect(ws.id, { identifier, 'oauth-token-id': tokenId });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.attributes['vcs-repo'].branch, '');
    const row = async () => (await sql.query('SELECT vcs_branch, vcs_default_branch FROM workspaces WHERE id = $1', [ws.id])).rows[0];
    assert.deepEqual(await row(), { vcs_branch: '', vcs_default_branch: 'trunk' });
    const named = await connect(ws.id, { branch: 'release/v2' });
    assert.equal(named.status, 200, named.text);
    assert.equal(named.body.data.attributes['vcs-repo'].branch, 'release/v2');
    // Changing only the branch keeps the webhook.
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal(named.body.data.attributes['vcs-repo']['webhook-url'], res.body.data.attributes['vcs-repo']['webhook-url']);
    const back = await connect(ws.id, { branch: '' });
    assert.equal(back.body.data.attributes['vcs-repo'].branch, '');
    assert.deepEqual(await row(), { vcs_branch: '', vcs_default_branch: 'trunk' });
  });

  it('a second workspace on the repository shares its webhook; the last to disconnect deletes it at the provider', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const first = await createWorkspace(api, org);
    const second = await createWorkspace(api, org);
    const a = await connect(first.id, { identifier, 'oauth-token-id': tokenId });
    const b = await connect(second.id, { identifier, 'oauth-token-id': tokenId, branch: 'dev' });
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal(b.body.data.attributes['vcs-repo']['webhook-url'], a.body.data.attributes['vcs-repo']['webhook-url']);
    assert.equal((await hookRows(identifier)).length, 1);
    const off = await api.patch(`/workspaces/${first.id}`, workspaceDoc({ 'vcs-repo': null }));
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.data.attributes['vcs-repo'], null);
    assert.equal(off.body.data.attributes['vcs-repo-identifier'], null);
    assert.equal(provider.hooks(identifier).length, 1, 'the second workspace still uses it');
    const last = await api.patch(`/workspaces/${second.id}`, workspaceDoc({ 'vcs-repo': null }));
    assert.equal(last.status, 200, last.text);
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await hookRows(identifier)).length, 0);
  });

  it('a provider failing to delete a webhook does not stop the disconnect; the webhook is marked, answers 404, and is deleted by a later sweep', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    assert.equal((await connect(ws.id, { identifier, 'oauth-token-id': tokenId })).status, 200);
    const [hook] = await hookRows(identifier);
    provider.fail({ status: 503, times: 1, match: /\/hooks\/\d+$/ });
    const off = await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': null }));
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.data.attributes['vcs-repo'], null);
    const line = logged.find((l) => l.includes(hook.id) && l.includes('could not delete a repository webhook'));
    assert.ok(line, 'a warning names the webhook left at the provider');
    assert.equal(JSON.parse(line).level, 'warn');
    // Still at the provider, and still known here, marked for deletion: not forgotten.
    assert.equal(provider.hooks(identifier).length, 1);
    const marked = await sql.query('SELECT deleting_since, delete_attempts FROM repo_hooks WHERE id = $1', [hook.id]);
    assert.equal(marked.rows.length, 1);
    assert.ok(marked.rows[0].deleting_since);
    assert.equal(marked.rows[0].delete_attempts, 1);
    // A delivery to it, rightly signed, is not for any workspace: 404.
    const ping = githubPing({ secret: provider.hooks(identifier)[0].secret!, identifier });
    const delivered = await api.request('POST', hook.url, { raw: ping.body, headers: { ...ping.headers, 'Content-Type': 'application/json' }, token: null });
    assert.equal(delivered.status, 404, delivered.text);
    // An otfd starting sweeps the marked hooks: this one is deleted at the provider, then here.
    const replica = await startServer({ databaseUrl: server.databaseUrl, config: { secret: server.secret } });
    try {
      const until = Date.now() + 30_000;
      while ((provider.hooks(identifier).length > 0 || (await hookRows(identifier)).length > 0) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(provider.hooks(identifier).length, 0);
      assert.equal((await hookRows(identifier)).length, 0);
    } finally {
      await replica.stop();
    }
  });

  it('a workspace connecting to a repository whose webhook is marked for deletion uses that webhook again', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    assert.equal((await connect(ws.id, { identifier, 'oauth-token-id': tokenId })).status, 200);
    const [hook] = await hookRows(identifier);
    provider.fail({ status: 503, times: 1, match: /\/hooks\/\d+$/ });
    assert.equal((await api.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': null }))).status, 200);
    assert.equal((await connect(ws.id, { identifier, 'oauth-token-id': tokenId })).status, 200);
    assert.equal(provider.hooks(identifier).length, 1);
    const rows = await sql.query('SELECT id, deleting_since FROM repo_hooks WHERE identifier = $1', [identifier]);
    assert.deepEqual(rows.rows, [{ id: hook.id, deleting_since: null }]);
  });

  it('deleting the last workspace of a repository deletes its webhook', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const name = randomName('ws');
    const created = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'vcs-repo': { identifier, 'oauth-token-id': tokenId } }));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.data.attributes['vcs-repo'].identifier, identifier);
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal((await api.delete(`/workspaces/${created.body.data.id}`)).status, 204);
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await hookRows(identifier)).length, 0);
  });

  it('a polling workspace makes no webhook, and turning polling on and off drops and makes one', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    const res = await connect(ws.id, { identifier, 'oauth-token-id': tokenId, 'poll-interval-seconds': 30 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.attributes['vcs-repo']['poll-interval-seconds'], 30);
    assert.equal(res.body.data.attributes['vcs-repo']['webhook-url'], null);
    assert.equal(provider.hooks(identifier).length, 0);
    const hooked = await connect(ws.id, { 'poll-interval-seconds': null });
    assert.equal(hooked.status, 200, hooked.text);
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal(hooked.body.data.attributes['vcs-repo']['webhook-url'], provider.hooks(identifier)[0].url);
    const polling = await connect(ws.id, { 'poll-interval-seconds': 600 });
    assert.equal(polling.status, 200, polling.text);
    assert.equal(provider.hooks(identifier).length, 0);
  });

  it('concurrent connects of one repository make one webhook', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const list = await Promise.all(Array.from({ length: 6 }, () => createWorkspace(api, org)));
    const results = await Promise.all(list.map((ws) => connect(ws.id, { identifier, 'oauth-token-id': tokenId })));
    for (const res of results) assert.equal(res.status, 200, res.text);
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal(new Set(results.map((r) => r.body.data.attributes['vcs-repo']['webhook-url'])).size, 1);
  });

  it('connects GitLab projects by their full path and Forgejo repositories, each at its own webhook endpoint', async () => {
    const gitlabToken = await oauthToken('gitlab');
    const forgejoToken = await oauthToken('forgejo');
    const project = repository(`group/sub/${randomName('proj')}`);
    const repo = repository();
    const a = await createWorkspace(api, org);
    const b = await createWorkspace(api, org);
    const viaGitlab = await connect(a.id, { identifier: project, 'oauth-token-id': gitlabToken });
    assert.equal(viaGitlab.status, 200, viaGitlab.text);
    assert.match(viaGitlab.body.data.attributes['vcs-repo']['webhook-url'], new RegExp(`^${server.url}/webhooks/gitlab/`));
    assert.equal(viaGitlab.body.data.attributes['vcs-repo']['service-provider'], 'gitlab_hosted');
    const viaForgejo = await connect(b.id, { identifier: repo, 'oauth-token-id': forgejoToken });
    assert.equal(viaForgejo.status, 200, viaForgejo.text);
    assert.match(viaForgejo.body.data.attributes['vcs-repo']['webhook-url'], new RegExp(`^${server.url}/webhooks/forgejo/`));
    const [gitlabHook] = provider.hooks(project).filter((h) => h.kind === 'gitlab');
    assert.equal(gitlabHook.url, viaGitlab.body.data.attributes['vcs-repo']['webhook-url']);
    assert.match(gitlabHook.secret ?? '', /^[0-9a-f]{64}$/);
    // A GitHub identifier names owner/name, nothing deeper.
    const c = await createWorkspace(api, org);
    assertError(await connect(c.id, { identifier: project, 'oauth-token-id': await oauthToken('github') }), 422, /owner\/repository/, {
      pointer: '/data/attributes/vcs-repo/identifier',
    });
  });

  it("answers another organization's oauth token as one that does not exist", async () => {
    const other = await createOrganization(api);
    const theirs = await oauthToken('github', other);
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    const foreign = await connect(ws.id, { identifier, 'oauth-token-id': theirs });
    assertError(foreign, 422, /does not exist in this organization/, { pointer: '/data/attributes/vcs-repo/oauth-token-id' });
    const absent = await connect(ws.id, { identifier, 'oauth-token-id': 'ot-abcdefghijklmnop' });
    assert.equal(foreign.body.errors[0].detail.replace(theirs, 'ID'), absent.body.errors[0].detail.replace('ot-abcdefghijklmnop', 'ID'));
    assert.equal(provider.hooks(identifier).length, 0);
  });

  it("answers 404 to whoever connects another organization's workspace, and connects nothing", async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    const other = await createOrganization(api);
    const outsider = await organizationToken(api, other);
    assertError(await connect(ws.id, { identifier, 'oauth-token-id': tokenId }, outsider), 404, /not found/);
    assertError(await outsider.patch(`/workspaces/${ws.id}`, workspaceDoc({ 'vcs-repo': null })), 404, /not found/);
    assert.equal(provider.hooks(identifier).length, 0);
  });

  it('a provider that refuses fails the connect with a 422 naming its answer, and leaves nothing behind', async () => {
    const identifier = repository();
    const revoked = `ghp_${crypto.randomBytes(16).toString('hex')}`;
    provider.addToken(revoked);
    const revokedId = await oauthToken('github', org, revoked);
    provider.revokeToken(revoked);
    const unreachable = await oauthToken('github', org, TOKEN, 'http://127.0.0.1:9/github');
    const tokenId = await oauthToken('github');
    const cases: Array<[string, Record<string, unknown>, RegExp, () => void]> = [
      ['a revoked token', { identifier, 'oauth-token-id': revokedId }, /HTTP 401/, () => {}],
      ['an unknown repository', { identifier: 'acme/nope-nope', 'oauth-token-id': tokenId }, /HTTP 404: GitHub answered 404 Not Found when asked GET \/repos\/acme\/nope-nope/, () => {}],
      ['an unreachable provider', { identifier, 'oauth-token-id': unreachable }, /could not be reached/, () => {}],
      ['a webhook refused', { identifier, 'oauth-token-id': tokenId }, /webhook .*HTTP 500/, () => provider.fail({ status: 500, times: 1, match: /\/hooks$/ })],
    ];
    for (const [what, vcsRepo, detail, arrange] of cases) {
      arrange();
      const name = randomName('ws');
      const created = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name, 'vcs-repo': vcsRepo }));
      answers.push(created.text);
      assert.equal(created.status, 422, `${what}: ${created.text}`);
      assert.match(created.body.errors[0].detail, detail, what);
      assert.equal((await api.get(`/organizations/${org}/workspaces/${name}`)).status, 404, `${what}: no workspace`);
      const ws = await createWorkspace(api, org);
      arrange();
      const updated = await connect(ws.id, vcsRepo);
      assert.equal(updated.status, 422, `${what}: ${updated.text}`);
      assert.match(updated.body.errors[0].detail, detail, what);
      // The status and what was asked, never the text of the provider's answer: an api-url
      // pointed at an internal host must not let an admin read that host's pages.
      for (const said of ['Bad credentials', 'documentation_url', 'docs.github.com', 'stand-in']) {
        assert.ok(!created.text.includes(said) && !updated.text.includes(said), `${what}: ${updated.text}`);
      }
      assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'], null, `${what}: not connected`);
    }
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await hookRows(identifier)).length, 0);
  });

  it('a webhook made for a workspace whose creation then fails is deleted again', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const taken = await createWorkspace(api, org);
    const res = await api.post(`/organizations/${org}/workspaces`, workspaceDoc({ name: taken.attributes.name, 'vcs-repo': { identifier, 'oauth-token-id': tokenId } }));
    assertError(res, 422, /has already been taken/);
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await hookRows(identifier)).length, 0);
  });

  it('deleting the oauth token disconnects its workspaces and deletes their webhooks', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    assert.equal((await connect(ws.id, { identifier, 'oauth-token-id': tokenId })).status, 200);
    assert.equal(provider.hooks(identifier).length, 1);
    const deleted = await api.delete(`/oauth-tokens/${tokenId}`);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'], null);
  });

  it("deleting an organization deletes its repositories' webhooks at the providers", async () => {
    const doomed = await createOrganization(api);
    const tokenId = await oauthToken('github', doomed);
    const identifier = repository();
    const ws = await createWorkspace(api, doomed);
    assert.equal((await connect(ws.id, { identifier, 'oauth-token-id': tokenId })).status, 200);
    assert.equal(provider.hooks(identifier).length, 1);
    assert.equal((await api.delete(`/organizations/${doomed}`)).status, 204);
    assert.equal(provider.hooks(identifier).length, 0);
    assert.equal((await hookRows(identifier)).length, 0);
  });

  it('otf workspaces connect-vcs connects with the flags given', async () => {
    const tokenId = await oauthToken('github');
    const identifier = repository();
    const ws = await createWorkspace(api, org);
    const name = ws.attributes.name as string;
    const res = await runOtf(server, ['workspaces', 'connect-vcs', '--organization', org, '--workspace', name, '--oauth-token-id', tokenId, '--identifier', identifier, '--branch', 'dev', '--tags-regex', '^v\\d+$'], overHttp);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`connected to ${identifier} \\(webhook ${server.url}/webhooks/github/`));
    const repo = (await api.get(`/workspaces/${ws.id}`)).body.data.attributes['vcs-repo'];
    assert.equal(repo.branch, 'dev');
    assert.equal(repo['tags-regex'], '^v\\d+$');
    assert.equal(provider.hooks(identifier).length, 1);
    const off = await runOtf(server, ['workspaces', 'disconnect-vcs', `${org}/${name}`], overHttp);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(provider.hooks(identifier).length, 0);
  });

  it('no webhook secret or access token in any answer or log line', async () => {
    const secrets = provider.requests.flatMap((r) => {
      const config = (r.body as { config?: { secret?: unknown }; token?: unknown } | null) ?? {};
      return [config.config?.secret, config.token].filter((s): s is string => typeof s === 'string');
    });
    assert.ok(secrets.length > 0, 'webhooks were made');
    const text = logged.join('') + answers.join('');
    assert.ok(logged.length > 0 && answers.length > 0);
    for (const secret of [...secrets, TOKEN]) assert.ok(!text.includes(secret), 'a secret was in an answer or a log line');
  });
});
