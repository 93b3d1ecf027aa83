// HTTP routes of the state domain: state versions and their outputs under /api/v2, and the signed
// upload URLs (no bearer token) under /_signed.
import buffer from 'node:buffer';
import type Router from '@koa/router';
import { encode, pageOffset, paginate, parsePage, queryValue, resources, timestamp, type Document, type ResourceType, type View } from '../api/jsonapi.js';
import { limitedBody } from '../api/body.js';
import { body, query, requestUrl, send, subjectOf, type ApiRouter, type AppState, type Ctx, type Site } from '../api/http.js';
import type { UrlSigner } from '../api/signing.js';
import { resourceDocument, validator } from '../api/validate.js';
import { isAllowed } from '../auth/authorize.js';
import { BadRequestError, InvalidError, NotFoundError } from '../errors.js';
import type { WorkspaceIncluder } from '../workspaces/routes.js';
import { workspaceScope } from '../workspaces/service.js';
import type { StateOutputRecord, StateService, StateVersion } from './service.js';
import { legacyType, parseJsonStateOutputs } from './statefile.js';

/** Seconds between intermediate state snapshots the CLI takes during long applies (it clamps to 0..3600). */
export const SNAPSHOT_INTERVAL_SECONDS = 300;
/** How long the upload URLs handed out with a state version stay valid. */
const UPLOAD_URL_TTL_SECONDS = 3600;
/** The largest state file accepted: at most 512 MiB, and no more than one JavaScript string can hold, to parse it. */
export const MAX_STATE_BYTES = Math.min(512 * 1024 * 1024, buffer.constants.MAX_STRING_LENGTH);

/** Purposes of the signed upload URLs, the first segment after /_signed/. */
const STATE_UPLOAD = 'state-versions';
const JSON_STATE_UPLOAD = 'state-versions-json';

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
interface Extra {
  meta?: Record<string, unknown>;
  links?: Record<string, string | null>;
}

function encodeOutputs(outputs: StateOutputRecord | StateOutputRecord[], revealSensitive: boolean, extra: Extra = {}): Document {
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

// ---------------------------------------------------------------- request documents

interface CreateDocument {
  data: {
    attributes: {
      serial: number;
      md5: string;
      lineage?: string;
      force?: boolean;
      state?: string;
      'json-state'?: string;
      'json-state-outputs'?: string;
    };
    relationships?: { run?: { data: { id: string } | null } };
  };
}

const base64String = { type: 'string' };

/** relationships.run: {data: {type: "runs", id}} or {data: null}. */
const runRelationship = {
  type: 'object',
  properties: {
    data: {
      type: ['object', 'null'],
      properties: {
        type: { type: 'string', const: 'runs', 'x-message': 'must be "runs"' },
        id: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^/\\s]+$', 'x-message': 'must be a run id' },
      },
      required: ['type', 'id'],
    },
  },
  required: ['data'],
};

const readCreate = validator<CreateDocument>(
  resourceDocument(
    'state-versions',
    {
      serial: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, 'x-message': 'must be a whole number of at least 0' },
      md5: { type: 'string', pattern: '^[0-9a-fA-F]{32}$', 'x-message': 'must be the MD5 of the state file: 32 hexadecimal digits' },
      lineage: { type: 'string', maxLength: 1000 },
      force: { type: 'boolean' },
      state: base64String,
      'json-state': base64String,
      'json-state-outputs': base64String,
    },
    { required: ['serial', 'md5'], relationships: { run: runRelationship } },
  ),
);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a base64 attribute; 422 pointing at it when it is not standard, padded base64. */
function decodeBase64(value: string, attribute: string): Buffer {
  if (value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new InvalidError(`attribute "${attribute}" must be base64 (standard alphabet, padded)`, { pointer: `/data/attributes/${attribute}` });
  }
  return Buffer.from(value, 'base64');
}

// ---------------------------------------------------------------- routes

export interface StateRouteDeps {
  state: StateService;
  site: Site;
  signer: UrlSigner;
}

function signedUrl(deps: StateRouteDeps, purpose: string, id: string): string {
  return `${deps.site.baseUrl}/_signed/${purpose}/${id}/${deps.signer.sign(purpose, id, UPLOAD_URL_TTL_SECONDS)}`;
}

