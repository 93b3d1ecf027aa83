// What the pages of the web UI are given: the domains whose services they call, each with the
// signed-in visitor's Subject, exactly as the API's routes do. Pages never reach a store.
import type { Site } from '../api/http.js';
import type { AuthService } from '../auth/service.js';
import type { OidcConfig } from '../config.js';
import type { ConnectionDomain } from '../connections/index.js';
import type { Db } from '../db/index.js';
import type { Listener } from '../db/notify.js';
import type { Logger } from '../logger.js';
import type { OrganizationDomain } from '../orgs/index.js';
import type { PoolsDomain } from '../pools/index.js';
import type { ProjectDomain } from '../projects/index.js';
import type { RunDomain } from '../runs/index.js';
import type { SshKeyDomain } from '../sshkeys/index.js';
import type { StateDomain } from '../state/index.js';
import type { TeamDomain } from '../teams/index.js';
import type { RunTriggerDomain } from '../triggers/index.js';
import type { UserDomain } from '../users/index.js';
import type { VariableDomain } from '../variables/index.js';
import type { VariableSetDomain } from '../varsets/index.js';
import type { VcsDomain } from '../vcs/index.js';
import type { WorkspaceDomain } from '../workspaces/index.js';
import type { EventHub } from './events.js';
import type { SessionService } from './sessions/service.js';

/** Single sign-on through an OpenID Connect provider (otfd's --oidc-* flags). */
export type OidcSettings = OidcConfig;

export interface WebSettings {
  /** How long a session lasts from sign-in. */
  sessionLifetimeMs: number;
  oidc: OidcSettings | null;
  tls: boolean;
  /** How often event streams gather their visitors' rights again (default 30 s). */
  streamRecheckMs?: number;
}

export interface WebDeps {
  db: Db;
  site: Site;
  logger: Logger;
  listener: Listener;
  auth: AuthService;
  sessions: SessionService;
  /** Live updates: publish what changed, open event streams for pages. */
  events: EventHub;
  settings: WebSettings;
  orgs: OrganizationDomain;
  projects: ProjectDomain;
  workspaces: WorkspaceDomain;
  runs: RunDomain;
  state: StateDomain;
  variables: VariableDomain;
  varsets: VariableSetDomain;
  teams: TeamDomain;
  users: UserDomain;
  pools: PoolsDomain;
  vcs: VcsDomain;
  connections: ConnectionDomain;
  triggers: RunTriggerDomain;
  sshKeys: SshKeyDomain;
}
