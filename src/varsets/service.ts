// Rules of the variable-sets domain: sets belong to an organization and have a name of their own
// in it; a set is global or applied to workspaces and projects of its organization; its variables
// obey the rules of workspace variables, sensitive values encrypted at rest (with the cipher of the
// variables domain) and never shown again. As in Terraform Cloud, managing sets is for owners and
// teams that manage workspaces, and reading them for whoever may read the variables of one of the
// organization's workspaces (src/auth/authorize.ts); a workspace's own list of the sets it gets is
// for whoever may read that workspace's variables.
import { audited, recordChange } from '../audit/index.js';
import { authorize, isAllowed } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import type { Project, ProjectService } from '../projects/index.js';
import { checkStorableText } from '../text.js';
import { changedVariableFields, DecryptionError, newVariableFields, ValueCipher, type RunVariable } from '../variables/index.js';
import { workspaceScope, type Workspace, type WorkspaceService } from '../workspaces/index.js';
import { mergeVariables, type MergeSet, type SetScope } from './precedence.js';
import * as store from './store.js';
import type { Category, StoredSetVariable, VariableSet } from './store.js';

export type { Category, VariableSet } from './store.js';

/** A set variable as clients see it: `value` is null for a sensitive variable, always. */
export type SetVariable = Omit<StoredSetVariable, 'encryptedValue'>;

/** What a request sets of a variable; on update, what it leaves out stays as it is. */
export interface SetVariableInput {
  key?: string;
  value?: string;
  description?: string;
  category?: Category;
  hcl?: boolean;
  sensitive?: boolean;
}

export interface SetInput {
  name?: string;
  description?: string;
  global?: boolean;
  priority?: boolean;
}

/** A set with what its relationships name. */
export interface SetWithLinks {
  set: VariableSet;
  org: Organization;
  workspaceIds: string[];
  projectIds: string[];
  variableIds: string[];
}

export type LinkKind = 'workspaces' | 'projects';

function pointer(attribute: string): { pointer: string } {
  return { pointer: `/data/attributes/${attribute}` };
}

function present(v: StoredSetVariable): SetVariable {
  return {
    id: v.id,
    variableSetId: v.variableSetId,
    key: v.key,
    value: v.sensitive ? null : v.value,
    category: v.category,
    hcl: v.hcl,
    sensitive: v.sensitive,
    description: v.description,
    versionId: v.versionId,
    createdAt: v.createdAt,
  };
}


function nameTaken(name: string): InvalidError {
  return new InvalidError(`name "${name}" has already been taken`, pointer('name'));
}

