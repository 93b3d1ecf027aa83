// Who is making a request. Every service call receives one; authorization decisions are made
// from it in src/auth/authorize.ts.

export type Subject =
  | { kind: 'site-admin' }
  | { kind: 'organization-token'; organizationId: string; organizationName: string; tokenId: string }
  /** A job token: valid while one job of one run executes, and only for that run's workspace. */
  | { kind: 'job'; jobId: string; runId: string; workspaceId: string; organizationId: string }
  /** An agent pool's token: good for registering an agent in that pool, and nothing else. */
  | { kind: 'agent-token'; tokenId: string; poolId: string; organizationId: string }
  /** A registered pool agent: good for the agent protocol (heartbeats, jobs), nothing else. */
  | { kind: 'agent'; agentId: string; poolId: string; organizationId: string };

/** The user-like identity of a subject: who holds a lock, who /account/details describes. */
export interface Principal {
  type: 'users' | 'teams' | 'runs';
  id: string;
  name: string;
}

export const SITE_ADMIN: Subject = { kind: 'site-admin' };

export function principalOf(subject: Subject): Principal {
  switch (subject.kind) {
    case 'site-admin':
      return { type: 'users', id: 'user-site-admin', name: 'site-admin' };
    case 'organization-token':
      // Terraform Cloud backs organization tokens with a service account named after the organization.
      return { type: 'users', id: `user-api-org-${subject.organizationId.slice(4)}`, name: `api-org-${subject.organizationName}` };
    case 'job':
      return { type: 'runs', id: subject.runId, name: subject.runId };
    case 'agent-token':
      return { type: 'users', id: subject.tokenId, name: `agent token ${subject.tokenId}` };
    case 'agent':
      return { type: 'users', id: subject.agentId, name: `agent ${subject.agentId}` };
  }
}
