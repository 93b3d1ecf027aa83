// Late states (docs/agent-protocol.md): a state a runner kept in its outbox because otfd could not
// take it while the job ran (otfd down, PostgreSQL down, the job written off or its token revoked)
// reaches otfd afterwards, authenticated by the runner's pool instead of the job's token.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import type { StateService } from '../state/index.js';
import type { PhaseOutcomes } from './outcomes.js';
import type { JobService } from './service.js';

/** How long after its apply job ended otfd still takes its state late: well past an agent's 24 h of retries. */
export const LATE_STATE_DAYS = 7;

export interface LateStateAnswer {
  stateVersion: string;
  /** Whether it is now the workspace's current state version. */
  current: boolean;
  /** A delivery of the same bytes was acknowledged before. */
  duplicate: boolean;
}

export class LateStates {
  constructor(
    private readonly jobs: JobService,
    private readonly outcomes: PhaseOutcomes,
    private readonly state: StateService,
    private readonly logger: Logger,
  ) {}

  /**
   * Saves the state of the apply job `jobId`, delivered by a runner of `poolId` (null: a server
   * agent). A job of another pool is as unknown as a job that does not exist.
   */
  async accept(jobId: string, poolId: string | null, state: Buffer, md5: string): Promise<LateStateAnswer> {
    const job = await this.jobs.get(jobId);
    if (!job || job.poolId !== poolId) throw new NotFoundError(`job ${jobId} not found in this agent pool`);
    if (job.phase !== 'apply') throw new ConflictError(`job ${jobId} is a ${job.phase}; only an apply leaves a state`);
    // Only an apply that ran leaves a state, and only for a while: a pool's token is no key to
    // rewrite a workspace's state at any time later.
    if (!job.claimedAt) throw new ConflictError(`job ${jobId} never ran; it left no state`);
    if (job.finishedAt && Date.now() - job.finishedAt.getTime() > LATE_STATE_DAYS * 86_400_000) {
      throw new ConflictError(`job ${jobId} ended more than ${LATE_STATE_DAYS} days ago; otfd takes no late state for it any more`);
    }
    if (crypto.createHash('md5').update(state).digest('hex') !== md5) {
      throw new InvalidError(`the state's MD5 is not ${md5}: it was damaged on the way`, { parameter: 'md5' });
    }
    const saved = await this.state.saveLate({ workspaceId: job.workspaceId, runId: job.runId, state });
    if (!saved.duplicate) await this.outcomes.stateSavedLate(job.runId);
    this.logger.info(
      { job: jobId, run: job.runId, workspace: job.workspaceId, stateVersion: saved.version.id, serial: saved.version.serial, current: saved.current, duplicate: saved.duplicate },
      saved.current ? 'late state saved as the current state version' : 'late state saved in the history; a newer state is current',
    );
    return { stateVersion: saved.version.id, current: saved.current, duplicate: saved.duplicate };
  }
}
