// otf notifications: list, create, show, delete, verify (a workspace's notification configurations).
// A generic destination's token is a secret: it is read from standard input or a file, never from
// the command line, where other users of the machine and the shell history would see it.
import fs from 'node:fs';
import { relatedIds, type Resource } from '../client.js';
import { CliError, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { idPath, resolveWorkspace, seg } from '../resolve.js';

interface DeliveryResponse {
  code: string;
  successful: string;
  'sent-at': string;
  body: string;
}

function responses(r: Resource): DeliveryResponse[] {
  const list = r.attributes['delivery-responses'];
  return Array.isArray(list) ? (list as DeliveryResponse[]) : [];
}

/** The newest response, in one line: "200 ok at 2026-...", or "-". */
const lastDelivery: Field = {
  name: 'last-delivery',
  value: (r) => {
    const last = responses(r)[0];
    if (!last) return null;
    return `${last.successful === 'true' ? 'delivered' : 'failed'} (${last.code === '0' ? 'no answer' : last.code}) at ${last['sent-at']}: ${last.body.slice(0, 120)}`;
  },
};

export const notificationView: View = {
  columns: [idField, attribute('name'), attribute('destination-type', 'type'), attribute('enabled'), attribute('triggers'), lastDelivery],
  fields: [
    idField,
    attribute('name'),
    attribute('destination-type'),
    attribute('enabled'),
    attribute('url'),
    attribute('triggers'),
    attribute('email-addresses'),
    { name: 'email-users', value: (r) => relatedIds(r, 'users') },
    { name: 'deliveries', value: (r) => responses(r).length },
    lastDelivery,
    attribute('created-at'),
    attribute('updated-at'),
  ],
};

/** /notification-configurations/:id; an id only (nc-...), so that a typo is not sent as a path. */
const configPath = (id: string) => idPath('/notification-configurations', id, 'a notification configuration');

export const notifications: Noun = {
  name: 'notifications',
  summary: 'notification configurations of a workspace: webhooks, Slack, Microsoft Teams, email',
  commands: [
    {
      verb: 'list',
      summary: 'List the notification configurations of a workspace, with their last delivery',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args }) {
        const ws = await resolveWorkspace(api(), args[0]);
        out.list(await api().list(`/workspaces/${seg(ws.id)}/notification-configurations`), notificationView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a notification configuration',
      args: [{ name: '<org>/<ws>' }, { name: '<name>' }],
      flags: [
        { name: 'type', value: '<type>', help: 'the destination', required: true, choices: ['generic', 'slack', 'microsoft-teams', 'email'] },
        { name: 'url', value: '<url>', help: 'where generic, slack and microsoft-teams notifications are posted' },
        { name: 'trigger', value: '<trigger>', repeatable: true, help: 'an event to notify of (run:created, run:planning, run:needs_attention, run:applying, run:completed, run:errored, assessment:drifted, assessment:failed, assessment:check_failure)' },
        { name: 'email', value: '<address>', repeatable: true, help: 'an address email notifications go to' },
        { name: 'email-user', value: '<user-id>', repeatable: true, help: 'a member of the organization email notifications go to' },
        { name: 'token-file', value: '<path>', help: 'a file holding the token that signs generic payloads ("-": standard input)' },
        { name: 'disabled', help: 'create it disabled (it sends nothing until enabled)' },
      ],
      details:
        'The configuration is enabled unless --disabled. A generic destination with a token gets X-TFE-Notification-Signature: the HMAC-SHA512 of the body under the token. The token is read from --token-file (or standard input with "-"; one trailing newline removed), never from the command line.',
      async run({ api, out, args, flags, stdin }) {
        const [name, configName] = args;
        const attributes: Record<string, unknown> = {
          name: configName,
          'destination-type': flags.get('type'),
          enabled: !flags.on('disabled'),
          triggers: flags.all('trigger'),
        };
        if (flags.has('url')) attributes.url = flags.get('url');
        if (flags.has('email')) attributes['email-addresses'] = flags.all('email');
        const tokenFile = flags.get('token-file');
        if (tokenFile !== undefined) {
          let token: string;
          try {
            token = tokenFile === '-' ? await stdin() : fs.readFileSync(tokenFile, 'utf8');
          } catch (err) {
            throw new CliError(`--token-file: cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
          token = token.replace(/\r?\n$/, '');
          if (token === '') throw new CliError(`--token-file: ${tokenFile === '-' ? 'standard input' : tokenFile} is empty`);
          attributes.token = token;
        }
        const data: Record<string, unknown> = { type: 'notification-configurations', attributes };
        if (flags.has('email-user')) data.relationships = { users: { data: flags.all('email-user').map((id) => ({ type: 'users', id })) } };
        const ws = await resolveWorkspace(api(), name);
        out.one(await api().one('POST', `/workspaces/${seg(ws.id)}/notification-configurations`, { data }), notificationView);
      },
    },
    {
      verb: 'show',
      summary: 'Show a notification configuration and its last delivery',
      args: [{ name: '<id>' }],
      async run({ api, out, args }) {
        out.one(await api().get(configPath(args[0])), notificationView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a notification configuration',
      args: [{ name: '<id>' }],
      async run({ api, out, args }) {
        const path = configPath(args[0]);
        const config = out.json ? await api().get(path) : null;
        await api().request('DELETE', path);
        out.done(`notification configuration ${args[0]} deleted`, config);
      },
    },
    {
      verb: 'verify',
      summary: 'Send a test notification now and show what came back',
      args: [{ name: '<id>' }],
      details: 'Exit code 0 when the destination accepted it, 1 otherwise.',
      async run({ api, out, args }) {
        const config = await api().one('POST', `${configPath(args[0])}/actions/verify`, {});
        out.one(config, notificationView);
        return responses(config)[0]?.successful === 'true' ? 0 : 1;
      },
    },
  ],
};
