// Two otfds on one database, as a deployment with replicas runs: what one changes about people,
// teams, tokens and grants, the other honours, though each keeps the rights of the tokens it
// has seen between requests.
import assert from 'node:assert/strict';
import pg from 'pg';
import { Api, type Response } from './helpers/api.js';
import { addToOrganization, createTeam, createUser, grant, teamToken, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { waitUntil } from './helpers/wait.js';

/** Waits (5 seconds at most) until the request answers status. */
async function answers(request: () => Promise<Response>, status: number): Promise<void> {
  await waitUntil(`the request answers ${status}`, async () => (await request()).status === status);
}

describe('rights across otfd replicas', function () {
  this.timeout(60_000);
  let a: TestServer;
  let b: TestServer;
  /** The site administrator, on replica A. */
  let admin: Api;
  let org: string;

  before(async () => {
    a = await startServer();
    b = await startServer({ databaseUrl: a.databaseUrl });
    admin = a.api;
    org = await createOrganization(admin);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  /** A client of replica B holding the token. */
  const onB = (token: string) => new Api(b.url, token);

  it('a grant taken away on one replica is refused on the other', async () => {
    const ws = await createWorkspace(admin, org);
    const user = await userWithAccess(admin, org, [ws.id], 'read');
    const reader = onB(user.token);
    assert.equal((await reader.get(`/workspaces/${ws.id}`)).status, 200);
    assert.equal((await reader.get(`/workspaces/${ws.id}`)).status, 200);

    const access = await admin.get(`/team-workspaces?filter[workspace][id]=${ws.id}`);
    assert.equal((await admin.delete(`/team-workspaces/${access.body.data[0].id}`)).status, 204);
    await answers(() => reader.get(`/workspaces/${ws.id}`), 404);
  });

  it('a grant given on one replica is honoured on the other', async () => {
    const ws = await createWorkspace(admin, org);
    const team = await createTeam(admin, org);
    const user = await createUser(admin);
    await addToOrganization(admin, org, user, [team.id]);
    const member = onB(user.token);
    assert.equal((await member.get(`/workspaces/${ws.id}`)).status, 404);

    await grant(admin, team.id, ws.id, 'write');
    await answers(() => member.get(`/workspaces/${ws.id}`), 200);
  });

  it('a user token deleted on one replica stops working on the other', async () => {
    const user = await createUser(admin);
    const mine = onB(user.token);
    assert.equal((await mine.get('/account/details')).status, 200);
    const tokens = await user.client.get(`/users/${user.id}/authentication-tokens`);
    assert.equal((await user.client.delete(`/authentication-tokens/${tokens.body.data[0].id}`)).status, 204);
    await answers(() => mine.get('/account/details'), 401);
  });

  it('a team removed on one replica takes its token with it on the other', async () => {
    const team = await createTeam(admin, org, { 'manage-workspaces': true });
    const ci = onB(await teamToken(admin, team.id));
    assert.equal((await ci.get(`/organizations/${org}/workspaces`)).status, 200);
    assert.equal((await admin.delete(`/teams/${team.id}`)).status, 204);
    await answers(() => ci.get(`/organizations/${org}/workspaces`), 401);
  });

  it('a change written straight into the database (a script, a restore) is honoured by both replicas', async () => {
    const ws = await createWorkspace(admin, org);
    const user = await userWithAccess(admin, org, [ws.id], 'read');
    const clients = [user.client, onB(user.token)];
    for (const c of clients) assert.equal((await c.get(`/workspaces/${ws.id}`)).status, 200);

    const db = new pg.Client({ connectionString: a.databaseUrl });
    await db.connect();
    try {
      await db.query('DELETE FROM team_memberships WHERE user_id = $1', [user.id]);
    } finally {
      await db.end();
    }
    for (const c of clients) {
      await answers(() => c.get(`/workspaces/${ws.id}`), 404);
    }
  });
});
