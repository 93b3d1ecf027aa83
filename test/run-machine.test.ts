// The run state machine as a table: which event moves a run from which status to which, that
// nothing else is allowed, that final statuses are final, and what the plan and the apply report
// once a run has moved. Pure unit tests of src/runs/machine.ts; no server.
import assert from 'node:assert/strict';
import {
  FINAL_STATUSES,
  IllegalTransition,
  RUN_STATUSES,
  TRANSITIONS,
  canHappen,
  phaseStatuses,
  transition,
  type RunEvent,
  type RunStatus,
} from '../src/runs/machine.js';

// Every event, checked by the compiler: a new RunEvent that is missing here, or a name that is not
// one, does not compile, so the exhaustive tests below stay exhaustive.
const EVENT_NAMES: Record<RunEvent, true> = {
  queue_plan: true,
  start_plan: true,
  plan_with_changes: true,
  plan_and_finish: true,
  plan_and_save: true,
  confirm: true,
  queue_apply: true,
  start_apply: true,
  apply: true,
  fail: true,
  discard: true,
  cancel: true,
  cancel_finished: true,
  force_cancel: true,
  force_end: true,
};
const EVENTS = Object.keys(EVENT_NAMES) as RunEvent[];

/** The run lifecycle as TFC documents it, written out independently of the table under test. */
const LIFECYCLE: ReadonlyArray<[RunStatus, RunEvent, RunStatus]> = [
  ['pending', 'queue_plan', 'plan_queued'],
  ['plan_queued', 'start_plan', 'planning'],
  ['planning', 'plan_with_changes', 'planned'],
  ['planning', 'plan_and_finish', 'planned_and_finished'],
  ['planning', 'plan_and_save', 'planned_and_saved'],
  ['planned', 'confirm', 'confirmed'],
  ['planned_and_saved', 'confirm', 'confirmed'],
  ['confirmed', 'queue_apply', 'apply_queued'],
  ['apply_queued', 'start_apply', 'applying'],
  ['applying', 'apply', 'applied'],
  ['pending', 'fail', 'errored'],
  ['plan_queued', 'fail', 'errored'],
  ['planning', 'fail', 'errored'],
  ['planned', 'fail', 'errored'],
  ['confirmed', 'fail', 'errored'],
  ['apply_queued', 'fail', 'errored'],
  ['applying', 'fail', 'errored'],
  ['pending', 'discard', 'discarded'],
  ['planned', 'discard', 'discarded'],
  ['planned_and_saved', 'discard', 'discarded'],
  ['pending', 'cancel', 'canceled'],
  ['plan_queued', 'cancel', 'canceled'],
  ['confirmed', 'cancel', 'canceled'],
  ['apply_queued', 'cancel', 'canceled'],
  ['planning', 'cancel_finished', 'canceled'],
  ['applying', 'cancel_finished', 'canceled'],
  ['planning', 'force_cancel', 'force_canceled'],
  ['applying', 'force_cancel', 'force_canceled'],
  // An owner's force-end, from every status that is not final (docs/timeouts-and-hooks.md).
  ['pending', 'force_end', 'force_canceled'],
  ['plan_queued', 'force_end', 'force_canceled'],
  ['planning', 'force_end', 'force_canceled'],
  ['planned', 'force_end', 'force_canceled'],
  ['planned_and_saved', 'force_end', 'force_canceled'],
  ['confirmed', 'force_end', 'force_canceled'],
  ['apply_queued', 'force_end', 'force_canceled'],
  ['applying', 'force_end', 'force_canceled'],
];

const key = (status: RunStatus, event: RunEvent) => `${status} --${event}-->`;

/** (status, event) → target, for every pair the table under test allows. */
function tableMoves(): Map<string, RunStatus[]> {
  const moves = new Map<string, RunStatus[]>();
  for (const row of TRANSITIONS) {
    for (const from of row.from) {
      const k = key(from, row.event);
      moves.set(k, [...(moves.get(k) ?? []), row.to]);
    }
  }
  return moves;
}

function assertIllegal(status: RunStatus, event: RunEvent): void {
  assert.throws(
    () => transition(status, event),
    (err: unknown) => {
      assert.ok(err instanceof IllegalTransition, `${key(status, event)} threw ${String(err)}, not an IllegalTransition`);
      assert.equal(err.status, status);
      assert.equal(err.event, event);
      // the message is what a 409 tells the user: it names the current status
      assert.match(err.message, new RegExp(`\\b${status}\\b`));
      return true;
    },
    `${key(status, event)} should be refused`,
  );
  assert.equal(canHappen(status, event), false, `canHappen(${status}, ${event})`);
}

