// Teams of an organization: the list, a team's members (added and removed by username), its
// organization access and settings, creating and deleting teams. Every change goes through the
// teams service, which decides (owners team changes are for owners, permissions one does not hold
// cannot be granted): the page only leaves out forms the visitor may not use.
import { ORGANIZATION_PERMISSIONS, type OrganizationPermission } from '../../auth/access.js';
import { isAllowed, isOwner } from '../../auth/authorize.js';
import { InvalidError, NotFoundError } from '../../errors.js';
import type { Organization } from '../../orgs/index.js';
import type { Team } from '../../teams/index.js';
import { actionButton, pager, timeTag } from '../components.js';
import type { WebDeps } from '../deps.js';
import { attr, html, type Html } from '../html.js';
import { csrfField, field, redirect, subjectOf, type WebCtx, type WebRouter } from '../http.js';
import { page } from '../layout.js';
import { checkbox, enc, orgCrumbs, pageNumber } from './org-shared.js';

const PAGE_SIZE = 50;
/** Organization members listed on the teams page. */
const MAX_MEMBERS = 100;
const TEAM_NAME = /^[A-Za-z0-9._-]([A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$/;

function teamName(ctx: WebCtx): string {
  const value = field(ctx, 'name').trim();
  if (!value || value.length > 90 || !TEAM_NAME.test(value)) {
    throw new InvalidError('the team name must be 1 to 90 letters, digits, spaces, ".", "-" or "_", not starting or ending with a space');
  }
  return value;
}

function visibilityField(ctx: WebCtx): 'secret' | 'organization' {
  const v = field(ctx, 'visibility');
  if (v !== 'secret' && v !== 'organization') throw new InvalidError('the visibility must be "secret" or "organization"');
  return v;
}

/** Checkboxes of the organization permissions, named access_<permission>. */
function accessBoxes(held: readonly OrganizationPermission[]): Html {
  return html`<fieldset><legend>Organization access</legend>
${ORGANIZATION_PERMISSIONS.map((p) => html`<label for="access-${p}"><input type="checkbox" id="access-${p}" name="access_${p}" ${attr('checked', held.includes(p))}> ${p.replace(/-/g, ' ')}</label>`)}
</fieldset>`;
}

/** Every organization permission, true when its box is ticked: the form names them all. */
function accessFrom(ctx: WebCtx): Partial<Record<OrganizationPermission, boolean>> {
  return Object.fromEntries(ORGANIZATION_PERMISSIONS.map((p) => [p, checkbox(ctx, `access_${p}`)]));
}

export function registerTeamPages(router: WebRouter, deps: WebDeps): void {
  const teams = deps.teams.service;

  /** The team, if the visitor may see it and it belongs to the organization of the URL; else 404. */
  async function teamOf(ctx: WebCtx): Promise<{ team: Team; org: Organization }> {
    const found = await teams.get(subjectOf(ctx), ctx.params.team);
    if (found.org.name !== ctx.params.org) throw new NotFoundError(`team "${ctx.params.team}" not found`);
    return found;
  }

  router.get('/app/:org/teams', async (ctx) => {
    const subject = subjectOf(ctx);
    const n = pageNumber(ctx);
    const { org, items, total } = await teams.list(subject, ctx.params.org, { limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE });
    const members = await teams.members(items);
    const scope = { organizationId: org.id };
    const base = `/app/${enc(org.name)}/teams`;
    const people = await deps.teams.memberships.list(subject, org.name, { limit: MAX_MEMBERS, offset: 0 });
    const usernames = new Map((await deps.users.service.byIds(people.items.flatMap((m) => (m.userId ? [m.userId] : [])))).map((u) => [u.id, u.username]));
    const mayInvite = isAllowed(subject, 'membership:manage', scope);
    page(ctx, {
      title: `Teams · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Teams' }),
      body: html`<h1>Teams</h1>
<div class="overflow-auto"><table tabindex="0" aria-label="Teams">
<thead><tr><th scope="col">Name</th><th scope="col">Visibility</th><th scope="col">Members</th><th scope="col">Organization access</th></tr></thead>
<tbody>${items.map(
        (t) => html`<tr><td><a href="${base}/${enc(t.id)}">${t.name}</a></td><td>${t.visibility}</td><td>${(members.get(t.id) ?? []).length}</td><td>${t.isOwners ? 'everything (owners)' : t.organizationAccess.join(', ') || 'none'}</td></tr>`,
      )}</tbody></table></div>
${pager(base, {}, n, Math.max(1, Math.ceil(total / PAGE_SIZE)))}
<section aria-labelledby="people"><h2 id="people">Organization members</h2>
<div class="overflow-auto"><table tabindex="0" aria-label="Organization members">
<thead><tr><th scope="col">User</th><th scope="col">Email</th><th scope="col">Status</th>${mayInvite ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${people.items.map(
        (m) => html`<tr><td>${m.userId ? (usernames.get(m.userId) ?? '') : ''}</td><td>${m.email}</td><td>${m.status}</td>${mayInvite
          ? html`<td>${actionButton(ctx.state.csrf, `${base}/memberships/${enc(m.id)}/delete`, 'Remove from organization', { confirm: `Remove ${m.email} from the organization and all its teams?`, secondary: true })}</td>`
          : ''}</tr>`,
      )}</tbody></table></div>
${people.total > people.items.length ? html`<p>Showing ${people.items.length} of ${people.total}.</p>` : ''}
${mayInvite
  ? html`<form method="post" action="${base}/invite">
${csrfField(ctx)}
<label for="invite-username">Add a user to the organization, by username</label>
<input id="invite-username" name="username" required maxlength="90">
<button type="submit">Add to organization</button>
</form>`
  : ''}
</section>
${isAllowed(subject, 'team:manage', scope)
  ? html`<section aria-labelledby="new-team"><h2 id="new-team">New team</h2>
<form method="post" action="${base}">
${csrfField(ctx)}
<label for="team-name">Name</label>
<input id="team-name" name="name" required maxlength="90">
<label for="team-visibility">Visibility</label>
<select id="team-visibility" name="visibility"><option value="secret">secret: seen by its members and owners</option><option value="organization">visible to the organization</option></select>
${isAllowed(subject, 'team:manage-organization-access', scope) ? accessBoxes([]) : ''}
<button type="submit">Create team</button>
</form></section>`
  : ''}`,
    });
  });

  router.post('/app/:org/teams', async (ctx) => {
    const subject = subjectOf(ctx);
    const access = accessFrom(ctx);
    const granted = Object.values(access).some((on) => on);
    const { team, org } = await teams.create(subject, ctx.params.org, {
      name: teamName(ctx),
      visibility: visibilityField(ctx),
      // Only what is ticked: a form without the boxes (no manage-organization-access) grants nothing.
      organizationAccess: granted ? access : undefined,
    });
    redirect(ctx, `/app/${enc(org.name)}/teams/${enc(team.id)}`);
  });

  router.post('/app/:org/teams/invite', async (ctx) => {
    const username = field(ctx, 'username').trim();
    if (!username || username.length > 90) throw new InvalidError('name a user by their username');
    const { org } = await deps.teams.memberships.invite(subjectOf(ctx), ctx.params.org, { username, teamIds: [] });
    redirect(ctx, `/app/${enc(org.name)}/teams`);
  });

  router.post('/app/:org/teams/memberships/:id/delete', async (ctx) => {
    const subject = subjectOf(ctx);
    const { membership, org } = await deps.teams.memberships.get(subject, ctx.params.id);
    if (org.name !== ctx.params.org) throw new NotFoundError(`organization membership "${ctx.params.id}" not found`);
    await deps.teams.memberships.delete(subject, membership.id);
    redirect(ctx, `/app/${enc(org.name)}/teams`);
  });

  router.get('/app/:org/teams/:team', async (ctx) => {
    const subject = subjectOf(ctx);
    const { team, org } = await teamOf(ctx);
    const members = (await teams.members([team])).get(team.id) ?? [];
    const scope = { organizationId: org.id };
    // The owners team is changed by owners only (the service refuses others).
    const ownersOk = !team.isOwners || isOwner(subject, org.id);
    const mayMembers = ownersOk && isAllowed(subject, 'team:manage-membership', scope);
    const mayManage = ownersOk && isAllowed(subject, 'team:manage', scope);
    const mayAccess = !team.isOwners && isAllowed(subject, 'team:manage-organization-access', scope);
    const base = `/app/${enc(org.name)}/teams/${enc(team.id)}`;
    page(ctx, {
      title: `Team ${team.name} · ${org.name}`,
      organization: org.name,
      crumbs: orgCrumbs(org.name, { label: 'Teams', href: `/app/${enc(org.name)}/teams` }, { label: team.name }),
      body: html`<h1>Team ${team.name}</h1>
<dl>
<dt>Visibility</dt><dd>${team.visibility}</dd>
<dt>Organization access</dt><dd>${team.isOwners ? 'everything: this is the owners team' : team.organizationAccess.join(', ') || 'none'}</dd>
<dt>Created</dt><dd>${timeTag(team.createdAt)}</dd>
</dl>
<section aria-labelledby="members"><h2 id="members">Members</h2>
${members.length === 0
  ? html`<p>The team has no members.</p>`
  : html`<div class="overflow-auto"><table tabindex="0" aria-label="Members">
<thead><tr><th scope="col">Username</th><th scope="col">Email</th>${mayMembers ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${members.map(
      (u) => html`<tr><td>${u.username}</td><td>${u.email}</td>${mayMembers
        ? html`<td>${actionButton(ctx.state.csrf, `${base}/members/remove`, 'Remove', { fields: { username: u.username }, secondary: true, confirm: `Remove ${u.username} from the team?` })}</td>`
        : ''}</tr>`,
    )}</tbody></table></div>`}
${mayMembers
  ? html`<form method="post" action="${base}/members">
${csrfField(ctx)}
<label for="member-username">Username of a member of the organization</label>
<input id="member-username" name="username" required maxlength="90">
<button type="submit">Add member</button>
</form>`
  : ''}
</section>
${mayAccess
  ? html`<section aria-labelledby="access"><h2 id="access">Organization access</h2>
<form method="post" action="${base}/access">
${csrfField(ctx)}
${accessBoxes(team.organizationAccess)}
<button type="submit">Save organization access</button>
</form></section>`
  : ''}
${mayManage
  ? html`<section aria-labelledby="settings"><h2 id="settings">Team settings</h2>
<form method="post" action="${base}">
${csrfField(ctx)}
<label for="team-name">Name</label>
<input id="team-name" name="name" required maxlength="90" value="${team.name}">
<label for="team-visibility">Visibility</label>
<select id="team-visibility" name="visibility">
<option value="secret" ${attr('selected', team.visibility === 'secret')}>secret: seen by its members and owners</option>
<option value="organization" ${attr('selected', team.visibility === 'organization')}>visible to the organization</option>
</select>
<label for="team-tokens"><input id="team-tokens" name="allow_member_token_management" type="checkbox" ${attr('checked', team.allowMemberTokenManagement)}> Members may manage the team's tokens</label>
<button type="submit">Save team</button>
</form>
${team.isOwners ? '' : actionButton(ctx.state.csrf, `${base}/delete`, 'Delete team', { confirm: `Delete team ${team.name}?`, secondary: true })}
</section>`
  : ''}`,
    });
  });

  router.post('/app/:org/teams/:team', async (ctx) => {
    const { team, org } = await teamOf(ctx);
    await teams.update(subjectOf(ctx), team.id, {
      name: teamName(ctx),
      visibility: visibilityField(ctx),
      allowMemberTokenManagement: checkbox(ctx, 'allow_member_token_management'),
    });
    redirect(ctx, `/app/${enc(org.name)}/teams/${enc(team.id)}`);
  });

  router.post('/app/:org/teams/:team/access', async (ctx) => {
    const { team, org } = await teamOf(ctx);
    await teams.update(subjectOf(ctx), team.id, { organizationAccess: accessFrom(ctx) });
    redirect(ctx, `/app/${enc(org.name)}/teams/${enc(team.id)}`);
  });

  router.post('/app/:org/teams/:team/delete', async (ctx) => {
    const { team, org } = await teamOf(ctx);
    await teams.delete(subjectOf(ctx), team.id);
    redirect(ctx, `/app/${enc(org.name)}/teams`);
  });

  router.post('/app/:org/teams/:team/members', async (ctx) => {
    const { team, org } = await teamOf(ctx);
    const username = field(ctx, 'username').trim();
    if (!username || username.length > 90) throw new InvalidError('name a user by their username');
    await teams.addMembers(subjectOf(ctx), team.id, [username]);
    redirect(ctx, `/app/${enc(org.name)}/teams/${enc(team.id)}`);
  });

  router.post('/app/:org/teams/:team/members/remove', async (ctx) => {
    const { team, org } = await teamOf(ctx);
    const username = field(ctx, 'username').trim();
    if (!username || username.length > 90) throw new InvalidError('name a user by their username');
    await teams.removeMembers(subjectOf(ctx), team.id, [username]);
    redirect(ctx, `/app/${enc(org.name)}/teams/${enc(team.id)}`);
  });
}
