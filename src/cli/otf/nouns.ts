// Every noun otf knows, in the order its help lists them. A new noun is a module of nouns/
// exporting a Noun, added here.
import type { Noun } from './command.js';
import { audit } from './nouns/audit.js';
import { assessments } from './nouns/assessments.js';
import { organizations } from './nouns/organizations.js';
import { agentPools, agents, agentTokens } from './nouns/pools.js';
import { runs } from './nouns/runs.js';
import { memberships } from './nouns/memberships.js';
import { notifications } from './nouns/notifications.js';
import { state } from './nouns/state.js';
import { teamAccess } from './nouns/team-access.js';
import { teamMembers, teams, teamTokens } from './nouns/teams.js';
import { users, userTokens } from './nouns/users.js';
import { variables } from './nouns/variables.js';
import { vcsProviders } from './nouns/vcs-providers.js';
import { workspaces } from './nouns/workspaces.js';

export const NOUNS: Noun[] = [
  organizations,
  workspaces,
  runs,
  assessments,
  state,
  variables,
  notifications,
  vcsProviders,
  agentPools,
  agentTokens,
  agents,
  users,
  userTokens,
  memberships,
  teams,
  teamMembers,
  teamTokens,
  teamAccess,
  audit,
];
