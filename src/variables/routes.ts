// HTTP routes of the variables domain: /workspaces/:id/vars and the legacy /vars, both with
// Terraform Cloud's "vars" documents.
import { encode, paginate, queryValue } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { nullable, resourceDocument, stringEnum, toOne, Type, validator, type Static } from '../api/schema.js';
import { BadRequestError, ConflictError, InvalidError } from '../errors.js';
import { presentVariable, variableType } from './presenters.js';
import type { Variable, VariableInput, VariableService } from './service.js';

// ---------------------------------------------------------------- request documents

const variableAttributes = {
  key: Type.String({ minLength: 1, maxLength: 128, 'x-message': 'must be a string of 1 to 128 characters' }),
  // No ajv message that quotes the value: it may be a secret.
  value: Type.Optional(Type.String({ 'x-message': 'must be a string' })),
  description: Type.Optional(nullable(Type.String({ maxLength: 512, 'x-message': 'must be a string of at most 512 characters, or null' }))),
  category: stringEnum(['terraform', 'env']),
  hcl: Type.Optional(Type.Boolean()),
  sensitive: Type.Optional(Type.Boolean()),
};

/** A new variable must have a key and a category. */
const newVariable = Type.Object(variableAttributes);

// data.id is read only to refuse a document naming another variable (checkDocumentId).
const id = Type.Optional(Type.Unknown());

const readCreate = validator(resourceDocument('vars', { attributes: newVariable, id }));
// The workspace is named by the workspace relationship, or else (as HashiCorp's published API
// scripts do) by filter[organization][name] and filter[workspace][name] in the query string.
const readLegacyCreate = validator(
  resourceDocument('vars', { attributes: newVariable, relationships: Type.Optional(Type.Object({ workspace: Type.Optional(toOne('workspaces')) })), id }),
);
const updateDocument = resourceDocument('vars', { attributes: Type.Optional(Type.Partial(newVariable)), id });
const readUpdate = validator(updateDocument);

/** A variable document, of a create (which has a key and a category) or of an update. */
type VariableDocument = Static<typeof updateDocument>;

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
    const related = doc.data.relationships?.workspace?.data.id;
    const q = query(ctx);
    const [org, workspace] = [queryValue(q, 'filter[organization][name]'), queryValue(q, 'filter[workspace][name]')];
    if (!related && !(org && workspace)) {
      throw new InvalidError(
        'name the workspace: with relationships.workspace, or with the query parameters filter[organization][name] and filter[workspace][name]',
        { pointer: '/data/relationships/workspace' },
      );
    }
    const workspaceId = related ?? (await variables.workspaceIdByName(subjectOf(ctx), org!, workspace!));
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
