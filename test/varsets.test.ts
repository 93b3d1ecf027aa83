// Variable sets as a client sees them over HTTP (Terraform Cloud's Variable Sets API, as go-tfe
// calls it): sets of an organization, their variables, applying them to workspaces and projects,
// include=, the lists of a workspace and of a project, sensitive values that never come back and are
// encrypted in the database, every kind of bad input, and what others may see. Which value a run
// gets is shown first on the merge itself, then by real runs in test/varsets-runs.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import { SubjectCache } from '../src/auth/cache.js';
import { openDatabase } from '../src/db/index.js';
import { OrganizationService } from '../src/orgs/service.js';
import { ProjectService } from '../src/projects/service.js';
import { createVariableDomain } from '../src/variables/index.js';
import { createVariableSetDomain } from '../src/varsets/index.js';
import { WorkspaceService } from '../src/workspaces/service.js';
import { mergeVariables, type MergeSet, type MergeVariable } from '../src/varsets/precedence.js';
import type { Api, Json } from './helpers/api.js';
import { relatedIds } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { addToOrganization, createTeam, createUser, organizationToken, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function tf(key: string, value: string): MergeVariable {
  return { key, value, category: 'terraform', hcl: false, sensitive: false };
}

function env(key: string, value: string): MergeVariable {
  return { key, value, category: 'env', hcl: false, sensitive: false };
}

function set(name: string, scope: MergeSet['scope'], variables: MergeVariable[], priority = false): MergeSet {
  return { name, scope, priority, variables };
}

/** The value each key gets, as "category:key=value", sorted. */
function values(vars: MergeVariable[]): string[] {
  return vars.map((v) => `${v.category}:${v.key}=${v.value}`).sort();
}

describe('variable sets: the precedence of a run\'s variables', () => {
  it('the workspace beats its sets; a workspace-scoped set beats a project-scoped one, which beats a global one', () => {
    const { variables, run } = mergeVariables({
      workspace: [tf('a', 'workspace')],
      sets: [
        set('global', 'global', [tf('a', 'global'), tf('b', 'global'), tf('c', 'global'), tf('d', 'global')]),
        set('project', 'project', [tf('a', 'project'), tf('b', 'project'), tf('c', 'project')]),
        set('ws', 'workspace', [tf('a', 'ws-set'), tf('b', 'ws-set')]),
      ],
      run: [{ key: 'a', value: '"run"' }],
    });
    assert.deepEqual(values(variables), ['terraform:a=workspace', 'terraform:b=ws-set', 'terraform:c=project', 'terraform:d=global']);
    // The run's own variable stands: the runner writes it after the workspace's, so it wins over them.
    assert.deepEqual(run, [{ key: 'a', value: '"run"' }]);
  });

  it('among sets of the same scope the name first in lexical order wins', () => {
    const { variables } = mergeVariables({
      workspace: [],
      sets: [set('B_set', 'workspace', [tf('x', 'B')]), set('A_set', 'workspace', [tf('x', 'A')]), set('C_set', 'workspace', [tf('x', 'C')])],
      run: [],
    });
    assert.deepEqual(values(variables), ['terraform:x=A']);
  });

  it('a priority set beats the workspace and the run; among priority sets the most specific scope wins, then the name', () => {
    const { variables, run } = mergeVariables({
      workspace: [tf('p', 'workspace'), tf('q', 'workspace'), env('E', 'workspace')],
      sets: [
        set('a-global-priority', 'global', [tf('p', 'global-priority'), tf('q', 'global-priority'), env('E', 'global-priority')], true),
        set('z-project-priority', 'project', [tf('p', 'project-priority')], true),
        set('ws-set', 'workspace', [tf('q', 'ws-set')]),
      ],
      run: [
        { key: 'p', value: '"run"' },
        { key: 'r', value: '"run"' },
      ],
    });
    assert.deepEqual(values(variables), ['env:E=global-priority', 'terraform:p=project-priority', 'terraform:q=global-priority']);
    // p is the priority set's; r, which no priority set names, stays the run's.
    assert.deepEqual(run, [{ key: 'r', value: '"run"' }]);
  });

  it('a terraform variable and an environment variable of the same name do not compete', () => {
    const { variables, run } = mergeVariables({
      workspace: [env('k', 'workspace-env')],
      sets: [set('s', 'global', [tf('k', 'set-tf'), env('k', 'set-env')], true)],
      run: [{ key: 'other', value: '1' }],
    });
    assert.deepEqual(values(variables), ['env:k=set-env', 'terraform:k=set-tf']);
    assert.deepEqual(run, [{ key: 'other', value: '1' }]);
  });
});

const SECRET = `test-secret-${crypto.randomBytes(8).toString('hex')}`;

describe('variable sets API', function () {
  let server: TestServer;
  let api: Api;
  let sql: pg.Client;
  let org: string;

  before(async () => {
    server = await startServer({ config: { secret: SECRET } });
    api = server.api;
    sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    org = await createOrganization(api);
  });
  after(async () => {
    await sql?.end();
    await server?.stop();
  });

  function setDoc(attributes: Record<string, unknown>, extra: Record<string, unknown> = {}): Json {
    return { data: { type: 'varsets', attributes, ...extra } };
  }

  function varDoc(attributes: Record<string, unknown>, extra: Record<string, unknown> = {}): Json {
    return { data: { type: 'vars', attributes, ...extra } };
  }

  function refs(type: string, ids: string[]): Json {
    return { data: ids.map((id) => ({ type, id })) };
  }

  async function createSet(attributes: Record<string, unknown> = {}, inOrg = org, client = api): Promise<Json> {
    const res = await client.post(`/organizations/${inOrg}/varsets`, setDoc({ name: randomName('set'), global: false, ...attributes }));
    assertStatus(res, 201);
    return res.body.data;
  }

  async function createVar(setId: string, attributes: Record<string, unknown>): Promise<Json> {
    const res = await api.post(`/varsets/${setId}/relationships/vars`, varDoc({ category: 'terraform', ...attributes }));
    assertStatus(res, 201);
    return res.body.data;
  }

  async function createProject(inOrg = org): Promise<Json> {
    const res = await api.post(`/organizations/${inOrg}/projects`, { data: { type: 'projects', attributes: { name: randomName('prj') } } });
    assertStatus(res, 201);
    return res.body.data;
  }

  async function readSet(id: string, include = ''): Promise<Json> {
    const res = await api.get(`/varsets/${id}${include ? `?include=${include}` : ''}`);
    assertStatus(res, 200);
    return res.body;
  }

  function secretValue(): string {
    return `s3cr3t-${crypto.randomBytes(12).toString('hex')}`;
  }

  describe('sets', () => {
    it('creates a set as go-tfe does, and reads, lists, updates and deletes it', async () => {
      const name = randomName('varset');
      const res = await api.post(`/organizations/${org}/varsets`, setDoc({ name, description: 'a variable set', global: false, priority: false }));
      assertStatus(res, 201);
      const created = res.body.data;
      assert.equal(created.type, 'varsets');
      assert.match(created.id, /^varset-/);
      assert.deepEqual(
        { name: created.attributes.name, description: created.attributes.description, global: created.attributes.global, priority: created.attributes.priority },
        { name, description: 'a variable set', global: false, priority: false },
      );
      assert.equal(created.relationships.organization.data.id, org);
      assert.deepEqual(created.relationships.vars.data, []);
      assert.deepEqual(created.relationships.workspaces.data, []);
      assert.deepEqual(created.relationships.projects.data, []);
      assert.equal(created.links.self, `/api/v2/varsets/${created.id}`);

      // go-tfe compares the set it created with the one it reads and the ones it lists.
      const read = (await readSet(created.id)).data;
      assert.deepEqual(read, created);
      const list = await api.get(`/organizations/${org}/varsets`);
      assertStatus(list, 200);
      assert.deepEqual(
        list.body.data.find((s: Json) => s.id === created.id),
        created,
      );

      const updated = await api.patch(`/varsets/${created.id}`, setDoc({ name: `${name}-new`, description: 'changed', global: true, priority: true }));
      assertStatus(updated, 200);
      assert.deepEqual(
        [updated.body.data.attributes.name, updated.body.data.attributes.description, updated.body.data.attributes.global, updated.body.data.attributes.priority],
        [`${name}-new`, 'changed', true, true],
      );
      // What an update leaves out stays as it was.
      const partial = await api.patch(`/varsets/${created.id}`, setDoc({ priority: false }));
      assertStatus(partial, 200);
      assert.deepEqual([partial.body.data.attributes.name, partial.body.data.attributes.global, partial.body.data.attributes.priority], [`${name}-new`, true, false]);
      // A null description empties it.
      const cleared = await api.patch(`/varsets/${created.id}`, setDoc({ description: null }));
      assertStatus(cleared, 200);
      assert.equal(cleared.body.data.attributes.description, '');

      assertStatus(await api.delete(`/varsets/${created.id}`), 204);
      assertError(await api.get(`/varsets/${created.id}`), 404, /variable set .* not found/);
      assertError(await api.delete(`/varsets/${created.id}`), 404, /not found/);
    });

    it('pages the sets of an organization, and q finds them by part of their name', async () => {
      const own = await createOrganization(api);
      for (const name of ['alpha-one', 'alpha-two', 'beta']) await createSet({ name }, own);
      const first = await api.get(`/organizations/${own}/varsets?page[size]=2`);
      assertStatus(first, 200);
      assert.deepEqual(
        first.body.data.map((s: Json) => s.attributes.name),
        ['alpha-one', 'alpha-two'],
      );
      assert.equal(first.body.meta.pagination['total-count'], 3);
      assert.equal(first.body.meta.pagination['next-page'], 2);
      const beyond = await api.get(`/organizations/${own}/varsets?page[number]=999&page[size]=100`);
      assert.deepEqual([beyond.body.data, beyond.body.meta.pagination['current-page'], beyond.body.meta.pagination['total-count']], [[], 999, 3]);
      const found = await api.get(`/organizations/${own}/varsets?q=ALPHA`);
      assert.deepEqual(
        found.body.data.map((s: Json) => s.attributes.name),
        ['alpha-one', 'alpha-two'],
      );
    });

    it('refuses a name already taken in the organization (422 "has already been taken"), on create and on rename; another organization may use it', async () => {
      const name = randomName('dup');
      const first = await createSet({ name });
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name, global: false })), 422, /name "dup-[0-9a-f]+" has already been taken/, {
        pointer: '/data/attributes/name',
      });
      const second = await createSet();
      assertError(await api.patch(`/varsets/${second.id}`, setDoc({ name })), 422, /has already been taken/);
      await createSet({ name }, await createOrganization(api));
      assert.equal((await readSet(first.id)).data.attributes.name, name);
    });

    it('refuses bad documents: malformed JSON (400), no name, wrong types, NUL bytes, an oversized description, a mismatched id (422 / 409)', async () => {
      assertError(await api.request('POST', `/organizations/${org}/varsets`, { raw: '{"data": {"type": "varsets", "attributes": {"name": "x"' }), 400, /malformed JSON/);
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ global: false })), 422, /name/);
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name: '' })), 422, /1 to 128 characters/);
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name: 'x'.repeat(129) })), 422, /1 to 128 characters/);
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name: 'x', global: 'yes' })), 422, /global/);
      assertError(await api.post(`/organizations/${org}/varsets`, { data: { type: 'vars', attributes: { name: 'x' } } }), 422, /type/);
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name: 'a\u0000b' })), 422, /NUL/, { pointer: '/data/attributes/name' });
      assertError(await api.post(`/organizations/${org}/varsets`, setDoc({ name: 'x', description: 'd'.repeat(513) })), 422, /at most 512/);
      const s = await createSet();
      assertError(await api.patch(`/varsets/${s.id}`, setDoc({ description: 'a\u0000b' })), 422, /NUL/);
      assertError(await api.patch(`/varsets/${s.id}`, setDoc({ name: 'other' }, { id: 'varset-someoneelse' })), 409, /does not match/);
      const big = await api.post(`/organizations/${org}/varsets`, setDoc({ name: 'x', description: 'd'.repeat(20 * 1024 * 1024) }));
      assert.ok(big.status === 413 || big.status === 422, `oversized body: ${big.status} ${big.text}`);
      assert.ok(big.body.errors[0].detail, big.text);
      assertError(await api.get('/varsets/varset-doesnotexist'), 404, /not found/);
      assertError(await api.get(`/organizations/no-such-org-${randomName()}/varsets`), 404, /not found/);
    });
  });

  describe('variables of a set', () => {
    it('creates, lists, reads, updates and deletes them; any key Terraform Cloud accepts (a UUID) is taken; version-id changes on every update', async () => {
      const s = await createSet();
      const key = crypto.randomUUID();
      const v = await createVar(s.id, { key, value: 'v1', description: 'first', hcl: false, sensitive: false });
      assert.equal(v.type, 'vars');
      assert.deepEqual(
        [v.attributes.key, v.attributes.value, v.attributes.description, v.attributes.category, v.attributes.hcl, v.attributes.sensitive],
        [key, 'v1', 'first', 'terraform', false, false],
      );
      assert.ok(v.attributes['version-id']);
      assert.equal(v.relationships.varset.data.id, s.id);
      assert.equal(v.links.self, `/api/v2/varsets/${s.id}/relationships/vars/${v.id}`);
      // Without a value, the value is empty.
      const bare = await createVar(s.id, { key: 'bare' });
      assert.equal(bare.attributes.value, '');

      const list = await api.get(`/varsets/${s.id}/relationships/vars`);
      assertStatus(list, 200);
      assert.deepEqual(list.body.data.map((x: Json) => x.attributes.key).sort(), [key, 'bare'].sort());
      assert.deepEqual(
        list.body.data.find((x: Json) => x.id === v.id),
        v,
      );
      const read = await api.get(`/varsets/${s.id}/relationships/vars/${v.id}`);
      assert.deepEqual(read.body.data, v);
      assert.deepEqual(relatedIds((await readSet(s.id)).data, 'vars').sort(), [v.id, bare.id].sort());

      const updated = await api.patch(`/varsets/${s.id}/relationships/vars/${v.id}`, varDoc({ key: 'newname', value: 'newvalue', hcl: true }));
      assertStatus(updated, 200);
      assert.deepEqual([updated.body.data.attributes.key, updated.body.data.attributes.value, updated.body.data.attributes.hcl], ['newname', 'newvalue', true]);
      assert.notEqual(updated.body.data.attributes['version-id'], v.attributes['version-id']);
      const same = await api.patch(`/varsets/${s.id}/relationships/vars/${v.id}`, varDoc({ key: 'newname' }));
      assert.notEqual(same.body.data.attributes['version-id'], updated.body.data.attributes['version-id']);

      assertStatus(await api.delete(`/varsets/${s.id}/relationships/vars/${v.id}`), 204);
      assertError(await api.get(`/varsets/${s.id}/relationships/vars/${v.id}`), 404, /not found/);
      assertError(await api.delete(`/varsets/${s.id}/relationships/vars/${v.id}`), 404, /not found/);
    });

    it('refuses a key already in the set for the category (422), HCL environment variables, NUL bytes, a too long description, an oversized value, a missing key or category', async () => {
      const s = await createSet();
      await createVar(s.id, { key: 'k', value: 'x' });
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'k', value: 'y', category: 'terraform' })), 422, /has already been taken/);
      // The same key as an environment variable is another variable.
      assertStatus(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'k', value: 'y', category: 'env' })), 201);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'e', value: 'y', category: 'env', hcl: true })), 422, /hcl/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'A=B', value: 'y', category: 'env' })), 422, /must not contain "="/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'n', value: 'a\u0000b', category: 'terraform' })), 422, /NUL/, {
        pointer: '/data/attributes/value',
      });
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'k\u0000', value: 'a', category: 'terraform' })), 422, /NUL/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'd', value: 'a', category: 'terraform', description: 'x'.repeat(516) })), 422, /at most 512/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'big', value: 'x'.repeat(256 * 1024 + 1), category: 'terraform' })), 422, /at most 262144 bytes/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ value: 'x', category: 'terraform' })), 422, /key/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'x', value: 'x' })), 422, /category/);
      assertError(await api.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'x', category: 'other' })), 422, /category/);
      assertError(await api.request('POST', `/varsets/${s.id}/relationships/vars`, { raw: '{"data":' }), 400, /malformed JSON/);
      const k = (await api.get(`/varsets/${s.id}/relationships/vars`)).body.data.find((x: Json) => x.attributes.category === 'env');
      assertError(await api.patch(`/varsets/${s.id}/relationships/vars/${k.id}`, varDoc({ key: 'x' }, { id: 'var-other' })), 409, /does not match/);
      // Renaming onto a taken key is refused, and nothing changes.
      const other = await createVar(s.id, { key: 'other', value: 'x' });
      assertError(await api.patch(`/varsets/${s.id}/relationships/vars/${other.id}`, varDoc({ key: 'k' })), 422, /has already been taken/);
      assert.equal((await api.get(`/varsets/${s.id}/relationships/vars/${other.id}`)).body.data.attributes.key, 'other');
    });

    it('a variable is reached only through its own set (404 through another)', async () => {
      const a = await createSet();
      const b = await createSet();
      const v = await createVar(a.id, { key: 'mine', value: 'x' });
      assertError(await api.get(`/varsets/${b.id}/relationships/vars/${v.id}`), 404, /not found/);
      assertError(await api.patch(`/varsets/${b.id}/relationships/vars/${v.id}`, varDoc({ value: 'hijacked' })), 404, /not found/);
      assertError(await api.delete(`/varsets/${b.id}/relationships/vars/${v.id}`), 404, /not found/);
      assert.equal((await api.get(`/varsets/${a.id}/relationships/vars/${v.id}`)).body.data.attributes.value, 'x');
    });

    it('a sensitive value is never returned (null in every answer, include= too), is encrypted in the database, and cannot be made non-sensitive', async () => {
      const s = await createSet();
      const secret = secretValue();
      const v = await createVar(s.id, { key: 'password', value: secret, sensitive: true });
      assert.equal(v.attributes.value, null);
      assert.equal(v.attributes.sensitive, true);
      const answers = [
        await api.get(`/varsets/${s.id}/relationships/vars`),
        await api.get(`/varsets/${s.id}/relationships/vars/${v.id}`),
        await api.get(`/varsets/${s.id}?include=vars`),
        await api.get(`/organizations/${org}/varsets?include=vars`),
        await api.patch(`/varsets/${s.id}/relationships/vars/${v.id}`, varDoc({ description: 'still secret' })),
      ];
      for (const res of answers) {
        assertStatus(res, 200);
        assert.ok(!res.text.includes(secret), `the secret leaked: ${res.text}`);
      }
      const included = answers[2].body.included.find((x: Json) => x.id === v.id);
      assert.equal(included.attributes.value, null);

      const rows = await sql.query('SELECT value, encrypted_value, t::text AS text FROM variable_set_variables t WHERE id = $1', [v.id]);
      assert.equal(rows.rows[0].value, null);
      assert.ok(rows.rows[0].encrypted_value.length > 0);
      assert.ok(!rows.rows[0].text.includes(secret) && !rows.rows[0].text.includes(Buffer.from(secret).toString('hex')), 'no plaintext in the row');

      assertError(await api.patch(`/varsets/${s.id}/relationships/vars/${v.id}`, varDoc({ sensitive: false })), 422, /cannot be made non-sensitive/);
      // Made sensitive later, as go-tfe's "with sensitive set": the value is gone from the answers.
      const plain = await createVar(s.id, { key: 'later', value: 'visible' });
      const hidden = await api.patch(`/varsets/${s.id}/relationships/vars/${plain.id}`, varDoc({ sensitive: true }));
      assertStatus(hidden, 200);
      assert.equal(hidden.body.data.attributes.value, null);
      const later = await sql.query('SELECT value FROM variable_set_variables WHERE id = $1', [plain.id]);
      assert.equal(later.rows[0].value, null);
    });
  });

  describe('applying sets to workspaces and projects', () => {
    it('applies a set to workspaces and projects and removes it again, as go-tfe does; include= gives vars, workspaces and projects', async () => {
      const s = await createSet();
      const v = await createVar(s.id, { key: 'k', value: 'v' });
      const [w1, w2] = [await createWorkspace(api, org), await createWorkspace(api, org)];
      const [p1, p2] = [await createProject(), await createProject()];
      // go-tfe sends whole workspace documents, attributes and all.
      assertStatus(await api.post(`/varsets/${s.id}/relationships/workspaces`, { data: [w1] }), 204);
      assert.deepEqual(relatedIds((await readSet(s.id)).data, 'workspaces'), [w1.id]);
      assertStatus(await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [w2.id, w1.id])), 204);
      assert.deepEqual(relatedIds((await readSet(s.id)).data, 'workspaces').sort(), [w1.id, w2.id].sort());
      assertStatus(await api.post(`/varsets/${s.id}/relationships/projects`, refs('projects', [p1.id])), 204);
      assertStatus(await api.post(`/varsets/${s.id}/relationships/projects`, refs('projects', [p2.id])), 204);

      const full = await readSet(s.id, 'vars,workspaces,projects');
      assert.deepEqual(relatedIds(full.data, 'projects').sort(), [p1.id, p2.id].sort());
      assert.deepEqual([full.data.attributes['var-count'], full.data.attributes['workspace-count'], full.data.attributes['project-count']], [1, 2, 2]);
      const included = full.included.map((r: Json) => `${r.type}/${r.id}`).sort();
      assert.deepEqual(included, [`vars/${v.id}`, `workspaces/${w1.id}`, `workspaces/${w2.id}`, `projects/${p1.id}`, `projects/${p2.id}`].sort());
      assert.equal(full.included.find((r: Json) => r.id === w1.id).attributes.name, w1.attributes.name);

      assertStatus(await api.delete(`/varsets/${s.id}/relationships/workspaces`, { body: refs('workspaces', [w1.id]) }), 204);
      assert.deepEqual(relatedIds((await readSet(s.id)).data, 'workspaces'), [w2.id]);
      assertStatus(await api.delete(`/varsets/${s.id}/relationships/projects`, { body: refs('projects', [p1.id]) }), 204);
      assert.deepEqual(relatedIds((await readSet(s.id)).data, 'projects'), [p2.id]);
    });

    it('PATCH with a workspaces relationship replaces the workspaces (go-tfe UpdateWorkspaces); an empty list removes them all', async () => {
      const s = await createSet();
      const [w1, w2] = [await createWorkspace(api, org), await createWorkspace(api, org)];
      await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [w1.id]));
      const replaced = await api.patch(`/varsets/${s.id}?include=workspaces`, setDoc({ global: false }, { relationships: { workspaces: refs('workspaces', [w2.id]) } }));
      assertStatus(replaced, 200);
      assert.deepEqual(relatedIds(replaced.body.data, 'workspaces'), [w2.id]);
      assert.deepEqual(
        replaced.body.included.map((r: Json) => r.id),
        [w2.id],
      );
      const emptied = await api.patch(`/varsets/${s.id}?include=workspaces`, setDoc({ global: false }, { relationships: { workspaces: refs('workspaces', []) } }));
      assertStatus(emptied, 200);
      assert.deepEqual(relatedIds(emptied.body.data, 'workspaces'), []);
    });

    it('the sets of a workspace are those applied to it, to its project and the global ones; the sets of a project those applied to it, paged', async () => {
      const own = await createOrganization(api);
      const project = await createProject(own);
      const ws = await createWorkspace(api, own, randomName('ws'), {});
      const moved = await api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', relationships: { project: { data: { type: 'projects', id: project.id } } } } });
      assertStatus(moved, 200);
      const onWorkspace = await createSet({ name: 'a-on-workspace' }, own);
      const onProject = await createSet({ name: 'b-on-project' }, own);
      const global = await createSet({ name: 'c-global', global: true }, own);
      await createSet({ name: 'd-elsewhere' }, own);
      assertStatus(await api.post(`/varsets/${onWorkspace.id}/relationships/workspaces`, refs('workspaces', [ws.id])), 204);
      assertStatus(await api.post(`/varsets/${onProject.id}/relationships/projects`, refs('projects', [project.id])), 204);

      const forWorkspace = await api.get(`/workspaces/${ws.id}/varsets`);
      assertStatus(forWorkspace, 200);
      assert.deepEqual(
        forWorkspace.body.data.map((s: Json) => s.id),
        [onWorkspace.id, onProject.id, global.id],
      );
      const forProject = await api.get(`/projects/${project.id}/varsets`);
      assert.deepEqual(
        forProject.body.data.map((s: Json) => s.id),
        [onProject.id],
      );
      const beyond = await api.get(`/projects/${project.id}/varsets?page[number]=999&page[size]=100`);
      assert.deepEqual([beyond.body.data, beyond.body.meta.pagination['current-page'], beyond.body.meta.pagination['total-count']], [[], 999, 1]);
      assertError(await api.get('/workspaces/ws-doesnotexist/varsets'), 404, /not found/);
      assertError(await api.get('/projects/prj-doesnotexist/varsets'), 404, /not found/);
    });

    it('a global set is applied to everything: applying it to some is refused (422), and making a set global drops its links', async () => {
      const ws = await createWorkspace(api, org);
      const g = await createSet({ global: true });
      assertError(await api.post(`/varsets/${g.id}/relationships/workspaces`, refs('workspaces', [ws.id])), 422, /is global/);
      assertError(await api.delete(`/varsets/${g.id}/relationships/workspaces`, { body: refs('workspaces', [ws.id]) }), 422, /is global/);
      assertError(await api.patch(`/varsets/${g.id}`, setDoc({}, { relationships: { workspaces: refs('workspaces', [ws.id]) } })), 422, /is global/);
      const s = await createSet();
      await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [ws.id]));
      const made = await api.patch(`/varsets/${s.id}`, setDoc({ global: true }));
      assertStatus(made, 200);
      assert.deepEqual(relatedIds(made.body.data, 'workspaces'), []);
    });

    it("another organization's workspaces and projects, and ids that do not exist, are not found (404) and nothing is applied", async () => {
      const other = await createOrganization(api);
      const theirs = await createWorkspace(api, other);
      const theirProject = await createProject(other);
      const mine = await createWorkspace(api, org);
      const s = await createSet();
      assertError(await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [mine.id, theirs.id])), 404, new RegExp(`workspace "${theirs.id}" not found`));
      assertError(await api.post(`/varsets/${s.id}/relationships/projects`, refs('projects', [theirProject.id])), 404, /project .* not found/);
      assertError(await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', ['ws-doesnotexist'])), 404, /not found/);
      assertError(await api.patch(`/varsets/${s.id}`, setDoc({}, { relationships: { workspaces: refs('workspaces', [theirs.id]) } })), 404, /not found/);
      const read = (await readSet(s.id)).data;
      assert.deepEqual([relatedIds(read, 'workspaces'), relatedIds(read, 'projects')], [[], []]);
      // Bad relationship documents.
      assertError(await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('projects', [mine.id])), 422, /type/);
      assertError(await api.post(`/varsets/${s.id}/relationships/workspaces`, { data: [{ type: 'workspaces' }] }), 422, /id/);
      assertError(await api.post(`/varsets/${s.id}/relationships/workspaces`, { data: {} }), 422, /data/);
      assertError(await api.request('DELETE', `/varsets/${s.id}/relationships/workspaces`, { raw: '[' }), 400, /malformed JSON/);
    });

    it('deleting a workspace or a project drops its links; deleting a set drops its variables', async () => {
      const s = await createSet();
      const v = await createVar(s.id, { key: 'k', value: 'v' });
      const ws = await createWorkspace(api, org);
      const project = await createProject();
      await api.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [ws.id]));
      await api.post(`/varsets/${s.id}/relationships/projects`, refs('projects', [project.id]));
      assertStatus(await api.delete(`/workspaces/${ws.id}`), 204);
      assertStatus(await api.delete(`/projects/${project.id}`), 204);
      const read = (await readSet(s.id)).data;
      assert.deepEqual([relatedIds(read, 'workspaces'), relatedIds(read, 'projects')], [[], []]);
      assertStatus(await api.delete(`/varsets/${s.id}`), 204);
      const rows = await sql.query('SELECT count(*)::int AS n FROM variable_set_variables WHERE id = $1', [v.id]);
      assert.equal(rows.rows[0].n, 0);
    });
  });

  describe("a run's variables, in-process", () => {
    /** The domain over the server's database, as otfd wires it, under this secret. */
    async function domainWith(secret: string) {
      const db = await openDatabase(server.databaseUrl, 2);
      const orgs = new OrganizationService(db);
      const projects = new ProjectService(db, orgs);
      const workspaces = new WorkspaceService(db, orgs, projects, { engine: 'terraform', versions: { terraform: '1.11.4', tofu: '1.6.2' } }, new SubjectCache());
      const site = { baseUrl: server.url, secret };
      const variables = createVariableDomain({ db, secret, site, orgs, workspaces });
      return { db, domain: createVariableSetDomain({ db, secret, site, orgs, workspaces, projects, workspaceVariables: variables }) };
    }

    it('forRun decrypts sensitive set values with the server\'s secret; under another secret it fails naming the variable, never its value', async () => {
      const own = await createOrganization(api);
      const ws = await createWorkspace(api, own);
      const s = await createSet({ name: 'g', global: true }, own);
      const secret = secretValue();
      await createVar(s.id, { key: 'token', value: secret, sensitive: true });
      await createVar(s.id, { key: 'plain', value: 'p' });
      const right = await domainWith(SECRET);
      const wrong = await domainWith('another-secret');
      try {
        const merged = await right.domain.forRun(ws.id, [
          { key: 'plain', value: '"run"' },
          { key: 'other', value: '1' },
        ]);
        assert.deepEqual(
          merged.variables.map((v) => [v.key, v.value, v.sensitive]).sort(),
          [
            ['plain', 'p', false],
            ['token', secret, true],
          ],
        );
        // Not a priority set: the run's own variables all stand.
        assert.deepEqual(merged.runVariables, [
          { key: 'plain', value: '"run"' },
          { key: 'other', value: '1' },
        ]);
        await assert.rejects(wrong.domain.forRun(ws.id, []), (err: Error) => {
          assert.match(err.message, /cannot decrypt sensitive variable "token"/);
          assert.ok(!err.message.includes(secret));
          return true;
        });
      } finally {
        await right.db.destroy();
        await wrong.db.destroy();
      }
    });
  });

  describe('who may see and manage sets', () => {
    it("another organization's token and members do not see a set (404): not by id, not its variables, not in their lists", async () => {
      const s = await createSet();
      const v = await createVar(s.id, { key: 'k', value: 'v' });
      const other = await createOrganization(api);
      const stranger = await organizationToken(api, other);
      assertError(await stranger.get(`/varsets/${s.id}`), 404, /not found/);
      assertError(await stranger.patch(`/varsets/${s.id}`, setDoc({ name: 'mine' })), 404, /not found/);
      assertError(await stranger.delete(`/varsets/${s.id}`), 404, /not found/);
      assertError(await stranger.get(`/varsets/${s.id}/relationships/vars`), 404, /not found/);
      assertError(await stranger.get(`/varsets/${s.id}/relationships/vars/${v.id}`), 404, /not found/);
      assertError(await stranger.post(`/varsets/${s.id}/relationships/vars`, varDoc({ key: 'x', value: 'y', category: 'terraform' })), 404, /not found/);
      assertError(await stranger.get(`/organizations/${org}/varsets`), 404, /not found/);
      const theirWs = await createWorkspace(api, other);
      assertError(await stranger.post(`/varsets/${s.id}/relationships/workspaces`, refs('workspaces', [theirWs.id])), 404, /not found/);
      assert.deepEqual((await stranger.get(`/organizations/${other}/varsets`)).body.data, []);
    });

    it("owners and teams that manage workspaces manage sets; other members are refused (403); who reads a workspace's variables sees the organization's sets", async () => {
      const own = await createOrganization(api);
      const ws = await createWorkspace(api, own);
      const managerTeam = await createTeam(api, own, { 'manage-workspaces': true });
      const manager = await createUser(api);
      await addToOrganization(api, own, manager, [managerTeam.id]);
      const created = await createSet({ name: 'managed' }, own, manager.client);
      assertStatus(await manager.client.post(`/varsets/${created.id}/relationships/workspaces`, refs('workspaces', [ws.id])), 204);

      const reader = await userWithAccess(api, own, [ws.id], 'read');
      assertError(await reader.client.post(`/organizations/${own}/varsets`, setDoc({ name: 'nope', global: false })), 403, /manage-workspaces/);
      // Reading a workspace's variables lets one view the organization's sets, as in Terraform Cloud.
      const listed = await reader.client.get(`/organizations/${own}/varsets`);
      assertStatus(listed, 200);
      assert.deepEqual(
        listed.body.data.map((s: Json) => s.id),
        [created.id],
      );
      assertStatus(await reader.client.get(`/varsets/${created.id}`), 200);
      assertError(await reader.client.post(`/varsets/${created.id}/relationships/vars`, varDoc({ key: 'x', value: 'y', category: 'env' })), 403, /manage-workspaces/);
      assertError(await reader.client.patch(`/varsets/${created.id}`, setDoc({ name: 'nope' })), 403, /manage-workspaces/);
      const seen = await reader.client.get(`/workspaces/${ws.id}/varsets`);
      assertStatus(seen, 200);
      assert.deepEqual(
        seen.body.data.map((s: Json) => s.id),
        [created.id],
      );
      // A member without access to the workspace does not see it.
      const outsider = await createUser(api);
      await addToOrganization(api, own, outsider);
      assertError(await outsider.client.get(`/workspaces/${ws.id}/varsets`), 404, /not found/);
      assertError(await outsider.client.get(`/organizations/${own}/varsets`), 403, /read access to the variables of a workspace/);
      assertError(await outsider.client.get(`/varsets/${created.id}`), 403, /read access to the variables/);
    });
  });
});
