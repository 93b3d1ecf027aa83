// otf vcs-providers: an organization's VCS providers (Terraform Cloud's OAuth clients), made with
// an access token of GitHub, GitLab or Forgejo. The token is read from standard input or a file,
// never from the command line, whose arguments other users of the machine can read.
import fs from 'node:fs';
import { SERVICE_PROVIDERS } from '../../../vcs/types.js';
import { relatedIds, type Resource } from '../client.js';
import { CliError, UsageError, type Noun } from '../command.js';
import { attribute, idField, type View } from '../output.js';
import { idPath, seg } from '../resolve.js';

const tokenIds = { name: 'oauth-token', value: (r: Resource) => relatedIds(r, 'oauth-tokens') };

export const vcsProviderView: View = {
  columns: [idField, attribute('name'), attribute('service-provider'), attribute('http-url'), tokenIds],
  fields: [
    idField,
    attribute('name'),
    attribute('service-provider'),
    attribute('service-provider-display-name'),
    attribute('api-url'),
    attribute('http-url'),
    // The id workspaces connect with (otf workspaces connect-vcs --oauth-token-id).
    tokenIds,
    attribute('created-at'),
  ],
};

/** The token from --token-file, or else standard input; surrounding white space (a final newline) removed. */
async function readToken(file: string | undefined, stdin: () => Promise<string>): Promise<string> {
  let text: string;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    text = await stdin();
  }
  const token = text.trim();
  if (token === '') {
    throw new UsageError(`no access token: give it on standard input or in a file named by --token-file${file === undefined ? '' : ` (${file} is empty)`}`);
  }
  return token;
}

export const vcsProviders: Noun = {
  name: 'vcs-providers',
  summary: "an organization's VCS providers (GitHub, GitLab, Forgejo) and the access tokens otfd uses with them",
  commands: [
    {
      verb: 'list',
      summary: 'List the VCS providers of an organization',
      flags: [{ name: 'organization', value: '<org>', help: 'the organization', required: true }],
      async run({ api, out, flags }) {
        out.list(await api().list(`/organizations/${seg(flags.get('organization')!)}/oauth-clients`), vcsProviderView);
      },
    },
    {
      verb: 'create',
      summary: 'Create a VCS provider with an access token of the provider (read from stdin or --token-file)',
      flags: [
        { name: 'organization', value: '<org>', help: 'the organization', required: true },
        { name: 'service-provider', value: '<provider>', help: 'which provider', required: true, choices: SERVICE_PROVIDERS },
        { name: 'name', value: '<name>', help: 'a name to tell it by' },
        { name: 'api-url', value: '<url>', help: "the provider's API, e.g. https://github.example.com/api/v3 (github and gitlab_hosted have theirs)" },
        { name: 'http-url', value: '<url>', help: "the provider's web pages, e.g. https://github.example.com" },
        { name: 'token-file', value: '<path>', help: 'a file holding the access token (else it is read from standard input)' },
      ],
      details:
        'The access token is never an argument (other users can read a process\'s arguments): pipe it in, e.g.\n' +
        '  otf vcs-providers create --organization acme --service-provider github < token.txt\n' +
        'It is write-only: otfd never shows it again. The provider\'s oauth-token id is what workspaces connect with.',
      async run({ api, out, flags, stdin }) {
        const token = await readToken(flags.get('token-file'), stdin);
        const attributes: Record<string, unknown> = { 'service-provider': flags.get('service-provider'), 'oauth-token-string': token };
        if (flags.has('name')) attributes.name = flags.get('name');
        if (flags.has('api-url')) attributes['api-url'] = flags.get('api-url');
        if (flags.has('http-url')) attributes['http-url'] = flags.get('http-url');
        const client = await api().one('POST', `/organizations/${seg(flags.get('organization')!)}/oauth-clients`, { data: { type: 'oauth-clients', attributes } });
        out.one(client, vcsProviderView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a VCS provider and its token; workspaces connected through it lose their connection',
      args: [{ name: '<oauth-client-id>' }],
      async run({ api, out, args }) {
        const path = idPath('/oauth-clients', args[0], 'a VCS provider (oauth client)');
        const client = await api().get(path);
        await api().request('DELETE', path);
        const name = client.attributes.name;
        out.done(`VCS provider ${client.id}${typeof name === 'string' && name !== '' ? ` ("${name}")` : ''} deleted`, client);
      },
    },
  ],
};
