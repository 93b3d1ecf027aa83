// How notification configurations look in the API, as in Terraform Cloud: the token is write-only
// (always null here), delivery-responses are the latest responses with code and successful as
// strings (go-tfe reads them so), and the workspace is the subscribable.
import { timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import type { NotificationConfiguration } from './service.js';

export const notificationConfigurationType: ResourceType = {
  type: 'notification-configurations',
  attributes: ['name', 'enabled', 'destination-type', 'url', 'token', 'triggers', 'email-addresses', 'delivery-responses', 'created-at', 'updated-at'],
  relationships: { subscribable: 'workspaces', users: 'users' },
  selfLink: (v) => `/api/v2/notification-configurations/${v.id}`,
};

export function presentNotificationConfiguration(c: NotificationConfiguration): View {
  return {
    id: c.id,
    name: c.name,
    enabled: c.enabled,
    'destination-type': c.destinationType,
    url: c.url,
    token: null,
    triggers: c.triggers,
    'email-addresses': c.emailAddresses,
    'delivery-responses': c.deliveryResponses.map((r) => ({
      url: r.url,
      body: r.body,
      code: r.code,
      headers: r.headers,
      'sent-at': timestamp(r.sentAt),
      successful: String(r.successful),
    })),
    'created-at': timestamp(c.createdAt),
    'updated-at': timestamp(c.updatedAt),
    subscribable: { id: c.workspaceId },
    users: c.emailUserIds.map((id) => ({ id })),
  };
}
