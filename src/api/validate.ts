// Validation of request documents with ajv: a failure is a 422 whose detail names the member and
// the problem, with a JSON pointer. The schemas themselves are written with src/api/schema.ts.
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv and ajv-formats are CommonJS modules with a default export.
const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

export const ajv = new Ajv({ allErrors: false, verbose: true, strict: false, useDefaults: false });
addFormats(ajv, ['email', 'date-time', 'uri']);
/** A human sentence to use instead of ajv's message for a failed property, e.g. for patterns. */
ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
/**
 * The whole detail of a failed property, member name included: for the few where Terraform Cloud's
 * clients look for TFC's own sentence (go-tfe's tests match "Name may only contain" for projects).
 */
ajv.addKeyword({ keyword: 'x-detail', schemaType: 'string' });

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
  const detail = (e.parentSchema as { 'x-detail'?: string } | undefined)?.['x-detail'];
  if (detail) return { detail, pointer };
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

export const NAME_PATTERN = '^[A-Za-z0-9_-]+$';
