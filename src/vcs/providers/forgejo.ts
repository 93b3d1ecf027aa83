// Forgejo (and Gitea, whose API it keeps) through its REST API, as the API's swagger defines it:
// repositories, repository hooks, commit statuses, compare and a pull request's files. The API
// URL is https://<host>/api/v1.
import type { ServiceProvider, VcsAdapter } from '../types.js';
import { VcsApiError } from '../types.js';
import { GitHubShapedAdapter, filePaths } from './github-shaped.js';
import { RestClient, field, str, uniquePaths, type AdapterOptions } from './rest.js';

const LABEL = 'Forgejo';

/** Forgejo refuses more than its MAX_RESPONSE_ITEMS (50 by default) per page. */
const PAGE_SIZE = 50;

export class ForgejoAdapter extends GitHubShapedAdapter implements VcsAdapter {
  constructor(
    readonly provider: ServiceProvider,
    apiUrl: string,
    private readonly token: string,
    options: AdapterOptions = {},
  ) {
    super(LABEL, new RestClient(LABEL, apiUrl, { Authorization: `token ${token}`, 'User-Agent': 'otf-ts' }, token, options));
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
    return filePaths(files);
  }
}
