// The providers' REST APIs, as much of them as otfd uses, on localhost: the one stand-in the VCS
// tests may use. One HTTP server speaks three dialects under three prefixes:
//
//   GitHub (and GitHub Enterprise)   ${url}/github            GET /repos/{o}/{r}, hooks, statuses, compare, pulls/{n}/files
//   GitLab v4                        ${url}/gitlab/api/v4     GET /projects/{path}, hooks, statuses, repository/compare, merge_requests/{iid}/diffs
//   Forgejo / Gitea                  ${url}/forgejo/api/v1    GET /repos/{o}/{r}, hooks, statuses, compare, pulls/{n}/files
//
// `apiUrl(kind)` gives the API URL an oauth client (or an adapter) is given. It answers with the
// shapes the providers' API docs give for the fields otfd reads, checks the Authorization header
// against tokens the test registers (and revokes: 401), serves repositories the test registers
// (with the path of a bare git repository, compare and pull request files come from a real
// `git diff --name-only`), records hooks and commit statuses in order, and can fail (5xx) or be
// slow on demand. A repository registered is served in all three dialects.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { HookKind } from '../../src/vcs/types.js';

const run = promisify(execFile);

export interface ProviderRepository {
  /** "owner/name" (GitLab: "group/sub/name"). */
  identifier: string;
  defaultBranch?: string;
  cloneUrl: string;
  sshCloneUrl?: string | null;
  webUrl?: string;
  /** A (bare) git repository: compare and pull request files are computed from it. */
  gitDir?: string;
}

export interface ProviderPullRequest {
  number: number;
  /** Base and head as git names them in gitDir (commit ids, branches or refs). */
  base: string;
  head: string;
  /** Files to answer instead of computing them with git. */
  files?: string[];
}

export interface RecordedHook {
  /** The provider's id of it, as a string (what createWebhook returns). */
  id: string;
  kind: HookKind;
  identifier: string;
  /** The hook's URL, secret (GitLab: its token) and events as the request gave them. */
  url: string;
  secret: string | null;
  events: string[];
  /** Forgejo's hook type ("forgejo" or "gitea"). */
  type: string | null;
  /** The whole request body. */
  body: Record<string, unknown>;
}

export interface RecordedStatus {
  kind: HookKind;
  identifier: string;
  sha: string;
  /** As the provider got it: GitLab's failure is "failed". */
  state: string;
  description: string | null;
  targetUrl: string | null;
  /** context (GitHub, Forgejo) or name (GitLab). */
  context: string | null;
  body: Record<string, unknown>;
}

export interface RecordedRequest {
  kind: HookKind | null;
  method: string;
  /** Path and query, as sent. */
  url: string;
  status: number;
  /** Whether its Authorization held a registered, unrevoked token. */
  authorized: boolean;
  body: unknown;
}

export interface ProviderApi {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The API URL of one dialect: `${url}/github`, `${url}/gitlab/api/v4` or `${url}/forgejo/api/v1`. */
  apiUrl(kind: HookKind): string;
  addToken(token: string): void;
  /** Calls with it are answered 401 from now on. */
  revokeToken(token: string): void;
  addRepository(repo: ProviderRepository): void;
  removeRepository(identifier: string): void;
  addPullRequest(identifier: string, pr: ProviderPullRequest): void;
  /** The hooks of a repository that exist now (created and not deleted), in order of creation. */
  hooks(identifier: string): RecordedHook[];
  /** The statuses a commit got, in order. */
  statuses(identifier: string, sha: string): RecordedStatus[];
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** The next `times` requests (whose path matches `match`, when given) are answered `status` (default 503). */
  fail(opts?: { status?: number; times?: number; match?: RegExp }): void;
  /** Every answer from now on waits this long first (0: none). */
  delay(ms: number): void;
  /** Forgejo refuses hook type "forgejo" with 422, as Gitea does. */
  actAsGitea(on: boolean): void;
  stop(): Promise<void>;
}

class Answer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const MAX_BODY = 1024 * 1024;

