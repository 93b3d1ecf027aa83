// HTTP routes of the projects domain.
import { encode, listParam, pageOffset, paginate, parsePage, queryValue } from '../api/jsonapi.js';
import { body, noContent, query, requestUrl, send, subjectOf, type ApiRouter, type Site } from '../api/http.js';
import { resourceDocument, Type, validator } from '../api/schema.js';
import { presentProject, projectType } from './presenters.js';
import type { ProjectService } from './service.js';

const projectAttributes = {
  // Terraform Cloud's rule and sentence: spaces inside the name, never around it.
  name: Type.String({
    minLength: 3,
    maxLength: 40,
    pattern: '^[A-Za-z0-9_-][A-Za-z0-9 _-]*[A-Za-z0-9_-]$',
    'x-detail': 'Name may only contain letters, numbers, spaces, "-" and "_", may not begin or end with a space, and must be 3 to 40 characters long',
  }),
  description: Type.Optional(Type.String({ maxLength: 256 })),
};

const readCreate = validator(resourceDocument('projects', { attributes: Type.Object(projectAttributes) }));
const readUpdate = validator(resourceDocument('projects', { attributes: Type.Optional(Type.Partial(Type.Object(projectAttributes))) }));

export function registerProjectRoutes(router: ApiRouter, projects: ProjectService, site: Site): void {
  router.get('/organizations/:org/projects', async (ctx) => {
    const subject = subjectOf(ctx);
    const q = query(ctx);
    const page = parsePage(q);
    const { org, items, total } = await projects.list(subject, ctx.params.org, {
      names: listParam(q, 'filter[names]'),
      search: queryValue(q, 'q'),
      limit: page.size,
      offset: pageOffset(page),
    });
    send(ctx, 200, encode(projectType, items.map((p) => presentProject(p, org, subject)), paginate(page, total, requestUrl(ctx, site))));
  });

  router.post('/organizations/:org/projects', async (ctx) => {
    const subject = subjectOf(ctx);
    const a = readCreate(body(ctx)).data.attributes;
    const { project, org } = await projects.create(subject, ctx.params.org, { name: a.name, description: a.description });
    send(ctx, 201, encode(projectType, presentProject(project, org, subject)));
  });

  router.get('/projects/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const { project, org } = await projects.get(subject, ctx.params.id);
    send(ctx, 200, encode(projectType, presentProject(project, org, subject)));
  });

  router.patch('/projects/:id', async (ctx) => {
    const subject = subjectOf(ctx);
    const a = readUpdate(body(ctx)).data.attributes ?? {};
    const { project, org } = await projects.update(subject, ctx.params.id, { name: a.name, description: a.description });
    send(ctx, 200, encode(projectType, presentProject(project, org, subject)));
  });

  router.delete('/projects/:id', async (ctx) => {
    await projects.delete(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
