// The organization-level and site pages of the web UI, registered together (one line in
// src/web/index.ts): organization settings and token, agent pools, teams, variable sets, VCS
// providers, the site administrator's users, and the visitor's own tokens.
import type { WebDeps } from '../deps.js';
import type { WebRouter } from '../http.js';
import { registerAdminPages } from './admin.js';
import { registerOrganizationSettingsPages } from './org-settings.js';
import { registerPoolPages } from './pools.js';
import { registerProfilePages } from './profile.js';
import { registerTeamPages } from './teams.js';
import { registerVariableSetPages } from './varsets.js';
import { registerVcsProviderPages } from './vcs-providers.js';

export function registerOrgPages(router: WebRouter, deps: WebDeps): void {
  registerOrganizationSettingsPages(router, deps);
  registerPoolPages(router, deps);
  registerTeamPages(router, deps);
  registerVariableSetPages(router, deps);
  registerVcsProviderPages(router, deps);
  registerProfilePages(router, deps);
  registerAdminPages(router, deps);
}
