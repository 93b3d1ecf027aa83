// otfd's configuration: every flag of the operator contract, its OTF_ variable, and the one-line
// errors for invalid values.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, FLAGS, envName, parseConfig, type Config } from '../src/config.js';

function parse(argv: string[], env: Record<string, string> = {}): Config {
  const config = parseConfig(argv, env);
  assert.ok(config);
  return config;
}

function rejects(argv: string[], env: Record<string, string>, message: RegExp): void {
  assert.throws(() => parseConfig(argv, env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
}

describe('otfd configuration', () => {
  it('has the contract defaults', () => {
    const c = parse([]);
    assert.equal(c.listenHost, 'localhost');
    assert.equal(c.listenPort, 8080);
    assert.equal(c.hostname, null);
    assert.equal(c.database, null);
    assert.equal(c.dataDir, path.join(os.homedir(), '.local/share/otf'));
    assert.equal(c.siteToken, null);
    assert.equal(c.secret, null);
    assert.equal(c.ssl, false);
    assert.equal(c.concurrency, 5);
    assert.equal(c.defaultEngine, 'terraform');
    assert.equal(c.engineBinsDir, path.join(os.homedir(), '.cache/otf/engines'));
    assert.equal(c.logLevel, 'info');
    assert.equal(c.maxConfigSize, 100 * 1024 * 1024);
    assert.equal(c.agentHeartbeatSeconds, 5);
    assert.equal(c.agentGracePeriodSeconds, 60);
    assert.equal(c.statementTimeoutMs, 30_000);
    assert.equal(c.shutdownTimeoutMs, 10 * 60_000);
    assert.equal(c.forceCancelCoolOffMs, 10_000);
  });

  it('reads durations with a unit, or as seconds', () => {
    assert.equal(parse(['--statement-timeout', '45s']).statementTimeoutMs, 45_000);
    assert.equal(parse(['--statement-timeout=0']).statementTimeoutMs, 0);
    assert.equal(parse([], { OTF_STATEMENT_TIMEOUT: '500ms' }).statementTimeoutMs, 500);
    assert.equal(parse(['--shutdown-timeout', '2m']).shutdownTimeoutMs, 120_000);
    assert.equal(parse([], { OTF_SHUTDOWN_TIMEOUT: '90' }).shutdownTimeoutMs, 90_000);
    rejects(['--shutdown-timeout', 'soon'], {}, /--shutdown-timeout: "soon" is not a duration/);
    rejects(['--statement-timeout', '-1s'], {}, /--statement-timeout/);
    assert.equal(parse(['--force-cancel-cool-off', '1m']).forceCancelCoolOffMs, 60_000);
    rejects(['--force-cancel-cool-off', 'later'], {}, /--force-cancel-cool-off: "later" is not a duration/);
    assert.equal(parse([]).sessionLifetimeMs, 24 * 3_600_000);
    assert.equal(parse(['--session-lifetime', '30m']).sessionLifetimeMs, 30 * 60_000);
    rejects(['--session-lifetime', '1000h'], {}, /--session-lifetime/);
  });

  it('reads the site timeouts and the server agent hooks (docs/timeouts-and-hooks.md)', () => {
    const c = parse([]);
    assert.equal(c.planTimeoutSeconds, 7200);
    assert.equal(c.applyTimeoutSeconds, 7200);
    assert.equal(c.serverAgentHooksDir, null);
    assert.equal(c.hookTimeoutMs, 600_000);
    assert.equal(parse(['--plan-timeout', '30m']).planTimeoutSeconds, 1800);
    assert.equal(parse([], { OTF_APPLY_TIMEOUT: '90' }).applyTimeoutSeconds, 90);
    assert.equal(parse(['--server-agent-hooks-dir', os.tmpdir()]).serverAgentHooksDir, os.tmpdir());
    assert.equal(parse(['--hook-timeout', '45s']).hookTimeoutMs, 45_000);
    rejects(['--plan-timeout', '0'], {}, /--plan-timeout: must be more than 0/);
    rejects(['--apply-timeout', '1000h'], {}, /--apply-timeout: "1000h" is not a duration/);
    rejects(['--apply-timeout', '1500ms'], {}, /--apply-timeout: "1500ms" is not a whole number of seconds/);
    rejects(['--plan-timeout', 'soon'], {}, /--plan-timeout: "soon" is not a duration/);
    rejects(['--hook-timeout', '0s'], {}, /--hook-timeout: must be more than 0/);
    rejects(['--server-agent-hooks-dir', '/no/such/hooks'], {}, /--server-agent-hooks-dir: "\/no\/such\/hooks" is not a directory/);
  });

  it('takes single sign-on settings all together or not at all', () => {
    assert.equal(parse([]).oidc, null);
    const c = parse(['--oidc-issuer', 'https://id.example', '--oidc-client-id', 'otf'], { OTF_OIDC_CLIENT_SECRET: 's3cret' });
    assert.deepEqual(c.oidc, { issuer: 'https://id.example', clientId: 'otf', clientSecret: 's3cret', usernameClaim: 'preferred_username', teamsClaim: null, scopes: ['openid', 'profile', 'email'], name: 'single sign-on' });
    const withScopes = parse(['--oidc-issuer', 'https://id.example', '--oidc-client-id', 'otf', '--oidc-client-secret', 's', '--oidc-teams-claim', 'groups', '--oidc-scopes', 'openid,email  groups']);
    assert.deepEqual(withScopes.oidc?.scopes, ['openid', 'email', 'groups']);
    rejects(['--oidc-issuer', 'https://id.example', '--oidc-client-id', 'a', '--oidc-client-secret', 'b', '--oidc-scopes', 'profile email'], {}, /--oidc-scopes: must include "openid"/);
    rejects(['--oidc-issuer', 'https://id.example', '--oidc-client-id', 'a', '--oidc-client-secret', 'b', '--oidc-scopes', 'openid "x"'], {}, /--oidc-scopes: ""x"" is not a valid scope/);
    rejects(['--oidc-issuer', 'https://id.example'], {}, /needs all of --oidc-issuer, --oidc-client-id and --oidc-client-secret/);
    rejects(['--oidc-issuer', 'ftp://x', '--oidc-client-id', 'a', '--oidc-client-secret', 'b'], {}, /--oidc-issuer: must be an http\(s\) URL/);
  });

  it('takes SMTP settings for email notifications, and whether notifications may go to private addresses', () => {
    assert.equal(parse([]).smtp, null);
    assert.equal(parse([]).notificationAllowPrivateAddresses, false);
    assert.equal(parse(['--notification-allow-private-addresses']).notificationAllowPrivateAddresses, true);
    assert.deepEqual(parse(['--smtp-host', 'mail.example.com']).smtp, { host: 'mail.example.com', port: 587, user: null, password: null, from: 'otf@mail.example.com', tls: 'starttls' });
    const c = parse(['--smtp-host', 'mail.example.com', '--smtp-tls', 'tls', '--smtp-user', 'otf', '--smtp-from', 'OTF <otf@example.com>'], { OTF_SMTP_PASSWORD: 'pw' });
    assert.deepEqual(c.smtp, { host: 'mail.example.com', port: 465, user: 'otf', password: 'pw', from: 'OTF <otf@example.com>', tls: 'tls' });
    rejects(['--smtp-port', '25'], {}, /--smtp-port needs --smtp-host/);
    rejects(['--smtp-host', 'mail.example.com', '--smtp-tls', 'maybe'], {}, /--smtp-tls/);
    rejects(['--smtp-host', 'mail.example.com', '--smtp-port', '70000'], {}, /--smtp-port/);
    rejects(['--smtp-host', 'mail.example.com', '--smtp-password', 'pw'], {}, /--smtp-password needs --smtp-user/);
    rejects(['--smtp-host', 'mail.example.com', '--smtp-from', 'nobody'], {}, /--smtp-from: "nobody" is not an email address/);
    rejects(['--smtp-host', 'mail example'], {}, /--smtp-host/);
  });

  it('takes the assessments schedule as a cron expression, daily by default', () => {
    assert.equal(parse([]).assessmentsSchedule, '@daily');
    assert.equal(parse(['--assessments-schedule', '0 */6 * * *']).assessmentsSchedule, '0 */6 * * *');
    assert.equal(parse([], { OTF_ASSESSMENTS_SCHEDULE: '*/30 * * * * *' }).assessmentsSchedule, '*/30 * * * * *');
    rejects(['--assessments-schedule', 'daily'], {}, /--assessments-schedule: "daily" is not a cron expression/);
    rejects(['--assessments-schedule', '61 * * * *'], {}, /--assessments-schedule: "61 \* \* \* \*" is not a cron expression \(Invalid value for minute/);
    rejects(['--assessments-schedule', '0 0 30 2 *'], {}, /never fires/);
  });

  it('reads sizes in bytes or with a unit', () => {
    assert.equal(parse(['--max-config-size', '1048576']).maxConfigSize, 1024 * 1024);
    assert.equal(parse(['--max-config-size=512KiB']).maxConfigSize, 512 * 1024);
    assert.equal(parse([], { OTF_MAX_CONFIG_SIZE: '2GiB' }).maxConfigSize, 2 * 1024 ** 3);
    rejects(['--max-config-size', 'lots'], {}, /--max-config-size: "lots" is not a size/);
    rejects(['--max-config-size', '0'], {}, /--max-config-size/);
  });

  it('names every variable OTF_ plus the flag in upper snake case', () => {
    assert.deepEqual(
      FLAGS.map((f) => envName(f.name)),
      [
        'OTF_ADDRESS',
        'OTF_HOSTNAME',
        'OTF_DATABASE',
        'OTF_DATA_DIR',
        'OTF_SITE_TOKEN',
        'OTF_SECRET',
        'OTF_SSL',
        'OTF_CERT_FILE',
        'OTF_KEY_FILE',
        'OTF_CONCURRENCY',
        'OTF_DEFAULT_ENGINE',
        'OTF_ENGINE_BINS_DIR',
        'OTF_LOG_LEVEL',
        'OTF_MAX_CONFIG_SIZE',
        'OTF_AGENT_HEARTBEAT_INTERVAL',
        'OTF_AGENT_GRACE_PERIOD',
        'OTF_STATEMENT_TIMEOUT',
        'OTF_SHUTDOWN_TIMEOUT',
        'OTF_AUTH_FAILURE_LIMIT',
        'OTF_FORCE_CANCEL_COOL_OFF',
        'OTF_SESSION_LIFETIME',
        'OTF_OIDC_ISSUER',
        'OTF_OIDC_CLIENT_ID',
        'OTF_OIDC_CLIENT_SECRET',
        'OTF_OIDC_USERNAME_CLAIM',
        'OTF_OIDC_TEAMS_CLAIM',
        'OTF_OIDC_SCOPES',
        'OTF_OIDC_NAME',
        'OTF_NOTIFICATION_ALLOW_PRIVATE_ADDRESSES',
        'OTF_SMTP_HOST',
        'OTF_SMTP_PORT',
        'OTF_SMTP_USER',
        'OTF_SMTP_PASSWORD',
        'OTF_SMTP_FROM',
        'OTF_SMTP_TLS',
        'OTF_PLAN_TIMEOUT',
        'OTF_APPLY_TIMEOUT',
        'OTF_SERVER_AGENT_HOOKS_DIR',
        'OTF_HOOK_TIMEOUT',
        'OTF_BLOB_STORE',
        'OTF_S3_BUCKET',
        'OTF_S3_ENDPOINT',
        'OTF_S3_REGION',
        'OTF_S3_PATH_STYLE',
        'OTF_S3_PREFIX',
        'OTF_ASSESSMENTS_SCHEDULE',
        'OTF_AUDIT_RETENTION',
      ],
    );
  });

  it('reads variables, and a flag beats its variable', () => {
    const env = { OTF_ADDRESS: '0.0.0.0:9000', OTF_CONCURRENCY: '2', OTF_LOG_LEVEL: 'debug', OTF_DEFAULT_ENGINE: 'tofu' };
    const fromEnv = parse([], env);
    assert.equal(fromEnv.listenHost, '0.0.0.0');
    assert.equal(fromEnv.listenPort, 9000);
    assert.equal(fromEnv.concurrency, 2);
    assert.equal(fromEnv.logLevel, 'debug');
    assert.equal(fromEnv.defaultEngine, 'tofu');
    const flagged = parse(['--address', '127.0.0.1:9100', '--concurrency=0'], env);
    assert.equal(flagged.listenPort, 9100);
    assert.equal(flagged.concurrency, 0);
  });

  it('reads DATABASE_URL too, and OTF_DATABASE beats it', () => {
    assert.equal(parse([], { DATABASE_URL: 'postgres://a/b' }).database, 'postgres://a/b');
    assert.equal(parse([], { DATABASE_URL: 'postgres://a/b', OTF_DATABASE: 'postgresql://c/d' }).database, 'postgresql://c/d');
    assert.equal(parse(['--database', 'postgres://e/f'], { OTF_DATABASE: 'postgresql://c/d' }).database, 'postgres://e/f');
  });

  it('accepts --ssl as a bare flag or with a boolean value', () => {
    const cert = new URL(import.meta.url).pathname; // any readable file will do
    const c = parse(['--ssl', '--cert-file', cert, '--key-file', cert]);
    assert.equal(c.ssl, true);
    assert.equal(parse(['--ssl=false']).ssl, false);
    assert.equal(parse([], { OTF_SSL: 'true', OTF_CERT_FILE: cert, OTF_KEY_FILE: cert }).ssl, true);
  });

  it('returns null for --help', () => {
    assert.equal(parseConfig(['--help'], {}), null);
  });

  it('rejects invalid values with a message naming the flag', () => {
    rejects(['--address', 'localhost:99999'], {}, /--address: port 99999 is out of range/);
    rejects(['--address', 'localhost'], {}, /--address: "localhost" is not host:port/);
    rejects([], { OTF_ADDRESS: 'x:y' }, /--address: "x:y" is not host:port/);
    rejects(['--hostname', 'https://x'], {}, /--hostname/);
    rejects(['--concurrency', '-1'], {}, /--concurrency/);
    rejects(['--default-engine', 'pulumi'], {}, /--default-engine: "pulumi" is not one of terraform, tofu/);
    rejects(['--log-level', 'loud'], {}, /--log-level/);
    rejects(['--ssl'], {}, /--ssl needs --cert-file/);
    rejects(['--ssl', '--cert-file', '/no/such/cert.pem', '--key-file', '/no/such/key.pem'], {}, /--cert-file: cannot read file "\/no\/such\/cert.pem"/);
    rejects(['--ssl=maybe'], {}, /--ssl: "maybe" is not a boolean/);
    rejects(['--secret', 'short'], {}, /--secret: must be at least 16 characters/);
    rejects(['--database', 'mysql://x'], {}, /--database/);
    rejects(['--frobnicate'], {}, /unknown flag --frobnicate/);
    rejects(['--address'], {}, /flag --address needs a value/);
    rejects(['serve'], {}, /unexpected argument "serve"/);
  });
});
