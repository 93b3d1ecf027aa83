// The runner core: executes one job (the plan or the apply of a run), whoever hosts it. It fetches
// what the job needs with the job's token, prepares a fresh working directory, runs the engine
// with a clean environment while streaming its output, uploads the results and reports the
// outcome. The server agent runs it in otfd's process; otf-agent runs it in its own.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import type { Logger } from '../logger.js';
import { platform, type Engine, type EngineName, type EngineResolver } from './engines.js';
import type { JobApi } from './jobapi.js';
import { removeFolder } from './jobdirs.js';
import { LogWriter } from './logwriter.js';
import type { Outbox } from './outbox.js';
import { timedOutMessage, type JobOutcome, type JobSpec, type ResourceCounts } from '../protocol/agent.js';
import { renderRunVariables, renderTfvars } from './tfvars.js';
import { runHook, type HookName, type HookOptions } from './hooks.js';

export interface RunnerOptions {
  engines: EngineResolver;
  /** Where job working directories are made: the host's own folder of a JobFolders. */
  workRoot: string;
  logger: Logger;
  /**
   * Certificates the engine must trust besides the system's, so that it reaches otfd (for
   * terraform_remote_state) when otfd's certificate is self-signed or from a private CA.
   */
  caFiles?: string[];
  /** Where the states of applies are kept until otfd has them. */
  outbox: Outbox;
  /** Agent hooks (docs/timeouts-and-hooks.md); absent: none. */
  hooks?: HookOptions;
}

const NO_COUNTS: ResourceCounts = { additions: 0, changes: 0, destructions: 0, imports: 0 };

/** How long a force-canceled engine has to stop on SIGINT (and write its state) before SIGKILL. */
export const FORCE_KILL_AFTER_MS = 10_000;
/** How long a cancel waits at most for a silent engine to get under way (see JobControl.interrupt). */
export const INTERRUPT_HOLD_MS = 10_000;

/**
 * Lets the host cancel a running job: SIGINT to the engine. A forced cancel (otfd no longer holds
 * the job: written off, or force-canceled) sends SIGINT too, so that an apply writes the state of
 * what it did, and SIGKILLs the engine's process group if it is still there FORCE_KILL_AFTER_MS later.
 */
export class JobControl {
  canceled = false;
  forced = false;
  /** The phase ran out of time (timeOut): the engine is interrupted and killed after the grace, and the phase errors. */
  timedOut = false;
  private child: ChildProcess | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  /** Whether the attached engine has printed anything yet. */
  private spoke = false;
  /**
   * Whether the attached engine got its SIGINT. It gets one at most: a second makes terraform
   * exit at once ("Two interrupts received"), without writing the state of what it applied.
   */
  private interrupted = false;
  private heldInterrupt: NodeJS.Timeout | null = null;

  attach(child: ChildProcess): void {
    this.child = child;
    this.spoke = false;
    this.interrupted = false;
    if (this.canceled) this.interrupt();
    if (this.forced || this.timedOut) this.armKill();
  }

  detach(): void {
    this.child = null;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
    this.release();
  }