describe('run state machine', function () {
  describe('the transition table', function () {
    it('moves a run to the target of every row, from each of its source statuses', () => {
      let checked = 0;
      for (const row of TRANSITIONS) {
        assert.ok(row.from.length > 0, `a row for ${row.event} has no source status`);
        for (const from of row.from) {
          const t = transition(from, row.event);
          assert.equal(t.to, row.to, key(from, row.event));
          assert.equal(canHappen(from, row.event), true, `canHappen(${from}, ${row.event})`);
          checked++;
        }
      }
      assert.equal(checked, LIFECYCLE.length);
    });

    it('is exactly the documented run lifecycle', () => {
      const actual = [...tableMoves()].map(([k, tos]) => `${k} ${tos.join('|')}`).sort();
      const expected = LIFECYCLE.map(([from, event, to]) => `${key(from, event)} ${to}`).sort();
      assert.deepEqual(actual, expected);
    });

    it('has at most one transition for any status and event', () => {
      for (const [k, tos] of tableMoves()) assert.equal(tos.length, 1, `${k} has several targets: ${tos.join(', ')}`);
    });

    it('only names known statuses', () => {
      for (const row of TRANSITIONS) {
        for (const s of [...row.from, row.to]) assert.ok((RUN_STATUSES as readonly string[]).includes(s), `unknown status ${s}`);
      }
    });

    it(`refuses every other (status, event) pair of the ${RUN_STATUSES.length} × ${EVENTS.length} with IllegalTransition`, () => {
      const legal = tableMoves();
      let refused = 0;
      for (const status of RUN_STATUSES) {
        for (const event of EVENTS) {
          if (legal.has(key(status, event))) continue;
          assertIllegal(status, event);
          refused++;
        }
      }
      assert.equal(refused, RUN_STATUSES.length * EVENTS.length - LIFECYCLE.length);
    });

    it('says in words what cannot happen', () => {
      const err = (() => {
        try {
          transition('applied', 'force_cancel');
        } catch (e) {
          return e;
        }
        return null;
      })();
      assert.ok(err instanceof IllegalTransition);
      assert.equal(err.message, 'a run that is applied cannot force cancel');
    });
  });

  describe('final statuses', function () {
    it('are applied, planned_and_finished, discarded, errored, canceled and force_canceled', () => {
      assert.deepEqual([...FINAL_STATUSES].sort(), ['applied', 'canceled', 'discarded', 'errored', 'force_canceled', 'planned_and_finished']);
    });

    it('have no outgoing transition for any event', () => {
      for (const status of FINAL_STATUSES) {
        for (const event of EVENTS) assertIllegal(status, event);
      }
    });

    it('are the only statuses a run cannot leave', () => {
      for (const status of RUN_STATUSES) {
        if (FINAL_STATUSES.has(status)) continue;
        assert.ok(
          EVENTS.some((e) => canHappen(status, e)),
          `${status} is not final but has no way out`,
        );
      }
    });

    it('can each be reached from pending', () => {
      const reached = new Set<RunStatus>(['pending']);
      for (let grew = true; grew; ) {
        grew = false;
        for (const row of TRANSITIONS) {
          if (row.from.some((f) => reached.has(f)) && !reached.has(row.to)) {
            reached.add(row.to);
            grew = true;
          }
        }
      }
      assert.deepEqual([...reached].sort(), [...RUN_STATUSES].sort());
    });

    it('release the workspace on entry, and no other status does', () => {
      for (const row of TRANSITIONS) {
        const releases = row.effects.includes('release-workspace');
        assert.equal(releases, FINAL_STATUSES.has(row.to), `${row.event} to ${row.to}: release-workspace ${releases ? 'present' : 'missing'}`);
      }
    });

    it('withdraw or signal the jobs when a run fails, is canceled or force-canceled', () => {
      for (const event of ['fail', 'cancel', 'force_cancel'] as const) {
        const rows = TRANSITIONS.filter((r) => r.event === event);
        assert.ok(rows.length > 0);
        for (const row of rows) assert.ok(row.effects.includes('cancel-jobs'), `${event} does not stop the run's jobs`);
      }
    });

    it('queue the plan on admission and the apply on confirmation', () => {
      assert.ok(transition('pending', 'queue_plan').effects.includes('enqueue-plan'));
      assert.ok(transition('confirmed', 'queue_apply').effects.includes('enqueue-apply'));
      assert.ok(transition('planning', 'plan_with_changes').effects.includes('auto-apply'));
    });
  });

  describe('phaseStatuses', function () {
    const cases: Array<{ name: string; from: RunStatus; to: RunStatus; plan: string; apply: string }> = [
      { name: 'a new run', from: 'pending', to: 'pending', plan: 'pending', apply: 'pending' },
      { name: 'a run admitted to the queue', from: 'pending', to: 'plan_queued', plan: 'queued', apply: 'pending' },
      { name: 'a planning run', from: 'plan_queued', to: 'planning', plan: 'running', apply: 'pending' },
      { name: 'a planned run', from: 'planning', to: 'planned', plan: 'finished', apply: 'pending' },
      { name: 'a plan with nothing to apply', from: 'planning', to: 'planned_and_finished', plan: 'finished', apply: 'unreachable' },
      { name: 'a saved plan', from: 'planning', to: 'planned_and_saved', plan: 'finished', apply: 'pending' },
      { name: 'a confirmed run', from: 'planned', to: 'confirmed', plan: 'finished', apply: 'pending' },
      { name: 'a queued apply', from: 'confirmed', to: 'apply_queued', plan: 'finished', apply: 'queued' },
      { name: 'an applying run', from: 'apply_queued', to: 'applying', plan: 'finished', apply: 'running' },
      { name: 'an applied run', from: 'applying', to: 'applied', plan: 'finished', apply: 'finished' },
      { name: 'errored while planning', from: 'planning', to: 'errored', plan: 'errored', apply: 'unreachable' },
      { name: 'errored while the plan was queued', from: 'plan_queued', to: 'errored', plan: 'errored', apply: 'unreachable' },
      { name: 'errored while applying', from: 'applying', to: 'errored', plan: 'finished', apply: 'errored' },
      { name: 'errored while the apply was queued', from: 'apply_queued', to: 'errored', plan: 'finished', apply: 'errored' },
      { name: 'errored before it was admitted', from: 'pending', to: 'errored', plan: 'unreachable', apply: 'unreachable' },
      { name: 'discarded after its plan', from: 'planned', to: 'discarded', plan: 'finished', apply: 'unreachable' },
      { name: 'a saved plan discarded', from: 'planned_and_saved', to: 'discarded', plan: 'finished', apply: 'unreachable' },
      { name: 'discarded while pending', from: 'pending', to: 'discarded', plan: 'unreachable', apply: 'unreachable' },
      { name: 'canceled while pending', from: 'pending', to: 'canceled', plan: 'unreachable', apply: 'unreachable' },
      { name: 'canceled while its plan was queued', from: 'plan_queued', to: 'canceled', plan: 'canceled', apply: 'unreachable' },
      { name: 'canceled while planning', from: 'planning', to: 'canceled', plan: 'canceled', apply: 'unreachable' },
      { name: 'canceled while its apply was queued', from: 'apply_queued', to: 'canceled', plan: 'finished', apply: 'canceled' },
      { name: 'canceled while applying', from: 'applying', to: 'canceled', plan: 'finished', apply: 'canceled' },
      { name: 'force-canceled while planning', from: 'planning', to: 'force_canceled', plan: 'canceled', apply: 'unreachable' },
      { name: 'force-canceled while applying', from: 'applying', to: 'force_canceled', plan: 'finished', apply: 'canceled' },
    ];
    for (const c of cases) {
      it(`${c.name}: plan ${c.plan}, apply ${c.apply}`, () => {
        assert.deepEqual(phaseStatuses(c.from, c.to), { plan: c.plan, apply: c.apply });
      });
    }

    it('gives every transition of the table phase statuses a client accepts', () => {
      const known = ['pending', 'queued', 'running', 'finished', 'errored', 'canceled', 'unreachable'];
      const terminal = ['finished', 'errored', 'canceled', 'unreachable'];
      for (const row of TRANSITIONS) {
        for (const from of row.from) {
          const p = phaseStatuses(from, row.to);
          assert.ok(known.includes(p.plan) && known.includes(p.apply), `${key(from, row.event)} gives ${JSON.stringify(p)}`);
          // the CLI stops reading a log only once its phase is terminal: a final run must end both
          if (FINAL_STATUSES.has(row.to)) {
            assert.ok(terminal.includes(p.plan) && terminal.includes(p.apply), `${key(from, row.event)} ${row.to} leaves ${JSON.stringify(p)}`);
          }
        }
      }
    });
  });
});
