// Request schemas, written with TypeBox so that a request's TypeScript type is derived from its one
// schema (`Static<typeof schema>`) instead of being written a second time beside it. Validation
// itself, and the wording of its 422s, is src/api/validate.ts.
import { Type, type Static, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { InvalidError } from '../errors.js';
import { ajv, describeError, NAME_PATTERN } from './validate.js';

export { Type, type Static };

/**
 * Compiles a schema into a function that returns the document, typed by the schema itself, or
 * throws a 422. A missing or empty body is refused, unless `plain` (bodies of the agent protocol,
 * not JSON:API) is set, when it reads as {}.
 *
 * Schemas are written with TypeBox, so the request type is derived from the one schema
 * (`Static<typeof schema>`) and never written a second time beside it.
 */
export function validator<S extends TSchema>(schema: S, opts: { plain?: boolean } = {}): (body: unknown) => Static<S> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (given: unknown): Static<S> => {
    const empty = given === undefined || given === null || (typeof given === 'object' && Object.keys(given as object).length === 0);
    if (empty && !opts.plain) {
      throw new InvalidError('the request body must be a JSON:API document with a "data" member', { pointer: '/data' });
    }
    const body = empty ? {} : given;
    if (!validate(body)) {
      // A oneOf/anyOf reports its branches first; prefer the error that carries our own sentence.
      const errors = validate.errors!;
      const chosen = errors.find((e) => {
        const schema = e.parentSchema as { 'x-message'?: string; 'x-detail'?: string } | undefined;
        return schema?.['x-message'] || schema?.['x-detail'];
      }) ?? errors[0];
      const { detail, pointer } = describeError(chosen);
      throw new InvalidError(detail, { pointer });
    }
    return body as Static<S>;
  };
}

/**
 * Schema of a document with one resource object of the given type; `members` are the resource
 * object's other members (attributes, relationships), each wrapped in Type.Optional unless the
 * request must carry it. For example:
 *
 *   resourceDocument('projects', { attributes: Type.Object({ name: Type.String(), description: Type.Optional(Type.String()) }) })
 */
export function resourceDocument<T extends string, M extends TProperties>(type: T, members: M) {
  return Type.Object({ data: objectMembers(Type.Object({ type: Type.Literal(type), ...members })) });
}

/**
 * attributes and relationships a document does not name are still objects when given (anything
 * else is a 422 on data.attributes or data.relationships). Added to the schema only, not to its
 * type: a handler has no use for members it did not ask for.
 */
function objectMembers<S extends TSchema>(data: S): S {
  const properties = (data as unknown as { properties: Record<string, unknown> }).properties;
  for (const name of ['attributes', 'relationships']) properties[name] ??= { type: 'object' };
  return data;
}

/** As resourceDocument, for requests whose data.type may be absent or any string (the CLI sends "" when locking). */
export function untypedResourceDocument<M extends TProperties>(members: M) {
  return Type.Object({ data: objectMembers(Type.Object({ type: Type.Optional(Type.String()), ...members })) });
}

/** Schema of a resource identifier object {type, id}. */
function linkage<T extends string>(type: T) {
  return Type.Object({ type: Type.Literal(type), id: Type.String({ minLength: 1 }) });
}

/** Schema of a to-one relationship {data: {type, id}}. */
export function toOne<T extends string>(type: T) {
  return Type.Object({ data: linkage(type) });
}

/** Schema of a to-one relationship that may be emptied: {data: null} or {data: {type, id}}. */
export function toOneOrNull<T extends string>(type: T) {
  return Type.Object({ data: Type.Union([Type.Null(), linkage(type)]) });
}

/** Schema of a to-many relationship (or a relationship document) {data: [{type, id}, ...]}. */
export function toMany<T extends string>(type: T, maxItems = 1000) {
  return Type.Object({ data: Type.Array(linkage(type), { maxItems }) });
}

export const nameSchema = Type.String({
  minLength: 1,
  maxLength: 90,
  pattern: NAME_PATTERN,
  'x-message': 'must be 1 to 90 letters, digits, "-" or "_"',
});

/**
 * The schema, or null: written as one type list ({"type": ["string", "null"]}) rather than a union,
 * so that a value of a wrong type gets one 422 naming both ("must be string,null").
 */
export function nullable<S extends TSchema>(schema: S): TUnsafe<Static<S> | null> {
  // Object.entries leaves out TypeBox's symbol keys: the result is a schema of its own kind.
  return Type.Unsafe<Static<S> | null>({ ...Object.fromEntries(Object.entries(schema)), type: [schema.type as string, 'null'] });
}

/** One of the given strings, as a JSON Schema enum (a 422 lists them: "must be one of "a", "b", got ..."). */
export function stringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}
