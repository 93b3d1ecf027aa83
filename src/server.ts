// otfd: wires configuration, database, domain services and HTTP together, and takes them down
// again in order.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApp } from './api/app.js';
import type { ApiRouter, Site } from './api/http.js';
import { registerTokenRoutes } from './auth/routes.js';
import { SubjectCache } from './auth/cache.js';
import { AuthService, siteTokenHash } from './auth/service.js';
import { ConfigError, makeDataDir, type Config } from './config.js';
import { AppError, UnavailableError } from './errors.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { migrate, openDatabase, type Db } from './db/index.js';
import type { Logger } from './logger.js';
import { createOrganizationDomain } from './orgs/index.js';
import { createProjectDomain } from './projects/index.js';
import { UrlSigner, redactSignedPath } from './api/signing.js';
import { EngineResolver, type EngineName } from './agent/engines.js';
import { Outbox, type Delivery } from './agent/outbox.js';
import { JobFolders } from './agent/jobdirs.js';
import { FORCE_KILL_AFTER_MS } from './agent/runner.js';
import { BlobCollector, type BlobOwner } from './blobs/collector.js';
import { createBlobStore } from './blobs/factory.js';
import { createRetentionDomain, type RetentionReport } from './retention/index.js';
import { Listener } from './db/notify.js';
import { createJobsDomain, registerJobMetrics, type ServerAgent } from './jobs/index.js';
import { createPoolsDomain, registerPoolMetrics } from './pools/index.js';
import { artifactBlobOwner, configBlobOwner, createRunDomain, registerRunMetrics } from './runs/index.js';
import { createStateDomain, stateBlobOwner } from './state/index.js';
import { createVariableDomain } from './variables/index.js';
import { createSshKeyDomain } from './sshkeys/index.js';
import { createAuditDomain, recordRefusal } from './audit/index.js';
import { createVariableSetDomain } from './varsets/index.js';
import { createTeamDomain } from './teams/index.js';
import { createRunTriggerDomain } from './triggers/index.js';
import { createUserDomain } from './users/index.js';
import { createVcsDomain } from './vcs/index.js';
import { createWorkspaceDomain, runnerPoolOf } from './workspaces/index.js';
import { createConnectionDomain } from './connections/index.js';
import { createIngressDomain, FetchWorker, LOST_FETCH_MS } from './ingress/index.js';
import { createWebhookDomain } from './webhooks/index.js';
import { createWebDomain } from './web/index.js';
import { runEventPublisher } from './web/run-events.js';
import { createRegistry } from './metrics.js';
import { createNotificationDomain } from './notifications/index.js';
import { DEFAULT_TIMEOUT_SECONDS } from './timeouts.js';
import { createAssessmentDomain, DEFAULT_TICK_MS } from './assessments/index.js';
import type { AssessmentNotice } from './notifications/triggers.js';

/**
 * Request line and headers: Node's default of 16 KiB would answer a long list filter with a bare
 * 431; with room for the 64 KiB query string the API reads, the answer is a 422 naming the limit.
 */
const MAX_HEADER_BYTES = 80 * 1024;

/** The version of new workspaces when their engine is not on PATH. */
export const PINNED_VERSIONS: Record<EngineName, string> = { terraform: '1.11.4', tofu: '1.6.2' };

export interface Otfd {
  /** Base URL users reach, e.g. https://localhost:8080 */
  url: string;
  /** host[:port] part of url, as the terraform CLI names the server */
  hostname: string;
  port: number;
  /** The site token generated on first start, to print once; null otherwise. */
  generatedSiteToken: string | null;
  db: Db;
  /**
   * Stops for a rolling restart: no new connections or jobs, held long-polls answered at once, running
   * server-agent jobs given up to --shutdown-timeout to finish, then everything closed in order.
   */
  stop(): Promise<void>;
  /** Makes a stop under way cancel the running server-agent jobs now instead of waiting for them. */
  cancelJobs(): void;
  /**
   * One pass of what the hourly blob collection does: enforce the data retention policies, prune
   * the audit trail's events older than --audit-retention (auditEvents: how many), then delete the
   * blobs (written graceSeconds ago or more, default an hour) whose records are gone.
   */
  collectBlobs(graceSeconds?: number): Promise<{ retention: RetentionReport; auditEvents: number; blobs: number }>;
}

