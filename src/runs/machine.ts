// The run state machine, written once as a transition table. Every status change of a run goes
// through transition(); what happens on entering a status (jobs queued, workspace released, ...)
// is decided by the service from the table's `effects`.

export const RUN_STATUSES = [
  'pending',
  'plan_queued',
  'planning',
  'planned',
  'planned_and_finished',
  'planned_and_saved',
  'confirmed',
  'apply_queued',
  'applying',
  'applied',
  'discarded',
  'errored',
  'canceled',
  'force_canceled',
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

export type RunEvent =
  /** The workspace queue admits the run (speculative runs are admitted at once). */
  | 'queue_plan'
  /** A runner started the plan job. */
  | 'start_plan'
  /** The plan finished with changes that may be applied. */
  | 'plan_with_changes'
  /** The plan finished and there is nothing to apply, or it was only ever a plan. */
  | 'plan_and_finish'
  /** The plan of a save-plan run finished; it waits to be applied or discarded. */
  | 'plan_and_save'
  /** Somebody confirmed the apply (actions/apply), or auto-apply did. */
  | 'confirm'
  /** The apply job was queued. */
  | 'queue_apply'
  /** A runner started the apply job. */
  | 'start_apply'
  /** The apply finished. */
  | 'apply'
  /** A phase failed, or the run could not proceed. */
  | 'fail'
  | 'discard'
  /** Cancel of a run with nothing executing: it stops at once. */
  | 'cancel'
  /** The engine of a phase that was asked to cancel has stopped. */
  | 'cancel_finished'
  | 'force_cancel'
  /** An owner ended the run, whatever it was doing, with a reason (RunService.forceEnd). */
  | 'force_end';

/** Side effects the service performs after a transition, in its transaction. */
export type Effect =
  | 'enqueue-plan' // create the plan job
  | 'enqueue-apply' // create the apply job
  | 'cancel-jobs' // withdraw queued jobs, signal running ones
  | 'auto-apply' // confirm at once when the run auto-applies
  | 'release-workspace'; // unlock the workspace and admit the next run

export interface Transition {
  from: readonly RunStatus[];
  event: RunEvent;
  to: RunStatus;
  effects: readonly Effect[];
}

const FINAL: readonly Effect[] = ['release-workspace'];

export const TRANSITIONS: readonly Transition[] = [
  { from: ['pending'], event: 'queue_plan', to: 'plan_queued', effects: ['enqueue-plan'] },
  { from: ['plan_queued'], event: 'start_plan', to: 'planning', effects: [] },
  { from: ['planning'], event: 'plan_with_changes', to: 'planned', effects: ['auto-apply'] },
  { from: ['planning'], event: 'plan_and_finish', to: 'planned_and_finished', effects: FINAL },
  { from: ['planning'], event: 'plan_and_save', to: 'planned_and_saved', effects: [] },
  { from: ['planned', 'planned_and_saved'], event: 'confirm', to: 'confirmed', effects: [] },
  { from: ['confirmed'], event: 'queue_apply', to: 'apply_queued', effects: ['enqueue-apply'] },
  { from: ['apply_queued'], event: 'start_apply', to: 'applying', effects: [] },
  { from: ['applying'], event: 'apply', to: 'applied', effects: FINAL },
  { from: ['pending', 'plan_queued', 'planning', 'planned', 'confirmed', 'apply_queued', 'applying'], event: 'fail', to: 'errored', effects: ['cancel-jobs', ...FINAL] },
  { from: ['pending', 'planned', 'planned_and_saved'], event: 'discard', to: 'discarded', effects: FINAL },
  { from: ['pending', 'plan_queued', 'confirmed', 'apply_queued'], event: 'cancel', to: 'canceled', effects: ['cancel-jobs', ...FINAL] },
  { from: ['planning', 'applying'], event: 'cancel_finished', to: 'canceled', effects: FINAL },
  { from: ['planning', 'applying'], event: 'force_cancel', to: 'force_canceled', effects: ['cancel-jobs', ...FINAL] },
  // An owner's force-end (docs/timeouts-and-hooks.md) takes a run from any status that is not
  // final. It ends force_canceled, not errored: nothing went wrong with the run, somebody ended it
  // on purpose (as TFC's force-cancel, which is for the stuck runs this is for), and the CLI and
  // the web UI show it as the force-cancel they know. Like any cancellation it notifies
  // run:errored ("Run Canceled"), as Terraform Cloud defines that trigger: a run that ended early
  // by error or cancellation.
  {
    from: ['pending', 'plan_queued', 'planning', 'planned', 'planned_and_saved', 'confirmed', 'apply_queued', 'applying'],
    event: 'force_end',
    to: 'force_canceled',
    effects: ['cancel-jobs', ...FINAL],
  },
];

/** Statuses a run never leaves. */
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'applied',
  'planned_and_finished',
  'discarded',
  'errored',
  'canceled',
  'force_canceled',
]);

