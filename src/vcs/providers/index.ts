// One adapter per provider behind VcsAdapter (src/vcs/types.ts): GitHub and GitHub Enterprise
// share GitHub's API, the three GitLab editions GitLab's, and Forgejo serves Gitea too.
import { hookKindOf, type ServiceProvider, type VcsAdapter } from '../types.js';
import { ForgejoAdapter } from './forgejo.js';
import { GitHubAdapter } from './github.js';
import { GitLabAdapter } from './gitlab.js';
import type { AdapterOptions } from './rest.js';

export type { AdapterOptions } from './rest.js';

export function createAdapter(provider: ServiceProvider, apiUrl: string, token: string, options: AdapterOptions = {}): VcsAdapter {
  switch (hookKindOf(provider)) {
    case 'github':
      return new GitHubAdapter(provider, apiUrl, token, options);
    case 'gitlab':
      return new GitLabAdapter(provider, apiUrl, token, options);
    case 'forgejo':
      return new ForgejoAdapter(provider, apiUrl, token, options);
  }
}
