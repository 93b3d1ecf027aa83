// Organization tags as Terraform Cloud's clients use them (go-tfe's organization tags tests): the
// list, with each tag's organization and how many workspaces carry it; deleting tags from the whole
// organization; and adding one tag to many workspaces. Who may do what, and hostile requests.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { createTeam, createUser, addToOrganization, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';

function tagList(ids: string[], type = 'tags'): Json {
  return { data: ids.map((id) => ({ type, id })) };
}

describe('organization tags', function () {
  let server: TestServer;
  let api: Api;
  before(async () => {
    server = await startServer();
    api = server.api;
  });
  after(() => server.stop());

  async function tag(wsId: string, names: string[]): Promise<void> {
    const res = await api.post(`/workspaces/${wsId}/relationships/tags`, { data: names.map((name) => ({ type: 'tags', attributes: { name } })) });
    assertStatus(res, 204);
  }

  async function tagsOf(org: string, extra = ''): Promise<Json[]> {
    const res = await api.get(`/organizations/${org}/tags${extra}`);
    assertStatus(res, 200);
    return res.body.data;
  }

  async function workspaceTagNames(wsId: string): Promise<string[]> {
    const res = await api.get(`/workspaces/${wsId}/relationships/tags`);
    assertStatus(res, 200);
    return res.body.data.map((t: Json) => t.attributes.name).sort();
  }

  describe('GET /organizations/:org/tags', () => {
    it('lists each tag with its organization and instance count; q searches; filter[exclude][taggable][id] leaves out a workspace\'s tags', async () => {
      const org = await createOrganization(api);
      const a = await createWorkspace(api, org);
      const b = await createWorkspace(api, org);
      await tag(a.id, ['alpha', 'beta']);
      await tag(b.id, ['beta', 'gamma']);
      const tags = await tagsOf(org);
      assert.deepEqual(tags.map((t) => [t.attributes.name, t.attributes['instance-count']]), [['alpha', 1], ['beta', 2], ['gamma', 1]]);
      for (const t of tags) {
        assert.equal(t.type, 'tags');
        assert.deepEqual(t.relationships.organization, { data: { type: 'organizations', id: org } });
      }
      assert.deepEqual((await tagsOf(org, '?q=amm')).map((t) => t.attributes.name), ['gamma']);
      assert.deepEqual((await tagsOf(org, `?filter[exclude][taggable][id]=${a.id}`)).map((t) => t.attributes.name), ['gamma']);
      const page = await api.get(`/organizations/${org}/tags?page[size]=2`);
      assert.equal(page.body.data.length, 2);
      assert.equal(page.body.meta.pagination['total-count'], 3);
    });
  });

  describe('DELETE /organizations/:org/tags', () => {
    it('deletes the tags named from the organization and from every workspace carrying them (204)', async () => {
      const org = await createOrganization(api);
      const a = await createWorkspace(api, org);
      const b = await createWorkspace(api, org);
      await tag(a.id, ['keep', 'drop1', 'drop2']);
      await tag(b.id, ['drop1']);
      const ids = (await tagsOf(org)).filter((t) => t.attributes.name.startsWith('drop')).map((t) => t.id);
      assertStatus(await api.request('DELETE', `/organizations/${org}/tags`, { body: tagList(ids) }), 204);
      assert.deepEqual((await tagsOf(org)).map((t) => t.attributes.name), ['keep']);
      assert.deepEqual(await workspaceTagNames(a.id), ['keep']);
      assert.deepEqual(await workspaceTagNames(b.id), []);
      assert.deepEqual((await api.get(`/workspaces/${a.id}`)).body.data.attributes['tag-names'], ['keep']);
    });

    it("refuses another organization's tag id or an unknown one with 404, deleting nothing", async () => {
      const org = await createOrganization(api);
      const other = await createOrganization(api);
      await tag((await createWorkspace(api, org)).id, ['mine']);
      await tag((await createWorkspace(api, other)).id, ['theirs']);
      const mine = (await tagsOf(org))[0].id;
      const theirs = (await tagsOf(other))[0].id;
      assertError(await api.request('DELETE', `/organizations/${org}/tags`, { body: tagList([mine, theirs]) }), 404, new RegExp(`tag "${theirs}" not found`));
      assertError(await api.request('DELETE', `/organizations/${org}/tags`, { body: tagList(['tag-doesnotexist0']) }), 404, /tag "tag-doesnotexist0" not found/);
      assert.equal((await tagsOf(org)).length, 1);
      assert.equal((await tagsOf(other)).length, 1);
    });

    it('refuses hostile bodies: malformed JSON (400), wrong types, too many ids, NUL bytes (4xx)', async () => {
      const org = await createOrganization(api);
      await tag((await createWorkspace(api, org)).id, ['t']);
      const path = `/organizations/${org}/tags`;
      assertError(await api.request('DELETE', path, { raw: '{"data":[' }), 400, /malformed JSON/i);
      assertStatus(await api.request('DELETE', path, { body: tagList(['x'], 'workspaces') }), 422);
      assertStatus(await api.request('DELETE', path, { body: { data: { type: 'tags', id: 'x' } } }), 422);
      assertStatus(await api.request('DELETE', path, { body: tagList(Array.from({ length: 101 }, (_, i) => `tag-${i}`)) }), 422);
      assert.ok([400, 404, 422].includes((await api.request('DELETE', path, { body: tagList(['tag-\u0000']) })).status));
      assert.equal((await tagsOf(org)).length, 1);
    });

    it('is for owners and teams that manage workspaces: a workspace admin gets 403, an outsider 404', async () => {
      const org = await createOrganization(api);
      const ws = await createWorkspace(api, org);
      await tag(ws.id, ['t']);
      const id = (await tagsOf(org))[0].id;
      const admin = await userWithAccess(api, org, [ws.id], 'admin');
      assertError(await admin.client.request('DELETE', `/organizations/${org}/tags`, { body: tagList([id]) }), 403, /delete the organization's tags/);
      const outsider = await createUser(api);
      assertError(await outsider.client.request('DELETE', `/organizations/${org}/tags`, { body: tagList([id]) }), 404, /not found/);
      const managers = await createTeam(api, org, { 'manage-workspaces': true });
      const manager = await createUser(api);
      await addToOrganization(api, org, manager, [managers.id]);
      assertStatus(await manager.client.request('DELETE', `/organizations/${org}/tags`, { body: tagList([id]) }), 204);
      assert.equal((await tagsOf(org)).length, 0);
    });
  });

  describe('POST /tags/:id/relationships/workspaces', () => {
    it('adds the tag to every workspace named (204)', async () => {
      const org = await createOrganization(api);
      await tag((await createWorkspace(api, org)).id, ['shared']);
      const id = (await tagsOf(org))[0].id;
      const a = await createWorkspace(api, org);
      const b = await createWorkspace(api, org);
      assertStatus(await api.post(`/tags/${id}/relationships/workspaces`, tagList([a.id, b.id], 'workspaces')), 204);
      for (const ws of [a, b]) {
        const res = await api.get(`/workspaces/${ws.id}/relationships/tags`);
        assert.deepEqual(res.body.data.map((t: Json) => t.id), [id]);
      }
      assert.equal((await tagsOf(org))[0].attributes['instance-count'], 3);
    });

    it("answers 404 for another organization's workspace or tag, and an unknown tag, tagging nothing", async () => {
      const org = await createOrganization(api);
      const other = await createOrganization(api);
      await tag((await createWorkspace(api, org)).id, ['mine']);
      await tag((await createWorkspace(api, other)).id, ['theirs']);
      const mine = (await tagsOf(org))[0].id;
      const theirs = (await tagsOf(other))[0].id;
      const ws = await createWorkspace(api, org);
      const foreign = await createWorkspace(api, other);
      assertError(await api.post(`/tags/${mine}/relationships/workspaces`, tagList([ws.id, foreign.id], 'workspaces')), 404, new RegExp(`workspace "${foreign.id}" not found`));
      assert.deepEqual(await workspaceTagNames(ws.id), [], 'all or nothing');
      assertError(await api.post('/tags/tag-doesnotexist0/relationships/workspaces', tagList([ws.id], 'workspaces')), 404, /tag "tag-doesnotexist0" not found/);
      const owner = await createUser(api);
      const name = `o-${Date.now()}`;
      assertStatus(await owner.client.post('/organizations', { data: { type: 'organizations', attributes: { name, email: `${name}@example.com` } } }), 201);
      assertError(await owner.client.post(`/tags/${theirs}/relationships/workspaces`, tagList([ws.id], 'workspaces')), 404, /tag .* not found/);
    });

    it('needs write access to each workspace: a reader gets 403 and nothing is tagged; hostile bodies get 4xx', async () => {
      const org = await createOrganization(api);
      await tag((await createWorkspace(api, org)).id, ['t']);
      const id = (await tagsOf(org))[0].id;
      const ws = await createWorkspace(api, org);
      const reader = await userWithAccess(api, org, [ws.id], 'read');
      assertError(await reader.client.post(`/tags/${id}/relationships/workspaces`, tagList([ws.id], 'workspaces')), 403, /manage the tags/);
      const writer = await userWithAccess(api, org, [ws.id], 'write');
      assertStatus(await writer.client.post(`/tags/${id}/relationships/workspaces`, tagList([ws.id], 'workspaces')), 204);
      assertError(await api.request('POST', `/tags/${id}/relationships/workspaces`, { raw: '{"data"' }), 400, /malformed JSON/i);
      assertStatus(await api.post(`/tags/${id}/relationships/workspaces`, tagList([ws.id], 'tags')), 422);
      assertStatus(await api.post(`/tags/${id}/relationships/workspaces`, {}), 422);
      assertStatus(await api.post(`/tags/${id}/relationships/workspaces`, tagList(Array.from({ length: 101 }, (_, i) => `ws-${i}`), 'workspaces')), 422);
      assertStatus(await api.withToken(null).post(`/tags/${id}/relationships/workspaces`, tagList([ws.id], 'workspaces')), 401);
    });
  });
});
