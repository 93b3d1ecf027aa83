// What the runs domain tells the web UI: a run's status changed, a run's log grew. Published on
// the event hub (src/web/events.ts) from the runs domain's hooks, connected in src/server.ts.
//
// Topics and names:
//   run:<run id>   `status` { status }          the run page replaces its summary and buttons
//   run:<run id>   `log`    { phase }           the run page appends the phase's new log output
//   org:<org id>   `run-status` RunStatusEvent  workspace lists show each workspace's latest run live
//
// Publishing is fire and forget (EventHub.publish logs its own failures): a runner's request or a
// run's transition never waits for a page, nor fails because of one.
import type { LogAppendHook, Run, RunStatus, StatusChangeHook } from '../runs/index.js';
import type { Logger } from '../logger.js';
import type { EventHub, WebEvent } from './events.js';

export const runTopic = (runId: string): string => `run:${runId}`;
export const orgTopic = (organizationId: string): string => `org:${organizationId}`;

/** The name of the organization-wide event of a run's status change. */
export const RUN_STATUS_EVENT = 'run-status';

/** The data of a `run-status` event on `org:<organization id>` (a type, not an interface, so that it is an event's data as it is). */
export type RunStatusEvent = {
  workspaceId: string;
  runId: string;
  status: RunStatus;
};

/** The data of a `run-status` event, or null for any other event (or one from an older otfd). */
export function readRunStatusEvent(event: WebEvent): RunStatusEvent | null {
  if (event.name !== RUN_STATUS_EVENT) return null;
  const { workspaceId, runId, status } = event.data;
  if (typeof workspaceId !== 'string' || typeof runId !== 'string' || typeof status !== 'string') return null;
  return { workspaceId, runId, status: status as RunStatus };
}

/** The hooks the runs domain calls: status changes and log appends become events. */
export function runEventPublisher(events: EventHub, logger: Logger): { statusChanged: StatusChangeHook; logAppended: LogAppendHook } {
  const publish = (event: WebEvent) => {
    try {
      events.publish(event);
    } catch (err) {
      logger.warn({ err, topic: event.topic }, 'a run event was not published');
    }
  };
  return {
    statusChanged: async (run: Run, _from: RunStatus, to: RunStatus) => {
      publish({ topic: runTopic(run.id), name: 'status', data: { status: to } });
      const data: RunStatusEvent = { workspaceId: run.workspaceId, runId: run.id, status: to };
      publish({ topic: orgTopic(run.organizationId), name: RUN_STATUS_EVENT, data });
    },
    logAppended: (runId: string, phase: 'plan' | 'apply') => {
      publish({ topic: runTopic(runId), name: 'log', data: { phase } });
    },
  };
}