  /** The engine printed something: its operation is under way, and an interrupt held back goes now. */
  engineSpoke(): void {
    if (this.spoke) return;
    this.spoke = true;
    if (this.heldInterrupt) this.interruptNow();
  }

  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    this.interrupt();
  }

  /** Interrupts the engine now, held or not (it may not hear it: the kill comes FORCE_KILL_AFTER_MS later). */
  forceCancel(): void {
    if (this.forced) return;
    this.canceled = true;
    this.forced = true;
    this.interruptNow();
    this.armKill();
  }

  /**
   * The phase's timeout expired. The engine's whole process group gets SIGINT, as a Ctrl-C in a
   * terminal would send it (so a provisioner's command stops too, and an apply still writes the
   * state of what it did), and SIGKILL FORCE_KILL_AFTER_MS later if it is still there. Unlike a
   * force-cancel, otfd still holds the job: the runner reports the phase errored. An engine that
   * was interrupted already is left to stop (or be killed) on that one.
   */
  timeOut(): void {
    if (this.timedOut) return;
    this.timedOut = true;
    this.canceled = true;
    this.interruptNow(true);
    this.armKill();
  }

  /** SIGKILL now: the host itself is going away and the engine must not outlive it. */
  killNow(): void {
    this.canceled = true;
    this.forced = true;
    this.kill();
  }

  /**
   * SIGINT to the engine, once it can hear it. Terraform loses an interrupt that comes in its first
   * moments: it stops an operation that has not begun, then begins it and runs it to its end (a
   * `local-exec sleep 600` runs its ten minutes). Its first output means the operation is under
   * way, so a cancel is held until then, or INTERRUPT_HOLD_MS for an engine that stays silent.
   */
  private interrupt(): void {
    if (!this.child || this.interrupted) return;
    if (this.spoke) {
      this.interruptNow();
      return;
    }
    this.heldInterrupt ??= setTimeout(() => this.interruptNow(), INTERRUPT_HOLD_MS);
  }

  /** The engine's one SIGINT, now (to its whole process group: `group`). */
  private interruptNow(group = false): void {
    this.release();
    const child = this.child;
    if (!child || this.interrupted) return;
    this.interrupted = true;
    if (group && child.pid) {
      try {
        process.kill(-child.pid, 'SIGINT');
        return;
      } catch {
        // the group is gone: the engine alone, below
      }
    }
    child.kill('SIGINT');
  }

  private release(): void {
    if (this.heldInterrupt) clearTimeout(this.heldInterrupt);
    this.heldInterrupt = null;
  }

  private armKill(): void {
    if (!this.child || this.killTimer) return;
    this.killTimer = setTimeout(() => this.kill(), FORCE_KILL_AFTER_MS);
  }

  private kill(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL'); // the engine and whatever it started (providers, provisioners)
    } catch {
      this.child?.kill('SIGKILL');
    }
  }
}

class Canceled extends Error {}

/** The outbox could not take an apply's state (disk full, data dir not writable): its job folder is all there is. */
class StateNotKept extends Error {}

/** The counts and the verdict of a plan, from `terraform show -json`. */
export function summarizePlan(plan: {
  applyable?: boolean;
  resource_changes?: Array<{ change: { actions: string[]; importing?: unknown } }>;
  output_changes?: Record<string, { actions: string[] }>;
  resource_drift?: unknown[];
}): { hasChanges: boolean; counts: ResourceCounts } {
  const counts = { ...NO_COUNTS };
  for (const rc of plan.resource_changes ?? []) {
    const a = rc.change.actions;
    if (a.includes('create')) counts.additions++;
    if (a.includes('delete')) counts.destructions++;
    if (a.length === 1 && a[0] === 'update') counts.changes++;
    if (rc.change.importing) counts.imports++;
  }
  const outputsChange = Object.values(plan.output_changes ?? {}).some((o) => !(o.actions.length === 1 && o.actions[0] === 'no-op'));
  const computed = counts.additions + counts.changes + counts.destructions + counts.imports > 0 || outputsChange || (plan.resource_drift ?? []).length > 0;
  return { hasChanges: plan.applyable ?? computed, counts };
}

/** Counts of an apply, from the engine's human output. */
export function countApplied(output: string): ResourceCounts {
  const count = (re: RegExp) => (output.match(re) ?? []).length;
  return {
    additions: count(/: Creation complete after/g),
    changes: count(/: Modifications complete after/g),
    destructions: count(/: Destruction complete after/g),
    imports: count(/: Import complete/g),
  };
}

