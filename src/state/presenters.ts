// How the state domain shows its resources: JSON:API types and presenters of state versions and
// their outputs (with the signed upload URLs handed out with them), and the current state version
// it adds to include= on workspaces. Route files import them from here.
import type { Site } from '../api/http.js';
import { encode, resources, timestamp, type Document, type Resource, type ResourceType, type View } from '../api/jsonapi.js';
import type { UrlSigner } from '../api/signing.js';
import { isAllowed } from '../auth/authorize.js';
import { type WorkspaceIncluder, workspaceScope } from '../workspaces/index.js';
import type { StateOutputRecord, StateService, StateVersion } from './service.js';
import { legacyType } from './statefile.js';

/** How long the upload URLs handed out with a state version stay valid. */
const UPLOAD_URL_TTL_SECONDS = 3600;
/** Purposes of the signed upload URLs, the first segment after /_signed/. */
export const STATE_UPLOAD = 'state-versions';
export const JSON_STATE_UPLOAD = 'state-versions-json';

/** What the links in a state version are made with. */
export interface StateLinks {
  site: Site;
  signer: UrlSigner;
}

export const stateVersionType: ResourceType = {
  type: 'state-versions',
  attributes: [
    'serial',
    'lineage',
    'md5',
    'status',
    'created-at',
    'size',
    'hosted-state-download-url',
    'hosted-json-state-download-url',
    'hosted-state-upload-url',
    'hosted-json-state-upload-url',
    'resources-processed',
    'state-version',
    'terraform-version',
    'vcs-commit-sha',
    'vcs-commit-url',
    'intermediate',
    'resources',
    'providers',
    'modules',
  ],
  relationships: { workspace: 'workspaces', run: 'runs', 'created-by': 'users', outputs: 'state-version-outputs' },
  selfLink: (v) => `/api/v2/state-versions/${v.id}`,
};

const outputType: ResourceType = {
  type: 'state-version-outputs',
  attributes: ['name', 'sensitive', 'type', 'value', 'detailed-type'],
  selfLink: (v) => `/api/v2/state-version-outputs/${v.id}`,
};

/** A workspace's outputs (include=outputs on workspaces): those of its current state version, as TFC names them. */
const workspaceOutputType: ResourceType = { type: 'workspace-outputs', attributes: ['name', 'sensitive', 'output-type', 'value'] };

/** Instance counts by resource type, grouped by module or by provider, as Terraform Cloud shows them. */
function countsBy(version: StateVersion, group: 'module' | 'provider'): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of version.resources) {
    const counts = (out[r[group]] ??= {});
    counts[r.type] = (counts[r.type] ?? 0) + r.count;
  }
  return out;
}

/** Members of a document besides its data: pagination meta and links. */
export interface Extra {
  meta?: Record<string, unknown>;
  links?: Record<string, string | null>;
  included?: Resource[];
}

export function encodeOutputs(outputs: StateOutputRecord | StateOutputRecord[], revealSensitive: boolean, extra: Extra = {}): Document {
  const view = (o: StateOutputRecord): View => ({
    id: o.id,
    name: o.name,
    sensitive: o.sensitive,
    type: legacyType(o.type, o.value),
    value: o.sensitive && !revealSensitive ? null : o.value,
    'detailed-type': o.type,
  });
  return encode(outputType, Array.isArray(outputs) ? outputs.map(view) : view(outputs), extra);
}

function signedUrl(deps: StateLinks, purpose: string, id: string): string {
  return `${deps.site.baseUrl}/_signed/${purpose}/${id}/${deps.signer.sign(purpose, id, UPLOAD_URL_TTL_SECONDS)}`;
}

/** A state version; its upload URLs only for those who may write its state (`writable`). */
export function presentStateVersion(v: StateVersion, deps: StateLinks, writable = false): View {
  const api = `${deps.site.baseUrl}/api/v2/state-versions/${v.id}`;
  return {
    id: v.id,
    serial: v.serial,
    lineage: v.lineage,
    md5: v.md5,
    status: v.status,
    'created-at': timestamp(v.createdAt),
    size: v.size,
    'hosted-state-download-url': v.status === 'finalized' ? `${api}/download` : null,
    'hosted-json-state-download-url': v.jsonStateSize !== null ? `${api}/json-download` : null,
    // A state file is accepted while the version is pending; a JSON state until it is discarded.
    'hosted-state-upload-url': writable && v.status === 'pending' ? signedUrl(deps, STATE_UPLOAD, v.id) : null,
    'hosted-json-state-upload-url': writable && v.status !== 'discarded' ? signedUrl(deps, JSON_STATE_UPLOAD, v.id) : null,
    'resources-processed': true,
    'state-version': v.stateFormatVersion ?? 4,
    'terraform-version': v.terraformVersion,
    'vcs-commit-sha': null,
    'vcs-commit-url': null,
    intermediate: false,
    resources: v.resources,
    providers: countsBy(v, 'provider'),
    modules: countsBy(v, 'module'),
    workspace: { id: v.workspaceId },
    run: v.runId ? { id: v.runId } : null,
    'created-by': { id: v.createdBy.id, type: v.createdBy.type },
    outputs: v.outputIds.map((id) => ({ id })),
  };
}

/** A workspace's current state version, for include=current_state_version on workspaces: to those who may read state. */
export function currentStateIncluder(deps: StateLinks & { state: StateService }): WorkspaceIncluder {
  return async (subject, list) => {
    const ids = list.filter((ws) => ws.currentStateVersionId !== null && isAllowed(subject, 'state:read', workspaceScope(ws))).map((ws) => ws.currentStateVersionId!);
    return resources(stateVersionType, (await deps.state.byIds(ids)).map((v) => presentStateVersion(v, deps)));
  };
}

/**
 * The outputs of a workspace's current state, for include=outputs on workspaces: to those who may
 * read outputs. A sensitive output's value is null, as in the state version's output list.
 */
export function workspaceOutputsIncluder(deps: { state: StateService }): WorkspaceIncluder {
  return async (subject, list) => {
    const ids = list.filter((ws) => ws.currentStateVersionId !== null && isAllowed(subject, 'state:read-outputs', workspaceScope(ws))).map((ws) => ws.currentStateVersionId!);
    const views = (await deps.state.outputsOfVersions(ids)).map(
      (o): View => ({ id: o.id, name: o.name, sensitive: o.sensitive, 'output-type': legacyType(o.type, o.value), value: o.sensitive ? null : o.value }),
    );
    return resources(workspaceOutputType, views);
  };
}
