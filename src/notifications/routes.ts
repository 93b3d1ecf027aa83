// HTTP routes of the notifications domain: /workspaces/:id/notification-configurations and
// /notification-configurations/:id (+ actions/verify), as Terraform Cloud has them.
import { encode } from '../api/jsonapi.js';
import { body, noContent, send, subjectOf, type ApiRouter } from '../api/http.js';
import { nullable, resourceDocument, stringEnum, toMany, Type, validator } from '../api/schema.js';
import { notificationConfigurationType, presentNotificationConfiguration } from './presenters.js';
import { LIMITS, type ConfigurationInput, type NotificationService } from './service.js';
import { DESTINATION_TYPES } from './store.js';

// Lengths beyond the limits are told by the service, which names the limit; these only keep absurd
// documents out before any work is done.
const attributes = {
  name: Type.String({ minLength: 1, maxLength: 4096, 'x-message': 'must be a string of 1 to 256 characters' }),
  enabled: Type.Boolean(),
  'destination-type': stringEnum(DESTINATION_TYPES),
  url: nullable(Type.String({ maxLength: 8192, 'x-message': 'must be an http:// or https:// URL of at most 2048 characters' })),
  token: nullable(Type.String({ maxLength: 8192, 'x-message': `must be a string of at most ${LIMITS.token} characters` })),
  triggers: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 64, 'x-message': 'must be a list of triggers' }),
  'email-addresses': Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 1000, 'x-message': 'must be a list of email addresses' }),
};

const optional = Type.Object({
  name: Type.Optional(attributes.name),
  enabled: Type.Optional(attributes.enabled),
  'destination-type': Type.Optional(attributes['destination-type']),
  url: Type.Optional(attributes.url),
  token: Type.Optional(attributes.token),
  triggers: Type.Optional(attributes.triggers),
  'email-addresses': Type.Optional(attributes['email-addresses']),
});

const relationships = Type.Optional(Type.Object({ users: Type.Optional(toMany('users', 1000)) }));

const readCreate = validator(
  resourceDocument('notification-configurations', {
    attributes: Type.Object({ ...optional.properties, name: attributes.name, 'destination-type': attributes['destination-type'] }),
    relationships,
  }),
);
const readUpdate = validator(resourceDocument('notification-configurations', { id: Type.Optional(Type.String()), attributes: Type.Optional(optional), relationships }));

function input(doc: { data: { attributes?: Partial<Record<keyof typeof attributes, unknown>>; relationships?: { users?: { data: Array<{ id: string }> } } } }): ConfigurationInput {
  const a = (doc.data.attributes ?? {}) as {
    name?: string;
    enabled?: boolean;
    'destination-type'?: ConfigurationInput['destinationType'];
    url?: string | null;
    token?: string | null;
    triggers?: string[];
    'email-addresses'?: string[];
  };
  return {
    name: a.name,
    enabled: a.enabled,
    destinationType: a['destination-type'],
    url: a.url,
    token: a.token,
    triggers: a.triggers,
    emailAddresses: a['email-addresses'],
    emailUserIds: doc.data.relationships?.users?.data.map((u) => u.id),
  };
}

export function registerNotificationRoutes(router: ApiRouter, service: NotificationService): void {
  // Terraform Cloud pages this list; a workspace has at most 20, so one page holds them all.
  router.get('/workspaces/:id/notification-configurations', async (ctx) => {
    const items = await service.list(subjectOf(ctx), ctx.params.id);
    const meta = { pagination: { 'current-page': 1, 'prev-page': null, 'next-page': null, 'total-pages': 1, 'total-count': items.length, 'page-size': Math.max(items.length, 1) } };
    send(ctx, 200, encode(notificationConfigurationType, items.map(presentNotificationConfiguration), { meta }));
  });

  router.post('/workspaces/:id/notification-configurations', async (ctx) => {
    const created = await service.create(subjectOf(ctx), ctx.params.id, input(readCreate(body(ctx))));
    send(ctx, 201, encode(notificationConfigurationType, presentNotificationConfiguration(created)));
  });

  router.get('/notification-configurations/:id', async (ctx) => {
    send(ctx, 200, encode(notificationConfigurationType, presentNotificationConfiguration(await service.get(subjectOf(ctx), ctx.params.id))));
  });

  router.patch('/notification-configurations/:id', async (ctx) => {
    const updated = await service.update(subjectOf(ctx), ctx.params.id, input(readUpdate(body(ctx))));
    send(ctx, 200, encode(notificationConfigurationType, presentNotificationConfiguration(updated)));
  });

  router.delete('/notification-configurations/:id', async (ctx) => {
    await service.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  router.post('/notification-configurations/:id/actions/verify', async (ctx) => {
    send(ctx, 200, encode(notificationConfigurationType, presentNotificationConfiguration(await service.verify(subjectOf(ctx), ctx.params.id))));
  });
}
