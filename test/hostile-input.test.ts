// Requests an attacker or a broken client sends, generated from tables across every route family:
// malformed and wrong-typed JSON, oversized and deeply nested bodies, NUL bytes and invalid UTF-8 in
// the path, the query and the body, other organizations' ids, huge page sizes, negative page
// numbers, unknown include= values, thousands of tags, wrong content types and bad tokens. Each
// must be refused (never a 5xx) within 2 s, and afterwards every list reads as it did before.
// Then the bounds that have their own answers: a gzip stream running on past its tar, the limit on
// failed authentication, and the headers every answer carries.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { Api } from './helpers/api.js';
import { assertError, assertStatus } from './helpers/assert.js';
import { fixture, fixtureFiles } from './helpers/fixtures.js';
import { createTeam, organizationToken } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, rawRequest, tarArchive, type RawResponse } from './helpers/tarball.js';

/** The behaviour bound the issue sets for any answer. */
const ANSWER_WITHIN_MS = 2000;

interface Case {
  name: string;
  method: string;
  /** A path under /api/v2, or an absolute one (/api/agent/..., /_signed/...). */
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Whose token: the victim organization's owner (site token), the other organization's, an agent's, none. */
  as: 'site' | 'other' | 'agent' | 'none' | 'raw';
  /** The exact status, where the case has one; otherwise any 4xx. */
  expect?: number;
}

function absolute(path: string): string {
  return path.startsWith('/api/') || path.startsWith('/_signed/') ? path : `/api/v2${path}`;
}

