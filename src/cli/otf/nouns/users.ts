// otf users and user-tokens: the accounts the site administrator makes (/admin/users), and the API
// tokens of a user.
import type { Client, Resource } from '../client.js';
import type { Command, FlagSpec, Noun } from '../command.js';
import { attribute, idField, type Output, type View } from '../output.js';
import { idPath, seg } from '../resolve.js';

export const userView: View = {
  columns: [attribute('username'), idField, attribute('email')],
  fields: [idField, attribute('username'), attribute('email'), attribute('is-service-account')],
};

/** User and team tokens: the secret is shown once, by create. */
export const apiTokenView: View = {
  columns: [idField, attribute('description'), attribute('created-at'), attribute('last-used-at'), attribute('expired-at', 'expires-at')],
  fields: [idField, attribute('description'), attribute('created-at'), attribute('last-used-at'), attribute('expired-at', 'expires-at')],
};

export const expiresFlag: FlagSpec = { name: 'expires', value: '<RFC3339>', help: 'when the token stops working, e.g. 2030-01-31T00:00:00Z (default: never)' };

/** The user by id or username (GET /users/:id takes both). */
export function resolveUser(api: Client, idOrName: string): Promise<Resource> {
  return api.get(`/users/${seg(idOrName)}`);
}

/** Prints a token's secret, only it: the whole resource with --json. */
export function printSecret(out: Output, token: Resource): void {
  if (out.json) out.printJson(token);
  else out.line(String(token.attributes.token));
}

/** `<noun> delete <token-id>` through /authentication-tokens/:id, which holds tokens of every kind. */
export function deleteTokenCommand(what: string): Command {
  return {
    verb: 'delete',
    summary: `Delete ${what}; it stops working at once`,
    args: [{ name: '<token-id>' }],
    async run({ api, out, args }) {
      const path = idPath('/authentication-tokens', args[0], what);
      const token = await api().get(path);
      await api().request('DELETE', path);
      out.done(`${what.replace(/^an? /, '')} ${token.id} deleted`, token);
    },
  };
}

export const users: Noun = {
  name: 'users',
  summary: 'user accounts (made and deleted by the site administrator)',
  commands: [
    {
      verb: 'list',
      summary: 'List every user (site token)',
      flags: [{ name: 'search', value: '<text>', help: 'only users whose username or email contains it' }],
      async run({ api, out, flags }) {
        const search = flags.get('search');
        out.list(await api().list(`/admin/users${search ? `?q=${seg(search)}` : ''}`), userView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a user (site token); give it a token with otf user-tokens create',
      args: [{ name: '<username>' }],
      flags: [{ name: 'email', value: '<email>', help: "the user's email; invitations to it become memberships", required: true }],
      async run({ api, out, args, flags }) {
        const user = await api().one('POST', '/admin/users', { data: { type: 'users', attributes: { username: args[0], email: flags.get('email') } } });
        out.one(user, userView);
      },
    },
    {
      verb: 'show',
      summary: 'Show a user, by username or id',
      args: [{ name: '<username-or-id>' }],
      async run({ api, out, args }) {
        out.one(await resolveUser(api(), args[0]), userView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a user with its tokens and memberships (site token)',
      args: [{ name: '<username-or-id>' }],
      async run({ api, out, args }) {
        const user = await resolveUser(api(), args[0]);
        await api().request('DELETE', `/admin/users/${seg(user.id)}`);
        out.done(`user "${String(user.attributes.username)}" deleted`, user);
      },
    },
  ],
};

export const userTokens: Noun = {
  name: 'user-tokens',
  summary: "API tokens of a user: its own, or anybody's with the site token",
  commands: [
    {
      verb: 'list',
      summary: 'List the tokens of a user',
      args: [{ name: '<user>' }],
      async run({ api, out, args }) {
        out.list(await api().list(`/users/${seg(args[0])}/authentication-tokens`), apiTokenView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a token of a user and print its secret (shown only this once)',
      args: [{ name: '<user>' }],
      flags: [{ name: 'description', value: '<text>', help: 'what the token is for' }, expiresFlag],
      details: 'Prints only the secret, for OTF_TOKEN or a terraform credentials block; with --json, the whole resource.',
      async run({ api, out, args, flags }) {
        const attributes: Record<string, unknown> = {};
        if (flags.has('description')) attributes.description = flags.get('description');
        if (flags.has('expires')) attributes['expired-at'] = flags.get('expires');
        const token = await api().one('POST', `/users/${seg(args[0])}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes } });
        printSecret(out, token);
      },
    },
    deleteTokenCommand('a user token'),
  ],
};
