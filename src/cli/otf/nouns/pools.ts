// otf agent-pools, agent-tokens and agents: pools of otf-agent processes, the tokens agents join
// a pool with, and the agents themselves.
import { relatedId, relatedIds, type Client, type Resource } from '../client.js';
import { UsageError, type Noun } from '../command.js';
import { attribute, idField, type View } from '../output.js';
import { idPath, seg, workspacePath } from '../resolve.js';

const count = (name: string, label: string) => ({ name: label, value: (r: Resource) => relatedIds(r, name).length });

export const poolView: View = {
  columns: [idField, attribute('name'), attribute('organization-scoped'), attribute('agent-count', 'agents'), count('allowed-workspaces', 'allowed'), count('workspaces', 'assigned')],
  fields: [
    idField,
    attribute('name'),
    { name: 'organization', value: (r) => relatedId(r, 'organization') },
    attribute('organization-scoped'),
    attribute('agent-count'),
    attribute('agent-name-release-seconds'),
    { name: 'allowed-workspaces', value: (r) => relatedIds(r, 'allowed-workspaces') },
    { name: 'workspaces', value: (r) => relatedIds(r, 'workspaces') },
    attribute('created-at'),
  ],
};

export const tokenView: View = {
  columns: [idField, attribute('description'), attribute('created-at'), attribute('last-used-at')],
  fields: [idField, attribute('description'), attribute('created-at'), attribute('last-used-at')],
};

export const agentView: View = {
  columns: [idField, attribute('name'), attribute('status'), attribute('ip-address'), attribute('version'), attribute('last-ping-at')],
  fields: [
    idField,
    attribute('name'),
    attribute('status'),
    { name: 'agent-pool', value: (r) => relatedId(r, 'agent-pool') },
    attribute('ip-address'),
    attribute('hostname'),
    attribute('version'),
    attribute('os'),
    attribute('arch'),
    attribute('concurrency'),
    attribute('last-ping-at'),
    attribute('created-at'),
  ],
};

const poolPath = (id: string) => idPath('/agent-pools', id, 'an agent pool');

/** Workspace ids of names in an organization. */
async function workspaceIds(api: Client, organization: string, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) ids.push((await api.get(workspacePath({ organization, name }))).id);
  return ids;
}

/** A pool as people read it: workspace names rather than ids. */
async function withNames(api: Client, pool: Resource): Promise<Resource> {
  const names = new Map<string, string>();
  const named = async (ids: string[]) => {
    const out: string[] = [];
    for (const id of ids) {
      if (!names.has(id)) {
        try {
          names.set(id, String((await api.get(`/workspaces/${seg(id)}`)).attributes.name));
        } catch {
          names.set(id, id);
        }
      }
      out.push(names.get(id)!);
    }
    return out;
  };
  const allowed = await named(relatedIds(pool, 'allowed-workspaces'));
  const assigned = await named(relatedIds(pool, 'workspaces'));
  const ref = (list: string[]) => list.map((id) => ({ type: 'workspaces', id }));
  return { ...pool, relationships: { ...pool.relationships, 'allowed-workspaces': { data: ref(allowed) }, workspaces: { data: ref(assigned) } } };
}

/** Changes the allowed workspaces of a pool (grant and revoke). */
async function changeAllowed(api: Client, poolId: string, names: string[], change: (current: string[], named: string[]) => string[]): Promise<Resource> {
  const pool = await api.get(poolPath(poolId));
  const organization = relatedId(pool, 'organization');
  if (!organization) throw new UsageError(`agent pool ${poolId} names no organization`);
  const named = await workspaceIds(api, organization, names);
  const allowed = change(relatedIds(pool, 'allowed-workspaces'), named);
  return api.one('PATCH', poolPath(poolId), {
    data: { type: 'agent-pools', relationships: { 'allowed-workspaces': { data: allowed.map((id) => ({ type: 'workspaces', id })) } } },
  });
}

