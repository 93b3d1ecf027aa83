// The audit trail as Terraform Cloud shows it. Unlike the rest of the API it is plain JSON, not
// JSON:API (TFC's audit trails API says so): data[] of events, and a pagination object.
// Extensions, documented in docs/audit-trail.md: auth.accessor_type (user, team, organization,
// agent, job, site, system, anonymous) and auth.token_id, request.client_address, and result.
import type { AuditEvent } from './store.js';

export function presentEvent(e: AuditEvent): Record<string, unknown> {
  return {
    id: e.id,
    version: '0',
    type: 'Resource',
    timestamp: e.time.toISOString(),
    auth: {
      accessor_id: e.actorId,
      description: e.actorName,
      type: e.actorType === 'system' ? 'System' : 'Client',
      impersonator_id: null,
      organization_id: e.organizationId,
      accessor_type: e.actorType,
      token_id: e.tokenId,
    },
    request: { id: e.requestId, client_address: e.clientAddress },
    resource: { id: e.resourceId, type: e.resourceType, action: e.action, meta: e.details },
    result: e.result,
  };
}

export function pagination(number: number, size: number, total: number): Record<string, number | null> {
  const totalPages = Math.max(1, Math.ceil(total / size));
  return {
    current_page: number,
    prev_page: number > 1 ? number - 1 : null,
    next_page: number < totalPages ? number + 1 : null,
    total_pages: totalPages,
    total_count: total,
  };
}
