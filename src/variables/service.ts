// Rules of the variables domain: keys per category, HCL only for terraform variables, sensitive
// values encrypted at rest and never shown again, one key per category in a workspace.
import { audited, recordChange } from '../audit/index.js';
import crypto from 'node:crypto';
import { authorize, type Action } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import { isUniqueViolation, type Db } from '../db/index.js';
import { ConflictError, InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { checkStorableText } from '../text.js';
import type { Workspace, WorkspaceService } from '../workspaces/index.js';
import { DecryptionError, ValueCipher } from './encryption.js';
import * as store from './store.js';
import type { Category, StoredVariable, VariableFields } from './store.js';

export type { Category } from './store.js';

/** A variable as clients see it: `value` is null for a sensitive variable, always. */
export type Variable = Omit<StoredVariable, 'encryptedValue' | 'updatedAt'>;

/** What a request sets; on update, what it leaves out stays as it is. */
export interface VariableInput {
  key?: string;
  value?: string;
  description?: string;
  category?: Category;
  hcl?: boolean;
  sensitive?: boolean;
}

/** A variable as a run needs it, with its value decrypted. */
export interface RunVariable {
  key: string;
  value: string;
  category: Category;
  hcl: boolean;
  sensitive: boolean;
}

export const MAX_VALUE_BYTES = 256 * 1024;

/** PostgreSQL error code for foreign key violations. */
const FOREIGN_KEY_VIOLATION = '23503';


/** A variable of the category, with its article, for messages. */
const A_VARIABLE_OF: Record<Category, string> = { terraform: 'a terraform variable', env: 'an environment variable' };

function pointer(attribute: string): { pointer: string } {
  return { pointer: `/data/attributes/${attribute}` };
}

/** The rules every variable obeys once a create or an update is applied (variable sets' too). */
function checkVariable(v: { key: string; category: Category; hcl: boolean }, input: VariableInput): void {
  // Any key, as in Terraform Cloud (a UUID starting with a digit, say): a terraform variable whose
  // key is no terraform name can set nothing, and runs leave it out (src/agent/tfvars.ts). An
  // environment variable's key must still be one an environment can hold.
  checkStorableText('key', v.key);
  if (v.category === 'env' && v.key.includes('=')) {
    throw new InvalidError(`attribute "key" ${JSON.stringify(v.key)} is not a valid environment variable name: it must not contain "="`, pointer('key'));
  }
  if (v.hcl && v.category !== 'terraform') {
    throw new InvalidError('attribute "hcl" can only be true for a terraform variable; an environment variable ("env") is a plain string', pointer('hcl'));
  }
  if (input.value !== undefined) {
    const bytes = Buffer.byteLength(input.value, 'utf8');
    if (bytes > MAX_VALUE_BYTES) {
      throw new InvalidError(`attribute "value" is ${bytes} bytes long; at most ${MAX_VALUE_BYTES} bytes (256 KiB) are allowed`, pointer('value'));
    }
    checkStorableText('value', input.value);
  }
  if (input.description !== undefined) checkStorableText('description', input.description);
}

/** A variable's version-id: a new one with every change, as Terraform Cloud gives. */
function newVersionId(): string {
  return crypto.randomBytes(20).toString('hex');
}

/**
 * What a new variable stores, checked, its value sealed when sensitive (bound to its id). Variable
 * sets' variables are made the same way.
 */
export function newVariableFields(id: string, input: VariableInput & { key: string; category: Category }, cipher: ValueCipher): VariableFields {
  const fields: VariableFields = {
    key: input.key,
    value: null,
    encryptedValue: null,
    category: input.category,
    hcl: input.hcl ?? false,
    sensitive: input.sensitive ?? false,
    description: input.description ?? '',
    versionId: newVersionId(),
  };
  checkVariable(fields, input);
  const value = input.value ?? '';
  if (fields.sensitive) fields.encryptedValue = cipher.seal(value, id);
  else fields.value = value;
  return fields;
}

/** What a variable stores once the changes apply, checked. A sensitive value left out stays as it was. */
export function changedVariableFields(current: VariableFields & { id: string }, input: VariableInput, cipher: ValueCipher): VariableFields {
  if (current.sensitive && input.sensitive === false) {
    throw new InvalidError(
      `variable "${current.key}" is sensitive and cannot be made non-sensitive; delete it and create it again to change that`,
      pointer('sensitive'),
    );
  }
  const fields: VariableFields = {
    key: input.key ?? current.key,
    value: null,
    encryptedValue: null,
    category: input.category ?? current.category,
    hcl: input.hcl ?? current.hcl,
    sensitive: input.sensitive ?? current.sensitive,
    description: input.description ?? current.description,
    versionId: newVersionId(),
  };
  checkVariable(fields, input);
  if (!fields.sensitive) {
    fields.value = input.value ?? current.value ?? '';
  } else if (input.value !== undefined) {
    fields.encryptedValue = cipher.seal(input.value, current.id);
  } else if (current.sensitive) {
    fields.encryptedValue = current.encryptedValue;
  } else {
    // Made sensitive without a new value: the old value is encrypted and its plaintext dropped.
    fields.encryptedValue = cipher.seal(current.value ?? '', current.id);
  }
  return fields;
}

function present(v: StoredVariable): Variable {
  return {
    id: v.id,
    workspaceId: v.workspaceId,
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

export class VariableService {
  private readonly cipher: ValueCipher;

  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspaceService,
    /** --secret; the key of sensitive values is derived from it. */
    secret: string,
  ) {
    this.cipher = new ValueCipher(secret);
  }

  /** The workspace, when the subject may act on its variables; 404 when it cannot see it, 403 when it may not act. */
  private async workspaceFor(subject: Subject, action: Action, workspaceId: string): Promise<Workspace> {
    const ws = await this.workspaces.byId(workspaceId);
    if (!ws) throw notFound('workspace', workspaceId);
    authorize(subject, action, { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('workspace', workspaceId));
    return ws;
  }

  /**
   * A variable and its workspace, when the subject may act on it. With a workspace id (the
   * /workspaces/:id/vars/:var URLs) the variable must belong to that workspace.
   */
  private async locate(subject: Subject, action: Action, variableId: string, workspaceId?: string): Promise<{ ws: Workspace; variable: StoredVariable }> {
    if (workspaceId !== undefined) {
      const ws = await this.workspaceFor(subject, action, workspaceId);
      const variable = await store.findById(this.db, variableId);
      if (!variable || variable.workspaceId !== ws.id) throw notFound('variable', variableId);
      return { ws, variable };
    }
    const variable = await store.findById(this.db, variableId);
    const ws = variable ? await this.workspaces.byId(variable.workspaceId) : null;
    if (!variable || !ws) throw notFound('variable', variableId);
    authorize(subject, action, { organizationId: ws.organizationId, workspaceId: ws.id }, () => notFound('variable', variableId));
    return { ws, variable };
  }

  async list(subject: Subject, workspaceId: string): Promise<Variable[]> {
    const ws = await this.workspaceFor(subject, 'variable:read', workspaceId);
    return (await store.listByWorkspace(this.db, ws.id)).map(present);
  }

  /** The legacy GET /vars: the variables of a workspace named by organization and name. */
  async listByName(subject: Subject, orgName: string, workspaceName: string): Promise<Variable[]> {
    const ws = await this.workspaces.getByName(subject, orgName, workspaceName);
    return this.list(subject, ws.id);
  }

  /** The id of a workspace named by organization and name (the legacy /vars filters), if the subject may see it. */
  async workspaceIdByName(subject: Subject, orgName: string, workspaceName: string): Promise<string> {
    return (await this.workspaces.getByName(subject, orgName, workspaceName)).id;
  }

  async get(subject: Subject, variableId: string, workspaceId?: string): Promise<Variable> {
    return present((await this.locate(subject, 'variable:read', variableId, workspaceId)).variable);
  }

  async create(subject: Subject, workspaceId: string, input: VariableInput & { key: string; category: Category }): Promise<Variable> {
    const ws = await this.workspaceFor(subject, 'variable:update', workspaceId);
    const id = newId('var');
    const fields = newVariableFields(id, input, this.cipher);
    try {
      await audited(this.db, (trx) => store.insert(trx, { id, workspaceId: ws.id, ...fields }), { action: 'variable.create', resource: { type: 'vars', id }, organizationId: ws.organizationId, details: { workspace: ws.id, key: input.key, category: input.category, sensitive: input.sensitive ?? false } });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(ws, fields);
      // the workspace was deleted after we looked it up
      if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw notFound('workspace', workspaceId);
      throw err;
    }
    return present((await store.findById(this.db, id))!);
  }

  /** Applies the changes to the variable, all or nothing. A sensitive value left out stays as it was. */
  async update(subject: Subject, variableId: string, input: VariableInput, workspaceId?: string): Promise<Variable> {
    const { ws } = await this.locate(subject, 'variable:update', variableId, workspaceId);
    return this.db.transaction(async (trx) => {
      // Locked, so that concurrent updates apply one after the other and none is lost.
      const current = await store.findByIdForUpdate(trx, variableId);
      if (!current || current.workspaceId !== ws.id) throw notFound('variable', variableId);
      const fields = changedVariableFields(current, input, this.cipher);
      try {
        await store.update(trx, variableId, fields);
        await recordChange(trx, { action: 'variable.update', resource: { type: 'vars', id: variableId }, organizationId: ws.organizationId, details: { workspace: ws.id, key: current.key, sensitive: current.sensitive } });
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicate(ws, fields);
        throw err;
      }
      return present((await store.findById(trx, variableId))!);
    });
  }

  async delete(subject: Subject, variableId: string, workspaceId?: string): Promise<void> {
    const { ws, variable } = await this.locate(subject, 'variable:update', variableId, workspaceId);
    const change = { action: 'variable.delete', resource: { type: 'vars', id: variable.id }, organizationId: ws.organizationId, details: { workspace: ws.id, key: variable.key } };
    if (!(await audited(this.db, (trx) => store.remove(trx, variable.id), (removed) => (removed ? change : null)))) throw notFound('variable', variableId);
  }

  /**
   * Every variable of the workspace with its value decrypted, for the process that runs a job.
   * No authorization here: the caller has authorized the job. Never log what this returns.
   */
  async forRun(workspaceId: string): Promise<RunVariable[]> {
    const rows = await store.listByWorkspace(this.db, workspaceId);
    return rows.map((v) => ({
      key: v.key,
      value: v.sensitive ? this.decrypt(v) : (v.value ?? ''),
      category: v.category,
      hcl: v.hcl,
      sensitive: v.sensitive,
    }));
  }

  private decrypt(v: StoredVariable): string {
    try {
      if (!v.encryptedValue) throw new DecryptionError('the encrypted value is missing');
      return this.cipher.open(v.encryptedValue, v.id);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(
        `cannot decrypt sensitive variable "${v.key}" (${v.id}) of workspace ${v.workspaceId}: ${err.message}; was --secret changed since it was written?`,
      );
    }
  }
}

function duplicate(ws: Workspace, v: { key: string; category: Category }): ConflictError {
  return new ConflictError(`workspace "${ws.name}" already has ${A_VARIABLE_OF[v.category]} named "${v.key}"`, pointer('key'));
}
