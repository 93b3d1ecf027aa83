// otf variables: list, set, delete (workspace variables: terraform or env).
import type { Client, Resource } from '../client.js';
import { CliError, type Noun } from '../command.js';
import { attribute, idField, type View } from '../output.js';
import { resolveWorkspace, seg } from '../resolve.js';

const value = { name: 'value', value: (r: Resource) => (r.attributes.sensitive ? '(sensitive)' : r.attributes.value) };

export const variableView: View = {
  columns: [attribute('key'), value, attribute('category'), attribute('hcl'), attribute('sensitive'), idField],
  fields: [idField, attribute('key'), value, attribute('category'), attribute('hcl'), attribute('sensitive'), attribute('description'), attribute('created-at')],
};

const envFlag = { name: 'env', help: 'an environment variable rather than a terraform variable' };

async function variablesOf(api: Client, ws: Resource): Promise<Resource[]> {
  return api.list(`/workspaces/${seg(ws.id)}/vars`);
}

export const variables: Noun = {
  name: 'variables',
  summary: 'terraform and environment variables of a workspace',
  commands: [
    {
      verb: 'list',
      summary: 'List the variables of a workspace (sensitive values are never shown)',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args }) {
        const ws = await resolveWorkspace(api(), args[0]);
        out.list(await variablesOf(api(), ws), variableView);
      },
    },
    {
      verb: 'set',
      summary: 'Create a variable, or change the one of that key and category',
      args: [{ name: '<org>/<ws>' }, { name: '<key>' }, { name: '<value>' }],
      flags: [
        envFlag,
        { name: 'hcl', help: 'the value is an HCL expression' },
        { name: 'sensitive', help: 'write-only: its value is never shown again' },
        { name: 'description', value: '<text>', help: 'what the variable is for' },
      ],
      details: 'A value of "-" is read from standard input (one trailing newline removed), which keeps secrets out of shell history.',
      async run({ api, out, args, flags, stdin }) {
        const [name, key] = args;
        let given = args[2];
        if (given === '-') given = (await stdin()).replace(/\r?\n$/, '');
        const category = flags.on('env') ? 'env' : 'terraform';
        const ws = await resolveWorkspace(api(), name);
        const existing = (await variablesOf(api(), ws)).find((v) => v.attributes.key === key && v.attributes.category === category);
        const attributes: Record<string, unknown> = { key, value: given, category, hcl: flags.on('hcl') };
        // A sensitive variable cannot be made visible again: send sensitive only to turn it on.
        if (flags.on('sensitive')) attributes.sensitive = true;
        if (flags.has('description')) attributes.description = flags.get('description');
        const variable = existing
          ? await api().one('PATCH', `/workspaces/${seg(ws.id)}/vars/${seg(existing.id)}`, { data: { type: 'vars', id: existing.id, attributes } })
          : await api().one('POST', `/workspaces/${seg(ws.id)}/vars`, { data: { type: 'vars', attributes } });
        out.one(variable, variableView);
      },
    },
    {
      verb: 'delete',
      summary: 'Delete a variable of a workspace',
      args: [{ name: '<org>/<ws>' }, { name: '<key>' }],
      flags: [envFlag],
      async run({ api, out, args, flags }) {
        const [name, key] = args;
        const category = flags.on('env') ? 'env' : 'terraform';
        const ws = await resolveWorkspace(api(), name);
        const all = await variablesOf(api(), ws);
        const variable = all.find((v) => v.attributes.key === key && v.attributes.category === category);
        if (!variable) {
          const other = all.find((v) => v.attributes.key === key);
          const hint = other ? (category === 'terraform' ? ` (there is an env variable ${key}: add --env)` : ` (there is a terraform variable ${key}: drop --env)`) : '';
          throw new CliError(`${category} variable "${key}" not found in workspace "${name}"${hint}`);
        }
        await api().request('DELETE', `/workspaces/${seg(ws.id)}/vars/${seg(variable.id)}`);
        out.done(`${category} variable "${key}" deleted from workspace "${name}"`, variable);
      },
    },
  ],
};
