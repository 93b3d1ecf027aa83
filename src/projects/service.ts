// Rules of the projects domain. Every organization has a default project, made with it.
import { audited } from '../audit/index.js';
import type { Knex } from 'knex';
import { authorize, isAllowed } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { inOrderOf } from '../db/lists.js';
import { ConflictError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import * as store from './store.js';
import type { Project } from './store.js';

export type { Project } from './store.js';

export const DEFAULT_PROJECT_NAME = 'Default Project';

/** PostgreSQL error code for foreign key violations. */
const FOREIGN_KEY_VIOLATION = '23503';

export class ProjectService {
  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
  ) {}

  /** Inside the transaction that creates an organization (orgs.onCreate, connected in src/server.ts): its default project. */
  readonly organizationCreated = async (trx: Knex.Transaction, org: Organization): Promise<void> => {
    await store.insert(trx, { id: newId('prj'), organizationId: org.id, name: DEFAULT_PROJECT_NAME, description: '', isDefault: true });
  };

  /** The project with this id if the subject may see it; else NotFoundError. */
  async get(subject: Subject, id: string): Promise<{ project: Project; org: Organization }> {
    const project = await store.findById(this.db, id);
    const org = project ? await this.orgs.byId(project.organizationId) : null;
    if (!project || !org) throw notFound('project', id);
    authorize(subject, 'project:read', { organizationId: org.id }, () => notFound('project', id));
    return { project, org };
  }

  /** The organization's default project, for workspaces created without one. */
  async defaultOf(organizationId: string): Promise<Project> {
    const project = await store.findDefault(this.db, organizationId);
    if (!project) throw new Error(`organization ${organizationId} has no default project`);
    return project;
  }

  /** Internal lookup without authorization, for domains that already hold an id. */
  async byId(id: string): Promise<Project | null> {
    return store.findById(this.db, id);
  }

  /** The projects of these ids that exist, in the order of the ids, in one statement (for include= on lists). */
  async byIds(ids: string[]): Promise<Project[]> {
    return inOrderOf(ids, await store.findByIds(this.db, [...new Set(ids)]));
  }

  /** The projects of these ids that the subject may read, in the order of the ids, in one statement. */
  async readable(subject: Subject, ids: string[]): Promise<Project[]> {
    if (ids.length === 0) return [];
    return (await this.byIds(ids)).filter((p) => isAllowed(subject, 'project:read', { organizationId: p.organizationId }));
  }

  async list(
    subject: Subject,
    orgName: string,
    opts: { names?: string[]; search?: string; limit: number; offset: number },
  ): Promise<{ org: Organization; items: Project[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'project:read', { organizationId: org.id }, () => notFound('organization', orgName));
    return { org, ...(await store.list(this.db, org.id, opts)) };
  }

  async create(subject: Subject, orgName: string, attrs: { name: string; description?: string }): Promise<{ project: Project; org: Organization }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'project:create', { organizationId: org.id }, () => notFound('organization', orgName));
    try {
      const projectId = newId('prj');
      const project = await audited(this.db, (trx) => store.insert(trx, {
        id: projectId,
        organizationId: org.id,
        name: attrs.name,
        description: attrs.description ?? '',
        isDefault: false,
      }), { action: 'project.create', resource: { type: 'projects', id: projectId }, organizationId: org.id, details: { name: attrs.name } });
      return { project, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`project name "${attrs.name}" is already taken`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  async update(subject: Subject, id: string, changes: { name?: string; description?: string }): Promise<{ project: Project; org: Organization }> {
    const { org } = await this.get(subject, id);
    authorize(subject, 'project:update', { organizationId: org.id, projectId: id }, () => notFound('project', id));
    try {
      return { project: await audited(this.db, (trx) => store.update(trx, id, changes), { action: 'project.update', resource: { type: 'projects', id }, organizationId: org.id, details: { changed: Object.keys(changes).join(',') } }), org };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`project name "${changes.name}" is already taken`, { pointer: '/data/attributes/name' });
      throw err;
    }
  }

  async delete(subject: Subject, id: string): Promise<void> {
    const { project, org } = await this.get(subject, id);
    authorize(subject, 'project:delete', { organizationId: org.id, projectId: id }, () => notFound('project', id));
    if (project.isDefault) throw new ConflictError(`the default project of organization "${org.name}" cannot be deleted`);
    try {
      await audited(this.db, (trx) => store.remove(trx, id), { action: 'project.delete', resource: { type: 'projects', id }, organizationId: org.id, details: { name: project.name } });
    } catch (err) {
      if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) {
        throw new ConflictError(`project "${project.name}" still has workspaces; move or delete them first`);
      }
      throw err;
    }
  }
}