/** Runs one job to its end and reports the outcome to otfd; returns that outcome, or null when the run no longer wanted it. */
export async function runJob(api: JobApi, control: JobControl, opts: RunnerOptions): Promise<JobOutcome | null> {
  const spec = await api.spec();
  const log = new LogWriter((offset, data) => api.putLog(offset, data));
  const dir = fs.mkdtempSync(path.join(opts.workRoot, 'otf-job-'));
  const logger = opts.logger.child({ job: spec.job.id, run: spec.run.id, phase: spec.job.phase });
  let outcome: JobOutcome;
  let keepFolder = false;
  let deadline: NodeJS.Timeout | null = null;
  try {
    if (!(await api.start())) {
      logger.info('the run no longer wants this job');
      return null;
    }
    // The phase's clock starts now, as otfd's (the job's started-at) does.
    const timeoutSeconds = spec.job.timeoutSeconds;
    if (timeoutSeconds) {
      deadline = setTimeout(() => {
        logger.warn({ timeoutSeconds }, 'the phase timed out; interrupting it');
        log.write(`\n${timedOutMessage(spec.job.phase, timeoutSeconds)}: interrupting it\n`);
        control.timeOut();
      }, timeoutSeconds * 1000);
    }
    outcome = await execute(spec, api, control, log, dir, opts);
  } catch (err) {
    keepFolder = err instanceof StateNotKept;
    const message = control.timedOut && !keepFolder ? timedOutMessage(spec.job.phase, spec.job.timeoutSeconds ?? 0) : err instanceof Canceled ? null : (err as Error).message;
    if (message) log.write(`\nError: ${message}\n`);
    outcome = { status: message ? 'errored' : 'canceled', counts: NO_COUNTS, error: message ?? undefined };
  } finally {
    if (deadline) clearTimeout(deadline);
    // The SSH key goes first and in any case, even when the folder stays (removeSshKey says why).
    removeSshKey(dir, logger);
    // The folder holds the job's token (cli.tfrc), its variables and its plan: it goes whatever
    // happened, and a failure to remove it must not keep the outcome from otfd. The one exception:
    // it holds the only copy of a state the outbox could not take.
    if (keepFolder) logger.error({ folder: dir }, 'the job folder holds the only copy of the state of this apply; it is kept');
    else removeFolder(dir, logger);
  }
  // A force-canceled job is over already: otfd revoked its token and wants nothing more from it
  // (a state it left went to the outbox, which delivers it by the late path).
  if (!control.forced) {
    await log.close();
    await api.finish(outcome);
  }
  logger.info({ status: outcome.status }, 'job finished');
  return outcome;
}

async function execute(spec: JobSpec, api: JobApi, control: JobControl, log: LogWriter, dir: string, opts: RunnerOptions): Promise<JobOutcome> {
  // An engine that cannot be had fails the run with the resolver's explanation.
  const engine = await opts.engines.resolve(spec.run.engine as EngineName, spec.run.engineVersion);
  // Three header lines: the CLI skips the first three lines of an apply log.
  log.write(`${engine.name === 'tofu' ? 'OpenTofu' : 'Terraform'} v${engine.version}\non ${platform()}\nInitializing plugins and modules...\n`);

  const cwd = await prepare(spec, api, dir);
  const env = environment(spec, dir, api, opts.caFiles ?? []);
  const checkCanceled = () => {
    if (control.canceled) throw new Canceled();
  };

  if (spec.job.phase === 'apply') {
    if (!(await api.getArtifact('plan-file', path.join(dir, 'plan.tfplan')))) throw new Error('the plan of this run has no plan file to apply');
    await api.getArtifact('lock-file', path.join(cwd, '.terraform.lock.hcl'));
  }
  checkCanceled();
  // TFC runs the pre-plan and pre-apply hooks before init.
  await hook(spec.job.phase === 'plan' ? 'terraform-pre-plan' : 'terraform-pre-apply', { spec, api, control, log, cwd, env, hooks: opts.hooks });
  checkCanceled();
  // Only init fetches modules: the SSH key is on disk for init alone.
  writeSshKey(spec, dir);
  const initEnv = spec.sshKey ? withoutKeyReaders(env, spec, log) : env;
  let init: EngineResult;
  try {
    init = await runEngine(engine, ['init', '-input=false', '-no-color'], { cwd, env: initEnv, control });
  } finally {
    removeSshKey(dir, opts.logger);
  }
  if (init.code !== 0) {
    log.write(init.output);
    checkCanceled();
    throw new Error(`${engine.name} init failed (exit code ${init.code})`);
  }
  checkCanceled();

  const job: PreparedJob = { spec, api, control, log, engine, cwd, env, dir, outbox: opts.outbox, hooks: opts.hooks };
  return spec.job.phase === 'plan' ? plan(job) : apply(job);
}

