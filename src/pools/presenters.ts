// How agent pools and agents look in the API: their JSON:API resource types and views.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { Organization } from '../orgs/index.js';
import type { Agent, Pool } from './service.js';

export const poolType: ResourceType = {
  type: 'agent-pools',
  attributes: ['name', 'created-at', 'organization-scoped', 'agent-count', 'agent-name-release-seconds'],
  relationships: { organization: 'organizations', workspaces: 'workspaces', 'allowed-workspaces': 'workspaces' },
  selfLink: (v) => `/api/v2/agent-pools/${v.id}`,
  linkedRelationships: {
    agents: (v) => `/api/v2/agent-pools/${v.id}/agents`,
    'authentication-tokens': (v) => `/api/v2/agent-pools/${v.id}/authentication-tokens`,
  },
};

export const agentType: ResourceType = {
  type: 'agents',
  attributes: ['name', 'status', 'ip-address', 'last-ping-at', 'version', 'hostname', 'os', 'arch', 'concurrency', 'created-at'],
  relationships: { 'agent-pool': 'agent-pools' },
  selfLink: (v) => `/api/v2/agents/${v.id}`,
};

export function presentPool(pool: Pool, org: Organization, assigned: string[]): View {
  return {
    id: pool.id,
    name: pool.name,
    'created-at': timestamp(pool.createdAt),
    'organization-scoped': pool.organizationScoped,
    'agent-count': pool.agentCount,
    'agent-name-release-seconds': pool.nameReleaseSeconds,
    organization: { id: org.name },
    workspaces: assigned.map((id) => ({ id })),
    'allowed-workspaces': pool.allowedWorkspaceIds.map((id) => ({ id })),
  };
}

export function presentAgent(agent: Agent): View {
  return {
    id: agent.id,
    name: agent.name,
    status: agent.status,
    'ip-address': agent.ipAddress,
    'last-ping-at': timestamp(agent.lastPingAt),
    version: agent.version,
    hostname: agent.hostname,
    os: agent.os,
    arch: agent.arch,
    concurrency: agent.concurrency,
    'created-at': timestamp(agent.createdAt),
    'agent-pool': { id: agent.poolId },
  };
}
