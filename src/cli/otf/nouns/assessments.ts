// otf assessments: a workspace's health assessments (drift detection): list, show, run.
import type { Resource } from '../client.js';
import { UsageError, type Noun } from '../command.js';
import { attribute, idField, type Field, type View } from '../output.js';
import { idPath, resolveWorkspace, seg } from '../resolve.js';

const drifted: Field = {
  name: 'drifted-resources',
  value: (r) => {
    const list = r.attributes['drifted-resources'];
    return Array.isArray(list) ? list.join(', ') : '';
  },
};

export const assessmentView: View = {
  columns: [idField, attribute('status'), attribute('created-at'), attribute('resources-drifted', 'drifted-count'), drifted],
  fields: [
    idField,
    attribute('status'),
    attribute('drifted'),
    attribute('succeeded'),
    attribute('error-msg'),
    attribute('created-at'),
    attribute('finished-at'),
    attribute('resources-drifted'),
    attribute('resources-undrifted'),
    drifted,
    { name: 'run', value: (r) => (r.relationships?.run?.data as { id?: string } | null | undefined)?.id ?? '' },
  ],
};

/** How often `run --wait` asks whether the assessment has finished. */
const POLL_MS = 1000;

/** Exit codes of `run --wait`, as terraform plan -detailed-exitcode: 0 no drift, 2 drift, 1 failed. */
function exitCodeOf(r: Resource): number {
  const status = r.attributes.status;
  if (status === 'no_drift') return 0;
  if (status === 'drifted') return 2;
  return 1;
}

export const assessments: Noun = {
  name: 'assessments',
  summary: 'health assessments (drift detection) of a workspace',
  commands: [
    {
      verb: 'list',
      summary: 'List the health assessments of a workspace, newest first',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'limit', value: '<n>', help: 'at most this many (default 20; 0: all)' }],
      async run({ api, out, args, flags }) {
        const raw = flags.get('limit') ?? '20';
        if (!/^\d+$/.test(raw)) throw new UsageError(`--limit: "${raw}" is not a whole number`);
        const limit = Number(raw) === 0 ? Infinity : Number(raw);
        const ws = await resolveWorkspace(api(), args[0]);
        out.list(await api().list(`/workspaces/${seg(ws.id)}/assessment-results`, limit), assessmentView);
      },
    },
    {
      verb: 'show',
      summary: "Show a workspace's current (latest finished) assessment, or one assessment by id",
      args: [{ name: '<org>/<ws> | <asmtres-id>' }],
      async run({ api, out, args }) {
        if (args[0].startsWith('asmtres-')) {
          out.one(await api().get(idPath('/assessment-results', args[0], 'an assessment result')), assessmentView);
          return;
        }
        const ws = await resolveWorkspace(api(), args[0]);
        out.one(await api().get(`/workspaces/${seg(ws.id)}/current-assessment-result`), assessmentView);
      },
    },
    {
      verb: 'run',
      summary: 'Assess a workspace now (a refresh-only plan on its runner); workspace admins only',
      args: [{ name: '<org>/<ws>' }],
      flags: [{ name: 'wait', help: 'wait for the result; exit code 0 no drift, 2 drifted, 1 failed' }],
      details: 'Refused while a run holds the workspace, and for workspaces without a state or with local execution.',
      async run({ api, out, args, flags }) {
        const ws = await resolveWorkspace(api(), args[0]);
        const started = await api().one('POST', `/workspaces/${seg(ws.id)}/actions/assess`);
        if (!flags.on('wait')) {
          out.done(`assessment ${started.id} of ${args[0]} started`, started);
          return 0;
        }
        let result = started;
        while (result.attributes.status === 'running') {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          result = await api().get(idPath('/assessment-results', started.id, 'an assessment result'));
        }
        out.one(result, assessmentView);
        return exitCodeOf(result);
      },
    },
  ],
};
