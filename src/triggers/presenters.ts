// How run triggers look in the API.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { RunTrigger } from './service.js';

export const runTriggerType: ResourceType = {
  type: 'run-triggers',
  attributes: ['workspace-name', 'sourceable-name', 'created-at'],
  relationships: { workspace: 'workspaces', sourceable: 'workspaces' },
  selfLink: (v) => `/api/v2/run-triggers/${v.id}`,
};

export function presentRunTrigger(t: RunTrigger): View {
  return {
    id: t.id,
    'workspace-name': t.workspaceName,
    'sourceable-name': t.sourceableName,
    'created-at': timestamp(t.createdAt),
    workspace: { id: t.workspaceId },
    sourceable: { id: t.sourceableId },
  };
}
