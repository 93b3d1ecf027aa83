// Reading many rows by id in one statement (WHERE id = ANY(?), one statement text whatever the
// number of ids) instead of one statement per id.

/**
 * The found records in the order of the ids asked for (the order a statement per id would have
 * given), each once; ids that found nothing are left out.
 */
export function inOrderOf<T extends { id: string }>(ids: readonly string[], found: readonly T[]): T[] {
  const byId = new Map(found.map((r) => [r.id, r]));
  const out: T[] = [];
  for (const id of new Set(ids)) {
    const r = byId.get(id);
    if (r) out.push(r);
  }
  return out;
}
