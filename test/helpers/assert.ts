// Assertions on the answers of the API: their status and, for refusals, their JSON:API error document.
import assert from 'node:assert/strict';
import type { Json } from './api.js';

/** What assertStatus and assertError read of an answer (a Response of the Api, or a RawResponse). */
export interface AnswerLike {
  status: number;
  body: Json;
  text: string;
}

export function assertStatus(res: AnswerLike, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
}

/**
 * Asserts a JSON:API error response: its status (of the answer and of its first error), what its
 * detail says and, when given, the pointer or parameter its source names.
 */
export function assertError(res: AnswerLike, status: number, detail: RegExp, source: { pointer?: string; parameter?: string } = {}): void {
  assertStatus(res, status);
  const errors = res.body?.errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `expected a JSON:API error document, got ${res.text}`);
  const error = errors[0];
  assert.ok(error, `expected a JSON:API error document, got ${res.text}`);
  assert.equal(error.status, String(status));
  assert.match(error.detail, detail);
  if (source.pointer !== undefined) assert.equal(error.source?.pointer, source.pointer, `source of ${res.text}`);
  if (source.parameter !== undefined) assert.equal(error.source?.parameter, source.parameter, `source of ${res.text}`);
}
