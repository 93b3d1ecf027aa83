// Who a subject is, as the audit trail names it: the kind of actor, its id and a readable name.
// Tokens are named by their id only: the audit trail never holds a credential.
import type { Subject } from '../auth/subject.js';
import type { WorkActor } from '../logger.js';

/** Background work (schedulers, triggers) that acts for nobody. */
export const SYSTEM_ACTOR: WorkActor = { type: 'system', id: 'system', name: 'otfd' };

/** A visitor who has not proven who they are: the actor of a failed sign-in. */
export const ANONYMOUS_ACTOR: WorkActor = { type: 'anonymous', id: 'anonymous', name: 'anonymous' };

export function actorOf(subject: Subject): WorkActor {
  switch (subject.kind) {
    case 'site-admin':
      return { type: 'site', id: 'user-site-admin', name: 'site-admin' };
    case 'user':
      return { type: 'user', id: subject.userId, name: subject.username };
    case 'team':
      return { type: 'team', id: subject.teamId, name: subject.teamName, tokenId: subject.tokenId, organizationId: subject.organizationId };
    case 'organization-token':
      return { type: 'organization', id: subject.tokenId, name: `api-org-${subject.organizationName}`, tokenId: subject.tokenId, organizationId: subject.organizationId };
    case 'job':
      return { type: 'job', id: subject.jobId, name: `${subject.phase} job of ${subject.runId}`, organizationId: subject.organizationId };
    case 'agent-token':
      return { type: 'agent', id: subject.tokenId, name: `token of agent pool ${subject.poolId}`, tokenId: subject.tokenId, organizationId: subject.organizationId };
    case 'agent':
      return { type: 'agent', id: subject.agentId, name: `agent of pool ${subject.poolId}`, organizationId: subject.organizationId };
  }
}