/** Every domain whose records own blobs, for the collection of blobs whose records are gone. */
export function blobOwners(db: Db): BlobOwner[] {
  return [stateBlobOwner(db), configBlobOwner(db), artifactBlobOwner(db)];
}

export interface StartOptions {
  logger: Logger;
  /** Where engine releases are downloaded from, instead of the official sites (tests serve their own). */
  engineReleases?: Record<EngineName, string>;
  /** Told of every drifted or failed health assessment, besides notifications (tests observe the hook through it). */
  onAssessmentResult?: (notice: AssessmentNotice) => void | Promise<void>;
}

/** The secret for signed URLs and encryption: --secret, else one generated and kept in the data dir. */
function loadSecret(config: Config): string {
  if (config.secret) return config.secret;
  const file = path.join(config.dataDir, 'secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const secret = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/** The version of the engine on PATH, or the pinned default. */
function detectVersion(engine: EngineName): Promise<string> {
  return new Promise((resolve) => {
    execFile(engine, ['version', '-json'], { timeout: 10_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } }, (err, stdout) => {
      try {
        resolve(err ? PINNED_VERSIONS[engine] : (JSON.parse(stdout) as { terraform_version: string }).terraform_version);
      } catch {
        resolve(PINNED_VERSIONS[engine]);
      }
    });
  });
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host || '*'}:${port}`;
      reject(new ConfigError(err.code === 'EADDRINUSE' ? `cannot listen on ${where}: address already in use` : `cannot listen on ${where}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host || undefined, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function publicHost(listenHost: string): string {
  if (listenHost === '' || listenHost === '0.0.0.0' || listenHost === '::') return 'localhost';
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}

export async function startOtfd(config: Config, opts: StartOptions): Promise<Otfd> {
  const { logger } = opts;
  makeDataDir(config.dataDir);
  const cleanups: Array<() => Promise<void>> = [];
  // Set once a stop begins; answers then say Connection: close.
  let stopping = false;
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err) => logger.error({ err }, 'shutdown step failed'));
  };
  try {
    const secret = loadSecret(config);
    let embedded: EmbeddedPostgres | null = null;
    let url = config.database;
    if (!url) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
      cleanups.push(() => embedded!.stop());
      url = embedded.url;
    }
    const db = await openDatabase(url, { statementTimeoutMs: config.statementTimeoutMs, logger });
    cleanups.push(() => db.destroy());
    await migrate(url);

    const { hash, generated } = await siteTokenHash(db, config.siteToken);
    const auth = new AuthService(hash);
    const site: Site = { baseUrl: '', secret };
    const signer = new UrlSigner(secret);
    const { store: blobs, close: closeBlobs } = await createBlobStore(config.blobStore, db, logger);
    cleanups.push(closeBlobs);
    const listener = new Listener(url, logger);
    await listener.start();
    cleanups.push(() => listener.stop());
    const registry = createRegistry();
    const subjects = new SubjectCache();
    await subjects.follow(listener);
    const [terraform, tofu] = await Promise.all([detectVersion('terraform'), detectVersion('tofu')]);

    // The domains, each made by its module from what it depends on. Dependencies point one way
    // (docs/architecture.md draws them); where a domain must reach back, a hook below does it.
    const orgs = createOrganizationDomain({ db, site });
    const projects = createProjectDomain({ db, site, orgs: orgs.service });
    const workspaces = createWorkspaceDomain({
      db,
      orgs: orgs.service,
      projects: projects.service,
      site,
      defaults: { engine: config.defaultEngine, versions: { terraform, tofu } },
      subjects,
    });
    const users = createUserDomain({ db, site, subjects });
    const teams = createTeamDomain({ db, site, orgs: orgs.service, users: users.service, workspaces: workspaces.service, projects: projects.service, subjects });
    const state = createStateDomain({ db, blobs, signer, site, orgs: orgs.service, workspaces: workspaces.service, logger });
    const variables = createVariableDomain({ db, secret, site, orgs: orgs.service, workspaces: workspaces.service });
    const sshKeys = createSshKeyDomain({ db, secret, site, orgs: orgs.service, workspaces: workspaces.service });
    const audit = createAuditDomain({ db, orgs: orgs.service, retentionMs: config.auditRetentionMs ?? null, logger });
    const vcs = createVcsDomain({ db, secret, site, orgs: orgs.service });
    const varsets = createVariableSetDomain({
      db,
      secret,
      site,
      orgs: orgs.service,
      workspaces: workspaces.service,
      projects: projects.service,
      workspaceVariables: variables,
    });
    // Jobs get the variables of a run already merged: the workspace's and its variable sets'.
    const jobs = createJobsDomain({ db, blobs, site, state: state.service, variables: varsets, sshKeys, logger });
    const runs = createRunDomain({
      db,
      blobs,
      signer,
      site,
      orgs: orgs.service,
      workspaces: workspaces.service,
      jobs: jobs.service,
      users: users.service,
      state: state.service,
      principals: auth,
      maxConfigSize: config.maxConfigSize,
      forceCancelCoolOffMs: config.forceCancelCoolOffMs ?? 10_000,
      timeouts: { planSeconds: config.planTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS, applySeconds: config.applyTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS },
      logger,
    });
    const retention = createRetentionDomain({ db, orgs: orgs.service, workspaces: workspaces.service, logger, registry });
    const triggers = createRunTriggerDomain({ db, site, workspaces: workspaces.service, runs: runs.service, principals: auth, logger });
    const connections = createConnectionDomain({ db, secret, site, workspaces: workspaces.service, tokens: vcs.providers, logger });
    const ingress = createIngressDomain({
      db,
      site,
      runs: runs.service,
      configs: runs.configs,
      workspaces: workspaces.service,
      connections,
      tokens: vcs.providers,
      sshKeys,
      principals: auth,
      repositoriesDir: path.join(config.dataDir, 'repositories'),
      logger,
    });
    const { repositories, statuses, poller } = ingress;
    // Clones no connection fetched into for two weeks go (at start, then hourly).
    repositories.startSweeping(14 * 24 * 3_600_000, 3_600_000);
    const webhooks = createWebhookDomain({
      db,
      hooks: connections,
      handle: (hook, event) => ingress.dispatcher.handle(hook, event),
      logger,
    });
    const pools = createPoolsDomain({
      db,
      orgs: orgs.service,
      workspaces: workspaces.service,
      jobs: jobs.service,
      listener,
      site,
      logger,
      agents: { heartbeatSeconds: config.agentHeartbeatSeconds, gracePeriodSeconds: config.agentGracePeriodSeconds },
    });
    const notifications = createNotificationDomain({
      db,
      secret,
      workspaces: workspaces.service,
      users: users.service,
      settings: {
        allowPrivateAddresses: config.notificationAllowPrivateAddresses ?? false,
        smtp: config.smtp ?? null,
        timeoutMs: config.notificationTimeoutMs,
        retryDelaysMs: config.notificationRetryDelaysMs,
      },
      registry,
      logger,
      baseUrl: () => site.baseUrl,
    });
    const assessments = createAssessmentDomain({
      db,
      site,
      workspaces: workspaces.service,
      runs: runs.service,
      logs: runs.logs,
      planJson: runs.planJson,
      registry,
      scheduler: { schedule: config.assessmentsSchedule ?? '@daily', tickMs: config.assessmentsTickMs ?? DEFAULT_TICK_MS },
      logger,
    });

    // Every hook between domains, here and nowhere else.
    // Who a token belongs to, asked of each domain that issues tokens, in this order.
    auth.addResolver(orgs.service);
    auth.addResolver(users.service);
    auth.addResolver(teams.service);
    auth.addResolver(jobs.service);
    auth.addResolver(pools.service);
    auth.addResolver(pools.agents);
    // A run acts with its creator's rights, gathered afresh.
    auth.addPrincipalLoader('users', users.principalLoader);
    auth.addPrincipalLoader('teams', teams.principalLoader);
    // A new organization gets its default project, then its creator's membership and owners team.
    orgs.service.onCreate(projects.organizationCreated);
    orgs.service.onCreate(teams.organizationCreated);
    // Users build no memberships themselves: a new user's and a deleted user's go through teams.
    users.service.connectMemberships(teams.userHooks);
    // A workspace with resources in its state, or a state upload pending, is not deleted.
    workspaces.service.setResourceCheck((id) => state.service.hasResources(id));
    workspaces.service.setPendingUploadCheck((id, holder) => state.service.pendingUpload(id, holder));
    // include= on workspaces, served by the domains that own the related resources.
    workspaces.addIncluders({ ...runs.workspaceIncluders, ...state.workspaceIncluders });
    // What runners report about a phase becomes a run transition, logs and artifacts.
    jobs.reportTo(runs.phaseOutcomes);
    // An unlocked workspace starts its next queued run; an organization's capacity counts its active runs.
    workspaces.service.onUnlock((id) => runs.service.schedule(id));
    orgs.service.setCapacityProvider((org) => runs.service.activeRunCounts(org));
    // A workspace may be given only a pool that exists in its organization and allows it.
    workspaces.service.setPoolCheck((orgId, poolId, ws, trx) => pools.service.checkAssignable(orgId, poolId, ws, trx));
    // A successful apply queues a run in each workspace its workspace triggers (recorded in the apply's transaction).
    runs.service.onApplied(triggers.runApplied);
    // A workspace may be given only an SSH key of its own organization.
    workspaces.service.setSshKeyCheck(sshKeys.service.checkAssignable);
    // Workspaces connect to repositories through the connections domain, which makes (or shares)
    // each repository's webhook and deletes it once no workspace uses it.
    workspaces.service.setVcsConnector(connections.service);
    // A workspace connected or disconnected here is polled (or not) from the next tick.
    workspaces.service.onConnectionChange(() => poller.refreshSoon());
    // An organization about to be deleted lets go of its repositories' webhooks first.
    orgs.service.onDelete((id) => connections.service.organizationDeleting(id));
    // A deleted oauth token disconnects the workspaces connected with it, deleting their webhooks while it still can.
    vcs.providers.onTokenDeleted((token) => connections.oauthTokenDeleting(token.oauthTokenId));
    // A run on a VCS workspace that names no configuration version plans its branch head.
    runs.service.setHeadPlanner((subject, ws, input) => ingress.service.planHead(subject, ws, input));
    // Every status change of a run from a commit is posted to the commit (never holding the run up).
    runs.service.onStatusChange(statuses.statusChanged);
    // Every status change of a run, and every new run (run:created), enqueues the notifications its
    // workspace listens for in the change's own transaction: a crash loses none. Only enqueued: no
    // destination holds the run up.
    runs.service.onTransition(notifications.statusChanged);
    runs.service.onCreated(notifications.runCreated);
    // A workspace's current-assessment-result relationship can be included (include=current-assessment-result).
    workspaces.addIncluders(assessments.workspaceIncluders);
    // A health assessment's run that ended finishes its result (drifted or not, from its JSON plan).
    runs.service.onStatusChange((run) => assessments.service.runChanged(run));
    // Drifted and failed assessments enqueue notifications in the transaction that finishes their result (assessment:drifted, assessment:failed, assessment:check_failure).
    assessments.service.onResultInTransaction(notifications.assessmentFinished);
    if (opts.onAssessmentResult) assessments.service.onResult(opts.onAssessmentResult);
    // An organization's default-project relationship, and its default pool (one new workspaces may use).
    orgs.service.setDefaultProjectLookup(async (org) => (await projects.service.defaultOf(org.id)).id);
    orgs.addIncluders(projects.organizationIncluders);
    orgs.service.setDefaultPoolCheck((orgId, poolId, trx) => pools.service.checkDefault(orgId, poolId, trx));
    // Why a run waits: its pool's agents, and the server agents of every otfd (a server agent is
    // alive while heard from within 3 heartbeats; replicas are expected to share --concurrency).
    runs.waiting.setProbes({
      pool: async (poolId) => {
        const found = await pools.service.runnersOf(poolId);
        return found && { name: found.pool.name, ...found.runners };
      },
      server: async () => ({
        agents: await pools.service.liveServerAgents(3 * config.agentHeartbeatSeconds),
        slotsPerAgent: config.concurrency > 0 ? config.concurrency : null,
        held: await jobs.service.activeServerJobs(),
      }),
    });
    // Autoscaling signals at /metrics: waiting runs by reason and pool, queued jobs, agents, job durations, run outcomes.
    runs.service.onStatusChange(
      registerRunMetrics(registry, runs.waiting, async (run) => runnerPoolOf(await workspaces.service.byId(run.workspaceId))),
    );
    registerJobMetrics(registry, jobs.service);
    registerPoolMetrics(registry, pools.service);

    // The web UI: pages over the same services, with sessions of their own.
    const web = createWebDomain({
      db,
      site,
      logger,
      listener,
      auth,
      settings: { sessionLifetimeMs: config.sessionLifetimeMs ?? 24 * 3_600_000, oidc: config.oidc ?? null, tls: config.ssl, streamRecheckMs: config.streamRecheckMs },
      orgs,
      projects,
      workspaces,
      runs,
      state,
      variables,
      varsets,
      teams,
      users,
      pools,
      vcs,
      connections,
      triggers,
      sshKeys,
    });
    // A run's status changes and new log output reach the pages watching it (never holding the run up).
    const runEvents = runEventPublisher(web.events, logger);
    runs.service.onStatusChange(runEvents.statusChanged);
    runs.logs.onAppend(runEvents.logAppended);
    // An agent's status or jobs changing reaches the pool pages live (never holding up the agent);
    // the page renders its agents afresh, so the event says only which pool.
    pools.agents.onChange((c) => web.events.publish({ topic: `pool:${c.poolId}`, name: 'agent', data: {} }));
    await web.start();
    cleanups.push(async () => web.stop());

    const app = createApp({
      registry,
      web,
      logger,
      db,
      auth,
      tls: config.ssl,
      authFailureLimit: config.authFailureLimit ?? 30,
      routes: (router: ApiRouter) => {
        registerTokenRoutes(router, [pools.tokenDirectory, users.tokenDirectory, teams.tokenDirectory]);
        users.routes(router);
        teams.routes(router);
        orgs.routes(router);
        projects.routes(router);
        workspaces.routes(router);
        state.routes(router);
        variables.routes(router);
        sshKeys.routes(router);
        vcs.routes(router);
        varsets.routes(router);
        runs.routes(router);
        triggers.routes(router);
        pools.routes(router);
        notifications.routes(router);
        retention.routes(router);
        audit.routes(router);
        assessments.routes(router);
      },
      // A refused change request is recorded in the organization it was about, when the path or
      // the caller tells which: /organizations/:name/..., /workspaces/:id/..., /runs/:id/..., or
      // the one organization of a team, organization token or job.
      auditRefusal: async (r) => {
        const name = /^\/api\/v2\/organizations\/([^/]+)/.exec(r.path)?.[1];
        const wsId = /^\/api\/v2\/workspaces\/(ws-[A-Za-z0-9]+)/.exec(r.path)?.[1];
        let organizationId = name ? ((await orgs.service.byName(safeDecode(name)))?.id ?? null) : null;
        if (!organizationId && wsId) organizationId = (await workspaces.service.byId(wsId))?.organizationId ?? null;
        const runId = /^\/api\/v2\/runs\/(run-[A-Za-z0-9]+)/.exec(r.path)?.[1];
        if (!organizationId && runId) organizationId = (await runs.service.byId(runId))?.organizationId ?? null;
        if (!organizationId && 'organizationId' in r.subject) organizationId = r.subject.organizationId;
        await recordRefusal(db, { ...r, organizationId });
      },
      agentRoutes: (router: ApiRouter) => {
        pools.agentRoutes(router);
        jobs.agentRoutes(router);
      },
      publicRoutes: (router) => {
        state.publicRoutes(router);
        runs.publicRoutes(router);
        webhooks.publicRoutes(router);
        web.publicRoutes(router);
      },
      redactPath: redactSignedPath,
      stopping: () => stopping,
    });

    const server =
      config.ssl && config.certFile && config.keyFile
        ? https.createServer({ cert: fs.readFileSync(config.certFile), key: fs.readFileSync(config.keyFile), maxHeaderSize: MAX_HEADER_BYTES }, app.callback())
        : http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app.callback());
    server.keepAliveTimeout = 65_000;
    const port = await listen(server, config.listenHost, config.listenPort);
    const closePublic = once(() => closeServer(server));
    cleanups.push(closePublic);
    // Stopped before the server closes (cleanups run last first): waiting long-polls answer at once.
    await pools.agents.start();
    cleanups.push(() => pools.agents.stop());
    // Runs owed by applies an otfd did not live to deliver are queued now.
    triggers.start();
    cleanups.push(() => triggers.stop());
    // Stopped early (cleanups run last first): no status waits for a retry, no poll starts.
    cleanups.push(() => statuses.stop());
    // Commits of runs from commits are fetched in the background, a few at a time, also those an
    // otfd did not live to fetch. Stopping (cleanups run last first): the fetch worker and the
    // poller take no more work, then the cache ends its git commands, then the fetches cut short
    // are let go (their versions stay fetching, for the next otfd), all before the database closes.
    const fetchWorker = new FetchWorker(db, ingress.service, logger, { maxAgeMs: LOST_FETCH_MS });
    ingress.service.onFetchQueued = () => fetchWorker.wake();
    cleanups.push(() => fetchWorker.drain());
    cleanups.push(async () => repositories.stop());
    poller.start();
    cleanups.push(() => poller.stop());
    // Repository webhooks a provider would not delete at disconnect are tried again now, then hourly.
    connections.service.start();
    cleanups.push(() => connections.service.stop());
    // Runs whose commit fetch an otfd did not live to finish are errored, instead of holding their queue.
    ingress.service.start();
    cleanups.push(async () => ingress.service.stop());
    fetchWorker.start();
    cleanups.push(() => fetchWorker.stop());
    // Notifications enqueued (also by an otfd that did not live to send them) are sent now, then as they come.
    notifications.start();
    cleanups.push(() => notifications.stop());
    // Webhook deliveries an otfd did not live to process are processed now, then new ones as they come.
    await webhooks.start(listener);
    cleanups.push(() => webhooks.stop());
    // Jobs whose runner did not stop them at their timeout (hung, or lost) are ended here.
    const stopBackstop = jobs.startTimeoutBackstop(config.timeoutBackstopMarginMs ?? FORCE_KILL_AFTER_MS + 60_000);
    cleanups.push(async () => stopBackstop());
    // Health assessments are scheduled by one otfd at a time (a lease in the database).
    assessments.service.startScheduler();
    cleanups.push(() => assessments.service.stopScheduler());
    let serverAgent: ServerAgent | null = null;
    // Retention deletes old records first (and the audit trail its old events, whether or not
    // retention failed, and the other way round); the same pass then collects their blobs.
    const enforceRetention = async () => {
      const [report, pruned] = await Promise.allSettled([retention.service.enforce(), audit.service.prune()]);
      if (report.status === 'rejected') throw report.reason;
      if (pruned.status === 'rejected') throw pruned.reason;
      return { retention: report.value, auditEvents: pruned.value };
    };
    const collector = new BlobCollector(blobs, blobOwners(db), logger, enforceRetention);
    collector.start();
    cleanups.push(async () => collector.stop());
    const hostname = config.hostname ?? `${publicHost(config.listenHost)}:${port}`;
    site.baseUrl = `${config.ssl ? 'https' : 'http'}://${hostname}`;

    if (config.concurrency > 0) {
      // The server agent reaches this otfd through a private socket: no TLS, no port, no DNS.
      const socketPath = internalSocketPath(config.dataDir);
      const internal = http.createServer(app.callback());
      await listenOnSocket(internal, socketPath);
      cleanups.push(() => closeServer(internal).finally(() => fs.rmSync(socketPath, { force: true })));
      // States of the server agent's applies wait here until stored; an otfd killed mid-delivery
      // delivers them when it starts again, by a direct call (the job's token may be gone by then).
      const outbox = new Outbox({ dir: path.join(config.dataDir, 'outbox'), logger, retryHours: STATE_RETRY_HOURS });
      outbox.start(async (entry, bytes): Promise<Delivery> => {
        try {
          await jobs.late.accept(entry.jobId, null, bytes, entry.md5);
          return { result: 'acknowledged' };
        } catch (err) {
          if (err instanceof AppError && !(err instanceof UnavailableError)) return { result: 'refused', reason: err.message };
          return { result: 'failed', reason: (err as Error).message };
        }
      });
      cleanups.push(() => outbox.stop());
      // Job folders of an otfd killed mid-job go now; this one's go when it stops.
      const folders = JobFolders.open('otfd', logger);
      cleanups.push(async () => folders.close());
      const agent = jobs.serverAgent({
        listener,
        concurrency: config.concurrency,
        transport: { baseUrl: site.baseUrl, socketPath },
        runner: {
          engines: new EngineResolver({ binsDir: config.engineBinsDir, releasesUrl: opts.engineReleases }),
          workRoot: folders.dir,
          logger,
          // Engines in runs reach this otfd by its hostname, so they must trust its certificate.
          caFiles: config.ssl && config.certFile ? [config.certFile] : [],
          outbox,
          hooks: { dir: config.serverAgentHooksDir ?? null, timeoutMs: config.hookTimeoutMs ?? 600_000 },
        },
        logger,
        alive: (id) => pools.agents.serverAgentAlive(id),
        gone: (id) => pools.agents.serverAgentGone(id),
        heartbeatSeconds: config.agentHeartbeatSeconds,
      });
      await agent.start();
      serverAgent = agent;
      cleanups.push(() => agent.stop());
    }
    logger.info({ url: site.baseUrl, embeddedPostgres: embedded !== null }, 'otfd is ready');

    // A stop first lets go of the outside world (the listener, the agents' long-polls) while the
    // server agent's running jobs finish: they still have the database and the private socket.
    const stop = async () => {
      stopping = true;
      logger.info({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'stopping: taking no new jobs or connections');
      pools.agents.drain();
      // Event streams never end by themselves: they would hold the listener open until its timeout.
      web.stop();
      await Promise.all([closePublic(), serverAgent?.stop(config.shutdownTimeoutMs)]);
      await cleanup();
    };
    let stopped: Promise<void> | null = null;
    return {
      url: site.baseUrl,
      hostname,
      port,
      generatedSiteToken: generated,
      db,
      stop: () => (stopped ??= stop()),
      cancelJobs: () => serverAgent?.cancelNow(),
      collectBlobs: async (graceSeconds) => ({ ...(await enforceRetention()), blobs: await collector.collect(graceSeconds) }),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** How long the server agent's outbox offers a state before it stops trying (the file stays). */
const STATE_RETRY_HOURS = 24;

/** The first call runs fn; later calls get the same promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

/** A socket path in the data dir, short enough for the 107-byte limit, else in the temp dir. */
function internalSocketPath(dataDir: string): string {
  const inDataDir = path.join(dataDir, `otfd-${process.pid}.sock`);
  return inDataDir.length < 100 ? inDataDir : path.join(os.tmpdir(), `otfd-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
}

function listenOnSocket(server: http.Server, socketPath: string): Promise<void> {
  fs.rmSync(socketPath, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      fs.chmodSync(socketPath, 0o600);
      resolve();
    });
  });
}

/** Stops accepting connections, lets requests in flight finish (up to 10 s), then closes the rest. */
function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), 10_000);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** A path segment decoded, or as it is when it is no valid percent-encoding. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
