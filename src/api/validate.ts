// Validation of request documents with ajv. Each route declares the schema of the document it
// accepts; a failure is a 422 whose detail names the member and the problem, with a JSON pointer.
import AjvModule, { type ErrorObject, type JSONSchemaType, type Schema, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { InvalidError } from '../errors.js';

// ajv and ajv-formats are CommonJS modules with a default export.
const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

export const ajv = new Ajv({ allErrors: false, verbose: true, strict: false, useDefaults: false });
addFormats(ajv, ['email', 'date-time', 'uri']);
/** A human sentence to use instead of ajv's message for a failed property, e.g. for patterns. */
ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });

export type { JSONSchemaType, Schema };

/** Where in the document an ajv error points, in words: `attribute "name"` or `data.type`. */
function memberName(pointer: string): string {
  const parts = pointer.split('/').slice(1);
  if (parts[0] === 'data' && parts[1] === 'attributes' && parts.length >= 3) return `attribute "${parts.slice(2).join('.')}"`;
  if (parts[0] === 'data' && parts[1] === 'relationships' && parts.length >= 3) return `relationship "${parts.slice(2).join('.')}"`;
  return parts.length ? parts.join('.') : 'the document';
}

export function describeError(e: ErrorObject): { detail: string; pointer: string } {
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    const pointer = `${e.instancePath}/${missing}`;
    if (pointer === '/data') return { detail: 'the request body must be a JSON:API document with a "data" member', pointer };
    return { detail: `${memberName(pointer)} is required`, pointer };
  }
  const pointer = e.instancePath || '/';
  const custom = (e.parentSchema as { 'x-message'?: string } | undefined)?.['x-message'];
  if (custom) return { detail: `${memberName(pointer)} ${custom}`, pointer };
  if (pointer === '/data/type' && e.keyword === 'const') {
    return { detail: `data.type must be "${(e.params as { allowedValue: string }).allowedValue}", got ${JSON.stringify(e.data)}`, pointer };
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
    return { detail: `${memberName(pointer)} must be one of ${allowed}, got ${JSON.stringify(e.data)}`, pointer };
  }
  if (e.keyword === 'type') {
    return { detail: `${memberName(pointer)} must be ${(e.params as { type: string }).type}, got ${JSON.stringify(e.data)}`, pointer };
  }
  return { detail: `${memberName(pointer)} ${e.message ?? 'is invalid'}`, pointer };
}

/**
 * Compiles a schema into a function that returns the typed document or throws a 422. A missing
 * or empty body is refused, unless `plain` (bodies of the agent protocol, not JSON:API) is set,
 * when it reads as {}.
 */
export function validator<T>(schema: Schema, opts: { plain?: boolean } = {}): (body: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (given: unknown): T => {
    const empty = given === undefined || given === null || (typeof given === 'object' && Object.keys(given as object).length === 0);
    if (empty && !opts.plain) {
      throw new InvalidError('the request body must be a JSON:API document with a "data" member', { pointer: '/data' });
    }
    const body = empty ? {} : given;
    if (!validate(body)) {
      // A oneOf/anyOf reports its branches first; prefer the error that carries our own sentence.
      const errors = validate.errors!;
      const chosen = errors.find((e) => (e.parentSchema as { 'x-message'?: string } | undefined)?.['x-message']) ?? errors[0];
      const { detail, pointer } = describeError(chosen);
      throw new InvalidError(detail, { pointer });
    }
    return body as T;
  };
}

/** Schema of a document with one resource object of the given type. */
export function resourceDocument(
  type: string | null,
  attributes: Record<string, Schema>,
  options: { required?: string[]; relationships?: Record<string, Schema>; requiredRelationships?: string[] } = {},
): Schema {
  const data: Record<string, unknown> = {
    type: 'object',
    properties: {
      // null: any type, including the empty string the CLI sends when locking
      type: type === null ? { type: 'string' } : { type: 'string', const: type },
      attributes: { type: 'object', properties: attributes, required: options.required ?? [] },
      relationships: {
        type: 'object',
        properties: options.relationships ?? {},
        required: options.requiredRelationships ?? [],
      },
    },
    required: type === null ? [] : ['type'],
  };
  if (options.required?.length) (data.required as string[]).push('attributes');
  if (options.requiredRelationships?.length) (data.required as string[]).push('relationships');
  return { type: 'object', properties: { data }, required: ['data'] };
}

/** Schema of a to-one relationship {data: {type, id}}. */
export function toOne(type: string, nullable = false): Schema {
  const linkage = {
    type: 'object',
    properties: { type: { type: 'string', const: type }, id: { type: 'string', minLength: 1 } },
    required: ['type', 'id'],
  };
  return {
    type: 'object',
    properties: { data: nullable ? { oneOf: [{ type: 'null' }, linkage] } : linkage },
    required: ['data'],
  };
}

/** Schema of a to-many relationship (or a relationship document) {data: [{type, id}, ...]}. */
export function toMany(type: string, maxItems = 1000): Schema {
  return {
    type: 'object',
    properties: {
      data: {
        type: 'array',
        maxItems,
        items: { type: 'object', properties: { type: { type: 'string', const: type }, id: { type: 'string', minLength: 1 } }, required: ['type', 'id'] },
      },
    },
    required: ['data'],
  };
}

export const NAME_PATTERN = '^[A-Za-z0-9_-]+$';
export const nameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 90,
  pattern: NAME_PATTERN,
  'x-message': 'must be 1 to 90 letters, digits, "-" or "_"',
};