export function presentStateVersion(v: StateVersion, deps: StateRouteDeps): View {
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
    'hosted-state-upload-url': v.status === 'pending' ? signedUrl(deps, STATE_UPLOAD, v.id) : null,
    'hosted-json-state-upload-url': v.status !== 'discarded' ? signedUrl(deps, JSON_STATE_UPLOAD, v.id) : null,
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
export function currentStateIncluder(deps: StateRouteDeps): WorkspaceIncluder {
  return async (subject, list) => {
    const ids = list.filter((ws) => ws.currentStateVersionId !== null && isAllowed(subject, 'state:read', workspaceScope(ws))).map((ws) => ws.currentStateVersionId!);
    return resources(stateVersionType, (await deps.state.byIds(ids)).map((v) => presentStateVersion(v, deps)));
  };
}

export function registerStateRoutes(router: ApiRouter, deps: StateRouteDeps): void {
  const { state, site } = deps;

  /** A state-versions document, with the snapshot interval the CLI reads from these responses. */
  function sendVersions(ctx: Ctx, status: number, versions: StateVersion | StateVersion[], extra: Extra = {}): void {
    const views = Array.isArray(versions) ? versions.map((v) => presentStateVersion(v, deps)) : presentStateVersion(versions, deps);
    ctx.set('X-Terraform-Snapshot-Interval', String(SNAPSHOT_INTERVAL_SECONDS));
    send(ctx, status, encode(stateVersionType, views, extra));
  }

  /** Outputs all on one page: the CLI reads only the first. */
  function sendOutputs(ctx: Ctx, outputs: StateOutputRecord[]): void {
    const page = { number: 1, size: Math.max(outputs.length, 1) };
    send(ctx, 200, encodeOutputs(outputs, false, paginate(page, outputs.length, requestUrl(ctx, site))));
  }

  router.post('/workspaces/:id/state-versions', async (ctx) => {
    const doc = readCreate(body(ctx));
    const a = doc.data.attributes;
    const outputs = a['json-state-outputs'];
    const version = await state.create(subjectOf(ctx), ctx.params.id, {
      serial: a.serial,
      md5: a.md5.toLowerCase(),
      lineage: a.lineage ?? null,
      force: a.force ?? false,
      runId: doc.data.relationships?.run?.data?.id ?? null,
      state: a.state === undefined ? null : decodeBase64(a.state, 'state'),
      jsonState: a['json-state'] === undefined ? null : decodeBase64(a['json-state'], 'json-state'),
      outputTypes:
        outputs === undefined ? null : parseJsonStateOutputs(decodeBase64(outputs, 'json-state-outputs'), '/data/attributes/json-state-outputs'),
    });
    sendVersions(ctx, 201, version);
  });

  router.get('/workspaces/:id/state-versions', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await state.list(subjectOf(ctx), ctx.params.id, { limit: page.size, offset: pageOffset(page) });
    sendVersions(ctx, 200, items, paginate(page, total, requestUrl(ctx, site)));
  });

  router.get('/state-versions', async (ctx) => {
    const q = query(ctx);
    const org = queryValue(q, 'filter[organization][name]');
    const workspace = queryValue(q, 'filter[workspace][name]');
    for (const [parameter, value] of [
      ['filter[organization][name]', org],
      ['filter[workspace][name]', workspace],
    ] as const) {
      if (!value) {
        throw new BadRequestError(
          `query parameter ${parameter} is required: state versions are listed for one workspace, named by filter[organization][name] and filter[workspace][name]`,
          { parameter },
        );
      }
    }
    const page = parsePage(q);
    const { items, total } = await state.listByName(subjectOf(ctx), org!, workspace!, { limit: page.size, offset: pageOffset(page) });
    sendVersions(ctx, 200, items, paginate(page, total, requestUrl(ctx, site)));
  });

  router.get('/workspaces/:id/current-state-version', async (ctx) => {
    sendVersions(ctx, 200, await state.current(subjectOf(ctx), ctx.params.id));
  });

  router.get('/workspaces/:id/current-state-version-outputs', async (ctx) => {
    sendOutputs(ctx, await state.currentOutputs(subjectOf(ctx), ctx.params.id));
  });

  router.get('/state-versions/:id', async (ctx) => {
    sendVersions(ctx, 200, await state.get(subjectOf(ctx), ctx.params.id));
  });

  router.get('/state-versions/:id/outputs', async (ctx) => {
    sendOutputs(ctx, await state.outputs(subjectOf(ctx), ctx.params.id));
  });

  router.get('/state-versions/:id/download', async (ctx) => {
    const { stream, size } = await state.download(subjectOf(ctx), ctx.params.id);
    ctx.body = stream;
    ctx.type = 'application/json';
    ctx.length = size;
  });

  router.get('/state-versions/:id/json-download', async (ctx) => {
    const { stream, size } = await state.downloadJson(subjectOf(ctx), ctx.params.id);
    ctx.body = stream;
    ctx.type = 'application/json';
    ctx.length = size;
  });

  router.post('/state-versions/:id/actions/rollback', async (ctx) => {
    sendVersions(ctx, 201, await state.rollback(subjectOf(ctx), ctx.params.id));
  });

  router.get('/state-version-outputs/:id', async (ctx) => {
    send(ctx, 200, encodeOutputs(await state.output(subjectOf(ctx), ctx.params.id), true));
  });
}

/** The upload URLs handed out with state versions: no bearer token, a signature in the path. */
export function registerSignedStateRoutes(router: Router<AppState>, deps: StateRouteDeps): void {
  const { state, signer } = deps;

  function verify(purpose: string, id: string, signature: string): void {
    if (!signer.verify(purpose, id, signature)) throw new NotFoundError('this upload URL is not valid, or it has expired');
  }

  router.put(`/_signed/${STATE_UPLOAD}/:id/:signature`, async (ctx) => {
    verify(STATE_UPLOAD, ctx.params.id, ctx.params.signature);
    await state.checkUploadable(ctx.params.id);
    await state.uploadState(ctx.params.id, limitedBody(ctx, MAX_STATE_BYTES, 'a state file'));
    ctx.status = 200;
    ctx.body = '';
  });

  router.put(`/_signed/${JSON_STATE_UPLOAD}/:id/:signature`, async (ctx) => {
    verify(JSON_STATE_UPLOAD, ctx.params.id, ctx.params.signature);
    await state.uploadJsonState(ctx.params.id, limitedBody(ctx, MAX_STATE_BYTES, 'a JSON state'));
    ctx.status = 200;
    ctx.body = '';
  });
}
