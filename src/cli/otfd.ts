// The otfd command: parse flags, start, print the URL (and a generated site token once), and stop
// cleanly on SIGTERM or SIGINT. Every startup failure is one line on stderr and exit code 1.
import { ConfigError, parseConfig, usage, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { startOtfd } from '../server.js';

function fail(message: string): never {
  process.stderr.write(`otfd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config | null;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  if (!config) {
    process.stdout.write(usage() + '\n');
    return;
  }
  const logger = createLogger(config.logLevel);
  let otfd;
  try {
    otfd = await startOtfd(config, { logger });
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : `failed to start: ${(err as Error).message}`);
  }
  // First signal: a graceful stop (running server-agent jobs may finish, up to --shutdown-timeout).
  // Second: the same stop, but those jobs are canceled now. Third: out at once.
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals === 2) {
      logger.warn({ signal }, 'second signal: canceling running jobs now');
      otfd.cancelJobs();
      return;
    }
    if (signals > 2) {
      logger.warn({ signal }, 'third signal: exiting at once');
      process.exit(1);
    }
    logger.info({ signal }, 'stopping');
    otfd.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Said only once the signal handlers are in place: a supervisor (or a test) that sends SIGTERM as
  // soon as it reads this line would otherwise meet Node's default action, an exit without a stop.
  process.stdout.write(`otfd is listening on ${otfd.url}\n`);
  if (otfd.generatedSiteToken) {
    process.stdout.write(`site token (shown once; only its hash is kept): ${otfd.generatedSiteToken}\n`);
  }
}

void main();
