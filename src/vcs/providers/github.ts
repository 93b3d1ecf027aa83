// GitHub (github.com and GitHub Enterprise Server) through its REST API, as docs.github.com
// defines it: repositories, repository webhooks, commit statuses, comparing commits and a pull
// request's files. The API URL is https://api.github.com, or https://<host>/api/v3 for Enterprise.
import type { ServiceProvider, VcsAdapter } from '../types.js';
import { GitHubShapedAdapter, filePaths } from './github-shaped.js';
import { RestClient, field, str, type AdapterOptions } from './rest.js';

const LABEL = 'GitHub';

export class GitHubAdapter extends GitHubShapedAdapter implements VcsAdapter {
  constructor(
    readonly provider: ServiceProvider,
    apiUrl: string,
    private readonly token: string,
    options: AdapterOptions = {},
  ) {
    super(
      LABEL,
      new RestClient(
        LABEL,
        apiUrl,
        {
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${token}`,
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'otf-ts',
        },
        token,
        options,
      ),
    );
  }

  cloneCredentials(): { username: string; password: string } {
    // GitHub documents x-access-token as the user name for cloning with an access token.
    return { username: 'x-access-token', password: this.token };
  }

  async createWebhook(identifier: string, hook: { url: string; secret: string }): Promise<string> {
    const path = `${this.repoPath(identifier)}/hooks`;
    const options = {
      name: 'web',
      active: true,
      // Tags arrive as push events (ref refs/tags/…); pull_request covers opened, synchronize, reopened.
      events: ['push', 'pull_request'],
      config: { url: hook.url, content_type: 'json', secret: hook.secret, insecure_ssl: '0' },
    };
    const answer = await this.rest.call('POST', path, options, [422]);
    if (answer.status === 422) {
      // GitHub allows one hook per URL ("Hook already exists on this repository"): a create that got
      // through but whose answer was lost. That hook is ours: it is given this secret and kept.
      if (!/already exists/i.test(JSON.stringify(answer.body))) throw this.rest.refused('POST', path, answer);
      const hooks = await this.rest.pages(path, 'page', 'per_page', 100, 10);
      const existing = hooks.find((h) => str(field(h, 'config'), 'url') === hook.url);
      const id = field(existing, 'id');
      if (typeof id !== 'number' && typeof id !== 'string') throw this.rest.refused('POST', path, answer);
      await this.rest.call('PATCH', `${path}/${encodeURIComponent(String(id))}`, options);
      return String(id);
    }
    const id = field(answer.body, 'id');
    if (typeof id !== 'number' && typeof id !== 'string') throw this.rest.unexpected('POST', path, 'a webhook with an id');
    return String(id);
  }

  /**
   * GitHub lists at most 300 files of a comparison (its documented limit): a push changing more
   * gets the first 300, and a trigger matching only the others would not fire.
   */
  async changedFiles(identifier: string, base: string, head: string): Promise<string[]> {
    const path = `${this.repoPath(identifier)}/compare/${encodeURIComponent(base)}...${encodeURIComponent(head)}`;
    const { body } = await this.rest.call('GET', path);
    const files = field(body, 'files');
    if (!Array.isArray(files)) throw this.rest.unexpected('GET', path, 'a comparison with files');
    return filePaths(files);
  }

  async pullRequestFiles(identifier: string, number: number): Promise<string[]> {
    const files = await this.rest.pages(`${this.repoPath(identifier)}/pulls/${number}/files`, 'page', 'per_page', 100, 30);
    return filePaths(files);
  }
}
