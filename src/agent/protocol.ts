// The shapes exchanged between otfd and runners over /api/agent (see docs/agent-protocol.md).

/** A workspace variable as the runner receives it: sensitive values in clear. */
export interface RunnerVariable {
  key: string;
  value: string;
  category: 'terraform' | 'env';
  hcl: boolean;
  sensitive: boolean;
}

/** Everything a runner needs to know to execute a job (GET /api/agent/jobs/:id). */
export interface JobSpec {
  job: { id: string; phase: 'plan' | 'apply' };
  run: {
    id: string;
    planId: string;
    applyId: string;
    configurationVersionId: string;
    isDestroy: boolean;
    refresh: boolean;
    refreshOnly: boolean;
    targetAddrs: string[];
    replaceAddrs: string[];
    variables: Array<{ key: string; value: string }>;
    engine: string;
    engineVersion: string;
    message: string;
  };
  workspace: { id: string; name: string; organization: string; workingDirectory: string };
  variables: RunnerVariable[];
  /** host[:port] of otfd as the terraform CLI names it, and its base URL. */
  hostname: string;
  baseUrl: string;
}

export interface ResourceCounts {
  additions: number;
  changes: number;
  destructions: number;
  imports: number;
}

/** POST /api/agent/jobs/:id/finish */
export interface JobOutcome {
  status: 'finished' | 'errored' | 'canceled';
  counts: ResourceCounts;
  /** plan only: whether there is anything to apply */
  hasChanges?: boolean;
  error?: string;
}

/** What otfd tells an agent in a heartbeat's answer or a long-poll's signals. */
export interface Instruction {
  action: 'cancel' | 'force-cancel' | 'shutdown';
  job?: string;
  reason?: string;
}

/** A job the jobs long-poll hands to an agent, with its job token. */
export interface HandedOutJob {
  id: string;
  token: string;
  phase: 'plan' | 'apply';
  run: string;
}

/** GET /api/agent/jobs */
export interface PollAnswer {
  jobs: HandedOutJob[];
  signals: Instruction[];
}

/** POST /api/agent/sync */
export interface SyncAnswer {
  heartbeatSeconds: number;
  /**
   * How long otfd waits for a silent agent before writing it off; an agent out of touch for
   * longer starts no job and stops its plans until it hears otfd again.
   */
  gracePeriodSeconds: number;
  instructions: Instruction[];
}
