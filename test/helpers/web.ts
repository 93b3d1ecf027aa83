// A cookie-keeping HTTP client for the web UI, for what a browser would not send (forged posts,
// tampered cookies): it signs in with a token like the form does, and posts forms with or
// without their CSRF token.
import http from 'node:http';
import https from 'node:https';

export interface WebResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export class WebClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly ca?: Buffer,
  ) {}

  request(method: string, path: string, opts: { form?: Record<string, string>; headers?: Record<string, string>; raw?: string } = {}): Promise<WebResponse> {
    const url = new URL(path, this.baseUrl);
    const headers: Record<string, string> = { Accept: 'text/html', ...opts.headers };
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let payload: Buffer | undefined;
    if (opts.form) payload = Buffer.from(new URLSearchParams(opts.form).toString());
    else if (opts.raw !== undefined) payload = Buffer.from(opts.raw);
    if (payload) {
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(payload.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, ca: this.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          for (const c of res.headers['set-cookie'] ?? []) {
            const [pair, ...attrs] = c.split(';');
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
            if (!value || expired) this.cookies.delete(name);
            else this.cookies.set(name, value);
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request('GET', path, { headers });
  }

  /** Posts a form as a same-origin browser would, with the CSRF token of `from`'s page unless `csrf` is given. */
  async post(path: string, form: Record<string, string>, opts: { from?: string; csrf?: string | null; headers?: Record<string, string> } = {}): Promise<WebResponse> {
    let csrf = opts.csrf;
    if (csrf === undefined) csrf = await this.csrfOf(opts.from ?? '/app/organizations');
    return this.request('POST', path, { form: csrf === null ? form : { _csrf: csrf, ...form }, headers: { Origin: new URL(this.baseUrl).origin, 'Sec-Fetch-Site': 'same-origin', ...opts.headers } });
  }

  /** The CSRF token on a page (from the first form's hidden field). */
  async csrfOf(path: string): Promise<string> {
    const page = await this.get(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
    if (!m) throw new Error(`no CSRF token on ${path} (${page.status})`);
    return m[1];
  }

  /** Signs in with an API token through the sign-in form. */
  async signIn(token: string): Promise<WebResponse> {
    const res = await this.post('/login/token', { token }, { from: '/login' });
    if (res.status !== 303) throw new Error(`signing in: ${res.status} ${res.text.slice(0, 300)}`);
    return res;
  }
}
