// How the variables domain shows its resources: the JSON:API type and presenter of variables.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { Variable } from './service.js';

export const variableType: ResourceType = {
  type: 'vars',
  attributes: ['key', 'value', 'description', 'category', 'hcl', 'sensitive', 'version-id', 'created-at'],
  relationships: { configurable: 'workspaces', workspace: 'workspaces' },
  selfLink: (v) => `/api/v2/workspaces/${(v.configurable as { id: string }).id}/vars/${v.id}`,
};

/** The attributes of a variable, a workspace's or a variable set's: `vars` either way in Terraform Cloud. */
export function variableAttributes(v: Omit<Variable, 'workspaceId'>): View {
  return {
    id: v.id,
    key: v.key,
    // null for a sensitive variable: its value never leaves the server through the API
    value: v.sensitive ? null : v.value,
    description: v.description,
    category: v.category,
    hcl: v.hcl,
    sensitive: v.sensitive,
    'version-id': v.versionId,
    'created-at': timestamp(v.createdAt),
  };
}

export function presentVariable(v: Variable): View {
  return { ...variableAttributes(v), configurable: { id: v.workspaceId }, workspace: { id: v.workspaceId } };
}
