// Plan and apply timeouts (docs/timeouts-and-hooks.md), shared by the organizations and workspaces
// that set them and the runs that apply them. A timeout is a whole number of seconds; the API also
// takes a duration string ("90s", "30m", "2h").
import { InvalidError } from './errors.js';

/** Terraform Cloud's default for both phases: 2 hours. */
export const DEFAULT_TIMEOUT_SECONDS = 2 * 3600;
/** The longest timeout anyone may set: one week. Longer is a typo, not a plan. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** The phases' timeouts at one level (organization or workspace); null: the level above decides. */
export interface PhaseTimeouts {
  planTimeoutSeconds: number | null;
  applyTimeoutSeconds: number | null;
}

/**
 * An attribute value as a timeout in seconds: undefined (absent: unchanged), null (follow the level
 * above), a whole number of seconds, or a duration string. Anything else is a 422 at `pointer`.
 */
export function parseTimeoutAttribute(value: unknown, pointer: string): number | null | undefined {
  if (value === undefined || value === null) return value;
  const bad = (why: string) =>
    new InvalidError(`${why}: a timeout is a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS} (one week), or a duration such as "90s", "30m" or "2h"`, { pointer });
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else if (typeof value === 'string') {
    const m = /^(\d{1,12})\s*(s|m|h|d|)$/i.exec(value.trim());
    if (!m) throw bad(`"${value.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}" is not a duration`);
    seconds = Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
  } else {
    throw bad(`a ${Array.isArray(value) ? 'list' : typeof value} is not a timeout`);
  }
  if (!Number.isInteger(seconds)) throw bad(`${seconds} is not a whole number`);
  if (seconds <= 0) throw bad(`${seconds} is not more than 0`);
  if (seconds > MAX_TIMEOUT_SECONDS) throw bad(`${seconds} seconds is too long`);
  return seconds;
}
