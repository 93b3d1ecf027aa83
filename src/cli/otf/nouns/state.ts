// otf state: list, download, rollback.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { relatedId } from '../client.js';
import { CliError, UsageError, type Noun } from '../command.js';
import { attribute, idField, type View } from '../output.js';
import { resolveWorkspace, seg } from '../resolve.js';

export const stateVersionView: View = {
  columns: [idField, attribute('serial'), attribute('status'), attribute('created-at'), { name: 'run', value: (r) => relatedId(r, 'run') }, attribute('terraform-version')],
  fields: [
    idField,
    attribute('serial'),
    attribute('lineage'),
    attribute('status'),
    attribute('md5'),
    attribute('size'),
    attribute('terraform-version'),
    { name: 'workspace', value: (r) => relatedId(r, 'workspace') },
    { name: 'run', value: (r) => relatedId(r, 'run') },
    attribute('created-at'),
  ],
};

function statePath(id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new UsageError(`"${id}" is not a state version id (sv-...)`);
  return `/state-versions/${seg(id)}`;
}

export const state: Noun = {
  name: 'state',
  summary: 'state versions of a workspace',
  commands: [
    {
      verb: 'list',
      summary: 'List the state versions of a workspace, newest first',
      args: [{ name: '<org>/<ws>' }],
      async run({ api, out, args }) {
        const ws = await resolveWorkspace(api(), args[0]);
        out.list(await api().list(`/workspaces/${seg(ws.id)}/state-versions`), stateVersionView);
      },
    },
    {
      verb: 'download',
      summary: 'Write the state file of a state version to stdout or a file',
      args: [{ name: '<state-version-id>' }],
      flags: [{ name: 'output', value: '<file>', help: 'write it to this file instead of stdout' }],
      details: 'With --json (which needs --output, stdout being the state otherwise) it prints the state version.',
      async run({ api, out, args, flags, json }) {
        const path = statePath(args[0]);
        const file = flags.get('output');
        if (json && file === undefined) throw new UsageError('--json needs --output <file>: without it the state file itself goes to stdout');
        const version = await api().get(path);
        const res = await api().download(`${path}/download`);
        if (file === undefined) {
          for await (const chunk of res) out.write(chunk as Buffer);
          return;
        }
        try {
          await pipeline(res, fs.createWriteStream(file));
        } catch (err) {
          throw new CliError(`writing ${file}: ${(err as Error).message}`);
        }
        out.done(`wrote state version ${version.id} (serial ${String(version.attributes.serial)}, ${fs.statSync(file).size} bytes) to ${file}`, version);
      },
    },
    {
      verb: 'rollback',
      summary: 'Make a copy of an earlier state version the current state of its workspace',
      args: [{ name: '<state-version-id>' }],
      async run({ api, out, args }) {
        out.one(await api().one('POST', `${statePath(args[0])}/actions/rollback`), stateVersionView);
      },
    },
  ],
};
