// A workspace's variables (terraform and environment), with add, edit and delete for whoever may
// change them, and the variable sets it inherits (global, its project's, its own), each variable
// marked with whether a run gets it or which other source wins: src/varsets/precedence.ts decides.
// A sensitive value never reaches a page: the services give none, and the edit form leaves it empty.
import { isAllowed } from '../../auth/authorize.js';
import type { Subject } from '../../auth/subject.js';
import { InvalidError, notFound } from '../../errors.js';
import type { Variable } from '../../variables/index.js';
import { mergeVariables, type VariableSet } from '../../varsets/index.js';
import type { Workspace } from '../../workspaces/index.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html } from '../html.js';
import { csrfField, field, redirect, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { actionButton } from '../components.js';
import { checkbox, textField } from '../forms.js';
import { enc } from '../paths.js';
import { attempt, confirmation, errorNote, formValue, withDone, workspaceCrumbs, workspaceNav, workspaceOf, workspacePaths, type Refusal } from './workspace-frame.js';

type Category = 'terraform' | 'env';
type SetScope = 'workspace' | 'project' | 'global';

/** A variable as the merge sees it; the same object comes back when it wins. */
interface Candidate {
  key: string;
  value: string;
  category: Category;
  hcl: boolean;
  sensitive: boolean;
  /** Where it comes from, in words, for "overwritten by ...". */
  source: string;
}

interface InheritedSet {
  set: VariableSet;
  scope: SetScope;
  variables: Array<{ id: string; key: string; value: string | null; category: Category; hcl: boolean; sensitive: boolean; description: string; candidate: Candidate }>;
}

const SCOPE_WORDS: Record<SetScope, string> = { workspace: 'applied to this workspace', project: "applied to the workspace's project", global: 'global: applied to every workspace' };

export function registerVariablePages(router: WebRouter, deps: WebDeps): void {
  const base = '/app/:org/workspaces/:ws/variables';

  /** The variable sets the workspace's runs get, with which of their variables win (null: the visitor may not read variables). */
  async function inherited(subject: Subject, ws: Workspace, own: Variable[]): Promise<{ sets: InheritedSet[]; ownCandidates: Map<string, Candidate>; winners: Set<Candidate> }> {
    const { org, items, variables } = await deps.varsets.service.forWorkspace(subject, ws.id);
    const linked = await deps.varsets.service.withLinks(subject, org, items);
    // The merge wants values; which one wins depends only on keys, categories and the sets, so
    // no value (and no sensitive one) is read for it.
    const sets: InheritedSet[] = linked.map(({ set, workspaceIds, projectIds }) => {
      const scope: SetScope = workspaceIds.includes(ws.id) ? 'workspace' : projectIds.includes(ws.projectId) ? 'project' : 'global';
      return {
        set,
        scope,
        variables: variables
          .filter((v) => v.variableSetId === set.id)
          .map((v) => ({ ...v, candidate: { key: v.key, value: '', category: v.category, hcl: v.hcl, sensitive: v.sensitive, source: `variable set ${set.name}` } })),
      };
    });
    const ownCandidates = new Map(own.map((v) => [v.id, { key: v.key, value: '', category: v.category, hcl: v.hcl, sensitive: v.sensitive, source: 'this workspace' } as Candidate]));
    const merged = mergeVariables({
      workspace: [...ownCandidates.values()],
      sets: sets.map((s) => ({ name: s.set.name, priority: s.set.priority, scope: s.scope, variables: s.variables.map((v) => v.candidate) })),
      run: [],
    });
    return { sets, ownCandidates, winners: new Set(merged.variables as Candidate[]) };
  }

  /** "Applies", or which source's variable of the same key and category a run gets instead. */
  function standing(candidate: Candidate, winners: Set<Candidate>): Html {
    if (winners.has(candidate)) return html`<span class="applies">applies</span>`;
    const winner = [...winners].find((w) => w.key === candidate.key && w.category === candidate.category);
    return html`<span class="overwritten">overwritten by ${winner?.source ?? 'another source'}</span>`;
  }

  function valueCell(v: { sensitive: boolean; value: string | null; hcl: boolean }): Html {
    if (v.sensitive) return html`<em>sensitive</em>`;
    return html`<code>${v.value ?? ''}</code>`;
  }

  function variableForm(ctx: WebCtx, ws: Workspace, v: Variable | null, f: URLSearchParams | undefined): Html {
    const org = ws.organizationName;
    const value = formValue(f);
    const category = value('category', v?.category ?? 'terraform');
    // A sensitive value is never put back into a page, not even the one just posted.
    const hideValue = v?.sensitive === true || (f?.has('sensitive') ?? false);
    const action = v ? `${workspacePaths.variables(org, ws.name)}/${enc(v.id)}` : workspacePaths.variables(org, ws.name);
    return html`<form method="post" action="${action}">
${csrfField(ctx)}
<fieldset>
<legend>Category</legend>
<label for="category-terraform"><input type="radio" id="category-terraform" name="category" value="terraform" ${attr('checked', category === 'terraform')}> Terraform variable</label>
<label for="category-env"><input type="radio" id="category-env" name="category" value="env" ${attr('checked', category === 'env')}> Environment variable</label>
</fieldset>
<label for="key">Key</label>
<input id="key" name="key" required maxlength="128" autocomplete="off" value="${value('key', v?.key ?? '')}">
<label for="value">Value</label>
<textarea id="value" name="value" rows="3" autocomplete="off"${v?.sensitive ? html` aria-describedby="value-help"` : ''}>${hideValue ? '' : value('value', v?.value ?? '')}</textarea>
${v?.sensitive ? html`<small id="value-help">The value is sensitive and never shown: leave this empty to keep it, or type a new one.</small>` : ''}
<label for="hcl"><input type="checkbox" id="hcl" name="hcl" ${attr('checked', f ? f.has('hcl') : (v?.hcl ?? false))}> HCL: parse the value as HCL (terraform variables only)</label>
${
  v?.sensitive
    ? html`<p>Sensitive: this cannot be undone; delete the variable and add it again to change that.</p>`
    : html`<label for="sensitive"><input type="checkbox" id="sensitive" name="sensitive" ${attr('checked', f?.has('sensitive') ?? false)}> Sensitive: write-only, never shown again</label>`
}
<label for="description">Description</label>
<input id="description" name="description" maxlength="512" value="${value('description', v?.description ?? '')}">
<button type="submit">${v ? 'Save variable' : 'Add variable'}</button>
</form>`;
  }

  async function variablesPage(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const readable = isAllowed(subject, 'variable:read', { organizationId: ws.organizationId, workspaceId: ws.id });
    const editable = isAllowed(subject, 'variable:update', { organizationId: ws.organizationId, workspaceId: ws.id });
    let body: Html;
    if (!readable) {
      body = html`<p>You may not read this workspace's variables.</p>`;
    } else {
      const own = await deps.variables.service.list(subject, ws.id);
      const { sets, ownCandidates, winners } = await inherited(subject, ws, own);
      const table = (category: Category, title: string) => {
        const list = own.filter((v) => v.category === category);
        return html`<h2>${title}</h2>
${
  list.length === 0
    ? html`<p>None.</p>`
    : html`<table>
<thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col">HCL</th><th scope="col">Description</th><th scope="col">In runs</th>${editable ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${list.map(
        (v) => html`<tr><td><code>${v.key}</code></td><td>${valueCell(v)}</td><td>${v.hcl ? 'yes' : 'no'}</td><td>${v.description}</td><td>${standing(ownCandidates.get(v.id)!, winners)}</td>${
          editable
            ? html`<td><a href="${workspacePaths.variables(org, ws.name)}/${enc(v.id)}/edit">Edit ${v.key}</a> ${actionButton(
                ctx.state.csrf,
                `${workspacePaths.variables(org, ws.name)}/${enc(v.id)}/delete`,
                `Delete ${v.key}`,
                { secondary: true, confirm: `Delete variable ${v.key}?` },
              )}</td>`
            : ''
        }</tr>`,
      )}</tbody>
</table>`
}`;
      };
      body = html`${table('terraform', 'Terraform variables')}
${table('env', 'Environment variables')}
${
  editable
    ? html`<h2 id="add">Add a variable</h2>${errorNote(refusal?.error)}${variableForm(ctx, ws, null, refusal?.form)}`
    : html`<p>You may read these variables but not change them.</p>`
}
<h2>Variable sets</h2>
<p>Runs also get the variables of these sets. Where several sources set the same key, the workspace's own variables win over sets applied to it, those over its project's, those over global sets; a priority set wins over everything.</p>
${
  sets.length === 0
    ? html`<p>No variable set applies to this workspace.</p>`
    : sets.map(
        (s) => html`<article>
<header><h3>${s.set.name}</h3><p>${SCOPE_WORDS[s.scope]}${s.set.priority ? html` · <strong>priority</strong>: overrides the workspace's variables` : ''}</p></header>
${s.set.description ? html`<p>${s.set.description}</p>` : ''}
${
  s.variables.length === 0
    ? html`<p>No variables.</p>`
    : html`<table>
<thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Category</th><th scope="col">In runs</th></tr></thead>
<tbody>${s.variables.map((v) => html`<tr><td><code>${v.key}</code></td><td>${valueCell(v)}</td><td>${v.category}</td><td>${standing(v.candidate, winners)}</td></tr>`)}</tbody>
</table>`
}
</article>`,
      )
}`;
    }
    page(ctx, {
      status: refusal?.status,
      title: `Variables · ${ws.name}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name, { label: 'Variables' }),
      body: html`${workspaceNav(org, ws.name, 'variables')}
<h1>Variables</h1>
${confirmation(ctx)}
${body}`,
    });
  }

  async function editPage(ctx: WebCtx, ws: Workspace, v: Variable, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    page(ctx, {
      status: refusal?.status,
      title: `Edit ${v.key} · ${ws.name}`,
      organization: org,
      crumbs: workspaceCrumbs(org, ws.name, { label: 'Variables', href: workspacePaths.variables(org, ws.name) }, { label: v.key }),
      body: html`${workspaceNav(org, ws.name, 'variables')}
<h1>Edit variable ${v.key}</h1>
${errorNote(refusal?.error)}
${variableForm(ctx, ws, v, refusal?.form)}
<p><a href="${workspacePaths.variables(org, ws.name)}">Back to the variables</a></p>`,
    });
  }

  /** The posted fields as the service takes them; what the page can tell is wrong is a 422 here. */
  function input(ctx: WebCtx, current: Variable | null) {
    const category = field(ctx, 'category');
    if (category !== 'terraform' && category !== 'env') throw new InvalidError('Choose a category: terraform or environment variable');
    const key = textField(ctx, 'key', 'Key', 128).trim();
    if (!key) throw new InvalidError('Key must not be empty');
    const value = textField(ctx, 'value', 'Value', 256 * 1024, { multiline: true });
    return {
      key,
      category: category as Category,
      // A sensitive variable's value left empty stays as it was.
      value: current?.sensitive && value === '' ? undefined : value,
      description: textField(ctx, 'description', 'Description', 512),
      hcl: checkbox(ctx, 'hcl'),
      sensitive: current?.sensitive ? undefined : checkbox(ctx, 'sensitive'),
    };
  }

  /** The variable the URL names, which must be one of this workspace's. */
  async function variableOf(ctx: WebCtx, subject: Subject, ws: Workspace): Promise<Variable> {
    const v = await deps.variables.service.get(subject, ctx.params.variable, ws.id);
    if (v.workspaceId !== ws.id) throw notFound('variable', ctx.params.variable);
    return v;
  }

  router.get(base, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await variablesPage(ctx, subject, ws);
  });

  router.post(base, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        await deps.variables.service.create(subject, ws.id, input(ctx, null));
        redirect(ctx, withDone(workspacePaths.variables(ws.organizationName, ws.name), 'variable-added'));
      },
      (error, status) => variablesPage(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  router.get(`${base}/:variable/edit`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const v = await variableOf(ctx, subject, ws);
    // Only who may change variables gets the form; the others get the service's answer.
    if (!isAllowed(subject, 'variable:update', { organizationId: ws.organizationId, workspaceId: ws.id })) {
      return redirect(ctx, workspacePaths.variables(ws.organizationName, ws.name));
    }
    await editPage(ctx, ws, v);
  });

  router.post(`${base}/:variable`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const v = await variableOf(ctx, subject, ws);
    await attempt(
      async () => {
        await deps.variables.service.update(subject, v.id, input(ctx, v), ws.id);
        redirect(ctx, withDone(workspacePaths.variables(ws.organizationName, ws.name), 'variable-saved'));
      },
      (error, status) => editPage(ctx, ws, v, { error, status, form: ctx.state.form }),
    );
  });

  router.post(`${base}/:variable/delete`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const v = await variableOf(ctx, subject, ws);
    await deps.variables.service.delete(subject, v.id, ws.id);
    redirect(ctx, withDone(workspacePaths.variables(ws.organizationName, ws.name), 'variable-deleted'));
  });
}
