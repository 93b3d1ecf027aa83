// GitHub's pull_request payload, which Forgejo (and Gitea) copy field for field. The two differ only
// in what the action for new commits is called and where a repository's id is kept.
import type { PullRequestEvent } from '../../vcs/types.js';
import { branchName, identifier, object, optionalObject, positiveInteger, sha, text, url, type Json } from './fields.js';

export interface PullRequestDialect {
  kind: 'github' | 'forgejo';
  /** The provider's action names. A Map, not an object: an action named "constructor" must not find Object's. */
  actions: ReadonlyMap<string, PullRequestEvent['action']>;
  /** Whether the head is in another repository than the base (the head repository is null once a fork is deleted). */
  fromFork(head: Json, base: Json, headRepo: Json | null): boolean;
}

export function pullRequest(dialect: PullRequestDialect, deliveryId: string, p: Json): PullRequestEvent {
  const action = text(p, 'action', '');
  const number = positiveInteger(p, 'number', '');
  const repository = object(p, 'repository', '');
  const pr = object(p, 'pull_request', '');
  const head = object(pr, 'head', 'pull_request');
  const base = object(pr, 'base', 'pull_request');
  const headRepo = optionalObject(head, 'repo', 'pull_request.head');
  const headSha = sha(head, 'sha', 'pull_request.head');
  const title = text(pr, 'title', 'pull_request');
  const commitBase = headRepo ? url(headRepo, 'html_url', 'pull_request.head.repo') : url(repository, 'html_url', 'repository');
  return {
    kind: dialect.kind,
    identifier: identifier(repository, 'full_name', 'repository'),
    deliveryId,
    sender: text(object(p, 'sender', ''), 'login', 'sender'),
    type: 'pull-request',
    action: dialect.actions.get(action) ?? 'other',
    number,
    url: url(pr, 'html_url', 'pull_request'),
    title,
    // A pull request's payload carries no commit message: its title stands for it.
    commit: { sha: headSha, message: title, url: `${commitBase}/commit/${headSha}` },
    headBranch: branchName(head, 'ref', 'pull_request.head'),
    baseBranch: branchName(base, 'ref', 'pull_request.base'),
    fromFork: dialect.fromFork(head, base, headRepo),
  };
}
