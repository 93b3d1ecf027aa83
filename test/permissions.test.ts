// Who may do what, against a live server: every role below tries every action below, and gets
// what the matrix says. A role or an action is one line of the matrix (and one function that makes
// the role, or takes the action). A workspace, state or pool the caller cannot see answers 404;
// one it can see but may not act on answers 403 naming what is missing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Api, Json, Response } from './helpers/api.js';
import { fixture } from './helpers/fixtures.js';
import { addToOrganization, createTeam, createUser, grant, ownersTeam, teamToken, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';

type Outcome = 'ok' | 401 | 403 | 404;

const ACTIONS = [
  'read workspace',
  'create workspace',
  'queue plan',
  'lock',
  'change variables',
  'read state',
  'read sensitive output',
  'create pool',
  'create agent token',
  'manage teams',
  'read organization token',
  'create team token',
  'add an owner',
  'grant owners access',
  'list run triggers',
  'change project',
  'grant project access',
  'delete tags',
  'apply',
  'manage variable sets',
  'read the workspace\'s variable sets',
  'list variable sets',
  'comment on a run',
  'read resources',
] as const;
type ActionName = (typeof ACTIONS)[number];

const ROLES = [
  'site admin',
  'owner',
  'read team',
  'plan team',
  'write team',
  'admin team',
  'project read team',
  'project write team',
  'project maintain team',
  'project admin team',
  'manage-workspaces team',
  'manage-teams team',
  'organization token',
  'team token (write)',
  'user with no team',
  'agent token',
  'job token',
] as const;
type RoleName = (typeof ROLES)[number];

// prettier-ignore
const MATRIX: Record<RoleName, Outcome[]> = {
  //                         read   create plan  lock  vars  state secret pool  token teams otok  ttok  owner oacc  rtrg  proj  pacc  tags  apply varset wsvs  lsvs  cmnt  rsrc
  'site admin':            ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  'owner':                 ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  'read team':             ['ok', 403,  403,  403,  403,  'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 'ok', 'ok', 'ok'],
  'plan team':             ['ok', 403,  'ok', 403,  403,  'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 'ok', 'ok', 'ok'],
  'write team':            ['ok', 403,  'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  'admin team':            ['ok', 403,  'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  'ok', 403,  403,  403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  // Access to the workspace's project: its level in every workspace of the project; maintain and
  // admin create workspaces in it; admin manages the project itself and its team access.
  'project read team':     ['ok', 403,  403,  403,  403,  'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 'ok', 'ok', 'ok'],
  'project write team':    ['ok', 403,  'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  'project maintain team': ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  'ok', 403,  403,  403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  'project admin team':    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  'ok', 'ok', 'ok', 403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  'manage-workspaces team':['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  'ok', 403,  403,  'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  'manage-teams team':     [404,  403,  404,  404,  404,  404,  404,  403,  403,  'ok', 403,  'ok', 403,  404,  404,  403,  403,  403,  404,  403,  404,  403,  404,  404],
  'organization token':    ['ok', 'ok', 403,  'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  'ok', 'ok', 'ok', 'ok', 403,  'ok', 'ok', 'ok', 403,  'ok'],
  'team token (write)':    ['ok', 403,  'ok', 'ok', 'ok', 'ok', 'ok', 403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  403,  'ok', 403,  'ok', 'ok', 'ok', 'ok'],
  'user with no team':     [404,  403,  404,  404,  404,  404,  404,  403,  403,  403,  403,  403,  403,  404,  404,  403,  403,  403,  404,  403,  404,  403,  404,  404],
  'agent token':           [401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401,  401],
  'job token':             ['ok', 404,  403,  403,  403,  'ok', 'ok', 404,  404,  404,  404,  404,  404,  403,  403,  404,  404,  404,  403,  404,  'ok', 404,  403,  'ok'],
};

/**
 * SSH keys, in a table of their own: managing them needs manage-vcs-settings; reading them also
 * admin access to some workspace; organization tokens get none of it (Terraform Cloud's rules).
 * Giving one to a workspace is a setting of the workspace (admin access). So is connecting the
 * workspace to a repository, or disconnecting it (vcs-repo), which an organization token may not:
 * the runs a push queues act with the rights of whoever connected it, and it may queue none.
 */
const SSH_KEY_ACTIONS = ['read ssh keys', 'manage ssh keys', 'assign ssh key', 'connect repository'] as const;
type SshKeyActionName = (typeof SSH_KEY_ACTIONS)[number];

// prettier-ignore
const SSH_KEY_MATRIX: Record<RoleName, Outcome[]> = {
  //                         read  manage assign vcs
  'site admin':            ['ok', 'ok', 'ok', 'ok'],
  'owner':                 ['ok', 'ok', 'ok', 'ok'],
  'read team':             [403,  403,  403,  403],
  'plan team':             [403,  403,  403,  403],
  'write team':            [403,  403,  403,  403],
  'admin team':            ['ok', 403,  'ok', 'ok'],
  'project read team':     [403,  403,  403,  403],
  'project write team':    [403,  403,  403,  403],
  'project maintain team': ['ok', 403,  'ok', 'ok'],
  'project admin team':    ['ok', 403,  'ok', 'ok'],
  'manage-workspaces team':['ok', 403,  'ok', 'ok'],
  'manage-teams team':     [403,  403,  404,  404],
  'organization token':    [403,  403,  'ok', 403],
  'team token (write)':    [403,  403,  403,  403],
  'user with no team':     [403,  403,  404,  404],
  'agent token':           [401,  401,  401,  401],
  'job token':             [404,  404,  403,  403],
};

/**
 * VCS providers (oauth-clients), as SSH keys: managing them needs manage-vcs-settings; reading them
 * also admin access to some workspace (to connect it). Organization tokens may do both, as in
 * Terraform Cloud (the tfe provider manages OAuth clients with one).
 */
const VCS_PROVIDER_ACTIONS = ['read vcs providers', 'manage vcs providers'] as const;
type VcsProviderActionName = (typeof VCS_PROVIDER_ACTIONS)[number];

// prettier-ignore
const VCS_PROVIDER_MATRIX: Record<RoleName, Outcome[]> = {
  //                         read  manage
  'site admin':            ['ok', 'ok'],
  'owner':                 ['ok', 'ok'],
  'read team':             [403,  403],
  'plan team':             [403,  403],
  'write team':            [403,  403],
  'admin team':            ['ok', 403],
  'project read team':     [403,  403],
  'project write team':    [403,  403],
  'project maintain team': ['ok', 403],
  'project admin team':    ['ok', 403],
  'manage-workspaces team':['ok', 403],
  'manage-teams team':     [403,  403],
  'organization token':    ['ok', 'ok'],
  'team token (write)':    [403,  403],
  'user with no team':     [403,  403],
  'agent token':           [401,  401],
  'job token':             [404,  404],
};

const CONFIG = fixture('one-resource-no-output');

describe('permissions: every role against every action', function () {
  let server: TestServer;
  let admin: Api;
  let org: string;
  /** The workspace the actions are about: agent mode, with state and a job running on it. */
  let ws: Json;
  let poolId: string;
  /** The workspace's project (the organization's default project). */
  let projectId: string;
  let secretOutputId: string;
  let ownersId: string;
  /** A team other than owners, and a member of the organization in no team. */
  let someTeamId: string;
  let spareMember: string;
  /** An SSH key of the organization, for the assign action. */
  let sshKeyId: string;
  const clients = new Map<RoleName, Api>();

  function expectStatus(res: Response, status: number, what: string): void {
    assert.equal(res.status, status, `${what}: ${res.text}`);
  }

  /** Creates a state of the workspace (with a sensitive output) as the site administrator; returns its id. */
  async function createState(workspaceId: string = ws.id, serial = 1, lineage: string = crypto.randomUUID()): Promise<string> {
    const content = JSON.stringify({
      version: 4,
      terraform_version: '1.11.4',
      serial,
      lineage,
      outputs: { password: { value: 'hunter2', type: 'string', sensitive: true } },
      resources: [],
      check_results: null,
    });
    expectStatus(await admin.post(`/workspaces/${workspaceId}/actions/lock`, { data: { type: '', attributes: {} } }), 200, 'lock');
    const parsed = JSON.parse(content);
    const created = await admin.post(`/workspaces/${workspaceId}/state-versions`, {
      data: {
        type: 'state-versions',
        attributes: { serial, lineage: parsed.lineage, md5: crypto.createHash('md5').update(content).digest('hex'), state: Buffer.from(content).toString('base64') },
      },
    });
    expectStatus(created, 201, 'state version');
    expectStatus(await admin.post(`/workspaces/${workspaceId}/actions/unlock`), 200, 'unlock');
    return created.body.data.id;
  }

  /** A job token: an agent of the pool takes the job of a plan-only run (which holds no lock). */
  async function jobToken(agentToken: string): Promise<string> {
    const registered = await admin.post('/api/agent/register', {}, { token: agentToken });
    expectStatus(registered, 201, 'register');
    const run = await admin.post('/runs', {
      data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } },
    });
    expectStatus(run, 201, 'run');
    const jobs = await admin.withToken(registered.body.token).get('/api/agent/jobs?wait=5');
    expectStatus(jobs, 200, 'jobs');
    assert.equal(jobs.body.jobs.length, 1, jobs.text);
    return jobs.body.jobs[0].token;
  }

  async function roleClient(role: RoleName, agentToken: string): Promise<Api> {
    switch (role) {
      case 'site admin':
        return admin;
      case 'owner': {
        const user = await createUser(admin);
        await addToOrganization(admin, org, user, [(await ownersTeam(admin, org)).id]);
        return user.client;
      }
      case 'read team':
        return (await userWithAccess(admin, org, [ws.id], 'read')).client;
      case 'plan team':
        return (await userWithAccess(admin, org, [ws.id], 'plan')).client;
      case 'write team':
        return (await userWithAccess(admin, org, [ws.id], 'write')).client;
      case 'admin team':
        return (await userWithAccess(admin, org, [ws.id], 'admin')).client;
      case 'project read team':
      case 'project write team':
      case 'project maintain team':
      case 'project admin team': {
        const team = await createTeam(admin, org);
        const access = role.split(' ')[1];
        const granted = await admin.post('/team-projects', {
          data: {
            type: 'team-projects',
            attributes: { access },
            relationships: { team: { data: { type: 'teams', id: team.id } }, project: { data: { type: 'projects', id: projectId } } },
          },
        });
        expectStatus(granted, 201, `${access} access to the project`);
        const user = await createUser(admin);
        await addToOrganization(admin, org, user, [team.id]);
        return user.client;
      }
      case 'manage-workspaces team': {
        const team = await createTeam(admin, org, { 'manage-workspaces': true });
        const user = await createUser(admin);
        await addToOrganization(admin, org, user, [team.id]);
        return user.client;
      }
      case 'manage-teams team': {
        const team = await createTeam(admin, org, { 'manage-teams': true, 'manage-membership': true });
        const user = await createUser(admin);
        await addToOrganization(admin, org, user, [team.id]);
        return user.client;
      }
      case 'organization token': {
        const res = await admin.post(`/organizations/${org}/authentication-token`);
        expectStatus(res, 201, 'organization token');
        return admin.withToken(res.body.data.attributes.token);
      }
      case 'team token (write)': {
        const team = await createTeam(admin, org);
        await grant(admin, team.id, ws.id, 'write');
        return admin.withToken(await teamToken(admin, team.id));
      }
      case 'user with no team': {
        const user = await createUser(admin);
        await addToOrganization(admin, org, user);
        return user.client;
      }
      case 'agent token':
        return admin.withToken(agentToken);
      case 'job token':
        return admin.withToken(await jobToken(agentToken));
    }
  }

  const ACTION: Record<ActionName, (api: Api) => Promise<Response>> = {
    'read workspace': (api) => api.get(`/workspaces/${ws.id}`),
    'create workspace': (api) => api.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws') } } }),
    'queue plan': (api) =>
      api.post('/runs', { data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } }),
    lock: async (api) => {
      const res = await api.post(`/workspaces/${ws.id}/actions/lock`, { data: { type: '', attributes: { reason: 'matrix' } } });
      if (res.status === 200) expectStatus(await api.post(`/workspaces/${ws.id}/actions/unlock`), 200, 'unlock after lock');
      return res;
    },
    'change variables': (api) =>
      api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key: randomName('v').replace(/-/g, '_'), value: 'x', category: 'terraform' } } }),
    'read state': (api) => api.get(`/workspaces/${ws.id}/current-state-version`),
    'read sensitive output': async (api) => {
      const res = await api.get(`/state-version-outputs/${secretOutputId}`);
      if (res.status === 200) assert.equal(res.body.data.attributes.value, 'hunter2');
      return res;
    },
    'create pool': (api) => api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } }),
    'create agent token': (api) => api.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'matrix' } } }),
    'manage teams': (api) => api.post(`/organizations/${org}/teams`, { data: { type: 'teams', attributes: { name: randomName('team') } } }),
    'read organization token': (api) => api.get(`/organizations/${org}/authentication-token`),
    'create team token': (api) =>
      api.post(`/teams/${someTeamId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: randomName('matrix') } } }),
    // Whoever may change the owners team holds every right of the organization, or may give it out.
    'add an owner': (api) => api.post(`/teams/${ownersId}/relationships/users`, { data: [{ type: 'users', id: spareMember }] }),
    'grant owners access': async (api) => {
      const res = await api.post('/team-workspaces', {
        data: {
          type: 'team-workspaces',
          attributes: { access: 'read' },
          relationships: { team: { data: { type: 'teams', id: ownersId } }, workspace: { data: { type: 'workspaces', id: ws.id } } },
        },
      });
      if (res.status === 201) assert.equal((await admin.delete(`/team-workspaces/${res.body.data.id}`)).status, 204);
      return res;
    },
    // Run triggers are the target workspace's settings: admin access, as Terraform Cloud.
    'list run triggers': (api) => api.get(`/workspaces/${ws.id}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=inbound`),
    'change project': (api) => api.patch(`/projects/${projectId}`, { data: { type: 'projects', attributes: { description: randomName('matrix') } } }),
    'grant project access': async (api) => {
      const res = await api.post('/team-projects', {
        data: {
          type: 'team-projects',
          attributes: { access: 'read' },
          relationships: { team: { data: { type: 'teams', id: someTeamId } }, project: { data: { type: 'projects', id: projectId } } },
        },
      });
      if (res.status === 201) assert.equal((await admin.delete(`/team-projects/${res.body.data.id}`)).status, 204);
      return res;
    },
    // A tag made for each try, so that every allowed deletion has something to delete.
    'delete tags': async (api) => {
      const name = randomName('tag');
      expectStatus(await admin.post(`/workspaces/${ws.id}/relationships/tags`, { data: [{ type: 'tags', attributes: { name } }] }), 204, 'tag');
      const tags = await admin.get(`/organizations/${org}/tags?q=${name}`);
      return api.request('DELETE', `/organizations/${org}/tags`, { body: { data: [{ type: 'tags', id: tags.body.data[0].id }] } });
    },
    // Queues a run that applies without confirmation: what can-queue-apply allows. Last, because
    // the run takes the workspace's lock.
    apply: (api) =>
      api.post('/runs', { data: { type: 'runs', attributes: { 'auto-apply': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } }),
    // Terraform Cloud: variable sets are managed by owners and teams that manage all workspaces.
    'manage variable sets': (api) => api.post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: randomName('set'), global: false } } }),
    // The sets a workspace gets are seen by whoever may read its variables.
    "read the workspace's variable sets": (api) => api.get(`/workspaces/${ws.id}/varsets`),
    // Terraform Cloud: reading a workspace's variables lets one view the organization's sets.
    'list variable sets': (api) => api.get(`/organizations/${org}/varsets`),
    // On the workspace's oldest run (the job token's plan): whoever may read a run may comment on it.
    'comment on a run': async (api) => {
      const runs = await admin.get(`/workspaces/${ws.id}/runs`);
      expectStatus(runs, 200, 'runs');
      const oldest = runs.body.data[runs.body.data.length - 1];
      return api.post(`/runs/${oldest.id}/comments`, { data: { type: 'comments', attributes: { body: 'matrix' } } });
    },
    'read resources': (api) => api.get(`/workspaces/${ws.id}/resources`),
  };

  const SSH_KEY_ACTION: Record<SshKeyActionName, (api: Api) => Promise<Response>> = {
    'read ssh keys': (api) => api.get(`/organizations/${org}/ssh-keys`),
    'manage ssh keys': (api) =>
      api.post(`/organizations/${org}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: randomName('key'), value: 'matrix' } } }),
    'assign ssh key': (api) => api.patch(`/workspaces/${ws.id}/relationships/ssh-key`, { data: { type: 'workspaces', attributes: { id: sshKeyId } } }),
    // Disconnecting (the workspace has no repository: nothing changes) is decided as connecting is.
    'connect repository': (api) => api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { 'vcs-repo': null } } }),
  };

  const VCS_PROVIDER_ACTION: Record<VcsProviderActionName, (api: Api) => Promise<Response>> = {
    'read vcs providers': (api) => api.get(`/organizations/${org}/oauth-clients`),
    'manage vcs providers': (api) =>
      api.post(`/organizations/${org}/oauth-clients`, { data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', 'oauth-token-string': 'matrix' } } }),
  };

  before(async () => {
    // The agent holding the job never heartbeats: a long grace period keeps its job token valid throughout.
    // The agent token answers 401 once per column: more than the default limit of failed authentications a
    // minute, which is not what this test is about (test/hostile-input.test.ts covers the limit).
    server = await startServer({ config: { agentGracePeriodSeconds: 600, authFailureLimit: 0 } });
    admin = server.api;
    org = await createOrganization(admin);
    const pool = await admin.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    expectStatus(pool, 201, 'pool');
    poolId = pool.body.data.id;
    ws = await createWorkspace(admin, org, randomName('ws'), { 'execution-mode': 'agent', 'agent-pool-id': poolId });
    projectId = ws.relationships.project.data.id;
    const cv = await admin.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    expectStatus(cv, 201, 'configuration version');
    expectStatus(await uploadTarball(admin, cv.body.data, configTarball({ 'main.tf': CONFIG })), 200, 'upload');
    const outputs = await admin.get(`/state-versions/${await createState()}/outputs`);
    secretOutputId = outputs.body.data[0].id;
    const agentToken = await admin.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'matrix' } } });
    expectStatus(agentToken, 201, 'agent token');
    // Both teams visible to the whole organization: seeing a team must not be enough to change it.
    ownersId = (await ownersTeam(admin, org)).id;
    someTeamId = (await createTeam(admin, org)).id;
    for (const id of [ownersId, someTeamId]) {
      expectStatus(await admin.patch(`/teams/${id}`, { data: { type: 'teams', attributes: { visibility: 'organization' } } }), 200, 'team visibility');
    }
    const spare = await createUser(admin);
    await addToOrganization(admin, org, spare);
    spareMember = spare.id;
    const key = await admin.post(`/organizations/${org}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: 'matrix', value: 'matrix' } } });
    expectStatus(key, 201, 'ssh key');
    sshKeyId = key.body.data.id;
    for (const role of ROLES) clients.set(role, await roleClient(role, agentToken.body.data.attributes.token));
  });
  after(() => server.stop());

  for (const [column, action] of ACTIONS.entries()) {
    describe(action, () => {
      for (const role of ROLES) {
        const outcome = MATRIX[role][column];
        it(`${role}: ${outcome === 'ok' ? 'allowed' : outcome}`, async () => {
          const res = await ACTION[action](clients.get(role)!);
          if (outcome === 'ok') assert.ok(res.status >= 200 && res.status < 300, `${role} / ${action}: expected success, got ${res.status} ${res.text}`);
          else {
            assert.equal(res.status, outcome, `${role} / ${action}: ${res.text}`);
            assert.ok(res.body?.errors?.[0]?.detail, `${role} / ${action}: a refusal says why: ${res.text}`);
          }
        });
      }
    });
  }

  for (const [column, action] of SSH_KEY_ACTIONS.entries()) {
    describe(action, () => {
      for (const role of ROLES) {
        const outcome = SSH_KEY_MATRIX[role][column];
        it(`${role}: ${outcome === 'ok' ? 'allowed' : outcome}`, async () => {
          const res = await SSH_KEY_ACTION[action](clients.get(role)!);
          if (outcome === 'ok') assert.ok(res.status >= 200 && res.status < 300, `${role} / ${action}: expected success, got ${res.status} ${res.text}`);
          else {
            assert.equal(res.status, outcome, `${role} / ${action}: ${res.text}`);
            assert.ok(res.body?.errors?.[0]?.detail, `${role} / ${action}: a refusal says why: ${res.text}`);
          }
        });
      }
    });
  }

  for (const [column, action] of VCS_PROVIDER_ACTIONS.entries()) {
    describe(action, () => {
      for (const role of ROLES) {
        const outcome = VCS_PROVIDER_MATRIX[role][column];
        it(`${role}: ${outcome === 'ok' ? 'allowed' : outcome}`, async () => {
          const res = await VCS_PROVIDER_ACTION[action](clients.get(role)!);
          if (outcome === 'ok') assert.ok(res.status >= 200 && res.status < 300, `${role} / ${action}: expected success, got ${res.status} ${res.text}`);
          else {
            assert.equal(res.status, outcome, `${role} / ${action}: ${res.text}`);
            assert.ok(res.body?.errors?.[0]?.detail, `${role} / ${action}: a refusal says why: ${res.text}`);
          }
        });
      }
    });
  }

  it('a job token sees of another workspace only what terraform_remote_state reads, and only when that workspace shares its state', async () => {
    const job = clients.get('job token')!;
    const name = randomName('producer');
    const producer = await createWorkspace(admin, org, name);
    const lineage = crypto.randomUUID();
    const stateId = await createState(producer.id, 1, lineage);
    const reads = {
      'by name': `/organizations/${org}/workspaces/${name}`,
      'by id': `/workspaces/${producer.id}`,
      'current state': `/workspaces/${producer.id}/current-state-version`,
      'state version': `/state-versions/${stateId}`,
      variables: `/workspaces/${producer.id}/vars`,
      runs: `/workspaces/${producer.id}/runs`,
      'configuration versions': `/workspaces/${producer.id}/configuration-versions`,
    };
    const statuses = async () => Object.fromEntries(await Promise.all(Object.entries(reads).map(async ([what, path]) => [what, (await job.get(path)).status])));
    assert.deepEqual(await statuses(), { 'by name': 404, 'by id': 404, 'current state': 404, 'state version': 404, variables: 404, runs: 404, 'configuration versions': 404 });
    const listed = await job.get(`/organizations/${org}/workspaces`);
    expectStatus(listed, 200, 'list');
    assert.deepEqual(
      listed.body.data.map((w: Json) => w.id),
      [ws.id],
      'a job token lists its own workspace only',
    );
    const share = await admin.post(`/workspaces/${producer.id}/relationships/remote-state-consumers`, { data: [{ type: 'workspaces', id: ws.id }] });
    expectStatus(share, 204, 'share');
    assert.deepEqual(await statuses(), { 'by name': 200, 'by id': 200, 'current state': 200, 'state version': 200, variables: 404, runs: 404, 'configuration versions': 404 });
    // Of the workspace it sees what names it and its state, not its settings.
    const seen = await job.get(`/organizations/${org}/workspaces/${name}?include=latest_run,current_configuration_version`);
    expectStatus(seen, 200, 'the shared workspace');
    assert.deepEqual(Object.keys(seen.body.data.attributes).sort(), ['name', 'permissions', 'terraform-version']);
    assert.deepEqual(Object.keys(seen.body.data.relationships).sort(), ['current-state-version', 'organization']);
    assert.equal(seen.body.data.relationships['current-state-version'].data.id, stateId);
    assert.equal(seen.body.included, undefined, `nothing more comes with include=: ${seen.text}`);
    // The current state, not the history: once there is a newer version, the older one is gone for it.
    const newer = await createState(producer.id, 2, lineage);
    assert.equal((await job.get(`/state-versions/${newer}`)).status, 200);
    assert.equal((await job.get(`/state-versions/${newer}/outputs`)).status, 200);
    assert.equal((await job.get(`/state-versions/${stateId}`)).status, 404);
    assert.equal((await job.get(`/state-versions/${stateId}/outputs`)).status, 404);
    assert.equal((await job.get(`/workspaces/${producer.id}/state-versions`)).status, 404);
    assert.equal((await job.get(`/state-versions?filter[organization][name]=${org}&filter[workspace][name]=${name}`)).status, 404);
    assert.equal((await admin.get(`/state-versions/${stateId}`)).status, 200);
  });

  it('a plan job’s token may not write state; agent tokens are no API credentials (401), not even for /account/details', async () => {
    const plan = await clients.get('job token')!.post(`/workspaces/${ws.id}/state-versions`, {
      data: { type: 'state-versions', attributes: { serial: 9, lineage: crypto.randomUUID(), md5: crypto.createHash('md5').update('{}').digest('hex') } },
    });
    expectStatus(plan, 403, 'state from a plan job');
    assert.match(plan.body.errors[0].detail, /the job token of run run-\S+ may not create state versions/);
    const pool = clients.get('agent token')!;
    const registered = await pool.post('/api/agent/register', {});
    expectStatus(registered, 201, 'register');
    const agent = admin.withToken(registered.body.token);
    for (const [who, client] of [['agent-pool token', pool], ['agent access token', agent]] as const) {
      for (const path of ['/account/details', `/organizations/${org}`, `/workspaces/${ws.id}`, '/organizations']) {
        const res = await client.get(path);
        expectStatus(res, 401, `${who} on ${path}`);
        assert.match(res.body.errors[0].detail, /agent protocol only/);
      }
    }
  });

  it('names the missing permission in a 403', async () => {
    const res = await ACTION.apply(clients.get('plan team')!);
    assert.equal(res.status, 403);
    assert.match(res.body.errors[0].detail, /insufficient permissions: to apply runs you need runs: apply \(write access to the workspace\)/);
    const org403 = await ACTION['queue plan'](clients.get('organization token')!);
    assert.match(org403.body.errors[0].detail, /an organization token may not queue plans: use a user or team token/);
  });
});
