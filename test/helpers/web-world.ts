// One organization with something on every page of the web UI, made through the API as users
// make it: workspaces (one with a finished run, its state, variables and a comment), a variable
// set, a team, an agent pool with an agent token, a VCS provider, tokens. The accessibility and
// escaping tests visit every page of it; `text` decides what users typed into the free-text fields
// (plain words for screenshots, markup for the escaping test).
import type { Json } from './api.js';
import { addToOrganization, createTeam, createUser, type TestUser } from './people.js';
import { createOrganization, createWorkspace, randomName, type TestServer } from './server.js';
import { configTarball, uploadTarball } from './tarball.js';
import { until } from './wait.js';

export interface WebWorld {
  org: string;
  /** The workspace with a finished (applied) run, state, variables and a comment. */
  workspace: { id: string; name: string };
  run: { id: string };
  /** A workspace with nothing in it yet. */
  empty: { id: string; name: string };
  teamId: string;
  /** The workspace variable with a free-text description. */
  variableId: string;
  poolId: string;
  varsetId: string;
  vcsProviderId: string;
  user: TestUser;
  /** The free-text fields whose value `text` gave were accepted by the API (the rest got plain words). */
  carried: string[];
}

/** What a user typed into a free-text field called `field`. */
export type TextOf = (field: string) => string;

/** Plain words that every field accepts, even those restricted to names (letters, digits, "-"). */
export const plainText: TextOf = (field) => `the-${field.replace(/[^A-Za-z0-9]+/g, '-')}`;

function ok(res: { status: number; text: string }, what: string, status = 201): Json {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 500)}`);
  return (res as { body?: Json }).body;
}

/** A configuration whose output, resource input and a local-exec line print `line`, and a line in ANSI colours. */
function configWith(line: string): string {
  const quoted = JSON.stringify(line);
  return `resource "terraform_data" "x" {
  input = ${quoted}
  provisioner "local-exec" {
    command = "printf '%s\\\\n' \\"$LINE\\"; printf '\\\\033[32mcoloured\\\\033[0m \\\\033[1;31mlike terraform\\\\033[0m\\\\n'"
    environment = { LINE = ${quoted} }
  }
}

output "x" {
  value = terraform_data.x.output
}
`;
}

export async function seedWebWorld(server: TestServer, text: TextOf = plainText): Promise<WebWorld> {
  const api = server.api;
  const carried: string[] = [];
  /** Tries the field's text; an API that refuses it (422) gets plain words instead. */
  async function withText(field: string, attempt: (value: string) => Promise<{ status: number; text: string }>, status = 201): Promise<Json> {
    const value = text(field);
    const first = await attempt(value);
    if (first.status === status) {
      if (value !== plainText(field)) carried.push(field);
      return (first as { body?: Json }).body;
    }
    if (first.status !== 422 && first.status !== 400) throw new Error(`${field}: ${first.status} ${first.text.slice(0, 500)}`);
    return ok(await attempt(plainText(field)), field, status);
  }

  const org = await createOrganization(api);
  const user = await createUser(api);
  const ws = await createWorkspace(api, org, randomName('ws'), { 'auto-apply': true });
  await withText('workspace description', (v) => api.patch(`/workspaces/${ws.id}`, { data: { type: 'workspaces', attributes: { description: v } } }), 200);
  await withText('workspace tag', (v) => api.post(`/workspaces/${ws.id}/relationships/tags`, { data: [{ type: 'tags', attributes: { name: v } }] }), 204);
  const empty = await createWorkspace(api, org, randomName('ws'));

  await withText('variable key', (v) => api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key: v, value: 'v', category: 'env', description: 'an env variable' } } }));
  const variable = await withText('variable description', (v) => api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key: 'greeting', value: 'hello', category: 'terraform', description: v } } }));
  ok(await api.post(`/workspaces/${ws.id}/vars`, { data: { type: 'vars', attributes: { key: 'secret', value: 'hidden-value', category: 'env', sensitive: true } } }), 'sensitive variable');

  const varset = await withText('variable set name', (v) =>
    api.post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: v, description: text('variable set description'), global: true } } }),
  );
  if (text('variable set description') !== plainText('variable set description') && varset.data.attributes.description === text('variable set description')) carried.push('variable set description');
  await withText('variable set variable description', (v) =>
    api.post(`/varsets/${varset.data.id}/relationships/vars`, { data: { type: 'vars', attributes: { key: 'from_set', value: 'x', category: 'env', description: v } } }),
  );

  const team = await createTeam(api, org, { 'manage-workspaces': true });
  await addToOrganization(api, org, user, [team.id]);
  ok(
    await api.post('/team-workspaces', {
      data: { type: 'team-workspaces', attributes: { access: 'write' }, relationships: { team: { data: { type: 'teams', id: team.id } }, workspace: { data: { type: 'workspaces', id: ws.id } } } },
    }),
    'team access',
  );
  await withText('team token description', (v) => api.post(`/teams/${team.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: v } } }));
  await withText('user token description', (v) => api.post(`/users/${user.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: v } } }));
  await withText('organization token description', (v) => api.post(`/organizations/${org}/authentication-token`, { data: { type: 'authentication-token', attributes: { description: v } } }));

  const pool = ok(await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool'), 'organization-scoped': true } } }), 'pool');
  await withText('agent token description', (v) => api.post(`/agent-pools/${pool.data.id}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: v } } }));

  const vcs = await withText('VCS provider name', (v) =>
    api.post(`/organizations/${org}/oauth-clients`, { data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', name: v, 'oauth-token-string': 'not-a-real-token' } } }),
  );

  // A run that plans and applies for real (auto-apply), printing the text in its logs.
  const cv = ok(await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } }), 'configuration version');
  ok(await uploadTarball(api, cv.data, configTarball({ 'main.tf': configWith(text('log line')) })), 'upload', 200);
  if (text('log line') !== plainText('log line')) carried.push('log line');
  const run = await withText('run message', (v) =>
    api.post('/runs', { data: { type: 'runs', attributes: { message: v }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } }),
  );
  const final = await until(
    'the run to finish',
    () => api.get(`/runs/${run.data.id}`),
    (r) => ['applied', 'errored', 'canceled', 'discarded'].includes(r.body?.data?.attributes?.status),
    120_000,
    250,
  );
  if (final.body.data.attributes.status !== 'applied') throw new Error(`the seeded run ended ${final.body.data.attributes.status}`);
  await withText('comment', (v) => api.post(`/runs/${run.data.id}/comments`, { data: { type: 'comments', attributes: { body: v } } }));

  return {
    org,
    workspace: { id: ws.id, name: ws.attributes.name },
    run: { id: run.data.id },
    empty: { id: empty.id, name: empty.attributes.name },
    teamId: team.id,
    variableId: variable.data.id,
    poolId: pool.data.id,
    varsetId: varset.data.id,
    vcsProviderId: vcs.data.id,
    user,
    carried,
  };
}

