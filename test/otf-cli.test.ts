// otf, the admin CLI, as a user runs it: the compiled bin/otf as a child process against an otfd
// served over HTTPS, told where it is and who it is by OTF_ADDRESS (a bare host:port, meaning HTTPS)
// and OTF_TOKEN, trusting the suite's certificate through NODE_EXTRA_CA_CERTS. The agent-pool
// walkthrough driven only by otf, tables for people and JSON:API resources for scripts, errors as
// one line and an exit code, and `otf runs watch` following a run executed by the server agent
// with the terraform on PATH.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from './hooks.js';
import type { Api, Json } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { assertOk, linesOf, runOtf, startOtf as startOtfIn, type OtfOptions, type OtfResult, type RunningOtf } from './helpers/otf.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { cloudBlock, expectCode, terraform, workdir } from './helpers/terraform.js';
import { waitUntil } from './helpers/wait.js';

/** Asserts a failure: the exit code, and exactly one line on stderr matching `line`, no stack trace. */
function assertFailure(res: OtfResult, code: number, line: RegExp | string): void {
  assert.equal(res.code, code, `expected exit code ${code}, got ${res.code}; stdout: ${res.stdout}; stderr: ${res.stderr}`);
  assert.match(res.stderr, /^otf: [^\n]+\n$/, `one line on stderr, got: ${JSON.stringify(res.stderr)}`);
  if (typeof line === 'string') assert.equal(res.stderr, `${line}\n`);
  else assert.match(res.stderr, line);
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
}

/** A configuration whose apply prints three lines through local-exec, `pause` seconds apart. */
function talkative(pause: number, last = 'echo tick-3'): string {
  return fixture('talkative-apply', { pause, last });
}

