// Links of the web UI, built in one place. Domains that link to pages (the API's links.self-html,
// commit statuses) import this module, which depends on nothing else of the web UI.

/** A path segment: names may hold characters that mean something in a URL. */
export function enc(s: string): string {
  return encodeURIComponent(s);
}

export const paths = {
  organizations: () => '/app/organizations',
  organization: (org: string) => `/app/${enc(org)}`,
  workspaces: (org: string) => `/app/${enc(org)}/workspaces`,
  workspace: (org: string, ws: string) => `/app/${enc(org)}/workspaces/${enc(ws)}`,
  runs: (org: string, ws: string) => `/app/${enc(org)}/workspaces/${enc(ws)}/runs`,
  run: (org: string, ws: string, runId: string) => `/app/${enc(org)}/workspaces/${enc(ws)}/runs/${enc(runId)}`,
  pools: (org: string) => `/app/${enc(org)}/agent-pools`,
  pool: (org: string, poolId: string) => `/app/${enc(org)}/agent-pools/${enc(poolId)}`,
  teams: (org: string) => `/app/${enc(org)}/teams`,
  team: (org: string, teamId: string) => `/app/${enc(org)}/teams/${enc(teamId)}`,
  varsets: (org: string) => `/app/${enc(org)}/varsets`,
  varset: (org: string, id: string) => `/app/${enc(org)}/varsets/${enc(id)}`,
  vcsProviders: (org: string) => `/app/${enc(org)}/vcs-providers`,
  settings: (org: string) => `/app/${enc(org)}/settings`,
  users: () => '/app/admin/users',
  user: (id: string) => `/app/admin/users/${enc(id)}`,
  profileTokens: () => '/app/profile/tokens',
};
