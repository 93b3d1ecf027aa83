// What GitHub's API and Forgejo's (which copies GitHub's repository endpoints field for field)
// answer alike: a repository, deleting a repository hook, posting a commit status, and the file
// entries of a comparison or a pull request. Each adapter adds what differs: its headers, how a
// hook is created, and how a comparison lists its files.
import type { CommitStatus, RepositoryInfo } from '../types.js';
import { RestClient, cut, ownerAndName, str, uniquePaths } from './rest.js';

export abstract class GitHubShapedAdapter {
  constructor(
    /** The provider's name for messages, e.g. "GitHub". */
    private readonly label: string,
    protected readonly rest: RestClient,
  ) {}

  protected repoPath(identifier: string): string {
    const { owner, name } = ownerAndName(this.label, identifier);
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

  async deleteWebhook(identifier: string, providerHookId: string): Promise<void> {
    // 404: already gone (deleted by hand, or the repository with it), which is what we wanted.
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
}

/** A renamed file touches its old path too (a trigger on the old folder should fire). */
export function filePaths(files: unknown[]): string[] {
  return uniquePaths(files.flatMap((f) => [str(f, 'filename'), str(f, 'previous_filename')]));
}
