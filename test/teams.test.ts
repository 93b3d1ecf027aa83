// Teams as the API shows them: the owners team every organization has, teams with their
// organization access, visibility and members, team tokens, and the access teams have to
// workspaces (/team-workspaces) with the rights it gives their members and tokens.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ids, relatedIds, type Api, type Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { addToOrganization, createTeam, createUser, grant, ownersTeam, teamToken, userWithAccess, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function teamDocument(attributes: Record<string, unknown>): Json {
  return { data: { type: 'teams', attributes } };
}

function usersDocument(ids: string[]): Json {
  return { data: ids.map((id) => ({ type: 'users', id })) };
}

function tokenDocument(attributes: Record<string, unknown> = {}): Json {
  return { data: { type: 'authentication-tokens', attributes } };
}

function accessDocument(teamId: string, workspaceId: string, attributes: Record<string, unknown>): Json {
  return {
    data: {
      type: 'team-workspaces',
      attributes,
      relationships: { team: { data: { type: 'teams', id: teamId } }, workspace: { data: { type: 'workspaces', id: workspaceId } } },
    },
  };
}

function runDocument(workspaceId: string): Json {
  return { data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: workspaceId } } } } };
}

function variableDocument(): Json {
  return { data: { type: 'vars', attributes: { key: randomName('v').replace(/-/g, '_'), value: 'x', category: 'terraform' } } };
}

/** The workspace permissions of a grant, as /team-workspaces shows them. */
function permissionsOf(access: Json): Record<string, unknown> {
  const a = access.attributes;
  return {
    runs: a.runs,
    variables: a.variables,
    'state-versions': a['state-versions'],
    'sentinel-mocks': a['sentinel-mocks'],
    'workspace-locking': a['workspace-locking'],
    'run-tasks': a['run-tasks'],
  };
}

const LEVELS: Record<string, Record<string, unknown>> = {
  read: { runs: 'read', variables: 'read', 'state-versions': 'read', 'sentinel-mocks': 'none', 'workspace-locking': false, 'run-tasks': false },
  plan: { runs: 'plan', variables: 'read', 'state-versions': 'read', 'sentinel-mocks': 'none', 'workspace-locking': false, 'run-tasks': false },
  write: { runs: 'apply', variables: 'write', 'state-versions': 'write', 'sentinel-mocks': 'read', 'workspace-locking': true, 'run-tasks': false },
  admin: { runs: 'apply', variables: 'write', 'state-versions': 'write', 'sentinel-mocks': 'read', 'workspace-locking': true, 'run-tasks': true },
};

const CUSTOM_DEFAULTS = { runs: 'read', variables: 'none', 'state-versions': 'none', 'sentinel-mocks': 'none', 'workspace-locking': false, 'run-tasks': false };

