// The otf-agent command: a pool agent. Exit code 0 when it stops as asked (SIGTERM,
// --disconnect-after-job, --idle-timeout), 1 with one line on stderr when it cannot start or the
// server refuses its token.
import { agentUsage, parseAgentConfig, type AgentConfig } from '../agent/config.js';
import { PoolAgent } from '../agent/pool-agent.js';
import { ConfigError } from '../flags.js';
import { createLogger } from '../logger.js';

function fail(message: string): never {
  process.stderr.write(`otf-agent: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: AgentConfig | null;
  try {
    config = parseAgentConfig(process.argv.slice(2));
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  if (!config) {
    process.stdout.write(agentUsage() + '\n');
    return;
  }
  const logger = createLogger(config.logLevel, 'otf-agent');
  const agent = new PoolAgent(config, logger);
  process.on('SIGTERM', () => agent.stop());
  process.on('SIGINT', () => agent.stop());
  const outcome = await agent.run();
  if (outcome.exitCode !== 0) fail(outcome.reason);
  logger.info({ reason: outcome.reason }, 'agent stopped');
  process.exit(0);
}

void main();
