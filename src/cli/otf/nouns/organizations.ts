// otf organizations: list, show, create, delete.
import type { Noun } from '../command.js';
import { attribute, type View } from '../output.js';
import { seg } from '../resolve.js';

export const organizationView: View = {
  columns: [attribute('name'), attribute('email'), attribute('default-execution-mode', 'execution-mode'), attribute('created-at')],
  fields: [
    attribute('name'),
    attribute('email'),
    attribute('external-id'),
    attribute('default-execution-mode'),
    attribute('cost-estimation-enabled'),
    attribute('session-timeout'),
    attribute('created-at'),
  ],
};

export const organizations: Noun = {
  name: 'organizations',
  summary: 'organizations, which hold projects, workspaces and agent pools',
  commands: [
    {
      verb: 'list',
      summary: 'List the organizations the token can see',
      async run({ api, out }) {
        out.list(await api().list('/organizations'), organizationView);
      },
    },
    {
      verb: 'show',
      summary: 'Show an organization',
      args: [{ name: '<name>' }],
      async run({ api, out, args }) {
        out.one(await api().get(`/organizations/${seg(args[0])}`), organizationView);
      },
    },
    {
      verb: 'create',
      summary: 'Create an organization (site token)',
      args: [{ name: '<name>' }],
      flags: [{ name: 'email', value: '<email>', help: "the organization's contact email", required: true }],
      async run({ api, out, args, flags }) {
        const org = await api().one('POST', '/organizations', {
          data: { type: 'organizations', attributes: { name: args[0], email: flags.get('email') } },
        });
        out.one(org, organizationView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete an organization with everything under it',
      args: [{ name: '<name>' }],
      async run({ api, out, args }) {
        const path = `/organizations/${seg(args[0])}`;
        const org = await api().get(path);
        await api().request('DELETE', path);
        out.done(`organization "${org.id}" deleted`, org);
      },
    },
  ],
};
