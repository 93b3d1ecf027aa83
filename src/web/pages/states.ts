// A workspace's state versions: the history, a download of each version's state file, and
// rollback to an earlier version. The state service decides who may read and roll back, as for
// the API's GET /state-versions/:id/download and PATCH /workspaces/:id/state-versions.
import { isAllowed } from '../../auth/authorize.js';
import { NotFoundError } from '../../errors.js';
import type { StateVersion } from '../../state/index.js';
import { workspaceScope, type Workspace } from '../../workspaces/index.js';
import { actionButton, pager, timeTag } from '../components.js';
import { pageNumber } from '../forms.js';
import { enc, paths } from '../paths.js';
import type { WebDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { lockButtons, lockedByVisitor, lockHolder, workspaceCrumbs, workspaceNav, workspacePaths } from './workspaces.js';

/** State versions on one page of the history. */
const VERSIONS_PER_PAGE = 20;

function downloadPath(org: string, ws: string, versionId: string): string {
  return `${workspacePaths.states(org, ws)}/${enc(versionId)}/download`;
}

export function registerStatePages(router: WebRouter, deps: WebDeps): void {
  const workspaces = deps.workspaces.service;
  const state = deps.state.service;

  router.get('/app/:org/workspaces/:ws/states', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await workspaces.getByName(subject, ctx.params.org, ctx.params.ws);
    const number = pageNumber(ctx);
    const { items, total } = await state.list(subject, ws.id, { limit: VERSIONS_PER_PAGE, offset: (number - 1) * VERSIONS_PER_PAGE });
    const org = ws.organizationName;
    const totalPages = Math.max(1, Math.ceil(total / VERSIONS_PER_PAGE));
    page(ctx, {
      title: `State versions · ${ws.name}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name, { label: 'States' }),
      body: html`<h1>State versions of ${ws.name}</h1>
${workspaceNav(org, ws.name, 'states')}
${rollbackNote(ctx, ws)}
${
  items.length === 0
    ? html`<p>${total > 0 ? html`There is nothing on page ${number}: <a href="${workspacePaths.states(org, ws.name)}">back to the first page</a>.` : 'This workspace has no state yet.'}</p>`
    : html`<table>
<thead><tr><th scope="col">Serial</th><th scope="col">Created</th><th scope="col">By</th><th scope="col">Resources</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
<tbody>${items.map((v) => versionRow(ctx, ws, v))}</tbody>
</table>`
}
${pager(workspacePaths.states(org, ws.name), {}, number, totalPages)}`,
    });
  });

  router.get('/app/:org/workspaces/:ws/states/:sv/download', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await workspaces.getByName(subject, ctx.params.org, ctx.params.ws);
    const { version } = await state.get(subject, ctx.params.sv);
    // A version of another workspace is not found here, whatever the visitor may read elsewhere.
    if (version.workspaceId !== ws.id) throw new NotFoundError(`state version ${ctx.params.sv} does not exist in workspace ${ws.name}`);
    const { stream, size } = await state.download(subject, version.id);
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.length = size;
    ctx.set('Content-Disposition', `attachment; filename="${ws.name}-${version.serial}.tfstate"`);
    ctx.body = stream;
  });

  router.post('/app/:org/workspaces/:ws/states/rollback', async (ctx) => {
    const subject = subjectOf(ctx);
    const ws = await workspaces.getByName(subject, ctx.params.org, ctx.params.ws);
    const versionId = field(ctx, 'version');
    if (!versionId) throw new NotFoundError('name the state version to roll back to');
    await state.rollbackWorkspace(subject, ws.id, versionId);
    redirect(ctx, workspacePaths.states(ws.organizationName, ws.name));
  });
}

/**
 * As in Terraform Cloud, rolling back is done with the workspace locked by you, so that no run
 * writes a state meanwhile: the page offers rollback only then, and says so otherwise.
 */
function rollbackNote(ctx: WebCtx, ws: Workspace): Html {
  const subject = subjectOf(ctx);
  if (!isAllowed(subject, 'state:rollback', workspaceScope(ws))) return html``;
  const org = ws.organizationName;
  if (lockedByVisitor(subject, ws)) {
    return html`<p>You hold the lock on this workspace: you can roll its state back to an earlier version. ${lockButtons(ctx, org, ws, 'states')}</p>`;
  }
  if (ws.lock) return html`<p>To roll back the state, the workspace must be locked by you; it is locked ${lockHolder(org, ws)}.</p>`;
  return html`<p>To roll back the state, lock the workspace first. ${lockButtons(ctx, org, ws, 'states')}</p>`;
}

function versionRow(ctx: WebCtx, ws: Workspace, v: StateVersion): Html {
  const subject = subjectOf(ctx);
  const org = ws.organizationName;
  const current = v.id === ws.currentStateVersionId;
  const mayRollback = !current && v.status === 'finalized' && lockedByVisitor(subject, ws) && isAllowed(subject, 'state:rollback', workspaceScope(ws));
  return html`<tr id="sv-${v.id}">
<td>${v.serial}${current ? html` <strong>(current)</strong>` : ''}</td>
<td>${timeTag(v.createdAt)}</td>
<td>${v.runId ? html`run <a href="${paths.run(org, ws.name, v.runId)}">${v.runId}</a>` : html`${v.createdBy.name}`}</td>
<td>${v.managedInstances}</td>
<td>${v.status}</td>
<td>${v.status === 'finalized' ? html`<a href="${downloadPath(org, ws.name, v.id)}" download aria-label="Download serial ${v.serial}">Download</a>` : ''}
${mayRollback ? actionButton(ctx.state.csrf, `${workspacePaths.states(org, ws.name)}/rollback`, `Roll back to serial ${v.serial}`, { fields: { version: v.id }, confirm: `Make serial ${v.serial} the current state again?` }) : ''}</td>
</tr>`;
}
