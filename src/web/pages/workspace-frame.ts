// What the workspace settings and variables pages share: their URLs, the workspace's navigation,
// the short confirmation a form's redirect carries, and how a refused form is shown again.
import type { Subject } from '../../auth/subject.js';
import { ConflictError, InvalidError } from '../../errors.js';
import type { Workspace } from '../../workspaces/index.js';
import type { WebDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { subjectOf, type WebCtx } from '../http.js';
import { enc } from '../paths.js';

/** The workspace's own navigation, crumbs and links (Overview, Runs, States, Variables, Settings): the workspaces pages' own. */
export { workspaceNav, workspaceCrumbs, workspacePaths } from './workspaces.js';

/** What a refused form shows again: the message, its status, and what was posted. */
export interface Refusal {
  error: string;
  status: number;
  form: URLSearchParams | undefined;
}

/**
 * A form field's value as the form shows it: what was posted when the form comes back refused
 * (the visitor's input is not lost), else the current value.
 */
export function formValue(form: URLSearchParams | undefined): (name: string, current: string) => string {
  return (name, current) => (form ? (form.get(name) ?? '') : current);
}

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
