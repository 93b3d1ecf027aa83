// The dispatch: one VCS event (a webhook's delivery, or a poll that saw a branch head move) handed
// to every workspace connected to its repository. Each workspace decides by its own settings
// (triggers.ts) whether the event queues a run; the run acts with the rights of whoever connected
// the workspace, gathered afresh. One workspace's failure does not keep the others from their runs.
import { isAllowed } from '../auth/authorize.js';
import type { PrincipalResolver } from '../auth/service.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { workspaceScope } from '../workspaces/index.js';
import { hookKindOf, type PullRequestEvent, type PushEvent, type RepoHook, type VcsEvent } from '../vcs/types.js';
import type { ConnectedWorkspace, IngressService, IngressSources } from './service.js';
import { decide, filesTrigger, isNewBranch } from './triggers.js';

export class Dispatcher {
  constructor(
    private readonly ingress: IngressService,
    private readonly sources: IngressSources,
    private readonly principals: PrincipalResolver,
    private readonly logger: Logger,
  ) {}

  /**
   * Queues the event's runs in the workspaces connected to the hook (a delivery), or in workspace
   * `only` (a poll, which has no hook). Throws when some workspace's run could not be made (the
   * delivery is tried again: runs already made are not made twice).
   */
  async handle(hook: RepoHook | null, event: VcsEvent, only?: string): Promise<void> {
    let targets: ConnectedWorkspace[];
    if (hook) {
      targets = await this.sources.workspacesOfHook(hook.id);
      if (only !== undefined) targets = targets.filter((t) => t.workspace.id === only);
    } else {
      const one = only !== undefined ? await this.sources.connectedWorkspace(only) : null;
      targets = one ? [one] : [];
    }
    const results = await Promise.allSettled(targets.map((t) => this.refusalsLogged(t, this.forWorkspace(hook, t, event))));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${targets[i].workspace.name}: ${(r.reason as Error).message}`] : []));
    if (failed.length > 0) throw new Error(`no run could be queued in ${failed.join('; ')}`);
  }

  /**
   * A run the workspace refuses (local execution, a setting that forbids it) is no failure of the
   * delivery: trying again would be refused the same way. It is logged; anything else is thrown.
   */
  private async refusalsLogged(t: ConnectedWorkspace, work: Promise<void>): Promise<void> {
    try {
      await work;
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      this.logger.warn({ workspace: t.workspace.id, reason: err.message }, 'VCS event queues no run: the workspace refused it');
    }
  }

  private async forWorkspace(hook: RepoHook | null, t: ConnectedWorkspace, event: VcsEvent): Promise<void> {
    const log = this.logger.child({ workspace: t.workspace.id, deliveryId: event.deliveryId, event: event.type });
    const decision = decide(event, t.vcsRepo, t.workspace);
    if (!decision.run) {
      log.info({ why: decision.why }, 'VCS event queues no run in this workspace');
      return;
    }
    if (decision.files && event.type !== 'tag') {
      const paths = await this.changedFiles(t, event);
      // Unknown changes (a new branch, a provider that would not say) plan anyway, as TFC does.
      if (paths !== null && !filesTrigger(t.workspace, paths)) {
        log.info({ changed: paths.length }, 'VCS event queues no run: no changed file matches the workspace\'s file triggers');
        return;
      }
    }
    const subject = await this.principals.subjectOf(t.connectedBy);
    if (!subject || !isAllowed(subject, 'run:queue', workspaceScope(t.workspace))) {
      log.warn({ connectedBy: t.connectedBy }, 'VCS event queues no run: whoever connected the workspace is gone or may no longer queue runs');
      return;
    }
    const key = runKey(t.workspace.id, event);
    const provider = hook?.provider ?? null;
    const common = { sha: event.commit.sha, message: event.commit.message, commitUrl: event.commit.url, sender: event.sender || null, key, provider };
    switch (event.type) {
      case 'push':
        await this.ingress.runCommit(subject, t, {
          ...common,
          branch: event.branch,
          tag: null,
          compareUrl: event.compareUrl,
          pullRequest: null,
          ref: `refs/heads/${event.branch}`,
          speculative: false,
        });
        break;
      case 'tag':
        await this.ingress.runCommit(subject, t, { ...common, branch: null, tag: event.tag, compareUrl: null, pullRequest: null, ref: `refs/tags/${event.tag}`, speculative: false });
        break;
      case 'pull-request':
        await this.ingress.runCommit(subject, t, {
          ...common,
          branch: event.headBranch,
          tag: null,
          compareUrl: null,
          pullRequest: { number: event.number, url: event.url, title: event.title },
          ref: pullRequestRef(hook, event),
          speculative: true,
        });
        break;
    }
  }

  /** The paths a push or pull request changed: from the event, else the cache, else the provider; null when unknown. */
  private async changedFiles(t: ConnectedWorkspace, event: PushEvent | PullRequestEvent): Promise<string[] | null> {
    const log = { workspace: t.workspace.id, deliveryId: event.deliveryId };
    try {
      const adapter = await this.sources.adapterFor(t.vcsRepo.oauthTokenId);
      if (event.type === 'pull-request') return await adapter.pullRequestFiles(t.vcsRepo.identifier, event.number);
      if (event.changedFiles !== null) return event.changedFiles;
      if (isNewBranch(event.before)) return null;
      const info = await adapter.repository(t.vcsRepo.identifier);
      const source = await this.ingress.sourceOf(t, adapter, info, event.commit.sha, null);
      // The cache knows when it holds both commits; the provider otherwise.
      const cached = await this.sources.fetcher.changedFiles(source.repoKey, event.before, event.commit.sha).catch(() => null);
      return cached ?? (await adapter.changedFiles(t.vcsRepo.identifier, event.before, event.commit.sha));
    } catch (err) {
      if (event.type === 'push' && event.changedFiles !== null) return event.changedFiles;
      this.logger.info({ ...log, reason: (err as Error).message }, 'changed files unknown; the file triggers are not applied');
      return null;
    }
  }
}

/**
 * What makes a run from an event once per workspace: what the event is (its type, branch, tag or pull
 * request, and commit), not which delivery brought it. The same event delivered again (a replayed
 * body under a new delivery id, a provider's redelivery, a poll that saw the head a webhook
 * announced, or one processed again after its otfd stopped) finds the run it made.
 */
function runKey(workspaceId: string, event: VcsEvent): string {
  switch (event.type) {
    case 'push':
      // With the head before the push: a branch moved back to a commit it had before (a force-push
      // revert) is a new push, not the old one again.
      return `${workspaceId}:push:${event.branch}:${event.before}..${event.commit.sha}`;
    case 'tag':
      return `${workspaceId}:tag:${event.tag}:${event.commit.sha}`;
    case 'pull-request':
      return `${workspaceId}:pull-request:${event.number}:${event.commit.sha}`;
  }
}

/**
 * A ref of the base repository that holds a pull request's head commit: its branch when it is in
 * the same repository, else the ref the provider keeps for it (GitHub and Forgejo refs/pull/N/head,
 * GitLab refs/merge-requests/N/head).
 */
function pullRequestRef(hook: RepoHook | null, event: PullRequestEvent): string {
  if (!event.fromFork) return `refs/heads/${event.headBranch}`;
  if (hook !== null && hookKindOf(hook.provider) === 'gitlab') return `refs/merge-requests/${event.number}/head`;
  return `refs/pull/${event.number}/head`;
}
