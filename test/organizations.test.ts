// Organizations as a user sees them over HTTP: creating, listing, reading, updating and deleting
// them, their entitlement set and capacity, and the organization token with what it may do.
import assert from 'node:assert/strict';
import type { Api, Json } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { createUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';

function organizationDocument(attributes: Record<string, unknown>, type = 'organizations'): Json {
  return { data: { type, attributes } };
}

/** The organizations whose name or email contains the text, as the site admin sees them. */
async function search(api: Api, text: string): Promise<Json> {
  const res = await api.get(`/organizations?q=${encodeURIComponent(text)}`);
  assertStatus(res, 200);
  return res.body;
}

async function createToken(api: Api, org: string, body?: unknown): Promise<Json> {
  const res = await api.post(`/organizations/${org}/authentication-token`, body);
  assertStatus(res, 201);
  return res.body.data;
}

function futureIso(days = 30): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

describe('organizations', function () {
  let server: TestServer;
  let api: Api;
  before(async () => {
    server = await startServer();
    api = server.api;
  });
  after(() => server.stop());

  describe('POST /organizations', () => {
    it('creates an organization addressed by its name', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }));
      assertStatus(res, 201);
      const data = res.body.data;
      assert.equal(data.type, 'organizations');
      assert.equal(data.id, name);
      assert.equal(data.attributes.name, name);
      assert.equal(data.attributes.email, `${name}@example.com`);
      assert.match(data.attributes['external-id'], /^org-/);
      assert.match(data.attributes['created-at'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(typeof data.attributes.permissions, 'object');
      assert.equal(data.attributes.permissions['can-update'], true);
      assert.equal(data.attributes.permissions['can-destroy'], true);
      assert.equal(data.attributes.permissions['can-create-workspace'], true);

      const read = await api.get(`/organizations/${name}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes['external-id'], data.attributes['external-id']);
    });

    it('creates 40 organizations a user asks for at once, each with the user in its owners team', async () => {
      // More creations at once than the database pool has connections: each must finish inside its
      // own transaction, without waiting for a second connection.
      const user = await createUser(api);
      const names = Array.from({ length: 40 }, () => randomName());
      const created = await Promise.all(names.map((name) => user.client.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }))));
      assert.deepEqual(
        created.map((r) => r.status),
        names.map(() => 201),
      );
      const owners = await user.client.get(`/organizations/${names[39]}/teams?filter[names]=owners`);
      assertStatus(owners, 200);
      assert.equal(owners.body.data.length, 1);
    });

    it("answers a user's creation with the permissions of its owner, as a read the next moment does", async () => {
      const user = await createUser(api);
      const name = randomName();
      const created = await user.client.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }));
      assertStatus(created, 201);
      assert.equal(created.body.data.attributes.permissions['can-update'], true);
      assert.equal(created.body.data.attributes.permissions['can-destroy'], true);
      const read = await user.client.get(`/organizations/${name}`);
      assert.deepEqual(created.body.data.attributes.permissions, read.body.data.attributes.permissions);
    });

    it('answers malformed JSON with 400 and creates nothing', async () => {
      const name = randomName();
      const raw = `{"data":{"type":"organizations","attributes":{"name":"${name}","email":"${name}@example.com"}`;
      const res = await api.request('POST', '/organizations', { raw });
      assertError(res, 400, /malformed JSON/i);
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('answers a wrong data.type with 422 naming data.type', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }, 'workspaces'));
      assertError(res, 422, /data\.type must be "organizations"/, { pointer: '/data/type' });
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('answers a missing name with 422 naming the name attribute', async () => {
      const marker = randomName('noname');
      const res = await api.post('/organizations', organizationDocument({ email: `${marker}@example.com` }));
      assertError(res, 422, /attribute "name" is required/, { pointer: '/data/attributes/name' });
      assert.equal((await search(api, marker)).meta.pagination['total-count'], 0);
    });

    it('answers a missing email with 422 naming the email attribute', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name }));
      assertError(res, 422, /attribute "email" is required/, { pointer: '/data/attributes/email' });
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('answers an invalid email with 422 naming the email attribute', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: 'not an email' }));
      assertError(res, 422, /attribute "email" must be a valid email address/, { pointer: '/data/attributes/email' });
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('answers a name with characters other than letters, digits, - and _ with 422', async () => {
      const marker = randomName('badname');
      for (const name of [`${marker} space`, `${marker}/slash`, `${marker}.dot`, '']) {
        const res = await api.post('/organizations', organizationDocument({ name, email: `${marker}@example.com` }));
        assertError(res, 422, /attribute "name" must be 1 to 90 letters, digits, "-" or "_"/, { pointer: '/data/attributes/name' });
      }
      assert.equal((await search(api, marker)).meta.pagination['total-count'], 0);
    });

    it('answers a name already taken with 409 and leaves the existing organization alone', async () => {
      const name = await createOrganization(api);
      const res = await api.post('/organizations', organizationDocument({ name, email: 'someone-else@example.com' }));
      assertError(res, 409, new RegExp(`organization name "${name}" is already taken`), { pointer: '/data/attributes/name' });
      const read = await api.get(`/organizations/${name}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.email, `${name}@example.com`);
      assert.equal((await search(api, 'someone-else@example.com')).meta.pagination['total-count'], 0);
    });

    it('answers a request without a token with 401 and creates nothing', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }), { token: null });
      assertError(res, 401, /missing bearer token/);
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('answers a request with an unknown token with 401 and creates nothing', async () => {
      const name = randomName();
      const unknown = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }), {
        token: `ot-${'A'.repeat(16)}.${'a'.repeat(43)}`,
      });
      assertError(unknown, 401, /invalid, expired or revoked/);
      const garbage = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }), { token: 'no-such-token' });
      assertError(garbage, 401, /invalid, expired or revoked/);
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });
  });

  describe('GET /organizations', () => {
    it('lists organizations with pagination, 20 to a page by default', async () => {
      const name = await createOrganization(api);
      const res = await api.get('/organizations');
      assertStatus(res, 200);
      assert.ok(Array.isArray(res.body.data));
      const p = res.body.meta.pagination;
      assert.equal(p['current-page'], 1);
      assert.equal(p['page-size'], 20);
      assert.equal(p['prev-page'], null);
      assert.ok(p['total-count'] >= 1);
      assert.equal(p['total-pages'], Math.max(1, Math.ceil(p['total-count'] / 20)));
      assert.ok(res.body.data.length <= 20);
      assert.ok(res.body.data.every((o: Json) => o.type === 'organizations'));
      // the new organization is on some page; it is found by name search
      const found = await search(api, name);
      assert.deepEqual(
        found.data.map((o: Json) => o.id),
        [name],
      );
    });

    it('pages through organizations with page[number] and page[size]', async () => {
      const prefix = randomName('pg');
      const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
      for (const n of names) await createOrganization(api, n);
      const q = `q=${prefix}`;

      const first = await api.get(`/organizations?${q}&page%5Bsize%5D=2`);
      assertStatus(first, 200);
      assert.deepEqual(
        first.body.data.map((o: Json) => o.id),
        names.slice(0, 2),
      );
      assert.deepEqual(first.body.meta.pagination, {
        'current-page': 1,
        'page-size': 2,
        'prev-page': null,
        'next-page': 2,
        'total-pages': 2,
        'total-count': 3,
      });

      const second = await api.get(`/organizations?${q}&page%5Bsize%5D=2&page%5Bnumber%5D=2`);
      assertStatus(second, 200);
      assert.deepEqual(
        second.body.data.map((o: Json) => o.id),
        names.slice(2),
      );
      assert.equal(second.body.meta.pagination['prev-page'], 1);
      assert.equal(second.body.meta.pagination['next-page'], null);
    });

    it('answers an invalid page number with 400 naming the parameter', async () => {
      const res = await api.get('/organizations?page%5Bnumber%5D=0');
      assertError(res, 400, /page\[number\] must be a whole number/);
      assert.equal(res.body.errors[0].source?.parameter, 'page[number]');
    });
  });

  describe('GET /organizations/:org', () => {
    it('shows an organization', async () => {
      const name = await createOrganization(api);
      const res = await api.get(`/organizations/${name}`);
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'organizations');
      assert.equal(res.body.data.id, name);
      assert.equal(res.body.data.attributes.name, name);
      assert.equal(res.body.data.attributes.email, `${name}@example.com`);
    });

    it('answers an unknown organization with 404 naming it', async () => {
      const name = randomName('missing');
      assertError(await api.get(`/organizations/${name}`), 404, new RegExp(`organization "${name}" not found`));
    });
  });

  describe('PATCH /organizations/:org', () => {
    it('changes the email', async () => {
      const name = await createOrganization(api);
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ email: 'changed@example.com' }));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes.email, 'changed@example.com');
      assert.equal(res.body.data.attributes.name, name);
      const read = await api.get(`/organizations/${name}`);
      assert.equal(read.body.data.attributes.email, 'changed@example.com');
    });

    it('renames: the old name is then 404 and the new one 200', async () => {
      const name = await createOrganization(api);
      const external = (await api.get(`/organizations/${name}`)).body.data.attributes['external-id'];
      const renamed = randomName('renamed');
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ name: renamed }));
      assertStatus(res, 200);
      assert.equal(res.body.data.id, renamed);
      assert.equal(res.body.data.attributes.name, renamed);
      assertError(await api.get(`/organizations/${name}`), 404, new RegExp(`organization "${name}" not found`));
      const read = await api.get(`/organizations/${renamed}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes['external-id'], external);
      assert.equal(read.body.data.attributes.email, `${name}@example.com`);
    });

    it('answers a rename onto an existing name with 409 and renames nothing', async () => {
      const a = await createOrganization(api);
      const b = await createOrganization(api);
      const res = await api.patch(`/organizations/${a}`, organizationDocument({ name: b }));
      assertError(res, 409, new RegExp(`organization name "${b}" is already taken`), { pointer: '/data/attributes/name' });
      const readA = await api.get(`/organizations/${a}`);
      assertStatus(readA, 200);
      assert.equal(readA.body.data.attributes.email, `${a}@example.com`);
      const readB = await api.get(`/organizations/${b}`);
      assertStatus(readB, 200);
      assert.equal(readB.body.data.attributes.email, `${b}@example.com`);
    });

    it('answers an invalid email with 422 and changes nothing', async () => {
      const name = await createOrganization(api);
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ email: 'nope' }));
      assertError(res, 422, /attribute "email" must be a valid email address/, { pointer: '/data/attributes/email' });
      const read = await api.get(`/organizations/${name}`);
      assert.equal(read.body.data.attributes.email, `${name}@example.com`);
    });

    it('answers an unknown organization with 404', async () => {
      const name = randomName('missing');
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ email: 'x@example.com' }));
      assertError(res, 404, new RegExp(`organization "${name}" not found`));
    });
  });

  describe('DELETE /organizations/:org', () => {
    it('deletes the organization: 204, then 404', async () => {
      const name = await createOrganization(api);
      const res = await api.delete(`/organizations/${name}`);
      assertStatus(res, 204);
      assert.equal(res.text, '');
      assertError(await api.get(`/organizations/${name}`), 404, new RegExp(`organization "${name}" not found`));
      assertStatus(await api.delete(`/organizations/${name}`), 404);
    });

    it('deletes the organization’s workspaces with it', async () => {
      const name = await createOrganization(api);
      const ws = await createWorkspace(api, name);
      assertStatus(await api.get(`/workspaces/${ws.id}`), 200);
      assertStatus(await api.delete(`/organizations/${name}`), 204);
      assertStatus(await api.get(`/workspaces/${ws.id}`), 404);
      // the name is free again, and the new organization starts empty
      await createOrganization(api, name);
      const list = await api.get(`/organizations/${name}/workspaces`);
      assertStatus(list, 200);
      assert.equal(list.body.data.length, 0);
    });
  });

  describe('entitlement set and capacity', () => {
    let org: string;
    before(async () => {
      org = await createOrganization(api);
    });

    it('grants operations, state storage, agents, teams, VCS integrations, health assessments and the audit trail, and nothing this server does not do', async () => {
      const res = await api.get(`/organizations/${org}/entitlement-set`);
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'entitlement-sets');
      for (const e of ['operations', 'state-storage', 'agents', 'teams', 'vcs-integrations', 'assessments', 'audit-logging']) {
        assert.equal(res.body.data.attributes[e], true, `entitlement ${e}`);
      }
      for (const e of ['sentinel', 'run-tasks', 'private-module-registry', 'cost-estimation', 'sso']) {
        assert.equal(res.body.data.attributes[e], false, `entitlement ${e}`);
      }
    });

    it('reports no pending and no running runs on an idle organization', async () => {
      const res = await api.get(`/organizations/${org}/capacity`);
      assertStatus(res, 200);
      assert.equal(res.body.data.type, 'organization-capacity');
      assert.equal(res.body.data.attributes.pending, 0);
      assert.equal(res.body.data.attributes.running, 0);
    });

    it('answers both with 404 for an unknown organization', async () => {
      const name = randomName('missing');
      assertError(await api.get(`/organizations/${name}/entitlement-set`), 404, new RegExp(`organization "${name}" not found`));
      assertError(await api.get(`/organizations/${name}/capacity`), 404, new RegExp(`organization "${name}" not found`));
    });
  });

  describe('organization token', () => {
    let org: string;
    beforeEach(async () => {
      org = await createOrganization(api);
    });

    it('is created without a body and shown once', async () => {
      const data = await createToken(api, org);
      assert.equal(data.type, 'authentication-tokens');
      assert.equal(typeof data.attributes.token, 'string');
      assert.ok(data.attributes.token.length > 20);
      assert.equal(data.attributes.description, null);
      assert.equal(data.attributes['expired-at'], null);
      assert.match(data.attributes['created-at'], /Z$/);

      const shown = await api.get(`/organizations/${org}/authentication-token`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.type, 'authentication-tokens');
      assert.equal(shown.body.data.id, data.id);
      assert.equal(shown.body.data.attributes.token, null);
      assert.ok(!shown.text.includes(data.attributes.token), 'GET must not reveal the token');
    });

    it('is created with a description and a future expiry', async () => {
      const expiredAt = futureIso();
      const data = await createToken(api, org, {
        data: { type: 'authentication-token', attributes: { description: 'ci', 'expired-at': expiredAt } },
      });
      assert.equal(data.type, 'authentication-tokens');
      assert.equal(typeof data.attributes.token, 'string');
      assert.equal(data.attributes.description, 'ci');
      assert.equal(data.attributes['expired-at'], expiredAt);

      const shown = await api.get(`/organizations/${org}/authentication-token`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.attributes.description, 'ci');
      assert.equal(shown.body.data.attributes['expired-at'], expiredAt);
      assert.equal(shown.body.data.attributes.token, null);

      assertStatus(await api.withToken(data.attributes.token).get(`/organizations/${org}`), 200);
    });

    it('is replaced by creating another: the old one is refused at once, the new one works', async () => {
      const first = await createToken(api, org);
      const oldClient = api.withToken(first.attributes.token);
      assertStatus(await oldClient.get(`/organizations/${org}`), 200);

      const second = await createToken(api, org);
      assert.notEqual(second.id, first.id);
      assert.notEqual(second.attributes.token, first.attributes.token);
      assertError(await oldClient.get(`/organizations/${org}`), 401, /invalid, expired or revoked/);
      assertStatus(await api.withToken(second.attributes.token).get(`/organizations/${org}`), 200);

      const shown = await api.get(`/organizations/${org}/authentication-token`);
      assert.equal(shown.body.data.id, second.id);
    });

    it('is deleted with 204 and then refused', async () => {
      const data = await createToken(api, org);
      const client = api.withToken(data.attributes.token);
      assertStatus(await client.get(`/organizations/${org}`), 200);
      assertStatus(await api.delete(`/organizations/${org}/authentication-token`), 204);
      assertError(await client.get(`/organizations/${org}`), 401, /invalid, expired or revoked/);
      assertError(await api.get(`/organizations/${org}/authentication-token`), 404, /has no authentication token/);
    });

    it('answers an expiry in the past with 422 and issues nothing', async () => {
      const res = await api.post(`/organizations/${org}/authentication-token`, {
        data: { type: 'authentication-token', attributes: { description: 'late', 'expired-at': new Date(Date.now() - 60_000).toISOString() } },
      });
      assertError(res, 422, /"expired-at" must be in the future/, { pointer: '/data/attributes/expired-at' });
      assertError(await api.get(`/organizations/${org}/authentication-token`), 404, /has no authentication token/);
    });

    it('answers an expiry in the past with 422 and keeps the existing token', async () => {
      const existing = await createToken(api, org, { data: { type: 'authentication-token', attributes: { description: 'keep' } } });
      const res = await api.post(`/organizations/${org}/authentication-token`, {
        data: { type: 'authentication-token', attributes: { 'expired-at': '2000-01-01T00:00:00Z' } },
      });
      assertError(res, 422, /"expired-at" must be in the future/, { pointer: '/data/attributes/expired-at' });
      const shown = await api.get(`/organizations/${org}/authentication-token`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.id, existing.id);
      assert.equal(shown.body.data.attributes.description, 'keep');
      assertStatus(await api.withToken(existing.attributes.token).get(`/organizations/${org}`), 200);
    });

    it('answers an expiry that is not a timestamp with 422', async () => {
      const res = await api.post(`/organizations/${org}/authentication-token`, {
        data: { type: 'authentication-token', attributes: { 'expired-at': 'tomorrow' } },
      });
      assertError(res, 422, /attribute "expired-at" must be .*timestamp/, { pointer: '/data/attributes/expired-at' });
      assertStatus(await api.get(`/organizations/${org}/authentication-token`), 404);
    });

    it('answers GET with 404 when the organization has no token', async () => {
      assertError(await api.get(`/organizations/${org}/authentication-token`), 404, new RegExp(`organization "${org}" has no authentication token`));
    });

    it('answers all token endpoints with 404 for an unknown organization', async () => {
      const name = randomName('missing');
      const notFound = new RegExp(`organization "${name}" not found`);
      assertError(await api.post(`/organizations/${name}/authentication-token`), 404, notFound);
      assertError(await api.get(`/organizations/${name}/authentication-token`), 404, notFound);
      assertError(await api.delete(`/organizations/${name}/authentication-token`), 404, notFound);
    });
  });

  describe('what an organization token may do', () => {
    let org: string;
    let other: string;
    let client: Api;
    before(async () => {
      org = await createOrganization(api);
      other = await createOrganization(api);
      client = api.withToken((await createToken(api, org)).attributes.token);
    });

    it('reads its own organization', async () => {
      const res = await client.get(`/organizations/${org}`);
      assertStatus(res, 200);
      assert.equal(res.body.data.id, org);
      // As in Terraform Cloud, it manages what is in the organization, not the organization itself.
      assert.equal(res.body.data.attributes.permissions['can-destroy'], false);
      assert.equal(res.body.data.attributes.permissions['can-update'], false);
      assert.equal(res.body.data.attributes.permissions['can-create-workspace'], true);
    });

    it('lists only its own organization', async () => {
      const res = await client.get('/organizations');
      assertStatus(res, 200);
      assert.deepEqual(
        res.body.data.map((o: Json) => o.id),
        [org],
      );
      assert.equal(res.body.meta.pagination['total-count'], 1);
    });

    it('gets 404, not 403, for another organization', async () => {
      const notFound = new RegExp(`organization "${other}" not found`);
      assertError(await client.get(`/organizations/${other}`), 404, notFound);
      assertError(await client.get(`/organizations/${other}/entitlement-set`), 404, notFound);
      assertError(await client.patch(`/organizations/${other}`, organizationDocument({ email: 'hijack@example.com' })), 404, notFound);
      assertError(await client.delete(`/organizations/${other}`), 404, notFound);
      assertError(await client.post(`/organizations/${other}/authentication-token`), 404, notFound);
      const read = await api.get(`/organizations/${other}`);
      assertStatus(read, 200);
      assert.equal(read.body.data.attributes.email, `${other}@example.com`);
    });

    it('cannot create organizations', async () => {
      const name = randomName();
      const res = await client.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }));
      assertError(res, 403, /only a user or the site administrator may create organizations/);
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('cannot delete its own organization: 403 naming the missing permission', async () => {
      const res = await client.delete(`/organizations/${org}`);
      assertError(res, 403, /an organization token may not delete the organization/);
      assertStatus(await api.get(`/organizations/${org}`), 200);
      assertStatus(await client.get(`/organizations/${org}`), 200);
    });

    it('cannot read, regenerate or delete its own token: 403, and the token keeps working', async () => {
      const own = await createToken(api, org, organizationDocument({ description: 'own' }, 'authentication-token'));
      const self = api.withToken(own.attributes.token);
      const refused = /an organization token may not manage the organization's token/;
      assertError(await self.get(`/organizations/${org}/authentication-token`), 403, refused);
      assertError(await self.post(`/organizations/${org}/authentication-token`), 403, refused);
      assertError(await self.delete(`/organizations/${org}/authentication-token`), 403, refused);
      assert.equal((await api.get(`/organizations/${org}/authentication-token`)).body.data.id, own.id);
      assertStatus(await self.get(`/organizations/${org}`), 200);
      assert.equal((await self.get(`/organizations/${org}`)).body.data.attributes.permissions['can-update-api-token'], false);
    });

    it('cannot change the owners team: its members, tokens or workspace access (403), nor mint team tokens', async () => {
      const token = api.withToken((await createToken(api, org)).attributes.token);
      const owners = (await api.get(`/organizations/${org}/teams?filter[names]=owners`)).body.data[0];
      const username = randomName('user');
      const user = await api.post('/admin/users', { data: { type: 'users', attributes: { username, email: `${username}@example.com` } } });
      assertStatus(user, 201);
      // The token may invite the user into the organization, but not into the owners team.
      assertError(
        await token.post(`/organizations/${org}/organization-memberships`, {
          data: { type: 'organization-memberships', attributes: { username }, relationships: { teams: { data: [{ type: 'teams', id: owners.id }] } } },
        }),
        403,
        /only owners may add members to the owners team/,
      );
      assertStatus(await token.post(`/organizations/${org}/organization-memberships`, { data: { type: 'organization-memberships', attributes: { username } } }), 201);
      assertError(await token.post(`/teams/${owners.id}/relationships/users`, { data: [{ type: 'users', id: user.body.data.id }] }), 403, /an organization token may not change the members of the owners team/);
      assertError(await token.patch(`/teams/${owners.id}`, { data: { type: 'teams', attributes: { visibility: 'organization' } } }), 403, /owners team/);
      const tokenDoc = { data: { type: 'authentication-tokens', attributes: { description: 'mine' } } };
      assertError(await token.post(`/teams/${owners.id}/authentication-tokens`, tokenDoc), 403, /an organization token may not manage team tokens/);
      assertError(await token.post(`/teams/${owners.id}/authentication-token`), 403, /an organization token may not manage team tokens/);
      const ws = await createWorkspace(api, org, randomName('ws'));
      assertError(
        await token.post('/team-workspaces', {
          data: {
            type: 'team-workspaces',
            attributes: { access: 'read' },
            relationships: { team: { data: { type: 'teams', id: owners.id } }, workspace: { data: { type: 'workspaces', id: ws.id } } },
          },
        }),
        403,
        /an organization token may not change the workspace access of the owners team/,
      );
      // A team token may queue runs, which the organization token may not: it mints none, for any team.
      const team = await token.post(`/organizations/${org}/teams`, { data: { type: 'teams', attributes: { name: randomName('team'), 'organization-access': { 'manage-workspaces': true } } } });
      assertStatus(team, 201);
      assertError(await token.post(`/teams/${team.body.data.id}/authentication-tokens`, tokenDoc), 403, /an organization token may not manage team tokens/);
      const members = await api.get(`/teams/${owners.id}?include=users`);
      assert.ok(!JSON.stringify(members.body.data.relationships.users).includes(user.body.data.id), 'the user is not an owner');
    });
  });

  describe('the site token', () => {
    it('sees every organization', async () => {
      const prefix = randomName('site');
      const a = await createOrganization(api, `${prefix}-a`);
      const b = await createOrganization(api, `${prefix}-b`);
      const tokenOrg = await createOrganization(api, `${prefix}-c`);
      await createToken(api, tokenOrg);
      const res = await api.get(`/organizations?q=${prefix}`);
      assertStatus(res, 200);
      assert.deepEqual(
        res.body.data.map((o: Json) => o.id),
        [a, b, tokenOrg],
      );
      for (const name of [a, b, tokenOrg]) assertStatus(await api.get(`/organizations/${name}`), 200);
    });
  });

  describe('default project', () => {
    it('is the default-project relationship of the organization, in every answer', async () => {
      const name = randomName();
      const created = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com` }));
      assertStatus(created, 201);
      const projects = await api.get(`/organizations/${name}/projects`);
      assertStatus(projects, 200);
      const defaultProject = projects.body.data.find((p: Json) => p.attributes['is-default']);
      assert.ok(defaultProject, 'the organization has a default project');
      const expected = { data: { type: 'projects', id: defaultProject.id } };
      assert.deepEqual(created.body.data.relationships['default-project'], expected);
      assert.deepEqual((await api.get(`/organizations/${name}`)).body.data.relationships['default-project'], expected);
      const listed = (await api.get(`/organizations?q=${name}`)).body.data.find((o: Json) => o.id === name);
      assert.deepEqual(listed.relationships['default-project'], expected);
    });

    it('comes with the organization with include=default_project; unknown includes are ignored', async () => {
      const name = await createOrganization(api);
      const res = await api.get(`/organizations/${name}?include=default_project,nonsense`);
      assertStatus(res, 200);
      assert.equal(res.body.included.length, 1);
      const project = res.body.included[0];
      assert.equal(project.type, 'projects');
      assert.equal(project.id, res.body.data.relationships['default-project'].data.id);
      assert.equal(project.attributes.name, 'Default Project');
      assert.equal(project.attributes['is-default'], true);
      assert.equal((await api.get(`/organizations/${name}`)).body.included, undefined);
      const listed = await api.get(`/organizations?q=${name}&include=default-project`);
      assert.deepEqual(listed.body.included.map((p: Json) => p.id), [project.id]);
    });
  });

  describe('cost estimation', () => {
    it('is not faked: a creation asking for it makes the organization without it, and the answer says false', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com`, 'cost-estimation-enabled': true }));
      assertStatus(res, 201);
      assert.equal(res.body.data.attributes['cost-estimation-enabled'], false);
      assert.equal((await api.get(`/organizations/${name}`)).body.data.attributes['cost-estimation-enabled'], false);
    });

    it('cannot be turned on: 422 saying it is not supported, and nothing changes', async () => {
      const name = await createOrganization(api);
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ 'cost-estimation-enabled': true, email: 'other@example.com' }));
      assertError(res, 422, /cost estimation is not supported/, { pointer: '/data/attributes/cost-estimation-enabled' });
      const read = await api.get(`/organizations/${name}`);
      assert.equal(read.body.data.attributes['cost-estimation-enabled'], false);
      assert.equal(read.body.data.attributes.email, `${name}@example.com`);
      assertStatus(await api.patch(`/organizations/${name}`, organizationDocument({ 'cost-estimation-enabled': false })), 200);
    });
  });

  describe('VCS settings of an organization', () => {
    it('take send-passing-statuses-for-untriggered-speculative-plans as false only: this server has no VCS integration', async () => {
      const name = await createOrganization(api);
      const res = await api.patch(`/organizations/${name}`, organizationDocument({ 'send-passing-statuses-for-untriggered-speculative-plans': false }));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes['send-passing-statuses-for-untriggered-speculative-plans'], false);
      assertError(
        await api.patch(`/organizations/${name}`, organizationDocument({ 'send-passing-statuses-for-untriggered-speculative-plans': true })),
        422,
        /can only be false: this server has no VCS integration/,
        { pointer: '/data/attributes/send-passing-statuses-for-untriggered-speculative-plans' },
      );
    });
  });

  describe('default execution mode "agent" with a default agent pool', () => {
    async function createPool(org: string, attributes: Record<string, unknown> = {}): Promise<string> {
      const res = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool'), ...attributes } } });
      assertStatus(res, 201);
      return res.body.data.id;
    }
    function agentDefaults(pool: string | null, mode = 'agent'): Json {
      return { data: { type: 'organizations', attributes: { 'default-execution-mode': mode }, relationships: { 'default-agent-pool': { data: pool && { type: 'agent-pools', id: pool } } } } };
    }

    it('runs new workspaces without a mode of their own on the pool; a workspace with its own mode keeps it', async () => {
      const org = await createOrganization(api);
      const pool = await createPool(org);
      const res = await api.patch(`/organizations/${org}`, agentDefaults(pool));
      assertStatus(res, 200);
      assert.equal(res.body.data.attributes['default-execution-mode'], 'agent');
      assert.deepEqual(res.body.data.relationships['default-agent-pool'], { data: { type: 'agent-pools', id: pool } });
      assert.deepEqual((await api.get(`/organizations/${org}`)).body.data.relationships['default-agent-pool'], { data: { type: 'agent-pools', id: pool } });

      const ws = await createWorkspace(api, org);
      assert.equal(ws.attributes['execution-mode'], 'agent');
      assert.equal(ws.relationships['agent-pool'].data.id, pool);
      const local = await createWorkspace(api, org, randomName('ws'), { 'execution-mode': 'local' });
      assert.equal(local.attributes['execution-mode'], 'local');
    });

    it('drops the pool when the mode changes back to remote or local', async () => {
      const org = await createOrganization(api);
      const pool = await createPool(org);
      assertStatus(await api.patch(`/organizations/${org}`, agentDefaults(pool)), 200);
      const remote = await api.patch(`/organizations/${org}`, organizationDocument({ 'default-execution-mode': 'remote' }));
      assertStatus(remote, 200);
      assert.equal(remote.body.data.attributes['default-execution-mode'], 'remote');
      assert.deepEqual(remote.body.data.relationships['default-agent-pool'], { data: null });
      assert.equal((await createWorkspace(api, org)).attributes['execution-mode'], 'remote');
    });

    it('refuses a pool without mode "agent", mode "agent" without a pool, and a pool of another organization (422)', async () => {
      const org = await createOrganization(api);
      const pool = await createPool(org);
      const otherPool = await createPool(await createOrganization(api));
      assertError(await api.patch(`/organizations/${org}`, agentDefaults(pool, 'remote')), 422, /Default agent pool must not be specified unless using 'agent' execution mode/);
      assertError(await api.patch(`/organizations/${org}`, agentDefaults(null)), 422, /needs a default agent pool/, { pointer: '/data/relationships/default-agent-pool' });
      assertError(await api.patch(`/organizations/${org}`, organizationDocument({ 'default-execution-mode': 'agent' })), 422, /needs a default agent pool/);
      assertError(await api.patch(`/organizations/${org}`, agentDefaults(otherPool)), 422, new RegExp(`agent pool "${otherPool}" does not exist in this organization`));
      assertError(await api.patch(`/organizations/${org}`, agentDefaults('apool-nonexistent0000')), 422, /does not exist in this organization/);
      assert.equal((await api.get(`/organizations/${org}`)).body.data.attributes['default-execution-mode'], 'remote');
    });

    it('refuses a pool that is not organization-scoped, and a malformed relationship', async () => {
      const org = await createOrganization(api);
      const scoped = await createPool(org, { 'organization-scoped': false });
      assertError(await api.patch(`/organizations/${org}`, agentDefaults(scoped)), 422, /is not organization-scoped/);
      const wrongType = { data: { type: 'organizations', attributes: { 'default-execution-mode': 'agent' }, relationships: { 'default-agent-pool': { data: { type: 'workspaces', id: scoped } } } } };
      assertStatus(await api.patch(`/organizations/${org}`, wrongType), 422);
      const nul = { data: { type: 'organizations', relationships: { 'default-agent-pool': { data: { type: 'agent-pools', id: 'apool-\u0000' } } } } };
      assert.ok([400, 422].includes((await api.patch(`/organizations/${org}`, nul)).status));
    });

    it('refuses mode "agent" on creation: the organization has no pool yet', async () => {
      const name = randomName();
      const res = await api.post('/organizations', organizationDocument({ name, email: `${name}@example.com`, 'default-execution-mode': 'agent' }));
      assertError(res, 422, /has no agent pools yet/);
      assertStatus(await api.get(`/organizations/${name}`), 404);
    });

    it('keeps the default pool from being deleted or narrowed (409), and lets the organization go with it', async () => {
      const org = await createOrganization(api);
      const pool = await createPool(org);
      assertStatus(await api.patch(`/organizations/${org}`, agentDefaults(pool)), 200);
      assertError(await api.delete(`/agent-pools/${pool}`), 409, /is the default agent pool of organization/);
      const narrowed = { data: { type: 'agent-pools', attributes: { 'organization-scoped': false } } };
      assertError(await api.patch(`/agent-pools/${pool}`, narrowed), 409, /must stay organization-scoped/);
      assertStatus(await api.delete(`/organizations/${org}`), 204);
      assertStatus(await api.get(`/agent-pools/${pool}`), 404);
    });
  });

  describe('feature sets and subscriptions (a server without billing)', () => {
    function subscription(featureSet: string): Json {
      return {
        data: {
          type: 'subscription',
          attributes: { 'runs-ceiling': 10, 'contract-start-at': new Date().toISOString(), 'contract-user-limit': 1000, 'contract-apply-limit': 5000 },
          relationships: { 'feature-set': { data: { type: 'feature-sets', id: featureSet } } },
        },
      };
    }

    it('lists one feature set, whatever is searched, holding what this server does', async () => {
      const res = await api.get('/admin/feature-sets?q=Business');
      assertStatus(res, 200);
      assert.equal(res.body.data.length, 1);
      assert.equal(res.body.data[0].type, 'feature-sets');
      assert.equal(res.body.data[0].attributes.agents, true);
      assert.equal(res.body.data[0].attributes.sentinel, false);
      assert.equal(res.body.meta.pagination['total-count'], 1);
    });

    it('answers a subscription to it as a subscription that changes nothing', async () => {
      const org = await createOrganization(api);
      const fs = (await api.get('/admin/feature-sets')).body.data[0].id;
      const res = await api.post(`/admin/organizations/${org}/subscription`, subscription(fs));
      assertStatus(res, 201);
      assert.equal(res.body.data.type, 'subscriptions');
      assert.deepEqual(res.body.data.relationships['feature-set'].data, { type: 'feature-sets', id: fs });
      const shown = await api.get(`/organizations/${org}/subscription`);
      assertStatus(shown, 200);
      assert.equal(shown.body.data.attributes['is-active'], true);
      assert.equal((await api.get(`/organizations/${org}/entitlement-set`)).body.data.attributes.sentinel, false);
    });

    it('refuses an unknown feature set (422), an unknown organization (404) and bad bodies (4xx)', async () => {
      const org = await createOrganization(api);
      assertError(await api.post(`/admin/organizations/${org}/subscription`, subscription('fs-business')), 422, /feature set "fs-business" does not exist/);
      const fs = (await api.get('/admin/feature-sets')).body.data[0].id;
      assertError(await api.post(`/admin/organizations/${randomName('missing')}/subscription`, subscription(fs)), 404, /not found/);
      assertStatus(await api.post(`/admin/organizations/${org}/subscription`, { data: { type: 'subscription' } }), 422);
      assertStatus(await api.request('POST', `/admin/organizations/${org}/subscription`, { raw: '{"data":' }), 400);
      const big = subscription(fs);
      big.data.attributes['runs-ceiling'] = 'x'.repeat(10);
      assertStatus(await api.post(`/admin/organizations/${org}/subscription`, big), 422);
    });

    it('is for site administrators only: an owner gets 403 on both admin routes', async () => {
      const user = await createUser(api);
      const name = randomName();
      assertStatus(await user.client.post('/organizations', organizationDocument({ name, email: `${name}@example.com` })), 201);
      assertError(await user.client.get('/admin/feature-sets'), 403, /only a site administrator/);
      assertError(await user.client.post(`/admin/organizations/${name}/subscription`, subscription('fs-otf-ts')), 403, /only a site administrator/);
      assertStatus(await user.client.get(`/organizations/${name}/subscription`), 200);
      assertStatus(await api.withToken(null).get('/admin/feature-sets'), 401);
    });
  });

  describe('organization token requests as go-tfe sends them', () => {
    it('accepts the empty type', async () => {
      const org = await createOrganization(api);
      const data = await createToken(api, org, { data: { type: '', attributes: { 'expired-at': futureIso() } } });
      assert.equal(data.type, 'authentication-tokens');
      assert.equal(typeof data.attributes.token, 'string');
      assertStatus(await api.post(`/organizations/${org}/authentication-token`, { data: { type: 'users' } }), 422);
    });
  });
});
