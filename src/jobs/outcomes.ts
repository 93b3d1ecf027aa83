// What the jobs domain needs of runs, as one interface: runs implements it (src/runs/phases.ts)
// and it is handed to jobs when otfd is wired (src/server.ts). Jobs never import runs, so the
// arrow between the two goes one way only: runs enqueue and stop jobs through the jobs service;
// jobs report back through this.
import type { JobOutcome, JobSpec } from '../protocol/agent.js';
import type { Job } from './store.js';

export interface PhaseOutcomes {
  /** The run's and the workspace's parts of the job's spec. */
  describe(job: Job): Promise<Pick<JobSpec, 'run' | 'workspace'>>;
  /** The runner starts the job; false when its run no longer wants it (the job stays claimed). */
  started(job: Job): Promise<boolean>;
  /** The runner finished the job's phase; the job ends with the run's transition. */
  finished(job: Job, outcome: JobOutcome): Promise<void>;
  /** The job cannot be executed (its runner lost, its engine unavailable): its run ends errored. */
  failed(runId: string, message: string): Promise<void>;
  /** A state of the run's apply was saved after its job was over. */
  stateSavedLate(runId: string): Promise<void>;
  /** A chunk of the job's phase log at a byte offset. */
  appendLog(job: Job, offset: number, chunk: Buffer): Promise<{ length: number; gap: boolean }>;
  /** Where the named artifact of the job's run is kept in the blob store; null: no such artifact. */
  artifactKey(job: Job, name: string): string | null;
}
