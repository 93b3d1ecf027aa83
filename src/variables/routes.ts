// HTTP routes of the variables domain: /workspaces/:id/vars and the legacy /vars, both with
// Terraform Cloud's "vars" documents.
import { encode, paginate, queryValue, timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { resourceDocument, toOne, validator, type Schema } from '../api/validate.js';
import { BadRequestError, ConflictError } from '../errors.js';
import type { Category, Variable, VariableInput, VariableService } from './service.js';

export const variableType: ResourceType = {
  type: 'vars',
  attributes: ['key', 'value', 'description', 'category', 'hcl', 'sensitive', 'version-id', 'created-at'],
  relationships: { configurable: 'workspaces', workspace: 'workspaces' },
  selfLink: (v) => `/api/v2/workspaces/${(v.configurable as { id: string }).id}/vars/${v.id}`,
};

export function presentVariable(v: Variable): View {
  return {
    id: v.id,
    key: v.key,
    // null for a sensitive variable: its value never leaves the server through the API
    value: v.sensitive ? null : v.value,
    description: v.description,
    category: v.category,
    hcl: v.hcl,
    sensitive: v.sensitive,
    'version-id': v.versionId,
    'created-at': timestamp(v.createdAt),
    configurable: { id: v.workspaceId },
    workspace: { id: v.workspaceId },
  };
}

// ---------------------------------------------------------------- request documents

const variableAttributes: Record<string, Schema> = {
  key: { type: 'string', minLength: 1, maxLength: 128, 'x-message': 'must be a string of 1 to 128 characters' },
  // No ajv message that quotes the value: it may be a secret.
  value: { type: 'string', 'x-message': 'must be a string' },
  description: { type: ['string', 'null'], maxLength: 512, 'x-message': 'must be a string of at most 512 characters, or null' },
  category: { type: 'string', enum: ['terraform', 'env'] },
  hcl: { type: 'boolean' },
  sensitive: { type: 'boolean' },
};

interface VariableDocument {
  data: {
    id?: unknown;
    attributes?: {
      key?: string;
      value?: string;
      description?: string | null;
      category?: Category;
      hcl?: boolean;
      sensitive?: boolean;
    };
    relationships?: { workspace?: { data: { id: string } } };
  };
}

const readCreate = validator<VariableDocument>(resourceDocument('vars', variableAttributes, { required: ['key', 'category'] }));
const readLegacyCreate = validator<VariableDocument>(
  resourceDocument('vars', variableAttributes, {
    required: ['key', 'category'],
    relationships: { workspace: toOne('workspaces') },
    requiredRelationships: ['workspace'],
  }),
);
const readUpdate = validator<VariableDocument>(resourceDocument('vars', variableAttributes));

function inputFrom(doc: VariableDocument): VariableInput {
  const a = doc.data.attributes ?? {};
  return {
    key: a.key,
    value: a.value,
    description: a.description === null ? '' : a.description,
    category: a.category,
    hcl: a.hcl,
    sensitive: a.sensitive,
  };
}

/** An update document naming a variable other than the one in the URL is a conflict (JSON:API). */
function checkDocumentId(doc: VariableDocument, variableId: string): void {
  const id = doc.data.id;
  if (id !== undefined && id !== variableId) {
    throw new ConflictError(`data.id ${JSON.stringify(id)} does not match the variable in the URL, "${variableId}"`, { pointer: '/data/id' });
  }
}

/** A required query parameter of the legacy list. */
function requiredParameter(ctx: Ctx, name: string): string {
  const value = queryValue(query(ctx), name);
  if (!value) throw new BadRequestError(`query parameter ${name} is required`, { parameter: name });
  return value;
}

// ---------------------------------------------------------------- routes

export function registerVariableRoutes(router: ApiRouter, variables: VariableService, site: Site): void {
  /**
   * Terraform Cloud returns every variable of a workspace at once and the CLI reads only the first
   * page, so a list is one page holding all of them.
   */
  function sendList(ctx: Ctx, items: Variable[]): void {
    const page = { number: 1, size: Math.max(items.length, 1) };
    send(ctx, 200, encode(variableType, items.map(presentVariable), paginate(page, items.length, requestUrl(ctx, site))));
  }

  router.get('/workspaces/:id/vars', async (ctx) => {
    sendList(ctx, await variables.list(subjectOf(ctx), ctx.params.id));
  });

  router.post('/workspaces/:id/vars', async (ctx) => {
    const input = inputFrom(readCreate(body(ctx)));
    const created = await variables.create(subjectOf(ctx), ctx.params.id, { ...input, key: input.key!, category: input.category! });
    send(ctx, 201, encode(variableType, presentVariable(created)));
  });

  router.get('/vars', async (ctx) => {
    const org = requiredParameter(ctx, 'filter[organization][name]');
    const workspace = requiredParameter(ctx, 'filter[workspace][name]');
    sendList(ctx, await variables.listByName(subjectOf(ctx), org, workspace));
  });

  router.post('/vars', async (ctx) => {
    const doc = readLegacyCreate(body(ctx));
    const input = inputFrom(doc);
    const workspaceId = doc.data.relationships!.workspace!.data.id;
    const created = await variables.create(subjectOf(ctx), workspaceId, { ...input, key: input.key!, category: input.category! });
    send(ctx, 201, encode(variableType, presentVariable(created)));
  });

  // The same variable by /workspaces/:id/vars/:variable (which must belong to that workspace) and by /vars/:variable.
  for (const [path, workspaceOf] of [
    ['/workspaces/:id/vars/:variable', (ctx: Ctx): string | undefined => ctx.params.id],
    ['/vars/:variable', (): string | undefined => undefined],
  ] as const) {
    router.get(path, async (ctx) => {
      const variable = await variables.get(subjectOf(ctx), ctx.params.variable, workspaceOf(ctx));
      send(ctx, 200, encode(variableType, presentVariable(variable)));
    });

    router.patch(path, async (ctx) => {
      const doc = readUpdate(body(ctx));
      checkDocumentId(doc, ctx.params.variable);
      const updated = await variables.update(subjectOf(ctx), ctx.params.variable, inputFrom(doc), workspaceOf(ctx));
      send(ctx, 200, encode(variableType, presentVariable(updated)));
    });

    router.delete(path, async (ctx) => {
      await variables.delete(subjectOf(ctx), ctx.params.variable, workspaceOf(ctx));
      noContent(ctx);
    });
  }
}
