// The teams domain: organization memberships, teams with their members and tokens, and team access
// to workspaces and projects. It builds on users (a team's members are users): users reach memberships only
// through the hooks it hands over (userHooks), connected in src/server.ts. Other domains import it
// through this file only.
import type { Knex } from 'knex';
import type { ApiRouter, Site } from '../api/http.js';
import type { SubjectCache } from '../auth/cache.js';
import { presentToken, type TokenDirectory } from '../auth/routes.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import type { Organization, OrganizationService } from '../orgs/index.js';
import type { ProjectService } from '../projects/index.js';
import type { MembershipHooks, UserService } from '../users/index.js';
import type { WorkspaceService } from '../workspaces/index.js';
import { MembershipService } from './memberships.js';
import { registerTeamRoutes } from './routes.js';
import { TeamService } from './service.js';

export { membershipType, presentMembership, presentProjectAccess, presentTeam, presentTeamAccess, teamAccessType, teamProjectAccessType, teamType } from './presenters.js';
export type { Membership, MembershipService, MembershipStatus } from './memberships.js';
export type { ProjectAccess, Team, TeamAccess, TeamService, TeamToken } from './service.js';

export interface TeamDeps {
  db: Db;
  site: Site;
  orgs: OrganizationService;
  users: UserService;
  workspaces: WorkspaceService;
  projects: ProjectService;
  /** Emptied after every write that may change what a token's subject holds. */
  subjects: SubjectCache;
}

export interface TeamDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** Teams, team tokens and team access; also the resolver of team tokens (tt-...). */
  service: TeamService;
  memberships: MembershipService;
  /** /authentication-tokens/:id for team tokens. */
  tokenDirectory: TokenDirectory;
  /** Who a principal of type "teams" is now, for work done on its behalf later. */
  principalLoader: (id: string) => Promise<Subject | null>;
  /** For orgs.onCreate: the creator's membership and the owners team. */
  organizationCreated: (trx: Knex.Transaction, org: Organization, creator: Subject) => Promise<void>;
  /** For users.connectMemberships. */
  userHooks: MembershipHooks;
}

export function createTeamDomain(deps: TeamDeps): TeamDomain {
  const memberships = new MembershipService(deps.db, deps.orgs, deps.users, deps.subjects);
  const service = new TeamService(deps.db, deps.orgs, deps.users, deps.workspaces, deps.projects, deps.subjects);
  return {
    routes: (router) => registerTeamRoutes(router, { users: deps.users, memberships, teams: service, site: deps.site }),
    service,
    memberships,
    tokenDirectory: {
      prefix: service.prefix,
      show: async (subject, id) => presentToken(await service.getToken(subject, id)),
      remove: (subject, id) => service.deleteToken(subject, id),
    },
    principalLoader: (id) => service.subjectOfTeam(id),
    organizationCreated: memberships.organizationCreated,
    userHooks: memberships.userHooks,
  };
}
