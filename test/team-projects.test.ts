// Team access to projects (/team-projects), as Terraform Cloud and go-tfe have it: one grant per
// team and project, a level (read, write, maintain, admin) or custom permissions, and what it
// gives in every workspace of the project, decided with the rest of the caller's rights. Runs are
// executed for real by otfd's server agent.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, teamToken, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';
import { until } from './helpers/wait.js';

const FINAL = ['applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled'];

function accessDoc(teamId: string, projectId: string, attributes: Json): Json {
  return {
    data: {
      type: 'team-projects',
      attributes,
      relationships: { team: { data: { type: 'teams', id: teamId } }, project: { data: { type: 'projects', id: projectId } } },
    },
  };
}

describe('team access to projects', function () {
  this.timeout(180_000);
  let server: TestServer;
  let admin: Api;
  let org: string;

  before(async () => {
    server = await startServer({ config: { concurrency: 2 } });
    admin = server.api;
    org = await createOrganization(admin);
  });
  after(() => server.stop());

  async function createProject(organization = org): Promise<Json> {
    const res = await admin.post(`/organizations/${organization}/projects`, { data: { type: 'projects', attributes: { name: randomName('prj') } } });
    assertStatus(res, 201);
    return res.body.data;
  }

  async function grantProject(teamId: string, projectId: string, attributes: Json): Promise<Json> {
    const res = await admin.post('/team-projects', accessDoc(teamId, projectId, attributes));
    assertStatus(res, 201);
    return res.body.data;
  }

  /** A user in a new team holding `access` on the project; with the team's id. */
  async function userOnProject(projectId: string, access: string, custom: Json = {}): Promise<TestUser & { teamId: string; grantId: string }> {
    const team = await createTeam(admin, org);
    const granted = await grantProject(team.id, projectId, { access, ...custom });
    const user = await createUser(admin);
    await addToOrganization(admin, org, user, [team.id]);
    return { ...user, teamId: team.id, grantId: granted.id };
  }

  async function workspaceIn(projectId: string, attributes: Json = {}): Promise<Json> {
    const res = await admin.post(`/organizations/${org}/workspaces`, {
      data: { type: 'workspaces', attributes: { name: randomName('ws'), ...attributes }, relationships: { project: { data: { type: 'projects', id: projectId } } } },
    });
    assertStatus(res, 201);
    return res.body.data;
  }

  /** Uploads a configuration to the workspace as the site administrator, for runs to plan. */
  async function withConfiguration(wsId: string): Promise<void> {
    const cv = await admin.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    assertStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': fixture('one-resource') })), 200);
  }

  function queuePlan(client: Api, wsId: string): Promise<{ status: number; body: Json; text: string }> {
    return client.post('/runs', { data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
  }

  function queueRun(client: Api, wsId: string): Promise<{ status: number; body: Json; text: string }> {
    return client.post('/runs', { data: { type: 'runs', attributes: {}, relationships: { workspace: { data: { type: 'workspaces', id: wsId } } } } });
  }

  async function waitForRun(id: string, wanted: string[]): Promise<Json> {
    const run = await until(
      `run ${id} to reach ${wanted.join(' or ')}`,
      async () => (await admin.get(`/runs/${id}`)).body.data,
      (r: Json) => wanted.includes(r.attributes.status) || FINAL.includes(r.attributes.status),
      90_000,
    );
    assert.ok(wanted.includes(run.attributes.status), `run ${id} ended ${run.attributes.status} (${run.attributes['error-message']})`);
    return run;
  }

  describe('the API, as go-tfe uses it', () => {
    it('adds, reads, lists, updates and removes a grant, with the team and project relationships', async () => {
      const project = await createProject();
      const team = await createTeam(admin, org);
      const created = await admin.post('/team-projects', accessDoc(team.id, project.id, { access: 'admin' }));
      assertStatus(created, 201);
      const id = created.body.data.id;
      assert.match(id, /^tprj-/);
      assert.equal(created.body.data.type, 'team-projects');
      assert.equal(created.body.data.attributes.access, 'admin');
      assert.deepEqual(created.body.data.attributes['project-access'], { settings: 'delete', teams: 'manage' });
      assert.equal(created.body.data.attributes['workspace-access'].runs, 'apply');
      assert.equal(created.body.data.relationships.team.data.id, team.id);
      assert.equal(created.body.data.relationships.project.data.id, project.id);

      const read = await admin.get(`/team-projects/${id}`);
      assertStatus(read, 200);
      assert.deepEqual(read.body.data, created.body.data);

      const other = await createTeam(admin, org);
      await grantProject(other.id, project.id, { access: 'read' });
      const list = await admin.get(`/team-projects?filter[project][id]=${project.id}`);
      assertStatus(list, 200);
      assert.deepEqual(list.body.data.map((a: Json) => a.relationships.team.data.id).sort(), [team.id, other.id].sort());
      const far = await admin.get(`/team-projects?filter[project][id]=${project.id}&page[number]=999&page[size]=100`);
      assertStatus(far, 200);
      assert.deepEqual(far.body.data, []);
      assert.equal(far.body.meta.pagination['current-page'], 999);
      assert.equal(far.body.meta.pagination['total-count'], 2);

      const updated = await admin.patch(`/team-projects/${id}`, { data: { type: 'team-projects', attributes: { access: 'read' } } });
      assertStatus(updated, 200);
      assert.equal(updated.body.data.attributes.access, 'read');
      assert.deepEqual(updated.body.data.attributes['project-access'], { settings: 'read', teams: 'none' });

      assertStatus(await admin.delete(`/team-projects/${id}`), 204);
      assertError(await admin.get(`/team-projects/${id}`), 404, /team project access/);
      assertError(await admin.delete(`/team-projects/${id}`), 404, /team project access/);
    });

    it('keeps custom permissions as sent, and a PATCH changes only those it names', async () => {
      const project = await createProject();
      const team = await createTeam(admin, org);
      const all = {
        access: 'custom',
        'project-access': { settings: 'update', teams: 'manage' },
        'workspace-access': {
          runs: 'apply',
          'sentinel-mocks': 'read',
          'state-versions': 'write',
          variables: 'write',
          create: true,
          locking: true,
          move: true,
          delete: false,
          'run-tasks': false,
        },
      };
      const created = await grantProject(team.id, project.id, all);
      assert.deepEqual(created.attributes, all);
      const patched = await admin.patch(`/team-projects/${created.id}`, {
        data: { type: 'team-projects', attributes: { access: 'custom', 'project-access': { teams: 'read' }, 'workspace-access': { create: false, runs: 'plan' } } },
      });
      assertStatus(patched, 200);
      assert.deepEqual(patched.body.data.attributes, {
        access: 'custom',
        'project-access': { settings: 'update', teams: 'read' },
        'workspace-access': { ...all['workspace-access'], create: false, runs: 'plan' },
      });
      // A new custom grant without permissions starts from Terraform Cloud's defaults.
      const bare = await grantProject((await createTeam(admin, org)).id, project.id, { access: 'custom' });
      assert.deepEqual(bare.attributes['project-access'], { settings: 'read', teams: 'none' });
      assert.equal(bare.attributes['workspace-access'].runs, 'read');
      assert.equal(bare.attributes['workspace-access'].variables, 'none');
    });

    it('refuses a second grant for the same team and project (422), bad levels and permissions, and a list without its filter', async () => {
      const project = await createProject();
      const team = await createTeam(admin, org);
      await grantProject(team.id, project.id, { access: 'admin' });
      assertError(await admin.post('/team-projects', accessDoc(team.id, project.id, { access: 'read' })), 422, /already has access to project/);
      assertError(await admin.post('/team-projects', accessDoc(team.id, project.id, { access: 'nonsense' })), 422, /access/);
      assertError(await admin.post('/team-projects', accessDoc(team.id, project.id, {})), 422, /access/);
      assertError(
        await admin.post('/team-projects', accessDoc((await createTeam(admin, org)).id, project.id, { access: 'custom', 'project-access': { teams: 'nonsense' } })),
        422,
        /teams/,
      );
      assertError(
        await admin.post('/team-projects', accessDoc((await createTeam(admin, org)).id, project.id, { access: 'custom', 'workspace-access': { bogus: true } })),
        422,
        /workspace-access/,
      );
      assertError(
        await admin.post('/team-projects', accessDoc((await createTeam(admin, org)).id, project.id, { access: 'write', 'workspace-access': { runs: 'plan' } })),
        422,
        /read-only when access level is 'write'; use the 'custom' access level/,
      );
      assertError(await admin.get('/team-projects'), 400, /filter\[project\]\[id\] is required/, { parameter: 'filter[project][id]' });
      assertError(await admin.get('/team-projects?filter[project][id]=prj-nonexisting'), 404, /project/);
      assertError(await admin.get('/team-projects/tprj-nonexisting'), 404, /team project access/);
    });

    it("refuses other organizations' teams (422) and projects (404), and answers 404 to other organizations' users", async () => {
      const project = await createProject();
      const otherOrg = await createOrganization(admin);
      const foreignTeam = await createTeam(admin, otherOrg);
      assertError(await admin.post('/team-projects', accessDoc(foreignTeam.id, project.id, { access: 'read' })), 422, /not a team of the project's organization/, {
        pointer: '/data/relationships/team/data/id',
      });
      const foreignProject = await createProject(otherOrg);
      const granted = await grantProject((await createTeam(admin, org)).id, project.id, { access: 'write' });
      const stranger = await createUser(admin);
      await addToOrganization(admin, otherOrg, stranger, [(await createTeam(admin, otherOrg, { 'manage-workspaces': true, 'manage-projects': true })).id]);
      // A manager of projects in its own organization sees nothing of this one.
      const team = await createTeam(admin, org);
      assertError(await stranger.client.post('/team-projects', accessDoc(team.id, project.id, { access: 'admin' })), 404, /project/);
      assertError(await stranger.client.get(`/team-projects/${granted.id}`), 404, /team project access/);
      assertError(await stranger.client.get(`/team-projects?filter[project][id]=${project.id}`), 404, /project/);
      assertError(await stranger.client.patch(`/team-projects/${granted.id}`, { data: { type: 'team-projects', attributes: { access: 'admin' } } }), 404, /team project access/);
      assertError(await stranger.client.delete(`/team-projects/${granted.id}`), 404, /team project access/);
      // Its own team on our project, our team on its project: refused too.
      assertError(await admin.post('/team-projects', accessDoc(team.id, foreignProject.id, { access: 'read' })), 422, /not a team of the project's organization/);
      assertStatus(await admin.get(`/team-projects/${granted.id}`), 200);
    });
  });

  describe('what a grant allows', () => {
    it('write on a project: queues and applies a real run in a workspace of the project, but may not change its settings; nothing outside the project', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      const outside = await createWorkspace(admin, org, randomName('ws'));
      const writer = await userOnProject(project.id, 'write');
      const cv = await writer.client.post(`/workspaces/${ws.id}/configuration-versions`, {
        data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } },
      });
      assertStatus(cv, 201);
      assertStatus(await uploadTarball(writer.client, cv.body.data, configTarball({ 'main.tf': fixture('one-resource') })), 200);
      const queued = await queueRun(writer.client, ws.id);
      assertStatus(queued, 201);
      assert.equal(queued.body.data.relationships['created-by'].data.id, writer.id);
      await waitForRun(queued.body.data.id, ['planned']);
      assertStatus(await writer.client.post(`/runs/${queued.body.data.id}/actions/apply`, {}), 202);
      await waitForRun(queued.body.data.id, ['applied']);
      assertStatus(await writer.client.get(`/workspaces/${ws.id}/current-state-version`), 200);

      const read = await writer.client.get(`/workspaces/${ws.id}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.permissions['can-queue-run'], true);
      assert.equal(read.body.data.attributes.permissions['can-update'], false);
      assertError(
        await writer.client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { description: 'mine' } } }),
        403,
        /change the workspace's settings/,
      );
      assertError(await writer.client.delete(`/workspaces/${ws.id}`), 403, /delete the workspace/);
      assertError(await writer.client.get(`/workspaces/${outside.id}`), 404, /workspace/);
      assertError(await queueRun(writer.client, outside.id), 404, /workspace/);
      const listed = await writer.client.get(`/organizations/${org}/workspaces`);
      assertStatus(listed, 200);
      assert.deepEqual(
        listed.body.data.map((w: Json) => w.id),
        [ws.id],
      );
      assertError(
        await writer.client.patch(`/projects/${project.id}`, { data: { type: 'projects', attributes: { description: 'mine' } } }),
        403,
        /change the project's settings/,
      );
    });

    it('read on a project: reads its workspaces but may not queue; a team token holds the same', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      const reader = await userOnProject(project.id, 'read');
      assertStatus(await reader.client.get(`/workspaces/${ws.id}`), 200);
      assertStatus(await reader.client.get(`/workspaces/${ws.id}/vars`), 200);
      assertError(await queueRun(reader.client, ws.id), 403, /queue plans/);
      const token = admin.withToken(await teamToken(admin, reader.teamId));
      assertStatus(await token.get(`/workspaces/${ws.id}`), 200);
      assertError(await queueRun(token, ws.id), 403, /queue plans/);
    });

    it('the union with direct workspace access and organization permissions: the most permissive wins', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      await withConfiguration(ws.id);
      const user = await userOnProject(project.id, 'read');
      assertError(await queuePlan(user.client, ws.id), 403, /queue plans/);
      // Plan access on the workspace itself, through the same team: now it may queue.
      const direct = await grant(admin, user.teamId, ws.id, 'plan');
      assertStatus(await queuePlan(user.client, ws.id), 201);
      assertStatus(await admin.delete(`/team-workspaces/${direct.id}`), 204);
      assertError(await queuePlan(user.client, ws.id), 403, /queue plans/);
      // A second team with write on the project: write wins over read.
      const writers = await createTeam(admin, org);
      await grantProject(writers.id, project.id, { access: 'write' });
      assertStatus(await admin.post(`/teams/${writers.id}/relationships/users`, { data: [{ type: 'users', id: user.id }] }), 204);
      const lock = await user.client.post(`/workspaces/${ws.id}/actions/lock`, { data: { type: 'workspaces', attributes: {} } });
      assertStatus(lock, 200);
      assertStatus(await user.client.post(`/workspaces/${ws.id}/actions/unlock`), 200);
    });

    it('custom access gives exactly what it names in the workspaces of the project', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      await withConfiguration(ws.id);
      const user = await userOnProject(project.id, 'custom', { 'workspace-access': { runs: 'plan', variables: 'none', delete: true } });
      assertStatus(await queuePlan(user.client, ws.id), 201);
      assertError(await user.client.get(`/workspaces/${ws.id}/vars`), 403, /read variables/);
      assertError(
        await user.client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { description: 'x' } } }),
        403,
        /change the workspace's settings/,
      );
      const spare = await workspaceIn(project.id);
      assertStatus(await user.client.delete(`/workspaces/${spare.id}`), 204);
    });

    it('maintain: administers the workspaces and creates new ones in the project, not elsewhere, and not the project itself', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      const maintainer = await userOnProject(project.id, 'maintain');
      assertStatus(await maintainer.client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { description: 'maintained' } } }), 200);
      const created = await maintainer.client.post(`/organizations/${org}/workspaces`, {
        data: { type: 'workspaces', attributes: { name: randomName('ws') }, relationships: { project: { data: { type: 'projects', id: project.id } } } },
      });
      assertStatus(created, 201);
      // At once: the new workspace is the maintainer's to read and change.
      assertStatus(await maintainer.client.get(`/workspaces/${created.body.data.id}`), 200);
      assertStatus(await maintainer.client.get(`/workspaces/${created.body.data.id}/vars`), 200);
      assertError(await maintainer.client.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws') } } }), 403, /create workspaces/);
      assertError(
        await maintainer.client.patch(`/projects/${project.id}`, { data: { type: 'projects', attributes: { description: 'mine' } } }),
        403,
        /change the project's settings/,
      );
      assertError(await maintainer.client.post('/team-projects', accessDoc(maintainer.teamId, project.id, { access: 'admin' })), 403, /manage team access to the project/);
    });

    it("admin: manages the project and its team access, but not other projects'", async () => {
      const project = await createProject();
      const other = await createProject();
      const projectAdmin = await userOnProject(project.id, 'admin');
      const renamed = await projectAdmin.client.patch(`/projects/${project.id}`, { data: { type: 'projects', attributes: { description: 'administered' } } });
      assertStatus(renamed, 200);
      assert.equal(renamed.body.data.attributes.permissions['can-update'], true);
      const team = await createTeam(admin, org);
      await admin.patch(`/teams/${team.id}`, { data: { type: 'teams', attributes: { visibility: 'organization' } } });
      const granted = await projectAdmin.client.post('/team-projects', accessDoc(team.id, project.id, { access: 'write' }));
      assertStatus(granted, 201);
      assertStatus(await projectAdmin.client.patch(`/team-projects/${granted.body.data.id}`, { data: { type: 'team-projects', attributes: { access: 'read' } } }), 200);
      assertStatus(await projectAdmin.client.delete(`/team-projects/${granted.body.data.id}`), 204);
      assertError(await projectAdmin.client.post('/team-projects', accessDoc(team.id, other.id, { access: 'write' })), 403, /manage team access to the project/);
      assertError(
        await projectAdmin.client.patch(`/projects/${other.id}`, { data: { type: 'projects', attributes: { description: 'mine' } } }),
        403,
        /change the project's settings/,
      );
      assertStatus(await projectAdmin.client.delete(`/projects/${project.id}`), 204);
    });

    it('removing or lowering the grant takes effect at once, for users and team tokens alike', async () => {
      const project = await createProject();
      const ws = await workspaceIn(project.id);
      const user = await userOnProject(project.id, 'write');
      const token = admin.withToken(await teamToken(admin, user.teamId));
      // Both subjects are now kept by the server's cache.
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 200);
      assertStatus(await token.get(`/workspaces/${ws.id}`), 200);
      assertStatus(await admin.patch(`/team-projects/${user.grantId}`, { data: { type: 'team-projects', attributes: { access: 'read' } } }), 200);
      assertError(await queueRun(user.client, ws.id), 403, /queue plans/);
      assertError(await queueRun(token, ws.id), 403, /queue plans/);
      assertStatus(await admin.delete(`/team-projects/${user.grantId}`), 204);
      assertError(await user.client.get(`/workspaces/${ws.id}`), 404, /workspace/);
      assertError(await token.get(`/workspaces/${ws.id}`), 404, /workspace/);
      const listed = await user.client.get(`/organizations/${org}/workspaces`);
      assertStatus(listed, 200);
      assert.deepEqual(listed.body.data, []);
    });

    it('moving a workspace to another project takes move on both projects: admin on both, not workspace admin alone', async () => {
      const from = await createProject();
      const to = await createProject();
      const ws = await workspaceIn(from.id);
      const move = (client: Api, projectId: string) =>
        client.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: {}, relationships: { project: { data: { type: 'projects', id: projectId } } } } });
      const user = await userOnProject(from.id, 'admin');
      assertError(await move(user.client, to.id), 403, /move workspaces out of or into the project/);
      // Admin of the workspace itself is not enough either.
      const wsAdmin = await createUser(admin);
      const wsAdmins = await createTeam(admin, org);
      await grant(admin, wsAdmins.id, ws.id, 'admin');
      await addToOrganization(admin, org, wsAdmin, [wsAdmins.id]);
      assertError(await move(wsAdmin.client, to.id), 403, /move workspaces/);
      // Custom access with move on the target, and admin on the source: moved.
      await grantProject(user.teamId, to.id, { access: 'custom', 'workspace-access': { move: true } });
      const moved = await move(user.client, to.id);
      assertStatus(moved, 200);
      assert.equal(moved.body.data.relationships.project.data.id, to.id);
    });

    it('a workspace moved out of the project leaves the grant behind', async () => {
      const project = await createProject();
      const elsewhere = await createProject();
      const ws = await workspaceIn(project.id);
      const user = await userOnProject(project.id, 'write');
      assertStatus(await user.client.get(`/workspaces/${ws.id}/vars`), 200);
      const moved = await admin.patch(`/workspaces/${ws.id}`, {
        data: { type: 'workspaces', attributes: {}, relationships: { project: { data: { type: 'projects', id: elsewhere.id } } } },
      });
      assertStatus(moved, 200);
      // Announced by the database: the next requests see the move.
      const gone = await until(
        'the moved workspace to leave the grant',
        async () => (await user.client.get(`/workspaces/${ws.id}/vars`)).status,
        (status) => status === 404,
        5_000,
      );
      assert.equal(gone, 404);
    });
  });
});
