// Forgejo (and Gitea, whose API it keeps) through its REST API, as the API's swagger defines it:
// repositories, repository hooks, commit statuses, compare and a pull request's files. The API
// URL is https://<host>/api/v1.
import type { CommitStatus, RepositoryInfo, ServiceProvider, VcsAdapter } from '../types.js';
import { VcsApiError } from '../types.js';
import { RestClient, cut, field, ownerAndName, str, uniquePaths, type AdapterOptions } from './rest.js';

const LABEL = 'Forgejo';

/** Forgejo refuses more than its MAX_RESPONSE_ITEMS (50 by default) per page. */
const PAGE_SIZE = 50;

export class ForgejoAdapter implements VcsAdapter {
  private readonly rest: RestClient;

  constructor(
    readonly provider: ServiceProvider,
    apiUrl: string,
    private readonly token: string,
    options: AdapterOptions = {},
  ) {
    this.rest = new RestClient(LABEL, apiUrl, { Authorization: `token ${token}`, 'User-Agent': 'otf-ts' }, token, options);
  }

  private repoPath(identifier: string): string {
    const { owner, name } = ownerAndName(LABEL, identifier);
    return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
  }

  async repository(identifier: string): Promise<RepositoryInfo> {
    const path = this.repoPath(identifier);
    const { body } = await this.rest.call('GET', path);
    const fullName = str(body, 'full_name');
    const defaultBranch = str(body, 'default_branch');
    const cloneUrl = str(body, 'clone_url');
    if (!fullName || !defaultBranch || !cloneUrl) throw this.rest.unexpected('GET', path, 'a repository');
    return { identifier: fullName, defaultBranch, webUrl: str(body, 'html_url') ?? '', cloneUrl, sshCloneUrl: str(body, 'ssh_url') };
  }

  cloneCredentials(): { username: string; password: string } {
    // Forgejo takes an access token as the password of HTTPS basic authentication, whatever the user name.
    return { username: 'oauth2', password: this.token };
  }

  async createWebhook(identifier: string, hook: { url: string; secret: string }): Promise<string> {
    const path = `${this.repoPath(identifier)}/hooks`;
    const options = (type: string) => ({
      type,
      active: true,
      // A pushed tag comes as a push event whose ref is refs/tags/<name> (Forgejo sends "create" as
      // well, which otfd does not act on, so it is not subscribed to).
      events: ['push', 'pull_request'],
      config: { url: hook.url, content_type: 'json', secret: hook.secret },
    });
    let answer;
    try {
      answer = await this.rest.call('POST', path, options('forgejo'));
    } catch (err) {
      // Gitea does not know the "forgejo" type and refuses it (422); its own type signs the same way.
      if (!(err instanceof VcsApiError) || err.status !== 422) throw err;
      answer = await this.rest.call('POST', path, options('gitea'));
    }
    const id = field(answer.body, 'id');
    if (typeof id !== 'number' && typeof id !== 'string') throw this.rest.unexpected('POST', path, 'a hook with an id');
    return String(id);
  }

  async deleteWebhook(identifier: string, providerHookId: string): Promise<void> {
    await this.rest.call('DELETE', `${this.repoPath(identifier)}/hooks/${encodeURIComponent(providerHookId)}`, undefined, [404]);
  }

  async setCommitStatus(identifier: string, sha: string, status: CommitStatus): Promise<void> {
    await this.rest.call('POST', `${this.repoPath(identifier)}/statuses/${encodeURIComponent(sha)}`, {
      state: status.state,
      target_url: status.targetUrl,
      description: cut(status.description, 140),
      context: status.context,
    });
  }

  async changedFiles(identifier: string, base: string, head: string): Promise<string[]> {
    const path = `${this.repoPath(identifier)}/compare/${encodeURIComponent(base)}...${encodeURIComponent(head)}`;
    const { body } = await this.rest.call('GET', path);
    // Gitea lists the files of each commit; newer Forgejo also lists the comparison's files at the top.
    const top = field(body, 'files');
    const commits = field(body, 'commits');
    if (!Array.isArray(commits) && !Array.isArray(top)) throw this.rest.unexpected('GET', path, 'a comparison with commits');
    const files: unknown[] = Array.isArray(top) ? [...top] : [];
    for (const c of Array.isArray(commits) ? commits : []) {
      const own = field(c, 'files');
      if (Array.isArray(own)) files.push(...own);
    }
    return uniquePaths(files.map((f) => str(f, 'filename')));
  }

  async pullRequestFiles(identifier: string, number: number): Promise<string[]> {
    const files = await this.rest.pages(`${this.repoPath(identifier)}/pulls/${number}/files`, 'page', 'limit', PAGE_SIZE);
    return uniquePaths(files.flatMap((f) => [str(f, 'filename'), str(f, 'previous_filename')]));
  }
}
