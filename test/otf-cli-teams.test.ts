// otf's people nouns, run as test/otf-cli.test.ts runs otf (the compiled bin/otf as a child process,
// OTF_ADDRESS a bare host:port meaning HTTPS, NODE_EXTRA_CA_CERTS the suite's certificate): the site
// administrator makes a user and its token, a team, a membership into it and the team's plan access
// to a workspace, all with otf; the user's token then reads the workspace but may not lock it, until
// its membership is removed. Tables for people and JSON:API for scripts, teams and their members,
// tokens and access, and the errors of names that do not exist.
import assert from 'node:assert/strict';
import { ORGANIZATION_PERMISSIONS } from '../src/auth/access.js';
import type { Api, Json } from './helpers/api.js';
import { assertOk, linesOf, runOtf, type OtfResult } from './helpers/otf.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

/** Asserts a failure: the exit code, and exactly one line on stderr matching `line`, no stack trace. */
function assertFailure(res: OtfResult, code: number, line: RegExp | string): void {
  assert.equal(res.code, code, `expected exit code ${code}, got ${res.code}; stdout: ${res.stdout}; stderr: ${res.stderr}`);
  assert.match(res.stderr, /^otf: [^\n]+\n$/, `one line on stderr, got: ${JSON.stringify(res.stderr)}`);
  if (typeof line === 'string') assert.equal(res.stderr, `${line}\n`);
  else assert.match(res.stderr, line);
  assert.equal(res.stdout, '', 'nothing on stdout');
}

/** The cells of a table row, read under the header's columns (cells may hold spaces: "a, b"). */
function cells(header: string, row: string): Record<string, string> {
  const columns = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  return Object.fromEntries(columns.map((c, i) => [c.name, row.slice(c.start, columns[i + 1]?.start).trim()]));
}

