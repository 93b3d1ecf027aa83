// A workspace's settings, as Terraform Cloud lays them out: general, execution mode and agent pool,
// version control, run triggers, team access, SSH key, and deletion. Every form calls the service
// the matching API route calls, with the visitor's Subject; a visitor who may not change a section
// sees its values without the form (and gets the service's 403 if they post it anyway).
import { ACCESS_LEVELS, type AccessLevel } from '../../auth/access.js';
import { isAllowed } from '../../auth/authorize.js';
import type { Subject } from '../../auth/subject.js';
import { InvalidError, notFound } from '../../errors.js';
import { workspaceScope, type Workspace } from '../../workspaces/index.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html, type HtmlValue } from '../html.js';
import { csrfField, field, redirect, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { actionButton, timeTag } from '../components.js';
import { checkbox, nameField, textField } from '../forms.js';
import { enc, paths } from '../paths.js';
import { attempt, confirmation, errorNote, formValue, withDone, workspaceCrumbs, workspaceNav, workspaceOf, workspacePaths, type Refusal } from './workspace-frame.js';

type Section = 'general' | 'execution' | 'vcs' | 'run-triggers' | 'team-access' | 'ssh-key' | 'delete';

const SECTIONS: Array<[Section, string, string]> = [
  ['general', '', 'General'],
  ['execution', 'execution', 'Execution mode'],
  ['vcs', 'vcs', 'Version control'],
  ['run-triggers', 'run-triggers', 'Run triggers'],
  ['team-access', 'team-access', 'Team access'],
  ['ssh-key', 'ssh-key', 'SSH key'],
  ['delete', 'delete', 'Delete workspace'],
];

const LIST = { limit: 100, offset: 0 };

export function registerWorkspaceSettingsPages(router: WebRouter, deps: WebDeps): void {
  const base = '/app/:org/workspaces/:ws/settings';

  /** Renders one section of the settings around `body`. */
  function settingsPage(ctx: WebCtx, ws: Workspace, section: Section, body: HtmlValue, status = 200): void {
    const org = ws.organizationName;
    const title = SECTIONS.find(([s]) => s === section)![2];
    page(ctx, {
      status,
      title: `${title} · ${ws.name}`,
      organization: org,
      crumbs:
        section === 'general'
          ? workspaceCrumbs(org, ws.name, { label: 'Settings' })
          : workspaceCrumbs(org, ws.name, { label: 'Settings', href: workspacePaths.settings(org, ws.name) }, { label: title }),
      body: html`${workspaceNav(org, ws.name, 'settings')}
<nav aria-label="Settings" class="settings-nav"><ul>${SECTIONS.map(([s, path, label]) =>
        s === section
          ? html`<li><a href="${workspacePaths.settings(org, ws.name, path)}" aria-current="page"><strong>${label}</strong></a></li>`
          : html`<li><a href="${workspacePaths.settings(org, ws.name, path)}">${label}</a></li>`,
      )}</ul></nav>
<h1>${title}</h1>
${confirmation(ctx)}
${body}`,
    });
  }

  // ------------------------------------------------------------ general

  async function general(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const { items: projects } = await deps.projects.service.list(subject, org, LIST);
    const project = projects.find((p) => p.id === ws.projectId);
    const editable = isAllowed(subject, 'workspace:update', workspaceScope(ws));
    const f = refusal?.form;
    const value = formValue(f);
    const body = editable
      ? html`${errorNote(refusal?.error)}
<form method="post" action="${workspacePaths.settings(org, ws.name)}">
${csrfField(ctx)}
<p>ID: <code>${ws.id}</code></p>
<label for="name">Name</label>
<input id="name" name="name" required maxlength="90" value="${value('name', ws.name)}">
<label for="description">Description</label>
<textarea id="description" name="description" rows="3">${value('description', ws.description)}</textarea>
<label for="project">Project</label>
<select id="project" name="project">${projects.map((p) => html`<option value="${p.id}" ${attr('selected', value('project', ws.projectId) === p.id)}>${p.name}</option>`)}</select>
<label for="engine">Engine</label>
<select id="engine" name="engine">
<option value="terraform" ${attr('selected', value('engine', ws.engine) === 'terraform')}>Terraform</option>
<option value="tofu" ${attr('selected', value('engine', ws.engine) === 'tofu')}>OpenTofu</option>
</select>
<label for="terraform-version">Version</label>
<input id="terraform-version" name="terraform-version" value="${value('terraform-version', ws.terraformVersion)}" aria-describedby="version-help">
<small id="version-help">"latest", a version such as 1.9.5, or a constraint such as "~&gt; 1.9.0". Changing the engine without a version picks that engine's default.</small>
<label for="working-directory">Terraform working directory</label>
<input id="working-directory" name="working-directory" value="${value('working-directory', ws.workingDirectory)}" aria-describedby="wd-help">
<small id="wd-help">A relative path inside the configuration; empty for its root.</small>
<fieldset>
<legend>Apply method</legend>
<label for="auto-apply"><input type="checkbox" id="auto-apply" name="auto-apply" ${attr('checked', f ? f.has('auto-apply') : ws.autoApply)}> Auto apply: apply a successful plan without waiting for approval</label>
</fieldset>
<button type="submit">Save settings</button>
</form>`
      : html`<dl>
<dt>ID</dt><dd><code>${ws.id}</code></dd>
<dt>Name</dt><dd>${ws.name}</dd>
<dt>Description</dt><dd>${ws.description || 'none'}</dd>
<dt>Project</dt><dd>${project?.name ?? ws.projectId}</dd>
<dt>Engine</dt><dd>${ws.engine === 'tofu' ? 'OpenTofu' : 'Terraform'} ${ws.terraformVersion}</dd>
<dt>Working directory</dt><dd>${ws.workingDirectory || 'the configuration\'s root'}</dd>
<dt>Apply method</dt><dd>${ws.autoApply ? 'Auto apply' : 'Manual apply'}</dd>
</dl>
<p>You may not change this workspace's settings.</p>`;
    settingsPage(ctx, ws, 'general', body, refusal?.status);
  }

  router.get(base, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await general(ctx, subject, ws);
  });

  router.post(base, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    let updated = ws;
    await attempt(
      async () => {
        const name = nameField(ctx, 'name', 'Name');
        const engine = field(ctx, 'engine');
        if (engine !== 'terraform' && engine !== 'tofu') throw new InvalidError('Engine must be Terraform or OpenTofu');
        const version = textField(ctx, 'terraform-version', 'Version', 100).trim();
        updated = await deps.workspaces.service.update(subject, ws, {
          name,
          description: textField(ctx, 'description', 'Description', 10_000, { multiline: true }),
          engine,
          // An unchanged version stays out of the change, so that a new engine gets its own default.
          terraformVersion: version === ws.terraformVersion && engine !== ws.engine ? undefined : version,
          workingDirectory: textField(ctx, 'working-directory', 'Working directory', 255).trim(),
          autoApply: checkbox(ctx, 'auto-apply'),
          projectId: field(ctx, 'project') || undefined,
        });
        redirect(ctx, withDone(workspacePaths.settings(updated.organizationName, updated.name), 'saved'));
      },
      (error, status) => general(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  // ------------------------------------------------------------ execution mode and agent pool

  async function execution(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const editable = isAllowed(subject, 'workspace:update', workspaceScope(ws));
    const { org: organization, items: pools } = await deps.pools.service.list(subject, org, {
      ...LIST,
      allowedWorkspaceName: ws.name,
      sort: { column: 'name', descending: false },
    });
    const current = ws.executionOverwritten ? ws.executionMode : 'default';
    const f = refusal?.form;
    const mode = f ? (f.get('mode') ?? '') : current;
    const pool = f ? (f.get('agent-pool') ?? '') : (ws.agentPoolId ?? '');
    const poolName = (id: string | null) => (id ? (pools.find((p) => p.id === id)?.name ?? id) : 'none');
    const modes: Array<[string, string]> = [
      ['default', `Organization default (${organization.defaultExecutionMode})`],
      ['remote', 'Remote: runs execute on this server'],
      ['local', 'Local: runs execute on your machine; only state is stored here'],
      ['agent', 'Agent: runs execute on an agent of the pool chosen below'],
    ];
    const body = editable
      ? html`${errorNote(refusal?.error)}
<p>In effect: <strong>${ws.executionMode}</strong>${ws.executionMode === 'agent' ? html`, agent pool <strong>${poolName(ws.agentPoolId)}</strong>` : ''}${ws.executionOverwritten ? '' : ' (the organization\'s default)'}.</p>
<form method="post" action="${workspacePaths.settings(org, ws.name, 'execution')}">
${csrfField(ctx)}
<fieldset>
<legend>Execution mode</legend>
${modes.map(([value, label]) => html`<label for="mode-${value}"><input type="radio" id="mode-${value}" name="mode" value="${value}" ${attr('checked', mode === value)}> ${label}</label>`)}
</fieldset>
<label for="agent-pool">Agent pool (for agent mode)</label>
<select id="agent-pool" name="agent-pool">
<option value="">Choose a pool</option>
${pools.map((p) => html`<option value="${p.id}" ${attr('selected', pool === p.id)}>${p.name}</option>`)}
</select>
${pools.length === 0 ? html`<small>No agent pool of the organization allows this workspace.</small>` : ''}
<button type="submit">Save execution mode</button>
</form>`
      : html`<dl>
<dt>Execution mode</dt><dd>${ws.executionMode}${ws.executionOverwritten ? '' : ' (the organization\'s default)'}</dd>
<dt>Agent pool</dt><dd>${poolName(ws.agentPoolId)}</dd>
</dl>
<p>You may not change this workspace's settings.</p>`;
    settingsPage(ctx, ws, 'execution', body, refusal?.status);
  }

  router.get(`${base}/execution`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await execution(ctx, subject, ws);
  });

  router.post(`${base}/execution`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        const mode = field(ctx, 'mode');
        const pool = field(ctx, 'agent-pool');
        if (mode === 'default') {
          await deps.workspaces.service.update(subject, ws, { executionOverwritten: false });
        } else if (mode === 'remote' || mode === 'local' || mode === 'agent') {
          // The pool only goes with agent mode; the service refuses agent mode without one.
          await deps.workspaces.service.update(subject, ws, { executionMode: mode, agentPoolId: mode === 'agent' ? pool || null : undefined });
        } else {
          throw new InvalidError('Choose an execution mode: the organization default, remote, local or agent');
        }
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'execution'), 'execution'));
      },
      (error, status) => execution(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  // ------------------------------------------------------------ version control

  async function vcs(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const editable = isAllowed(subject, 'workspace:manage-vcs', workspaceScope(ws)) && isAllowed(subject, 'workspace:update', workspaceScope(ws));
    const repo = ws.vcsRepo;
    const f = refusal?.form;
    const value = formValue(f);
    const triggering = f ? (f.get('triggering') ?? '') : repo?.tagsRegex ? 'tags' : ws.fileTriggersEnabled && (ws.triggerPatterns.length || ws.triggerPrefixes.length) ? 'paths' : 'always';
    const current = repo
      ? html`<p>Connected to <a href="${repo.repositoryHttpUrl}" rel="noreferrer">${repo.identifier}</a> (${repo.serviceProvider}), branch <strong>${repo.namedBranch || `${repo.defaultBranch} (the default)`}</strong>${repo.tagsRegex ? html`, runs on tags matching <code>${repo.tagsRegex}</code>` : ''}.</p>`
      : html`<p>This workspace is not connected to a repository: runs start from configurations uploaded by the CLI or the API.</p>`;
    if (!editable) {
      settingsPage(ctx, ws, 'vcs', html`${current}<p>You may not change this workspace's version control settings.</p>`);
      return;
    }
    const { items: clients } = await deps.vcs.service.listClients(subject, org, LIST);
    const tokens = clients.flatMap((c) => c.oauthTokenIds.map((id) => ({ id, label: `${c.name ?? c.serviceProvider} (${c.serviceProvider}, ${c.httpUrl})` })));
    const body = html`${errorNote(refusal?.error)}
${current}
${
  tokens.length === 0 && !repo
    ? html`<p>The organization has no VCS provider yet: add one under <a href="${paths.vcsProviders(org)}">VCS providers</a> first.</p>`
    : html`<form method="post" action="${workspacePaths.settings(org, ws.name, 'vcs')}">
${csrfField(ctx)}
<label for="oauth-token">VCS provider</label>
<select id="oauth-token" name="oauth-token" required>
${tokens.map((t) => html`<option value="${t.id}" ${attr('selected', value('oauth-token', repo?.oauthTokenId ?? '') === t.id)}>${t.label}</option>`)}
</select>
<label for="identifier">Repository</label>
<input id="identifier" name="identifier" required maxlength="255" placeholder="owner/name" value="${value('identifier', repo?.identifier ?? '')}">
<label for="branch">Branch</label>
<input id="branch" name="branch" maxlength="255" value="${value('branch', repo?.namedBranch ?? '')}" aria-describedby="branch-help">
<small id="branch-help">Empty for the repository's default branch.</small>
<label for="vcs-working-directory">Terraform working directory</label>
<input id="vcs-working-directory" name="working-directory" maxlength="255" value="${value('working-directory', ws.workingDirectory)}">
<fieldset>
<legend>Automatic run triggering</legend>
<label for="triggering-always"><input type="radio" id="triggering-always" name="triggering" value="always" ${attr('checked', triggering === 'always')}> Always trigger runs</label>
<label for="triggering-paths"><input type="radio" id="triggering-paths" name="triggering" value="paths" ${attr('checked', triggering === 'paths')}> Only when files in these paths change</label>
<label for="triggering-tags"><input type="radio" id="triggering-tags" name="triggering" value="tags" ${attr('checked', triggering === 'tags')}> When a git tag matching the regular expression below is pushed</label>
</fieldset>
<label for="trigger-patterns">Trigger patterns (one glob a line, e.g. /modules/**/*.tf)</label>
<textarea id="trigger-patterns" name="trigger-patterns" rows="3">${value('trigger-patterns', ws.triggerPatterns.join('\n'))}</textarea>
<label for="trigger-prefixes">Trigger prefixes (one directory a line)</label>
<textarea id="trigger-prefixes" name="trigger-prefixes" rows="2">${value('trigger-prefixes', ws.triggerPrefixes.join('\n'))}</textarea>
<label for="tags-regex">Tags regular expression</label>
<input id="tags-regex" name="tags-regex" maxlength="255" value="${value('tags-regex', repo?.tagsRegex ?? '')}">
<button type="submit">${repo ? 'Save version control settings' : 'Connect repository'}</button>
</form>`
}
${repo ? html`<h2>Disconnect</h2><p>Runs will no longer start from this repository's commits.</p>${actionButton(ctx.state.csrf, workspacePaths.settings(org, ws.name, 'vcs/disconnect'), 'Disconnect from repository', { confirm: 'Disconnect this workspace from its repository?', secondary: true })}` : ''}`;
    settingsPage(ctx, ws, 'vcs', body, refusal?.status);
  }

  /** One entry a line, blank lines dropped; as the API, at most 100 entries of 255 characters. */
  function lines(ctx: WebCtx, name: string, label: string): string[] {
    const list = textField(ctx, name, label, 100 * 256, { multiline: true })
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (list.length > 100 || list.some((s) => s.length > 255)) throw new InvalidError(`${label}: at most 100 entries of at most 255 characters each`);
    return list;
  }

  router.get(`${base}/vcs`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await vcs(ctx, subject, ws);
  });

  router.post(`${base}/vcs`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        const triggering = field(ctx, 'triggering') || 'always';
        if (!['always', 'paths', 'tags'].includes(triggering)) throw new InvalidError('Choose how runs are triggered: always, by paths, or by tags');
        const patterns = lines(ctx, 'trigger-patterns', 'Trigger patterns');
        const prefixes = lines(ctx, 'trigger-prefixes', 'Trigger prefixes');
        const tagsRegex = textField(ctx, 'tags-regex', 'Tags regular expression', 255);
        if (triggering === 'tags' && tagsRegex === '') throw new InvalidError('Give the regular expression of the tags that trigger runs');
        await deps.workspaces.service.update(
          subject,
          ws,
          {
            workingDirectory: textField(ctx, 'working-directory', 'Working directory', 255).trim(),
            fileTriggersEnabled: triggering === 'paths',
            triggerPatterns: patterns,
            triggerPrefixes: prefixes,
          },
          undefined,
          {
            identifier: textField(ctx, 'identifier', 'Repository', 255).trim(),
            oauthTokenId: textField(ctx, 'oauth-token', 'VCS provider', 100),
            branch: textField(ctx, 'branch', 'Branch', 255).trim(),
            // Empty removes the expression: runs then follow the branch.
            tagsRegex: triggering === 'tags' ? tagsRegex : '',
          },
        );
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'vcs'), 'connected'));
      },
      (error, status) => vcs(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  router.post(`${base}/vcs/disconnect`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        await deps.workspaces.service.update(subject, ws, {}, undefined, null);
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'vcs'), 'disconnected'));
      },
      (error, status) => vcs(ctx, subject, ws, { error, status, form: undefined }),
    );
  });

  // ------------------------------------------------------------ run triggers

  async function runTriggers(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    // As in Terraform Cloud, only workspace admins see run triggers: the others get a note, not an error page.
    if (!isAllowed(subject, 'run-trigger:read', workspaceScope(ws))) {
      settingsPage(ctx, ws, 'run-triggers', html`<p>Only the workspace's administrators may see and change its run triggers.</p>`);
      return;
    }
    const { items, total } = await deps.triggers.service.list(subject, ws.id, 'inbound', 100, 0);
    const editable = isAllowed(subject, 'run-trigger:manage', workspaceScope(ws));
    let form: Html = html``;
    if (editable) {
      const { items: candidates } = await deps.workspaces.service.list(subject, org, { ...LIST, sort: { column: 'name', descending: false } });
      const sources = candidates.filter((w) => w.id !== ws.id && !items.some((t) => t.sourceableId === w.id));
      form =
        total >= 20
          ? html`<p>This workspace has 20 source workspaces, the most it may have: remove one to add another.</p>`
          : html`<form method="post" action="${workspacePaths.settings(org, ws.name, 'run-triggers')}">
${csrfField(ctx)}
<label for="source">Source workspace</label>
<select id="source" name="source" required>
<option value="">Choose a workspace</option>
${sources.map((w) => html`<option value="${w.id}" ${attr('selected', refusal?.form?.get('source') === w.id)}>${w.name}</option>`)}
</select>
<button type="submit">Add run trigger</button>
</form>`;
    }
    const body = html`<p>A successful apply in a source workspace queues a run in this one. A workspace may have at most 20 sources.</p>
${errorNote(refusal?.error)}
${
  items.length === 0
    ? html`<p>No source workspaces.</p>`
    : html`<table>
<thead><tr><th scope="col">Source workspace</th><th scope="col">Added</th>${editable ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${items.map(
        (t) => html`<tr><td><a href="${paths.workspace(org, t.sourceableName)}">${t.sourceableName}</a></td><td>${timeTag(t.createdAt)}</td>${
          editable ? html`<td>${actionButton(ctx.state.csrf, workspacePaths.settings(org, ws.name, `run-triggers/${enc(t.id)}/delete`), `Remove ${t.sourceableName}`, { secondary: true })}</td>` : ''
        }</tr>`,
      )}</tbody>
</table>`
}
${form}`;
    settingsPage(ctx, ws, 'run-triggers', body, refusal?.status);
  }

  router.get(`${base}/run-triggers`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await runTriggers(ctx, subject, ws);
  });

  router.post(`${base}/run-triggers`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        const source = textField(ctx, 'source', 'Source workspace', 100);
        if (!source) throw new InvalidError('Choose a source workspace');
        await deps.triggers.service.create(subject, ws.id, source);
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'run-triggers'), 'trigger-added'));
      },
      (error, status) => runTriggers(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  router.post(`${base}/run-triggers/:trigger/delete`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const trigger = await deps.triggers.service.get(subject, ctx.params.trigger);
    // Only a trigger of this workspace, whatever id the form names.
    if (trigger.workspaceId !== ws.id) throw notFound('run trigger', ctx.params.trigger);
    await deps.triggers.service.delete(subject, trigger.id);
    redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'run-triggers'), 'trigger-removed'));
  });

  // ------------------------------------------------------------ team access

  const LEVELS = ACCESS_LEVELS.filter((l) => l !== 'custom');
  const LEVEL_HELP: Record<AccessLevel, string> = {
    read: 'Read: see the workspace, its runs, variables and state',
    plan: 'Plan: read, and queue plans',
    write: 'Write: plan, apply, lock, and edit variables',
    admin: 'Admin: write, and change settings, team access and deletion',
    custom: 'Custom permissions',
  };

  function level(ctx: WebCtx): Exclude<AccessLevel, 'custom'> {
    const value = field(ctx, 'access');
    const found = LEVELS.find((l) => l === value);
    if (!found) throw new InvalidError(`Access must be one of ${LEVELS.join(', ')}`);
    return found;
  }

  async function teamAccess(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const { items: entries } = await deps.teams.service.listAccess(subject, ws.id, { limit: 1000, offset: 0 });
    const { items: teams } = await deps.teams.service.list(subject, org, { limit: 1000, offset: 0 });
    const editable = isAllowed(subject, 'workspace:manage-team-access', workspaceScope(ws));
    const teamName = (id: string) => teams.find((t) => t.id === id)?.name ?? id;
    const levelSelect = (id: string, current: AccessLevel) => html`<select id="${id}" name="access">
${current === 'custom' ? html`<option value="custom" selected disabled>Custom</option>` : ''}
${LEVELS.map((l) => html`<option value="${l}" ${attr('selected', l === current)}>${LEVEL_HELP[l]}</option>`)}
</select>`;
    const without = teams.filter((t) => !entries.some((e) => e.teamId === t.id));
    const body = html`${errorNote(refusal?.error)}
${
  entries.length === 0
    ? html`<p>No team has access to this workspace of its own (owners and teams with organization-wide permissions still do).</p>`
    : html`<table>
<thead><tr><th scope="col">Team</th><th scope="col">Access</th>${editable ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${entries.map((e) => {
        const path = workspacePaths.settings(org, ws.name, `team-access/${enc(e.id)}`);
        return html`<tr><td>${teamName(e.teamId)}</td><td>${
          editable
            ? html`<form method="post" action="${path}" class="inline">${csrfField(ctx)}<label for="access-${e.id}">Access of ${teamName(e.teamId)}</label>${levelSelect(`access-${e.id}`, e.access)}<button type="submit">Change</button></form>`
            : e.access
        }</td>${editable ? html`<td>${actionButton(ctx.state.csrf, `${path}/delete`, `Remove ${teamName(e.teamId)}`, { secondary: true, confirm: `Remove the access of team ${teamName(e.teamId)}?` })}</td>` : ''}</tr>`;
      })}</tbody>
</table>`
}
${
  editable
    ? html`<h2>Add a team</h2>
${
  without.length === 0
    ? html`<p>Every team you can see has access already.</p>`
    : html`<form method="post" action="${workspacePaths.settings(org, ws.name, 'team-access')}">
${csrfField(ctx)}
<label for="team">Team</label>
<select id="team" name="team" required>${without.map((t) => html`<option value="${t.id}" ${attr('selected', refusal?.form?.get('team') === t.id)}>${t.name}</option>`)}</select>
<label for="access-new">Access</label>
${levelSelect('access-new', 'read')}
<button type="submit">Add team access</button>
</form>`
}`
    : ''
}`;
    settingsPage(ctx, ws, 'team-access', body, refusal?.status);
  }

  /** The team access entry the URL names, which must be one of this workspace's. */
  async function accessOf(ctx: WebCtx, subject: Subject, ws: Workspace) {
    const access = await deps.teams.service.getAccess(subject, ctx.params.access);
    if (access.workspaceId !== ws.id) throw notFound('team access', ctx.params.access);
    return access;
  }

  router.get(`${base}/team-access`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await teamAccess(ctx, subject, ws);
  });

  router.post(`${base}/team-access`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        const team = textField(ctx, 'team', 'Team', 100);
        if (!team) throw new InvalidError('Choose a team');
        await deps.teams.service.createAccess(subject, { teamId: team, workspaceId: ws.id, access: level(ctx), permissions: {} });
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'team-access'), 'access-added'));
      },
      (error, status) => teamAccess(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  router.post(`${base}/team-access/:access`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const access = await accessOf(ctx, subject, ws);
    await attempt(
      async () => {
        await deps.teams.service.updateAccess(subject, access.id, { access: level(ctx), permissions: {} });
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'team-access'), 'access-changed'));
      },
      (error, status) => teamAccess(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  router.post(`${base}/team-access/:access/delete`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    const access = await accessOf(ctx, subject, ws);
    await deps.teams.service.deleteAccess(subject, access.id);
    redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'team-access'), 'access-removed'));
  });

  // ------------------------------------------------------------ SSH key

  async function sshKey(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): Promise<void> {
    const org = ws.organizationName;
    const editable = isAllowed(subject, 'workspace:update', workspaceScope(ws));
    const keys = isAllowed(subject, 'ssh-key:read', { organizationId: ws.organizationId }) ? await deps.sshKeys.service.list(subject, org) : [];
    const keyName = ws.sshKeyId ? (keys.find((k) => k.id === ws.sshKeyId)?.name ?? ws.sshKeyId) : 'none';
    const chosen = refusal?.form ? (refusal.form.get('ssh-key') ?? '') : (ws.sshKeyId ?? '');
    const body = html`<p>Runs of this workspace use this key to fetch modules from git::ssh:// sources.</p>
${errorNote(refusal?.error)}
${
  editable
    ? html`<form method="post" action="${workspacePaths.settings(org, ws.name, 'ssh-key')}">
${csrfField(ctx)}
<label for="ssh-key">SSH key</label>
<select id="ssh-key" name="ssh-key">
<option value="" ${attr('selected', chosen === '')}>None</option>
${keys.map((k) => html`<option value="${k.id}" ${attr('selected', chosen === k.id)}>${k.name}</option>`)}
</select>
${keys.length === 0 ? html`<small>The organization has no SSH keys.</small>` : ''}
<button type="submit">Save SSH key</button>
</form>`
    : html`<dl><dt>SSH key</dt><dd>${keyName}</dd></dl><p>You may not change this workspace's settings.</p>`
}`;
    settingsPage(ctx, ws, 'ssh-key', body, refusal?.status);
  }

  router.get(`${base}/ssh-key`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await sshKey(ctx, subject, ws);
  });

  router.post(`${base}/ssh-key`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        const key = textField(ctx, 'ssh-key', 'SSH key', 100);
        await deps.workspaces.service.setSshKey(subject, ws, key || null);
        redirect(ctx, withDone(workspacePaths.settings(ws.organizationName, ws.name, 'ssh-key'), 'ssh-key'));
      },
      (error, status) => sshKey(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });

  // ------------------------------------------------------------ delete

  function deletion(ctx: WebCtx, subject: Subject, ws: Workspace, refusal?: Refusal): void {
    const org = ws.organizationName;
    const allowed = isAllowed(subject, 'workspace:delete', workspaceScope(ws));
    const body = allowed
      ? html`<p>Deleting the workspace deletes its runs, state versions, variables and settings. It is refused while the workspace is locked, or while its state still manages resources: destroy them first.</p>
${errorNote(refusal?.error)}
<form method="post" action="${workspacePaths.settings(org, ws.name, 'delete')}">
${csrfField(ctx)}
<label for="confirm-name">Type the workspace's name, <strong>${ws.name}</strong>, to confirm</label>
<input id="confirm-name" name="confirm" required autocomplete="off">
<button type="submit" class="contrast">Delete workspace</button>
</form>`
      : html`<p>You may not delete this workspace.</p>`;
    settingsPage(ctx, ws, 'delete', body, refusal?.status);
  }

  router.get(`${base}/delete`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    deletion(ctx, subject, ws);
  });

  router.post(`${base}/delete`, async (ctx) => {
    const { subject, ws } = await workspaceOf(ctx, deps);
    await attempt(
      async () => {
        if (field(ctx, 'confirm') !== ws.name) throw new InvalidError(`Type the workspace's name, ${ws.name}, exactly to delete it`);
        // Safe delete, as the API's safe-delete action: locked workspaces and managed resources are refused.
        await deps.workspaces.service.safeDelete(subject, ws);
        redirect(ctx, paths.workspaces(ws.organizationName));
      },
      (error, status) => deletion(ctx, subject, ws, { error, status, form: ctx.state.form }),
    );
  });
}