export class VariableSetService {
  private readonly cipher: ValueCipher;

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
    private readonly projects: ProjectService,
    /** --secret; sensitive values are sealed under the same key as workspace variables. */
    secret: string,
  ) {
    this.cipher = new ValueCipher(secret);
  }

  // ---------------------------------------------------------------- sets

  /** The set and its organization, when the subject may manage sets there (404 when it cannot see it). */
  private async locate(subject: Subject, id: string, action: 'varset:read' | 'varset:manage'): Promise<{ set: VariableSet; org: Organization }> {
    const set = await store.findSet(this.db, id);
    const org = set ? await this.orgs.byId(set.organizationId) : null;
    if (!set || !org) throw notFound('variable set', id);
    authorize(subject, action, { organizationId: org.id }, () => notFound('variable set', id));
    return { set, org };
  }

  /** What the relationships of these sets name; the workspaces only those the subject can see. */
  async withLinks(subject: Subject, org: Organization, sets: VariableSet[]): Promise<SetWithLinks[]> {
    const ids = sets.map((s) => s.id);
    const [workspaces, projects, variables] = await Promise.all([
      store.linksOf(this.db, 'workspaces', ids),
      store.linksOf(this.db, 'projects', ids),
      store.variablesOf(this.db, ids),
    ]);
    return sets.map((set) => ({
      set,
      org,
      workspaceIds: workspaces.get(set.id)!.filter((w) => isAllowed(subject, 'workspace:read', { organizationId: org.id, workspaceId: w })),
      projectIds: projects.get(set.id)!,
      variableIds: variables.filter((v) => v.variableSetId === set.id).map((v) => v.id),
    }));
  }

  async list(subject: Subject, orgName: string, opts: { search?: string; limit: number; offset: number }): Promise<{ org: Organization; items: VariableSet[]; total: number }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'varset:read', { organizationId: org.id }, () => notFound('organization', orgName));
    return { org, ...(await store.listSets(this.db, store.ofOrganization(org.id), opts)) };
  }

  /** The sets whose variables a workspace's runs get, for who may read the workspace's variables. */
  async listForWorkspace(subject: Subject, workspaceId: string, opts: { search?: string; limit: number; offset: number }): Promise<{ org: Organization; items: VariableSet[]; total: number }> {
    const ws = await this.workspaces.byId(workspaceId);
    if (!ws) throw notFound('workspace', workspaceId);
    authorize(subject, 'variable:read', { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    const org = (await this.orgs.byId(ws.organizationId))!;
    return { org, ...(await store.listSets(this.db, store.ofWorkspace(this.db, ws), opts)) };
  }

  /** The sets applied to a project. */
  async listForProject(subject: Subject, projectId: string, opts: { search?: string; limit: number; offset: number }): Promise<{ org: Organization; items: VariableSet[]; total: number }> {
    const project = await this.projects.byId(projectId);
    const org = project ? await this.orgs.byId(project.organizationId) : null;
    if (!project || !org) throw notFound('project', projectId);
    authorize(subject, 'varset:read', { organizationId: org.id }, () => notFound('project', projectId));
    return { org, ...(await store.listSets(this.db, store.ofProject(this.db, project.id), opts)) };
  }

  async get(subject: Subject, id: string): Promise<{ set: VariableSet; org: Organization }> {
    return this.locate(subject, id, 'varset:read');
  }

  async create(subject: Subject, orgName: string, input: SetInput & { name: string }): Promise<{ set: VariableSet; org: Organization }> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, 'varset:manage', { organizationId: org.id }, () => notFound('organization', orgName));
    checkStorableText('name', input.name);
    if (input.description !== undefined) checkStorableText('description', input.description);
    try {
      const setId = newId('varset');
      const setChange = { action: 'varset.create', resource: { type: 'varsets', id: setId }, organizationId: org.id, details: { name: input.name, global: input.global ?? false } };
      const set = await audited(this.db, (trx) => store.insertSet(trx, {
        id: setId,
        organizationId: org.id,
        name: input.name,
        description: input.description ?? '',
        global: input.global ?? false,
        priority: input.priority ?? false,
      }), setChange);
      return { set, org };
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
  }

  /**
   * Changes the set's attributes and, when given, replaces the workspaces (or projects) it is
   * applied to, all at once. A set made global is applied to everything and keeps no links.
   */
  async update(subject: Subject, id: string, input: SetInput, replace: { workspaces?: string[]; projects?: string[] }): Promise<{ set: VariableSet; org: Organization }> {
    const { org } = await this.locate(subject, id, 'varset:manage');
    if (input.name !== undefined) checkStorableText('name', input.name);
    if (input.description !== undefined) checkStorableText('description', input.description);
    const targets = {
      workspaces: replace.workspaces && (await this.checkTargets(org, 'workspaces', replace.workspaces)),
      projects: replace.projects && (await this.checkTargets(org, 'projects', replace.projects)),
    };
    return this.db.transaction(async (trx) => {
      const current = await store.findSetForUpdate(trx, id);
      if (!current) throw notFound('variable set', id);
      const global = input.global ?? current.global;
      const linking = (targets.workspaces?.length ?? 0) + (targets.projects?.length ?? 0) > 0;
      if (global && linking) throw globalRefusal(current.name);
      let set: VariableSet;
      try {
        set = await store.updateSet(trx, id, input);
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(input.name ?? current.name);
        throw err;
      }
      for (const kind of ['workspaces', 'projects'] as const) {
        const wanted = targets[kind];
        if (global || wanted) await store.unlink(trx, kind, id, 'all');
        if (wanted) await store.link(trx, kind, id, wanted);
      }
      await recordChange(trx, { action: 'varset.update', resource: { type: 'varsets', id }, organizationId: org.id, details: { name: current.name, workspaces: targets.workspaces?.join(','), projects: targets.projects?.join(',') } });
      return { set, org };
    });
  }

  async delete(subject: Subject, id: string): Promise<void> {
    const { set } = await this.locate(subject, id, 'varset:manage');
    const setChange = { action: 'varset.delete', resource: { type: 'varsets', id: set.id }, organizationId: set.organizationId, details: { name: set.name } };
    if (!(await audited(this.db, (trx) => store.removeSet(trx, set.id), (removed) => (removed ? setChange : null)))) throw notFound('variable set', id);
  }

  /** Workspaces or projects by id, which must all be in the organization (404 naming the first that is not). */
  private async checkTargets(org: Organization, kind: LinkKind, ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    const found: Array<Workspace | Project> = kind === 'workspaces' ? await this.workspaces.byIds(unique) : await this.projects.byIds(unique);
    const inOrg = new Set(found.filter((t) => t.organizationId === org.id).map((t) => t.id));
    const missing = unique.find((t) => !inOrg.has(t));
    if (missing !== undefined) throw notFound(kind === 'workspaces' ? 'workspace' : 'project', missing);
    return unique;
  }

  /** Applies the set to more workspaces or projects of its organization (those it has stay). */
  async apply(subject: Subject, id: string, kind: LinkKind, ids: string[]): Promise<void> {
    const { set, org } = await this.locate(subject, id, 'varset:manage');
    if (set.global) throw globalRefusal(set.name);
    const targets = await this.checkTargets(org, kind, ids);
    await audited(this.db, (trx) => store.link(trx, kind, set.id, targets), { action: 'varset.apply', resource: { type: 'varsets', id: set.id }, organizationId: org.id, details: { [kind]: targets.join(',') } });
  }

  /** Removes the set from these workspaces or projects; naming one it is not applied to is harmless. */
  async remove(subject: Subject, id: string, kind: LinkKind, ids: string[]): Promise<void> {
    const { set, org } = await this.locate(subject, id, 'varset:manage');
    if (set.global) throw globalRefusal(set.name);
    const targets = await this.checkTargets(org, kind, ids);
    await audited(this.db, (trx) => store.unlink(trx, kind, set.id, targets), { action: 'varset.remove', resource: { type: 'varsets', id: set.id }, organizationId: org.id, details: { [kind]: targets.join(',') } });
  }

  /** Workspaces and projects by id, for include=. */
  async workspacesByIds(ids: string[]): Promise<Workspace[]> {
    return this.workspaces.byIds([...new Set(ids)]);
  }

  async projectsByIds(ids: string[]): Promise<Project[]> {
    return this.projects.byIds(ids);
  }

  /**
   * What a set is applied to, for whoever may read the set: only the workspaces and projects the
   * subject may read.
   */
  async appliedTo(subject: Subject, id: string): Promise<{ workspaces: Workspace[]; projects: Project[] }> {
    const { set, org } = await this.locate(subject, id, 'varset:read');
    const [links] = await this.withLinks(subject, org, [set]);
    const workspaces = (await this.workspaces.byIds([...new Set(links.workspaceIds)])).filter((w) => isAllowed(subject, 'workspace:read', workspaceScope(w)));
    const projects = isAllowed(subject, 'project:read', { organizationId: org.id }) ? await this.projects.byIds(links.projectIds) : [];
    return { workspaces, projects };
  }

  // ---------------------------------------------------------------- variables

  /** The variables of these sets (for include=vars and the vars list). */
  async variablesOf(setIds: string[]): Promise<SetVariable[]> {
    return (await store.variablesOf(this.db, setIds)).map(present);
  }

  /** The sets a workspace's runs get and their variables, for who may read the workspace's variables. */
  async forWorkspace(subject: Subject, workspaceId: string): Promise<{ org: Organization; items: VariableSet[]; variables: SetVariable[] }> {
    const { org, items } = await this.listForWorkspace(subject, workspaceId, { limit: 1000, offset: 0 });
    return { org, items, variables: await this.variablesOf(items.map((s) => s.id)) };
  }

  async listVariables(subject: Subject, setId: string): Promise<SetVariable[]> {
    const { set } = await this.locate(subject, setId, 'varset:read');
    return this.variablesOf([set.id]);
  }

  private async locateVariable(subject: Subject, setId: string, variableId: string, action: 'varset:read' | 'varset:manage'): Promise<{ set: VariableSet; variable: StoredSetVariable }> {
    const { set } = await this.locate(subject, setId, action);
    const variable = await store.findVariable(this.db, variableId);
    if (!variable || variable.variableSetId !== set.id) throw notFound('variable', variableId);
    return { set, variable };
  }

  async getVariable(subject: Subject, setId: string, variableId: string): Promise<SetVariable> {
    return present((await this.locateVariable(subject, setId, variableId, 'varset:read')).variable);
  }

  async createVariable(subject: Subject, setId: string, input: SetVariableInput & { key: string; category: Category }): Promise<SetVariable> {
    const { set } = await this.locate(subject, setId, 'varset:manage');
    const id = newId('var');
    const fields = newVariableFields(id, input, this.cipher);
    try {
      await audited(this.db, (trx) => store.insertVariable(trx, { id, variableSetId: set.id, ...fields }), { action: 'varset-variable.create', resource: { type: 'vars', id }, organizationId: set.organizationId, details: { varset: set.id, key: input.key, category: input.category, sensitive: input.sensitive ?? false } });
    } catch (err) {
      if (isUniqueViolation(err)) throw keyTaken(set, fields);
      // the set was deleted after we looked it up
      if ((err as { code?: string }).code === '23503') throw notFound('variable set', setId);
      throw err;
    }
    return present((await store.findVariable(this.db, id))!);
  }

  /** Applies the changes to the variable, all or nothing. A sensitive value left out stays as it was. */
  async updateVariable(subject: Subject, setId: string, variableId: string, input: SetVariableInput): Promise<SetVariable> {
    const { set } = await this.locate(subject, setId, 'varset:manage');
    return this.db.transaction(async (trx) => {
      // Locked, so that concurrent updates apply one after the other and none is lost.
      const current = await store.findVariableForUpdate(trx, variableId);
      if (!current || current.variableSetId !== set.id) throw notFound('variable', variableId);
      const fields = changedVariableFields(current, input, this.cipher);
      try {
        await store.updateVariable(trx, variableId, fields);
        await recordChange(trx, { action: 'varset-variable.update', resource: { type: 'vars', id: variableId }, organizationId: set.organizationId, details: { varset: set.id, key: current.key, sensitive: current.sensitive } });
      } catch (err) {
        if (isUniqueViolation(err)) throw keyTaken(set, fields);
        throw err;
      }
      return present((await store.findVariable(trx, variableId))!);
    });
  }

  async deleteVariable(subject: Subject, setId: string, variableId: string): Promise<void> {
    const { set, variable } = await this.locateVariable(subject, setId, variableId, 'varset:manage');
    const change = { action: 'varset-variable.delete', resource: { type: 'vars', id: variable.id }, organizationId: set.organizationId, details: { varset: set.id, key: variable.key } };
    if (!(await audited(this.db, (trx) => store.removeVariable(trx, variable.id), (removed) => (removed ? change : null)))) throw notFound('variable', variableId);
  }

  // ---------------------------------------------------------------- runs

  /**
   * The variables of a run of the workspace, merged by Terraform Cloud's precedence
   * (src/varsets/precedence.ts) from its own variables (`workspaceVariables`, values in clear) and
   * those of the sets it gets; and the run's own variables, less those a priority set overrides.
   * No authorization: the caller has authorized the job. Never log what this returns.
   */
  async forRun<R extends { key: string }>(workspaceId: string, workspaceVariables: RunVariable[], runVariables: R[]): Promise<{ variables: RunVariable[]; runVariables: R[] }> {
    const ws = await this.workspaces.byId(workspaceId);
    if (!ws) return { variables: workspaceVariables, runVariables };
    const sets = await store.allSets(this.db, store.ofWorkspace(this.db, ws));
    const ids = sets.map((s) => s.id);
    const [onWorkspace, onProject, variables] = await Promise.all([
      store.linksOf(this.db, 'workspaces', ids),
      store.linksOf(this.db, 'projects', ids),
      store.variablesOf(this.db, ids),
    ]);
    const scopeOf = (s: VariableSet): SetScope => (onWorkspace.get(s.id)!.includes(ws.id) ? 'workspace' : onProject.get(s.id)!.includes(ws.projectId) ? 'project' : 'global');
    const merged: MergeSet[] = sets.map((s) => ({
      name: s.name,
      priority: s.priority,
      scope: scopeOf(s),
      variables: variables
        .filter((v) => v.variableSetId === s.id)
        .map((v) => ({ key: v.key, value: v.sensitive ? this.decrypt(v) : (v.value ?? ''), category: v.category, hcl: v.hcl, sensitive: v.sensitive })),
    }));
    const result = mergeVariables({ workspace: workspaceVariables, sets: merged, run: runVariables });
    return { variables: result.variables, runVariables: result.run };
  }

  private decrypt(v: StoredSetVariable): string {
    try {
      if (!v.encryptedValue) throw new DecryptionError('the encrypted value is missing');
      return this.cipher.open(v.encryptedValue, v.id);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(
        `cannot decrypt sensitive variable "${v.key}" (${v.id}) of variable set ${v.variableSetId}: ${err.message}; was --secret changed since it was written?`,
      );
    }
  }
}

function globalRefusal(name: string): InvalidError {
  return new InvalidError(`variable set "${name}" is global: it applies to every workspace of its organization already, and cannot be applied to or removed from some of them`);
}

function keyTaken(set: VariableSet, v: { key: string; category: Category }): InvalidError {
  return new InvalidError(`key "${v.key}" has already been taken: variable set "${set.name}" already has a ${v.category} variable of that key`, pointer('key'));
}
