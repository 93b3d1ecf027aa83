// otf-agent's configuration: the contract's flags, their OTF_AGENT_ variables, and one-line errors.
import assert from 'node:assert/strict';
import os from 'node:os';
import { AGENT_FLAGS, normalizeAddress, parseAgentConfig, type AgentConfig } from '../src/agent/config.js';
import { ConfigError, envNameOf } from '../src/flags.js';

function parse(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const config = parseAgentConfig(argv, env);
  assert.ok(config);
  return config;
}

const REQUIRED = ['--token', 'at-abc.def', '--address', 'otf.example.com'];

describe('otf-agent configuration', () => {
  it('has the contract defaults', () => {
    const c = parse(REQUIRED);
    assert.equal(c.token, 'at-abc.def');
    assert.equal(c.address, 'https://otf.example.com');
    assert.equal(c.name, null);
    assert.equal(c.concurrency, 1);
    assert.equal(c.disconnectAfterJob, false);
    assert.equal(c.idleTimeoutSeconds, 0);
    assert.match(c.engineBinsDir, /\.cache\/otf\/engines$/);
    assert.equal(c.logLevel, 'info');
  });

  it('names every variable OTF_AGENT_ plus the flag', () => {
    assert.deepEqual(
      AGENT_FLAGS.map((f) => envNameOf('OTF_AGENT_', f.name)),
      ['OTF_AGENT_TOKEN', 'OTF_AGENT_ADDRESS', 'OTF_AGENT_NAME', 'OTF_AGENT_CONCURRENCY', 'OTF_AGENT_DISCONNECT_AFTER_JOB', 'OTF_AGENT_IDLE_TIMEOUT', 'OTF_AGENT_ENGINE_BINS_DIR', 'OTF_AGENT_DATA_DIR', 'OTF_AGENT_STATE_RETRY_HOURS', 'OTF_AGENT_LOG_LEVEL', 'OTF_AGENT_HOOKS_DIR', 'OTF_AGENT_HOOK_TIMEOUT'],
    );
    const c = parse([], { OTF_AGENT_TOKEN: 't', OTF_AGENT_ADDRESS: 'http://10.0.0.5:8080', OTF_AGENT_CONCURRENCY: '3', OTF_AGENT_NAME: 'builder-01' });
    assert.equal(c.address, 'http://10.0.0.5:8080');
    assert.equal(c.concurrency, 3);
    assert.equal(c.name, 'builder-01');
    assert.equal(parse(['--concurrency', '2'], { OTF_AGENT_TOKEN: 't', OTF_AGENT_ADDRESS: 'h', OTF_AGENT_CONCURRENCY: '3' }).concurrency, 2, 'a flag beats its variable');
  });

  it('takes a hooks directory that exists, and a hook timeout', () => {
    assert.equal(parse(REQUIRED).hooksDir, null);
    assert.equal(parse(REQUIRED).hookTimeoutMs, 600_000);
    const c = parse([...REQUIRED, '--hooks-dir', os.tmpdir(), '--hook-timeout', '90s']);
    assert.equal(c.hooksDir, os.tmpdir());
    assert.equal(c.hookTimeoutMs, 90_000);
    assert.equal(parse(REQUIRED, { OTF_AGENT_HOOK_TIMEOUT: '2m' }).hookTimeoutMs, 120_000);
    assert.throws(() => parse([...REQUIRED, '--hooks-dir', '/no/such/hooks']), (e: Error) => e instanceof ConfigError && /--hooks-dir: "\/no\/such\/hooks" is not a directory/.test(e.message));
    for (const bad of ['0', 'soon', '-1s', '2d']) {
      assert.throws(() => parse([...REQUIRED, '--hook-timeout', bad]), (e: Error) => e instanceof ConfigError && /--hook-timeout/.test(e.message), bad);
    }
  });

  it('takes https://, http:// and a bare host meaning HTTPS', () => {
    assert.equal(normalizeAddress('https://otf.example.com:8443'), 'https://otf.example.com:8443');
    assert.equal(normalizeAddress('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
    assert.equal(normalizeAddress('localhost:8443'), 'https://localhost:8443');
    assert.throws(() => normalizeAddress('https://otf.example.com/api'), /only a scheme, a host and a port/);
  });

  it('runs one job at a time with --disconnect-after-job', () => {
    assert.equal(parse([...REQUIRED, '--disconnect-after-job', '--concurrency', '4']).concurrency, 1);
  });

  it('refuses bad values with a message naming the flag', () => {
    const rejects = (argv: string[], message: RegExp) =>
      assert.throws(() => parseAgentConfig(argv, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    rejects(['--address', 'x'], /--token is required/);
    rejects(['--token', 't'], /--address is required/);
    rejects([...REQUIRED, '--name', 'short'], /--name: "short" must be 8 to 80/);
    rejects([...REQUIRED, '--concurrency', '0'], /--concurrency/);
    rejects([...REQUIRED, '--idle-timeout', 'soon'], /--idle-timeout/);
    rejects([...REQUIRED, '--log-level', 'chatty'], /--log-level/);
    rejects([...REQUIRED, '--frobnicate'], /unknown flag --frobnicate/);
  });
});
