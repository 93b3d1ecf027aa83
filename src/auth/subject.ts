// Who is making a request. Every service call receives one; authorization decisions are made
// from it in src/auth/authorize.ts. A user's or team's rights are gathered once, when its token is
// checked, so that every decision in the request is a lookup.
import type { OrganizationPermission, ProjectGrant, WorkspaceAccess } from './access.js';

/** What a user (through its teams) or a team holds in one organization. */
export interface OrganizationGrants {
  /** A member of the owners team: everything in the organization. */
  owner: boolean;
  /** Organization-level permissions of the teams. */
  access: ReadonlySet<OrganizationPermission>;
  /** Workspace id to what the teams' grants on it, and on its project, allow together. */
  workspaces: ReadonlyMap<string, WorkspaceAccess>;
  /** Project id to what the teams' grants on the project allow together. */
  projects: ReadonlyMap<string, ProjectGrant>;
  /** The teams acted through. */
  teams: readonly string[];
}

export type Subject =
  | { kind: 'site-admin' }
  /** A user, by a user token: what its teams allow, in each organization it is a member of. */
  | { kind: 'user'; userId: string; username: string; organizations: ReadonlyMap<string, OrganizationGrants> }
  /** A team token: what the team allows, in its organization. */
  | { kind: 'team'; tokenId: string; teamId: string; teamName: string; organizationId: string; grants: OrganizationGrants }
  | { kind: 'organization-token'; organizationId: string; organizationName: string; tokenId: string }
  /** A job token: valid while one job (one phase) of one run executes, and only for that run's workspace. */
  | { kind: 'job'; jobId: string; runId: string; workspaceId: string; organizationId: string; phase: 'plan' | 'apply' }
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
    case 'user':
      return { type: 'users', id: subject.userId, name: subject.username };
    case 'team':
      return { type: 'teams', id: subject.teamId, name: subject.teamName };
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
