// The variables API as a client sees it over HTTP: creating, listing, showing, updating and
// deleting variables through /workspaces/:id/vars and the legacy /vars, sensitive values that
// never leave the server and are encrypted in the database, forRun decrypting them for a run,
// every kind of bad input, and what another organization's token gets.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import { SubjectCache } from '../src/auth/cache.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { OrganizationService } from '../src/orgs/service.js';
import { ProjectService } from '../src/projects/service.js';
import { createVariableDomain, type VariableDomain } from '../src/variables/index.js';
import { WorkspaceService } from '../src/workspaces/service.js';
import type { Api, Json, Response } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { organizationToken } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

const SECRET = `test-secret-${crypto.randomBytes(8).toString('hex')}`;

function varDoc(attributes: Record<string, unknown>, extra: Record<string, unknown> = {}): Json {
  return { data: { type: 'vars', attributes, ...extra } };
}

function workspaceRel(id: string): Json {
  return { workspace: { data: { type: 'workspaces', id } } };
}

/** A unique secret-looking value, easy to search for in responses and rows. */
function secretValue(): string {
  return `s3cr3t-${crypto.randomBytes(12).toString('hex')}`;
}

describe('variables API', function () {
  let server: TestServer;
  let api: Api;
  let sql: pg.Client;
  let db: Db;
  let domain: VariableDomain;
  let org: string;

  before(async () => {
    server = await startServer({ config: { secret: SECRET } });
    api = server.api;
    sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    // The same domain in-process, over the same database and secret, to call forRun.
    db = await openDatabase(server.databaseUrl, 2);
    const orgs = new OrganizationService(db);
    const workspaces = new WorkspaceService(db, orgs, new ProjectService(db, orgs), { engine: 'terraform', versions: { terraform: '1.11.4', tofu: '1.6.2' } }, new SubjectCache());
    domain = createVariableDomain({ db, secret: SECRET, site: { baseUrl: server.url, secret: SECRET }, orgs, workspaces });
    org = await createOrganization(api);
  });
  after(async () => {
    await sql?.end();
    await db?.destroy();
    await server?.stop();
  });

  async function newWorkspace(): Promise<{ id: string; name: string }> {
    const ws = await createWorkspace(api, org);
    return { id: ws.id, name: ws.attributes.name };
  }

  async function create(wsId: string, attributes: Record<string, unknown>): Promise<Json> {
    const res = await api.post(`/workspaces/${wsId}/vars`, varDoc(attributes));
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }

  /** The raw rows of a workspace's variables, as the database holds them. */
  async function rowsOf(wsId: string): Promise<Json[]> {
    const res = await sql.query('SELECT * FROM variables WHERE workspace_id = $1 ORDER BY key, category', [wsId]);
    return res.rows;
  }

  /** Every variable row rendered as text (bytea in hex), to search for a plaintext. */
  async function tableText(): Promise<string> {
    const res = await sql.query('SELECT v::text AS t FROM variables v');
    return res.rows.map((r: { t: string }) => r.t).join('\n');
  }

  function assertNotInDatabaseText(text: string, plaintext: string): void {
    assert.equal(text.includes(plaintext), false, 'the plaintext is in the variables table');
    assert.equal(text.includes(Buffer.from(plaintext).toString('hex')), false, 'the plaintext is in the variables table (as bytes)');
  }

  describe('through /workspaces/:id/vars', function () {
    it('creates a terraform variable with the shape Terraform Cloud returns (201)', async () => {
      const ws = await newWorkspace();
      const res = await api.post(
        `/workspaces/${ws.id}/vars`,
        varDoc({ key: 'region', value: 'eu-west-1', description: 'where', category: 'terraform', hcl: false, sensitive: false }),
      );
      assert.equal(res.status, 201, res.text);
      const data = res.body.data;
      assert.equal(data.type, 'vars');
      assert.match(data.id, /^var-[A-Za-z0-9]{16}$/);
      assert.deepEqual(
        { ...data.attributes, 'version-id': undefined, 'created-at': undefined },
        { key: 'region', value: 'eu-west-1', description: 'where', category: 'terraform', hcl: false, sensitive: false, 'version-id': undefined, 'created-at': undefined },
      );
      assert.match(data.attributes['version-id'], /^[0-9a-f]{40}$/);
      assert.match(data.attributes['created-at'], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      assert.deepEqual(data.relationships.configurable.data, { type: 'workspaces', id: ws.id });
      assert.deepEqual(data.relationships.workspace.data, { type: 'workspaces', id: ws.id });
      assert.equal(data.links.self, `/api/v2/workspaces/${ws.id}/vars/${data.id}`);
    });

    it('fills in the defaults: empty value and description, hcl and sensitive false', async () => {
      const ws = await newWorkspace();
      const data = await create(ws.id, { key: 'bare', category: 'env' });
      assert.equal(data.attributes.value, '');
      assert.equal(data.attributes.description, '');
      assert.equal(data.attributes.hcl, false);
      assert.equal(data.attributes.sensitive, false);
    });

    it('keeps a value exactly: newlines, quotes, backslashes, template sequences and unicode', async () => {
      const ws = await newWorkspace();
      const value = 'line 1\r\nline "2"\t\\ ${x} %{y}\nünïcødé ✓ 🦄\n';
      const data = await create(ws.id, { key: 'text', value, category: 'terraform' });
      assert.equal(data.attributes.value, value);
      const shown = await api.get(`/workspaces/${ws.id}/vars/${data.id}`);
      assert.equal(shown.body.data.attributes.value, value);
      assert.equal((await domain.forRun(ws.id))[0].value, value);
    });

    it('lists every variable of the workspace in one page, by key', async () => {
      const ws = await newWorkspace();
      const keys = Array.from({ length: 25 }, (_, i) => `v${String(i).padStart(2, '0')}`);
      for (const key of [...keys].reverse()) await create(ws.id, { key, value: key, category: 'terraform' });
      await create(ws.id, { key: 'v00', value: 'env', category: 'env' });
      const res = await api.get(`/workspaces/${ws.id}/vars`);
      assert.equal(res.status, 200, res.text);
      const items = res.body.data as Json[];
      assert.equal(items.length, 26);
      assert.deepEqual(items.map((v) => `${v.attributes.key}/${v.attributes.category}`).slice(0, 3), ['v00/env', 'v00/terraform', 'v01/terraform']);
      assert.equal(res.body.meta.pagination['total-count'], 26);
      assert.equal(res.body.meta.pagination['total-pages'], 1);
      assert.equal(res.body.meta.pagination['next-page'], null);
    });

    it('lists an empty workspace as an empty list', async () => {
      const ws = await newWorkspace();
      const res = await api.get(`/workspaces/${ws.id}/vars`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data, []);
      assert.equal(res.body.meta.pagination['total-count'], 0);
    });

    it('shows one variable', async () => {
      const ws = await newWorkspace();
      const created = await create(ws.id, { key: 'shown', value: '1', category: 'terraform', hcl: true });
      const res = await api.get(`/workspaces/${ws.id}/vars/${created.id}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data, created);
    });

    it('updates only what the document names, with a new version-id', async () => {
      const ws = await newWorkspace();
      const created = await create(ws.id, { key: 'size', value: 'small', description: 'how big', category: 'terraform' });
      const res = await api.patch(`/workspaces/${ws.id}/vars/${created.id}`, varDoc({ value: 'large' }, { id: created.id }));
      assert.equal(res.status, 200, res.text);
      const a = res.body.data.attributes;
      assert.equal(a.value, 'large');
      assert.equal(a.key, 'size');
      assert.equal(a.description, 'how big');
      assert.equal(a['created-at'], created.attributes['created-at']);
      assert.notEqual(a['version-id'], created.attributes['version-id']);

      const renamed = await api.patch(`/workspaces/${ws.id}/vars/${created.id}`, varDoc({ key: 'SIZE', category: 'env', description: null }));
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.data.attributes.key, 'SIZE');
      assert.equal(renamed.body.data.attributes.category, 'env');
      assert.equal(renamed.body.data.attributes.description, '');
      assert.equal(renamed.body.data.attributes.value, 'large');
    });

    it('deletes a variable (204) and then answers 404 for it', async () => {
      const ws = await newWorkspace();
      const created = await create(ws.id, { key: 'gone', value: 'x', category: 'terraform' });
      const res = await api.delete(`/workspaces/${ws.id}/vars/${created.id}`);
      assert.equal(res.status, 204, res.text);
      assertError(await api.get(`/workspaces/${ws.id}/vars/${created.id}`), 404, new RegExp(`variable "${created.id}" not found`));
      assertError(await api.delete(`/workspaces/${ws.id}/vars/${created.id}`), 404, /not found/);
      assert.deepEqual(await rowsOf(ws.id), []);
    });

    it("answers 404 for a variable addressed through another workspace's URL, and changes nothing", async () => {
      const a = await newWorkspace();
      const b = await newWorkspace();
      const created = await create(a.id, { key: 'mine', value: 'a', category: 'terraform' });
      assertError(await api.get(`/workspaces/${b.id}/vars/${created.id}`), 404, new RegExp(`variable "${created.id}" not found`));
      assertError(await api.patch(`/workspaces/${b.id}/vars/${created.id}`, varDoc({ value: 'b' })), 404, /not found/);
      assertError(await api.delete(`/workspaces/${b.id}/vars/${created.id}`), 404, /not found/);
      const rows = await rowsOf(a.id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].value, 'a');
    });

    it('removes the variables of a deleted workspace', async () => {
      const ws = await newWorkspace();
      await create(ws.id, { key: 'a', value: '1', category: 'terraform' });
      await create(ws.id, { key: 'b', value: secretValue(), category: 'env', sensitive: true });
      const res = await api.delete(`/workspaces/${ws.id}`);
      assert.equal(res.status, 204, res.text);
      assert.deepEqual(await rowsOf(ws.id), []);
    });
  });

  describe('through the legacy /vars', function () {
    it('creates a variable in the workspace its relationship names (201)', async () => {
      const ws = await newWorkspace();
      const res = await api.post('/vars', varDoc({ key: 'legacy', value: 'yes', category: 'terraform' }, { relationships: workspaceRel(ws.id) }));
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.relationships.configurable.data, { type: 'workspaces', id: ws.id });
      assert.equal((await rowsOf(ws.id)).length, 1);
    });

    it('lists the variables of a workspace named by organization and workspace name', async () => {
      const ws = await newWorkspace();
      await create(ws.id, { key: 'one', value: '1', category: 'terraform' });
      await create(ws.id, { key: 'TWO', value: '2', category: 'env' });
      const res = await api.get(`/vars?filter[organization][name]=${org}&filter[workspace][name]=${ws.name}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual((res.body.data as Json[]).map((v) => v.attributes.key), ['TWO', 'one']);
    });

    it('requires both filters with 400 naming the missing parameter', async () => {
      const ws = await newWorkspace();
      assertError(await api.get(`/vars?filter[workspace][name]=${ws.name}`), 400, /filter\[organization\]\[name\] is required/, {
        parameter: 'filter[organization][name]',
      });
      assertError(await api.get(`/vars?filter[organization][name]=${org}`), 400, /filter\[workspace\]\[name\] is required/, {
        parameter: 'filter[workspace][name]',
      });
    });

    it('answers 404 for an unknown organization or workspace name', async () => {
      assertError(await api.get(`/vars?filter[organization][name]=${randomName('nope')}&filter[workspace][name]=x`), 404, /organization ".*" not found/);
      assertError(await api.get(`/vars?filter[organization][name]=${org}&filter[workspace][name]=missing-ws`), 404, /workspace ".*missing-ws" not found/);
    });

    it('shows, updates and deletes a variable by /vars/:id', async () => {
      const ws = await newWorkspace();
      const created = await create(ws.id, { key: 'by_id', value: 'a', category: 'terraform' });
      const shown = await api.get(`/vars/${created.id}`);
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.body.data.attributes.value, 'a');
      const updated = await api.patch(`/vars/${created.id}`, varDoc({ value: 'b', hcl: true }, { id: created.id }));
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.data.attributes.value, 'b');
      assert.equal(updated.body.data.attributes.hcl, true);
      const deleted = await api.delete(`/vars/${created.id}`);
      assert.equal(deleted.status, 204, deleted.text);
      assertError(await api.get(`/vars/${created.id}`), 404, new RegExp(`variable "${created.id}" not found`));
      assert.deepEqual(await rowsOf(ws.id), []);
    });

    it('creates a variable in the workspace named by the query filters, as HashiCorp\'s API scripts send it (201)', async () => {
      const ws = await newWorkspace();
      // The script's body also repeats the filter in a top-level "filter" member.
      const body = {
        ...varDoc({ key: 'scripted', value: 'yes', category: 'env', sensitive: false, hcl: false }),
        filter: { organization: { username: org }, workspace: { name: ws.name } },
      };
      const res = await api.post(`/vars?filter%5Borganization%5D%5Bname%5D=${org}&filter%5Bworkspace%5D%5Bname%5D=${ws.name}`, body);
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.relationships.configurable.data, { type: 'workspaces', id: ws.id });
      assert.equal((await rowsOf(ws.id)).length, 1);
      // Filters naming no workspace, or one of another organization the caller cannot see: 404, nothing written.
      assertError(await api.post(`/vars?filter[organization][name]=${org}&filter[workspace][name]=nope`, body), 404, /not found/);
      const stranger = await organizationToken(api, await createOrganization(api));
      assertError(await stranger.post(`/vars?filter[organization][name]=${org}&filter[workspace][name]=${ws.name}`, body), 404, /not found/);
      assert.equal((await rowsOf(ws.id)).length, 1);
    });

    it('requires the workspace, by relationship or by both query filters (422), and writes nothing', async () => {
      const res = await api.post('/vars', varDoc({ key: 'orphan', value: 'x', category: 'terraform' }));
      assertError(res, 422, /name the workspace: with relationships\.workspace, or with the query parameters/, { pointer: '/data/relationships/workspace' });
      const res2 = await api.post(`/vars?filter[organization][name]=${org}`, varDoc({ key: 'orphan', value: 'x', category: 'terraform' }, { relationships: {} }));
      assertError(res2, 422, /name the workspace/, { pointer: '/data/relationships/workspace' });
      assert.equal((await sql.query(`SELECT count(*)::int AS n FROM variables WHERE key = 'orphan'`)).rows[0].n, 0);
    });

    it('answers 404 for a relationship naming an unknown workspace', async () => {
      const res = await api.post('/vars', varDoc({ key: 'k', value: 'x', category: 'terraform' }, { relationships: workspaceRel('ws-doesnotexist0000') }));
      assertError(res, 404, /workspace "ws-doesnotexist0000" not found/);
    });
  });

  describe('sensitive variables', function () {
    it('never return the value: not on create, list, show or update, by either URL family', async () => {
      const ws = await newWorkspace();
      const value = secretValue();
      const res = await api.post(`/workspaces/${ws.id}/vars`, varDoc({ key: 'password', value, category: 'terraform', sensitive: true }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.attributes.value, null);
      assert.equal(res.body.data.attributes.sensitive, true);
      const id = res.body.data.id;
      const responses = [
        res,
        await api.get(`/workspaces/${ws.id}/vars`),
        await api.get(`/workspaces/${ws.id}/vars/${id}`),
        await api.get(`/vars?filter[organization][name]=${org}&filter[workspace][name]=${ws.name}`),
        await api.get(`/vars/${id}`),
        await api.patch(`/workspaces/${ws.id}/vars/${id}`, varDoc({ description: 'still secret' })),
        await api.patch(`/vars/${id}`, varDoc({ hcl: true })),
      ];
      for (const r of responses) {
        assert.equal(r.status < 300, true, r.text);
        assert.equal(r.text.includes(value), false, `the value leaked in ${r.text}`);
        const items = Array.isArray(r.body.data) ? r.body.data : [r.body.data];
        for (const item of items) assert.equal(item.attributes.value, null);
      }
    });

    it('are stored only as ciphertext: the plaintext is nowhere in the row', async () => {
      const ws = await newWorkspace();
      const value = secretValue();
      const created = await create(ws.id, { key: 'TOKEN', value, category: 'env', sensitive: true });
      const [row] = await rowsOf(ws.id);
      assert.equal(row.id, created.id);
      assert.equal(row.value, null);
      assert.ok(Buffer.isBuffer(row.encrypted_value));
      assert.equal((row.encrypted_value as Buffer).includes(Buffer.from(value)), false);
      assert.equal(JSON.stringify(row).includes(value), false);
      assertNotInDatabaseText(await tableText(), value);
    });

    it('forRun returns the decrypted values, with the other variables as they are', async () => {
      const ws = await newWorkspace();
      const secret = secretValue();
      const envSecret = secretValue();
      await create(ws.id, { key: 'db_password', value: secret, category: 'terraform', sensitive: true });
      await create(ws.id, { key: 'AWS_SECRET', value: envSecret, category: 'env', sensitive: true });
      await create(ws.id, { key: 'tags', value: '{ a = 1 }', category: 'terraform', hcl: true });
      assert.deepEqual(await domain.forRun(ws.id), [
        { key: 'AWS_SECRET', value: envSecret, category: 'env', hcl: false, sensitive: true },
        { key: 'db_password', value: secret, category: 'terraform', hcl: false, sensitive: true },
        { key: 'tags', value: '{ a = 1 }', category: 'terraform', hcl: true, sensitive: false },
      ]);
      assert.deepEqual(await domain.forRun('ws-unknown'), []);
    });

    it('keep their value when updated without one, and take a new one when given', async () => {
      const ws = await newWorkspace();
      const first = secretValue();
      const created = await create(ws.id, { key: 'api_key', value: first, category: 'terraform', sensitive: true });
      const [before] = await rowsOf(ws.id);

      const kept = await api.patch(`/workspaces/${ws.id}/vars/${created.id}`, varDoc({ description: 'rotated soon', key: 'api_key2' }));
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.body.data.attributes.value, null);
      assert.equal((await domain.forRun(ws.id))[0].value, first);
      const [after] = await rowsOf(ws.id);
      assert.deepEqual(after.encrypted_value, before.encrypted_value);

      const second = secretValue();
      const changed = await api.patch(`/workspaces/${ws.id}/vars/${created.id}`, varDoc({ value: second }));
      assert.equal(changed.status, 200, changed.text);
      assert.equal(changed.text.includes(second), false);
      assert.equal((await domain.forRun(ws.id))[0].value, second);
      assertNotInDatabaseText(await tableText(), second);
    });

    it('can be made from a non-sensitive variable, which drops the plaintext', async () => {
      const ws = await newWorkspace();
      const value = secretValue();
      const created = await create(ws.id, { key: 'was_plain', value, category: 'terraform' });
      const res = await api.patch(`/workspaces/${ws.id}/vars/${created.id}`, varDoc({ sensitive: true }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.attributes.value, null);
      assert.equal(res.text.includes(value), false);
      const [row] = await rowsOf(ws.id);
      assert.equal(row.value, null);
      assertNotInDatabaseText(await tableText(), value);
      assert.equal((await domain.forRun(ws.id))[0].value, value);
    });

    it('stay sensitive with their new value when other updates of the variable run at the same time', async () => {
      const ws = await newWorkspace();
      const plain = secretValue();
      const value = secretValue();
      const created = await create(ws.id, { key: 'raced', value: plain, category: 'terraform' });
      const path = `/workspaces/${ws.id}/vars/${created.id}`;
      const others = Array.from({ length: 10 }, (_, i) => api.patch(path, varDoc({ description: `update ${i}` })));
      const responses = await Promise.all([...others.slice(0, 5), api.patch(path, varDoc({ sensitive: true, value })), ...others.slice(5)]);
      for (const res of responses) assert.equal(res.status, 200, res.text);
      const [row] = await rowsOf(ws.id);
      assert.equal(row.sensitive, true);
      assert.equal(row.value, null);
      assert.match(row.description, /^update \d$/);
      assert.equal((await domain.forRun(ws.id))[0].value, value);
      assertNotInDatabaseText(await tableText(), value);
    });

    it('cannot be made non-sensitive (422), and stay as they were', async () => {
      const ws = await newWorkspace();
      const value = secretValue();
      const created = await create(ws.id, { key: 'locked', value, category: 'terraform', sensitive: true });
      const [before] = await rowsOf(ws.id);
      for (const path of [`/workspaces/${ws.id}/vars/${created.id}`, `/vars/${created.id}`]) {
        const res = await api.patch(path, varDoc({ sensitive: false, value: 'exposed' }));
        assertError(res, 422, /sensitive and cannot be made non-sensitive/, { pointer: '/data/attributes/sensitive' });
      }
      const [after] = await rowsOf(ws.id);
      assert.deepEqual(after, before);
      assert.equal((await domain.forRun(ws.id))[0].value, value);
    });

    it('do not reveal their value in a validation error', async () => {
      const ws = await newWorkspace();
      const res = await api.post(`/workspaces/${ws.id}/vars`, varDoc({ key: 'x', value: 123456789, category: 'terraform', sensitive: true }));
      assertError(res, 422, /attribute "value" must be a string/, { pointer: '/data/attributes/value' });
      assert.equal(res.text.includes('123456789'), false);
    });

    it('fail to decrypt with a clear error under another secret, naming the variable but not the value', async () => {
      const ws = await newWorkspace();
      const value = secretValue();
      const created = await create(ws.id, { key: 'pinned', value, category: 'terraform', sensitive: true });
      const orgs = new OrganizationService(db);
      const workspaces = new WorkspaceService(db, orgs, new ProjectService(db, orgs), { engine: 'terraform', versions: { terraform: '1.11.4', tofu: '1.6.2' } }, new SubjectCache());
      const other = createVariableDomain({ db, secret: 'another secret', site: { baseUrl: server.url, secret: 'x' }, orgs, workspaces });
      await assert.rejects(other.forRun(ws.id), (err: Error) => {
        assert.match(err.message, new RegExp(`cannot decrypt sensitive variable "pinned" \\(${created.id}\\).*--secret changed`));
        assert.equal(err.message.includes(value), false);
        return true;
      });
    });
  });

  describe('bad input', function () {
    let ws: { id: string; name: string };
    before(async () => {
      ws = await newWorkspace();
      await create(ws.id, { key: 'existing', value: 'first', category: 'terraform' });
      await create(ws.id, { key: 'EXISTING_ENV', value: 'first', category: 'env' });
    });

    /** Posts a document expecting a 4xx and asserts that the workspace's variables did not change. */
    async function rejected(doc: Json, status: number, detail: RegExp, pointer?: string): Promise<void> {
      const before = await rowsOf(ws.id);
      const res = await api.post(`/workspaces/${ws.id}/vars`, doc);
      assertError(res, status, detail, pointer === undefined ? {} : { pointer });
      assert.deepEqual(await rowsOf(ws.id), before);
    }

    it('requires a key (422)', async () => {
      await rejected(varDoc({ value: 'x', category: 'terraform' }), 422, /attribute "key" is required/, '/data/attributes/key');
      await rejected(varDoc({ key: '', value: 'x', category: 'terraform' }), 422, /attribute "key" must be a string of 1 to 128 characters/, '/data/attributes/key');
      await rejected(varDoc({ key: 'k'.repeat(129), category: 'terraform' }), 422, /attribute "key" must be a string of 1 to 128 characters/, '/data/attributes/key');
    });

    it('requires a category, terraform or env (422)', async () => {
      await rejected(varDoc({ key: 'k', value: 'x' }), 422, /attribute "category" is required/, '/data/attributes/category');
      await rejected(varDoc({ key: 'k', category: 'policy-set' }), 422, /attribute "category" must be one of "terraform", "env", got "policy-set"/, '/data/attributes/category');
    });

    it('accepts any key, as Terraform Cloud does (a UUID starting with a digit, spaces, dots), in both categories', async () => {
      for (const key of ['1abc', 'a b', 'a.b', 'ünï', '-x', crypto.randomUUID()]) {
        const tf = await create(ws.id, { key, value: 'v', category: 'terraform' });
        assert.equal(tf.attributes.key, key);
        const env = await create(ws.id, { key, value: 'v', category: 'env' });
        assert.equal(env.attributes.key, key);
        await api.delete(`/workspaces/${ws.id}/vars/${tf.id}`);
        await api.delete(`/workspaces/${ws.id}/vars/${env.id}`);
      }
    });

    it('rejects an environment variable key with "=" or a NUL character, which no environment can hold (422)', async () => {
      await rejected(varDoc({ key: 'A=B', category: 'env' }), 422, /is not a valid environment variable name: it must not contain "="/, '/data/attributes/key');
      await rejected(varDoc({ key: 'A\u0000B', category: 'env' }), 422, /"key" must not contain NUL characters/, '/data/attributes/key');
      await rejected(varDoc({ key: 'a\u0000b', category: 'terraform' }), 422, /"key" must not contain NUL characters/, '/data/attributes/key');
    });

    it('rejects hcl on an environment variable (422)', async () => {
      await rejected(varDoc({ key: 'HCL_ENV', value: '[1]', category: 'env', hcl: true }), 422, /"hcl" can only be true for a terraform variable/, '/data/attributes/hcl');
    });

    it('rejects a value over 256 KiB (422), and accepts one of exactly 256 KiB', async () => {
      await rejected(varDoc({ key: 'big', value: 'x'.repeat(256 * 1024 + 1), category: 'terraform' }), 422, /"value" is 262145 bytes long; at most 262144 bytes/, '/data/attributes/value');
      // counted in bytes: 131073 two-byte characters are 262146 bytes
      await rejected(varDoc({ key: 'big', value: 'é'.repeat(131073), category: 'terraform' }), 422, /262146 bytes long/, '/data/attributes/value');
      const max = await create(ws.id, { key: 'max', value: 'x'.repeat(256 * 1024), category: 'terraform', sensitive: true });
      assert.equal(max.attributes.sensitive, true);
      await api.delete(`/workspaces/${ws.id}/vars/${max.id}`);
    });

    it('rejects NUL characters and unpaired surrogates in value and description (422)', async () => {
      await rejected(varDoc({ key: 'nul', value: 'a\u0000b', category: 'terraform' }), 422, /"value" must not contain NUL characters/, '/data/attributes/value');
      await rejected(varDoc({ key: 'nul', value: 'ok', description: 'a\u0000', category: 'terraform' }), 422, /"description" must not contain NUL/, '/data/attributes/description');
      await rejected(varDoc({ key: 'sur', value: 'a\ud800b', category: 'terraform' }), 422, /"value" must be valid Unicode text/, '/data/attributes/value');
    });

    it('rejects wrongly typed attributes (422)', async () => {
      await rejected(varDoc({ key: 'k', category: 'terraform', hcl: 'yes' }), 422, /attribute "hcl" must be boolean/, '/data/attributes/hcl');
      await rejected(varDoc({ key: 'k', category: 'terraform', sensitive: 1 }), 422, /attribute "sensitive" must be boolean/, '/data/attributes/sensitive');
      await rejected(varDoc({ key: 'k', category: 'terraform', value: null }), 422, /attribute "value" must be a string/, '/data/attributes/value');
      await rejected(varDoc({ key: 'k', category: 'terraform', description: 'd'.repeat(513) }), 422, /"description" must be a string of at most 512/, '/data/attributes/description');
    });

    it('rejects a document of another type (422), an empty body (422) and malformed JSON (400)', async () => {
      await rejected({ data: { type: 'variables', attributes: { key: 'k', category: 'terraform' } } }, 422, /data\.type must be "vars", got "variables"/, '/data/type');
      await rejected({}, 422, /must be a JSON:API document with a "data" member/);
      const res = await api.request('POST', `/workspaces/${ws.id}/vars`, { raw: '{"data": {"type": "vars", "attributes": {"key": "k"' });
      assertError(res, 400, /malformed JSON/);
    });

    it('rejects a key taken in the same category of the workspace with 409, and allows it in the other category', async () => {
      await rejected(varDoc({ key: 'existing', value: 'second', category: 'terraform' }), 409, new RegExp(`workspace "${ws.name}" already has a terraform variable named "existing"`), '/data/attributes/key');
      await rejected(varDoc({ key: 'EXISTING_ENV', value: 'second', category: 'env', sensitive: true }), 409, /already has an environment variable named "EXISTING_ENV"/, '/data/attributes/key');
      const other = await create(ws.id, { key: 'existing', value: 'env too', category: 'env' });
      assert.equal(other.attributes.category, 'env');
      await api.delete(`/workspaces/${ws.id}/vars/${other.id}`);
      const elsewhere = await newWorkspace();
      await create(elsewhere.id, { key: 'existing', value: 'other workspace', category: 'terraform' });
    });

    it('rejects an update that would break a rule, changing nothing', async () => {
      const target = await create(ws.id, { key: 'target', value: 'v', category: 'terraform', hcl: true });
      const path = `/workspaces/${ws.id}/vars/${target.id}`;
      const cases: Array<[Json, number, RegExp, string | undefined]> = [
        [varDoc({ key: 'existing' }), 409, /already has a terraform variable named "existing"/, '/data/attributes/key'],
        [varDoc({ category: 'env' }), 422, /"hcl" can only be true for a terraform variable/, '/data/attributes/hcl'],
        [varDoc({ key: 'has=equals', hcl: false, category: 'env' }), 422, /not a valid environment variable name/, '/data/attributes/key'],
        [varDoc({ value: 'x'.repeat(256 * 1024 + 1) }), 422, /at most 262144 bytes/, '/data/attributes/value'],
        [varDoc({ category: 'policy-set' }), 422, /must be one of "terraform", "env"/, '/data/attributes/category'],
        [varDoc({ value: 'x' }, { id: 'var-someotherone0000' }), 409, /data\.id "var-someotherone0000" does not match the variable in the URL/, '/data/id'],
      ];
      for (const [doc, status, detail, pointer] of cases) {
        const before = await rowsOf(ws.id);
        assertError(await api.patch(path, doc), status, detail, pointer === undefined ? {} : { pointer });
        assert.deepEqual(await rowsOf(ws.id), before);
      }
    });

    it('answers 404 for an unknown workspace', async () => {
      assertError(await api.get('/workspaces/ws-doesnotexist0000/vars'), 404, /workspace "ws-doesnotexist0000" not found/);
      assertError(await api.post('/workspaces/ws-doesnotexist0000/vars', varDoc({ key: 'k', category: 'terraform' })), 404, /workspace "ws-doesnotexist0000" not found/);
      assertError(await api.get('/vars/var-doesnotexist0000'), 404, /variable "var-doesnotexist0000" not found/);
      assertError(await api.patch('/vars/var-doesnotexist0000', varDoc({ value: 'x' })), 404, /variable "var-doesnotexist0000" not found/);
    });

    it('answers 401 without a token, and writes nothing', async () => {
      const before = await rowsOf(ws.id);
      const [existing] = before;
      assertError(await api.post(`/workspaces/${ws.id}/vars`, varDoc({ key: 'anon', category: 'terraform' }), { token: null }), 401, /missing bearer token/);
      assertError(await api.post('/vars', varDoc({ key: 'anon', category: 'terraform' }, { relationships: workspaceRel(ws.id) }), { token: null }), 401, /missing bearer token/);
      assertError(await api.get(`/workspaces/${ws.id}/vars`, { token: null }), 401, /missing bearer token/);
      assertError(await api.patch(`/vars/${existing.id}`, varDoc({ value: 'anon' }), { token: null }), 401, /missing bearer token/);
      assertError(await api.delete(`/vars/${existing.id}`, { token: null }), 401, /missing bearer token/);
      assertError(await api.get(`/workspaces/${ws.id}/vars`, { token: 'not-a-token' }), 401, /invalid, expired or revoked/);
      assert.deepEqual(await rowsOf(ws.id), before);
    });
  });

  describe("another organization's token", function () {
    let ws: { id: string; name: string };
    let variableId: string;
    let foreign: Api;
    let own: Api;
    before(async () => {
      ws = await newWorkspace();
      variableId = (await create(ws.id, { key: 'private', value: secretValue(), category: 'terraform', sensitive: true })).id;
      const otherOrg = await createOrganization(api);
      foreign = await organizationToken(api, otherOrg);
      own = await organizationToken(api, org);
    });

    it('gets 404, not 403, for every variable route of the workspace, and writes nothing', async () => {
      const before = await rowsOf(ws.id);
      const requests: Array<[string, () => Promise<Response>]> = [
        ['list', () => foreign.get(`/workspaces/${ws.id}/vars`)],
        ['create', () => foreign.post(`/workspaces/${ws.id}/vars`, varDoc({ key: 'intruder', category: 'terraform' }))],
        ['show', () => foreign.get(`/workspaces/${ws.id}/vars/${variableId}`)],
        ['update', () => foreign.patch(`/workspaces/${ws.id}/vars/${variableId}`, varDoc({ value: 'pwned' }))],
        ['delete', () => foreign.delete(`/workspaces/${ws.id}/vars/${variableId}`)],
        ['legacy list', () => foreign.get(`/vars?filter[organization][name]=${org}&filter[workspace][name]=${ws.name}`)],
        ['legacy create', () => foreign.post('/vars', varDoc({ key: 'intruder', category: 'terraform' }, { relationships: workspaceRel(ws.id) }))],
        ['legacy show', () => foreign.get(`/vars/${variableId}`)],
        ['legacy update', () => foreign.patch(`/vars/${variableId}`, varDoc({ value: 'pwned' }))],
        ['legacy delete', () => foreign.delete(`/vars/${variableId}`)],
      ];
      for (const [what, request] of requests) {
        const res = await request();
        assert.equal(res.status, 404, `${what}: ${res.status} ${res.text}`);
        assert.match(res.body.errors[0].detail, /not found/, what);
      }
      assert.deepEqual(await rowsOf(ws.id), before);
    });

    it("may read and write its own organization's variables", async () => {
      const res = await own.post(`/workspaces/${ws.id}/vars`, varDoc({ key: 'ORG_TOKEN_MADE', value: 'x', category: 'env' }));
      assert.equal(res.status, 201, res.text);
      const list = await own.get(`/workspaces/${ws.id}/vars`);
      assert.equal(list.status, 200, list.text);
      assert.equal(list.body.data.length, 2);
    });
  });
});
