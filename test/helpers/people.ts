// Users, teams and their tokens, made through the API by the site administrator, for tests that
// act as somebody in particular.
import type { Api, Json } from './api.js';
import { randomName } from './server.js';

function expect(res: { status: number; text: string }, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text}`);
}

export interface TestUser {
  id: string;
  username: string;
  token: string;
  /** A client holding the user's token. */
  client: Api;
}

/** A new user with a token of its own (the site administrator hands out the first one). */
export async function createUser(admin: Api, username = randomName('user')): Promise<TestUser> {
  const res = await admin.post('/admin/users', { data: { type: 'users', attributes: { username, email: `${username}@example.com` } } });
  expect(res, 201, `creating user ${username}`);
  const id: string = res.body.data.id;
  const token = await admin.post(`/users/${id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'tests' } } });
  expect(token, 201, `creating a token for ${username}`);
  return { id, username, token: token.body.data.attributes.token, client: admin.withToken(token.body.data.attributes.token) };
}

/** Makes the user a member of the organization, and of the teams given. */
export async function addToOrganization(api: Api, org: string, user: TestUser, teamIds: string[] = []): Promise<Json> {
  const res = await api.post(`/organizations/${org}/organization-memberships`, {
    data: {
      type: 'organization-memberships',
      attributes: { username: user.username },
      relationships: { teams: { data: teamIds.map((id) => ({ type: 'teams', id })) } },
    },
  });
  expect(res, 201, `adding ${user.username} to ${org}`);
  return res.body.data;
}

export async function createTeam(api: Api, org: string, organizationAccess: Record<string, boolean> = {}, name = randomName('team')): Promise<Json> {
  const res = await api.post(`/organizations/${org}/teams`, { data: { type: 'teams', attributes: { name, 'organization-access': organizationAccess } } });
  expect(res, 201, `creating team ${name}`);
  return res.body.data;
}

/** The organization's owners team. */
export async function ownersTeam(api: Api, org: string): Promise<Json> {
  const res = await api.get(`/organizations/${org}/teams?filter[names]=owners`);
  expect(res, 200, `reading the owners team of ${org}`);
  return res.body.data[0];
}

/** Gives the team an access level (or custom permissions) to the workspace. */
export async function grant(api: Api, teamId: string, workspaceId: string, access: string, custom: Record<string, unknown> = {}): Promise<Json> {
  const res = await api.post('/team-workspaces', {
    data: {
      type: 'team-workspaces',
      attributes: { access, ...custom },
      relationships: { team: { data: { type: 'teams', id: teamId } }, workspace: { data: { type: 'workspaces', id: workspaceId } } },
    },
  });
  expect(res, 201, `granting ${access} on ${workspaceId} to ${teamId}`);
  return res.body.data;
}

/** A named token of the team. */
export async function teamToken(api: Api, teamId: string, description = randomName('token')): Promise<string> {
  const res = await api.post(`/teams/${teamId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description } } });
  expect(res, 201, `creating a token for team ${teamId}`);
  return res.body.data.attributes.token;
}

/** A user in a new team of the organization, holding the access given on the workspace. */
export async function userWithAccess(admin: Api, org: string, workspaceIds: string[], access: string): Promise<TestUser & { teamId: string }> {
  const team = await createTeam(admin, org);
  for (const ws of workspaceIds) await grant(admin, team.id, ws, access);
  const user = await createUser(admin);
  await addToOrganization(admin, org, user, [team.id]);
  return { ...user, teamId: team.id };
}

/** A client holding a fresh organization token of org. */
export async function organizationToken(api: Api, org: string, description?: string): Promise<Api> {
  const res = await api.post(`/organizations/${org}/authentication-token`, {
    data: { type: 'authentication-token', attributes: description === undefined ? {} : { description } },
  });
  expect(res, 201, `creating an organization token of ${org}`);
  const token = res.body.data.attributes.token;
  if (typeof token !== 'string') throw new Error(`the organization token of ${org} is not a string: ${res.text}`);
  return api.withToken(token);
}