/**
 * Runs an agent hook (src/agent/hooks.ts) with the job's environment, plus its terraform variables
 * as TF_VAR_ variables, the way the engine sees them (the run's over the workspace's).
 */
async function hook(name: HookName, j: Pick<PreparedJob, 'spec' | 'api' | 'control' | 'log' | 'cwd' | 'env' | 'hooks'>): Promise<void> {
  if (!j.hooks?.dir) return;
  const env: NodeJS.ProcessEnv = { ...j.env };
  for (const v of j.spec.variables) if (v.category === 'terraform') env[`TF_VAR_${v.key}`] = v.value;
  for (const v of j.spec.run.variables) env[`TF_VAR_${v.key}`] = v.value;
  // What the job's log must never show: its sensitive values and its token.
  const secrets = [j.api.token, ...j.spec.variables.filter((v) => v.sensitive).map((v) => v.value)];
  await runHook(name, { hooks: j.hooks, cwd: j.cwd, env, control: j.control, write: (text) => j.log.write(text), secrets });
}

/** Runs a post hook whatever the phase's outcome was (as TFC): its failure fails a phase that had succeeded. */
async function postHook<T>(name: HookName, j: PreparedJob, phase: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await phase();
  } catch (err) {
    // The phase failed already: a failing post hook adds its output to the log, the phase's own error stands.
    if (!j.control.canceled) await hook(name, j).catch((hookErr: Error) => j.log.write(`\nError: ${hookErr.message}\n`));
    throw err;
  }
  if (!j.control.canceled) await hook(name, j);
  return result;
}

/** A job ready for its phase: the engine found, the configuration unpacked into cwd and initialized. */
interface PreparedJob {
  spec: JobSpec;
  api: JobApi;
  control: JobControl;
  log: LogWriter;
  engine: Engine;
  /** The working directory of the configuration. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The job's own directory, holding cwd. */
  dir: string;
  outbox: Outbox;
  hooks?: HookOptions;
}

/** Unpacks the configuration, points it at local state, writes variables and the current state. */
async function prepare(spec: JobSpec, api: JobApi, dir: string): Promise<string> {
  const root = path.join(dir, 'config');
  fs.mkdirSync(root);
  fs.mkdirSync(path.join(dir, 'home'));
  const tarball = path.join(dir, 'config.tar.gz');
  await api.downloadConfiguration(spec.run.configurationVersionId, tarball);
  // otfd inspected the archive on upload; extraction refuses unsafe entries all the same.
  await tar.x({ file: tarball, cwd: root, strict: true, preserveOwner: false });
  fs.rmSync(tarball);
  const cwd = path.resolve(root, spec.workspace.workingDirectory || '.');
  if (!cwd.startsWith(root) || !fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
    throw new Error(`the working directory "${spec.workspace.workingDirectory}" is not a directory of the configuration`);
  }
  // The configuration names otfd in a cloud or remote backend block; the run keeps state locally
  // and hands it to otfd itself. An override file sorts last, so its backend wins.
  fs.writeFileSync(path.join(cwd, 'zzz_otf_backend_override.tf'), 'terraform {\n  backend "local" {\n    path = "terraform.tfstate"\n  }\n}\n');
  const statePath = path.join(cwd, 'terraform.tfstate');
  fs.rmSync(statePath, { force: true });
  await api.downloadCurrentState(spec.workspace.id, statePath);
  return cwd;
}

