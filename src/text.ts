// Text that every store and runner can carry unchanged: PostgreSQL refuses NUL characters, and an
// unpaired surrogate would silently become U+FFFD once written as UTF-8.
import { InvalidError } from './errors.js';

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses an attribute's text holding a NUL character or an unpaired surrogate. The text is never
 * quoted back: it may be a secret (a variable's value, a key, a token).
 */
export function checkStorableText(attribute: string, text: string): void {
  const pointer = { pointer: `/data/attributes/${attribute}` };
  if (text.includes('\u0000')) throw new InvalidError(`attribute "${attribute}" must not contain NUL characters (\\u0000)`, pointer);
  if (LONE_SURROGATE.test(text)) throw new InvalidError(`attribute "${attribute}" must be valid Unicode text; it contains an unpaired surrogate`, pointer);
}