/** The page `terraform login` opens in the browser, with the CLI's parameters. */
export function terraformLoginPath(state: string): string {
  const q = new URLSearchParams({
    client_id: 'terraform-cli',
    response_type: 'code',
    redirect_uri: 'http://localhost:10000/login',
    code_challenge_method: 'S256',
    code_challenge: 'A'.repeat(43),
    state,
  });
  return `/app/oauth/authorize?${q.toString()}`;
}

export interface WebPage {
  name: string;
  path: string;
  /** A main page: screenshotted for review. */
  main?: boolean;
  /** The free-text fields of the world the page shows (the escaping test finds their text on it). */
  shows?: string[];
}

/**
 * Every page of the web UI for a signed-in site admin, with the world's ids. A page joins this
 * list when it is built: the tests visit all of them.
 */
export function pagesOf(w: WebWorld): WebPage[] {
  const ws = `/app/${w.org}/workspaces/${w.workspace.name}`;
  return [
    { name: 'organizations', path: '/app/organizations', main: true },
    { name: 'organization', path: `/app/${w.org}` },
    { name: 'workspaces', path: `/app/${w.org}/workspaces`, main: true },
    { name: 'workspaces-searched', path: `/app/${w.org}/workspaces?search=ws` },
    { name: 'workspace', path: `${ws}`, main: true, shows: ['workspace description'] },
    { name: 'workspace-empty', path: `/app/${w.org}/workspaces/${w.empty.name}` },
    { name: 'runs', path: `${ws}/runs`, main: true, shows: ['run message'] },
    { name: 'run', path: `${ws}/runs/${w.run.id}`, main: true, shows: ['run message', 'comment', 'log line'] },
    { name: 'run (the CLI link)', path: `/app/${w.org}/${w.workspace.name}/runs/${w.run.id}` },
    { name: 'variables', path: `${ws}/variables`, main: true, shows: ['variable description', 'variable set description'] },
    { name: 'variable-edit', path: `${ws}/variables/${w.variableId}/edit`, shows: ['variable description'] },
    { name: 'states', path: `${ws}/states`, main: true },
    { name: 'settings', path: `${ws}/settings`, main: true, shows: ['workspace description'] },
    { name: 'settings-execution', path: `${ws}/settings/execution` },
    { name: 'settings-vcs', path: `${ws}/settings/vcs`, shows: ['VCS provider name'] },
    { name: 'settings-run-triggers', path: `${ws}/settings/run-triggers` },
    { name: 'settings-team-access', path: `${ws}/settings/team-access` },
    { name: 'settings-ssh-key', path: `${ws}/settings/ssh-key` },
    { name: 'settings-delete', path: `${ws}/settings/delete` },
    { name: 'agent-pools', path: `/app/${w.org}/agent-pools`, main: true },
    { name: 'agent-pool', path: `/app/${w.org}/agent-pools/${w.poolId}`, main: true, shows: ['agent token description'] },
    { name: 'teams', path: `/app/${w.org}/teams`, main: true },
    { name: 'team', path: `/app/${w.org}/teams/${w.teamId}`, main: true },
    { name: 'varsets', path: `/app/${w.org}/varsets`, main: true, shows: ['variable set description'] },
    { name: 'varset', path: `/app/${w.org}/varsets/${w.varsetId}`, main: true, shows: ['variable set description', 'variable set variable description'] },
    { name: 'vcs-providers', path: `/app/${w.org}/vcs-providers`, main: true, shows: ['VCS provider name'] },
    { name: 'organization-settings', path: `/app/${w.org}/settings`, main: true, shows: ['organization token description'] },
    { name: 'admin-users', path: '/app/admin/users', main: true },
    { name: 'admin-user', path: `/app/admin/users/${w.user.id}`, main: true, shows: ['user token description'] },
    { name: 'profile-tokens', path: '/app/profile/tokens', main: true },
    { name: 'terraform-login', path: terraformLoginPath('state-1'), main: true },
    { name: 'not-found', path: `/app/${w.org}/no-such-page` },
  ];
}