export const agentPools: Noun = {
  name: 'agent-pools',
  summary: 'pools of otf-agent processes that run the plans and applies of agent-mode workspaces',
  commands: [
    {
      verb: 'list',
      summary: 'List the agent pools of an organization',
      flags: [{ name: 'organization', value: '<org>', help: 'the organization', required: true }],
      async run({ api, out, flags }) {
        out.list(await api().list(`/organizations/${seg(flags.get('organization')!)}/agent-pools`), poolView);
      },
    },
    {
      verb: 'create',
      summary: 'Create an agent pool',
      args: [{ name: '<org>' }, { name: '<name>' }],
      flags: [
        { name: 'allowed-workspace', value: '<ws>', repeatable: true, help: 'a workspace (by name) allowed to use the pool' },
        { name: 'not-organization-scoped', help: 'only the allowed workspaces may use the pool, not every workspace of the organization' },
      ],
      async run({ api, out, args, flags, json }) {
        const [organization, name] = args;
        const allowed = await workspaceIds(api(), organization, flags.all('allowed-workspace'));
        const pool = await api().one('POST', `/organizations/${seg(organization)}/agent-pools`, {
          data: {
            type: 'agent-pools',
            attributes: { name, 'organization-scoped': !flags.on('not-organization-scoped') },
            relationships: { 'allowed-workspaces': { data: allowed.map((id) => ({ type: 'workspaces', id })) } },
          },
        });
        out.one(json ? pool : await withNames(api(), pool), poolView);
      },
    },
    {
      verb: 'show',
      summary: 'Show an agent pool',
      args: [{ name: '<pool-id>' }],
      async run({ api, out, args, json }) {
        const pool = await api().get(poolPath(args[0]));
        out.one(json ? pool : await withNames(api(), pool), poolView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete an agent pool (no workspace may be using it)',
      args: [{ name: '<pool-id>' }],
      async run({ api, out, args }) {
        const pool = await api().get(poolPath(args[0]));
        await api().request('DELETE', poolPath(args[0]));
        out.done(`agent pool ${pool.id} ("${String(pool.attributes.name)}") deleted`, pool);
      },
    },
    {
      verb: 'grant',
      summary: 'Allow workspaces (by name) to use an agent pool',
      args: [{ name: '<pool-id>' }, { name: '<ws-name>', variadic: true }],
      async run({ api, out, args }) {
        const [poolId, ...names] = args;
        const pool = await changeAllowed(api(), poolId, names, (current, named) => [...new Set([...current, ...named])]);
        out.done(`agent pool ${pool.id} granted to ${names.join(', ')}`, pool);
      },
    },
    {
      verb: 'revoke',
      summary: 'Take back the grant of an agent pool to workspaces (by name)',
      args: [{ name: '<pool-id>' }, { name: '<ws-name>', variadic: true }],
      async run({ api, out, args }) {
        const [poolId, ...names] = args;
        const pool = await changeAllowed(api(), poolId, names, (current, named) => current.filter((id) => !named.includes(id)));
        out.done(`agent pool ${pool.id} no longer granted to ${names.join(', ')}`, pool);
      },
    },
  ],
};

export const agentTokens: Noun = {
  name: 'agent-tokens',
  summary: 'tokens with which otf-agent processes join an agent pool',
  commands: [
    {
      verb: 'list',
      summary: 'List the agent tokens of a pool',
      args: [{ name: '<pool-id>' }],
      async run({ api, out, args }) {
        out.list(await api().list(`${poolPath(args[0])}/authentication-tokens`), tokenView);
      },
    },
    {
      verb: 'create',
      summary: 'Create an agent token and print its secret (shown only this once)',
      args: [{ name: '<pool-id>' }],
      flags: [{ name: 'description', value: '<text>', help: 'what the token is for', required: true }],
      details: 'Prints only the secret, for otf-agent --token; with --json, the whole resource.',
      async run({ api, out, args, flags, json }) {
        const token = await api().one('POST', `${poolPath(args[0])}/authentication-tokens`, {
          data: { type: 'authentication-tokens', attributes: { description: flags.get('description') } },
        });
        if (json) out.printJson(token);
        else out.line(String(token.attributes.token));
      },
    },
    {
      verb: 'delete',
      summary: 'Delete an agent token; agents that joined with it keep running',
      args: [{ name: '<token-id>' }],
      async run({ api, out, args }) {
        const path = idPath('/authentication-tokens', args[0], 'an agent token');
        const token = await api().get(path);
        await api().request('DELETE', path);
        out.done(`agent token ${token.id} deleted`, token);
      },
    },
  ],
};

export const agents: Noun = {
  name: 'agents',
  summary: 'otf-agent processes of a pool, and their status',
  commands: [
    {
      verb: 'list',
      summary: 'List the agents of a pool',
      args: [{ name: '<pool-id>' }],
      async run({ api, out, args }) {
        out.list(await api().list(`${poolPath(args[0])}/agents`), agentView);
      },
    },
    {
      verb: 'show',
      summary: 'Show an agent',
      args: [{ name: '<agent-id>' }],
      async run({ api, out, args }) {
        out.one(await api().get(idPath('/agents', args[0], 'an agent')), agentView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete an agent that has exited, errored or gone unknown',
      args: [{ name: '<agent-id>' }],
      async run({ api, out, args }) {
        const path = idPath('/agents', args[0], 'an agent');
        const agent = await api().get(path);
        await api().request('DELETE', path);
        out.done(`agent ${agent.id} ("${String(agent.attributes.name)}") deleted`, agent);
      },
    },
  ],
};