describe('hostile input', function () {
  this.timeout(240_000);
  let server: TestServer;
  let api: Api;
  let other: Api;
  let agentToken: string;
  const ids: Record<string, string> = {};
  let org: string;
  let otherOrg: string;

  before(async () => {
    // Failed authentication is limited per address; the sweep sends bad tokens on purpose, and the
    // limit has its own test below on a server of its own.
    server = await startServer({ ssl: true, config: { authFailureLimit: 0, maxConfigSize: 10 * 1024 * 1024 } });
    api = server.api;
    org = await createOrganization(api);
    otherOrg = await createOrganization(api);
    other = await organizationToken(api, otherOrg);
    const ws = await createWorkspace(api, org, undefined, { description: 'the victim' });
    ids.ws = ws.id;
    ids.otherWs = (await createWorkspace(api, otherOrg)).id;
    const v = await api.post(`/workspaces/${ids.ws}/vars`, { data: { type: 'vars', attributes: { key: 'secret', value: 's3cr3t', category: 'terraform', sensitive: true } } });
    assertStatus(v, 201);
    ids.var = v.body.data.id;
    ids.team = (await createTeam(api, org)).id;
    const project = await api.post(`/organizations/${org}/projects`, { data: { type: 'projects', attributes: { name: 'victim-project' } } });
    assertStatus(project, 201);
    ids.project = project.body.data.id;
    const varset = await api.post(`/organizations/${org}/varsets`, { data: { type: 'varsets', attributes: { name: 'victim-set', global: false } } });
    assertStatus(varset, 201);
    ids.varset = varset.body.data.id;
    const setVar = await api.post(`/varsets/${ids.varset}/relationships/vars`, { data: { type: 'vars', attributes: { key: 'k', value: 's3cr3t', category: 'env', sensitive: true } } });
    assertStatus(setVar, 201);
    ids.setVar = setVar.body.data.id;
    assertStatus(await api.post(`/varsets/${ids.varset}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ids.ws }] }), 204);
    const teamProject = await api.post('/team-projects', {
      data: {
        type: 'team-projects',
        attributes: { access: 'read' },
        relationships: { team: { data: { type: 'teams', id: ids.team } }, project: { data: { type: 'projects', id: ids.project } } },
      },
    });
    assertStatus(teamProject, 201);
    ids.teamProject = teamProject.body.data.id;
    const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: 'victim-pool' } } });
    assertStatus(pool, 201);
    ids.pool = pool.body.data.id;
    const token = await api.post(`/agent-pools/${ids.pool}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'victim' } } });
    assertStatus(token, 201);
    ids.poolToken = token.body.data.id;
    agentToken = token.body.data.attributes.token;
    const cv = await api.post(`/workspaces/${ids.ws}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    ids.cv = cv.body.data.id;
    ids.uploadUrl = cv.body.data.attributes['upload-url'];
    const account = await api.get('/organizations/' + org + '/organization-memberships');
    assertStatus(account, 200);
    ids.membership = account.body.data[0]?.id ?? 'ou-none';
    const key = await api.post(`/organizations/${org}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: 'victim-key', value: 'victim' } } });
    assertStatus(key, 201);
    ids.sshKey = key.body.data.id;
    const oauthClient = await api.post(`/organizations/${org}/oauth-clients`, { data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', 'oauth-token-string': 'victim' } } });
    assertStatus(oauthClient, 201);
    ids.oauthClient = oauthClient.body.data.id;
    ids.oauthToken = oauthClient.body.data.relationships['oauth-tokens'].data[0].id;
  });

  after(async () => {
    await server?.stop();
  });

  /** Every list an attacker could hope to change, read with the site token. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const paths = [
      '/organizations',
      `/organizations/${org}`,
      `/organizations/${org}/workspaces`,
      `/organizations/${org}/teams`,
      `/organizations/${org}/projects`,
      `/organizations/${org}/agent-pools`,
      `/organizations/${org}/organization-memberships`,
      `/organizations/${org}/tags`,
      `/organizations/${org}/runs`,
      `/organizations/${org}/ssh-keys`,
      `/organizations/${org}/oauth-clients`,
      `/oauth-clients/${ids.oauthClient}/oauth-tokens`,
      `/organizations/${org}/varsets`,
      `/varsets/${ids.varset}/relationships/vars`,
      `/organizations/${otherOrg}/workspaces`,
      `/workspaces/${ids.ws}`,
      `/workspaces/${ids.ws}/vars`,
      `/workspaces/${ids.ws}/run-triggers?filter[run-trigger][type]=inbound`,
      `/workspaces/${ids.otherWs}/run-triggers?filter[run-trigger][type]=inbound`,
      `/workspaces/${ids.ws}/runs`,
      `/workspaces/${ids.ws}/configuration-versions`,
      `/workspaces/${ids.ws}/state-versions`,
      `/agent-pools/${ids.pool}/authentication-tokens`,
      `/agent-pools/${ids.pool}/agents`,
      `/teams/${ids.team}`,
      `/team-workspaces?filter[workspace][id]=${ids.ws}`,
      `/team-projects?filter[project][id]=${ids.project}`,
      '/admin/users',
    ];
    const out: Record<string, unknown> = {};
    for (const p of paths) {
      const res = await api.get(p);
      // A token's last use and a signed URL's expiry move with every request; nothing else may.
      const data = JSON.parse(JSON.stringify(res.body?.data ?? null, (k, v) => (k === 'last-used-at' || k === 'upload-url' ? undefined : v)));
      out[p] = { status: res.status, data };
    }
    return out;
  }

  // ------------------------------------------------------------ the tables

  const GET_ROUTES = [
    // organizations
    '/organizations/:org', '/organizations/:org/capacity', '/organizations/:org/entitlement-set', '/organizations/:org/runs/queue',
    '/organizations/:org/authentication-token', '/organizations/:org/tags', '/organizations/:org/subscription',
    // workspaces
    '/organizations/:org/workspaces/:id', '/workspaces/:id', '/workspaces/:id/relationships/tags', '/workspaces/:id/tag-bindings',
    '/workspaces/:id/relationships/remote-state-consumers', '/workspaces/:id/run-triggers?filter[run-trigger][type]=inbound', '/run-triggers/:id',
    // runs, plans, applies
    '/runs/:id', '/runs/:id/plan', '/runs/:id/apply', '/runs/:id/run-events', '/runs/:id/task-stages', '/plans/:id', '/plans/:id/json-output',
    '/applies/:id', '/workspaces/:id/runs',
    // comments, run events, workspace resources
    '/runs/:id/comments', '/comments/:id', '/run-events/:id', '/workspaces/:id/resources',
    // configuration versions
    '/configuration-versions/:id', '/configuration-versions/:id/download', '/workspaces/:id/configuration-versions', '/runs/:id/configuration-version/download',
    '/configuration-versions/:id/ingress-attributes',
    // state versions
    '/state-versions/:id', '/state-versions/:id/download', '/state-versions/:id/json-download', '/state-versions/:id/outputs', '/state-version-outputs/:id',
    '/workspaces/:id/current-state-version', '/workspaces/:id/current-state-version-outputs', '/workspaces/:id/state-versions',
    // variables
    '/workspaces/:id/vars',
    // teams, users, memberships, tokens
    '/teams/:id', '/teams/:id/authentication-token', '/teams/:id/authentication-tokens', '/team-workspaces/:id', '/team-projects/:id', '/users/:id',
    '/users/:id/authentication-tokens', '/authentication-tokens/:id', '/organization-memberships/:id',
    // agent pools
    '/agent-pools/:id', '/agent-pools/:id/agents', '/agent-pools/:id/authentication-tokens', '/agents/:id',
    // projects
    '/projects/:id',
    // SSH keys
    '/organizations/:org/ssh-keys', '/ssh-keys/:id',
    // VCS providers
    '/organizations/:org/oauth-clients', '/oauth-clients/:id', '/oauth-clients/:id/oauth-tokens', '/organizations/:org/oauth-tokens', '/oauth-tokens/:id',
    // variable sets
    '/varsets/:id', '/varsets/:id/relationships/vars', '/workspaces/:id/varsets', '/projects/:id/varsets',
  ];
  /** Actions on a resource named in the path that take no body. */
  const ACTION_ROUTES = ['/runs/:id/actions/force-execute', '/configuration-versions/:id/actions/archive'];
  const BAD_IDS = ['%00', 'ws-%00abc', '%FF', '%C3%28', '%E0%80%80', 'x'.repeat(3000), '..%2F..%2Fetc', "'%20OR%201=1--", '%25', '-1'];

  const LIST_ROUTES = [
    '/organizations',
    '/organizations/:org/workspaces',
    '/organizations/:org/teams',
    '/organizations/:org/projects',
    '/organizations/:org/agent-pools',
    '/organizations/:org/organization-memberships',
    '/organizations/:org/runs',
    '/organizations/:org/tags',
    '/organizations/:org/varsets',
    '/organizations/:org/oauth-clients',
    '/workspaces/:ws/runs',
    '/workspaces/:ws/resources',
    '/workspaces/:ws/configuration-versions',
    '/workspaces/:ws/state-versions',
    '/agent-pools/:pool/authentication-tokens',
    '/admin/users',
  ];
  const BAD_QUERIES: Array<[string, number | undefined]> = [
    ['page[size]=-1', 400],
    ['page[size]=abc', 400],
    ['page[number]=-5', 400],
    ['page[number]=0', 400],
    ['page[number]=99999999999999999999', 400],
    ['page[number]=1.5', 400],
    ['page[size]=%00', 400],
    ['search[name]=%00', 400],
    ['q=%00', 400],
    ['search[name]=%FF%FE', 400],
    ['include=%00', 400],
    [`include=${Array.from({ length: 150 }, (_, i) => `x${i}`).join(',')}`, 422],
    ['include=nonsense,more-nonsense', undefined],
    ['filter[status]=%00', 400],
    ['%00=1', 400],
    ['sort=%00', 400],
    ['a=%E0%80', 400],
  ];
  const TAG_QUERIES: Array<[string, number | undefined]> = [
    [`search[tags]=${Array.from({ length: 150 }, (_, i) => `t${i}`).join(',')}`, 422],
    [`search[exclude-tags]=${Array.from({ length: 150 }, (_, i) => `t${i}`).join(',')}`, 422],
    [`search[tags]=${Array.from({ length: 5000 }, (_, i) => `tag-${i}`).join(',')}`, 422],
    [`search[tags]=${Array.from({ length: 5000 }, () => 'a').join(',')}`, 200],
    [Array.from({ length: 301 }, (_, i) => `p${i}=1`).join('&'), 400],
    [Array.from({ length: 150 }, (_, i) => `filter[tagged][${i}][key]=k${i}`).join('&'), 422],
    ['search[tags]=%00', 400],
    ['search[wildcard-name]=%00*', 400],
    ['page[size]=1000000', 200],
  ];

  const WRITE_ROUTES: Array<[string, string]> = [
    ['POST', '/organizations'],
    ['PATCH', '/organizations/:org'],
    ['DELETE', '/organizations/:org'],
    ['POST', '/organizations/:org/workspaces'],
    ['PATCH', '/workspaces/:ws'],
    ['DELETE', '/workspaces/:ws'],
    ['POST', '/workspaces/:ws/actions/lock'],
    ['POST', '/workspaces/:ws/actions/unlock'],
    ['POST', '/workspaces/:ws/actions/force-unlock'],
    ['POST', '/workspaces/:ws/relationships/tags'],
    ['DELETE', '/workspaces/:ws/relationships/tags'],
    ['PATCH', '/workspaces/:ws/tag-bindings'],
    ['POST', '/runs'],
    // the body is refused before the run is looked up
    ['POST', '/runs/run-hostile/comments'],
    ['POST', '/workspaces/:ws/configuration-versions'],
    ['POST', '/workspaces/:ws/state-versions'],
    ['PATCH', '/workspaces/:ws/state-versions'],
    ['POST', '/workspaces/:ws/vars'],
    ['PATCH', '/workspaces/:ws/vars/:var'],
    ['DELETE', '/workspaces/:ws/vars/:var'],
    ['POST', '/vars'],
    ['POST', '/workspaces/:ws/run-triggers'],
    ['DELETE', '/organizations/:org/tags'],
    ['POST', '/tags/tag-hostile/relationships/workspaces'],
    ['PATCH', '/account/update'],
    ['POST', '/admin/organizations/:org/subscription'],
    ['POST', '/organizations/:org/teams'],
    ['PATCH', '/teams/:team'],
    ['DELETE', '/teams/:team'],
    ['POST', '/teams/:team/authentication-token'],
    ['POST', '/teams/:team/relationships/users'],
    ['POST', '/team-workspaces'],
    ['POST', '/team-projects'],
    ['PATCH', '/team-projects/:teamProject'],
    ['DELETE', '/team-projects/:teamProject'],
    ['POST', '/organizations/:org/organization-memberships'],
    ['POST', '/organizations/:org/authentication-token'],
    ['DELETE', '/organizations/:org/authentication-token'],
    ['POST', '/admin/users'],
    ['POST', '/organizations/:org/agent-pools'],
    ['PATCH', '/agent-pools/:pool'],
    ['DELETE', '/agent-pools/:pool'],
    ['POST', '/agent-pools/:pool/authentication-tokens'],
    ['DELETE', '/authentication-tokens/:poolToken'],
    ['POST', '/organizations/:org/projects'],
    ['PATCH', '/projects/:project'],
    ['DELETE', '/projects/:project'],
    ['POST', '/organizations/:org/ssh-keys'],
    ['PATCH', '/ssh-keys/:sshKey'],
    ['PATCH', '/workspaces/:ws/relationships/ssh-key'],
    ['POST', '/organizations/:org/oauth-clients'],
    ['PATCH', '/oauth-clients/:oauthClient'],
    ['PATCH', '/oauth-tokens/:oauthToken'],
    ['POST', '/organizations/:org/varsets'],
    ['PATCH', '/varsets/:varset'],
    ['DELETE', '/varsets/:varset'],
    ['POST', '/varsets/:varset/relationships/vars'],
    ['PATCH', '/varsets/:varset/relationships/vars/:setVar'],
    ['POST', '/varsets/:varset/relationships/workspaces'],
    ['DELETE', '/varsets/:varset/relationships/workspaces'],
    ['POST', '/configuration-versions/:cv/actions/archive'],
  ];

  function deep(levels: number): Buffer {
    return Buffer.from('['.repeat(levels) + ']'.repeat(levels));
  }
  /** Bodies every write route must refuse before it acts: the parser's refusals. */
  const BAD_BODIES: Array<{ name: string; body: Buffer; headers?: Record<string, string>; expect: number }> = [
    { name: 'malformed JSON', body: Buffer.from('{"data": {'), expect: 400 },
    { name: 'a lone brace', body: Buffer.from('}'), expect: 400 },
    { name: '100,000-deep arrays', body: deep(100_000), expect: 400 },
    { name: '100,000-deep objects', body: Buffer.from('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), expect: 400 },
    { name: '65-deep arrays', body: deep(65), expect: 400 },
    { name: 'a NUL in a string', body: Buffer.from('{"data":{"type":"x","attributes":{"name":"a\\u0000b","description":"\\u0000"}}}'), expect: 422 },
    { name: 'a NUL in a member name', body: Buffer.from('{"data":{"type":"x","attributes":{"na\\u0000me":"a"}}}'), expect: 422 },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"data":{"type":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}}')]), expect: 400 },
    { name: 'an overlong UTF-8 NUL', body: Buffer.concat([Buffer.from('{"data":{"type":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}}')]), expect: 400 },
    { name: 'text/plain', body: Buffer.from('{"data":{}}'), headers: { 'Content-Type': 'text/plain' }, expect: 415 },
    { name: 'a form', body: Buffer.from('data=1'), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, expect: 415 },
    { name: 'multipart', body: Buffer.from('--x\r\n\r\n--x--'), headers: { 'Content-Type': 'multipart/form-data; boundary=x' }, expect: 415 },
    { name: 'octet-stream', body: Buffer.from('{}'), headers: { 'Content-Type': 'application/octet-stream' }, expect: 415 },
    { name: 'latin1 JSON', body: Buffer.from('{"data":{}}'), headers: { 'Content-Type': 'application/json; charset=latin1' }, expect: 415 },
    { name: 'gzip-encoded JSON', body: zlib.gzipSync('{"data":{}}'), headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, expect: 415 },
    { name: 'an 11 MB body', body: Buffer.from(`{"data":{"type":"x","attributes":{"description":"${'a'.repeat(11 * 1024 * 1024)}"}}}`), expect: 413 },
  ];
  /** Well-formed documents of the wrong shape, for routes that need a document. */
  const WRONG_SHAPES: Array<[string, unknown]> = [
    ['null', null],
    ['a list', []],
    ['a string', 'workspaces'],
    ['a number', 42],
    ['data as a string', { data: 'x' }],
    ['data as a list of numbers', { data: [1, 2, 3] }],
    ['the wrong type', { data: { type: 'not-a-type', attributes: { name: 'x' } } }],
    ['attributes as a list', { data: { type: 'not-a-type', attributes: [] } }],
  ];
  const SHAPE_ROUTES: Array<[string, string]> = [
    ['POST', '/organizations'],
    ['PATCH', '/organizations/:org'],
    ['POST', '/organizations/:org/workspaces'],
    ['PATCH', '/workspaces/:ws'],
    ['POST', '/runs'],
    ['POST', '/runs/run-hostile/comments'],
    ['POST', '/workspaces/:ws/configuration-versions'],
    ['POST', '/workspaces/:ws/state-versions'],
    ['PATCH', '/workspaces/:ws/state-versions'],
    ['POST', '/workspaces/:ws/vars'],
    ['PATCH', '/workspaces/:ws/vars/:var'],
    ['POST', '/workspaces/:ws/run-triggers'],
    ['DELETE', '/organizations/:org/tags'],
    ['POST', '/tags/tag-hostile/relationships/workspaces'],
    ['PATCH', '/account/update'],
    ['POST', '/admin/organizations/:org/subscription'],
    ['POST', '/organizations/:org/teams'],
    ['PATCH', '/teams/:team'],
    ['POST', '/team-workspaces'],
    ['POST', '/team-projects'],
    ['PATCH', '/team-projects/:teamProject'],
    ['POST', '/organizations/:org/organization-memberships'],
    ['POST', '/organizations/:org/agent-pools'],
    ['PATCH', '/agent-pools/:pool'],
    ['POST', '/organizations/:org/projects'],
    ['PATCH', '/projects/:project'],
    ['POST', '/organizations/:org/ssh-keys'],
    ['PATCH', '/ssh-keys/:sshKey'],
    ['PATCH', '/workspaces/:ws/relationships/ssh-key'],
    ['POST', '/organizations/:org/oauth-clients'],
    ['PATCH', '/oauth-clients/:oauthClient'],
    ['PATCH', '/oauth-tokens/:oauthToken'],
    ['POST', '/organizations/:org/varsets'],
    ['PATCH', '/varsets/:varset'],
    ['POST', '/varsets/:varset/relationships/vars'],
    ['POST', '/varsets/:varset/relationships/workspaces'],
  ];

  function fill(path: string): string {
    return path
      // before :var, which is a prefix of :varset
      .replace(':varset', ids.varset)
      .replace(':setVar', ids.setVar)
      .replace(':teamProject', ids.teamProject)
      .replace(':oauthClient', ids.oauthClient)
      .replace(':oauthToken', ids.oauthToken)
      .replace(':org', org)
      .replace(':ws', ids.ws)
      .replace(':var', ids.var)
      .replace(':team', ids.team)
      .replace(':poolToken', ids.poolToken)
      .replace(':pool', ids.pool)
      .replace(':project', ids.project)
      .replace(':sshKey', ids.sshKey)
      .replace(':cv', ids.cv);
  }

  function json(value: unknown): Buffer {
    return Buffer.from(JSON.stringify(value));
  }

  function cases(): Case[] {
    const out: Case[] = [];
    // Bad ids in every path parameter, as the owner: refused, never a 500.
    for (const route of GET_ROUTES) {
      for (const bad of BAD_IDS) {
        const expect = bad.includes('%00') || bad === '%FF' || bad === '%C3%28' || bad === '%E0%80%80' ? 400 : undefined;
        out.push({ name: `bad id ${bad.slice(0, 20)}`, method: 'GET', path: route.replace(/:[a-z]+/g, bad), as: 'site', expect });
      }
    }
    for (const route of ACTION_ROUTES) {
      for (const bad of BAD_IDS) {
        const expect = bad.includes('%00') || bad === '%FF' || bad === '%C3%28' || bad === '%E0%80%80' ? 400 : undefined;
        out.push({ name: `bad id ${bad.slice(0, 20)}`, method: 'POST', path: route.replace(/:[a-z]+/g, bad), as: 'site', expect });
      }
    }
    // The one feature set is the site administrator's to see.
    out.push({ name: 'not the site administrator', method: 'GET', path: '/admin/feature-sets', as: 'other', expect: 403 });
    // The victim's ids with the other organization's token: 404 or 403, nothing shown.
    for (const route of GET_ROUTES) {
      const path = route.replace(':org', org).replace(':id', route.startsWith('/workspaces') ? ids.ws : route.startsWith('/teams') ? ids.team : route.startsWith('/agent-pools') ? ids.pool : route.startsWith('/projects') ? ids.project : route.startsWith('/ssh-keys') ? ids.sshKey : route.startsWith('/oauth-clients') ? ids.oauthClient : route.startsWith('/oauth-tokens') ? ids.oauthToken : route.startsWith('/varsets') ? ids.varset : ids.ws);
      out.push({ name: 'another organization', method: 'GET', path, as: 'other' });
    }
    for (const route of LIST_ROUTES) {
      for (const [q, expect] of BAD_QUERIES) out.push({ name: `query ${q.slice(0, 30)}`, method: 'GET', path: `${fill(route)}?${q}`, as: 'site', expect });
    }
    for (const [q, expect] of TAG_QUERIES) out.push({ name: `tags ${q.slice(0, 30)}`, method: 'GET', path: `/organizations/${org}/workspaces?${q}`, as: 'other', expect: expect === 200 ? 404 : expect });
    for (const [q, expect] of TAG_QUERIES) out.push({ name: `tags ${q.slice(0, 30)}`, method: 'GET', path: `/organizations/${org}/workspaces?${q}`, as: 'site', expect });
    for (const [method, route] of WRITE_ROUTES) {
      for (const b of BAD_BODIES) {
        out.push({ name: b.name, method, path: fill(route), body: b.body, headers: { 'Content-Type': 'application/vnd.api+json', ...b.headers }, as: 'site', expect: b.expect });
      }
    }
    for (const [method, route] of SHAPE_ROUTES) {
      for (const [name, doc] of WRONG_SHAPES) out.push({ name: `wrong shape: ${name}`, method, path: fill(route), body: json(doc), as: 'site', expect: 422 });
    }
    // Writes on the victim's resources with the other organization's token and valid documents.
    const otherWrites: Array<[string, string, unknown]> = [
      ['POST', `/workspaces/${ids.ws}/vars`, { data: { type: 'vars', attributes: { key: 'x', value: 'y', category: 'env' } } }],
      ['PATCH', `/workspaces/${ids.ws}/vars/${ids.var}`, { data: { type: 'vars', attributes: { value: 'stolen' } } }],
      ['DELETE', `/workspaces/${ids.ws}/vars/${ids.var}`, undefined],
      ['POST', `/workspaces/${ids.ws}/actions/lock`, { data: { type: 'workspaces', attributes: { reason: 'mine' } } }],
      ['PATCH', `/workspaces/${ids.ws}`, { data: { type: 'workspaces', attributes: { description: 'defaced' } } }],
      ['DELETE', `/workspaces/${ids.ws}`, undefined],
      ['POST', `/workspaces/${ids.ws}/configuration-versions`, { data: { type: 'configuration-versions', attributes: {} } }],
      ['POST', '/runs', { data: { type: 'runs', relationships: { workspace: { data: { type: 'workspaces', id: ids.ws } } } } }],
      ['PATCH', `/organizations/${org}`, { data: { type: 'organizations', attributes: { email: 'evil@example.com' } } }],
      ['POST', `/organizations/${org}/workspaces`, { data: { type: 'workspaces', attributes: { name: 'planted' } } }],
      ['POST', `/organizations/${org}/teams`, { data: { type: 'teams', attributes: { name: 'planted' } } }],
      ['DELETE', `/teams/${ids.team}`, undefined],
      ['POST', `/agent-pools/${ids.pool}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'mine' } } }],
      ['DELETE', `/agent-pools/${ids.pool}`, undefined],
      ['PATCH', `/projects/${ids.project}`, { data: { type: 'projects', attributes: { name: 'mine' } } }],
      ['DELETE', `/projects/${ids.project}`, undefined],
      ['POST', '/team-workspaces', { data: { type: 'team-workspaces', attributes: { access: 'admin' }, relationships: { team: { data: { type: 'teams', id: ids.team } }, workspace: { data: { type: 'workspaces', id: ids.ws } } } } }],
      ['POST', '/team-projects', { data: { type: 'team-projects', attributes: { access: 'admin' }, relationships: { team: { data: { type: 'teams', id: ids.team } }, project: { data: { type: 'projects', id: ids.project } } } } }],
      ['PATCH', `/team-projects/${ids.teamProject}`, { data: { type: 'team-projects', attributes: { access: 'admin' } } }],
      ['DELETE', `/team-projects/${ids.teamProject}`, undefined],
      ['POST', `/workspaces/${ids.otherWs}/relationships/tags`, { data: [{ type: 'tags', attributes: { name: 'a\u0000b' } }] }],
      // A run trigger across organizations, either way round.
      ['POST', `/workspaces/${ids.ws}/run-triggers`, { data: { type: 'run-triggers', relationships: { sourceable: { data: { type: 'workspaces', id: ids.otherWs } } } } }],
      ['POST', `/workspaces/${ids.otherWs}/run-triggers`, { data: { type: 'run-triggers', relationships: { sourceable: { data: { type: 'workspaces', id: ids.ws } } } } }],
      ['POST', `/organizations/${org}/ssh-keys`, { data: { type: 'ssh-keys', attributes: { name: 'planted', value: 'x' } } }],
      ['PATCH', `/ssh-keys/${ids.sshKey}`, { data: { type: 'ssh-keys', attributes: { name: 'mine', value: 'mine' } } }],
      ['DELETE', `/ssh-keys/${ids.sshKey}`, undefined],
      ['POST', `/organizations/${org}/oauth-clients`, { data: { type: 'oauth-clients', attributes: { 'service-provider': 'github', 'oauth-token-string': 'planted' } } }],
      ['PATCH', `/oauth-clients/${ids.oauthClient}`, { data: { type: 'oauth-clients', attributes: { name: 'mine', 'oauth-token-string': 'mine' } } }],
      ['DELETE', `/oauth-clients/${ids.oauthClient}`, undefined],
      ['PATCH', `/oauth-tokens/${ids.oauthToken}`, { data: { type: 'oauth-tokens', attributes: { 'ssh-key': 'mine' } } }],
      ['DELETE', `/oauth-tokens/${ids.oauthToken}`, undefined],
      ['PATCH', `/workspaces/${ids.ws}/relationships/ssh-key`, { data: { type: 'workspaces', attributes: { id: null } } }],
      ['PATCH', `/workspaces/${ids.otherWs}/relationships/ssh-key`, { data: { type: 'workspaces', attributes: { id: ids.sshKey } } }],
      ['PATCH', `/varsets/${ids.varset}`, { data: { type: 'varsets', attributes: { name: 'mine' } } }],
      ['DELETE', `/varsets/${ids.varset}`, undefined],
      ['POST', `/varsets/${ids.varset}/relationships/vars`, { data: { type: 'vars', attributes: { key: 'x', value: 'y', category: 'env' } } }],
      ['PATCH', `/varsets/${ids.varset}/relationships/vars/${ids.setVar}`, { data: { type: 'vars', attributes: { value: 'stolen' } } }],
      ['POST', `/varsets/${ids.varset}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ids.otherWs }] }],
      ['DELETE', `/varsets/${ids.varset}/relationships/workspaces`, { data: [{ type: 'workspaces', id: ids.ws }] }],
      ['POST', `/configuration-versions/${ids.cv}/actions/archive`, undefined],
      ['DELETE', `/organizations/${org}/tags`, { data: [{ type: 'tags', id: 'tag-hostile' }] }],
    ];
    for (const [method, path, doc] of otherWrites) out.push({ name: 'another organization writes', method, path, body: doc === undefined ? undefined : json(doc), as: 'other' });
    // The victim applying its set to the other organization's workspace: not found there.
    out.push({ name: "another organization's workspace", method: 'POST', path: `/varsets/${ids.varset}/relationships/workspaces`, body: json({ data: [{ type: 'workspaces', id: ids.otherWs }] }), as: 'site', expect: 404 });
    // Bad credentials on every family.
    const BAD_AUTH = ['Bearer', 'Bearer ', 'Bearer nope', 'Basic dXNlcjpwYXNz', `Bearer ${'a'.repeat(4000)}`, 'Bearer a b', 'Bearer \u00e9t\u00e9', `Bearer ${agentToken}x`];
    for (const route of ['/organizations/:org', '/workspaces/:ws', '/workspaces/:ws/vars', `/teams/:team`, '/agent-pools/:pool', '/projects/:project', '/account/details']) {
      for (const auth of BAD_AUTH) out.push({ name: `bad token ${auth.slice(0, 12)}`, method: 'GET', path: fill(route), headers: { Authorization: auth }, as: 'raw', expect: 401 });
    }
    // The agent protocol: wrong tokens, bad ids, bad bodies.
    const agentRoutes: Array<[string, string]> = [
      ['POST', '/api/agent/register'],
      ['POST', '/api/agent/sync'],
      ['POST', '/api/agent/deregister'],
      ['GET', '/api/agent/jobs'],
      ['GET', '/api/agent/jobs/%00'],
      ['POST', '/api/agent/jobs/%00/start'],
      ['POST', '/api/agent/jobs/job-nope/finish'],
      ['PUT', '/api/agent/jobs/job-nope/logs?offset=-1'],
      ['PUT', '/api/agent/jobs/%FF/logs?offset=0'],
      ['PUT', '/api/agent/jobs/job-nope/artifacts/%00'],
      ['GET', '/api/agent/jobs/job-nope/artifacts/..%2F..%2Fetc%2Fpasswd'],
    ];
    for (const [method, path] of agentRoutes) {
      out.push({ name: 'agent protocol, no token', method, path, as: 'none', expect: /%00|%FF/.test(path) ? 400 : 401 });
      out.push({ name: 'agent protocol, user token', method, path, as: 'other' });
      for (const b of BAD_BODIES.slice(0, 9)) out.push({ name: `agent protocol: ${b.name}`, method, path, body: b.body, headers: { 'Content-Type': 'application/json' }, as: 'agent' });
      out.push({ name: 'agent protocol: text/plain', method, path, body: Buffer.from('{}'), headers: { 'Content-Type': 'text/plain' }, as: 'agent' });
    }
    out.push({ name: 'register with a NUL name', method: 'POST', path: '/api/agent/register', body: json({ name: 'a\u0000b', concurrency: 1 }), headers: { 'Content-Type': 'application/json' }, as: 'agent', expect: 422 });
    out.push({ name: 'register with a huge concurrency', method: 'POST', path: '/api/agent/register', body: json({ name: 'a', concurrency: 1e12 }), headers: { 'Content-Type': 'application/json' }, as: 'agent', expect: 422 });
    // Signed URLs: wrong signatures, NULs, another version's signature.
    const signed = new URL(ids.uploadUrl).pathname;
    for (const path of [
      signed.replace(/\/[^/]+$/, '/forged'),
      signed.replace(/\/[^/]+$/, '/%00'),
      signed.replace(ids.cv, 'cv-%00'),
      signed.replace(ids.cv, 'cv-other'),
      '/_signed/state-versions/sv-nope/sig',
      '/_signed/state-versions-json/%FF/sig',
      '/_signed/logs/%00/%00',
    ]) {
      out.push({ name: 'signed URL', method: 'PUT', path, body: Buffer.from('junk'), headers: { 'Content-Type': 'application/octet-stream' }, as: 'none' });
      out.push({ name: 'signed URL', method: 'GET', path, as: 'none' });
    }
    return out;
  }

  async function send(c: Case): Promise<RawResponse> {
    const headers: Record<string, string> = { Accept: 'application/vnd.api+json', ...c.headers };
    if (c.body && !headers['Content-Type']) headers['Content-Type'] = 'application/vnd.api+json';
    const token = c.as === 'site' ? server.siteToken : c.as === 'other' ? other.token : c.as === 'agent' ? agentToken : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    return rawRequest(api, c.method, `${server.url}${absolute(c.path)}`, { body: c.body, headers, timeoutMs: 30_000 });
  }

  it('refuses hundreds of malformed requests across every route family, each within 2 s, and changes nothing', async () => {
    const before = await snapshot();
    const all = cases();
    assert.ok(all.length >= 300, `only ${all.length} cases`);
    const failures: string[] = [];
    let next = 0;
    // A few at a time: the bound is on each answer, and a handful of clients is what a server sees.
    const worker = async () => {
      while (next < all.length) {
        const c = all[next++];
        const started = Date.now();
        let res: RawResponse;
        try {
          res = await send(c);
        } catch (err) {
          failures.push(`${c.method} ${c.path.slice(0, 100)} (${c.name}): no answer: ${(err as Error).message}`);
          continue;
        }
        const ms = Date.now() - started;
        const label = `${c.method} ${c.path.slice(0, 100)} (${c.name}) as ${c.as}`;
        if (res.status >= 500) failures.push(`${label}: ${res.status} ${res.text.slice(0, 200)}`);
        else if (ms > ANSWER_WITHIN_MS) failures.push(`${label}: answered after ${ms} ms`);
        else if (c.expect !== undefined && res.status !== c.expect) failures.push(`${label}: expected ${c.expect}, got ${res.status} ${res.text.slice(0, 200)}`);
        else if (c.expect === undefined && c.as !== 'site' && res.status < 400) failures.push(`${label}: expected a refusal, got ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} cases failed:\n${failures.join('\n')}`);
    assert.deepEqual(await snapshot(), before);
  });

  it('names the limit when a list filter has too many values, and de-duplicates repeated ones', async () => {
    const tags = Array.from({ length: 150 }, (_, i) => `t${i}`).join(',');
    assertError(await api.get(`/organizations/${org}/workspaces?search[tags]=${tags}`), 422, /at most 100 values, got 150/, { parameter: 'search[tags]' });
    const many = Array.from({ length: 5000 }, (_, i) => `tag-${i}`).join(',');
    assertError(await api.get(`/organizations/${org}/workspaces?search[tags]=${many}`), 422, /at most 100 values, got 5000/, { parameter: 'search[tags]' });
    const repeated = await api.get(`/organizations/${org}/workspaces?search[tags]=${Array.from({ length: 5000 }, () => 'z').join(',')}`);
    assertStatus(repeated, 200);
    assert.equal(repeated.body.data.length, 0);
    const clamped = await api.get(`/organizations/${org}/workspaces?page[size]=1000`);
    assertStatus(clamped, 200);
    assert.equal(clamped.body.meta.pagination['page-size'], 100);
  });

  it('refuses NUL bytes with 400 in the path and the query and 422 in a JSON string, before the database', async () => {
    assertError(await api.get('/workspaces/%00'), 400, /NUL/);
    assertError(await api.get(`/organizations/${org}/workspaces?search[name]=%00`), 400, /NUL/, { parameter: 'search[name]' });
    const res = await api.patch(`/workspaces/${ids.ws}`, { data: { type: 'workspaces', attributes: { description: 'a\u0000b' } } });
    assertError(res, 422, /NUL/, { pointer: '/data/attributes/description' });
    const ws = await api.get(`/workspaces/${ids.ws}`);
    assert.equal(ws.body.data.attributes.description, 'the victim');
  });

  it('refuses a 100,000-deep body with 400 naming the depth limit', async () => {
    const res = await api.request('POST', `/organizations/${org}/workspaces`, { raw: deep(100_000) });
    assertError(res, 400, /more than 64 deep/);
  });

  it('refuses a body that is not JSON on a JSON:API route with 415, and takes plain application/json', async () => {
    assertError(await api.request('POST', `/organizations/${org}/workspaces`, { raw: '{}', headers: { 'Content-Type': 'text/plain' } }), 415, /must be application\/vnd\.api\+json or application\/json/);
    const res = await api.request('POST', `/organizations/${org}/projects`, {
      raw: JSON.stringify({ data: { type: 'projects', attributes: { name: 'plain-json' } } }),
      headers: { 'Content-Type': 'application/json' },
    });
    assertStatus(res, 201);
  });

  it('answers a gzip stream that runs on 100 MiB past its tar with 422 within seconds, and errors the version with the reason', async () => {
    const cv = await api.post(`/workspaces/${ids.ws}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
    assertStatus(cv, 201);
    const gzip = zlib.createGzip();
    const parts: Buffer[] = [];
    gzip.on('data', (c: Buffer) => parts.push(c));
    const done = new Promise((resolve) => gzip.on('end', resolve));
    gzip.write(tarArchive([{ type: 'file', name: 'main.tf', content: fixture('empty-resource') }]));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 100; i++) gzip.write(zeros);
    gzip.end();
    await done;
    const started = Date.now();
    const res = await rawRequest(api, 'PUT', cv.body.data.attributes['upload-url'], { body: Buffer.concat(parts), headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: 20_000 });
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    assertError(res, 422, /decompresses to more than/);
    const shown = await api.get(`/configuration-versions/${cv.body.data.id}`);
    assert.equal(shown.body.data.attributes.status, 'errored');
    assert.match(shown.body.data.attributes['error-message'], /decompresses to more than/);
  });

  it('still takes a well-formed configuration', async () => {
    const res = await rawRequest(api, 'PUT', ids.uploadUrl, { body: configTarball(fixtureFiles('empty-resource')), headers: { 'Content-Type': 'application/octet-stream' } });
    assertStatus(res, 200);
  });

  it('sends nosniff and HSTS on every answer and no-store on API answers, and advertises no rate limit it does not keep', async () => {
    for (const path of ['/api/v2/ping', `/api/v2/organizations/${org}`, '/api/v2/workspaces/%00', '/.well-known/terraform.json']) {
      const res = await api.get(path.startsWith('/.well') ? path : `${server.url}${path}`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/, path);
      if (path.startsWith('/api/')) assert.equal(res.headers['cache-control'], 'no-store', path);
    }
    const ping = await api.get('/ping');
    assert.equal(ping.headers['x-ratelimit-limit'], undefined);
  });
});

describe('failed authentication limit', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { authFailureLimit: 5 } });
  });
  after(async () => {
    await server?.stop();
  });

  it('answers 429 with Retry-After after too many bad tokens from one address, and counts no successes', async () => {
    for (let i = 0; i < 20; i++) assertStatus(await server.api.get('/account/details'), 200);
    const bad = server.api.withToken('wrong');
    for (let i = 0; i < 5; i++) assertStatus(await bad.get('/account/details'), 401);
    const limited = await bad.get('/account/details');
    assertError(limited, 429, /more than 5 failed authentications/);
    const retry = Number(limited.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.equal(limited.headers['x-content-type-options'], 'nosniff');
    assert.equal(limited.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    // Another client behind the same address (a NAT, a proxy, an agent on the same host) with a
    // good token is not locked out by the bad one.
    assertStatus(await server.api.get('/account/details'), 200);
    assertError(await bad.get('/account/details'), 429, /more than 5 failed authentications/);
  });
});
