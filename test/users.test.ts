// Users as the API shows them: accounts made by the site administrator (/admin/users), looking
// users up, /account/details, the tokens a user holds, organization memberships (by username, or
// by an invitation to an email that a user takes up later) and organizations a user creates.
import assert from 'node:assert/strict';
import { ids, relatedIds, type Api, type Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { addToOrganization, createTeam, createUser, grant, ownersTeam, teamToken, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { sleep } from './helpers/wait.js';

function userDocument(username: string, email = `${username}@example.com`): Json {
  return { data: { type: 'users', attributes: { username, email } } };
}

function tokenDocument(attributes: Record<string, unknown> = {}): Json {
  return { data: { type: 'authentication-tokens', attributes } };
}

function membershipDocument(attributes: Record<string, unknown>, teamIds: string[] = []): Json {
  return {
    data: {
      type: 'organization-memberships',
      attributes,
      relationships: { teams: { data: teamIds.map((id) => ({ type: 'teams', id })) } },
    },
  };
}

describe('users', function () {
  this.timeout(60_000);
  let server: TestServer;
  let admin: Api;

  before(async () => {
    server = await startServer();
    admin = server.api;
  });
  after(() => server.stop());

  /** The user ids of the team's members, as the site administrator sees them. */
  async function teamMemberIds(teamId: string): Promise<string[]> {
    const res = await admin.get(`/teams/${teamId}`);
    assertStatus(res, 200);
    return relatedIds(res.body.data, 'users');
  }

  // ------------------------------------------------------------ /admin/users

  describe('POST /admin/users', () => {
    it('creates a user: 201 with its username and email', async () => {
      const username = randomName('user');
      const res = await admin.post('/admin/users', userDocument(username));
      assertStatus(res, 201);
      assert.equal(res.body.data.type, 'users');
      assert.match(res.body.data.id, /^user-/);
      assert.equal(res.body.data.attributes.username, username);
      assert.equal(res.body.data.attributes.email, `${username}@example.com`);
      assert.equal(res.body.data.attributes['is-service-account'], false);
    });

    it('refuses a username that is taken: 409 pointing at the username', async () => {
      const username = randomName('user');
      assertStatus(await admin.post('/admin/users', userDocument(username)), 201);
      const res = await admin.post('/admin/users', userDocument(username, `${randomName('other')}@example.com`));
      assertError(res, 409, new RegExp(`username "${username}" is already taken`), { pointer: '/data/attributes/username' });
    });

    it('refuses an email that is taken: 409 pointing at the email', async () => {
      const email = `${randomName('mail')}@example.com`;
      assertStatus(await admin.post('/admin/users', userDocument(randomName('user'), email)), 201);
      const res = await admin.post('/admin/users', userDocument(randomName('user'), email));
      assertError(res, 409, new RegExp(`email "${email}" is already taken`), { pointer: '/data/attributes/email' });
    });

    it('refuses a malformed username: 422 pointing at it', async () => {
      const res = await admin.post('/admin/users', userDocument('no spaces allowed', `${randomName('mail')}@example.com`));
      assertError(res, 422, /username/, { pointer: '/data/attributes/username' });
    });

    it('refuses a malformed email: 422 pointing at it', async () => {
      const res = await admin.post('/admin/users', userDocument(randomName('user'), 'not-an-email'));
      assertError(res, 422, /must be a valid email address/, { pointer: '/data/attributes/email' });
    });

    it('is for the site administrator only: 403 for a user token', async () => {
      const user = await createUser(admin);
      const username = randomName('user');
      const res = await user.client.post('/admin/users', userDocument(username));
      assertError(res, 403, /only a site administrator may create users/);
      const list = await admin.get(`/admin/users?q=${username}`);
      assert.equal(list.body.data.length, 0, 'no user was made');
    });
  });

  describe('GET /admin/users', () => {
    it('lists users, and searches their usernames and emails with q', async () => {
      const tag = randomName('find');
      const a = await createUser(admin, `${tag}-a`);
      const b = await createUser(admin, `${tag}-b`);
      const other = await createUser(admin);
      const all = await admin.get('/admin/users?page[size]=100');
      assertStatus(all, 200);
      for (const u of [a, b, other]) assert.ok(ids(all.body.data).includes(u.id), `${u.username} is listed`);
      assert.ok(all.body.meta.pagination['total-count'] >= 3);

      const found = await admin.get(`/admin/users?q=${tag}`);
      assertStatus(found, 200);
      assert.deepEqual(ids(found.body.data).sort(), [a.id, b.id].sort());
      // emails are searched too (they are <username>@example.com)
      const byEmail = await admin.get(`/admin/users?q=${encodeURIComponent(`${tag}-b@example`)}`);
      assert.deepEqual(ids(byEmail.body.data), [b.id]);
    });

    it('is for the site administrator only: 403 for a user token', async () => {
      const user = await createUser(admin);
      assertError(await user.client.get('/admin/users'), 403, /only a site administrator may list all users/);
    });
  });

  describe('DELETE /admin/users/:id', () => {
    it('deletes the user: 204, and its tokens no longer authenticate (401)', async () => {
      const user = await createUser(admin);
      assertStatus(await user.client.get('/account/details'), 200);
      assertStatus(await admin.delete(`/admin/users/${user.id}`), 204);
      assertStatus(await user.client.get('/account/details'), 401);
      assertStatus(await admin.get(`/users/${user.id}`), 404);
      assert.equal((await admin.get(`/admin/users?q=${user.username}`)).body.data.length, 0);
    });

    it('is for the site administrator only: 403 for a user token', async () => {
      const user = await createUser(admin);
      const victim = await createUser(admin);
      assertError(await user.client.delete(`/admin/users/${victim.id}`), 403, /only a site administrator may delete users/);
      assertStatus(await victim.client.get('/account/details'), 200);
    });
  });

  // ------------------------------------------------------------ looking users up

  describe('GET /users/:id', () => {
    let org: string;
    let alice: TestUser;
    let bob: TestUser;
    let loner: TestUser;

    before(async () => {
      org = await createOrganization(admin);
      alice = await createUser(admin);
      bob = await createUser(admin);
      loner = await createUser(admin);
      await addToOrganization(admin, org, alice);
      await addToOrganization(admin, org, bob);
    });

    it('shows a user itself with its email, by id and by username', async () => {
      for (const key of [alice.id, alice.username]) {
        const res = await alice.client.get(`/users/${key}`);
        assertStatus(res, 200);
        assert.equal(res.body.data.id, alice.id);
        assert.equal(res.body.data.attributes.username, alice.username);
        assert.equal(res.body.data.attributes.email, `${alice.username}@example.com`);
      }
    });

    it('shows another member of a shared organization without its email', async () => {
      for (const key of [bob.id, bob.username]) {
        const res = await alice.client.get(`/users/${key}`);
        assertStatus(res, 200);
        assert.equal(res.body.data.id, bob.id);
        assert.equal(res.body.data.attributes.username, bob.username);
        assert.equal(res.body.data.attributes.email, null);
      }
    });

    it('answers 404 for a user who shares no organization with the caller', async () => {
      assertStatus(await alice.client.get(`/users/${loner.id}`), 404);
      assertStatus(await alice.client.get(`/users/${loner.username}`), 404);
      assertStatus(await loner.client.get(`/users/${alice.id}`), 404);
    });

    it('shows the site administrator any user with its email', async () => {
      const res = await admin.get(`/users/${loner.username}`);
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.email, `${loner.username}@example.com`);
    });
  });

  describe('GET /account/details', () => {
    it('describes the user behind a user token', async () => {
      const user = await createUser(admin);
      const res = await user.client.get('/account/details');
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'users');
      assert.equal(res.body.data.id, user.id);
      assert.equal(res.body.data.attributes.username, user.username);
      assert.equal(res.body.data.attributes.email, `${user.username}@example.com`);
      assert.equal(res.body.data.attributes['is-service-account'], false);
    });

    it('describes a team token as the service account api-team_<team name>', async () => {
      const org = await createOrganization(admin);
      const team = await createTeam(admin, org);
      const token = await teamToken(admin, team.id);
      const res = await admin.withToken(token).get('/account/details');
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'users');
      assert.equal(res.body.data.attributes.username, `api-team_${team.attributes.name}`);
      assert.equal(res.body.data.attributes['is-service-account'], true);
      assert.equal(res.body.data.attributes.email, null);
    });
  });

  // ------------------------------------------------------------ user tokens

  describe('PATCH /account/update', () => {
    function accountDoc(attributes: Record<string, unknown>): Json {
      return { data: { type: 'users', attributes } };
    }

    it('changes the username of the user behind the token; an empty change, or its own email sent back, changes nothing', async () => {
      const user = await createUser(admin);
      const before = (await user.client.get('/account/details')).body.data;
      assert.match(before.attributes['avatar-url'], /^https:\/\/www\.gravatar\.com\/avatar\/[0-9a-f]{32}/);
      const same = await user.client.patch('/account/update', accountDoc({}));
      assertStatus(same, 200);
      assert.deepEqual((await user.client.get('/account/details')).body.data, before);

      const renamed = `${user.username}-new`;
      const res = await user.client.patch('/account/update', accountDoc({ username: renamed }));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.username, renamed);
      // go-tfe sends both back when it resets an account.
      assertStatus(await user.client.patch('/account/update', accountDoc({ username: renamed, email: before.attributes.email.toUpperCase() })), 200);
      const after = (await user.client.get('/account/details')).body.data;
      assert.equal(after.id, user.id);
      assert.equal(after.attributes.username, renamed);
      assert.equal(after.attributes.email, before.attributes.email);
      assert.equal(after.attributes.permissions['can-change-email'], false);
      assert.equal((await admin.get(`/users/${renamed}`)).body.data.id, user.id);
    });

    it('refuses a new email (422): unconfirmed, it would collect the invitations sent to that address', async () => {
      const user = await createUser(admin);
      const victim = `victim-${user.username}@example.org`;
      assertError(await user.client.patch('/account/update', accountDoc({ email: victim })), 422, /email cannot be changed here/, { pointer: '/data/attributes/email' });
      assert.equal((await user.client.get('/account/details')).body.data.attributes.email, `${user.username}@example.com`);
      // Invited by that address, the user stays out: the invitation waits for the owner of the address.
      const org = await createOrganization(admin);
      const invited = await admin.post(`/organizations/${org}/organization-memberships`, { data: { type: 'organization-memberships', attributes: { email: victim } } });
      assertStatus(invited, 201);
      assert.equal(invited.body.data.attributes.status, 'invited');
      assertStatus(await user.client.get(`/organizations/${org}`), 404);
    });

    it('refuses an invalid email or username (422) and a taken one (409), changing nothing', async () => {
      const user = await createUser(admin);
      const other = await createUser(admin);
      assertError(await user.client.patch('/account/update', accountDoc({ email: 'notamailaddress' })), 422, /must be a valid email address/, { pointer: '/data/attributes/email' });
      assertError(await user.client.patch('/account/update', accountDoc({ username: 'has space' })), 422, /must be 1 to 90 letters/, { pointer: '/data/attributes/username' });
      assertError(await user.client.patch('/account/update', accountDoc({ username: other.username })), 409, /username .* is already taken/, { pointer: '/data/attributes/username' });
      // Another user's email is refused like any new one: the answer does not say whether it is taken.
      assertError(await user.client.patch('/account/update', accountDoc({ email: `${other.username}@example.com` })), 422, /email cannot be changed here/, { pointer: '/data/attributes/email' });
      assertError(await user.client.patch('/account/update', { data: { type: 'organizations', attributes: {} } }), 422, /data\.type must be "users"/);
      assertError(await user.client.request('PATCH', '/account/update', { raw: '{"data":' }), 400, /malformed JSON/i);
      assertStatus(await user.client.patch('/account/update', accountDoc({ username: 'a\u0000b' })), 422);
      const after = (await user.client.get('/account/details')).body.data.attributes;
      assert.equal(after.username, user.username);
      assert.equal(after.email, `${user.username}@example.com`);
    });

    it('is for users: the site token and a team token get 403, no token 401', async () => {
      assertError(await admin.patch('/account/update', accountDoc({ username: 'site' })), 403, /only a user may change its account/);
      assertStatus(await admin.withToken(null).patch('/account/update', accountDoc({ username: 'x' })), 401);
    });
  });

  describe('user tokens', () => {
    it('accepts the empty type go-tfe sends', async () => {
      const user = await createUser(admin);
      const res = await user.client.post(`/users/${user.id}/authentication-tokens`, { data: { type: '', attributes: { description: 'go-tfe' } } });
      assertStatus(res, 201);
      assert.equal(res.body.data.attributes.description, 'go-tfe');
      assertError(await user.client.post(`/users/${user.id}/authentication-tokens`, { data: { type: 'teams', attributes: {} } }), 422, /data\.type must be one of/);
    });

    it('a user creates a token for itself: the secret is shown once, the list shows the token without it', async () => {
      const user = await createUser(admin);
      const created = await user.client.post(`/users/${user.id}/authentication-tokens`, tokenDocument({ description: 'laptop' }));
      assertStatus(created, 201);
      const token = created.body.data;
      assert.equal(token.type, 'authentication-tokens');
      assert.match(token.id, /^ut-/);
      assert.equal(token.attributes.description, 'laptop');
      assert.equal(typeof token.attributes.token, 'string');
      assert.ok(token.attributes.token.startsWith(`${token.id}.`), token.attributes.token);
      assertStatus(await admin.withToken(token.attributes.token).get('/account/details'), 200);

      const list = await user.client.get(`/users/${user.id}/authentication-tokens`);
      assertStatus(list, 200);
      const listed = list.body.data.find((t: Json) => t.id === token.id);
      assert.ok(listed, `the new token is listed: ${list.text}`);
      assert.equal(listed.attributes.description, 'laptop');
      assert.equal(listed.attributes.token, null);
      // the token createUser made for the tests is there too
      assert.equal(list.body.data.length, 2);
    });

    it('GET /authentication-tokens/:id shows the token; DELETE revokes it at once (401 afterwards)', async () => {
      const user = await createUser(admin);
      const created = await user.client.post(`/users/${user.id}/authentication-tokens`, tokenDocument({ description: 'short-lived' }));
      assertStatus(created, 201);
      const { id } = created.body.data;
      const secret: string = created.body.data.attributes.token;

      const shown = await user.client.get(`/authentication-tokens/${id}`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.id, id);
      assert.equal(shown.body.data.attributes.description, 'short-lived');
      assert.equal(shown.body.data.attributes.token, null);

      assertStatus(await admin.withToken(secret).get('/account/details'), 200);
      assertStatus(await user.client.delete(`/authentication-tokens/${id}`), 204);
      assertStatus(await admin.withToken(secret).get('/account/details'), 401);
      assertStatus(await user.client.get(`/authentication-tokens/${id}`), 404);
      // the user's other token is untouched
      assertStatus(await user.client.get('/account/details'), 200);
    });

    it('the site administrator may create a token for another user', async () => {
      const user = await createUser(admin);
      const created = await admin.post(`/users/${user.id}/authentication-tokens`, tokenDocument({ description: 'handed out' }));
      assertStatus(created, 201);
      const res = await admin.withToken(created.body.data.attributes.token).get('/account/details');
      assertStatus(res, 200);
      assert.equal(res.body.data.id, user.id);
    });

    it('another user may not create, list, read or delete the tokens of a user: 404', async () => {
      const owner = await createUser(admin);
      const other = await createUser(admin);
      const org = await createOrganization(admin);
      // even when they share an organization
      await addToOrganization(admin, org, owner);
      await addToOrganization(admin, org, other);
      assertStatus(await other.client.post(`/users/${owner.id}/authentication-tokens`, tokenDocument({ description: 'stolen' })), 404);
      assertStatus(await other.client.get(`/users/${owner.id}/authentication-tokens`), 404);
      const list = await owner.client.get(`/users/${owner.id}/authentication-tokens`);
      const tokenId = list.body.data[0].id;
      assertStatus(await other.client.get(`/authentication-tokens/${tokenId}`), 404);
      assertStatus(await other.client.delete(`/authentication-tokens/${tokenId}`), 404);
      assertStatus(await owner.client.get('/account/details'), 200);
    });

    it('refuses an expired-at in the past: 422', async () => {
      const user = await createUser(admin);
      const res = await user.client.post(
        `/users/${user.id}/authentication-tokens`,
        tokenDocument({ description: 'stale', 'expired-at': new Date(Date.now() - 60_000).toISOString() }),
      );
      assertError(res, 422, /expired-at/, { pointer: '/data/attributes/expired-at' });
    });

    it('a token stops working (401) once its expired-at has passed', async () => {
      const user = await createUser(admin);
      const expiresAt = Date.now() + 2_000;
      const created = await user.client.post(`/users/${user.id}/authentication-tokens`, tokenDocument({ description: 'expiring', 'expired-at': new Date(expiresAt).toISOString() }));
      assertStatus(created, 201);
      assert.equal(new Date(created.body.data.attributes['expired-at']).getTime(), expiresAt);
      const client = admin.withToken(created.body.data.attributes.token);
      assertStatus(await client.get('/account/details'), 200);
      await sleep(expiresAt - Date.now() + 250);
      assertStatus(await client.get('/account/details'), 401);
    });

    it('records when a token was last used', async () => {
      const user = await createUser(admin);
      const created = await user.client.post(`/users/${user.id}/authentication-tokens`, tokenDocument({ description: 'tracked' }));
      assertStatus(created, 201);
      const { id } = created.body.data;
      assert.equal(created.body.data.attributes['last-used-at'], null);
      const before = Date.now();
      assertStatus(await admin.withToken(created.body.data.attributes.token).get('/account/details'), 200);
      const shown = await user.client.get(`/authentication-tokens/${id}`);
      assertStatus(shown, 200);
      const lastUsed = shown.body.data.attributes['last-used-at'];
      assert.ok(lastUsed, `last-used-at is set: ${shown.text}`);
      assert.ok(new Date(lastUsed).getTime() >= before - 1_000, `last-used-at ${lastUsed} is recent`);
    });
  });

  // ------------------------------------------------------------ organization memberships

  describe('organization memberships', () => {
    it('adds a user by username: the membership is active at once and the user sees the organization', async () => {
      const org = await createOrganization(admin);
      const user = await createUser(admin);
      assertStatus(await user.client.get(`/organizations/${org}`), 404);
      const res = await admin.post(`/organizations/${org}/organization-memberships`, membershipDocument({ username: user.username }));
      assertStatus(res, 201);
      const m = res.body.data;
      assert.equal(m.type, 'organization-memberships');
      assert.equal(m.attributes.status, 'active');
      assert.equal(m.attributes.email, `${user.username}@example.com`);
      assert.equal(m.relationships.user.data.id, user.id);
      assert.equal(m.relationships.organization.data.id, org);
      assertStatus(await user.client.get(`/organizations/${org}`), 200);
    });

    it('invites an email nobody has yet; once a user with that email is created, it is an active member of the teams it was invited into', async () => {
      const org = await createOrganization(admin);
      const team = await createTeam(admin, org);
      const ws = await createWorkspace(admin, org);
      await grant(admin, team.id, ws.id, 'read');
      const username = randomName('invitee');
      const email = `${username}@example.com`;

      const invited = await admin.post(`/organizations/${org}/organization-memberships`, membershipDocument({ email }, [team.id]));
      assertStatus(invited, 201);
      const m = invited.body.data;
      assert.equal(m.attributes.status, 'invited');
      assert.equal(m.attributes.email, email);
      // As Terraform Cloud (and go-tfe) have it: the invitation names a user made for the email, and includes it.
      const inviteeId = m.relationships.user.data.id;
      assert.match(inviteeId, /^user-/);
      const included = invited.body.included.find((r: Json) => r.type === 'users' && r.id === inviteeId);
      assert.ok(included, `the invited user is included: ${invited.text}`);
      const read = await admin.get(`/organization-memberships/${m.id}?include=user`);
      assertStatus(read, 200);
      assert.equal(read.body.data.relationships.user.data.id, inviteeId);
      assert.deepEqual(read.body.included, invited.body.included);
      assert.deepEqual(relatedIds(m, 'teams'), [team.id]);
      assert.deepEqual(await teamMemberIds(team.id), []);

      // The user created with that email is the invited user (same id), now an active member.
      const user = await createUser(admin, username);
      assert.equal(user.id, inviteeId);
      const shown = await admin.get(`/organization-memberships/${m.id}`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.attributes.status, 'active');
      assert.equal(shown.body.data.relationships.user.data.id, user.id);
      assert.deepEqual(relatedIds(shown.body.data, 'teams'), [team.id]);
      assert.deepEqual(await teamMemberIds(team.id), [user.id]);
      assertStatus(await user.client.get(`/organizations/${org}`), 200);
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 200);
    });

    it('lists the memberships of an organization with status counts, filtered by status and email, searched with q', async () => {
      const org = await createOrganization(admin);
      const alice = await createUser(admin);
      const bob = await createUser(admin);
      const a = await addToOrganization(admin, org, alice);
      const b = await addToOrganization(admin, org, bob);
      const invitedEmail = `${randomName('invitee')}@example.com`;
      const inv = await admin.post(`/organizations/${org}/organization-memberships`, membershipDocument({ email: invitedEmail }));
      assertStatus(inv, 201);

      const all = await alice.client.get(`/organizations/${org}/organization-memberships`);
      assertStatus(all, 200);
      assert.deepEqual(ids(all.body.data).sort(), [a.id, b.id, inv.body.data.id].sort());
      assert.deepEqual(all.body.meta['status-counts'], { total: 3, active: 2, invited: 1 });

      const invited = await admin.get(`/organizations/${org}/organization-memberships?filter[status]=invited`);
      assertStatus(invited, 200);
      assert.deepEqual(ids(invited.body.data), [inv.body.data.id]);
      const active = await admin.get(`/organizations/${org}/organization-memberships?filter[status]=active`);
      assert.deepEqual(ids(active.body.data).sort(), [a.id, b.id].sort());

      const byEmail = await admin.get(`/organizations/${org}/organization-memberships?filter[email]=${encodeURIComponent(`${bob.username}@example.com`)}`);
      assertStatus(byEmail, 200);
      assert.deepEqual(ids(byEmail.body.data), [b.id]);

      const byName = await admin.get(`/organizations/${org}/organization-memberships?q=${alice.username}`);
      assertStatus(byName, 200);
      assert.deepEqual(ids(byName.body.data), [a.id]);
      const byInvitedEmail = await admin.get(`/organizations/${org}/organization-memberships?q=${encodeURIComponent(invitedEmail.split('@')[0])}`);
      assert.deepEqual(ids(byInvitedEmail.body.data), [inv.body.data.id]);
    });

    it('refuses an unknown filter[status]: 400', async () => {
      const org = await createOrganization(admin);
      const res = await admin.get(`/organizations/${org}/organization-memberships?filter[status]=pending`);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.errors[0].source?.parameter, 'filter[status]');
    });

    it('a user lists its own memberships, in every organization, at GET /organization-memberships', async () => {
      const user = await createUser(admin);
      const one = await createOrganization(admin);
      const two = await createOrganization(admin);
      await createOrganization(admin); // not the user's
      const m1 = await addToOrganization(admin, one, user);
      const m2 = await addToOrganization(admin, two, user);
      const res = await user.client.get('/organization-memberships');
      assertStatus(res, 200);
      assert.deepEqual(ids(res.body.data).sort(), [m1.id, m2.id].sort());
      assert.deepEqual(res.body.data.map((m: Json) => m.relationships.organization.data.id).sort(), [one, two].sort());
    });

    it('GET /organization-memberships/:id shows a membership to the member, to others of the organization, not to strangers (404)', async () => {
      const org = await createOrganization(admin);
      const member = await createUser(admin);
      const colleague = await createUser(admin);
      const stranger = await createUser(admin);
      const m = await addToOrganization(admin, org, member);
      await addToOrganization(admin, org, colleague);
      for (const client of [admin, member.client, colleague.client]) {
        const res = await client.get(`/organization-memberships/${m.id}`);
        assertStatus(res, 200);
        assert.equal(res.body.data.id, m.id);
        assert.equal(res.body.data.relationships.user.data.id, member.id);
      }
      assertStatus(await stranger.client.get(`/organization-memberships/${m.id}`), 404);
    });

    it('refuses a second membership of the same user: 409', async () => {
      const org = await createOrganization(admin);
      const user = await createUser(admin);
      await addToOrganization(admin, org, user);
      const again = await admin.post(`/organizations/${org}/organization-memberships`, membershipDocument({ username: user.username }));
      assertError(again, 409, /already a member/);
      const byEmail = await admin.post(`/organizations/${org}/organization-memberships`, membershipDocument({ email: `${user.username}@example.com` }));
      assertError(byEmail, 409, /already a member/);
    });

    it('DELETE removes the user from the organization and its teams: its token then gets 404 there, while it still authenticates', async () => {
      const org = await createOrganization(admin);
      const ws = await createWorkspace(admin, org);
      const team = await createTeam(admin, org);
      await grant(admin, team.id, ws.id, 'write');
      const user = await createUser(admin);
      const m = await addToOrganization(admin, org, user, [team.id]);
      assertStatus(await user.client.get(`/organizations/${org}`), 200);
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 200);
      assert.deepEqual(await teamMemberIds(team.id), [user.id]);

      assertStatus(await admin.delete(`/organization-memberships/${m.id}`), 204);
      assertStatus(await admin.get(`/organization-memberships/${m.id}`), 404);
      assert.deepEqual(await teamMemberIds(team.id), []);
      assertStatus(await user.client.get(`/organizations/${org}`), 404);
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 404);
      assertStatus(await user.client.get(`/organizations/${org}/workspaces`), 404);
      assertStatus(await user.client.get('/account/details'), 200);

      // Back in the organization, the user is in none of the teams it left.
      const back = await addToOrganization(admin, org, user);
      assert.deepEqual(relatedIds(back, 'teams'), []);
      assertStatus(await user.client.get(`/organizations/${org}`), 200);
      assertStatus(await user.client.get(`/workspaces/${ws.id}`), 404);
    });

    it('a member may leave an organization by deleting its own membership', async () => {
      const org = await createOrganization(admin);
      const user = await createUser(admin);
      const m = await addToOrganization(admin, org, user);
      assertStatus(await user.client.delete(`/organization-memberships/${m.id}`), 204);
      assertStatus(await user.client.get(`/organizations/${org}`), 404);
      const list = await admin.get(`/organizations/${org}/organization-memberships`);
      assert.deepEqual(ids(list.body.data), []);
    });

    it('a plain member may not remove another member: 403', async () => {
      const org = await createOrganization(admin);
      const plain = await createUser(admin);
      const other = await createUser(admin);
      await addToOrganization(admin, org, plain);
      const m = await addToOrganization(admin, org, other);
      assertError(await plain.client.delete(`/organization-memberships/${m.id}`), 403, /manage organization memberships/);
      assertStatus(await other.client.get(`/organizations/${org}`), 200);
    });

    it("refuses to remove the owners team's last member: 409 naming the owners team", async () => {
      const org = await createOrganization(admin);
      const owners = await ownersTeam(admin, org);
      const owner = await createUser(admin);
      const m = await addToOrganization(admin, org, owner, [owners.id]);
      const res = await admin.delete(`/organization-memberships/${m.id}`);
      assertError(res, 409, /owners team/);
      // nor may the owner leave by itself
      assertError(await owner.client.delete(`/organization-memberships/${m.id}`), 409, /owners team/);
      assertStatus(await owner.client.get(`/organizations/${org}`), 200);
      assert.deepEqual(await teamMemberIds(owners.id), [owner.id]);

      // With a second owner, the first may go.
      const second = await createUser(admin);
      await addToOrganization(admin, org, second, [owners.id]);
      assertStatus(await owner.client.delete(`/organization-memberships/${m.id}`), 204);
      assert.deepEqual(await teamMemberIds(owners.id), [second.id]);
    });
  });

  // ------------------------------------------------------------ organizations a user creates

  describe('organizations created by a user', () => {
    let creator: TestUser;
    let org: string;

    before(async () => {
      creator = await createUser(admin);
      org = randomName();
      const res = await creator.client.post('/organizations', { data: { type: 'organizations', attributes: { name: org, email: `${org}@example.com` } } });
      assertStatus(res, 201);
    });

    it('makes the user a member, and the only member of the owners team', async () => {
      const memberships = await creator.client.get(`/organizations/${org}/organization-memberships`);
      assertStatus(memberships, 200);
      assert.equal(memberships.body.data.length, 1);
      assert.equal(memberships.body.data[0].attributes.status, 'active');
      assert.equal(memberships.body.data[0].relationships.user.data.id, creator.id);

      const owners = await ownersTeam(creator.client, org);
      assert.equal(owners.attributes.name, 'owners');
      assert.equal(owners.attributes['users-count'], 1);
      assert.deepEqual(relatedIds(owners, 'users'), [creator.id]);
    });

    it('makes the user an owner: it creates workspaces and teams', async () => {
      const ws = await creator.client.post(`/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: randomName('ws') } } });
      assertStatus(ws, 201);
      assert.equal(ws.body.data.attributes.permissions['can-update'], true);
      const team = await creator.client.post(`/organizations/${org}/teams`, { data: { type: 'teams', attributes: { name: randomName('team') } } });
      assertStatus(team, 201);
    });

    it('lists to a user only the organizations it is a member of', async () => {
      const joined = await createOrganization(admin);
      const notJoined = await createOrganization(admin);
      await addToOrganization(admin, joined, creator);
      const res = await creator.client.get('/organizations?page[size]=100');
      assertStatus(res, 200);
      const names = ids(res.body.data);
      assert.deepEqual(names.sort(), [org, joined].sort());
      assert.ok(!names.includes(notJoined));
      // the site administrator sees them all
      const all = await admin.get('/organizations?page[size]=100');
      for (const name of [org, joined, notJoined]) assert.ok(ids(all.body.data).includes(name), name);
    });
  });
});
