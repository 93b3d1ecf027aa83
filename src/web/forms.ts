// Reading what visitors send: form fields and query parameters, each checked the same way on every
// page. A value that breaks a rule is the visitor's mistake: a 4xx naming the field, never a 5xx.
import { NAME_PATTERN } from '../api/validate.js';
import { BadRequestError, InvalidError } from '../errors.js';
import type { WebCtx } from './http.js';

const NAME = new RegExp(NAME_PATTERN);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A free text field of at most `max` characters ('' when absent); control characters refused (newlines too unless multiline). */
export function textField(ctx: WebCtx, name: string, label: string, max: number, opts: { multiline?: boolean } = {}): string {
  const value = ctx.state.form?.get(name) ?? '';
  if (value.length > max) throw new InvalidError(`${label} may be at most ${max} characters long`);
  if ((opts.multiline ? CONTROL_BUT_LINES : CONTROL).test(value)) throw new InvalidError(`${label} may not contain control characters`);
  return value;
}

/** A name as the API takes it (organizations, workspaces, pools, teams): 1 to 90 letters, digits, "-" or "_". */
export function nameField(ctx: WebCtx, name: string, label: string): string {
  const value = (ctx.state.form?.get(name) ?? '').trim();
  if (!value || value.length > 90 || !NAME.test(value)) throw new InvalidError(`${label} must be 1 to 90 letters, digits, "-" or "_"`);
  return value;
}

/** A checkbox: present in the form when ticked. */
export function checkbox(ctx: WebCtx, name: string): boolean {
  return ctx.state.form?.has(name) ?? false;
}

/** Every value of a repeated field (a multiple select, a list of checkboxes). */
export function fieldList(ctx: WebCtx, name: string): string[] {
  return ctx.state.form?.getAll(name) ?? [];
}

/** One value of a query parameter ('' when absent); a repeated, overlong or control-character one is refused (400). */
export function queryText(ctx: WebCtx, name: string, max = 255): string {
  const v = ctx.query[name];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new BadRequestError(`query parameter ${name} may be given once`);
  if (v.length > max) throw new BadRequestError(`query parameter ${name} may be at most ${max} characters`);
  if (CONTROL.test(v)) throw new BadRequestError(`query parameter ${name} may not contain control characters`);
  return v;
}

/** The page number of ?page=, 1 when absent; a malformed one is the visitor's mistake (400). */
export function pageNumber(ctx: WebCtx): number {
  const v = queryText(ctx, 'page', 7);
  if (v === '') return 1;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new BadRequestError('the page number must be a whole number of at least 1');
  return Number(v);
}
