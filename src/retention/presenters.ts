// How data retention policies look in the API: Terraform Cloud's two resource types.
import type { RetentionPolicy } from './store.js';

export const DELETE_OLDERS = 'data-retention-policy-delete-olders';
export const DONT_DELETES = 'data-retention-policy-dont-deletes';
/** The type of TFE v202311-1 and v202312-1, still accepted on writes (it means delete-older). */
export const LEGACY = 'data-retention-policies';

export function presentPolicy(p: RetentionPolicy): Record<string, unknown> {
  if (p.kind === 'dont-delete') return { id: p.id, type: DONT_DELETES, attributes: {} };
  return { id: p.id, type: DELETE_OLDERS, attributes: { 'delete-older-than-n-days': p.deleteOlderThanNDays } };
}
