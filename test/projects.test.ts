// Projects as a user sees them over HTTP: the default project of every organization, listing and
// filtering by name (as the terraform CLI does), creating, reading, updating and deleting them.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { createOrganization, randomName, startServer, type TestServer } from './helpers/server.js';

function projectDocument(attributes: Record<string, unknown>, type = 'projects'): Json {
  return { data: { type, attributes } };
}

async function createProject(api: Api, org: string, name = randomName('prj'), description?: string): Promise<Json> {
  const res = await api.post(`/organizations/${org}/projects`, projectDocument(description === undefined ? { name } : { name, description }));
  assertStatus(res, 201);
  return res.body.data;
}

/** The names of the organization's projects, sorted. */
async function projectNames(api: Api, org: string): Promise<string[]> {
  const res = await api.get(`/organizations/${org}/projects?page%5Bsize%5D=100`);
  assertStatus(res, 200);
  return res.body.data.map((p: Json) => p.attributes.name).sort();
}

function byName(name: string): string {
  return `filter%5Bnames%5D=${encodeURIComponent(name)}`;
}

describe('projects', function () {
  let server: TestServer;
  let api: Api;
  before(async () => {
    server = await startServer();
    api = server.api;
  });
  after(() => server.stop());

  describe('the default project', () => {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('exists in every new organization, named "Default Project"', async () => {
      const res = await api.get(`/organizations/${org}/projects`);
      assertStatus(res, 200);
      assert.equal(res.body.data.length, 1);
      const project = res.body.data[0];
      assert.equal(project.type, 'projects');
      assert.match(project.id, /^prj-/);
      assert.equal(project.attributes.name, 'Default Project');
      assert.equal(project.attributes['is-default'], true);
      assert.equal(project.relationships.organization.data.id, org);
      assert.equal(res.body.meta.pagination['total-count'], 1);
      assert.equal(res.body.meta.pagination['page-size'], 20);
    });

    it('cannot be deleted: 409, and it remains', async () => {
      const id = (await api.get(`/organizations/${org}/projects`)).body.data[0].id;
      const res = await api.delete(`/projects/${id}`);
      assertError(res, 409, /default project .* cannot be deleted/);
      const read = await api.get(`/projects/${id}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.name, 'Default Project');
    });

    it('is where workspaces created without a project go', async () => {
      const id = (await api.get(`/organizations/${org}/projects`)).body.data[0].id;
      const res = await api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws') } } });
      assertStatus(res, 201);
      assert.equal(res.body.data.relationships.project.data.id, id);
    });
  });

  describe('GET /organizations/:org/projects', () => {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
      await createProject(api, org, 'alpha');
      await createProject(api, org, 'beta');
      await createProject(api, org, 'alpha two');
    });

    it('lists every project of the organization', async () => {
      assert.deepEqual(await projectNames(api, org), ['Default Project', 'alpha', 'alpha two', 'beta']);
    });

    it('returns only the named project with filter[names]', async () => {
      const res = await api.get(`/organizations/${org}/projects?${byName('alpha')}`);
      assertStatus(res, 200);
      assert.deepEqual(
        res.body.data.map((p: Json) => p.attributes.name),
        ['alpha'],
      );
      assert.equal(res.body.meta.pagination['total-count'], 1);

      const spaced = await api.get(`/organizations/${org}/projects?${byName('Default Project')}`);
      assertStatus(spaced, 200);
      assert.deepEqual(
        spaced.body.data.map((p: Json) => p.attributes.name),
        ['Default Project'],
      );
    });

    it('returns nothing for filter[names] naming no project', async () => {
      const res = await api.get(`/organizations/${org}/projects?${byName('gamma')}`);
      assertStatus(res, 200);
      assert.deepEqual(res.body.data, []);
      assert.equal(res.body.meta.pagination['total-count'], 0);
    });

    it('answers an unknown organization with 404 naming it', async () => {
      const name = randomName('missing');
      assertError(await api.get(`/organizations/${name}/projects`), 404, new RegExp(`organization "${name}" not found`));
    });
  });

  describe('POST /organizations/:org/projects', () => {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('creates a project', async () => {
      const name = randomName('prj');
      const res = await api.post(`/organizations/${org}/projects`, projectDocument({ name, description: 'the things' }));
      assertStatus(res, 201);
      const data = res.body.data;
      assert.equal(data.type, 'projects');
      assert.match(data.id, /^prj-/);
      assert.equal(data.attributes.name, name);
      assert.equal(data.attributes.description, 'the things');
      assert.equal(data.attributes['is-default'], false);
      assert.match(data.attributes['created-at'], /Z$/);
      assert.deepEqual(data.relationships.organization.data, { type: 'organizations', id: org });

      const listed = await api.get(`/organizations/${org}/projects?${byName(name)}`);
      assert.deepEqual(
        listed.body.data.map((p: Json) => p.id),
        [data.id],
      );
    });

    it('accepts names of 3 to 40 letters, digits, spaces, - and _', async () => {
      for (const name of ['abc', 'a'.repeat(40), 'with space', 'dash-and_underscore 42', '-a-', '_ b _']) {
        const data = await createProject(api, org, name);
        assert.equal(data.attributes.name, name);
      }
    });

    it('answers a duplicate name with 409 and creates no second project', async () => {
      const name = randomName('dup');
      const first = await createProject(api, org, name, 'first');
      const res = await api.post(`/organizations/${org}/projects`, projectDocument({ name, description: 'second' }));
      assertError(res, 409, new RegExp(`project name "${name}" is already taken`), { pointer: '/data/attributes/name' });
      const listed = await api.get(`/organizations/${org}/projects?${byName(name)}`);
      assert.equal(listed.body.data.length, 1);
      assert.equal(listed.body.data[0].id, first.id);
      assert.equal(listed.body.data[0].attributes.description, 'first');
    });

    it('allows the same name in another organization', async () => {
      const name = randomName('shared');
      await createProject(api, org, name);
      const otherOrg = await createOrganization(api);
      const data = await createProject(api, otherOrg, name);
      assert.equal(data.relationships.organization.data.id, otherOrg);
    });

    // go-tfe's tests (and so, likely, scripts built on it) look for Terraform Cloud's sentence.
    it("answers an invalid name with 422 in Terraform Cloud's words, pointing at the name, and creates nothing", async () => {
      const before = await projectNames(api, org);
      for (const name of ['ab', 'a'.repeat(41), 'slash/name', 'dot.name', 'émoji', '', ' leading', 'trailing ', '   ', 42]) {
        const res = await api.post(`/organizations/${org}/projects`, projectDocument({ name }));
        assertError(res, 422, /^Name may only contain letters, numbers, spaces, "-" and "_", may not begin or end with a space, and must be 3 to 40 characters long$/, {
          pointer: '/data/attributes/name',
        });
      }
      assert.deepEqual(await projectNames(api, org), before);
    });

    it('answers a missing name with 422 naming the name attribute, and creates nothing', async () => {
      const before = await projectNames(api, org);
      const res = await api.post(`/organizations/${org}/projects`, projectDocument({ description: 'nameless' }));
      assertError(res, 422, /attribute "name" is required/, { pointer: '/data/attributes/name' });
      const noAttributes = await api.post(`/organizations/${org}/projects`, { data: { type: 'projects' } });
      assertError(noAttributes, 422, /data\.attributes is required|attribute "name" is required/);
      assert.deepEqual(await projectNames(api, org), before);
    });

    it('answers a wrong data.type with 422 and creates nothing', async () => {
      const name = randomName('typed');
      const res = await api.post(`/organizations/${org}/projects`, projectDocument({ name }, 'workspaces'));
      assertError(res, 422, /data\.type must be "projects"/, { pointer: '/data/type' });
      const listed = await api.get(`/organizations/${org}/projects?${byName(name)}`);
      assert.equal(listed.body.data.length, 0);
    });

    it('answers an unknown organization with 404 naming it', async () => {
      const name = randomName('missing');
      const res = await api.post(`/organizations/${name}/projects`, projectDocument({ name: 'orphan' }));
      assertError(res, 404, new RegExp(`organization "${name}" not found`));
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });
  });

  describe('GET, PATCH and DELETE /projects/:id', () => {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('shows a project', async () => {
      const created = await createProject(api, org, randomName('show'), 'shown');
      const res = await api.get(`/projects/${created.id}`);
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'projects');
      assert.equal(res.body.data.id, created.id);
      assert.equal(res.body.data.attributes.name, created.attributes.name);
      assert.equal(res.body.data.attributes.description, 'shown');
      assert.equal(res.body.data.relationships.organization.data.id, org);
    });

    it('answers an unknown project with 404 naming it', async () => {
      assertError(await api.get('/projects/prj-doesnotexist0000'), 404, /project "prj-doesnotexist0000" not found/);
      assertError(await api.patch('/projects/prj-doesnotexist0000', projectDocument({ name: 'whatever' })), 404, /project "prj-doesnotexist0000" not found/);
      assertError(await api.delete('/projects/prj-doesnotexist0000'), 404, /project "prj-doesnotexist0000" not found/);
    });

    it('renames a project', async () => {
      const created = await createProject(api, org, randomName('old'), 'kept');
      const renamed = randomName('new');
      const res = await api.patch(`/projects/${created.id}`, projectDocument({ name: renamed }));
      assertStatus(res, 200);
      assert.equal(res.body.data.id, created.id);
      assert.equal(res.body.data.attributes.name, renamed);
      assert.equal(res.body.data.attributes.description, 'kept');
      const read = await api.get(`/projects/${created.id}`);
      assert.equal(read.body.data.attributes.name, renamed);
      assert.equal((await api.get(`/organizations/${org}/projects?${byName(created.attributes.name)}`)).body.data.length, 0);
      assert.equal((await api.get(`/organizations/${org}/projects?${byName(renamed)}`)).body.data.length, 1);
    });

    it('changes the description', async () => {
      const created = await createProject(api, org, randomName('desc'), 'before');
      const res = await api.patch(`/projects/${created.id}`, projectDocument({ description: 'after' }));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.description, 'after');
      assert.equal(res.body.data.attributes.name, created.attributes.name);
      const read = await api.get(`/projects/${created.id}`);
      assert.equal(read.body.data.attributes.description, 'after');
    });

    it('answers a rename onto an existing name with 409 and renames nothing', async () => {
      const a = await createProject(api, org, randomName('a'));
      const b = await createProject(api, org, randomName('b'));
      const res = await api.patch(`/projects/${a.id}`, projectDocument({ name: b.attributes.name }));
      assertError(res, 409, new RegExp(`project name "${b.attributes.name}" is already taken`), { pointer: '/data/attributes/name' });
      assert.equal((await api.get(`/projects/${a.id}`)).body.data.attributes.name, a.attributes.name);
      assert.equal((await api.get(`/projects/${b.id}`)).body.data.attributes.name, b.attributes.name);
    });

    it('answers an invalid new name with 422 and changes nothing', async () => {
      const created = await createProject(api, org, randomName('inv'));
      const res = await api.patch(`/projects/${created.id}`, projectDocument({ name: 'no' }));
      assertError(res, 422, /^Name may only contain letters, numbers, spaces/, { pointer: '/data/attributes/name' });
      assert.equal((await api.get(`/projects/${created.id}`)).body.data.attributes.name, created.attributes.name);
    });

    it('deletes an empty project: 204, then 404', async () => {
      const created = await createProject(api, org, randomName('gone'));
      const res = await api.delete(`/projects/${created.id}`);
      assertStatus(res, 204);
      assert.equal(res.text, '');
      assertError(await api.get(`/projects/${created.id}`), 404, new RegExp(`project "${created.id}" not found`));
      assert.equal((await api.get(`/organizations/${org}/projects?${byName(created.attributes.name)}`)).body.data.length, 0);
    });

    it('refuses to delete a project that still has workspaces: 409, and the project remains', async () => {
      const project = await createProject(api, org, randomName('busy'));
      const wsName = randomName('ws');
      const ws = await api.post(`/organizations/${org}/workspaces`, {
        data: {
          type: 'workspaces',
          attributes: { name: wsName },
          relationships: { project: { data: { type: 'projects', id: project.id } } },
        },
      });
      assertStatus(ws, 201);
      assert.equal(ws.body.data.relationships.project.data.id, project.id);

      const res = await api.delete(`/projects/${project.id}`);
      assertError(res, 409, new RegExp(`project "${project.attributes.name}" still has workspaces`));
      const read = await api.get(`/projects/${project.id}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.name, project.attributes.name);
      const wsRead = await api.get(`/workspaces/${ws.body.data.id}`);
      assertStatus(wsRead, 200);
      assert.equal(wsRead.body.data.relationships.project.data.id, project.id);
    });
  });

  describe('another organization’s token', () => {
    let org: string;
    let project: Json;
    let outsider: Api;
    before(async () => {
      org = await createOrganization(api);
      project = await createProject(api, org, randomName('private'), 'secret');
      const other = await createOrganization(api);
      const token = await api.post(`/organizations/${other}/authentication-token`);
      assertStatus(token, 201);
      outsider = api.withToken(token.body.data.attributes.token);
    });

    it('gets 404 for the project and changes nothing', async () => {
      const notFound = new RegExp(`project "${project.id}" not found`);
      assertError(await outsider.get(`/projects/${project.id}`), 404, notFound);
      assertError(await outsider.patch(`/projects/${project.id}`, projectDocument({ description: 'hijacked' })), 404, notFound);
      assertError(await outsider.delete(`/projects/${project.id}`), 404, notFound);
      const read = await api.get(`/projects/${project.id}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.description, 'secret');
    });

    it('gets 404 for the organization’s project list and cannot create projects in it', async () => {
      const notFound = new RegExp(`organization "${org}" not found`);
      assertError(await outsider.get(`/organizations/${org}/projects`), 404, notFound);
      const name = randomName('intruder');
      assertError(await outsider.post(`/organizations/${org}/projects`, projectDocument({ name })), 404, notFound);
      assert.equal((await api.get(`/organizations/${org}/projects?${byName(name)}`)).body.data.length, 0);
    });

    it('while the organization’s own token sees the project', async () => {
      const token = await api.post(`/organizations/${org}/authentication-token`);
      assertStatus(token, 201);
      const insider = api.withToken(token.body.data.attributes.token);
      assertStatus(await insider.get(`/projects/${project.id}`), 200);
      const listed = await insider.get(`/organizations/${org}/projects?${byName(project.attributes.name)}`);
      assertStatus(listed, 200);
      assert.equal(listed.body.data.length, 1);
    });
  });
});
