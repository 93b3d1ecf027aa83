// HTTP routes of the state domain: state versions and their outputs under /api/v2, and the signed
// upload URLs (no bearer token) under /_signed.
import buffer from 'node:buffer';
import type Router from '@koa/router';
import { encode, pageOffset, paginate, parseIncludes, parsePage, queryValue, type Resource } from '../api/jsonapi.js';
import { limitedBody } from '../api/body.js';
import { body, query, requestUrl, send, subjectOf, type ApiRouter, type AppState, type Ctx } from '../api/http.js';
import { nullable, resourceDocument, Type, validator } from '../api/schema.js';
import { BadRequestError, ForbiddenError, InvalidError, NotFoundError } from '../errors.js';
import { encodeOutputs, JSON_STATE_UPLOAD, presentStateVersion, STATE_UPLOAD, stateVersionType, type Extra, type StateLinks } from './presenters.js';
import type { StateOutputRecord, StateService, StateVersion } from './service.js';
import { parseJsonStateOutputs } from './statefile.js';

/** Seconds between intermediate state snapshots the CLI takes during long applies (it clamps to 0..3600). */
export const SNAPSHOT_INTERVAL_SECONDS = 300;
/** The largest state file accepted: at most 512 MiB, and no more than one JavaScript string can hold, to parse it. */
export const MAX_STATE_BYTES = Math.min(512 * 1024 * 1024, buffer.constants.MAX_STRING_LENGTH);

// ---------------------------------------------------------------- request documents

const base64String = Type.Optional(Type.String());

/** relationships.run: {data: {type: "runs", id}} or {data: null}. */
const runRelationship = Type.Object({
  data: nullable(
    Type.Object({
      type: Type.Literal('runs', { 'x-message': 'must be "runs"' }),
      id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\s]+$', 'x-message': 'must be a run id' }),
    }),
  ),
});

const readCreate = validator(
  resourceDocument('state-versions', {
    attributes: Type.Object({
      serial: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, 'x-message': 'must be a whole number of at least 0' }),
      md5: Type.String({ pattern: '^[0-9a-fA-F]{32}$', 'x-message': 'must be the MD5 of the state file: 32 hexadecimal digits' }),
      lineage: Type.Optional(Type.String({ maxLength: 1000 })),
      force: Type.Optional(Type.Boolean()),
      state: base64String,
      'json-state': base64String,
      'json-state-outputs': base64String,
    }),
    relationships: Type.Optional(Type.Object({ run: Type.Optional(runRelationship) })),
  }),
);

/** TFC's rollback: PATCH /workspaces/:id/state-versions naming the version to restore. */
const readRollback = validator(
  resourceDocument('state-versions', {
    relationships: Type.Object({
      'rollback-state-version': Type.Object({
        data: Type.Object({
          type: Type.Literal('state-versions', { 'x-message': 'must be "state-versions"' }),
          id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\s]+$', 'x-message': 'must be a state version id' }),
        }),
      }),
    }),
  }),
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

export interface StateRouteDeps extends StateLinks {
  state: StateService;
}

export function registerStateRoutes(router: ApiRouter, deps: StateRouteDeps): void {
  const { state, site } = deps;

  /** A state-versions document, with the snapshot interval the CLI reads from these responses. */
  /** `writable`: the caller may write the workspace's state, and is handed the upload URLs. */
  function sendVersions(ctx: Ctx, status: number, versions: StateVersion | StateVersion[], writable: boolean, extra: Extra = {}): void {
    const view = (v: StateVersion) => presentStateVersion(v, deps, writable);
    const views = Array.isArray(versions) ? versions.map(view) : view(versions);
    ctx.set('X-Terraform-Snapshot-Interval', String(SNAPSHOT_INTERVAL_SECONDS));
    send(ctx, status, encode(stateVersionType, views, extra));
  }

  /**
   * include=outputs: the versions' outputs (sensitive values hidden, as in their own list), for
   * those who may read outputs; others get the versions without them.
   */
  async function includedOutputs(ctx: Ctx, versions: StateVersion[]): Promise<Resource[]> {
    if (!parseIncludes(query(ctx)).has('outputs')) return [];
    const subject = subjectOf(ctx);
    const lists = await Promise.all(
      versions.map((v) =>
        state.outputs(subject, v.id).catch((err: unknown) => {
          if (err instanceof ForbiddenError) return [];
          throw err;
        }),
      ),
    );
    return encodeOutputs(lists.flat(), false).data as Resource[];
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
    // Creating and rolling back take the right to write the state.
    sendVersions(ctx, 201, version, true);
  });

  router.patch('/workspaces/:id/state-versions', async (ctx) => {
    const doc = readRollback(body(ctx));
    sendVersions(ctx, 201, await state.rollbackWorkspace(subjectOf(ctx), ctx.params.id, doc.data.relationships['rollback-state-version'].data.id), true);
  });

  router.get('/workspaces/:id/state-versions', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total, writable } = await state.list(subjectOf(ctx), ctx.params.id, { limit: page.size, offset: pageOffset(page) });
    sendVersions(ctx, 200, items, writable, paginate(page, total, requestUrl(ctx, site)));
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
    const { items, total, writable } = await state.listByName(subjectOf(ctx), org!, workspace!, { limit: page.size, offset: pageOffset(page) });
    sendVersions(ctx, 200, items, writable, paginate(page, total, requestUrl(ctx, site)));
  });

  router.get('/workspaces/:id/current-state-version', async (ctx) => {
    const { version, writable } = await state.current(subjectOf(ctx), ctx.params.id);
    sendVersions(ctx, 200, version, writable, { included: await includedOutputs(ctx, [version]) });
  });

  router.get('/workspaces/:id/current-state-version-outputs', async (ctx) => {
    sendOutputs(ctx, await state.currentOutputs(subjectOf(ctx), ctx.params.id));
  });

  router.get('/state-versions/:id', async (ctx) => {
    const { version, writable } = await state.get(subjectOf(ctx), ctx.params.id);
    sendVersions(ctx, 200, version, writable, { included: await includedOutputs(ctx, [version]) });
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
    sendVersions(ctx, 201, await state.rollback(subjectOf(ctx), ctx.params.id), true);
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
