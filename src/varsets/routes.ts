// HTTP routes of the variable-sets domain, as Terraform Cloud's Variable Sets API: the sets of an
// organization, a workspace or a project; a set with include=vars,workspaces,projects; its
// variables under /varsets/:id/relationships/vars; and applying it to workspaces and projects.
import { encode, pageOffset, paginate, parseIncludes, parsePage, queryValue, resources, type Resource } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import type { Subject } from '../auth/subject.js';
import { ConflictError } from '../errors.js';
import type { Organization } from '../orgs/index.js';
import { presentProject, projectType } from '../projects/index.js';
import { presentWorkspace, workspaceType } from '../workspaces/index.js';
import { presentSetVariable, presentVariableSet, setVariableType, variableSetType } from './presenters.js';
import { readApply, readCreate, readUpdate, readVariableCreate, readVariableUpdate, type VariableDocument } from './schemas.js';
import type { LinkKind, SetVariableInput, VariableSet, VariableSetService } from './service.js';

function variableInput(doc: VariableDocument): SetVariableInput {
  const a = doc.data.attributes ?? {};
  return {
    key: a.key,
    value: a.value,
    description: a.description === null ? '' : a.description,
    category: a.category,
    hcl: a.hcl,
    sensitive: a.sensitive,
  };
}

/** A document naming a resource other than the one in the URL is a conflict (JSON:API). */
function checkDocumentId(id: unknown, expected: string, what: string): void {
  if (id !== undefined && id !== expected) {
    throw new ConflictError(`data.id ${JSON.stringify(id)} does not match the ${what} in the URL, "${expected}"`, { pointer: '/data/id' });
  }
}

