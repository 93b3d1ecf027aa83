// Table of the projects domain.
import { escapeLike, paged, type Db } from '../db/index.js';

export interface Project {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  isDefault: boolean;
  createdAt: Date;
}

interface ProjectRow {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  is_default: boolean;
  created_at: Date;
}

function toProject(r: ProjectRow): Project {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    description: r.description,
    isDefault: r.is_default,
    createdAt: r.created_at,
  };
}

export async function insert(db: Db, p: Omit<Project, 'createdAt'>): Promise<Project> {
  const [row] = await db<ProjectRow>('projects')
    .insert({ id: p.id, organization_id: p.organizationId, name: p.name, description: p.description, is_default: p.isDefault })
    .returning('*');
  return toProject(row as ProjectRow);
}

export async function findById(db: Db, id: string): Promise<Project | null> {
  const row = await db<ProjectRow>('projects').where({ id }).first();
  return row ? toProject(row) : null;
}

/** The projects of these ids that exist, in one statement. */
export async function findByIds(db: Db, ids: string[]): Promise<Project[]> {
  if (ids.length === 0) return [];
  return (await db<ProjectRow>('projects').whereRaw('id = ANY(?)', [ids])).map(toProject);
}

export async function findDefault(db: Db, organizationId: string): Promise<Project | null> {
  const row = await db<ProjectRow>('projects').where({ organization_id: organizationId, is_default: true }).first();
  return row ? toProject(row) : null;
}

export async function list(
  db: Db,
  organizationId: string,
  opts: { names?: string[]; search?: string; limit: number; offset: number },
): Promise<{ items: Project[]; total: number }> {
  const q = db<ProjectRow>('projects').select('*').where({ organization_id: organizationId }).orderBy('name');
  if (opts.names) q.whereIn('name', opts.names);
  if (opts.search) q.whereILike('name', `%${escapeLike(opts.search)}%`);
  const { rows, total } = await paged<ProjectRow>(db, q, opts.limit, opts.offset);
  return { items: rows.map(toProject), total };
}

export async function update(db: Db, id: string, changes: { name?: string; description?: string }): Promise<Project> {
  const [row] = await db<ProjectRow>('projects').where({ id }).update(changes).returning('*');
  return toProject(row as ProjectRow);
}

export async function remove(db: Db, id: string): Promise<void> {
  await db('projects').where({ id }).delete();
}
