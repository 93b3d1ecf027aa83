// How SSH keys look in the API: a name and nothing of the private key, which is write-only.
import type { ResourceType, View } from '../api/jsonapi.js';
import type { SshKey } from './service.js';

export const sshKeyType: ResourceType = {
  type: 'ssh-keys',
  attributes: ['name'],
  selfLink: (v) => `/api/v2/ssh-keys/${v.id}`,
};

export function presentSshKey(k: SshKey): View {
  return { id: k.id, name: k.name };
}