describe('otf: users, teams, memberships and team access', function () {
  this.timeout(120_000);
  let server: TestServer;
  let api: Api;

  before(async () => {
    server = await startServer({ ssl: true });
    api = server.api;
  });
  after(() => server.stop());

  /** Runs bin/otf with the site token, unless `token` says whose. */
  function otf(args: string[], token = server.siteToken): Promise<OtfResult> {
    return runOtf(server, args, { env: { OTF_TOKEN: token } });
  }

  async function otfJson(args: string[], token?: string): Promise<Json> {
    const res = await otf([...args, '--json'], token);
    assertOk(res);
    return JSON.parse(res.stdout);
  }

  async function getData(p: string): Promise<Json> {
    const res = await api.get(p);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  /** The server's error detail for a request, which otf must print as is. */
  async function detailOf(res: Promise<{ status: number; body: Json; text: string }>, status: number): Promise<string> {
    const r = await res;
    assert.equal(r.status, status, r.text);
    return r.body.errors[0].detail;
  }

  // ------------------------------------------------------------ the walkthrough

  describe('a user in a team with plan access, set up with otf', () => {
    const username = randomName('alice');
    let org: string;
    let ws: Json;
    let secret: string;

    before(async () => {
      org = await createOrganization(api);
      ws = await createWorkspace(api, org, 'app');
    });

    it('the site admin creates the user and a token for it', async () => {
      const created = await otf(['users', 'create', username, '--email', `${username}@example.com`]);
      assertOk(created);
      assert.match(created.stdout, new RegExp(`^username: ${username}$`, 'm'));
      assert.match(created.stdout, new RegExp(`^email: ${username}@example.com$`, 'm'));
      assert.match(created.stdout, /^id: user-\S+$/m);

      const token = await otf(['user-tokens', 'create', username, '--description', 'laptop']);
      assertOk(token);
      const lines = linesOf(token.stdout);
      assert.equal(lines.length, 1, 'only the secret is printed');
      secret = lines[0];
      const me = await api.withToken(secret).get('/account/details');
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.data.attributes.username, username);

      const tokens = await otf(['user-tokens', 'list', username]);
      assertOk(tokens);
      const [header, ...rows] = linesOf(tokens.stdout);
      assert.match(header, /^ID\s+DESCRIPTION\s+CREATED-AT\s+LAST-USED-AT\s+EXPIRES-AT$/);
      assert.equal(rows.length, 1);
      assert.match(rows[0], /^ut-\S+\s+laptop\s/);
    });

    it('creates a team and adds the user to the organization into it', async () => {
      const team = await otf(['teams', 'create', `${org}/devs`]);
      assertOk(team);
      assert.match(team.stdout, /^name: devs$/m);
      assert.match(team.stdout, new RegExp(`^organization: ${org}$`, 'm'));
      assert.match(team.stdout, /^visibility: secret$/m);
      assert.match(team.stdout, /^organization-access: -$/m);

      const added = await otf(['memberships', 'add', org, username, '--team', 'devs']);
      assertOk(added);
      assert.match(added.stdout, /^id: ou-\S+$/m);
      assert.match(added.stdout, new RegExp(`^username: ${username}$`, 'm'));
      assert.match(added.stdout, /^status: active$/m);
      assert.match(added.stdout, /^teams: devs$/m);

      const members = await otf(['team-members', 'list', `${org}/devs`]);
      assertOk(members);
      assert.match(linesOf(members.stdout)[1], new RegExp(`^${username}\\s+user-\\S+\\s+${username}@example.com$`));
    });

    it('grants the team plan on the workspace, and lists the grant', async () => {
      const granted = await otf(['team-access', 'grant', `${org}/app`, 'devs', 'plan']);
      assertOk(granted);
      assert.equal(granted.stdout, `team "devs" now has plan access to workspace "${org}/app"\n`);

      const list = await otf(['team-access', 'list', `${org}/app`]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.match(header, /^TEAM\s+ACCESS\s+RUNS\s+VARIABLES\s+STATE-VERSIONS\s+LOCKING\s+ID$/);
      assert.equal(rows.length, 1, list.stdout);
      assert.deepEqual(cells(header, rows[0]), { TEAM: 'devs', ACCESS: 'plan', RUNS: 'plan', VARIABLES: 'read', 'STATE-VERSIONS': 'read', LOCKING: 'false', ID: rows[0].split(/\s+/).at(-1) });
      assert.match(rows[0], /\stws-\S+$/);

      const json = await otfJson(['team-access', 'list', `${org}/app`]);
      assert.deepEqual(json, (await api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data);
    });

    it("with the user's token, otf shows the workspace but may not lock it: exit 1 and the server's 403", async () => {
      const shown = await otf(['workspaces', 'show', `${org}/app`], secret);
      assertOk(shown);
      assert.match(shown.stdout, new RegExp(`^id: ${ws.id}$`, 'm'));
      assert.match(shown.stdout, /^name: app$/m);

      const refused = await detailOf(api.withToken(secret).post(`/workspaces/${ws.id}/actions/lock`, {}), 403);
      const lock = await otf(['workspaces', 'lock', `${org}/app`], secret);
      assertFailure(lock, 1, `otf: ${refused}`);
      assert.match(lock.stderr, /insufficient permissions/);
      assert.equal((await getData(`/workspaces/${ws.id}`)).attributes.locked, false);
    });

    it('memberships list shows the member; memberships remove takes it out, and its token no longer finds the workspace', async () => {
      const list = await otf(['memberships', 'list', org]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.match(header, /^USERNAME\s+EMAIL\s+STATUS\s+TEAMS\s+ID$/);
      const row = rows.find((r) => r.startsWith(`${username} `));
      assert.ok(row, list.stdout);
      assert.deepEqual(Object.values(cells(header, row)).slice(0, 4), [username, `${username}@example.com`, 'active', 'devs']);
      const active = await otfJson(['memberships', 'list', org, '--status', 'active', '--search', username]);
      assert.equal(active.length, 1);
      assert.equal(active[0].type, 'organization-memberships');
      assert.equal(active[0].attributes.email, `${username}@example.com`);

      const removed = await otf(['memberships', 'remove', org, username]);
      assertOk(removed);
      assert.equal(removed.stdout, `user "${username}" removed from organization "${org}"\n`);
      assert.deepEqual(await otfJson(['memberships', 'list', org, '--search', username]), []);

      const gone = await detailOf(api.withToken(secret).get(`/organizations/${org}/workspaces/app`), 404);
      assert.match(gone, /not found/);
      assertFailure(await otf(['workspaces', 'show', `${org}/app`], secret), 1, `otf: ${gone}`);
    });
  });

  // ------------------------------------------------------------ output

  describe('tables and --json', () => {
    let org: string;
    const prefix = randomName('out');

    before(async () => {
      org = await createOrganization(api);
    });

    it('users list: a table of USERNAME, ID, EMAIL; --json the resources; --search narrows it', async () => {
      const names = [`${prefix}-b`, `${prefix}-a-longer-name`];
      for (const n of names) assertOk(await otf(['users', 'create', n, '--email', `${n}@example.com`]));
      const table = await otf(['users', 'list', '--search', prefix]);
      assertOk(table);
      const [header, ...rows] = linesOf(table.stdout);
      assert.match(header, /^USERNAME\s+ID\s+EMAIL$/);
      assert.deepEqual(
        rows.map((r) => cells(header, r).USERNAME),
        [...names].sort(),
      );
      for (const r of rows) {
        const c = cells(header, r);
        assert.match(c.ID, /^user-\S+$/);
        assert.equal(c.EMAIL, `${c.USERNAME}@example.com`);
      }

      const json = await otfJson(['users', 'list', '--search', prefix]);
      assert.deepEqual(json, (await api.get(`/admin/users?q=${prefix}`)).body.data);
      assert.ok(json.every((u: Json) => u.type === 'users'));
      assert.equal((await otfJson(['users', 'list'])).length >= 2, true);

      const shown = await otf(['users', 'show', json[0].id]);
      assertOk(shown);
      assert.match(shown.stdout, new RegExp(`^username: ${json[0].attributes.username}$`, 'm'));
      const deleted = await otf(['users', 'delete', names[0]]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `user "${names[0]}" deleted\n`);
      assert.equal((await api.get(`/users/${names[0]}`)).status, 404);
    });

    it('teams list: a table with the owners holding "all"; --json the resources; teams show, update and delete', async () => {
      const created = await otfJson(['teams', 'create', `${org}/platform`, '--visibility', 'organization', '--permission', 'manage-workspaces', '--permission', 'manage-vcs-settings']);
      assert.equal(created.type, 'teams');
      assert.equal(created.attributes.visibility, 'organization');
      assert.equal(created.attributes['organization-access']['manage-workspaces'], true);
      assert.equal(created.attributes['organization-access']['manage-vcs-settings'], true);
      assert.equal(created.attributes['organization-access']['manage-teams'], false);

      const table = await otf(['teams', 'list', org]);
      assertOk(table);
      const [header, ...rows] = linesOf(table.stdout);
      assert.match(header, /^NAME\s+ID\s+VISIBILITY\s+MEMBERS\s+PERMISSIONS$/);
      assert.deepEqual(
        rows.map((r) => cells(header, r)),
        [
          { NAME: 'owners', ID: rows[0].split(/\s+/)[1], VISIBILITY: 'secret', MEMBERS: '0', PERMISSIONS: 'all' },
          { NAME: 'platform', ID: created.id, VISIBILITY: 'organization', MEMBERS: '0', PERMISSIONS: 'manage-workspaces, manage-vcs-settings' },
        ],
      );
      assert.deepEqual(await otfJson(['teams', 'list', org]), (await api.get(`/organizations/${org}/teams`)).body.data);

      const shown = await otf(['teams', 'show', `${org}/platform`]);
      assertOk(shown);
      assert.ok(linesOf(shown.stdout).includes(`id: ${created.id}`));
      assert.ok(linesOf(shown.stdout).includes('organization-access: manage-workspaces, manage-vcs-settings'));

      const updated = await otf(['teams', 'update', `${org}/platform`, '--name', 'infra', '--permission', 'manage-agent-pools']);
      assertOk(updated);
      assert.match(updated.stdout, /^name: infra$/m);
      assert.match(updated.stdout, /^organization-access: manage-agent-pools$/m, 'the permissions given replace the others');
      const cleared = await otfJson(['teams', 'update', `${org}/infra`, '--no-permissions', '--visibility', 'secret']);
      assert.equal(cleared.attributes.visibility, 'secret');
      assert.ok(Object.values(cleared.attributes['organization-access']).every((v) => v === false));

      const deleted = await otf(['teams', 'delete', `${org}/infra`]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `team "${org}/infra" deleted\n`);
      assert.equal((await api.get(`/teams/${created.id}`)).status, 404);
    });

    it("teams create --help offers exactly the server's organization permissions", async () => {
      const help = await otf(['teams', 'create', '--help']);
      assertOk(help);
      const offered = /--permission <key> .*\(repeatable; one of ([^)]*)\)/.exec(help.stdout)?.[1].split(', ');
      assert.deepEqual(offered, [...ORGANIZATION_PERMISSIONS]);
    });
  });

  // ------------------------------------------------------------ members, tokens, access

  describe('team members, team tokens and access', () => {
    let org: string;
    let ws: Json;
    const users = [randomName('bob'), randomName('carol')];

    before(async () => {
      org = await createOrganization(api);
      ws = await createWorkspace(api, org, 'svc');
      for (const u of users) {
        assertOk(await otf(['users', 'create', u, '--email', `${u}@example.com`]));
        assertOk(await otf(['memberships', 'add', org, `${u}@example.com`]));
      }
      assertOk(await otf(['teams', 'create', `${org}/ops`]));
    });

    it('adds members to a team, lists and removes them', async () => {
      const added = await otf(['team-members', 'add', `${org}/ops`, ...users]);
      assertOk(added);
      assert.equal(added.stdout, `added ${users.join(', ')} to team "${org}/ops"\n`);
      const list = await otf(['team-members', 'list', `${org}/ops`]);
      assertOk(list);
      assert.deepEqual(linesOf(list.stdout).slice(1).map((r) => r.split(/\s+/)[0]).sort(), [...users].sort());

      const after = await otfJson(['team-members', 'remove', `${org}/ops`, users[0]]);
      assert.equal(after.type, 'teams');
      assert.equal(after.attributes['users-count'], 1);
      const members = await otfJson(['team-members', 'list', `${org}/ops`]);
      assert.deepEqual(
        members.map((u: Json) => u.attributes.username),
        [users[1]],
      );
    });

    it('creates named and legacy team tokens, lists and deletes them', async () => {
      const named = await otf(['team-tokens', 'create', `${org}/ops`, '--description', 'ci', '--expires', '2099-01-01T00:00:00Z']);
      assertOk(named);
      assert.equal(linesOf(named.stdout).length, 1);
      const legacy = await otfJson(['team-tokens', 'create', `${org}/ops`]);
      assert.equal(legacy.type, 'authentication-tokens');
      assert.equal(legacy.attributes.description, null);
      assert.ok(legacy.attributes.token);

      // The named token acts as the team.
      const teamToken = linesOf(named.stdout)[0];
      const account = await api.withToken(teamToken).get('/account/details');
      assert.equal(account.status, 200, account.text);
      assert.equal(account.body.data.attributes.username, 'api-team_ops');

      const list = await otf(['team-tokens', 'list', `${org}/ops`]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.equal(rows.length, 2, list.stdout);
      const ci = rows.map((r) => cells(header, r)).find((c) => c.DESCRIPTION === 'ci');
      assert.match(ci?.['EXPIRES-AT'] ?? '', /^2099-01-01T00:00:00/);

      const deleted = await otf(['team-tokens', 'delete', legacy.id]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `team token ${legacy.id} deleted\n`);
      assert.equal((await otfJson(['team-tokens', 'list', `${org}/ops`])).length, 1);

      const userToken = await otfJson(['user-tokens', 'create', users[1], '--expires', '2099-01-01T00:00:00Z']);
      assert.match(userToken.attributes['expired-at'], /^2099-01-01T00:00:00/);
      assertOk(await otf(['user-tokens', 'delete', userToken.id]));
      assert.deepEqual(await otfJson(['user-tokens', 'list', users[1]]), []);
    });

    it('grants custom access, changes the existing grant rather than adding one, and revokes it', async () => {
      const custom = await otf(['team-access', 'grant', `${org}/svc`, 'ops', 'custom', '--runs', 'apply', '--workspace-locking']);
      assertOk(custom);
      assert.equal(
        custom.stdout,
        `team "ops" now has custom access to workspace "${org}/svc" (runs: apply, variables: none, state-versions: none, sentinel-mocks: none, workspace-locking: true, run-tasks: false)\n`,
      );
      const first = (await api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data;
      assert.equal(first.length, 1);

      const changed = await otfJson(['team-access', 'grant', `${org}/svc`, 'ops', 'custom', '--variables', 'read', '--workspace-locking=false']);
      assert.equal(changed.id, first[0].id, 'the same grant');
      assert.equal(changed.attributes.runs, 'apply', 'kept');
      assert.equal(changed.attributes.variables, 'read');
      assert.equal(changed.attributes['workspace-locking'], false);
      const write = await otfJson(['team-access', 'grant', `${org}/svc`, 'ops', 'write']);
      assert.equal(write.id, first[0].id);
      assert.equal(write.attributes.access, 'write');

      const revoked = await otf(['team-access', 'revoke', `${org}/svc`, 'ops']);
      assertOk(revoked);
      assert.equal(revoked.stdout, `team "ops" no longer has access to workspace "${org}/svc"\n`);
      assert.deepEqual((await api.get(`/team-workspaces?filter[workspace][id]=${ws.id}`)).body.data, []);
      assertFailure(await otf(['team-access', 'revoke', `${org}/svc`, 'ops']), 1, `otf: team "ops" has no access to workspace "${org}/svc"`);
    });

    it('an invited email becomes an active member when its user is created; memberships remove takes an email', async () => {
      const dave = randomName('dave');
      const email = `${dave}@example.com`;
      const invited = await otf(['memberships', 'add', org, email, '--team', 'ops']);
      assertOk(invited);
      assert.match(invited.stdout, /^status: invited$/m);
      assert.match(invited.stdout, /^username: -$/m);
      assert.match(invited.stdout, /^teams: ops$/m);
      const pending = await otfJson(['memberships', 'list', org, '--status', 'invited']);
      assert.deepEqual(
        pending.map((m: Json) => m.attributes.email),
        [email],
      );

      assertOk(await otf(['users', 'create', dave, '--email', email]));
      const list = await otf(['memberships', 'list', org, '--search', dave]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.equal(rows.length, 1, list.stdout);
      assert.deepEqual(cells(header, rows[0]), { USERNAME: dave, EMAIL: email, STATUS: 'active', TEAMS: 'ops', ID: pending[0].id });

      const removed = await otf(['memberships', 'remove', org, email.toUpperCase()]);
      assertOk(removed);
      assert.equal(removed.stdout, `"${email.toUpperCase()}" removed from organization "${org}"\n`);
      assert.deepEqual(await otfJson(['memberships', 'list', org, '--search', dave]), []);
    });
  });

  // ------------------------------------------------------------ errors

  describe('errors', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(api);
      await createWorkspace(api, org, 'app');
      assertOk(await otf(['teams', 'create', `${org}/devs`]));
    });

    it('an unknown team name: exit 1 and one line naming it', async () => {
      const missing = `otf: team "${org}/nope" not found`;
      assertFailure(await otf(['teams', 'show', `${org}/nope`]), 1, missing);
      assertFailure(await otf(['teams', 'delete', `${org}/nope`]), 1, missing);
      assertFailure(await otf(['team-members', 'list', `${org}/nope`]), 1, missing);
      assertFailure(await otf(['team-access', 'grant', `${org}/app`, 'nope', 'plan']), 1, missing);
      assertFailure(await otf(['memberships', 'add', org, 'somebody', '--team', 'devs', '--team', 'nope']), 1, missing);
      assertFailure(await otf(['teams', 'list', 'no-such-org']), 1, 'otf: organization "no-such-org" not found');
    });

    it("an unknown user: exit 1 and the server's detail, or one line saying it is not a member", async () => {
      const notFound = await detailOf(api.get('/users/nobody-here'), 404);
      assertFailure(await otf(['users', 'show', 'nobody-here']), 1, `otf: ${notFound}`);
      assertFailure(await otf(['users', 'delete', 'nobody-here']), 1, `otf: ${notFound}`);
      assertFailure(await otf(['user-tokens', 'create', 'nobody-here']), 1, `otf: ${notFound}`);

      const noUser = await detailOf(
        api.post(`/organizations/${org}/organization-memberships`, { data: { type: 'organization-memberships', attributes: { username: 'nobody-here' } } }),
        422,
      );
      assert.match(noUser, /nobody-here/);
      assertFailure(await otf(['memberships', 'add', org, 'nobody-here']), 1, `otf: ${noUser}`);

      const notMember = await detailOf(api.post(`/teams/${(await getData(`/organizations/${org}/teams?filter[names]=devs`))[0].id}/relationships/users`, { data: [{ type: 'users', id: 'nobody-here' }] }), 422);
      assertFailure(await otf(['team-members', 'add', `${org}/devs`, 'nobody-here']), 1, `otf: ${notMember}`);
      assertFailure(await otf(['memberships', 'remove', org, 'nobody-here']), 1, `otf: user "nobody-here" is not a member of organization "${org}"`);
    });

    it('a command line that makes no sense: exit 2 before anything is sent', async () => {
      assertFailure(await otf(['teams', 'show', 'no-slash']), 2, 'otf: "no-slash" is not <organization>/<team>');
      assertFailure(await otf(['teams', 'create', `${org}/x`, '--permission', 'rule-the-world']), 2, /^otf: --permission: "rule-the-world" is not one of manage-policies, /);
      assertFailure(await otf(['teams', 'update', `${org}/devs`]), 2, 'otf: nothing to change: give --name, --visibility, --permission or --no-permissions');
      assertFailure(await otf(['teams', 'update', `${org}/devs`, '--permission', 'manage-workspaces', '--no-permissions']), 2, 'otf: --permission and --no-permissions do not go together');
      assertFailure(await otf(['team-access', 'grant', `${org}/app`, 'devs', 'plan', '--runs', 'apply']), 2, 'otf: --runs goes with access custom, not plan');
      assertFailure(await otf(['team-access', 'grant', `${org}/app`, 'devs', 'everything']), 2, 'otf: access "everything" is not one of read, plan, write, admin, custom');
      assertFailure(await otf(['memberships', 'list', org, '--status', 'gone']), 2, 'otf: --status: "gone" is not one of invited, active');
      assertFailure(await otf(['team-members', 'add', `${org}/devs`]), 2, `otf: missing <username> (usage: otf team-members add <org>/<team> <username>...)`);
    });
  });
});
