// The users domain: user accounts and their tokens. Wired into otfd by src/server.ts; other
// domains import it through this file only.
import type { ApiRouter, Site } from '../api/http.js';
import type { SubjectCache } from '../auth/cache.js';
import { presentToken, type TokenDirectory } from '../auth/routes.js';
import type { Subject } from '../auth/subject.js';
import type { Db } from '../db/index.js';
import { registerUserRoutes } from './routes.js';
import { UserService } from './service.js';

export { emailSchema, expiredAtSchema, expiry, optionalBody } from './routes.js';
export { presentServiceAccount, presentUser, userType } from './presenters.js';
export { checkExpiry, isValidUsername, SignOnNotLinked, USERNAME_RULE, UserService, type MembershipHooks, type Page, type User, type UserToken } from './service.js';

export interface UserDeps {
  db: Db;
  site: Site;
  /** Emptied after every write that may change what a token's subject holds. */
  subjects: SubjectCache;
}

export interface UserDomain {
  /** JSON:API routes under /api/v2. */
  routes(router: ApiRouter): void;
  /** For other domains: lookups of users, and connectMemberships for the teams domain. Also the resolver of user tokens (ut-...). */
  service: UserService;
  /** /authentication-tokens/:id for user tokens. */
  tokenDirectory: TokenDirectory;
  /** Who a principal of type "users" is now, for work done on its behalf later. */
  principalLoader: (id: string) => Promise<Subject | null>;
}

export function createUserDomain(deps: UserDeps): UserDomain {
  const service = new UserService(deps.db, deps.subjects);
  return {
    routes: (router) => registerUserRoutes(router, { users: service, site: deps.site }),
    service,
    tokenDirectory: {
      prefix: service.prefix,
      show: async (subject, id) => presentToken(await service.getToken(subject, id)),
      remove: (subject, id) => service.deleteToken(subject, id),
    },
    principalLoader: (id) => service.subjectOfUser(id),
  };
}