export function registerVariableSetRoutes(router: ApiRouter, varsets: VariableSetService, site: Site): void {
  /** The sets as resources, with what include= asks for. */
  async function document(ctx: Ctx, subject: Subject, org: Organization, sets: VariableSet[]): Promise<{ views: ReturnType<typeof presentVariableSet>[]; included: Resource[] }> {
    const linked = await varsets.withLinks(subject, org, sets);
    const wanted = parseIncludes(query(ctx));
    const included: Resource[] = [];
    if (wanted.has('vars')) {
      included.push(...resources(setVariableType, (await varsets.variablesOf(sets.map((s) => s.id))).map(presentSetVariable)));
    }
    if (wanted.has('workspaces')) {
      const found = await varsets.workspacesByIds(linked.flatMap((s) => s.workspaceIds));
      included.push(...resources(workspaceType, found.map((w) => presentWorkspace(w, subject))));
    }
    if (wanted.has('projects')) {
      const found = await varsets.projectsByIds(linked.flatMap((s) => s.projectIds));
      included.push(...resources(projectType, found.map((p) => presentProject(p, org, subject))));
    }
    return { views: linked.map(presentVariableSet), included };
  }

  async function sendOne(ctx: Ctx, status: number, org: Organization, set: VariableSet): Promise<void> {
    const subject = subjectOf(ctx);
    const { views, included } = await document(ctx, subject, org, [set]);
    send(ctx, status, encode(variableSetType, views[0], { included }));
  }

  /** A page of sets (page[number], page[size], and q: part of the name). */
  function listRoute(path: string, list: (subject: Subject, id: string, opts: { search?: string; limit: number; offset: number }) => Promise<{ org: Organization; items: VariableSet[]; total: number }>) {
    router.get(path, async (ctx) => {
      const subject = subjectOf(ctx);
      const q = query(ctx);
      const page = parsePage(q);
      const { org, items, total } = await list(subject, ctx.params.id, { search: queryValue(q, 'q'), limit: page.size, offset: pageOffset(page) });
      const { views, included } = await document(ctx, subject, org, items);
      send(ctx, 200, encode(variableSetType, views, { ...paginate(page, total, requestUrl(ctx, site)), included }));
    });
  }

  listRoute('/organizations/:id/varsets', (s, id, o) => varsets.list(s, id, o));
  listRoute('/workspaces/:id/varsets', (s, id, o) => varsets.listForWorkspace(s, id, o));
  listRoute('/projects/:id/varsets', (s, id, o) => varsets.listForProject(s, id, o));

  router.post('/organizations/:org/varsets', async (ctx) => {
    const a = readCreate(body(ctx)).data.attributes;
    const { set, org } = await varsets.create(subjectOf(ctx), ctx.params.org, { ...a, description: a.description === null ? '' : a.description });
    await sendOne(ctx, 201, org, set);
  });

  router.get('/varsets/:id', async (ctx) => {
    const { set, org } = await varsets.get(subjectOf(ctx), ctx.params.id);
    await sendOne(ctx, 200, org, set);
  });

  router.patch('/varsets/:id', async (ctx) => {
    const doc = readUpdate(body(ctx));
    checkDocumentId(doc.data.id, ctx.params.id, 'variable set');
    const a = doc.data.attributes ?? {};
    const r = doc.data.relationships ?? {};
    const { set, org } = await varsets.update(
      subjectOf(ctx),
      ctx.params.id,
      { name: a.name, description: a.description === null ? '' : a.description, global: a.global, priority: a.priority },
      { workspaces: r.workspaces?.data.map((w) => w.id), projects: r.projects?.data.map((p) => p.id) },
    );
    await sendOne(ctx, 200, org, set);
  });

  router.delete('/varsets/:id', async (ctx) => {
    await varsets.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });

  // Applying to and removing from workspaces and projects: a relationship document of their ids.
  for (const kind of ['workspaces', 'projects'] as const satisfies readonly LinkKind[]) {
    const read = readApply[kind];
    router.post(`/varsets/:id/relationships/${kind}`, async (ctx) => {
      await varsets.apply(subjectOf(ctx), ctx.params.id, kind, read(body(ctx)).data.map((t) => t.id));
      noContent(ctx);
    });
    router.delete(`/varsets/:id/relationships/${kind}`, async (ctx) => {
      await varsets.remove(subjectOf(ctx), ctx.params.id, kind, read(body(ctx)).data.map((t) => t.id));
      noContent(ctx);
    });
  }

  // ---------------------------------------------------------------- variables of a set

  router.get('/varsets/:id/relationships/vars', async (ctx) => {
    const items = await varsets.listVariables(subjectOf(ctx), ctx.params.id);
    // Every variable of the set on one page, as workspace variables are listed.
    const page = { number: 1, size: Math.max(items.length, 1) };
    send(ctx, 200, encode(setVariableType, items.map(presentSetVariable), paginate(page, items.length, requestUrl(ctx, site))));
  });

  router.post('/varsets/:id/relationships/vars', async (ctx) => {
    const input = variableInput(readVariableCreate(body(ctx)));
    const created = await varsets.createVariable(subjectOf(ctx), ctx.params.id, { ...input, key: input.key!, category: input.category! });
    send(ctx, 201, encode(setVariableType, presentSetVariable(created)));
  });

  router.get('/varsets/:id/relationships/vars/:variable', async (ctx) => {
    const variable = await varsets.getVariable(subjectOf(ctx), ctx.params.id, ctx.params.variable);
    send(ctx, 200, encode(setVariableType, presentSetVariable(variable)));
  });

  router.patch('/varsets/:id/relationships/vars/:variable', async (ctx) => {
    const doc = readVariableUpdate(body(ctx));
    checkDocumentId(doc.data.id, ctx.params.variable, 'variable');
    const updated = await varsets.updateVariable(subjectOf(ctx), ctx.params.id, ctx.params.variable, variableInput(doc));
    send(ctx, 200, encode(setVariableType, presentSetVariable(updated)));
  });

  router.delete('/varsets/:id/relationships/vars/:variable', async (ctx) => {
    await varsets.deleteVariable(subjectOf(ctx), ctx.params.id, ctx.params.variable);
    noContent(ctx);
  });
}
