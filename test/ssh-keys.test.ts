// SSH keys as a client and a run see them: an organization's keys through /organizations/:org/
// ssh-keys and /ssh-keys/:id, their private key write-only and encrypted in the database, bad
// input and other organizations' ids refused; a workspace's ssh-key relationship; and remote runs
// that fetch a git::ssh:// module from a real SSH server on localhost with the workspace's key,
// which is on disk only while the job needs it and in no log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { parseArguments } from '../src/agent/git-ssh.js';
import { createLogger } from '../src/logger.js';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { killLeftoverAgents, startAgent } from './helpers/agent.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { createTeam, createUser, addToOrganization, organizationToken } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { createGitRepository, generateKeyPair, startSshGitServer, uploadPackPath, type SshGitServer } from './helpers/ssh-git-server.js';
import { configTarball, rawRequest, uploadTarball } from './helpers/tarball.js';
import { sleep, waitFor } from './helpers/wait.js';
import { suite } from './hooks.js';

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

function keyDoc(attributes: Record<string, unknown>): Json {
  return { data: { type: 'ssh-keys', attributes } };
}

function assignDoc(id: string | null): Json {
  return { data: { type: 'workspaces', attributes: { id } } };
}

/** The lines of a private key that hold key material: none of them may appear anywhere. */
function secretLines(privateKey: string): string[] {
  return privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
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
  return { logger: createLogger('info', 'otfd', stream), text };
}

