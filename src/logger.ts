import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: string, service = 'otfd'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
