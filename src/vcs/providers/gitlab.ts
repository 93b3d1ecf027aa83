// GitLab (gitlab.com, Community and Enterprise Edition) through its REST API v4, as
// docs.gitlab.com defines it: projects by URL-encoded path, project hooks, commit statuses,
// repository compare and a merge request's diffs. The API URL is https://gitlab.com/api/v4, or
// https://<host>/api/v4.
import type { CommitStatus, RepositoryInfo, ServiceProvider, VcsAdapter } from '../types.js';
import { identifierProblem } from '../names.js';
import { VcsApiError } from '../types.js';
import { RestClient, cut, field, str, uniquePaths, type AdapterOptions } from './rest.js';

const LABEL = 'GitLab';

/** GitLab's states: the same words, except that a failure is "failed" (and an error too: GitLab has no "error"). */
const GITLAB_STATE: Record<CommitStatus['state'], string> = {
  pending: 'pending',
  success: 'success',
  failure: 'failed',
  error: 'failed',
};

export class GitLabAdapter implements VcsAdapter {
  private readonly rest: RestClient;

  constructor(
    readonly provider: ServiceProvider,
    apiUrl: string,
    private readonly token: string,
    options: AdapterOptions = {},
  ) {
    this.rest = new RestClient(LABEL, apiUrl, { Authorization: `Bearer ${token}`, 'User-Agent': 'otf-ts' }, token, options);
  }

  /** /projects/:id with the project's full path URL-encoded as its id ("group/sub/name" → group%2Fsub%2Fname). */
  private projectPath(identifier: string): string {
    if (identifierProblem(identifier, 'project path') !== null) throw new VcsApiError(`${LABEL}: "${identifier.slice(0, 200)}" is not a project path of the form group/name`, 400);
    return `/projects/${encodeURIComponent(identifier)}`;
  }

  async repository(identifier: string): Promise<RepositoryInfo> {
    const path = this.projectPath(identifier);
    const { body } = await this.rest.call('GET', path);
    const fullPath = str(body, 'path_with_namespace');
    const cloneUrl = str(body, 'http_url_to_repo');
    // An empty project has no default branch; GitLab then says null. Nothing can be planned from it yet.
    const defaultBranch = str(body, 'default_branch');
    if (!fullPath || !cloneUrl) throw this.rest.unexpected('GET', path, 'a project');
    return { identifier: fullPath, defaultBranch: defaultBranch ?? 'main', webUrl: str(body, 'web_url') ?? '', cloneUrl, sshCloneUrl: str(body, 'ssh_url_to_repo') };
  }

  cloneCredentials(): { username: string; password: string } {
    // GitLab documents oauth2 as the user name for cloning over HTTPS with a token.
    return { username: 'oauth2', password: this.token };
  }

  async createWebhook(identifier: string, hook: { url: string; secret: string }): Promise<string> {
    const path = `${this.projectPath(identifier)}/hooks`;
    const { body } = await this.rest.call('POST', path, {
      url: hook.url,
      push_events: true,
      tag_push_events: true,
      merge_requests_events: true,
      // GitLab sends it back as X-Gitlab-Token with every delivery.
      token: hook.secret,
      enable_ssl_verification: true,
    });
    const id = field(body, 'id');
    if (typeof id !== 'number' && typeof id !== 'string') throw this.rest.unexpected('POST', path, 'a hook with an id');
    return String(id);
  }

  async deleteWebhook(identifier: string, providerHookId: string): Promise<void> {
    await this.rest.call('DELETE', `${this.projectPath(identifier)}/hooks/${encodeURIComponent(providerHookId)}`, undefined, [404]);
  }

  async setCommitStatus(identifier: string, sha: string, status: CommitStatus): Promise<void> {
    const path = `${this.projectPath(identifier)}/statuses/${encodeURIComponent(sha)}`;
    const answer = await this.rest.call(
      'POST',
      path,
      { state: GITLAB_STATE[status.state], name: status.context, target_url: status.targetUrl, description: cut(status.description, 140) },
      [400],
    );
    // GitLab refuses a status in the state it is already in ("Cannot transition status via :enqueue
    // from :pending"): a retry of a post that got through, or a second pending. It is there: done.
    if (answer.status === 400 && !/cannot transition status/i.test(str(answer.body, 'message') ?? '')) {
      throw this.rest.refused('POST', path, answer);
    }
  }

  /** The diffs of from...to (from their merge base, GitLab's default); a comparison too large for GitLab's limits lists only part of them. */
  async changedFiles(identifier: string, base: string, head: string): Promise<string[]> {
    const path = `${this.projectPath(identifier)}/repository/compare?from=${encodeURIComponent(base)}&to=${encodeURIComponent(head)}`;
    const { body } = await this.rest.call('GET', path);
    const diffs = field(body, 'diffs');
    if (!Array.isArray(diffs)) throw this.rest.unexpected('GET', path, 'a comparison with diffs');
    return diffPaths(diffs);
  }

  async pullRequestFiles(identifier: string, number: number): Promise<string[]> {
    const diffs = await this.rest.pages(`${this.projectPath(identifier)}/merge_requests/${number}/diffs`, 'page', 'per_page', 100);
    return diffPaths(diffs);
  }
}

/** Both sides of each diff: a rename or a deletion touches the old path. */
function diffPaths(diffs: unknown[]): string[] {
  return uniquePaths(diffs.flatMap((d) => [str(d, 'new_path'), str(d, 'old_path')]));
}
