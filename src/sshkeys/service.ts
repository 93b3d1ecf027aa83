// Rules of the SSH keys domain: an organization's SSH keys, whose private key is write-only. It is
// sealed at rest with the cipher of sensitive variables, bound to the key's id, and leaves otfd
// only in the spec of a job whose workspace uses it (forRun), never through the API or a log.
import { audited } from '../audit/index.js';
import { authorize, type OrganizationAction } from '../auth/authorize.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { InvalidError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import { checkStorableText } from '../text.js';
import { DecryptionError, ValueCipher } from '../variables/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import * as store from './store.js';
import type { StoredSshKey } from './store.js';

/** An SSH key as clients see it: its name, never its value. */
export type SshKey = Omit<StoredSshKey, 'encryptedValue'>;

/** The private key of a workspace, decrypted, for the runner of one of its jobs. */
export interface RunSshKey {
  id: string;
  name: string;
  value: string;
}

/**
 * A private key in OpenSSH or PEM form is a few kilobytes (an RSA key of 16384 bits, the largest
 * ssh-keygen makes, is about 12 KiB); anything far larger is not a key.
 */
export const MAX_KEY_BYTES = 64 * 1024;

/** Text that PostgreSQL, a key file and ssh2 can carry unchanged. The value is never quoted back: it is a secret. */
function checkText(attribute: 'name' | 'value', text: string): void {
  checkStorableText(attribute, text);
  if (attribute === 'value') {
    const pointer = { pointer: '/data/attributes/value' };
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_KEY_BYTES) throw new InvalidError(`attribute "value" is ${bytes} bytes long; a private key may be at most ${MAX_KEY_BYTES} bytes (64 KiB)`, pointer);
    if (text.trim() === '') throw new InvalidError('attribute "value" must be the text of an SSH private key; it is empty', pointer);
  }
}

function present(k: StoredSshKey): SshKey {
  return { id: k.id, organizationId: k.organizationId, name: k.name, createdAt: k.createdAt, updatedAt: k.updatedAt };
}

export class SshKeyService {
  private readonly cipher: ValueCipher;

  constructor(
    private readonly db: Db,
    private readonly orgs: OrganizationService,
    private readonly workspaces: WorkspaceService,
    /** --secret; the key that seals private keys is derived from it, as for sensitive variables. */
    secret: string,
  ) {
    this.cipher = new ValueCipher(secret);
  }

  private async organization(subject: Subject, action: OrganizationAction, orgName: string): Promise<Organization> {
    const org = await this.orgs.resolve(subject, orgName);
    authorize(subject, action, { organizationId: org.id }, () => notFound('organization', orgName));
    return org;
  }

  /** The key, when the subject may take the action on it; 404 when it cannot see it. */
  private async locate(subject: Subject, action: OrganizationAction, id: string): Promise<StoredSshKey> {
    const key = await store.findById(this.db, id);
    if (!key) throw notFound('ssh key', id);
    authorize(subject, action, { organizationId: key.organizationId }, () => notFound('ssh key', id));
    return key;
  }

  async list(subject: Subject, orgName: string): Promise<SshKey[]> {
    const org = await this.organization(subject, 'ssh-key:read', orgName);
    return (await store.listByOrganization(this.db, org.id)).map(present);
  }

  async get(subject: Subject, id: string): Promise<SshKey> {
    return present(await this.locate(subject, 'ssh-key:read', id));
  }

  /**
   * Any text is taken as the value, as Terraform Cloud takes it (go-tfe's own tests store random
   * strings): a value that is no private key fails the runs that need it, at init, saying so.
   */
  async create(subject: Subject, orgName: string, input: { name: string; value: string }): Promise<SshKey> {
    const org = await this.organization(subject, 'ssh-key:manage', orgName);
    checkText('name', input.name);
    checkText('value', input.value);
    const id = newId('sshkey');
    await audited(this.db, (trx) => store.insert(trx, { id, organizationId: org.id, name: input.name, encryptedValue: this.cipher.seal(input.value, id) }), { action: 'ssh-key.create', resource: { type: 'ssh-keys', id }, organizationId: org.id, details: { name: input.name } });
    return present((await store.findById(this.db, id))!);
  }

  async update(subject: Subject, id: string, input: { name?: string; value?: string }): Promise<SshKey> {
    const key = await this.locate(subject, 'ssh-key:manage', id);
    if (input.name !== undefined) checkText('name', input.name);
    if (input.value !== undefined) checkText('value', input.value);
    const keyChange = { action: 'ssh-key.update', resource: { type: 'ssh-keys', id: key.id }, organizationId: key.organizationId, details: { name: input.name ?? key.name, 'new-key': input.value !== undefined } };
    await audited(this.db, (trx) => store.update(trx, key.id, {
      name: input.name,
      encryptedValue: input.value !== undefined ? this.cipher.seal(input.value, key.id) : undefined,
    }), keyChange);
    const updated = await store.findById(this.db, key.id);
    if (!updated) throw notFound('ssh key', id);
    return present(updated);
  }

  /** Deletes the key; workspaces that used it have none afterwards. */
  async delete(subject: Subject, id: string): Promise<void> {
    const key = await this.locate(subject, 'ssh-key:manage', id);
    const keyChange = { action: 'ssh-key.delete', resource: { type: 'ssh-keys', id: key.id }, organizationId: key.organizationId, details: { name: key.name } };
    if (!(await audited(this.db, (trx) => store.remove(trx, key.id), (removed) => (removed ? keyChange : null)))) throw notFound('ssh key', id);
  }

  /**
   * For the workspaces domain (connected in src/server.ts): a key may be given only to a workspace
   * of its own organization. Another organization's key is as absent as one that does not exist.
   */
  readonly checkAssignable = async (organizationId: string, keyId: string): Promise<void> => {
    const key = await store.findById(this.db, keyId);
    if (!key || key.organizationId !== organizationId) throw notFound('ssh key', keyId);
  };

  /**
   * The workspace's SSH key with its value decrypted, or null when it has none, for the process
   * that runs one of its jobs. No authorization: the caller has authorized the job. Never log it.
   */
  async forRun(workspaceId: string): Promise<RunSshKey | null> {
    const ws = await this.workspaces.byId(workspaceId);
    if (!ws?.sshKeyId) return null;
    const key = await store.findById(this.db, ws.sshKeyId);
    if (!key) return null;
    try {
      return { id: key.id, name: key.name, value: this.cipher.open(key.encryptedValue, key.id) };
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(`cannot decrypt SSH key "${key.name}" (${key.id}): ${err.message}; was --secret changed since it was written?`);
    }
  }
}
