// The log: pino, one JSON line per event. Lines written while an HTTP request is handled carry
// that request's id and caller wherever they are written (a service, a store, a hook), because the
// request's scope travels with it through every await (AsyncLocalStorage) and every line reads it.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * What one unit of work (an HTTP request) carries through all its asynchronous calls. One store
 * for both needs: every AsyncLocalStorage adds its own cost to every promise made.
 */
export interface WorkScope {
  /** Fields every log line written during the work carries: the request id, then the caller once known. */
  fields: Record<string, unknown>;
  /** The database connections the work holds now, noted only when its queries may be cancelled (src/db). */
  held: Set<object> | null;
  /** Who does the work, once authenticated: the audit trail's actor of every change it makes (src/audit). */
  actor?: WorkActor;
  /** The client's address, as the socket saw it: where the audit trail says a change came from. */
  address?: string;
}

/**
 * The kinds of actors the audit trail knows; `system` is background work that acts for nobody,
 * `anonymous` a visitor who has not proven who they are (a failed sign-in).
 */
export type ActorType = 'user' | 'team' | 'organization' | 'agent' | 'job' | 'site' | 'system' | 'anonymous';

/** Who acts: its kind, id and a readable name (a username, a team's name). Never a credential. */
export interface WorkActor {
  type: ActorType;
  id: string;
  name: string;
  /** The token used, when the actor acts through one (its id, never its value). */
  tokenId?: string;
  /** The one organization a team, organization token, job or agent belongs to. */
  organizationId?: string;
}

const work = new AsyncLocalStorage<WorkScope>();

/** Runs fn, and everything it starts, in the scope. */
export function runInScope<T>(scope: WorkScope, fn: () => T): T {
  return work.run(scope, fn);
}

/** The scope of the work running now, if any. */
export function currentScope(): WorkScope | undefined {
  return work.getStore();
}

/**
 * The logger of a process. `destination` is stdout unless given (tests read the lines). A line
 * written inside a WorkScope starts with its fields; the line's own fields win over them.
 */
export function createLogger(level: string, service = 'otfd', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // A copy: pino merges the line's fields into what mixin returns.
    mixin: () => {
      const scope = work.getStore();
      return scope ? { ...scope.fields } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
