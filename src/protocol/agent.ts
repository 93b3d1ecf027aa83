// The agent protocol's shared names and shapes (docs/agent-protocol.md): what otfd and its runners
// (otf-agent, and the server agent inside otfd) say to each other over /api/agent. Both sides
// import this module, so it imports nothing of either: only TypeBox, whose schemas here are the
// request bodies otfd validates and, through Static<>, the types the runners send.
import { Type, type Static } from '@sinclair/typebox';

/** An agent's name: what `otf-agent --name` takes and what registration accepts. */
export const AGENT_NAME = /^[A-Za-z0-9._-]{8,80}$/;
/** Why a name is refused, in the words both sides use. */
export const AGENT_NAME_RULE = 'must be 8 to 80 letters, digits, "-", "_" or "."';

/** A string of a fixed set, as a plain JSON Schema enum (its 422 names the allowed values). */
function oneOf<T extends string>(values: readonly T[]) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values] });
}

/** A variable of the run (the workspace's or one of its variable sets', one per key) as the runner receives it: sensitive values in clear. */
export interface RunnerVariable {
  key: string;
  value: string;
  category: 'terraform' | 'env';
  hcl: boolean;
  sensitive: boolean;
}

/** The workspace's SSH key as the runner receives it: the private key in clear, for git::ssh:// modules. */
export interface RunnerSshKey {
  id: string;
  name: string;
  value: string;
}

/** A timeout in words for logs and error messages: "5s", "2m30s", "2h". */
export function describeSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || total === 0 ? `${s}s` : ''].join('');
}

/** What a runner says, and otfd's backstop too, when a phase ran out of time. */
export function timedOutMessage(phase: 'plan' | 'apply', seconds: number): string {
  return `the ${phase} timed out after ${describeSeconds(seconds)}`;
}

/** Everything a runner needs to know to execute a job (GET /api/agent/jobs/:id). */
export interface JobSpec {
  /**
   * timeoutSeconds: how long the phase may run (from the start of the job) before the runner
   * interrupts the engine and reports the phase errored; absent from an older otfd: no limit.
   */
  job: { id: string; phase: 'plan' | 'apply'; timeoutSeconds?: number };
  run: {
    id: string;
    planId: string;
    applyId: string;
    configurationVersionId: string;
    isDestroy: boolean;
    refresh: boolean;
    refreshOnly: boolean;
    /**
     * A health assessment: the plan runs with -detailed-exitcode, whose exit code 2 (success, with
     * changes) is a success. Left out by older otfds: read as false.
     */
    assessment?: boolean;
    targetAddrs: string[];
    replaceAddrs: string[];
    variables: Array<{ key: string; value: string }>;
    engine: string;
    engineVersion: string;
    message: string;
  };
  workspace: { id: string; name: string; organization: string; workingDirectory: string };
  variables: RunnerVariable[];
  /** The workspace's SSH key, or null when it has none. Never log it. */
  sshKey: RunnerSshKey | null;
  /** host[:port] of otfd as the terraform CLI names it, and its base URL. */
  hostname: string;
  baseUrl: string;
}

const count = Type.Integer({ minimum: 0 });
const ResourceCountsSchema = Type.Object({ additions: count, changes: count, destructions: count, imports: count });
export type ResourceCounts = Static<typeof ResourceCountsSchema>;

/** POST /api/agent/jobs/:id/finish; counts may be left out (all zero). */
export const FinishBody = Type.Object({
  status: oneOf(['finished', 'errored', 'canceled'] as const),
  /** plan only: whether there is anything to apply */
  hasChanges: Type.Optional(Type.Boolean()),
  counts: Type.Optional(ResourceCountsSchema),
  error: Type.Optional(Type.String({ maxLength: 100_000 })),
});

/** A phase's outcome as a runner reports it and runs record it: the finish body, counts filled in. */
export type JobOutcome = Omit<Static<typeof FinishBody>, 'counts'> & { counts: ResourceCounts };

const short = Type.String({ maxLength: 200 });

/** POST /api/agent/register */
export const RegisterBody = Type.Object({
  name: Type.Optional(Type.String({ pattern: AGENT_NAME.source, 'x-message': AGENT_NAME_RULE })),
  version: Type.Optional(short),
  hostname: Type.Optional(short),
  os: Type.Optional(short),
  arch: Type.Optional(short),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /** An agent marked errored registers anew in its own name. */
  replaces: Type.Optional(Type.Object({ id: Type.String(), token: Type.String() })),
});
export type Registration = Static<typeof RegisterBody>;

/** POST /api/agent/sync: the agent's state and the jobs it runs. */
export const SyncBody = Type.Object({
  status: Type.Optional(oneOf(['idle', 'busy'] as const)),
  jobs: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 1000 })),
});
export type SyncReport = Static<typeof SyncBody>;

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

/** POST /api/agent/register's answer. */
export interface RegisterAnswer {
  id: string;
  name: string;
  token: string;
  pool: { id: string; name: string };
  organization: string;
  heartbeatSeconds: number;
}
