// What each destination is sent for a notification, in the shapes Terraform Cloud sends: generic
// webhooks get TFC's JSON payload (payload_version 1 for runs and verifications, 2 for health
// assessments), signed with HMAC-SHA512 of the body when the configuration has a token; Slack gets
// an incoming-webhook message; Microsoft Teams an Office 365 connector card (MessageCard); email a
// subject and a plain-text body.
import crypto from 'node:crypto';
import { paths } from '../web/paths.js';
import type { NotificationEvent } from './store.js';

export interface PayloadContext {
  configurationId: string;
  configurationName: string;
  /** otfd's base URL, for links to the run. */
  baseUrl: string;
}

/** The run's page, as TFC's run_url names it. */
export function runUrl(ctx: PayloadContext, e: NotificationEvent): string | null {
  return e.run ? `${ctx.baseUrl}${paths.run(e.organizationName, e.workspaceName, e.run.id)}` : null;
}

function workspaceUrl(ctx: PayloadContext, e: NotificationEvent): string {
  return `${ctx.baseUrl}${paths.workspace(e.organizationName, e.workspaceName)}`;
}

/** TFC's generic payload. */
export function genericPayload(ctx: PayloadContext, e: NotificationEvent): Record<string, unknown> {
  if (e.assessment) {
    const resultUrl = `${ctx.baseUrl}/api/v2/assessment-results/${e.assessment.resultId}`;
    return {
      payload_version: '2',
      notification_configuration_url: `${ctx.baseUrl}/api/v2/notification-configurations/${ctx.configurationId}`,
      notification_configuration_id: ctx.configurationId,
      notification_configuration_name: ctx.configurationName,
      workspace_url: workspaceUrl(ctx, e),
      workspace_id: e.workspaceId,
      workspace_name: e.workspaceName,
      organization_name: e.organizationName,
      notifications: [
        {
          message: e.message,
          trigger: e.trigger,
          details: { new_assessment_result: { id: e.assessment.resultId, url: resultUrl, created_at: e.assessment.at } },
        },
      ],
    };
  }
  return {
    payload_version: 1,
    notification_configuration_id: ctx.configurationId,
    run_url: runUrl(ctx, e),
    run_id: e.run?.id ?? null,
    run_message: e.run?.message ?? null,
    run_created_at: e.run?.createdAt ?? null,
    run_created_by: e.run?.createdBy ?? null,
    workspace_id: e.trigger === 'verification' ? null : e.workspaceId,
    workspace_name: e.trigger === 'verification' ? null : e.workspaceName,
    organization_name: e.trigger === 'verification' ? null : e.organizationName,
    notifications: [
      {
        message: e.message,
        trigger: e.trigger,
        run_status: e.run?.status ?? null,
        run_updated_at: e.run?.updatedAt ?? null,
        run_updated_by: e.run?.updatedBy ?? null,
      },
    ],
  };
}

/** The hex HMAC-SHA512 of the body under the token, as X-TFE-Notification-Signature carries it. */
export function signature(token: string, body: string | Buffer): string {
  return crypto.createHmac('sha512', token).update(body).digest('hex');
}

/** One line saying what happened, for chat messages and email subjects. */
export function headline(e: NotificationEvent): string {
  if (e.trigger === 'verification') return e.message;
  return `${e.message}: ${e.organizationName}/${e.workspaceName}`;
}

/** Lines of detail under the headline (the link is each destination's to place). */
function details(e: NotificationEvent): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (e.run) {
    out.push(['Run', e.run.id], ['Status', e.run.status]);
    if (e.run.message) out.push(['Message', e.run.message]);
    if (e.run.createdBy) out.push(['Created by', e.run.createdBy]);
  } else if (e.assessment) {
    out.push(['Assessment result', e.assessment.resultId]);
  }
  return out;
}

/** Where the news can be seen: the run's page, or the workspace's for an assessment. */
function linkOf(ctx: PayloadContext, e: NotificationEvent): string | null {
  return e.run ? runUrl(ctx, e) : e.assessment ? workspaceUrl(ctx, e) : null;
}

/** Slack's link syntax breaks on <, > and &: they are escaped as Slack asks. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const COLOURS: Record<string, string> = {
  'run:errored': '#d62d20',
  'assessment:drifted': '#ff9800',
  'assessment:failed': '#d62d20',
  'assessment:check_failure': '#d62d20',
  'run:completed': '#2eb67d',
  'run:needs_attention': '#ecb22e',
};

/** A Slack incoming-webhook message: a text line and one attachment with the details. */
export function slackPayload(ctx: PayloadContext, e: NotificationEvent): Record<string, unknown> {
  const link = linkOf(ctx, e);
  const title = slackEscape(headline(e));
  return {
    text: link ? `<${link}|${title}>` : title,
    attachments: [
      {
        color: COLOURS[e.trigger] ?? '#5c4ee5',
        fields: details(e).map(([title, value]) => ({ title, value: slackEscape(value), short: title !== 'Message' })),
      },
    ],
  };
}

/** An Office 365 connector card (MessageCard), which Microsoft Teams' incoming webhooks take. */
export function teamsPayload(ctx: PayloadContext, e: NotificationEvent): Record<string, unknown> {
  const link = linkOf(ctx, e);
  return {
    '@type': 'MessageCard',
    '@context': 'http://schema.org/extensions',
    summary: headline(e),
    themeColor: (COLOURS[e.trigger] ?? '#5c4ee5').slice(1),
    title: headline(e),
    sections: [{ facts: details(e).map(([name, value]) => ({ name, value })), markdown: false }],
    potentialAction: link ? [{ '@type': 'OpenUri', name: e.run ? 'View run' : 'View workspace', targets: [{ os: 'default', uri: link }] }] : [],
  };
}

export function emailMessage(ctx: PayloadContext, e: NotificationEvent): { subject: string; text: string } {
  const link = linkOf(ctx, e);
  const lines = [...details(e), ...(link ? [['Link', link]] : [])].map(([k, v]) => `${k}: ${v}`);
  // Subjects are one line: a run message's line breaks must not reach the header.
  const subject = headline(e).replace(/[\r\n]+/g, ' ').slice(0, 200);
  return { subject, text: [headline(e), '', ...lines, '', `Sent by otf for notification configuration "${ctx.configurationName}" (${ctx.configurationId}).`].join('\n') };
}
