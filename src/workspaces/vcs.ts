// The rules of a workspace's vcs-repo settings that need no provider: the branch, the tags regex,
// the polling interval, text without NUL. The repository and its token are checked by the
// connections domain, which asks the provider (src/connections/).
import vm from 'node:vm';
import type { Db } from '../db/index.js';
import { InvalidError } from '../errors.js';
import { branchNameProblem, type ServiceProvider } from '../vcs/index.js';

/** What a request asks of the workspace's repository connection (its vcs-repo attribute); absent members stay as they are. */
export interface VcsRepoInput {
  identifier?: string;
  oauthTokenId?: string;
  /** '' or null: the repository's default branch. */
  branch?: string | null;
  /** '' or null: tags queue nothing. */
  tagsRegex?: string | null;
  ingressSubmodules?: boolean;
  allowForkPullRequests?: boolean;
  /** null: webhooks; else seconds between polls of the branch head. */
  pollIntervalSeconds?: number | null;
}

/** What the provider says of a repository a workspace connects to, through the connections domain. */
export interface ResolvedRepository {
  oauthClientId: string;
  serviceProvider: ServiceProvider;
  defaultBranch: string;
  /** The repository's web page. */
  repositoryHttpUrl: string;
}

/** A repository webhook found or made for a workspace, in the workspace's transaction. */
export interface Attachment {
  hookId: string;
  /** Deletes the webhook at the provider if this attachment made it: for when the transaction fails. */
  undo(): Promise<void>;
}

/**
 * The connections domain, which makes the repository webhooks workspaces share (wired in
 * src/server.ts): workspaces ask it about a repository, for a webhook, and to let one go.
 */
export interface VcsConnector {
  /**
   * Checks that the oauth token belongs to the organization and the identifier names a repository
   * the provider shows with it; InvalidError (422) otherwise, naming the provider's answer.
   */
  resolve(organizationId: string, identifier: string, oauthTokenId: string): Promise<ResolvedRepository>;
  /**
   * The repository's webhook, made at the provider if no workspace has one yet. Holds a lock on the
   * repository until trx ends, so concurrent connects make one webhook.
   */
  attach(trx: Db, hook: { organizationId: string; oauthTokenId: string; oauthClientId: string; serviceProvider: ServiceProvider; identifier: string }): Promise<Attachment>;
  /** Called once a workspace no longer names the hook: deletes it (here and at the provider) when no workspace does. Never throws. */
  release(hookId: string): Promise<void>;
}

/** Until the connections domain is wired: no repository can be connected. */
export const NO_CONNECTOR: VcsConnector = {
  resolve: async () => {
    throw new InvalidError('this server connects no workspaces to repositories', { pointer: '/data/attributes/vcs-repo' });
  },
  attach: async () => {
    throw new InvalidError('this server connects no workspaces to repositories', { pointer: '/data/attributes/vcs-repo' });
  },
  release: async () => {},
};

/** Shortest polling interval: a provider's API is not to be hammered (GitHub allows 5,000 calls an hour per token). */
export const MIN_POLL_SECONDS = 10;
export const MAX_POLL_SECONDS = 86_400;
/** Longest tags-regex: long enough for any sensible pattern, short enough to keep matching cheap. */
export const MAX_TAGS_REGEX = 255;
export const MAX_BRANCH = 255;

const pointer = (member: string) => ({ pointer: `/data/attributes/vcs-repo/${member}` });

/** Text of a vcs-repo member: no NUL (PostgreSQL cannot keep it), no control characters. */
export function checkVcsText(member: string, text: string): void {
  if (text.includes('\u0000')) throw new InvalidError(`vcs-repo.${member} must not contain NUL characters (\\u0000)`, pointer(member));
}

/** A branch name git accepts (git check-ref-format --branch; the one rule in src/vcs/names.ts), at most MAX_BRANCH long. */
export function validBranch(name: string): boolean {
  return name.length > 0 && name.length <= MAX_BRANCH && branchNameProblem(name) === null;
}

export function checkBranch(branch: string): void {
  checkVcsText('branch', branch);
  if (branch !== '' && !validBranch(branch)) {
    throw new InvalidError(`vcs-repo.branch must be a valid git branch name (or empty for the repository's default branch), got ${JSON.stringify(branch.slice(0, 300))}`, pointer('branch'));
  }
}

export function checkTagsRegex(regex: string): void {
  checkVcsText('tags-regex', regex);
  if (regex.length > MAX_TAGS_REGEX) throw new InvalidError(`vcs-repo.tags-regex may be at most ${MAX_TAGS_REGEX} characters long, got ${regex.length}`, pointer('tags-regex'));
  try {
    new RegExp(regex);
  } catch (err) {
    throw new InvalidError(`vcs-repo.tags-regex is not a valid regular expression: ${(err as Error).message}`, pointer('tags-regex'));
  }
}

export function checkPollInterval(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS) {
    throw new InvalidError(`vcs-repo.poll-interval-seconds must be null (webhooks) or a whole number of seconds from ${MIN_POLL_SECONDS} to ${MAX_POLL_SECONDS}, got ${seconds}`, pointer('poll-interval-seconds'));
  }
}

/** One context for every match: making one per match costs about a millisecond. */
const matcher = vm.createContext({ re: /$^/, text: '' });
/** Longest a tags-regex may take on one tag before it is taken as not matching. */
const MATCH_TIMEOUT_MS = 100;

/**
 * Whether a tag matches a workspace's tags-regex. JavaScript's regular expressions backtrack, so a
 * regex like "^(a+)+$" can take minutes on a short tag and would stop otfd's event loop: the match
 * runs with a time limit, and one that runs out does not match (timedOut says so, for a log line).
 */
export function tagsRegexMatches(regex: string, tag: string): { matches: boolean; timedOut: boolean } {
  matcher.re = new RegExp(regex);
  matcher.text = tag;
  try {
    return { matches: vm.runInContext('re.test(text)', matcher, { timeout: MATCH_TIMEOUT_MS }) === true, timedOut: false };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { matches: false, timedOut: true };
    throw err;
  }
}