export async function startProviderApi(): Promise<ProviderApi> {
  const tokens = new Map<string, boolean>();
  const repos = new Map<string, ProviderRepository & { id: number }>();
  const pulls = new Map<string, ProviderPullRequest>();
  const hooks: RecordedHook[] = [];
  const statuses: RecordedStatus[] = [];
  const requests: RecordedRequest[] = [];
  const failures: Array<{ status: number; times: number; match: RegExp | null }> = [];
  const settings = { delayMs: 0, gitea: false, nextId: 1 };
  let nextRepoId = 1000;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        const url = req.url ?? '/';
        const kind = kindOf(url);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        let bodyError = false;
        if (text.length > 0) {
          try {
            body = JSON.parse(text);
          } catch {
            bodyError = true;
          }
        }
        const authorized = tokenOf(req) !== null && tokens.get(tokenOf(req) ?? '') === true;
        let answer: Answer;
        try {
          answer = await handle(req.method ?? 'GET', url, kind, body, bodyError || size > MAX_BODY, authorized);
        } catch (err) {
          answer = new Answer(500, { message: `stand-in failed: ${(err as Error).message}` });
        }
        requests.push({ kind, method: req.method ?? 'GET', url, status: answer.status, authorized, body });
        if (settings.delayMs > 0) await new Promise((r) => setTimeout(r, settings.delayMs));
        if (res.destroyed) return;
        const headers: Record<string, string> = { ...answer.headers };
        if (answer.status === 204 || answer.body === null) {
          res.writeHead(answer.status, headers).end();
        } else {
          res.writeHead(answer.status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.body));
        }
      })();
    });
  });

  function kindOf(url: string): HookKind | null {
    if (url.startsWith('/github/')) return 'github';
    if (url.startsWith('/gitlab/api/v4/')) return 'gitlab';
    if (url.startsWith('/forgejo/api/v1/')) return 'forgejo';
    return null;
  }

  /** GitHub: "Bearer" or "token"; GitLab: "Bearer" or PRIVATE-TOKEN; Forgejo: "token" or "Bearer". */
  function tokenOf(req: http.IncomingMessage): string | null {
    const auth = req.headers.authorization;
    if (typeof auth === 'string') {
      const m = /^(?:Bearer|token) (.+)$/i.exec(auth);
      if (m) return m[1];
    }
    const priv = req.headers['private-token'];
    return typeof priv === 'string' ? priv : null;
  }

  function notFound(kind: HookKind, what = 'Project'): Answer {
    if (kind === 'github') return new Answer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    if (kind === 'gitlab') return new Answer(404, { message: `404 ${what} Not Found` });
    return new Answer(404, { errors: [], message: 'The target couldn\'t be found.', url: `${base}/api/swagger` });
  }

  function unauthorized(kind: HookKind): Answer {
    if (kind === 'github') return new Answer(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    if (kind === 'gitlab') return new Answer(401, { message: '401 Unauthorized' });
    return new Answer(401, { message: 'token is required', url: `${base}/api/swagger` });
  }

  function invalid(kind: HookKind, message: string): Answer {
    if (kind === 'github') return new Answer(422, { message: 'Validation Failed', errors: [{ resource: 'Hook', code: 'custom', message }], status: '422' });
    if (kind === 'gitlab') return new Answer(400, { error: message });
    return new Answer(422, { message, url: `${base}/api/swagger` });
  }

  async function handle(method: string, url: string, kind: HookKind | null, body: unknown, badBody: boolean, authorized: boolean): Promise<Answer> {
    if (kind === null) return new Answer(404, { message: 'Not Found' });
    const [pathPart, query = ''] = url.split('?', 2);
    const failure = failures.find((f) => f.times > 0 && (f.match === null || f.match.test(pathPart)));
    if (failure) {
      failure.times--;
      return new Answer(failure.status, { message: 'Service Unavailable' });
    }
    if (!authorized) return unauthorized(kind);
    if (badBody) return new Answer(400, { message: 'Problems parsing JSON' });
    const params = new URLSearchParams(query);
    const prefix = kind === 'github' ? '/github' : kind === 'gitlab' ? '/gitlab/api/v4' : '/forgejo/api/v1';
    const raw = pathPart.slice(prefix.length).split('/').slice(1);
    let segs: string[];
    try {
      segs = raw.map((s) => decodeURIComponent(s));
    } catch {
      return notFound(kind);
    }
    if (kind === 'gitlab') return gitlab(method, segs, params, body);
    return githubOrForgejo(kind, method, segs, params, body);
  }

  // ---------------------------------------------------------------- GitHub and Forgejo

  async function githubOrForgejo(kind: 'github' | 'forgejo', method: string, segs: string[], params: URLSearchParams, body: unknown): Promise<Answer> {
    if (segs[0] !== 'repos' || segs.length < 3) return notFound(kind);
    const identifier = `${segs[1]}/${segs[2]}`;
    const repo = repos.get(identifier);
    if (!repo) return notFound(kind);
    const rest = segs.slice(3);
    const b = (body ?? {}) as Record<string, unknown>;

    if (rest.length === 0 && method === 'GET') return new Answer(200, repoDoc(kind, repo));

    if (rest[0] === 'hooks' && rest.length === 1 && method === 'POST') {
      const config = (b.config ?? {}) as Record<string, unknown>;
      if (typeof config.url !== 'string' || config.url === '') return invalid(kind, 'url is missing');
      if (config.content_type !== 'json') return invalid(kind, 'content_type must be json');
      const events = Array.isArray(b.events) ? b.events.map(String) : [];
      // GitHub keeps one hook per URL in a repository.
      if (kind === 'github' && hooks.some((h) => h.kind === 'github' && h.identifier === identifier && h.url === config.url)) {
        return new Answer(422, { message: 'Validation Failed', errors: [{ resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' }], status: '422' });
      }
      let type: string | null = null;
      if (kind === 'forgejo') {
        type = typeof b.type === 'string' ? b.type : '';
        const allowed = settings.gitea ? ['gitea'] : ['forgejo', 'gitea'];
        if (!allowed.includes(type)) return invalid(kind, `Invalid hook type: ${type}`);
      }
      const hook: RecordedHook = {
        id: String(settings.nextId++),
        kind,
        identifier,
        url: config.url,
        secret: typeof config.secret === 'string' ? config.secret : null,
        events,
        type,
        body: b,
      };
      hooks.push(hook);
      const now = new Date().toISOString();
      if (kind === 'github') {
        return new Answer(201, {
          type: 'Repository',
          id: Number(hook.id),
          name: 'web',
          active: b.active !== false,
          events,
          config: { content_type: 'json', insecure_ssl: String(config.insecure_ssl ?? '0'), url: config.url, secret: '********' },
          updated_at: now,
          created_at: now,
          url: `${base}/github/repos/${identifier}/hooks/${hook.id}`,
        });
      }
      return new Answer(201, {
        id: Number(hook.id),
        type,
        branch_filter: '*',
        config: { content_type: 'json', url: config.url },
        events,
        authorization_header: '',
        active: b.active !== false,
        updated_at: now,
        created_at: now,
      });
    }

    if (rest[0] === 'hooks' && rest.length === 1 && method === 'GET') {
      const own = hooks.filter((h) => h.kind === kind && h.identifier === identifier);
      const sizeParam = kind === 'github' ? 'per_page' : 'limit';
      const views = own.map((h) => ({ type: kind === 'github' ? 'Repository' : h.type, id: Number(h.id), name: 'web', active: true, events: h.events, config: { content_type: 'json', url: h.url } }));
      return paged(views, params, sizeParam, 30, kind === 'github' ? 100 : 50, `${base}${kind === 'github' ? '/github' : '/forgejo/api/v1'}/repos/${identifier}/hooks`);
    }

    if (rest[0] === 'hooks' && rest.length === 2 && method === 'PATCH') {
      const h = hooks.find((x) => x.kind === kind && x.identifier === identifier && x.id === rest[1]);
      if (!h) return notFound(kind);
      const config = (b.config ?? {}) as Record<string, unknown>;
      if (typeof config.url === 'string') h.url = config.url;
      if (typeof config.secret === 'string') h.secret = config.secret;
      if (Array.isArray(b.events)) h.events = b.events.map(String);
      h.body = b;
      return new Answer(200, { type: 'Repository', id: Number(h.id), name: 'web', active: true, events: h.events, config: { content_type: 'json', url: h.url } });
    }

    if (rest[0] === 'hooks' && rest.length === 2 && method === 'DELETE') {
      const i = hooks.findIndex((h) => h.kind === kind && h.identifier === identifier && h.id === rest[1]);
      if (i < 0) return notFound(kind);
      hooks.splice(i, 1);
      return new Answer(204, null);
    }

    if (rest[0] === 'statuses' && rest.length === 2 && method === 'POST') {
      const state = String(b.state ?? '');
      const states = kind === 'github' ? ['error', 'failure', 'pending', 'success'] : ['pending', 'success', 'error', 'failure', 'warning'];
      if (!states.includes(state)) return invalid(kind, `state is not one of ${states.join(', ')}`);
      const status = record(kind, identifier, rest[1], state, b, typeof b.context === 'string' ? b.context : 'default');
      if (kind === 'github') {
        return new Answer(201, {
          url: `${base}/github/repos/${identifier}/statuses/${status.sha}`,
          id: statuses.length,
          state,
          description: status.description,
          target_url: status.targetUrl,
          context: status.context,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        });
      }
      return new Answer(201, {
        id: statuses.length,
        status: state,
        target_url: status.targetUrl,
        description: status.description,
        context: status.context,
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      });
    }

    if (rest[0] === 'compare' && rest.length === 2 && method === 'GET') {
      const m = /^(.+?)\.\.\.(.+)$/.exec(rest[1]);
      if (!m || !repo.gitDir) return notFound(kind);
      const commits = await commitsBetween(repo.gitDir, m[1], m[2]);
      if (commits === null) return notFound(kind);
      if (kind === 'github') {
        const files = await diffNames(repo.gitDir, `${m[1]}...${m[2]}`);
        if (files === null) return notFound(kind);
        return new Answer(200, {
          url: `${base}/github/repos/${identifier}/compare/${rest[1]}`,
          html_url: `${repo.webUrl ?? ''}/compare/${rest[1]}`,
          status: 'ahead',
          ahead_by: commits.length,
          behind_by: 0,
          total_commits: commits.length,
          commits: commits.map((c) => ({ sha: c.sha, commit: { message: c.message } })),
          files: files.map((f) => ({ sha: '0'.repeat(40), filename: f, status: 'modified', additions: 1, deletions: 0, changes: 1 })),
        });
      }
      return new Answer(200, {
        total_commits: commits.length,
        commits: commits.map((c) => ({ sha: c.sha, commit: { message: c.message }, files: c.files.map((f) => ({ filename: f, status: 'modified' })) })),
      });
    }

    if (rest[0] === 'pulls' && rest.length === 3 && rest[2] === 'files' && method === 'GET') {
      const files = await pullFiles(repo, rest[1]);
      if (files === null) return notFound(kind);
      const entries = files.map((f) => (kind === 'github'
        ? { sha: '0'.repeat(40), filename: f, status: 'modified', additions: 1, deletions: 0, changes: 1 }
        : { filename: f, status: 'changed', additions: 1, deletions: 0, changes: 1, html_url: '', contents_url: '', raw_url: '' }));
      const sizeParam = kind === 'github' ? 'per_page' : 'limit';
      // Forgejo caps a page at its MAX_RESPONSE_ITEMS, 50 by default; GitHub at 100.
      const cap = kind === 'github' ? 100 : 50;
      return paged(entries, params, sizeParam, kind === 'github' ? 30 : 30, cap, `${base}${kind === 'github' ? '/github' : '/forgejo/api/v1'}/repos/${identifier}/pulls/${rest[1]}/files`);
    }

    return notFound(kind);
  }

  // ---------------------------------------------------------------- GitLab

  async function gitlab(method: string, segs: string[], params: URLSearchParams, body: unknown): Promise<Answer> {
    if (segs[0] !== 'projects' || segs.length < 2) return notFound('gitlab');
    const identifier = segs[1];
    const repo = repos.get(identifier);
    if (!repo) return notFound('gitlab');
    const rest = segs.slice(2);
    const b = (body ?? {}) as Record<string, unknown>;

    if (rest.length === 0 && method === 'GET') {
      const name = identifier.split('/').pop() ?? identifier;
      return new Answer(200, {
        id: repo.id,
        name,
        path: name,
        path_with_namespace: identifier,
        name_with_namespace: identifier.split('/').join(' / '),
        default_branch: repo.defaultBranch ?? 'main',
        web_url: repo.webUrl ?? `${base}/${identifier}`,
        http_url_to_repo: repo.cloneUrl,
        ssh_url_to_repo: repo.sshCloneUrl ?? null,
      });
    }

    if (rest[0] === 'hooks' && rest.length === 1 && method === 'POST') {
      if (typeof b.url !== 'string' || b.url === '') return new Answer(400, { error: 'url is missing' });
      const events = ['push_events', 'tag_push_events', 'merge_requests_events'].filter((e) => b[e] === true);
      const hook: RecordedHook = {
        id: String(settings.nextId++),
        kind: 'gitlab',
        identifier,
        url: b.url,
        secret: typeof b.token === 'string' ? b.token : null,
        events,
        type: null,
        body: b,
      };
      hooks.push(hook);
      return new Answer(201, {
        id: Number(hook.id),
        url: b.url,
        project_id: repo.id,
        push_events: b.push_events === true,
        tag_push_events: b.tag_push_events === true,
        merge_requests_events: b.merge_requests_events === true,
        enable_ssl_verification: b.enable_ssl_verification !== false,
        created_at: new Date().toISOString(),
      });
    }

    if (rest[0] === 'hooks' && rest.length === 2 && method === 'DELETE') {
      const i = hooks.findIndex((h) => h.kind === 'gitlab' && h.identifier === identifier && h.id === rest[1]);
      if (i < 0) return new Answer(404, { message: '404 Not found' });
      hooks.splice(i, 1);
      return new Answer(204, null);
    }

    if (rest[0] === 'statuses' && rest.length === 2 && method === 'POST') {
      const state = String(b.state ?? '');
      if (!['pending', 'running', 'success', 'failed', 'canceled', 'skipped'].includes(state)) {
        return new Answer(400, { error: 'state does not have a valid value' });
      }
      const name = typeof b.name === 'string' ? b.name : typeof b.context === 'string' ? b.context : 'default';
      // GitLab refuses to move a status to the state it is in already (its state machine has no such transition).
      const last = statuses.filter((s) => s.kind === 'gitlab' && s.identifier === identifier && s.sha === rest[1] && s.context === name).pop();
      if (last?.state === state) {
        const event = state === 'pending' ? 'enqueue' : state === 'running' ? 'run' : state === 'success' ? 'succeed' : state === 'failed' ? 'drop' : 'cancel';
        return new Answer(400, { message: `Cannot transition status via :${event} from :${state} (Reason(s): Status cannot transition via "${event}")` });
      }
      const status = record('gitlab', identifier, rest[1], state, b, name);
      return new Answer(201, {
        id: statuses.length,
        sha: status.sha,
        ref: null,
        status: state,
        name,
        target_url: status.targetUrl,
        description: status.description,
        created_at: new Date().toISOString(),
        allow_failure: false,
      });
    }

    if (rest[0] === 'repository' && rest[1] === 'compare' && rest.length === 2 && method === 'GET') {
      const from = params.get('from');
      const to = params.get('to');
      if (!from || !to) return new Answer(400, { error: 'from is missing, to is missing' });
      if (!repo.gitDir) return new Answer(404, { message: '404 Ref Not Found' });
      const commits = await commitsBetween(repo.gitDir, from, to);
      // GitLab compares straight from..to unless told straight=false; its default is the merge base (from...to).
      const files = await diffNames(repo.gitDir, `${from}...${to}`);
      if (commits === null || files === null) return new Answer(404, { message: '404 Ref Not Found' });
      return new Answer(200, {
        commit: commits.length > 0 ? { id: commits[commits.length - 1].sha } : null,
        commits: commits.map((c) => ({ id: c.sha, short_id: c.sha.slice(0, 8), title: c.message.split('\n')[0], message: c.message })),
        diffs: files.map((f) => diffDoc(f)),
        compare_timeout: false,
        compare_same_ref: from === to,
        web_url: `${repo.webUrl ?? ''}/-/compare/${from}...${to}`,
      });
    }

    if (rest[0] === 'merge_requests' && rest.length === 3 && rest[2] === 'diffs' && method === 'GET') {
      const files = await pullFiles(repo, rest[1]);
      if (files === null) return new Answer(404, { message: '404 Not found' });
      return paged(files.map((f) => diffDoc(f)), params, 'per_page', 20, 100, `${base}/gitlab/api/v4/projects/${encodeURIComponent(identifier)}/merge_requests/${rest[1]}/diffs`, true);
    }

    return notFound('gitlab');
  }

  function diffDoc(f: string) {
    return { old_path: f, new_path: f, a_mode: '100644', b_mode: '100644', new_file: false, renamed_file: false, deleted_file: false, diff: '' };
  }

  // ---------------------------------------------------------------- shared

  function repoDoc(kind: 'github' | 'forgejo', repo: ProviderRepository & { id: number }) {
    const [owner, name] = repo.identifier.split('/');
    return {
      id: repo.id,
      name,
      full_name: repo.identifier,
      owner: { login: owner, id: 1 },
      private: true,
      html_url: repo.webUrl ?? `${base}/${repo.identifier}`,
      clone_url: repo.cloneUrl,
      ssh_url: repo.sshCloneUrl ?? (kind === 'github' ? `git@localhost:${repo.identifier}.git` : null),
      default_branch: repo.defaultBranch ?? 'main',
    };
  }

  function record(kind: HookKind, identifier: string, sha: string, state: string, b: Record<string, unknown>, context: string): RecordedStatus {
    const status: RecordedStatus = {
      kind,
      identifier,
      sha,
      state,
      description: typeof b.description === 'string' ? b.description : null,
      targetUrl: typeof b.target_url === 'string' ? b.target_url : null,
      context,
      body: b,
    };
    statuses.push(status);
    return status;
  }

  /** One page of a list with the Link header GitHub, GitLab and Forgejo send (GitLab also X-Next-Page). */
  function paged(items: unknown[], params: URLSearchParams, sizeParam: string, defaultSize: number, cap: number, selfUrl: string, gitlabHeaders = false): Answer {
    const size = Math.min(cap, Math.max(1, Number(params.get(sizeParam) ?? defaultSize) || defaultSize));
    const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * size, page * size);
    const last = Math.max(1, Math.ceil(items.length / size));
    const headers: Record<string, string> = { 'X-Total-Count': String(items.length) };
    const links: string[] = [];
    if (page < last) links.push(`<${selfUrl}?${sizeParam}=${size}&page=${page + 1}>; rel="next"`);
    links.push(`<${selfUrl}?${sizeParam}=${size}&page=${last}>; rel="last"`);
    headers.Link = links.join(', ');
    if (gitlabHeaders) {
      headers['X-Page'] = String(page);
      headers['X-Per-Page'] = String(size);
      headers['X-Next-Page'] = page < last ? String(page + 1) : '';
      headers['X-Total'] = String(items.length);
    }
    return new Answer(200, slice, headers);
  }

  async function pullFiles(repo: ProviderRepository, numberText: string): Promise<string[] | null> {
    const pr = pulls.get(`${repo.identifier}#${numberText}`);
    if (!pr) return null;
    if (pr.files) return pr.files;
    if (!repo.gitDir) return null;
    return diffNames(repo.gitDir, `${pr.base}...${pr.head}`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiUrl(kind) {
      return kind === 'github' ? `${base}/github` : kind === 'gitlab' ? `${base}/gitlab/api/v4` : `${base}/forgejo/api/v1`;
    },
    addToken(token) {
      tokens.set(token, true);
    },
    revokeToken(token) {
      tokens.set(token, false);
    },
    addRepository(repo) {
      repos.set(repo.identifier, { ...repo, id: nextRepoId++ });
    },
    removeRepository(identifier) {
      repos.delete(identifier);
    },
    addPullRequest(identifier, pr) {
      pulls.set(`${identifier}#${pr.number}`, pr);
    },
    hooks(identifier) {
      return hooks.filter((h) => h.identifier === identifier);
    },
    statuses(identifier, sha) {
      return statuses.filter((s) => s.identifier === identifier && s.sha === sha);
    },
    requests,
    fail(opts = {}) {
      failures.push({ status: opts.status ?? 503, times: opts.times ?? 1, match: opts.match ?? null });
    },
    delay(ms) {
      settings.delayMs = ms;
    },
    actAsGitea(on) {
      settings.gitea = on;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `git diff --name-only <range>` in gitDir, or null when git does not know a side. */
async function diffNames(gitDir: string, range: string): Promise<string[] | null> {
  if (range.startsWith('-')) return null;
  try {
    const { stdout } = await run('git', ['--git-dir', gitDir, 'diff', '--name-only', '--no-renames', range, '--']);
    return stdout.split('\n').filter((l) => l.length > 0);
  } catch {
    return null;
  }
}

/** The commits of base..head, oldest first, each with the files it changed; null when git does not know a side. */
async function commitsBetween(gitDir: string, baseRef: string, head: string): Promise<Array<{ sha: string; message: string; files: string[] }> | null> {
  if (baseRef.startsWith('-') || head.startsWith('-')) return null;
  try {
    const { stdout } = await run('git', ['--git-dir', gitDir, 'rev-list', '--reverse', `${baseRef}..${head}`, '--']);
    const shas = stdout.split('\n').filter((l) => l.length > 0);
    const out: Array<{ sha: string; message: string; files: string[] }> = [];
    for (const sha of shas) {
      const msg = await run('git', ['--git-dir', gitDir, 'log', '-1', '--format=%B', sha]);
      const files = await run('git', ['--git-dir', gitDir, 'diff-tree', '--no-commit-id', '--name-only', '--no-renames', '-r', '--root', sha]);
      out.push({ sha, message: msg.stdout.trim(), files: files.stdout.split('\n').filter((l) => l.length > 0) });
    }
    return out;
  } catch {
    return null;
  }
}
