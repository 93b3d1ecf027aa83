// A workspace's connection to a repository (vcs-repo) as a client sees it, and the repository
// webhooks otfd makes for connections at the providers: one per repository, shared by the
// workspaces connected to it, deleted with the last of them. The providers answer through the
// REST stand-in (test/helpers/provider-api.ts), which records the webhooks it is given.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { runOtf } from './helpers/otf.js';
import { organizationToken } from './helpers/people.js';
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
