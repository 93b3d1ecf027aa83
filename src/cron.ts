// Cron expressions, as --assessments-schedule and an organization's assessments-schedule take
// them: five fields (minute precision), six (with seconds first) or croner's nicknames (@daily,
// @hourly, ...). Parsed and stepped by croner, in UTC.
import { Cron } from 'croner';

const MAX_LENGTH = 100;

/** Why the expression is not a usable schedule, in words for a 422's detail or a flag's error; null when it is. */
export function cronProblem(expression: string): string | null {
  if (expression.length === 0) return 'must not be empty';
  if (expression.length > MAX_LENGTH) return `must be at most ${MAX_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(expression)) return 'must not contain control characters';
  try {
    const cron = new Cron(expression, { paused: true, timezone: 'Etc/UTC' });
    if (cron.nextRun() === null) return 'never fires';
    return null;
  } catch (err) {
    return `is not a cron expression (${(err as Error).message.replace(/^CronPattern: /, '')})`;
  }
}

/** The first time after `from` the (valid) expression fires; null when it never does again. */
export function nextFiring(expression: string, from: Date): Date | null {
  return new Cron(expression, { paused: true, timezone: 'Etc/UTC' }).nextRun(from);
}
