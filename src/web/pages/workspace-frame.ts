// What the workspace settings and variables pages share: their URLs, the workspace's navigation,
// the short confirmation a form's redirect carries, and how a refused form is shown again.
import type { Subject } from '../../auth/subject.js';
import { ConflictError, InvalidError } from '../../errors.js';
import type { Workspace } from '../../workspaces/index.js';
import type { WebDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { subjectOf, type WebCtx } from '../http.js';

const enc = encodeURIComponent;

export const wsPaths = {
  workspace: (org: string, ws: string) => `/app/${enc(org)}/workspaces/${enc(ws)}`,
  settings: (org: string, ws: string, section = '') => `/app/${enc(org)}/workspaces/${enc(ws)}/settings${section ? `/${section}` : ''}`,
  variables: (org: string, ws: string) => `/app/${enc(org)}/workspaces/${enc(ws)}/variables`,
};

/** The workspace's own navigation (Overview, Runs, States, Variables, Settings): the workspaces pages' own. */
export { workspaceNav, workspaceCrumbs } from './workspaces.js';

/**
 * What a form's redirect says it did, by a fixed key in ?done= (never text from the query itself,
 * so a crafted link cannot put words on the page).
 */
const CONFIRMATIONS: Record<string, string> = {
  saved: 'Settings saved.',
  execution: 'Execution mode saved.',
  connected: 'Repository connection saved.',
  disconnected: 'The workspace is no longer connected to a repository.',
  'trigger-added': 'Run trigger added.',
  'trigger-removed': 'Run trigger removed.',
  'access-added': 'Team access added.',
  'access-changed': 'Team access changed.',
  'access-removed': 'Team access removed.',
  'ssh-key': 'SSH key setting saved.',
  'variable-added': 'Variable added.',
  'variable-saved': 'Variable saved.',
  'variable-deleted': 'Variable deleted.',
};

export function confirmation(ctx: WebCtx): Html {
  const done = typeof ctx.query.done === 'string' ? CONFIRMATIONS[ctx.query.done] : undefined;
  return done ? html`<p role="status" class="confirmation">${done}</p>` : html``;
}

export function withDone(path: string, done: keyof typeof CONFIRMATIONS): string {
  return `${path}?done=${enc(done)}`;
}

export function errorNote(error: string | null | undefined): Html {
  return error ? html`<p role="alert" class="error">${error}</p>` : html``;
}

/**
 * Runs a form's change; a change the service refuses for what was asked (422, 409) shows the form
 * again with the message and that status. Anything else (403, 404) is an error page.
 */
export async function attempt(action: () => Promise<void>, again: (error: string, status: number) => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof InvalidError || err instanceof ConflictError) return again(err.message, err.status);
    throw err;
  }
}

/** The workspace the URL names, if the visitor may see it (else the service's 404). */
export async function workspaceOf(ctx: WebCtx, deps: WebDeps): Promise<{ subject: Subject; ws: Workspace }> {
  const subject = subjectOf(ctx);
  const ws = await deps.workspaces.service.getByName(subject, ctx.params.org, ctx.params.ws);
  return { subject, ws };
}

/** A checkbox's posted state: browsers send checked boxes only. */
export function checked(form: URLSearchParams | undefined, name: string): boolean {
  return form?.has(name) ?? false;
}

/** A form field the page checks before the service sees it: too long or with control characters is a 422. */
export function textField(ctx: WebCtx, name: string, label: string, max: number, opts: { multiline?: boolean } = {}): string {
  const value = ctx.state.form?.get(name) ?? '';
  if (value.length > max) throw new InvalidError(`${label} may be at most ${max} characters long`);
  // eslint-disable-next-line no-control-regex
  const control = opts.multiline ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  if (control.test(value)) throw new InvalidError(`${label} may not contain control characters`);
  return value;
}