/**
 * Writes the workspace's terraform variables and the run's variables as two .tfvars files outside
 * the configuration and returns the -var-file arguments naming them. Terraform reads -var-file
 * after terraform.tfvars and every *.auto.tfvars, the workspace's file first: run variables beat
 * workspace variables, which beat the configuration's own values.
 */
function writeVariables(spec: JobSpec, dir: string): string[] {
  const args: string[] = [];
  const workspaceVars = spec.variables.filter((v) => v.category === 'terraform');
  if (workspaceVars.length) {
    fs.writeFileSync(path.join(dir, 'workspace.tfvars'), renderTfvars(workspaceVars), { mode: 0o600 });
    args.push(`-var-file=${path.join(dir, 'workspace.tfvars')}`);
  }
  if (spec.run.variables.length) {
    fs.writeFileSync(path.join(dir, 'run.tfvars'), renderRunVariables(spec.run.variables), { mode: 0o600 });
    args.push(`-var-file=${path.join(dir, 'run.tfvars')}`);
  }
  return args;
}

/** Our ssh program for git (src/agent/git-ssh.ts), beside this file once compiled. */
const GIT_SSH = fileURLToPath(new URL('./git-ssh.js', import.meta.url));

/** The workspace's SSH key in the job folder, readable by this user only; it exists while init runs. */
function sshKeyFile(dir: string): string {
  return path.join(dir, 'ssh-key');
}

function writeSshKey(spec: JobSpec, dir: string): void {
  if (!spec.sshKey) return;
  const value = spec.sshKey.value.endsWith('\n') ? spec.sshKey.value : `${spec.sshKey.value}\n`;
  fs.writeFileSync(sshKeyFile(dir), value, { mode: 0o600, flag: 'wx' });
}

/**
 * Removes the key file. A job folder kept for a state the outbox could not take must not keep the
 * key, so this is also done on the way out of every job, whatever happened. Never throws.
 */
function removeSshKey(dir: string, logger: Logger): void {
  try {
    fs.rmSync(sshKeyFile(dir), { force: true });
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not remove the SSH key file of a job');
  }
}

/**
 * Workspace environment variables that could run code of the configuration's in the processes of
 * init (the dynamic loader's, git's, Node's for our ssh program, the shell's for GIT_SSH_COMMAND,
 * and PATH, which picks the git that runs): while the key is on disk, such code could read it.
 * Whoever may set variables may not thereby read the key, so init runs without them; plan and apply,
 * when the key is gone, still get them.
 */
const KEY_READERS = /^(PATH|BASH_ENV|ENV|LD_.*|DYLD_.*|GIT_.*|NODE_.*)$/;

function withoutKeyReaders(env: NodeJS.ProcessEnv, spec: JobSpec, log: LogWriter): NodeJS.ProcessEnv {
  // GIT_SSH_COMMAND and GIT_SSH_VARIANT are ours whatever the variables say (environment()).
  const left = [...new Set(spec.variables.filter((v) => v.category === 'env' && KEY_READERS.test(v.key) && !v.key.startsWith('GIT_SSH_')).map((v) => v.key))];
  if (left.length === 0) return env;
  const clean: NodeJS.ProcessEnv = { ...env };
  for (const key of left) {
    if (key === 'PATH') clean.PATH = HOST_PATH;
    else delete clean[key];
  }
  log.write(`init runs without the workspace's environment variables ${left.join(', ')}: with the workspace's SSH key in use, they could expose it (plan and apply get them)\n`);
  return clean;
}

/** Single quotes for sh, which runs GIT_SSH_COMMAND. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * git's ssh command: our program, with the workspace's key when it has one. Without one it is
 * still ours, so that a git::ssh:// module fails with a line saying the workspace has no key
 * rather than with whatever a system ssh would make of it.
 */