describe('teams', function () {
  this.timeout(60_000);
  let server: TestServer;
  let admin: Api;

  before(async () => {
    server = await startServer();
    admin = server.api;
  });
  after(() => server.stop());

  async function getTeam(id: string, api: Api = admin): Promise<Json> {
    const res = await api.get(`/teams/${id}`);
    assertStatus(res, 200);
    return res.body.data;
  }

  /** A user who is a member of the organization, in the teams given. */
  async function member(org: string, teamIds: string[] = []): Promise<TestUser> {
    const user = await createUser(admin);
    await addToOrganization(admin, org, user, teamIds);
    return user;
  }

  /** A user in the organization's owners team. */
  async function owner(org: string): Promise<TestUser> {
    return member(org, [(await ownersTeam(admin, org)).id]);
  }

  /** Gives the workspace a state with one output, as the site administrator. */
  async function createState(workspaceId: string): Promise<void> {
    const content = JSON.stringify({
      version: 4,
      terraform_version: '1.11.4',
      serial: 1,
      lineage: crypto.randomUUID(),
      outputs: { greeting: { value: 'hello', type: 'string' } },
      resources: [],
      check_results: null,
    });
    assertStatus(await admin.post(`/workspaces/${workspaceId}/actions/lock`, { data: { type: '', attributes: {} } }), 200);
    const created = await admin.post(`/workspaces/${workspaceId}/state-versions`, {
      data: {
        type: 'state-versions',
        attributes: { serial: 1, lineage: JSON.parse(content).lineage, md5: crypto.createHash('md5').update(content).digest('hex'), state: Buffer.from(content).toString('base64') },
      },
    });
    assertStatus(created, 201);
    assertStatus(await admin.post(`/workspaces/${workspaceId}/actions/unlock`), 200);
  }

  // ------------------------------------------------------------ the owners team

  describe('the owners team', () => {
    let org: string;
    let owners: Json;

    before(async () => {
      org = await createOrganization(admin);
      owners = await ownersTeam(admin, org);
    });

    it('every organization has one, holding every organization permission', async () => {
      const res = await admin.get(`/organizations/${org}/teams?filter[names]=owners`);
      assertStatus(res, 200);
      assert.equal(res.body.data.length, 1);
      const team = res.body.data[0];
      assert.equal(team.type, 'teams');
      assert.equal(team.attributes.name, 'owners');
      const access = team.attributes['organization-access'];
      for (const p of ['manage-workspaces', 'manage-projects', 'manage-membership', 'manage-teams', 'manage-organization-access', 'read-workspaces', 'access-secret-teams']) {
        assert.equal(access[p], true, `owners hold ${p}`);
      }
      assert.ok(Object.values(access).every((v) => v === true), JSON.stringify(access));
      assert.equal(team.attributes.permissions['can-destroy'], false);
    });

    it('cannot be deleted: 409', async () => {
      assertError(await admin.delete(`/teams/${owners.id}`), 409, /owners team cannot be deleted/);
      assertStatus(await admin.get(`/teams/${owners.id}`), 200);
    });

    it('cannot be renamed: 422', async () => {
      const res = await admin.patch(`/teams/${owners.id}`, teamDocument({ name: 'bosses' }));
      assertError(res, 422, /cannot be renamed/, { pointer: '/data/attributes/name' });
      assert.equal((await getTeam(owners.id)).attributes.name, 'owners');
    });

    it('its organization access cannot be changed: 422', async () => {
      const res = await admin.patch(`/teams/${owners.id}`, teamDocument({ 'organization-access': { 'manage-workspaces': false } }));
      assertError(res, 422, /organization access cannot be changed/, { pointer: '/data/attributes/organization-access' });
      assert.equal((await getTeam(owners.id)).attributes['organization-access']['manage-workspaces'], true);
    });

    it('its last member cannot be removed: 409', async () => {
      const first = await owner(org);
      const res = await admin.delete(`/teams/${owners.id}/relationships/users`, { body: usersDocument([first.id]) });
      assertError(res, 409, /owners team/);
      assert.deepEqual(relatedIds(await getTeam(owners.id), 'users'), [first.id]);
      // with another owner, the first may go
      const second = await owner(org);
      assertStatus(await admin.delete(`/teams/${owners.id}/relationships/users`, { body: usersDocument([first.id]) }), 204);
      assert.deepEqual(relatedIds(await getTeam(owners.id), 'users'), [second.id]);
      // and removing the last one, even together with somebody else, is refused
      const both = await admin.delete(`/teams/${owners.id}/relationships/users`, { body: usersDocument([second.id, first.id]) });
      assertError(both, 409, /owners team/);
    });

    it('a team that manages members or teams cannot add owners, remove them from the organization, or grant the owners team: 403', async () => {
      const kept = await owner(org);
      const managers = await createTeam(admin, org, { 'manage-membership': true, 'manage-teams': true });
      const manager = await member(org, [managers.id]);
      const outsider = await member(org);
      assertError(await manager.client.post(`/teams/${owners.id}/relationships/users`, usersDocument([outsider.id])), 403, /only owners may change the members of the owners team/);
      assertError(await manager.client.patch(`/teams/${owners.id}`, { data: { type: 'teams', attributes: { visibility: 'organization' } } }), 403, /only owners may change the settings of the owners team/);
      const memberships = await admin.get(`/organizations/${org}/organization-memberships?q=${kept.username}`);
      const membershipId = memberships.body.data.find((m: Json) => m.relationships.user.data.id === kept.id).id;
      assertError(await manager.client.delete(`/organization-memberships/${membershipId}`), 403, /only owners may remove a member of the owners team/);
      assert.ok(relatedIds(await getTeam(owners.id), 'users').includes(kept.id));
      assert.ok(!relatedIds(await getTeam(owners.id), 'users').includes(outsider.id));
      // The permissions block says as much.
      const seen = (await getTeam(owners.id, manager.client)).attributes.permissions;
      assert.deepEqual([seen['can-update-membership'], seen['can-update-api-token'], seen['can-update-visibility']], [false, false, false]);
      // Other members remain theirs to manage.
      const other = await admin.get(`/organizations/${org}/organization-memberships?q=${outsider.username}`);
      assertStatus(await manager.client.delete(`/organization-memberships/${other.body.data[0].id}`), 204);
    });
  });

  // ------------------------------------------------------------ teams

  describe('creating, reading, changing and deleting teams', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(admin);
    });

    it('POST /organizations/:org/teams creates a secret team with the organization access given', async () => {
      const name = randomName('team');
      const res = await admin.post(`/organizations/${org}/teams`, teamDocument({ name, 'organization-access': { 'manage-workspaces': true, 'read-workspaces': true } }));
      assertStatus(res, 201);
      const team = res.body.data;
      assert.equal(team.type, 'teams');
      assert.match(team.id, /^team-/);
      assert.equal(team.attributes.name, name);
      assert.equal(team.attributes.visibility, 'secret');
      assert.equal(team.attributes['users-count'], 0);
      assert.equal(team.attributes['organization-access']['manage-workspaces'], true);
      assert.equal(team.attributes['organization-access']['read-workspaces'], true);
      assert.equal(team.attributes['organization-access']['manage-teams'], false);
      assert.equal(team.attributes['organization-access']['manage-projects'], false);
      assert.equal(team.relationships.organization.data.id, org);

      const shown = await getTeam(team.id);
      assert.equal(shown.attributes.name, name);
      assert.deepEqual(shown.attributes['organization-access'], team.attributes['organization-access']);
    });

    it('PATCH changes the name, the visibility and the organization access', async () => {
      const team = await createTeam(admin, org, { 'manage-workspaces': true });
      const name = randomName('renamed');
      const res = await admin.patch(
        `/teams/${team.id}`,
        teamDocument({ name, visibility: 'organization', 'organization-access': { 'manage-workspaces': false, 'manage-membership': true } }),
      );
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.name, name);
      assert.equal(res.body.data.attributes.visibility, 'organization');
      assert.equal(res.body.data.attributes['organization-access']['manage-workspaces'], false);
      assert.equal(res.body.data.attributes['organization-access']['manage-membership'], true);
      const shown = await getTeam(team.id);
      assert.equal(shown.attributes.name, name);
      assert.equal(shown.attributes.visibility, 'organization');
      assert.equal(shown.attributes['organization-access']['manage-membership'], true);
    });

    it('DELETE deletes the team: 204, then 404', async () => {
      const team = await createTeam(admin, org);
      assertStatus(await admin.delete(`/teams/${team.id}`), 204);
      assertStatus(await admin.get(`/teams/${team.id}`), 404);
      assertStatus(await admin.delete(`/teams/${team.id}`), 404);
    });

    it('refuses a name the organization already has: 409', async () => {
      const team = await createTeam(admin, org);
      const res = await admin.post(`/organizations/${org}/teams`, teamDocument({ name: team.attributes.name }));
      assertError(res, 409, /already has a team named/, { pointer: '/data/attributes/name' });
      const other = await createTeam(admin, org);
      assertError(await admin.patch(`/teams/${other.id}`, teamDocument({ name: team.attributes.name })), 409, /already has a team named/);
      // another organization may have a team of that name
      const elsewhere = await createOrganization(admin);
      assertStatus(await admin.post(`/organizations/${elsewhere}/teams`, teamDocument({ name: team.attributes.name })), 201);
    });

    it('refuses manage-projects without manage-workspaces: 422', async () => {
      const res = await admin.post(`/organizations/${org}/teams`, teamDocument({ name: randomName('team'), 'organization-access': { 'manage-projects': true } }));
      assertError(res, 422, /"manage-projects" needs "manage-workspaces"/, { pointer: '/data/attributes/organization-access/manage-projects' });
      const ok = await admin.post(
        `/organizations/${org}/teams`,
        teamDocument({ name: randomName('team'), 'organization-access': { 'manage-projects': true, 'manage-workspaces': true } }),
      );
      assertStatus(ok, 201);
    });

    it('refuses an organization access it does not know: 422', async () => {
      const res = await admin.post(`/organizations/${org}/teams`, teamDocument({ name: randomName('team'), 'organization-access': { 'rule-the-world': true } }));
      assertError(res, 422, /organization-access/, { pointer: '/data/attributes/organization-access' });
      const team = await createTeam(admin, org);
      assertError(await admin.patch(`/teams/${team.id}`, teamDocument({ 'organization-access': { 'rule-the-world': true } })), 422, /organization-access/);
    });

    it('lists teams, searched with q and picked with filter[names]', async () => {
      const listOrg = await createOrganization(admin);
      const tag = randomName('blue');
      const a = await createTeam(admin, listOrg, {}, `${tag}-a`);
      const b = await createTeam(admin, listOrg, {}, `${tag}-b`);
      const c = await createTeam(admin, listOrg, {}, randomName('red'));
      const owners = await ownersTeam(admin, listOrg);

      const all = await admin.get(`/organizations/${listOrg}/teams`);
      assertStatus(all, 200);
      assert.deepEqual(ids(all.body.data).sort(), [a.id, b.id, c.id, owners.id].sort());
      assert.equal(all.body.meta.pagination['total-count'], 4);

      const searched = await admin.get(`/organizations/${listOrg}/teams?q=${tag}`);
      assertStatus(searched, 200);
      assert.deepEqual(ids(searched.body.data).sort(), [a.id, b.id].sort());

      const named = await admin.get(`/organizations/${listOrg}/teams?filter[names]=${a.attributes.name},${c.attributes.name}`);
      assertStatus(named, 200);
      assert.deepEqual(ids(named.body.data).sort(), [a.id, c.id].sort());
    });

    it('include=users puts the member users in included, and users-count counts them', async () => {
      const team = await createTeam(admin, org);
      const alice = await member(org, [team.id]);
      const bob = await member(org, [team.id]);
      const res = await admin.get(`/teams/${team.id}?include=users`);
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes['users-count'], 2);
      assert.deepEqual(relatedIds(res.body.data, 'users').sort(), [alice.id, bob.id].sort());
      const included = (res.body.included ?? []).filter((r: Json) => r.type === 'users');
      assert.deepEqual(ids(included).sort(), [alice.id, bob.id].sort());
      assert.deepEqual(included.map((u: Json) => u.attributes.username).sort(), [alice.username, bob.username].sort());

      const listed = await admin.get(`/organizations/${org}/teams?filter[names]=${team.attributes.name}&include=users`);
      assertStatus(listed, 200);
      assert.equal(listed.body.data[0].attributes['users-count'], 2);
      assert.deepEqual(ids(listed.body.included.filter((r: Json) => r.type === 'users')).sort(), [alice.id, bob.id].sort());
    });

    it('a plain member may not create, change or delete teams: 403', async () => {
      const team = await createTeam(admin, org, {}, randomName('visible'));
      assertStatus(await admin.patch(`/teams/${team.id}`, teamDocument({ visibility: 'organization' })), 200);
      const plain = await member(org);
      assertError(await plain.client.post(`/organizations/${org}/teams`, teamDocument({ name: randomName('team') })), 403, /manage teams/);
      assertError(await plain.client.patch(`/teams/${team.id}`, teamDocument({ name: randomName('team') })), 403, /manage teams/);
      assertError(await plain.client.delete(`/teams/${team.id}`), 403, /manage teams/);
    });
  });

  // ------------------------------------------------------------ secret teams

  describe('secret teams', () => {
    let org: string;
    let ownTeam: Json;
    let otherSecret: Json;
    let visible: Json;
    let owners: Json;
    let plain: TestUser;

    before(async () => {
      org = await createOrganization(admin);
      ownTeam = await createTeam(admin, org);
      otherSecret = await createTeam(admin, org);
      visible = await createTeam(admin, org);
      assertStatus(await admin.patch(`/teams/${visible.id}`, teamDocument({ visibility: 'organization' })), 200);
      owners = await ownersTeam(admin, org);
      plain = await member(org, [ownTeam.id]);
    });

    it('a plain member sees the teams visible to the organization and the secret teams it is in, not other secret teams', async () => {
      const res = await plain.client.get(`/organizations/${org}/teams`);
      assertStatus(res, 200);
      const seen = ids(res.body.data);
      assert.ok(seen.includes(ownTeam.id), 'its own secret team');
      assert.ok(seen.includes(visible.id), 'the team visible to the organization');
      assert.ok(!seen.includes(otherSecret.id), 'not another secret team');
      assertStatus(await plain.client.get(`/teams/${ownTeam.id}`), 200);
      assertStatus(await plain.client.get(`/teams/${visible.id}`), 200);
      assertStatus(await plain.client.get(`/teams/${otherSecret.id}`), 404);
    });

    it('an owner sees every team', async () => {
      const boss = await owner(org);
      const res = await boss.client.get(`/organizations/${org}/teams`);
      assertStatus(res, 200);
      assert.deepEqual(ids(res.body.data).sort(), [ownTeam.id, otherSecret.id, visible.id, owners.id].sort());
      assertStatus(await boss.client.get(`/teams/${otherSecret.id}`), 200);
    });
  });

  // ------------------------------------------------------------ members

  describe('team members', () => {
    let org: string;
    let team: Json;

    before(async () => {
      org = await createOrganization(admin);
      team = await createTeam(admin, org);
      assertStatus(await admin.patch(`/teams/${team.id}`, teamDocument({ visibility: 'organization' })), 200);
    });

    async function members(teamId = team.id): Promise<string[]> {
      return relatedIds(await getTeam(teamId), 'users').sort();
    }

    it('POST and DELETE /teams/:id/relationships/users add and remove members, named by username or id: 204', async () => {
      const alice = await member(org);
      const bob = await member(org);
      assertStatus(await admin.post(`/teams/${team.id}/relationships/users`, usersDocument([alice.username, bob.id])), 204);
      assert.deepEqual(await members(), [alice.id, bob.id].sort());
      assert.equal((await getTeam(team.id)).attributes['users-count'], 2);
      // adding a member again changes nothing
      assertStatus(await admin.post(`/teams/${team.id}/relationships/users`, usersDocument([alice.id])), 204);
      assert.deepEqual(await members(), [alice.id, bob.id].sort());

      assertStatus(await admin.delete(`/teams/${team.id}/relationships/users`, { body: usersDocument([alice.id, bob.username]) }), 204);
      assert.deepEqual(await members(), []);
    });

    it('refuses a user who is not a member of the organization: 422', async () => {
      const outsider = await createUser(admin);
      const res = await admin.post(`/teams/${team.id}/relationships/users`, usersDocument([outsider.username]));
      assertError(res, 422, /is not a member of organization/, { pointer: '/data/0/id' });
      assert.ok(!(await members()).includes(outsider.id));
      assertError(await admin.post(`/teams/${team.id}/relationships/users`, usersDocument(['nobody-at-all'])), 422, /is not a member of organization/);
    });

    it('POST /teams/:id/relationships/organization-memberships adds the users of the memberships named', async () => {
      const carol = await createUser(admin);
      const m = await addToOrganization(admin, org, carol);
      const res = await admin.post(`/teams/${team.id}/relationships/organization-memberships`, { data: [{ type: 'organization-memberships', id: m.id }] });
      assertStatus(res, 204);
      assert.ok((await members()).includes(carol.id));
      const gone = await admin.delete(`/teams/${team.id}/relationships/organization-memberships`, { body: { data: [{ type: 'organization-memberships', id: m.id }] } });
      assertStatus(gone, 204);
      assert.ok(!(await members()).includes(carol.id));
    });

    it('owners may manage members', async () => {
      const boss = await owner(org);
      const dave = await member(org);
      assertStatus(await boss.client.post(`/teams/${team.id}/relationships/users`, usersDocument([dave.id])), 204);
      assert.ok((await members()).includes(dave.id));
      assertStatus(await boss.client.delete(`/teams/${team.id}/relationships/users`, { body: usersDocument([dave.id]) }), 204);
      assert.ok(!(await members()).includes(dave.id));
    });

    it('a user whose team has manage-membership may manage members', async () => {
      const managers = await createTeam(admin, org, { 'manage-membership': true });
      const manager = await member(org, [managers.id]);
      const erin = await member(org);
      assertStatus(await manager.client.post(`/teams/${team.id}/relationships/users`, usersDocument([erin.id])), 204);
      assert.ok((await members()).includes(erin.id));
      assertStatus(await manager.client.delete(`/teams/${team.id}/relationships/users`, { body: usersDocument([erin.id]) }), 204);
      assert.ok(!(await members()).includes(erin.id));
    });

    it('a user whose team has manage-membership may not change the members of the owners team: 403', async () => {
      const managers = await createTeam(admin, org, { 'manage-membership': true });
      const manager = await member(org, [managers.id]);
      const erin = await member(org);
      const owners = await ownersTeam(admin, org);
      const res = await manager.client.post(`/teams/${owners.id}/relationships/users`, usersDocument([erin.id]));
      assertError(res, 403, /owners/);
      assert.ok(!(await members(owners.id)).includes(erin.id));
    });

    it('a plain member may not manage members: 403', async () => {
      const plain = await member(org, [team.id]);
      const frank = await member(org);
      assertError(await plain.client.post(`/teams/${team.id}/relationships/users`, usersDocument([frank.id])), 403, /manage team members/);
      assertError(await plain.client.delete(`/teams/${team.id}/relationships/users`, { body: usersDocument([plain.id]) }), 403, /manage team members/);
      assert.ok(!(await members()).includes(frank.id));
    });
  });

  // ------------------------------------------------------------ team tokens

  describe('team tokens', () => {
    let org: string;
    let readable: Json;
    let hidden: Json;

    before(async () => {
      org = await createOrganization(admin);
      readable = await createWorkspace(admin, org);
      hidden = await createWorkspace(admin, org);
    });

    it('the legacy token: POST creates it, GET shows it without its secret, POST again replaces it, DELETE removes it', async () => {
      const team = await createTeam(admin, org);
      const first = await admin.post(`/teams/${team.id}/authentication-token`);
      assertStatus(first, 201);
      assert.match(first.body.data.id, /^tt-/);
      const firstToken: string = first.body.data.attributes.token;
      assert.ok(firstToken, first.text);
      assertStatus(await admin.withToken(firstToken).get('/account/details'), 200);

      const shown = await admin.get(`/teams/${team.id}/authentication-token`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.id, first.body.data.id);
      assert.equal(shown.body.data.attributes.token, null);

      const second = await admin.post(`/teams/${team.id}/authentication-token`, { data: { type: 'authentication-token', attributes: {} } });
      assertStatus(second, 201);
      const secondToken: string = second.body.data.attributes.token;
      assert.notEqual(second.body.data.id, first.body.data.id);
      assertStatus(await admin.withToken(firstToken).get('/account/details'), 401);
      assertStatus(await admin.withToken(secondToken).get('/account/details'), 200);
      assert.equal((await admin.get(`/teams/${team.id}/authentication-token`)).body.data.id, second.body.data.id);

      assertStatus(await admin.delete(`/teams/${team.id}/authentication-token`), 204);
      assertStatus(await admin.withToken(secondToken).get('/account/details'), 401);
      assertStatus(await admin.get(`/teams/${team.id}/authentication-token`), 404);
    });

    it('named tokens: POST with a description (201), listed by GET /teams/:id/authentication-tokens', async () => {
      const team = await createTeam(admin, org);
      const made = [];
      for (const description of ['ci', 'deploy']) {
        const res = await admin.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description }));
        assertStatus(res, 201);
        assert.match(res.body.data.id, /^tt-/);
        assert.equal(res.body.data.attributes.description, description);
        assert.ok(res.body.data.attributes.token);
        assert.equal(res.body.data.relationships.team.data.id, team.id);
        made.push(res.body.data.id);
      }
      const list = await admin.get(`/teams/${team.id}/authentication-tokens`);
      assertStatus(list, 200);
      assert.deepEqual(ids(list.body.data).sort(), made.sort());
      assert.ok(list.body.data.every((t: Json) => t.attributes.token === null), list.text);
      assert.deepEqual(list.body.data.map((t: Json) => t.attributes.description).sort(), ['ci', 'deploy']);
    });

    it('refuses a second named token with the same description (409) and one without a description (422)', async () => {
      const team = await createTeam(admin, org);
      assertStatus(await admin.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description: 'ci' })), 201);
      assertError(await admin.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description: 'ci' })), 409, /already has a token described "ci"/, { pointer: '/data/attributes/description' });
      assertError(await admin.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({})), 422, /description/, { pointer: '/data/attributes/description' });
      // another team may use the description
      const other = await createTeam(admin, org);
      assertStatus(await admin.post(`/teams/${other.id}/authentication-tokens`, tokenDocument({ description: 'ci' })), 201);
    });

    it('GET and DELETE /authentication-tokens/:id work for a team token; a deleted token gets 401', async () => {
      const team = await createTeam(admin, org);
      const res = await admin.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description: 'doomed' }));
      assertStatus(res, 201);
      const { id } = res.body.data;
      const client = admin.withToken(res.body.data.attributes.token);
      assertStatus(await client.get('/account/details'), 200);

      const shown = await admin.get(`/authentication-tokens/${id}`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.id, id);
      assert.equal(shown.body.data.attributes.description, 'doomed');
      assert.equal(shown.body.data.attributes.token, null);
      assert.equal(shown.body.data.relationships.team.data.id, team.id);

      assertStatus(await admin.delete(`/authentication-tokens/${id}`), 204);
      assertStatus(await client.get('/account/details'), 401);
      assertStatus(await admin.get(`/authentication-tokens/${id}`), 404);
    });

    it("a team token acts with the team's rights", async () => {
      const team = await createTeam(admin, org);
      await grant(admin, team.id, readable.id, 'read');
      const client = admin.withToken(await teamToken(admin, team.id));
      assertStatus(await client.get(`/workspaces/${readable.id}`), 200);
      assertStatus(await client.get(`/workspaces/${hidden.id}`), 404);
      const list = await client.get(`/organizations/${org}/workspaces`);
      assertStatus(list, 200);
      assert.deepEqual(ids(list.body.data), [readable.id]);
      assertError(await client.post('/runs', runDocument(readable.id)), 403, /queue plans/);
      assertError(await client.post(`/organizations/${org}/teams`, teamDocument({ name: randomName('team') })), 403, /manage teams/);
    });

    it('a team member manages its team tokens when allow-member-token-management is true, and gets 403 when it is false', async () => {
      const team = await createTeam(admin, org);
      assert.equal(team.attributes['allow-member-token-management'], true);
      const user = await member(org, [team.id]);
      const made = await user.client.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description: 'mine' }));
      assertStatus(made, 201);
      assertStatus(await user.client.get(`/teams/${team.id}/authentication-tokens`), 200);
      assertStatus(await user.client.get(`/authentication-tokens/${made.body.data.id}`), 200);

      const off = await admin.patch(`/teams/${team.id}`, teamDocument({ 'allow-member-token-management': false }));
      assertStatus(off, 200);
      assert.equal(off.body.data.attributes['allow-member-token-management'], false);
      assertError(await user.client.post(`/teams/${team.id}/authentication-tokens`, tokenDocument({ description: 'more' })), 403, /insufficient permissions/);
      assertStatus(await user.client.get(`/teams/${team.id}/authentication-tokens`), 403);
      assertStatus(await user.client.post(`/teams/${team.id}/authentication-token`), 403);
      assertStatus(await user.client.delete(`/authentication-tokens/${made.body.data.id}`), 403);
      // the token survives
      assertStatus(await admin.get(`/authentication-tokens/${made.body.data.id}`), 200);
    });

    it('a token mints no team tokens, and whoever manages teams mints none of a team holding permissions it lacks (403)', async () => {
      const managers = await createTeam(admin, org, { 'manage-teams': true });
      const plain = await createTeam(admin, org);
      const strong = await createTeam(admin, org, { 'manage-workspaces': true });
      const managerToken = admin.withToken(await teamToken(admin, managers.id));
      assertError(await managerToken.post(`/teams/${plain.id}/authentication-tokens`, tokenDocument({ description: 'minted' })), 403, /a team token may not manage team tokens/);
      assertError(await managerToken.post(`/teams/${managers.id}/authentication-tokens`, tokenDocument({ description: 'minted' })), 403, /a token mints no tokens/);
      const manager = await member(org, [managers.id]);
      assertStatus(await manager.client.post(`/teams/${plain.id}/authentication-tokens`, tokenDocument({ description: 'minted' })), 201);
      assertError(await manager.client.post(`/teams/${strong.id}/authentication-tokens`, tokenDocument({ description: 'minted' })), 403, /holds "manage-workspaces", which you do not/);
      const listed = await admin.get(`/teams/${strong.id}/authentication-tokens`);
      assertStatus(listed, 200);
      assert.deepEqual(listed.body.data, []);
    });

    it('whoever manages members adds nobody, itself included, to a team holding permissions it lacks (403)', async () => {
      const managers = await createTeam(admin, org, { 'manage-membership': true });
      const plain = await createTeam(admin, org);
      const strong = await createTeam(admin, org, { 'manage-workspaces': true });
      const manager = await member(org, [managers.id]);
      assertError(await manager.client.post(`/teams/${strong.id}/relationships/users`, usersDocument([manager.id])), 403, /holds "manage-workspaces", which you do not/);
      assertStatus(await manager.client.post(`/teams/${plain.id}/relationships/users`, usersDocument([manager.id])), 204);
      const newcomer = await createUser(admin);
      const invite = (teamId: string) =>
        manager.client.post(`/organizations/${org}/organization-memberships`, {
          data: { type: 'organization-memberships', attributes: { username: newcomer.username }, relationships: { teams: { data: [{ type: 'teams', id: teamId }] } } },
        });
      assertError(await invite(strong.id), 403, /holds "manage-workspaces", which you do not/);
      assert.equal((await getTeam(strong.id, manager.client)).attributes.permissions['can-update-membership'], false);
      assert.equal((await getTeam(plain.id, manager.client)).attributes.permissions['can-update-membership'], true);
      assertStatus(await invite(plain.id), 201);
      assert.deepEqual(relatedIds(await getTeam(strong.id), 'users'), []);
    });
  });

  // ------------------------------------------------------------ team access to workspaces

  describe('team access (/team-workspaces)', () => {
    let org: string;
    let ws: Json;

    before(async () => {
      org = await createOrganization(admin);
      ws = await createWorkspace(admin, org);
    });

    for (const level of ['read', 'plan', 'write', 'admin']) {
      it(`POST with access "${level}" (201) shows the permissions of the level`, async () => {
        const team = await createTeam(admin, org);
        const res = await admin.post('/team-workspaces', accessDocument(team.id, ws.id, { access: level }));
        assertStatus(res, 201);
        assert.equal(res.body.data.type, 'team-workspaces');
        assert.equal(res.body.data.attributes.access, level);
        assert.deepEqual(permissionsOf(res.body.data), LEVELS[level]);
        assert.equal(res.body.data.relationships.team.data.id, team.id);
        assert.equal(res.body.data.relationships.workspace.data.id, ws.id);
        const shown = await admin.get(`/team-workspaces/${res.body.data.id}`);
        assertStatus(shown, 200);
        assert.deepEqual(permissionsOf(shown.body.data), LEVELS[level]);
      });
    }

    it('custom access takes the permissions given, and the defaults for the others', async () => {
      const team = await createTeam(admin, org);
      const res = await admin.post('/team-workspaces', accessDocument(team.id, ws.id, { access: 'custom', variables: 'write', 'workspace-locking': true }));
      assertStatus(res, 201);
      assert.equal(res.body.data.attributes.access, 'custom');
      assert.deepEqual(permissionsOf(res.body.data), { ...CUSTOM_DEFAULTS, variables: 'write', 'workspace-locking': true });

      const bare = await createTeam(admin, org);
      const defaults = await admin.post('/team-workspaces', accessDocument(bare.id, ws.id, { access: 'custom' }));
      assertStatus(defaults, 201);
      assert.deepEqual(permissionsOf(defaults.body.data), CUSTOM_DEFAULTS);
    });

    it('refuses permissions given with a fixed level: 422', async () => {
      const team = await createTeam(admin, org);
      const res = await admin.post('/team-workspaces', accessDocument(team.id, ws.id, { access: 'read', variables: 'write' }));
      // Terraform Cloud's words, which go-tfe compares.
      assert.equal(res.body.errors[0].title, 'invalid attribute');
      assertError(res, 422, /^Variables is read-only when access level is 'read'; use the 'custom' access level to set this attribute\.$/, { pointer: '/data/attributes/access' });
      const list = await admin.get(`/team-workspaces?filter[workspace][id]=${ws.id}`);
      assert.ok(!list.body.data.some((a: Json) => a.relationships.team.data.id === team.id), 'nothing was granted');
    });

    it('refuses a second grant for the same team and workspace: 409', async () => {
      const team = await createTeam(admin, org);
      await grant(admin, team.id, ws.id, 'read');
      assertError(await admin.post('/team-workspaces', accessDocument(team.id, ws.id, { access: 'write' })), 409, /already has access/);
    });

    it('GET /team-workspaces lists the grants of a workspace, and needs filter[workspace][id] (400)', async () => {
      const own = await createWorkspace(admin, org);
      const a = await grant(admin, (await createTeam(admin, org)).id, own.id, 'read');
      const b = await grant(admin, (await createTeam(admin, org)).id, own.id, 'custom', { runs: 'plan' });
      await grant(admin, (await createTeam(admin, org)).id, ws.id, 'read'); // another workspace's
      const res = await admin.get(`/team-workspaces?filter[workspace][id]=${own.id}`);
      assertStatus(res, 200);
      assert.deepEqual(ids(res.body.data).sort(), [a.id, b.id].sort());
      const missing = await admin.get('/team-workspaces');
      assert.equal(missing.status, 400, missing.text);
      assert.equal(missing.body.errors[0].source?.parameter, 'filter[workspace][id]');
    });

    it('PATCH from write to custom keeps the write permissions except those changed', async () => {
      const team = await createTeam(admin, org);
      const access = await grant(admin, team.id, ws.id, 'write');
      const res = await admin.patch(`/team-workspaces/${access.id}`, { data: { type: 'team-workspaces', attributes: { access: 'custom', runs: 'plan', 'workspace-locking': false } } });
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.access, 'custom');
      assert.deepEqual(permissionsOf(res.body.data), { ...LEVELS.write, runs: 'plan', 'workspace-locking': false });
      assert.deepEqual(permissionsOf((await admin.get(`/team-workspaces/${access.id}`)).body.data), { ...LEVELS.write, runs: 'plan', 'workspace-locking': false });
    });

    it("DELETE removes the grant (204) and the team's users lose access to the workspace", async () => {
      const own = await createWorkspace(admin, org);
      const user = await userWithAccess(admin, org, [own.id], 'write');
      assertStatus(await user.client.get(`/workspaces/${own.id}`), 200);
      const list = await admin.get(`/team-workspaces?filter[workspace][id]=${own.id}`);
      const access = list.body.data.find((a: Json) => a.relationships.team.data.id === user.teamId);
      assertStatus(await admin.delete(`/team-workspaces/${access.id}`), 204);
      assertStatus(await admin.get(`/team-workspaces/${access.id}`), 404);
      assertStatus(await user.client.get(`/workspaces/${own.id}`), 404);
    });

    it('a workspace admin (a team with admin access) manages team access to the workspace', async () => {
      const own = await createWorkspace(admin, org);
      const wsAdmin = await userWithAccess(admin, org, [own.id], 'admin');
      const team = await createTeam(admin, org);
      assertStatus(await admin.patch(`/teams/${team.id}`, teamDocument({ visibility: 'organization' })), 200);
      const created = await wsAdmin.client.post('/team-workspaces', accessDocument(team.id, own.id, { access: 'read' }));
      assertStatus(created, 201);
      const listed = await wsAdmin.client.get(`/team-workspaces?filter[workspace][id]=${own.id}`);
      assertStatus(listed, 200);
      assert.ok(ids(listed.body.data).includes(created.body.data.id));
      const changed = await wsAdmin.client.patch(`/team-workspaces/${created.body.data.id}`, { data: { type: 'team-workspaces', attributes: { access: 'plan' } } });
      assertStatus(changed, 200);
      assert.equal(changed.body.data.attributes.access, 'plan');
      assertStatus(await wsAdmin.client.delete(`/team-workspaces/${created.body.data.id}`), 204);
    });

    it('a user with write access may not manage team access: 403', async () => {
      const own = await createWorkspace(admin, org);
      const writer = await userWithAccess(admin, org, [own.id], 'write');
      const team = await createTeam(admin, org);
      assertStatus(await admin.patch(`/teams/${team.id}`, teamDocument({ visibility: 'organization' })), 200);
      assertError(await writer.client.post('/team-workspaces', accessDocument(team.id, own.id, { access: 'read' })), 403, /manage team access/);
      // The writer sees its own team's grant (and only that one), but may not change or delete it.
      const existing = await grant(admin, team.id, own.id, 'read');
      const list = await writer.client.get(`/team-workspaces?filter[workspace][id]=${own.id}`);
      assertStatus(list, 200);
      assert.deepEqual(list.body.data.map((a: Json) => a.relationships.team.data.id), [writer.teamId]);
      const mine = list.body.data[0];
      assertError(await writer.client.patch(`/team-workspaces/${mine.id}`, { data: { type: 'team-workspaces', attributes: { access: 'admin' } } }), 403, /manage team access/);
      assertError(await writer.client.delete(`/team-workspaces/${mine.id}`), 403, /manage team access/);
      // another team's grant it does not see at all
      assertStatus(await writer.client.patch(`/team-workspaces/${existing.id}`, { data: { type: 'team-workspaces', attributes: { access: 'admin' } } }), 404);
      assert.equal((await admin.get(`/team-workspaces/${existing.id}`)).body.data.attributes.access, 'read');
      assertStatus(await admin.get(`/team-workspaces/${mine.id}`), 200);
    });

    it('custom state-versions read-outputs lets a user read the current outputs, not the state version (403)', async () => {
      const own = await createWorkspace(admin, org);
      await createState(own.id);
      const user = await userWithAccess(admin, org, [own.id], 'custom');
      const list = await admin.get(`/team-workspaces?filter[workspace][id]=${own.id}`);
      const access = list.body.data.find((a: Json) => a.relationships.team.data.id === user.teamId);
      assertStatus(await admin.patch(`/team-workspaces/${access.id}`, { data: { type: 'team-workspaces', attributes: { 'state-versions': 'read-outputs' } } }), 200);

      const outputs = await user.client.get(`/workspaces/${own.id}/current-state-version-outputs`);
      assertStatus(outputs, 200);
      assert.deepEqual(
        outputs.body.data.map((o: Json) => [o.attributes.name, o.attributes.value]),
        [['greeting', 'hello']],
      );
      assertError(await user.client.get(`/workspaces/${own.id}/current-state-version`), 403, /read state versions/);
    });

    it("two teams' grants add up: a read team and a custom team with variables write let a user change variables", async () => {
      const own = await createWorkspace(admin, org);
      const readTeam = await createTeam(admin, org);
      const varTeam = await createTeam(admin, org);
      await grant(admin, readTeam.id, own.id, 'read');
      await grant(admin, varTeam.id, own.id, 'custom', { variables: 'write' });
      const onlyRead = await member(org, [readTeam.id]);
      assertError(await onlyRead.client.post(`/workspaces/${own.id}/vars`, variableDocument()), 403, /change variables/);
      const both = await member(org, [readTeam.id, varTeam.id]);
      assertStatus(await both.client.post(`/workspaces/${own.id}/vars`, variableDocument()), 201);
      // and the state the read team gives (custom alone gives none)
      const onlyVars = await member(org, [varTeam.id]);
      assertStatus(await onlyVars.client.get(`/workspaces/${own.id}/current-state-version`), 403);
      assertStatus(await both.client.get(`/workspaces/${own.id}/current-state-version`), 404); // allowed, but no state yet
    });
  });

  // ------------------------------------------------------------ what users see of workspaces

  describe('the workspaces a user sees, and the permissions block of a workspace', () => {
    let org: string;
    let ws: Json;
    let other: Json;

    before(async () => {
      org = await createOrganization(admin);
      ws = await createWorkspace(admin, org);
      other = await createWorkspace(admin, org);
    });

    async function permissions(user: TestUser): Promise<Record<string, boolean>> {
      const res = await user.client.get(`/workspaces/${ws.id}`);
      assertStatus(res, 200);
      return res.body.data.attributes.permissions;
    }

    it('a plan user may queue runs, not apply, change settings or lock', async () => {
      const p = await permissions(await userWithAccess(admin, org, [ws.id], 'plan'));
      assert.equal(p['can-queue-run'], true);
      assert.equal(p['can-queue-apply'], false);
      assert.equal(p['can-update'], false);
      assert.equal(p['can-lock'], false);
      assert.equal(p['can-read-state-versions'], true);
    });

    it('a write user may queue applies and lock, not change settings or force-unlock', async () => {
      const p = await permissions(await userWithAccess(admin, org, [ws.id], 'write'));
      assert.equal(p['can-queue-run'], true);
      assert.equal(p['can-queue-apply'], true);
      assert.equal(p['can-lock'], true);
      assert.equal(p['can-update'], false);
      assert.equal(p['can-force-unlock'], false);
    });

    it('an admin user may change settings and force-unlock', async () => {
      const p = await permissions(await userWithAccess(admin, org, [ws.id], 'admin'));
      assert.equal(p['can-update'], true);
      assert.equal(p['can-force-unlock'], true);
      assert.equal(p['can-queue-apply'], true);
      assert.equal(p['can-lock'], true);
    });

    it("a user's workspace list shows only the workspaces its teams can see", async () => {
      const user = await userWithAccess(admin, org, [ws.id], 'read');
      const res = await user.client.get(`/organizations/${org}/workspaces`);
      assertStatus(res, 200);
      assert.deepEqual(ids(res.body.data), [ws.id]);
      assertStatus(await user.client.get(`/workspaces/${other.id}`), 404);
      const nobody = await member(org);
      const none = await nobody.client.get(`/organizations/${org}/workspaces`);
      assertStatus(none, 200);
      assert.deepEqual(ids(none.body.data), []);
    });

    it('a team with read-workspaces sees every workspace of the organization, read only (queuing a run is 403)', async () => {
      const readers = await createTeam(admin, org, { 'read-workspaces': true });
      const user = await member(org, [readers.id]);
      const res = await user.client.get(`/organizations/${org}/workspaces`);
      assertStatus(res, 200);
      assert.deepEqual(ids(res.body.data).sort(), [ws.id, other.id].sort());
      const shown = await user.client.get(`/workspaces/${other.id}`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.attributes.permissions['can-queue-run'], false);
      assert.equal(shown.body.data.attributes.permissions['can-update'], false);
      assertError(await user.client.post('/runs', runDocument(other.id)), 403, /queue plans/);
    });
  });

  describe('as go-tfe sends it', () => {
    let org: string;

    before(async () => {
      org = await createOrganization(admin);
    });

    it('takes team names with spaces, and still refuses empty, NUL-bearing, space-edged and oversized ones', async () => {
      const created = await admin.post(`/organizations/${org}/teams`, teamDocument({ name: 'foo bar' }));
      assertStatus(created, 201);
      assert.equal(created.body.data.attributes.name, 'foo bar');
      const renamed = await admin.patch(`/teams/${created.body.data.id}`, teamDocument({ name: 'team name.v2' }));
      assertStatus(renamed, 200);
      assert.equal(renamed.body.data.attributes.name, 'team name.v2');
      for (const name of ['', 'a\u0000b', ' leading', 'trailing ', 'tab\there', 'x'.repeat(91)]) {
        assertError(await admin.post(`/organizations/${org}/teams`, teamDocument({ name })), 422, /name/, { pointer: '/data/attributes/name' });
      }
    });

    it('a PATCH of organization-access changes only the permissions it names', async () => {
      const created = await admin.post(
        `/organizations/${org}/teams`,
        teamDocument({ name: randomName('team'), 'organization-access': { 'manage-workspaces': true, 'manage-policies': true } }),
      );
      assertStatus(created, 201);
      const patched = await admin.patch(`/teams/${created.body.data.id}`, teamDocument({ 'organization-access': { 'manage-vcs-settings': true } }));
      assertStatus(patched, 200);
      const access = patched.body.data.attributes['organization-access'];
      assert.equal(access['manage-workspaces'], true);
      assert.equal(access['manage-policies'], true);
      assert.equal(access['manage-vcs-settings'], true);
      const lowered = await admin.patch(`/teams/${created.body.data.id}`, teamDocument({ 'organization-access': { 'manage-policies': false } }));
      assertStatus(lowered, 200);
      assert.equal(lowered.body.data.attributes['organization-access']['manage-policies'], false);
      assert.equal(lowered.body.data.attributes['organization-access']['manage-workspaces'], true);
      assert.equal(lowered.body.data.attributes['organization-access']['manage-vcs-settings'], true);
      // What the permissions need still holds over the result: manage-projects needs manage-workspaces.
      assertError(
        await admin.patch(`/teams/${created.body.data.id}`, teamDocument({ 'organization-access': { 'manage-workspaces': false, 'manage-projects': true } })),
        422,
        /needs "manage-workspaces"/,
      );
    });

    it('creates the team token from a document typed "" (with expired-at), as go-tfe sends it', async () => {
      const team = await createTeam(admin, org);
      const plain = await admin.post(`/teams/${team.id}/authentication-token`, { data: { type: '', attributes: {} } });
      assertStatus(plain, 201);
      assert.match(plain.body.data.attributes.token, /\S/);
      const expiredAt = new Date(Date.now() + 86_400_000).toISOString();
      const expiring = await admin.post(`/teams/${team.id}/authentication-token`, { data: { type: '', attributes: { 'expired-at': expiredAt } } });
      assertStatus(expiring, 201);
      assert.equal(new Date(expiring.body.data.attributes['expired-at']).getTime(), new Date(expiredAt).getTime());
      // The new token replaced the old one.
      assertStatus(await admin.withToken(plain.body.data.attributes.token).get(`/organizations/${org}`), 401);
      assertError(await admin.post(`/teams/${team.id}/authentication-token`, { data: { type: '', attributes: { 'expired-at': 'soon' } } }), 422, /expired-at/);
      // Named tokens, as later go-tfe versions send them: typed "" as well.
      const named = await admin.post(`/teams/${team.id}/authentication-tokens`, { data: { type: '', attributes: { description: 'ci', 'expired-at': expiredAt } } });
      assertStatus(named, 201);
      assert.equal(named.body.data.attributes.description, 'ci');
    });

    it('an invited membership joins a team by its membership id, shows in the team, and is a member once its user exists', async () => {
      const team = await createTeam(admin, org);
      const ws = await createWorkspace(admin, org);
      await grant(admin, team.id, ws.id, 'read');
      const username = randomName('invitee');
      const invited = await admin.post(`/organizations/${org}/organization-memberships`, {
        data: { type: 'organization-memberships', attributes: { email: `${username}@example.com` } },
      });
      assertStatus(invited, 201);
      const membershipId = invited.body.data.id;
      const active = await createUser(admin);
      const activeMembership = (await addToOrganization(admin, org, active)).id;
      const added = await admin.post(`/teams/${team.id}/relationships/organization-memberships`, {
        data: [
          { type: 'organization-memberships', id: membershipId },
          { type: 'organization-memberships', id: activeMembership },
        ],
      });
      assertStatus(added, 204);
      const shown = await admin.get(`/teams/${team.id}?include=organization-memberships`);
      assertStatus(shown, 200);
      assert.deepEqual(relatedIds(shown.body.data, 'organization-memberships').sort(), [membershipId, activeMembership].sort());
      assert.deepEqual(relatedIds(shown.body.data, 'users'), [active.id]);
      assert.deepEqual(ids(shown.body.included).sort(), [membershipId, activeMembership].sort());
      const membership = await admin.get(`/organization-memberships/${membershipId}`);
      assert.deepEqual(relatedIds(membership.body.data, 'teams'), [team.id]);
      // Its user, once created, is in the team and holds its access.
      const user = await createUser(admin, username);
      assert.deepEqual(relatedIds(await getTeam(team.id), 'users').sort(), [active.id, user.id].sort());
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 200);
      // And out again, by membership id.
      assertStatus(await admin.delete(`/teams/${team.id}/relationships/organization-memberships`, { body: { data: [{ type: 'organization-memberships', id: membershipId }] } }), 204);
      assert.deepEqual(relatedIds(await getTeam(team.id), 'users'), [active.id]);
      // Another organization's membership is refused.
      const elsewhere = await createOrganization(admin);
      const foreign = await admin.post(`/organizations/${elsewhere}/organization-memberships`, {
        data: { type: 'organization-memberships', attributes: { email: `${randomName('x')}@example.com` } },
      });
      assertError(
        await admin.post(`/teams/${team.id}/relationships/organization-memberships`, { data: [{ type: 'organization-memberships', id: foreign.body.data.id }] }),
        422,
        /is not a membership of organization/,
      );
    });

    it('refuses an include= that organization memberships do not have, as Terraform Cloud does (400)', async () => {
      const invited = await admin.post(`/organizations/${org}/organization-memberships`, {
        data: { type: 'organization-memberships', attributes: { email: `${randomName('invitee')}@example.com` } },
      });
      assertStatus(invited, 201);
      const id = invited.body.data.id;
      assertError(await admin.get(`/organization-memberships/${id}?include=users`), 400, /Invalid include parameter: "users"/, { parameter: 'include' });
      assertError(await admin.get(`/organizations/${org}/organization-memberships?include=nonsense`), 400, /Invalid include parameter/);
      const both = await admin.get(`/organization-memberships/${id}?include=user,teams`);
      assertStatus(both, 200);
      assert.equal(both.body.included[0].type, 'users');
    });

    it('an invitation leaves a team it was invited into by membership id', async () => {
      const team = await createTeam(admin, org);
      const invited = await admin.post(`/organizations/${org}/organization-memberships`, {
        data: { type: 'organization-memberships', attributes: { email: `${randomName('invitee')}@example.com` } },
      });
      const id = invited.body.data.id;
      const doc = { data: [{ type: 'organization-memberships', id }] };
      assertStatus(await admin.post(`/teams/${team.id}/relationships/organization-memberships`, doc), 204);
      assertStatus(await admin.post(`/teams/${team.id}/relationships/organization-memberships`, doc), 204);
      assert.deepEqual(relatedIds(await getTeam(team.id), 'organization-memberships'), [id]);
      assertStatus(await admin.delete(`/teams/${team.id}/relationships/organization-memberships`, { body: doc }), 204);
      assert.deepEqual(relatedIds(await getTeam(team.id), 'organization-memberships'), []);
      assert.deepEqual(relatedIds((await admin.get(`/organization-memberships/${id}`)).body.data, 'teams'), []);
    });
  });
});
