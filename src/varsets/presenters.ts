// How variable sets and their variables look in the API, with Terraform Cloud's names: "varsets"
// (relationships organization, vars, workspaces, projects) and "vars" (relationship varset).
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { variableAttributes } from '../variables/index.js';
import type { SetVariable, SetWithLinks } from './service.js';

export const variableSetType: ResourceType = {
  type: 'varsets',
  attributes: ['name', 'description', 'global', 'priority', 'updated-at', 'var-count', 'workspace-count', 'project-count'],
  relationships: { organization: 'organizations', vars: 'vars', workspaces: 'workspaces', projects: 'projects' },
  selfLink: (v) => `/api/v2/varsets/${v.id}`,
};

export function presentVariableSet(s: SetWithLinks): View {
  return {
    id: s.set.id,
    name: s.set.name,
    description: s.set.description,
    global: s.set.global,
    priority: s.set.priority,
    'updated-at': timestamp(s.set.updatedAt),
    'var-count': s.variableIds.length,
    'workspace-count': s.workspaceIds.length,
    'project-count': s.projectIds.length,
    organization: { id: s.org.name },
    vars: s.variableIds.map((id) => ({ id })),
    workspaces: s.workspaceIds.map((id) => ({ id })),
    projects: s.projectIds.map((id) => ({ id })),
  };
}

export const setVariableType: ResourceType = {
  type: 'vars',
  attributes: ['key', 'value', 'description', 'category', 'hcl', 'sensitive', 'version-id', 'created-at'],
  relationships: { varset: 'varsets' },
  selfLink: (v) => `/api/v2/varsets/${(v.varset as { id: string }).id}/relationships/vars/${v.id}`,
};

export function presentSetVariable(v: SetVariable): View {
  return { ...variableAttributes(v), varset: { id: v.variableSetId } };
}