function gitSshCommand(spec: JobSpec, dir: string): string {
  const parts = [process.execPath, GIT_SSH];
  if (spec.sshKey) parts.push('-i', sshKeyFile(dir));
  return parts.map(shellQuote).join(' ');
}

const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** The system's CA bundle plus the given certificates, as one file the engine (a Go program) reads through SSL_CERT_FILE. */
function caBundle(dir: string, caFiles: string[]): string | null {
  const extra = caFiles.filter((f) => fs.existsSync(f));
  if (extra.length === 0) return process.env.SSL_CERT_FILE ?? null;
  const system = [process.env.SSL_CERT_FILE, ...SYSTEM_CA_BUNDLES].find((f): f is string => !!f && fs.existsSync(f));
  const bundle = path.join(dir, 'ca-bundle.pem');
  fs.writeFileSync(bundle, [system, ...extra].filter((f): f is string => !!f).map((f) => fs.readFileSync(f, 'utf8').trim()).join('\n') + '\n');
  return bundle;
}

const HOST_PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

/** A clean environment: nothing of the host's but PATH and trusted CAs, plus what the run and its variables define. */
function environment(spec: JobSpec, dir: string, api: JobApi, caFiles: string[]): NodeJS.ProcessEnv {
  const cliConfig = path.join(dir, 'cli.tfrc');
  // The engine reaches otfd (terraform_remote_state) with the job's own token.
  fs.writeFileSync(cliConfig, `credentials "${spec.hostname}" {\n  token = "${api.token}"\n}\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { PATH: HOST_PATH };
  const bundle = caBundle(dir, caFiles);
  if (bundle) env.SSL_CERT_FILE = bundle;
  // Workspace env variables first (they may extend PATH or set TF_LOG), then what the run needs.
  for (const v of spec.variables) if (v.category === 'env') env[v.key] = v.value;
  return {
    ...env,
    HOME: path.join(dir, 'home'),
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: cliConfig,
    GIT_SSH_COMMAND: gitSshCommand(spec, dir),
    // git would otherwise probe the program with -G to learn whether it takes OpenSSH's -p.
    GIT_SSH_VARIANT: 'ssh',
    TFC_RUN_ID: spec.run.id,
    TFC_WORKSPACE_NAME: spec.workspace.name,
    TFC_WORKSPACE_SLUG: `${spec.workspace.organization}/${spec.workspace.name}`,
    TFC_CONFIGURATION_VERSION_GIT_BRANCH: '',
    TFC_CONFIGURATION_VERSION_GIT_COMMIT_SHA: '',
    TFC_CONFIGURATION_VERSION_GIT_TAG: '',
  };
}

interface EngineResult {
  code: number;
  output: string;
}

/** Runs the engine; its output goes to `log` as it comes when given, and is returned as well. */
export function runEngine(engine: Engine, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; control: JobControl; log?: LogWriter }): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a force-cancel kills the engine and everything it started.
    const child = spawn(engine.path, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    o.control.attach(child);
    const chunks: Buffer[] = [];
    const take = (c: Buffer) => {
      o.control.engineSpoke();
      chunks.push(c);
      o.log?.write(c);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => {
      o.control.detach();
      reject(new Error(`cannot run ${engine.path}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      o.control.detach();
      // Whatever the engine started and left behind (a provisioner's command after a cancel) goes too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      resolve({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

async function plan(job: PreparedJob): Promise<JobOutcome> {
  const { spec, api, control, log, engine, cwd, env, dir } = job;
  const planFile = path.join(dir, 'plan.tfplan');
  const args = ['plan', '-input=false', '-no-color', `-out=${planFile}`, ...writeVariables(spec, dir)];
  if (spec.run.isDestroy) args.push('-destroy');
  if (spec.run.refreshOnly) args.push('-refresh-only');
  if (!spec.run.refresh) args.push('-refresh=false');
  for (const t of spec.run.targetAddrs) args.push(`-target=${t}`);
  for (const r of spec.run.replaceAddrs) args.push(`-replace=${r}`);
  // A health assessment asks the engine to say whether the refresh found changes: exit code 2 is
  // "succeeded, with changes" (drift), not a failure. What drifted is read from the JSON plan.
  if (spec.run.assessment) args.push('-detailed-exitcode');
  await postHook('terraform-post-plan', job, async () => {
    const result = await runEngine(engine, args, { cwd, env, control, log });
    if (control.canceled) throw new Canceled();
    if (result.code !== 0 && !(spec.run.assessment && result.code === 2)) throw new Error(`${engine.name} plan exited with code ${result.code}`);
  });
  const shown = await runEngine(engine, ['show', '-json', planFile], { cwd, env, control });
  if (shown.code !== 0) throw new Error(`${engine.name} show -json failed: ${shown.output.slice(0, 2000)}`);
  const summary = summarizePlan(JSON.parse(shown.output) as Parameters<typeof summarizePlan>[0]);
  await api.putArtifact('plan-file', fs.readFileSync(planFile));
  await api.putArtifact('plan-json', Buffer.from(shown.output));
  const lockFile = path.join(cwd, '.terraform.lock.hcl');
  if (fs.existsSync(lockFile)) await api.putArtifact('lock-file', fs.readFileSync(lockFile));
  return { status: 'finished', hasChanges: summary.hasChanges, counts: summary.counts };
}

async function apply(job: PreparedJob): Promise<JobOutcome> {
  const { spec, api, control, log, engine, cwd, env, dir, outbox } = job;
  const statePath = path.join(cwd, 'terraform.tfstate');
  const before = fs.existsSync(statePath) ? fs.readFileSync(statePath) : null;
  const result = await runEngine(engine, ['apply', '-input=false', '-no-color', path.join(dir, 'plan.tfplan')], { cwd, env, control, log });
  // Whatever happened, keep the state the engine left: a failed, interrupted or written-off apply
  // may still have changed real infrastructure. It goes to the outbox before anything else (the
  // job folder is removed when the job ends), then up with the job token; when that fails, or the
  // job was written off (its token is revoked), the outbox delivers it by the late path.
  if (fs.existsSync(statePath)) {
    const after = fs.readFileSync(statePath);
    if (!before || !after.equals(before)) {
      try {
        outbox.put({ jobId: spec.job.id, runId: spec.run.id, workspaceId: spec.workspace.id }, after);
      } catch (err) {
        throw new StateNotKept(`cannot keep the state in the outbox (${(err as Error).message}); it stays in ${statePath}`);
      }
      if (control.forced) {
        outbox.release(spec.job.id);
      } else {
        try {
          await api.uploadState(spec.workspace.id, spec.run.id, after);
          outbox.acknowledge(spec.job.id);
        } catch (err) {
          outbox.release(spec.job.id);
          throw new Error(`${(err as Error).message} (the state is kept in the outbox, ${outbox.dir}, and will be delivered when otfd can take it)`, { cause: err });
        }
      }
    }
  }
  const counts = countApplied(result.output);
  if (control.timedOut) {
    const error = timedOutMessage('apply', spec.job.timeoutSeconds ?? 0);
    log.write(`\nError: ${error}\n`);
    return { status: 'errored', counts, error };
  }
  if (control.canceled) return { status: 'canceled', counts };
  const outcome: JobOutcome = result.code !== 0 ? { status: 'errored', counts, error: `${engine.name} apply exited with code ${result.code}` } : { status: 'finished', counts };
  // TFC runs the post-apply hook whether the apply succeeded or not; its failure fails an apply that had not.
  try {
    await hook('terraform-post-apply', job);
  } catch (err) {
    log.write(`\nError: ${(err as Error).message}\n`);
    if (control.timedOut) return { status: 'errored', counts, error: timedOutMessage('apply', spec.job.timeoutSeconds ?? 0) };
    if (outcome.status === 'finished') return { status: 'errored', counts, error: (err as Error).message };
  }
  return outcome;
}
