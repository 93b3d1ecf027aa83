// Names on the command line turned into resources: <org>/<ws> through
// GET /organizations/:org/workspaces/:name, <org>/<team> and team names through
// GET /organizations/:org/teams?filter[names]=..., and ids checked before they go into a path.
import type { Client, Resource } from './client.js';
import { CliError, UsageError } from './command.js';

export interface WorkspaceName {
  organization: string;
  name: string;
}

const seg = encodeURIComponent;

export function parseWorkspaceName(arg: string): WorkspaceName {
  const parts = arg.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UsageError(`"${arg}" is not <organization>/<workspace>`);
  return { organization: parts[0], name: parts[1] };
}

export function workspacePath(ws: WorkspaceName): string {
  return `/organizations/${seg(ws.organization)}/workspaces/${seg(ws.name)}`;
}

/** The workspace named "<org>/<ws>"; the server's 404 says `workspace "org/ws" not found`. */
export function resolveWorkspace(api: Client, arg: string): Promise<Resource> {
  return api.get(workspacePath(parseWorkspaceName(arg)));
}

/** An id as the server hands them out (apool-..., at-..., user-...); anything else is a typo. */
export function idPath(prefix: string, id: string, what: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new UsageError(`"${id}" is not ${what} id`);
  return `${prefix}/${seg(id)}`;
}

export interface TeamName {
  organization: string;
  name: string;
}

export function parseTeamName(arg: string): TeamName {
  const parts = arg.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UsageError(`"${arg}" is not <organization>/<team>`);
  return { organization: parts[0], name: parts[1] };
}

/**
 * The teams of an organization with these names, in the order given; a name the organization has
 * no (visible) team of fails with `team "org/name" not found`.
 */
export async function resolveTeams(api: Client, organization: string, names: string[]): Promise<Resource[]> {
  if (names.length === 0) return [];
  const wanted = [...new Set(names)];
  const found = await api.list(`/organizations/${seg(organization)}/teams?filter%5Bnames%5D=${seg(wanted.join(','))}`);
  return names.map((name) => {
    const team = found.find((t) => t.attributes.name === name);
    if (!team) throw new CliError(`team "${organization}/${name}" not found`);
    return team;
  });
}

/** The team named "<org>/<team>". */
export async function resolveTeam(api: Client, arg: string): Promise<Resource> {
  const { organization, name } = parseTeamName(arg);
  return (await resolveTeams(api, organization, [name]))[0];
}

export { seg };
