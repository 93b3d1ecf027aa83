// HTTP routes of the SSH keys domain: /organizations/:org/ssh-keys and /ssh-keys/:id.
import { encode, paginate } from '../api/jsonapi.js';
import { body, noContent, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { resourceDocument, Type, validator } from '../api/schema.js';
import { presentSshKey, sshKeyType } from './presenters.js';
import type { SshKeyService } from './service.js';

const name = Type.String({ minLength: 1, maxLength: 256, 'x-message': 'must be a string of 1 to 256 characters' });
// Its length is checked by the service, whose message does not quote the value: it is a secret.
const value = Type.String({ minLength: 1, 'x-message': 'must be the text of an SSH private key' });

const readCreate = validator(resourceDocument('ssh-keys', { attributes: Type.Object({ name, value }) }));
const readUpdate = validator(
  resourceDocument('ssh-keys', { id: Type.Optional(Type.String()), attributes: Type.Optional(Type.Object({ name: Type.Optional(name), value: Type.Optional(value) })) }),
);

export function registerSshKeyRoutes(router: ApiRouter, keys: SshKeyService, site: Site): void {
  // Terraform Cloud does not page this list: every key comes on one page.
  router.get('/organizations/:org/ssh-keys', async (ctx) => {
    const items = await keys.list(subjectOf(ctx), ctx.params.org);
    const page = { number: 1, size: Math.max(items.length, 1) };
    send(ctx, 200, encode(sshKeyType, items.map(presentSshKey), paginate(page, items.length, requestUrl(ctx, site))));
  });

  router.post('/organizations/:org/ssh-keys', async (ctx) => {
    const a = readCreate(body(ctx)).data.attributes;
    const created = await keys.create(subjectOf(ctx), ctx.params.org, { name: a.name, value: a.value });
    send(ctx, 201, encode(sshKeyType, presentSshKey(created)));
  });

  router.get('/ssh-keys/:id', async (ctx) => {
    send(ctx, 200, encode(sshKeyType, presentSshKey(await keys.get(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/ssh-keys/:id', async (ctx) => {
    const a = readUpdate(body(ctx)).data.attributes ?? {};
    const updated = await keys.update(subjectOf(ctx), ctx.params.id, { name: a.name, value: a.value });
    send(ctx, 200, encode(sshKeyType, presentSshKey(updated)));
  });

  router.delete('/ssh-keys/:id', async (ctx) => {
    await keys.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