describe('SSH keys API', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let sql: pg.Client;
  let org: string;
  const { privateKey } = generateKeyPair();

  before(async () => {
    server = await startServer();
    api = server.api;
    sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    org = await createOrganization(api);
  });
  after(async () => {
    await sql?.end();
    await server?.stop();
  });

  async function createKey(attributes: Record<string, unknown> = {}, organization = org, client = api): Promise<Json> {
    const res = await client.post(`/organizations/${organization}/ssh-keys`, keyDoc({ name: randomName('key'), value: privateKey, ...attributes }));
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  it('creates, lists, shows, renames and deletes a key, never showing its value', async () => {
    const created = await createKey({ name: 'deploy key' });
    assert.equal(created.type, 'ssh-keys');
    assert.match(created.id, /^sshkey-/);
    assert.deepEqual(created.attributes, { name: 'deploy key' });
    assert.equal(created.links.self, `/api/v2/ssh-keys/${created.id}`);

    const listed = await api.get(`/organizations/${org}/ssh-keys`);
    assert.equal(listed.status, 200, listed.text);
    assert.ok(listed.body.data.some((k: Json) => k.id === created.id && k.attributes.name === 'deploy key'));
    assert.equal(listed.body.meta.pagination['total-count'], listed.body.data.length);

    const shown = await api.get(`/ssh-keys/${created.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(shown.body.data.attributes, { name: 'deploy key' });

    // go-tfe's update sends the name only, with the key's id
    const renamed = await api.patch(`/ssh-keys/${created.id}`, { data: { type: 'ssh-keys', id: created.id, attributes: { name: 'renamed' } } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.data.attributes.name, 'renamed');
    const revalued = await api.patch(`/ssh-keys/${created.id}`, keyDoc({ value: generateKeyPair().privateKey }));
    assert.equal(revalued.status, 200, revalued.text);
    assert.equal(revalued.body.data.attributes.name, 'renamed');

    for (const res of [listed, shown, renamed, revalued]) {
      for (const line of secretLines(privateKey)) assert.ok(!res.text.includes(line), 'an answer holds key material');
      assert.doesNotMatch(res.text, /PRIVATE KEY|"value"/);
    }

    assert.equal((await api.delete(`/ssh-keys/${created.id}`)).status, 204);
    assertError(await api.get(`/ssh-keys/${created.id}`), 404, /ssh key "sshkey-\S+" not found/);
    assertError(await api.delete(`/ssh-keys/${created.id}`), 404, /not found/);
  });

  it('keeps the private key encrypted in the database, bound to its key', async () => {
    const key = await createKey();
    const { rows } = await sql.query('SELECT s::text AS t, encrypted_value FROM ssh_keys s WHERE id = $1', [key.id]);
    assert.equal(rows.length, 1);
    for (const line of secretLines(privateKey)) {
      assert.ok(!rows[0].t.includes(line), 'the row holds key material in plaintext');
      assert.ok(!rows[0].t.includes(Buffer.from(line).toString('hex')), 'the row holds key material in plaintext bytes');
    }
    assert.ok((rows[0].encrypted_value as Buffer).length > Buffer.byteLength(privateKey), 'the sealed value carries the whole key');
  });

  it('takes any text as the value, as Terraform Cloud does (a run that needs it says it is no key)', async () => {
    // go-tfe's own tests create keys with a random string for a value
    const key = await createKey({ value: 'not a key at all' });
    assert.deepEqual(Object.keys(key.attributes), ['name']);
  });

  it('refuses bad input with a 4xx that says what is wrong, and never quotes the value', async () => {
    const path = `/organizations/${org}/ssh-keys`;
    assertError(await api.post(path, keyDoc({ name: 'k' })), 422, /attribute "value" is required/, { pointer: '/data/attributes/value' });
    assertError(await api.post(path, keyDoc({ value: privateKey })), 422, /name/);
    assertError(await api.post(path, keyDoc({ name: 'k', value: 42 })), 422, /must be the text of an SSH private key/, { pointer: '/data/attributes/value' });
    assertError(await api.post(path, keyDoc({ name: 'k', value: '' })), 422, /must be the text of an SSH private key/);
    assertError(await api.post(path, keyDoc({ name: 'k', value: '   \n' })), 422, /it is empty/);
    assertError(await api.post(path, keyDoc({ name: '', value: privateKey })), 422, /1 to 256 characters/);
    assertError(await api.post(path, keyDoc({ name: 'x'.repeat(257), value: privateKey })), 422, /1 to 256 characters/);
    const huge = await api.post(path, keyDoc({ name: 'k', value: `${privateKey}${'A'.repeat(70 * 1024)}` }));
    assertError(huge, 422, /a private key may be at most 65536 bytes/, { pointer: '/data/attributes/value' });
    assert.ok(!huge.text.includes('AAAAAAAAAA'), 'the refusal does not quote the value');
    const nul = await api.post(path, keyDoc({ name: 'k', value: `${privateKey}\u0000` }));
    assert.ok(nul.status >= 400 && nul.status < 500 && nul.body.errors[0].detail, nul.text);
    assert.ok(!nul.text.includes(secretLines(privateKey)[0]), 'the refusal does not quote the value');
    assertError(await api.post(path, { data: { type: 'vars', attributes: { name: 'k', value: privateKey } } }), 422, /type/);
    assertError(await api.post(path, { data: [] }), 422, /object/);
    const malformed = await api.request('POST', path, { raw: '{"data": {' });
    assert.equal(malformed.status, 400, malformed.text);
    const key = await createKey();
    assertError(await api.patch(`/ssh-keys/${key.id}`, keyDoc({ name: 'k\u0000' })), 422, /must not contain NUL characters/, { pointer: '/data/attributes/name' });
    assertError(await api.patch(`/ssh-keys/${key.id}`, keyDoc({ value: 'x'.repeat(65 * 1024) })), 422, /at most 65536 bytes/);
    assertError(await api.get(`/organizations/no-such-org/ssh-keys`), 404, /organization "no-such-org" not found/);
    assertError(await api.get('/ssh-keys/sshkey-nonexisting'), 404, /not found/);
  });

  it('another organization’s keys are not there for its members (404), nor may they be assigned to its workspaces', async () => {
    const key = await createKey();
    const ws = await createWorkspace(api, org);
    const stranger = await createUser(api);
    const otherOrg = randomName();
    const made = await stranger.client.post('/organizations', { data: { type: 'organizations', attributes: { name: otherOrg, email: `${otherOrg}@example.com` } } });
    assert.equal(made.status, 201, made.text);
    const theirKey = await createKey({}, otherOrg, stranger.client);
    const theirWs = await createWorkspace(stranger.client, otherOrg);

    assertError(await stranger.client.get(`/ssh-keys/${key.id}`), 404, /not found/);
    assertError(await stranger.client.patch(`/ssh-keys/${key.id}`, keyDoc({ name: 'mine' })), 404, /not found/);
    assertError(await stranger.client.delete(`/ssh-keys/${key.id}`), 404, /not found/);
    assertError(await stranger.client.get(`/organizations/${org}/ssh-keys`), 404, /not found/);
    assertError(await stranger.client.post(`/organizations/${org}/ssh-keys`, keyDoc({ name: 'k', value: privateKey })), 404, /not found/);
    // A key of one organization given to a workspace of another: as if it did not exist.
    assertError(await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(theirKey.id)), 404, /ssh key "sshkey-\S+" not found/);
    assertError(await stranger.client.patch(`/workspaces/${theirWs.id}/relationships/ssh-key`, assignDoc(key.id)), 404, /not found/);
    assertError(await stranger.client.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(theirKey.id)), 404, /workspace/);
    assert.equal((await api.get(`/ssh-keys/${key.id}`)).body.data.attributes.name, key.attributes.name, 'the key is unchanged');
  });

  it('an organization token may not use the SSH keys API (403), as in Terraform Cloud', async () => {
    const orgApi = await organizationToken(api, org);
    const key = await createKey();
    assertError(await orgApi.get(`/organizations/${org}/ssh-keys`), 403, /an organization token may not read SSH keys/);
    assertError(await orgApi.get(`/ssh-keys/${key.id}`), 403, /may not read SSH keys/);
    assertError(await orgApi.post(`/organizations/${org}/ssh-keys`, keyDoc({ name: 'k', value: privateKey })), 403, /may not manage SSH keys/);
  });

  it('lets teams with manage-vcs-settings manage keys, and workspace admins read them', async () => {
    const key = await createKey();
    const vcs = await createUser(api);
    await addToOrganization(api, org, vcs, [(await createTeam(api, org, { 'manage-vcs-settings': true })).id]);
    const vcsKey = await createKey({}, org, vcs.client);
    assert.equal((await vcs.client.delete(`/ssh-keys/${vcsKey.id}`)).status, 204);

    const member = await createUser(api);
    await addToOrganization(api, org, member);
    assertError(await member.client.get(`/organizations/${org}/ssh-keys`), 403, /to read SSH keys you need the manage-vcs-settings organization permission, or admin access to a workspace/);
    const adminTeam = await createTeam(api, org);
    const ws = await createWorkspace(api, org);
    const grant = await api.post('/team-workspaces', {
      data: { type: 'team-workspaces', attributes: { access: 'admin' }, relationships: { team: { data: { type: 'teams', id: adminTeam.id } }, workspace: { data: { type: 'workspaces', id: ws.id } } } },
    });
    assert.equal(grant.status, 201, grant.text);
    const wsAdmin = await createUser(api);
    await addToOrganization(api, org, wsAdmin, [adminTeam.id]);
    assert.equal((await wsAdmin.client.get(`/organizations/${org}/ssh-keys`)).status, 200);
    assert.equal((await wsAdmin.client.get(`/ssh-keys/${key.id}`)).status, 200);
    assertError(await wsAdmin.client.delete(`/ssh-keys/${key.id}`), 403, /to manage SSH keys you need the manage-vcs-settings organization permission/);
    // ... and give one to the workspace they administer
    const assigned = await wsAdmin.client.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(key.id));
    assert.equal(assigned.status, 200, assigned.text);
  });

  it('assigns a key to a workspace and unassigns it, as go-tfe does; deleting the key unassigns it', async () => {
    const key = await createKey();
    const ws = await createWorkspace(api, org);
    assert.deepEqual((await api.get(`/workspaces/${ws.id}`)).body.data.relationships['ssh-key'], { data: null });

    const assigned = await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(key.id));
    assert.equal(assigned.status, 200, assigned.text);
    assert.deepEqual(assigned.body.data.relationships['ssh-key'], { data: { type: 'ssh-keys', id: key.id } });
    assert.deepEqual((await api.get(`/workspaces/${ws.id}`)).body.data.relationships['ssh-key'], { data: { type: 'ssh-keys', id: key.id } });

    const unassigned = await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(null));
    assert.equal(unassigned.status, 200, unassigned.text);
    assert.deepEqual(unassigned.body.data.relationships['ssh-key'], { data: null });

    assert.equal((await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(key.id))).status, 200);
    assert.equal((await api.delete(`/ssh-keys/${key.id}`)).status, 204);
    assert.deepEqual((await api.get(`/workspaces/${ws.id}`)).body.data.relationships['ssh-key'], { data: null });

    assertError(await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(key.id)), 404, /ssh key "sshkey-\S+" not found/);
    assertError(await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, { data: { type: 'workspaces', attributes: {} } }), 422, /id/);
    assertError(await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc('')), 422, /must be the id of an SSH key, or null/);
    assertError(await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, { data: { type: 'ssh-keys', attributes: { id: key.id } } }), 422, /type/);
    assertError(await api.patch('/workspaces/ws-nonexisting/relationships/ssh-key', assignDoc(key.id)), 404, /workspace/);
  });
});

describe('git-ssh: the ssh program of runs', () => {
  it('reads the arguments git passes to an OpenSSH-like program', () => {
    assert.deepEqual(parseArguments(['-i', '/k', '-o', 'SendEnv=GIT_PROTOCOL', '-p', '2222', 'git@127.0.0.1', "git-upload-pack '/repo'"], 'me'), {
      keyFile: '/k',
      port: 2222,
      user: 'git',
      host: '127.0.0.1',
      command: "git-upload-pack '/repo'",
    });
    assert.deepEqual(parseArguments(['-4', '[::1]', 'git-upload-pack', "'/r'"], 'me'), { keyFile: null, port: 22, user: 'me', host: '::1', command: "git-upload-pack '/r'" });
    assert.match(String(parseArguments(['-p', 'x', 'h', 'c'])), /bad port "x"/);
    assert.match(String(parseArguments(['-X', 'y', 'h', 'c'])), /unknown option -X/);
    assert.match(String(parseArguments(['host'])), /usage/);
  });

  it('the test server runs git-upload-pack only', () => {
    assert.equal(uploadPackPath("git-upload-pack '/a/b.git'"), '/a/b.git');
    for (const other of ["git-receive-pack '/a'", "git-upload-pack '/a'; rm -rf /", 'sh -c id', "git-upload-pack '/a' '/b'"]) assert.equal(uploadPackPath(other), null, other);
  });
});

describe('runs fetch git::ssh:// modules with the workspace’s SSH key (real SSH server; server agent and otf-agent)', function () {
  this.timeout(180_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let git: SshGitServer;
  let repository: string;
  let log: ReturnType<typeof capturedLogger>;
  const keys = generateKeyPair();

  before(async () => {
    log = capturedLogger();
    server = await startServer({ ssl: true, config: { concurrency: 2 }, logger: log.logger });
    api = server.api;
    org = await createOrganization(api);
    const root = fs.mkdtempSync(path.join(suite().tmp, 'git-'));
    repository = createGitRepository(root, 'modules/greeting.git', fixtureFiles('ssh-module-repo'));
    git = await startSshGitServer({ authorizedKey: keys.publicKey, root });
  });
  after(async () => {
    await killLeftoverAgents();
    await server?.stop();
    await git?.stop();
  });

  /** A workspace with the ssh-module configuration uploaded, and the key given (or none). */
  async function workspaceWithModule(key: string | null): Promise<Json> {
    const ws = await createWorkspace(api, org);
    if (key !== null) {
      const created = await api.post(`/organizations/${org}/ssh-keys`, keyDoc({ name: randomName('key'), value: key }));
      assert.equal(created.status, 201, created.text);
      const assigned = await api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, assignDoc(created.body.data.id));
      assert.equal(assigned.status, 200, assigned.text);
    }
    const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assert.equal(cv.status, 201, cv.text);
    const files = fixtureFiles('ssh-module', { port: git.port, repository });
    assert.equal((await uploadTarball(api, cv.body.data, configTarball(files))).status, 200);
    return ws;
  }

  async function startRun(wsId: string): Promise<Json> {
    const res = await api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  async function finalRun(id: string, timeoutMs = 120_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await api.get(`/runs/${id}`);
      assert.equal(res.status, 200, res.text);
      if (FINAL.includes(res.body.data.attributes.status)) return res.body.data;
      if (Date.now() > deadline) assert.fail(`run ${id} is still ${res.body.data.attributes.status}`);
      await sleep(200);
    }
  }

  async function phaseLog(kind: 'plans' | 'applies', id: string): Promise<string> {
    const phase = await api.get(`/${kind}/${id}`);
    const url = new URL(phase.body.data.attributes['log-read-url']);
    url.search = '?limit=1048576&offset=0';
    return (await rawRequest(api, 'GET', url.toString())).text;
  }

  /** A log with its line breaks as spaces: terraform wraps its error messages. */
  function unwrapped(text: string): string {
    return text.replace(/\s+/g, ' ');
  }

  /** Every file under the job folders of a process (otfd's server agent keeps them in this process's). */
  function jobFolderFiles(tmp = os.tmpdir(), owner = `otfd-${process.pid}-`): string[] {
    const parent = path.join(tmp, `otf-jobs-${process.getuid!()}`);
    const files: string[] = [];
    for (const entry of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
      if (!entry.startsWith(owner)) continue;
      for (const f of fs.readdirSync(path.join(parent, entry), { recursive: true, encoding: 'utf8' })) {
        const full = path.join(parent, entry, f);
        if (fs.statSync(full, { throwIfNoEntry: false })?.isFile()) files.push(full);
      }
    }
    return files;
  }

  it('plans and applies with the module fetched over SSH; the key file is gone after the job and the key is in no log', async () => {
    const ws = await workspaceWithModule(keys.privateKey);
    const before = git.authenticated;
    const run = await finalRun((await startRun(ws.id)).id);
    const plan = await phaseLog('plans', run.relationships.plan.data.id);
    const apply = await phaseLog('applies', run.relationships.apply.data.id);
    assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}\n--- plan\n${plan}\n--- apply\n${apply}`);

    // the module's output is in the workspace's state
    const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
    assert.equal(current.status, 200, current.text);
    const outputs = await api.get(`/state-versions/${current.body.data.id}/outputs`);
    assert.deepEqual(
      outputs.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]),
      [['greeting', 'hello from ssh']],
    );
    // fetched from our server, with the key: once for the plan's init, once for the apply's
    assert.ok(git.authenticated >= before + 2, `the SSH server let the key in ${git.authenticated - before} times`);
    assert.ok(git.commands.some((c) => c === `git-upload-pack '${repository}'`), git.commands.join('\n'));

    // no key file left, and the key in no file of the job folders, in no log of otfd or of the run
    const secret = secretLines(keys.privateKey);
    for (const file of jobFolderFiles()) {
      assert.notEqual(path.basename(file), 'ssh-key', `${file} is left`);
      const text = fs.readFileSync(file, 'latin1');
      for (const line of secret) assert.ok(!text.includes(line), `${file} holds key material`);
    }
    const logs = log.text.join('');
    assert.match(logs, /job finished/, 'the server agent logged its jobs');
    for (const line of secret) {
      assert.ok(!logs.includes(line), 'otfd logged key material');
      assert.ok(!plan.includes(line) && !apply.includes(line), 'the run logs hold key material');
    }
  });

  it('init runs without workspace variables that could run code while the key is on disk (NODE_OPTIONS, LD_PRELOAD, PATH); the run still applies', async () => {
    const ws = await workspaceWithModule(keys.privateKey);
    // A would-be thief: Node code that copies the key file our ssh program is given with -i.
    const dir = fs.mkdtempSync(path.join(suite().tmp, 'thief-'));
    const stolen = path.join(dir, 'stolen');
    const thief = path.join(dir, 'thief.cjs');
    fs.writeFileSync(thief, `const i = process.argv.indexOf('-i'); if (i > 0) require('fs').copyFileSync(process.argv[i + 1], ${JSON.stringify(stolen)});\n`);
    for (const [key, value] of [['NODE_OPTIONS', `--require ${thief}`], ['LD_PRELOAD', path.join(dir, 'none.so')], ['PATH', dir]]) {
      const res = await api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key, value, category: 'env' } } });
      assert.equal(res.status, 201, res.text);
    }
    const run = await finalRun((await startRun(ws.id)).id);
    const plan = await phaseLog('plans', run.relationships.plan.data.id);
    assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}\n--- plan\n${plan}`);
    assert.ok(!fs.existsSync(stolen), 'a workspace variable let code read the SSH key');
    assert.match(unwrapped(plan), /init runs without the workspace's environment variables LD_PRELOAD, NODE_OPTIONS, PATH/);
  });

  it('the key is in a file only its owner may read while init fetches, and gone once the job is canceled there', async () => {
    const ws = await workspaceWithModule(keys.privateKey);
    const asked = git.commands.length;
    const release = git.hold();
    try {
      const run = await startRun(ws.id);
      await waitFor('the run to ask the SSH server for the module', async () => git.commands.length > asked);
      const keyFiles = jobFolderFiles().filter((f) => path.basename(f) === 'ssh-key');
      assert.equal(keyFiles.length, 1, `one key file while init runs: ${keyFiles.join(', ')}`);
      assert.equal(fs.statSync(keyFiles[0]).mode & 0o777, 0o600);
      assert.ok(fs.readFileSync(keyFiles[0], 'utf8') === keys.privateKey, 'the file holds the workspace key');

      const canceled = await api.post(`/runs/${run.id}/actions/cancel`, {});
      assert.equal(canceled.status, 202, canceled.text);
      release();
      const ended = await finalRun(run.id);
      assert.ok(['canceled', 'errored'].includes(ended.attributes.status), ended.attributes.status);
      await waitFor('the job folder to go', async () => !fs.existsSync(path.dirname(keyFiles[0])));
      assert.deepEqual(
        jobFolderFiles().filter((f) => path.basename(f) === 'ssh-key'),
        [],
      );
    } finally {
      release();
    }
  });

  it('without a key assigned, the run errors at init with a line saying the workspace has no SSH key', async () => {
    const ws = await workspaceWithModule(null);
    const run = await finalRun((await startRun(ws.id)).id);
    const plan = await phaseLog('plans', run.relationships.plan.data.id);
    assert.equal(run.attributes.status, 'errored', plan);
    assert.match(unwrapped(plan), /otf git-ssh: cannot fetch from 127\.0\.0\.1 over SSH: this workspace has no SSH key\. Assign one/, plan);
    assert.match(plan, /init failed/, plan);
  });

  it('with a key the server does not know, or a value that is no key, the run errors at init saying so', async () => {
    const stranger = await workspaceWithModule(generateKeyPair().privateKey);
    const refused = await finalRun((await startRun(stranger.id)).id);
    const refusedLog = await phaseLog('plans', refused.relationships.plan.data.id);
    assert.equal(refused.attributes.status, 'errored', refusedLog);
    assert.match(unwrapped(refusedLog), /cannot connect to git@127\.0\.0\.1:\d+: All configured authentication methods failed/, refusedLog);

    const garbage = await workspaceWithModule('not a key at all');
    const errored = await finalRun((await startRun(garbage.id)).id);
    const erroredLog = await phaseLog('plans', errored.relationships.plan.data.id);
    assert.equal(errored.attributes.status, 'errored', erroredLog);
    assert.match(unwrapped(erroredLog), /the workspace's SSH key is not a private key that can be used/, erroredLog);
    assert.doesNotMatch(erroredLog, /not a key at all/, 'the log does not quote the value');
  });

  it('a run on a pool agent (otf-agent) fetches the module with the key too, and leaves no key behind', async () => {
    const ws = await workspaceWithModule(keys.privateKey);
    const pool = await api.post(`/organizations/${org}/agent-pools`, {
      data: { type: 'agent-pools', attributes: { name: randomName('pool'), 'organization-scoped': false }, relationships: { 'allowed-workspaces': { data: [{ type: 'workspaces', id: ws.id }] } } },
    });
    assert.equal(pool.status, 201, pool.text);
    const moved = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'execution-mode': 'agent', 'agent-pool-id': pool.body.data.id } } });
    assert.equal(moved.status, 200, moved.text);
    const token = await api.post(`/agent-pools/${pool.body.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'ssh' } } });
    assert.equal(token.status, 201, token.text);
    const tmp = fs.mkdtempSync(path.join(suite().tmp, 'ssh-agent-'));
    const agent = startAgent(server, ['--token', token.body.data.attributes.token], { TMPDIR: tmp });
    await agent.waitForLog('registered; waiting for jobs');

    const before = git.authenticated;
    const run = await finalRun((await startRun(ws.id)).id);
    assert.equal(run.attributes.status, 'applied', `${run.attributes['error-message']}\n${await phaseLog('plans', run.relationships.plan.data.id)}\n${agent.describe()}`);
    const current = await api.get(`/workspaces/${ws.id}/current-state-version`);
    const outputs = await api.get(`/state-versions/${current.body.data.id}/outputs`);
    assert.deepEqual(
      outputs.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]),
      [['greeting', 'hello from ssh']],
    );
    assert.ok(git.authenticated >= before + 2, `the SSH server let the key in ${git.authenticated - before} times`);
    await agent.waitForLog((l) => l.msg === 'job finished' && l.run === run.id && l.phase === 'apply');

    const secret = secretLines(keys.privateKey);
    const files = jobFolderFiles(tmp, 'otf-agent-');
    for (const file of files) {
      assert.notEqual(path.basename(file), 'ssh-key', `${file} is left`);
      const text = fs.readFileSync(file, 'latin1');
      for (const line of secret) assert.ok(!text.includes(line), `${file} holds key material`);
    }
    const printed = agent.lines().join('\n');
    for (const line of secret) assert.ok(!printed.includes(line), 'otf-agent printed key material');
    agent.child.kill('SIGTERM');
    await agent.exited;
  });
});
