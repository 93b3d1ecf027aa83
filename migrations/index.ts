// Every migration, in order. Names are recorded in knex_migrations; never rename or reorder them.
import type { Knex } from 'knex';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_blobs.js';
import * as m0003 from './0003_state.js';
import * as m0004 from './0004_variables.js';
import * as m0005 from './0005_runs.js';
import * as m0006 from './0006_pools.js';
import * as m0007 from './0007_server_agents.js';
import * as m0008 from './0008_engines_and_state_sharing.js';
import * as m0009 from './0009_users_and_teams.js';
import * as m0010 from './0010_auth_changes.js';
import * as m0011 from './0011_late_states.js';
import * as m0014 from './0014_configuration_creators.js';
import * as m0015 from './0015_variable_sets.js';
import * as m0016 from './0016_run_triggers.js';
import * as m0017 from './0017_ssh_keys.js';
import * as m0018 from './0018_run_events_and_resources.js';
import * as m0019 from './0019_team_projects.js';
import * as m0020 from './0020_organization_defaults.js';
import * as m0021 from './0021_workspace_overwrites_and_assessments.js';
import * as m0022 from './0022_vcs_providers.js';
import * as m0023 from './0023_vcs_connections.js';
import * as m0024 from './0024_vcs_deliveries_and_ingress.js';
import * as m0025 from './0025_vcs_polls.js';
import * as m0026 from './0026_vcs_delivery_bodies.js';
import * as m0027 from './0027_repo_hooks_pending_deletion.js';
import * as m0028 from './0028_web_sessions.js';
import * as m0029 from './0029_sign_on.js';
import * as m0030 from './0030_sso_identities.js';
import * as m0031 from './0031_notifications.js';
import * as m0033 from './0033_timeouts_and_force_end.js';
import * as m0035 from './0035_data_retention_policies.js';
import * as m0036 from './0036_audit_retention.js';
import * as m0034 from './0034_audit_events.js';
import * as m0032 from './0032_assessments.js';
import * as m0037 from './0037_notification_delivery_order.js';

export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_blobs': m0002,
  '0003_state': m0003,
  '0004_variables': m0004,
  '0005_runs': m0005,
  '0006_pools': m0006,
  '0007_server_agents': m0007,
  '0008_engines_and_state_sharing': m0008,
  '0009_users_and_teams': m0009,
  '0010_auth_changes': m0010,
  '0011_late_states': m0011,
  '0014_configuration_creators': m0014,
  '0015_variable_sets': m0015,
  '0016_run_triggers': m0016,
  '0017_ssh_keys': m0017,
  '0018_run_events_and_resources': m0018,
  '0019_team_projects': m0019,
  '0020_organization_defaults': m0020,
  '0021_workspace_overwrites_and_assessments': m0021,
  '0022_vcs_providers': m0022,
  '0023_vcs_connections': m0023,
  '0024_vcs_deliveries_and_ingress': m0024,
  '0025_vcs_polls': m0025,
  '0026_vcs_delivery_bodies': m0026,
  '0027_repo_hooks_pending_deletion': m0027,
  '0028_web_sessions': m0028,
  '0029_sign_on': m0029,
  '0030_sso_identities': m0030,
  '0031_notifications': m0031,
  '0033_timeouts_and_force_end': m0033,
  '0035_data_retention_policies': m0035,
  '0036_audit_retention': m0036,
  '0034_audit_events': m0034,
  '0032_assessments': m0032,
  '0037_notification_delivery_order': m0037,
};
