// The projects domain: projects of an organization, each with its workspaces; every organization
// has a default project, made with it. Wired into otfd by src/server.ts; other domains import it
// through this file only.
import type { Knex } from 'knex';
import type { ApiRouter, Site } from '../api/http.js';
import type { Db } from '../db/index.js';
import { resources } from '../api/jsonapi.js';
import type { Organization, OrganizationIncluder, OrganizationService } from '../orgs/index.js';
import { presentProject, projectType } from './presenters.js';
import { registerProjectRoutes } from './routes.js';
import { ProjectService } from './service.js';

export { presentProject, projectType } from './presenters.js';
export { ProjectService, type Project } from './service.js';

export interface ProjectDeps {
  db: Db;
  site: Site;
  orgs: OrganizationService;
}

export interface ProjectDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** For other domains: the default project, projects by id or name. */
  service: ProjectService;
  /** For orgs.onCreate: the new organization's default project. */
  organizationCreated: (trx: Knex.Transaction, org: Organization) => Promise<void>;
  /** For include=default_project on organizations. */
  organizationIncluders: Record<string, OrganizationIncluder>;
}

export function createProjectDomain(deps: ProjectDeps): ProjectDomain {
  const service = new ProjectService(deps.db, deps.orgs);
  return {
    routes: (router) => registerProjectRoutes(router, service, deps.site),
    service,
    organizationCreated: service.organizationCreated,
    organizationIncluders: {
      default_project: async (subject, orgs) => resources(projectType, await Promise.all(orgs.map(async (o) => presentProject(await service.defaultOf(o.id), o, subject)))),
    },
  };
}
