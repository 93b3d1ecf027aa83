// How projects look in the API.
import { isAllowed } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { Organization } from '../orgs/index.js';
import type { Project } from './service.js';

export const projectType: ResourceType = {
  type: 'projects',
  attributes: ['name', 'description', 'created-at', 'is-default', 'permissions'],
  relationships: { organization: 'organizations' },
  selfLink: (v) => `/api/v2/projects/${v.id}`,
};

export function presentProject(project: Project, org: Organization, subject: Subject): View {
  const scope = { organizationId: org.id, projectId: project.id };
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    'created-at': timestamp(project.createdAt),
    'is-default': project.isDefault,
    permissions: {
      'can-read': true,
      'can-update': isAllowed(subject, 'project:update', scope),
      'can-destroy': isAllowed(subject, 'project:delete', scope) && !project.isDefault,
      'can-create-workspace': isAllowed(subject, 'workspace:create', scope),
    },
    organization: { id: org.name },
  };
}