describe('otf, the admin CLI', function () {
  this.timeout(180_000);
  let server: TestServer;
  let api: Api;

  before(async () => {
    // The server agent runs the runs `otf runs watch` follows.
    server = await startServer({ ssl: true, config: { concurrency: 2 } });
    api = server.api;
  });
  after(() => server.stop());

  function startOtf(args: string[], opts: OtfOptions = {}): RunningOtf {
    return startOtfIn(server, args, opts);
  }

  function otf(args: string[], opts: OtfOptions = {}): Promise<OtfResult> {
    return runOtf(server, args, opts);
  }

  /** Runs otf --json and parses what it printed. */
  async function otfJson(args: string[]): Promise<Json> {
    const res = await otf([...args, '--json']);
    assertOk(res);
    return JSON.parse(res.stdout);
  }

  async function getData(p: string): Promise<Json> {
    const res = await api.get(p);
    assert.equal(res.status, 200, res.text);
    return res.body.data;
  }

  // ------------------------------------------------------------ the walkthrough

  describe('the agent pool walkthrough', () => {
    it('creates an organization, a workspace, a pool granting it, puts the workspace in agent mode on the pool and makes an agent token, all with otf', async () => {
      const org = randomName();

      const created = await otf(['organizations', 'create', org, '--email', `ops@${org}.example`]);
      assertOk(created);
      assert.match(created.stdout, new RegExp(`^name: ${org}$`, 'm'));
      assert.match(created.stdout, new RegExp(`^email: ops@${org}.example$`, 'm'));

      const ws = await otf(['workspaces', 'create', `${org}/app`]);
      assertOk(ws);
      assert.match(ws.stdout, /^name: app$/m);
      assert.match(ws.stdout, /^execution-mode: remote$/m);

      const pool = await otfJson(['agent-pools', 'create', org, 'builders', '--allowed-workspace', 'app', '--not-organization-scoped']);
      assert.equal(pool.type, 'agent-pools');
      assert.match(pool.id, /^apool-/);
      assert.equal(pool.attributes.name, 'builders');

      const assigned = await otf(['workspaces', 'set-execution-mode', `${org}/app`, 'agent', '--agent-pool', pool.id]);
      assertOk(assigned);
      assert.equal(assigned.stdout, `workspace "${org}/app" now runs in agent mode on agent pool ${pool.id}\n`);

      const token = await otf(['agent-tokens', 'create', pool.id, '--description', 'build hosts']);
      assertOk(token);
      const lines = linesOf(token.stdout);
      assert.equal(lines.length, 1, 'only the secret is printed');
      const secret = lines[0];
      assert.ok(secret.length >= 20, `a token secret, got "${secret}"`);

      // What the server now holds.
      const workspace = await getData(`/organizations/${org}/workspaces/app`);
      assert.equal(workspace.attributes['execution-mode'], 'agent');
      assert.equal(workspace.relationships['agent-pool'].data.id, pool.id);
      const stored = await getData(`/agent-pools/${pool.id}`);
      assert.equal(stored.attributes['organization-scoped'], false);
      assert.deepEqual(stored.relationships['allowed-workspaces'].data, [{ type: 'workspaces', id: workspace.id }]);
      assert.deepEqual(stored.relationships.workspaces.data, [{ type: 'workspaces', id: workspace.id }]);

      // The secret is a working agent token: an agent joins the pool with it, and otf lists it.
      const registered = await api.post('/api/agent/register', { name: 'builder-one' }, { token: secret });
      assert.equal(registered.status, 201, registered.text);
      const agents = await otf(['agents', 'list', pool.id]);
      assertOk(agents);
      assert.match(linesOf(agents.stdout)[0], /^ID\s+NAME\s+STATUS\s+/);
      assert.match(agents.stdout, new RegExp(`^${registered.body.id}\\s+builder-one\\s+idle\\s`, 'm'));
      const shown = await otf(['agents', 'show', registered.body.id]);
      assertOk(shown);
      assert.match(shown.stdout, new RegExp(`^agent-pool: ${pool.id}$`, 'm'));

      const tokens = await otf(['agent-tokens', 'list', pool.id]);
      assertOk(tokens);
      assert.equal(linesOf(tokens.stdout).length, 2);
      assert.match(linesOf(tokens.stdout)[1], /^at-\S+\s+build hosts\s/);
    });

    it('grants a pool to more workspaces by name, shows their names, and revokes the grant', async () => {
      const org = await createOrganization(api);
      const web = await createWorkspace(api, org, 'web');
      const db = await createWorkspace(api, org, 'db');
      const pool = await otfJson(['agent-pools', 'create', org, 'shared']);
      assert.equal(pool.attributes['organization-scoped'], true);
      assert.deepEqual(pool.relationships['allowed-workspaces'].data, []);

      const granted = await otf(['agent-pools', 'grant', pool.id, 'web', 'db']);
      assertOk(granted);
      assert.equal(granted.stdout, `agent pool ${pool.id} granted to web, db\n`);
      const allowed = (await getData(`/agent-pools/${pool.id}`)).relationships['allowed-workspaces'].data.map((w: Json) => w.id);
      assert.deepEqual(allowed.sort(), [web.id, db.id].sort());

      const shown = await otf(['agent-pools', 'show', pool.id]);
      assertOk(shown);
      const line = linesOf(shown.stdout).find((l) => l.startsWith('allowed-workspaces: '));
      assert.deepEqual(line?.slice('allowed-workspaces: '.length).split(', ').sort(), ['db', 'web']);

      assertOk(await otf(['agent-pools', 'revoke', pool.id, 'web']));
      assert.deepEqual((await getData(`/agent-pools/${pool.id}`)).relationships['allowed-workspaces'].data, [{ type: 'workspaces', id: db.id }]);

      const unknown = await otf(['agent-pools', 'grant', pool.id, 'nope']);
      assertFailure(unknown, 1, `otf: workspace "${org}/nope" not found`);

      const deleted = await otf(['agent-pools', 'delete', pool.id]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `agent pool ${pool.id} ("shared") deleted\n`);
      assert.equal((await api.get(`/agent-pools/${pool.id}`)).status, 404);
    });
  });

  // ------------------------------------------------------------ output

  describe('output', () => {
    let org: string;
    let workspaces: Json[];

    before(async () => {
      org = await createOrganization(api);
      workspaces = [
        await createWorkspace(api, org, 'alpha'),
        await createWorkspace(api, org, 'a-much-longer-workspace-name', { 'execution-mode': 'local' }),
        await createWorkspace(api, org, 'zeta', { 'terraform-version': '1.11.4' }),
      ];
    });

    it('lists as an aligned table: a header row, then one line per item', async () => {
      const res = await otf(['workspaces', 'list', '--organization', org]);
      assertOk(res);
      const [header, ...rows] = linesOf(res.stdout);
      assert.match(header, /^NAME\s+ID\s+EXECUTION-MODE\s+AGENT-POOL\s+LOCKED\s+TERRAFORM-VERSION$/);
      assert.equal(rows.length, 3);
      const byName = new Map(workspaces.map((w) => [w.attributes.name, w]));
      for (const column of ['ID', 'EXECUTION-MODE', 'AGENT-POOL', 'LOCKED']) {
        const at = header.indexOf(column);
        for (const row of rows) assert.match(row.slice(at - 2, at + 1), /^ {2}\S$/, `a cell of ${column} starts at column ${at}: "${row}"`);
      }
      for (const row of rows) {
        const name = row.split(/\s+/)[0];
        const ws = byName.get(name);
        assert.ok(ws, `a row of a workspace: ${row}`);
        // Every cell starts under its header.
        assert.equal(row.slice(header.indexOf('ID')).split(/\s+/)[0], ws.id);
        assert.equal(row.slice(header.indexOf('EXECUTION-MODE')).split(/\s+/)[0], ws.attributes['execution-mode']);
        assert.equal(row.slice(header.indexOf('AGENT-POOL')).split(/\s+/)[0], '-');
        assert.equal(row.slice(header.indexOf('LOCKED')).split(/\s+/)[0], 'false');
      }
    });

    it('prints the JSON:API resources with --json: an array for a list, the data object for one item', async () => {
      const list = await otfJson(['workspaces', 'list', '--organization', org]);
      assert.ok(Array.isArray(list));
      const fromApi = (await api.get(`/organizations/${org}/workspaces`)).body.data;
      assert.deepEqual(list, fromApi);

      const one = await otfJson(['workspaces', 'show', `${org}/zeta`]);
      assert.deepEqual(one, await getData(`/organizations/${org}/workspaces/zeta`));
      assert.equal(one.attributes['terraform-version'], '1.11.4');

      const orgs = await otfJson(['organizations', 'list']);
      assert.ok(orgs.some((o: Json) => o.type === 'organizations' && o.id === org));
    });

    it('shows one item as key: value lines', async () => {
      const res = await otf(['workspaces', 'show', `${org}/a-much-longer-workspace-name`]);
      assertOk(res);
      const lines = linesOf(res.stdout);
      for (const l of lines) assert.match(l, /^[a-z-]+: \S/, `a key: value line: "${l}"`);
      assert.ok(lines.includes(`id: ${workspaces[1].id}`));
      assert.ok(lines.includes('name: a-much-longer-workspace-name'));
      assert.ok(lines.includes(`organization: ${org}`));
      assert.ok(lines.includes('execution-mode: local'));
      assert.ok(lines.includes('locked: false'));

      const shown = await otf(['organizations', 'show', org]);
      assertOk(shown);
      assert.ok(linesOf(shown.stdout).includes(`name: ${org}`));
    });

    it('answers --help on the tool and on each command, and lists every command', async () => {
      const top = await otf(['--help']);
      assertOk(top);
      for (const cmd of ['organizations create <name> --email <email>', 'workspaces set-execution-mode <org>/<ws> <remote|local|agent>', 'runs watch <run-id>', 'agent-pools grant <pool-id> <ws-name>...', 'agent-tokens create <pool-id> --description <text>']) {
        assert.ok(top.stdout.includes(cmd), `help lists "${cmd}"`);
      }
      assert.match(top.stdout, /--address <url>/);
      assert.match(top.stdout, /OTF_TOKEN/);

      const cmd = await otf(['variables', 'set', '--help']);
      assertOk(cmd);
      assert.match(cmd.stdout, /^Usage: otf variables set <org>\/<ws> <key> <value> \[flags\]$/m);
      assert.match(cmd.stdout, /--sensitive/);
      const noun = await otf(['runs', '-h']);
      assertOk(noun);
      assert.match(noun.stdout, /runs cancel <run-id>/);
    });
  });

  // ------------------------------------------------------------ errors

  describe('errors', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(api);
    });

    it('a workspace that does not exist: exit 1 and the server saying so', async () => {
      assertFailure(await otf(['workspaces', 'show', `${org}/nope`]), 1, `otf: workspace "${org}/nope" not found`);
      assertFailure(await otf(['runs', 'list', `${org}/nope`]), 1, `otf: workspace "${org}/nope" not found`);
      assertFailure(await otf(['workspaces', 'list', '--organization', 'no-such-org']), 1, 'otf: organization "no-such-org" not found');
    });

    it("a bad token: exit 1 and the 401's detail", async () => {
      const refused = await api.withToken('not-a-token').get('/organizations');
      assert.equal(refused.status, 401);
      const detail = refused.body.errors[0].detail;
      assertFailure(await otf(['organizations', 'list'], { env: { OTF_TOKEN: 'not-a-token' } }), 1, `otf: ${detail}`);
      assertFailure(await otf(['organizations', 'list', '--token', 'not-a-token']), 1, `otf: ${detail}`);
    });

    it('no address, or none that reaches otfd: exit 1 and one line saying so', async () => {
      assertFailure(await otf(['organizations', 'list'], { env: { OTF_ADDRESS: undefined } }), 1, /^otf: --address \(or OTF_ADDRESS\) is required/);
      assertFailure(await otf(['organizations', 'list'], { env: { OTF_TOKEN: undefined } }), 1, /^otf: --token \(or OTF_TOKEN\) is required/);
      assertFailure(await otf(['organizations', 'list', '--address', 'ftp://x']), 1, /^otf: --address: "ftp:\/\/x" must use https or http/);
      // otfd serves HTTPS only.
      assertFailure(await otf(['organizations', 'list', '--address', `http://${server.hostname}`]), 1, new RegExp(`^otf: cannot reach otfd at http://${server.hostname}: `));
      // Without NODE_EXTRA_CA_CERTS the suite's self-signed certificate is not trusted.
      assertFailure(await otf(['organizations', 'list'], { env: { NODE_EXTRA_CA_CERTS: undefined } }), 1, /^otf: cannot reach otfd at https:\/\/localhost:\d+: .*certificate.*NODE_EXTRA_CA_CERTS/);
    });

    it('a flag beats its variable', async () => {
      const res = await otf(['organizations', 'show', org, '--address', `https://${server.hostname}`, '--token', server.siteToken], {
        env: { OTF_ADDRESS: 'localhost:1', OTF_TOKEN: 'not-a-token' },
      });
      assertOk(res);
      assert.match(res.stdout, new RegExp(`^name: ${org}$`, 'm'));
    });

    it('an unknown command, an unknown flag or a missing argument: exit 2 and one line', async () => {
      assertFailure(await otf(['frobnicate']), 2, 'otf: unknown command "frobnicate" (see otf --help)');
      assertFailure(await otf(['workspaces', 'frobnicate']), 2, 'otf: unknown command "workspaces frobnicate" (see otf workspaces --help)');
      assertFailure(await otf(['workspaces', 'list', '--organization', org, '--colour']), 2, 'otf: unknown flag --colour for otf workspaces list (see otf workspaces list --help)');
      assertFailure(await otf(['workspaces', 'list']), 2, 'otf: --organization is required (usage: otf workspaces list --organization <org>)');
      assertFailure(await otf(['workspaces', 'show']), 2, 'otf: missing <org>/<ws> (usage: otf workspaces show <org>/<ws>)');
      assertFailure(await otf(['workspaces', 'show', 'no-slash']), 2, 'otf: "no-slash" is not <organization>/<workspace>');
      assertFailure(await otf(['workspaces', 'create', `${org}/x`, '--execution-mode', 'cloud']), 2, 'otf: --execution-mode: "cloud" is not one of remote, local, agent');
      assertFailure(await otf(['workspaces', 'set-execution-mode', `${org}/x`, 'cloud']), 2, 'otf: execution mode "cloud" is not one of remote, local, agent');
    });

    it('a refusal by the server: exit 1 and its detail', async () => {
      await createWorkspace(api, org, 'plain');
      const res = await otf(['workspaces', 'set-execution-mode', `${org}/plain`, 'agent']);
      assertFailure(res, 1, /^otf: execution mode "agent" needs an agent pool/);
      const taken = await api.post('/organizations', { data: { type: 'organizations', attributes: { name: org, email: 'x@example.com' } } });
      assert.ok(taken.status >= 400, taken.text);
      assertFailure(await otf(['organizations', 'create', org, '--email', 'x@example.com']), 1, `otf: ${taken.body.errors[0].detail}`);
    });
  });

  // ------------------------------------------------------------ workspaces, variables, state

  describe("the README's first run", () => {
    it('an organization, a user in its owners team and its token, all made with otf; terraform applies with that token, and refuses an organization token', async () => {
      const org = randomName('org');
      const user = randomName('user');
      assertOk(await otf(['organizations', 'create', org, '--email', 'ops@acme.example']));
      assertOk(await otf(['users', 'create', user, '--email', `${user}@acme.example`]));
      assertOk(await otf(['memberships', 'add', org, user, '--team', 'owners']));
      const minted = await otf(['user-tokens', 'create', user]);
      assertOk(minted);
      const token = minted.stdout.trim();
      const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "app"') + fixture('one-resource-no-output') });
      expectCode(await terraform(server, dir, ['init', '-input=false'], { token }), 0);
      const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false'], { token });
      expectCode(apply, 0);
      assert.match(apply.output, /Apply complete! Resources: 1 added/);

      const orgToken = await api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
      assert.equal(orgToken.status, 201, orgToken.text);
      const refused = await terraform(server, dir, ['apply', '-auto-approve', '-input=false'], { token: orgToken.body.data.attributes.token });
      assert.notEqual(refused.code, 0, 'an organization token may not queue runs');
    });
  });

  describe('workspaces, variables and state', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(api);
    });

    it('locks and unlocks a workspace; a second lock is refused', async () => {
      await createWorkspace(api, org, 'locking');
      const locked = await otf(['workspaces', 'lock', `${org}/locking`, '--reason', 'maintenance']);
      assertOk(locked);
      assert.equal(locked.stdout, `workspace "${org}/locking" locked\n`);
      const ws = await getData(`/organizations/${org}/workspaces/locking`);
      assert.equal(ws.attributes.locked, true);
      assert.equal(ws.attributes['locked-reason'], 'maintenance');

      const again = await api.post(`/workspaces/${ws.id}/actions/lock`, {});
      assert.equal(again.status, 409, again.text);
      assertFailure(await otf(['workspaces', 'lock', `${org}/locking`]), 1, `otf: ${again.body.errors[0].detail}`);

      const unlocked = await otfJson(['workspaces', 'unlock', `${org}/locking`]);
      assert.equal(unlocked.id, ws.id);
      assert.equal(unlocked.attributes.locked, false);

      // A lock held by someone else needs --force.
      const orgToken = await api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
      assert.equal(orgToken.status, 201, orgToken.text);
      assert.equal((await api.withToken(orgToken.body.data.attributes.token).post(`/workspaces/${ws.id}/actions/lock`, {})).status, 200);
      const refused = await api.post(`/workspaces/${ws.id}/actions/unlock`);
      assert.equal(refused.status, 409, refused.text);
      assertFailure(await otf(['workspaces', 'unlock', `${org}/locking`]), 1, `otf: ${refused.body.errors[0].detail}`);
      assertOk(await otf(['workspaces', 'unlock', `${org}/locking`, '--force']));
      assert.equal((await getData(`/workspaces/${ws.id}`)).attributes.locked, false);

      const deleted = await otf(['workspaces', 'delete', `${org}/locking`]);
      assertOk(deleted);
      assert.equal((await api.get(`/workspaces/${ws.id}`)).status, 404);
    });

    it('creates a workspace with --engine and changes its settings with update', async () => {
      const created = await otfJson(['workspaces', 'create', `${org}/engines`, '--engine', 'tofu', '--terraform-version', '1.6.2', '--auto-apply', '--description', 'first']);
      assert.equal(created.attributes.engine, 'tofu');
      assert.equal(created.attributes['terraform-version'], '1.6.2');
      assert.equal(created.attributes['auto-apply'], true);
      const shown = await otf(['workspaces', 'show', `${org}/engines`]);
      assertOk(shown);
      assert.match(shown.stdout, /^engine: tofu$/m);

      // Only what is given changes.
      const updated = await otfJson(['workspaces', 'update', `${org}/engines`, '--auto-apply=false', '--execution-mode', 'local', '--description', 'second']);
      assert.equal(updated.id, created.id);
      assert.equal(updated.attributes['auto-apply'], false);
      assert.equal(updated.attributes['execution-mode'], 'local');
      assert.equal(updated.attributes.description, 'second');
      assert.equal(updated.attributes.engine, 'tofu');
      assert.equal(updated.attributes['terraform-version'], '1.6.2');

      // A new engine without a version gets otfd's default for it, not the other engine's version.
      const terraformDefault = (await createWorkspace(api, org, randomName('ws'), { engine: 'terraform' })).attributes['terraform-version'];
      const switched = await otf(['workspaces', 'update', `${org}/engines`, '--engine', 'terraform', '--name', 'engines-renamed']);
      assertOk(switched);
      assert.match(switched.stdout, /^name: engines-renamed$/m);
      assert.match(switched.stdout, /^engine: terraform$/m);
      const after = await getData(`/workspaces/${created.id}`);
      assert.equal(after.attributes.engine, 'terraform');
      assert.equal(after.attributes['terraform-version'], terraformDefault);
      assert.equal(after.attributes.name, 'engines-renamed');

      assertFailure(await otf(['workspaces', 'update', `${org}/engines-renamed`]), 2, /^otf: nothing to change: give at least one of --name, --execution-mode, .*--engine/);
      assertFailure(await otf(['workspaces', 'update', `${org}/engines-renamed`, '--engine', 'pulumi']), 2, 'otf: --engine: "pulumi" is not one of terraform, tofu');
      assertFailure(await otf(['workspaces', 'update', `${org}/engines-renamed`, '--execution-mode', 'remote', '--agent-pool', 'apool-x']), 2, 'otf: --agent-pool goes with execution mode agent, not remote');
      const refused = await api.patch(`/workspaces/${created.id}`, { data: { type: 'workspaces', attributes: { 'terraform-version': 'one' } } });
      assert.equal(refused.status, 422, refused.text);
      assertFailure(await otf(['workspaces', 'update', `${org}/engines-renamed`, '--terraform-version', 'one']), 1, `otf: ${refused.body.errors[0].detail}`);
      const help = await otf(['workspaces', 'update', '--help']);
      assertOk(help);
      assert.match(help.stdout, /^Usage: otf workspaces update <org>\/<ws> \[flags\]$/m);
      assert.match(help.stdout, /--engine <engine>/);
    });

    it('sets, lists, changes and deletes variables; sensitive values are never shown', async () => {
      const ws = await createWorkspace(api, org, 'vars');
      const name = `${org}/vars`;
      assertOk(await otf(['variables', 'set', name, 'region', 'eu-west-1']));
      assertOk(await otf(['variables', 'set', name, 'zones', '["a", "b"]', '--hcl']));
      assertOk(await otf(['variables', 'set', name, 'TF_LOG', 'info', '--env']));
      const secret = await otf(['variables', 'set', name, 'password', '-', '--sensitive'], { input: 'hunter2\n' });
      assertOk(secret);
      assert.match(secret.stdout, /^value: \(sensitive\)$/m);
      assert.doesNotMatch(secret.stdout, /hunter2/);

      const list = await otf(['variables', 'list', name]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.match(header, /^KEY\s+VALUE\s+CATEGORY\s+HCL\s+SENSITIVE\s+ID$/);
      assert.equal(rows.length, 4);
      assert.ok(rows.some((r) => /^region\s+eu-west-1\s+terraform\s+false\s+false\s+var-/.test(r)), list.stdout);
      assert.ok(rows.some((r) => /^zones\s+\["a", "b"\]\s+terraform\s+true\s+false\s/.test(r)), list.stdout);
      assert.ok(rows.some((r) => /^TF_LOG\s+info\s+env\s/.test(r)), list.stdout);
      assert.ok(rows.some((r) => /^password\s+\(sensitive\)\s+terraform\s+false\s+true\s/.test(r)), list.stdout);
      assert.doesNotMatch(list.stdout, /hunter2/);

      // Setting an existing key changes that variable.
      const before = (await api.get(`/workspaces/${ws.id}/vars`)).body.data.find((v: Json) => v.attributes.key === 'region');
      const changed = await otfJson(['variables', 'set', name, 'region', 'us-east-2']);
      assert.equal(changed.id, before.id);
      assert.equal(changed.attributes.value, 'us-east-2');

      const json = await otfJson(['variables', 'list', name]);
      assert.equal(json.length, 4);
      assert.equal(json.find((v: Json) => v.attributes.key === 'password').attributes.value, null);

      const deleted = await otf(['variables', 'delete', name, 'TF_LOG', '--env']);
      assertOk(deleted);
      assert.equal(deleted.stdout, `env variable "TF_LOG" deleted from workspace "${name}"\n`);
      assertFailure(await otf(['variables', 'delete', name, 'region', '--env']), 1, `otf: env variable "region" not found in workspace "${name}" (there is a terraform variable region: drop --env)`);
      const keys = (await api.get(`/workspaces/${ws.id}/vars`)).body.data.map((v: Json) => v.attributes.key).sort();
      assert.deepEqual(keys, ['password', 'region', 'zones']);
    });

    it('lists state versions, downloads one to stdout or a file, and rolls back to it', async () => {
      const ws = await createWorkspace(api, org, 'stateful');
      const name = `${org}/stateful`;
      const stateFile = (serial: number) =>
        JSON.stringify({ version: 4, terraform_version: '1.11.4', serial, lineage: 'otf-cli', outputs: { n: { value: serial, type: 'number' } }, resources: [], check_results: null }, null, 2) + '\n';
      // States are pushed under a lock, as terraform does.
      assertOk(await otf(['workspaces', 'lock', name]));
      const versions: Json[] = [];
      for (const serial of [1, 2]) {
        const content = stateFile(serial);
        const res = await api.post(`/workspaces/${ws.id}/state-versions`, {
          data: {
            type: 'state-versions',
            attributes: { serial, lineage: 'otf-cli', md5: crypto.createHash('md5').update(content).digest('hex'), state: Buffer.from(content).toString('base64') },
          },
        });
        assert.equal(res.status, 201, res.text);
        versions.push(res.body.data);
      }
      assertOk(await otf(['workspaces', 'unlock', name]));

      const list = await otf(['state', 'list', name]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.match(header, /^ID\s+SERIAL\s+STATUS\s+CREATED-AT\s+RUN\s+TERRAFORM-VERSION$/);
      assert.deepEqual(
        rows.map((r) => r.split(/\s+/).slice(0, 3)),
        [
          [versions[1].id, '2', 'finalized'],
          [versions[0].id, '1', 'finalized'],
        ],
      );

      const toStdout = await otf(['state', 'download', versions[0].id]);
      assertOk(toStdout);
      assert.equal(toStdout.stdout, stateFile(1));

      const file = path.join(fs.mkdtempSync(path.join(suite().tmp, 'otf-cli-')), 'state.json');
      const toFile = await otf(['state', 'download', versions[1].id, '--output', file]);
      assertOk(toFile);
      assert.equal(fs.readFileSync(file, 'utf8'), stateFile(2));
      assert.match(toFile.stdout, new RegExp(`^wrote state version ${versions[1].id} \\(serial 2, \\d+ bytes\\) to `));

      const rolled = await otf(['state', 'rollback', versions[0].id]);
      assertOk(rolled);
      assert.match(rolled.stdout, /^serial: 3$/m);
      const current = await getData(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(current.attributes.serial, 3);
      assert.match(rolled.stdout, new RegExp(`^id: ${current.id}$`, 'm'));
      const outputs = (await api.get(`/workspaces/${ws.id}/current-state-version-outputs`)).body.data;
      assert.equal(outputs[0].attributes.value, 1);

      assertFailure(await otf(['state', 'download', 'sv-doesnotexist']), 1, 'otf: state version "sv-doesnotexist" not found');
    });
  });

  // ------------------------------------------------------------ runs

  describe('VCS providers', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(api);
    });

    it('creates VCS providers with the token from stdin or --token-file (never an argument), lists and deletes them', async () => {
      const token = `ghp_${crypto.randomBytes(12).toString('hex')}`;
      const made = await otf(['vcs-providers', 'create', '--organization', org, '--service-provider', 'github', '--name', 'gh'], { input: `${token}\n` });
      assertOk(made);
      assert.match(made.stdout, /^service-provider: github$/m);
      assert.match(made.stdout, /^api-url: https:\/\/api\.github\.com$/m);
      assert.match(made.stdout, /^oauth-token: ot-\S+$/m);
      assert.ok(!made.stdout.includes(token), 'the token is not shown');
      const id = /^id: (oc-\S+)$/m.exec(made.stdout)?.[1];
      assert.ok(id, made.stdout);

      const file = path.join(suite().tmp, `vcs-token-${crypto.randomBytes(4).toString('hex')}`);
      fs.writeFileSync(file, 'glpat-fromafile\n', { mode: 0o600 });
      const fromFile = await otfJson(['vcs-providers', 'create', '--organization', org, '--service-provider', 'gitlab_enterprise_edition',
        '--api-url', 'https://gitlab.example.com/api/v4', '--http-url', 'https://gitlab.example.com', '--token-file', file]);
      fs.rmSync(file);
      assert.equal(fromFile.type, 'oauth-clients');
      assert.equal(fromFile.attributes['api-url'], 'https://gitlab.example.com/api/v4');
      assert.equal(fromFile.attributes['http-url'], 'https://gitlab.example.com');
      assert.ok(!JSON.stringify(fromFile).includes('glpat-fromafile'));

      const list = await otf(['vcs-providers', 'list', '--organization', org]);
      assertOk(list);
      const [header, ...rows] = linesOf(list.stdout);
      assert.match(header, /^ID\s+NAME\s+SERVICE-PROVIDER\s+HTTP-URL\s+OAUTH-TOKEN$/);
      assert.equal(rows.length, 2);
      assert.ok(rows.some((r) => new RegExp(`^${id}\\s+gh\\s+github\\s+https://github.com\\s+ot-`).test(r)), list.stdout);
      assert.ok(rows.some((r) => r.startsWith(fromFile.id) && /gitlab_enterprise_edition/.test(r)), list.stdout);

      const deleted = await otf(['vcs-providers', 'delete', id]);
      assertOk(deleted);
      assert.equal(deleted.stdout, `VCS provider ${id} ("gh") deleted\n`);
      assert.equal((await api.get(`/oauth-clients/${id}`)).status, 404);
      assert.equal((await otfJson(['vcs-providers', 'list', '--organization', org])).length, 1);
    });

    it('refuses a missing token, an unknown provider, an unreadable file and what the server refuses', async () => {
      const base = ['vcs-providers', 'create', '--organization', org];
      assertFailure(await otf([...base, '--service-provider', 'github'], { input: '' }), 2, /^otf: no access token: give it on standard input or in a file named by --token-file\n$/);
      const unknown = await otf([...base, '--service-provider', 'bitbucket_hosted'], { input: 'x' });
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(unknown.stderr, /github_enterprise/);
      assertFailure(await otf([...base, '--service-provider', 'github', '--token-file', '/nonexistent/token']), 1, 'otf: cannot read --token-file /nonexistent/token: ENOENT\n'.trimEnd());
      const refused = await otf([...base, '--service-provider', 'forgejo'], { input: 'forgejo-token-secret' });
      assertFailure(refused, 1, /^otf: attribute "api-url" is required for forgejo/);
      assert.ok(!refused.stderr.includes('forgejo-token-secret'));
      const help = await otf(['vcs-providers', 'create', '--help']);
      assertOk(help);
      assert.match(help.stdout, /--token-file <path>/);
      assert.match(help.stdout, /never an argument/);
    });
  });

  describe('runs', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(api);
    });

    /** A workspace with `main.tf` uploaded, and a run of it; returns their ids. */
    async function startRun(mainTf: string, attributes: Record<string, unknown> = {}): Promise<{ ws: Json; runId: string }> {
      const ws = await createWorkspace(api, org, randomName('ws'), attributes);
      const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      assert.equal(cv.status, 201, cv.text);
      const put = await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': mainTf }));
      assert.equal(put.status, 200, put.text);
      const run = await api.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } });
      assert.equal(run.status, 201, run.text);
      return { ws, runId: run.body.data.id };
    }

    async function runStatus(id: string): Promise<string> {
      return (await getData(`/runs/${id}`)).attributes.status;
    }

    it('watch prints the plan and apply logs as they are written, and exits 0 with the final status', async () => {
      const { ws, runId } = await startRun(talkative(3), { 'auto-apply': true });
      const watch = startOtf(['runs', 'watch', runId]);

      await waitUntil('the first line of the apply to be printed', () => /\(local-exec\): tick-1$/m.test(watch.stdout()) || !watch.running(), 60_000, 100);
      assert.ok(watch.running(), `otf runs watch is still following the run when its first line arrives:\n${watch.stdout()}`);
      assert.doesNotMatch(watch.stdout(), /\(local-exec\): tick-3$/m, 'the last line is not written yet');
      assert.equal(await runStatus(runId), 'applying');

      const result = await watch.result;
      assertOk(result);
      const out = result.stdout;
      // The plan's log, then the apply's, in the order the engine wrote them.
      const plan = out.indexOf('Plan: 1 to add, 0 to change, 0 to destroy.');
      assert.ok(plan >= 0, `the plan log:\n${out}`);
      const ticks = ['tick-1', 'tick-2', 'tick-3'].map((t) => out.indexOf(`(local-exec): ${t}\n`));
      assert.ok(ticks.every((i, n) => i > plan && (n === 0 || i > ticks[n - 1])), `the apply log in order:\n${out}`);
      assert.match(out, /Apply complete! Resources: 1 added/);
      assert.ok(!out.includes('\u0002') && !out.includes('\u0003'), 'no framing bytes');
      assert.equal(linesOf(out).at(-1), 'status: applied');
      assert.equal(await runStatus(runId), 'applied');

      // The run, as otf lists and shows it.
      const runs = await otf(['runs', 'list', `${org}/${ws.attributes.name}`]);
      assertOk(runs);
      assert.match(linesOf(runs.stdout)[0], /^ID\s+STATUS\s+CREATED-AT\s+/);
      assert.match(linesOf(runs.stdout)[1], new RegExp(`^${runId}\\s+applied\\s`));
      const shown = await otf(['runs', 'show', runId]);
      assertOk(shown);
      assert.match(shown.stdout, /^status: applied$/m);
      assert.match(shown.stdout, new RegExp(`^workspace: ${ws.id}$`, 'm'));
    });

    it('watch exits 1 when the run errors, after printing its log and the final status', async () => {
      const { runId } = await startRun(talkative(0, 'echo giving-up; exit 3'), { 'auto-apply': true });
      const result = await otf(['runs', 'watch', runId]);
      assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /\(local-exec\): giving-up$/m);
      assert.equal(linesOf(result.stdout).at(-1), 'status: errored');
      assert.equal(await runStatus(runId), 'errored');
    });

    it('watch waits for a planned run to be confirmed with otf runs apply, and follows its apply; --json prints the final run', async () => {
      const { runId } = await startRun(talkative(0));
      const watch = startOtf(['runs', 'watch', runId]);
      await waitUntil('the run to wait for confirmation', () => watch.stdout().includes('waiting for confirmation') || !watch.running(), 60_000, 100);
      assert.ok(watch.running(), watch.stdout());
      assert.equal(await runStatus(runId), 'planned');
      assert.doesNotMatch(watch.stdout(), /\(local-exec\): tick-1$/m);

      const confirmed = await otf(['runs', 'apply', runId, '--comment', 'looks good']);
      assertOk(confirmed);
      assert.equal(confirmed.stdout, `run ${runId} confirmed: its apply is queued\n`);

      const result = await watch.result;
      assertOk(result);
      assert.match(result.stdout, /\(local-exec\): tick-3$/m);
      assert.equal(linesOf(result.stdout).at(-1), 'status: applied');

      // With --json, the logs go to stderr and the run to stdout.
      const json = await otf(['runs', 'watch', runId, '--json']);
      assert.equal(json.code, 0, json.stderr);
      assert.match(json.stderr, /\(local-exec\): tick-3$/m);
      const run = JSON.parse(json.stdout);
      assert.equal(run.id, runId);
      assert.equal(run.attributes.status, 'applied');
    });

    it('watch exits 1 for a discarded run; discard and cancel through otf', async () => {
      const { ws, runId } = await startRun(talkative(0));
      await waitUntil('the run to be planned', async () => (await runStatus(runId)) === 'planned', 60_000, 100);
      const watch = startOtf(['runs', 'watch', runId]);
      await waitUntil('the plan log to be printed', () => watch.stdout().includes('waiting for confirmation') || !watch.running(), 60_000, 100);

      const discarded = await otf(['runs', 'discard', runId]);
      assertOk(discarded);
      const result = await watch.result;
      assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
      assert.equal(linesOf(result.stdout).at(-1), 'status: discarded');

      // A second run, canceled while it executes.
      const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
      assert.equal((await uploadTarball(api, cv.body.data, configTarball({ 'main.tf': talkative(30) }))).status, 200);
      await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'auto-apply': true } } });
      const second = (await api.post('/runs', { data: { type: 'runs', relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } })).body.data.id;
      const watching = startOtf(['runs', 'watch', second]);
      await waitUntil('the apply to start', () => /\(local-exec\): tick-1$/m.test(watching.stdout()) || !watching.running(), 60_000, 100);
      const canceled = await otfJson(['runs', 'cancel', second]);
      assert.equal(canceled.id, second);
      const end = await watching.result;
      assert.equal(end.code, 1, `${end.stdout}\n${end.stderr}`);
      assert.equal(linesOf(end.stdout).at(-1), 'status: canceled');
      assert.doesNotMatch(end.stdout, /\(local-exec\): tick-2$/m);

      assertFailure(await otf(['runs', 'watch', 'run-doesnotexist']), 1, 'otf: run "run-doesnotexist" not found');
    });
  });
});