/** Statuses in which a run waits (for the queue, a lock, a runner) and has an explanation. */
export const WAITING_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['pending', 'plan_queued', 'confirmed', 'apply_queued']);

export class IllegalTransition extends Error {
  constructor(
    readonly status: RunStatus,
    readonly event: RunEvent,
  ) {
    super(`a run that is ${status} cannot ${event.replace(/_/g, ' ')}`);
  }
}

/** The transition for this event from this status; throws IllegalTransition when there is none. */
export function transition(status: RunStatus, event: RunEvent): Transition {
  const t = TRANSITIONS.find((x) => x.event === event && x.from.includes(status));
  if (!t) throw new IllegalTransition(status, event);
  return t;
}

export function canHappen(status: RunStatus, event: RunEvent): boolean {
  return TRANSITIONS.some((x) => x.event === event && x.from.includes(status));
}

/** What a run's plan and apply report while the run is in a status (TFC's phase statuses). */
export type PhaseStatus = 'pending' | 'queued' | 'running' | 'finished' | 'errored' | 'canceled' | 'unreachable';

/** The phase the run was in when it left `from`. */
function phaseOf(from: RunStatus): 'none' | 'plan' | 'between' | 'apply' {
  if (from === 'pending') return 'none';
  if (from === 'plan_queued' || from === 'planning') return 'plan';
  if (from === 'planned' || from === 'planned_and_saved') return 'between';
  return 'apply';
}

/** The statuses of the plan and the apply once a run has moved from `from` to `to`. */
export function phaseStatuses(from: RunStatus, to: RunStatus): { plan: PhaseStatus; apply: PhaseStatus } {
  switch (to) {
    case 'pending':
      return { plan: 'pending', apply: 'pending' };
    case 'plan_queued':
      return { plan: 'queued', apply: 'pending' };
    case 'planning':
      return { plan: 'running', apply: 'pending' };
    case 'planned':
    case 'planned_and_saved':
    case 'confirmed':
      return { plan: 'finished', apply: 'pending' };
    case 'planned_and_finished':
      return { plan: 'finished', apply: 'unreachable' };
    case 'apply_queued':
      return { plan: 'finished', apply: 'queued' };
    case 'applying':
      return { plan: 'finished', apply: 'running' };
    case 'applied':
      return { plan: 'finished', apply: 'finished' };
    case 'discarded':
      return { plan: phaseOf(from) === 'none' ? 'unreachable' : 'finished', apply: 'unreachable' };
    case 'errored':
    case 'canceled':
    case 'force_canceled': {
      const ended: PhaseStatus = to === 'errored' ? 'errored' : 'canceled';
      switch (phaseOf(from)) {
        case 'none':
          return { plan: 'unreachable', apply: 'unreachable' };
        case 'plan':
          return { plan: ended, apply: 'unreachable' };
        case 'between':
          return { plan: 'finished', apply: 'unreachable' };
        case 'apply':
          return { plan: 'finished', apply: ended };
      }
    }
  }
}
