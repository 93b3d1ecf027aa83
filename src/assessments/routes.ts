// HTTP routes of health assessments: a workspace's current result and its results (TFC's shape),
// one result, and actions/assess (an extension: assess now).
import { encode, pageOffset, paginate, parsePage, type Resource } from '../api/jsonapi.js';
import { query, requestUrl, send, subjectOf, type ApiRouter, type Ctx, type Site } from '../api/http.js';
import { assessmentResultType, presentAssessmentResult, resultLinks } from './presenters.js';
import type { AssessmentResult, AssessmentService } from './service.js';

export function registerAssessmentRoutes(router: ApiRouter, deps: { assessments: AssessmentService; site: Site; logUrl: (planId: string) => string }): void {
  const { assessments, site, logUrl } = deps;

  async function sendOne(ctx: Ctx, status: number, result: AssessmentResult): Promise<void> {
    const doc = encode(assessmentResultType, presentAssessmentResult(result));
    (doc.data as Resource).links = resultLinks(result, await assessments.planIdOf(result), logUrl);
    send(ctx, status, doc);
  }

  router.get('/workspaces/:id/current-assessment-result', async (ctx) => {
    const { result } = await assessments.current(subjectOf(ctx), ctx.params.id);
    await sendOne(ctx, 200, result);
  });

  router.get('/workspaces/:id/assessment-results', async (ctx) => {
    const page = parsePage(query(ctx));
    const { items, total } = await assessments.list(subjectOf(ctx), ctx.params.id, page.size, pageOffset(page));
    send(ctx, 200, encode(assessmentResultType, items.map(presentAssessmentResult), paginate(page, total, requestUrl(ctx, site))));
  });

  router.get('/assessment-results/:id', async (ctx) => {
    await sendOne(ctx, 200, await assessments.get(subjectOf(ctx), ctx.params.id));
  });

  // 202: the assessment has started; its result is running until its plan ends.
  router.post('/workspaces/:id/actions/assess', async (ctx) => {
    await sendOne(ctx, 202, await assessments.assessNow(subjectOf(ctx), ctx.params.id));
  });
}
