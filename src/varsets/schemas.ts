// Request bodies of the variable-sets API, one TypeBox schema each.
import { nullable, resourceDocument, stringEnum, toMany, Type, validator, type Static } from '../api/schema.js';

const setAttributes = {
  name: Type.String({ minLength: 1, maxLength: 128, 'x-message': 'must be a string of 1 to 128 characters' }),
  description: Type.Optional(nullable(Type.String({ maxLength: 512, 'x-message': 'must be a string of at most 512 characters, or null' }))),
  global: Type.Optional(Type.Boolean()),
  priority: Type.Optional(Type.Boolean()),
};

// data.id is read only to refuse a document naming another resource than its URL.
const id = Type.Optional(Type.Unknown());

/** A new set must have a name. */
export const readCreate = validator(resourceDocument('varsets', { attributes: Type.Object(setAttributes), id }));

/** An update may change attributes and replace the workspaces or projects the set is applied to. */
export const readUpdate = validator(
  resourceDocument('varsets', {
    attributes: Type.Optional(Type.Partial(Type.Object(setAttributes))),
    relationships: Type.Optional(Type.Object({ workspaces: Type.Optional(toMany('workspaces')), projects: Type.Optional(toMany('projects')) })),
    id,
  }),
);

/** POST and DELETE /varsets/:id/relationships/workspaces (or projects): {data: [{type, id}, ...]}. */
export const readApply = {
  workspaces: validator(toMany('workspaces')),
  projects: validator(toMany('projects')),
};

const variableAttributes = {
  key: Type.String({ minLength: 1, maxLength: 128, 'x-message': 'must be a string of 1 to 128 characters' }),
  // No ajv message that quotes the value: it may be a secret.
  value: Type.Optional(Type.String({ 'x-message': 'must be a string' })),
  description: Type.Optional(nullable(Type.String({ maxLength: 512, 'x-message': 'must be a string of at most 512 characters, or null' }))),
  category: stringEnum(['terraform', 'env']),
  hcl: Type.Optional(Type.Boolean()),
  sensitive: Type.Optional(Type.Boolean()),
};

export const readVariableCreate = validator(resourceDocument('vars', { attributes: Type.Object(variableAttributes), id }));
const variableUpdate = resourceDocument('vars', { attributes: Type.Optional(Type.Partial(Type.Object(variableAttributes))), id });
export const readVariableUpdate = validator(variableUpdate);

/** A variable document, of a create (which has a key and a category) or of an update. */
export type VariableDocument = Static<typeof variableUpdate>;
