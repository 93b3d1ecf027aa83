// Sends one notification to one destination and says what came back, as a delivery response.
// Nothing here throws: a destination that fails, hangs or cannot be reached is a response that
// was not successful, which the worker records and retries.
import http from 'node:http';
import https from 'node:https';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../logger.js';
import { AddressRefused, pinnedLookup, resolveDestination } from './address.js';
import { emailMessage, genericPayload, signature, slackPayload, teamsPayload, type PayloadContext } from './payloads.js';
import type { SmtpConfig } from '../config.js';
import type { DeliveryResponse, DestinationType, NotificationEvent } from './store.js';

/** SMTP settings: otfd's --smtp-* flags as src/config.ts reads them. */
export type SmtpSettings = SmtpConfig;

export interface SenderOptions {
  allowPrivateAddresses: boolean;
  /** Longest one attempt may take, name lookup to last byte: one deadline over all of it. */
  timeoutMs: number;
  smtp: SmtpSettings | null;
  logger: Logger;
}

/** A configuration as the sender needs it, its token opened and its users' addresses looked up. */
export interface Destination {
  id: string;
  name: string;
  destinationType: DestinationType;
  url: string | null;
  token: string | null;
  emailAddresses: string[];
}

export type Outcome = Omit<DeliveryResponse, 'sentAt'> & {
  /** A failure that trying again will not mend (no SMTP server configured, a refused address). */
  permanent: boolean;
};

/** How much of a response body is kept: enough to read an error, not a whole page. */
const MAX_BODY_KEPT = 4096;

export class Sender {
  private readonly mailer: Transporter | null;

  constructor(private readonly options: SenderOptions) {
    const smtp = options.smtp;
    this.mailer = smtp
      ? nodemailer.createTransport({
          host: smtp.host,
          port: smtp.port,
          secure: smtp.tls === 'tls',
          requireTLS: smtp.tls === 'starttls',
          ignoreTLS: smtp.tls === 'none',
          auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
          connectionTimeout: options.timeoutMs,
          greetingTimeout: options.timeoutMs,
          socketTimeout: options.timeoutMs,
          // A connection cut short by the attempt's deadline is destroyed at once, not left to close.
          socketCloseTimeout: 0,
          logger: false,
        })
      : null;
  }

  /** Attempts under way, to cut short when otfd stops. */
  private readonly active = new Set<AbortController>();

  close(): void {
    this.mailer?.close();
  }

  /** Ends every attempt under way (each then reports a failure). */
  abortAll(): void {
    for (const c of this.active) c.abort(new Error('otfd is stopping'));
  }

  /**
   * One attempt, ended by one deadline (timeoutMs) whatever it is waiting for: the name lookup,
   * the connection, the SMTP greeting or the answer. The worker's lease on the delivery is longer,
   * so no attempt outlives it and no other otfd sends the same delivery while this one still may.
   */
  async send(dest: Destination, event: NotificationEvent, baseUrl: string): Promise<Outcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    this.active.add(controller);
    try {
      const ctx: PayloadContext = { configurationId: dest.id, configurationName: dest.name, baseUrl };
      if (dest.destinationType === 'email') return await this.sendEmail(dest, ctx, event, controller.signal);
      const payload = dest.destinationType === 'slack' ? slackPayload(ctx, event) : dest.destinationType === 'microsoft-teams' ? teamsPayload(ctx, event) : genericPayload(ctx, event);
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'otf-notifications/1' };
      if (dest.destinationType === 'generic' && dest.token) headers['X-TFE-Notification-Signature'] = signature(dest.token, body);
      return await this.post(dest.url ?? '', body, headers, controller.signal);
    } finally {
      clearTimeout(timer);
      this.active.delete(controller);
    }
  }

  private async post(urlText: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<Outcome> {
    const failed = (message: string, permanent = false): Outcome => ({ url: urlText, body: message, code: '0', headers: {}, successful: false, permanent });
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      return failed('not a URL', true);
    }
    let target: { address: string; family: number };
    try {
      target = await resolveDestination(url, this.options.allowPrivateAddresses, signal);
    } catch (err) {
      if (err instanceof AddressRefused) return failed(`refused: ${err.message}`, true);
      if (signal.aborted) return failed(`the host ${url.hostname} did not resolve in time: ${(signal.reason as Error).message}`);
      return failed(`the host ${url.hostname} does not resolve: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (signal.aborted) return failed((signal.reason as Error).message);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const req = mod.request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
          // The connection goes to the address checked above, whatever DNS says now.
          lookup: pinnedLookup(target.address, target.family),
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (c: Buffer) => {
            if (kept < MAX_BODY_KEPT) {
              chunks.push(c);
              kept += c.length;
            }
          });
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            finish({
              url: urlText,
              body: Buffer.concat(chunks).subarray(0, MAX_BODY_KEPT).toString('utf8').split('\u0000').join(''),
              code: String(code),
              headers: res.headersDistinct as Record<string, string[]>,
              successful: code >= 200 && code < 300,
              permanent: false,
            });
          });
          res.on('error', (err) => finish(failed(`the response broke off: ${err.message}`)));
        },
      );
      const onAbort = () => {
        req.destroy();
        finish(failed((signal.reason as Error).message));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => finish(failed(`cannot reach ${url.host}: ${err.code ?? err.message}`)));
      req.end(body);
    });
  }

  private async sendEmail(dest: Destination, ctx: PayloadContext, event: NotificationEvent, signal: AbortSignal): Promise<Outcome> {
    const smtp = this.options.smtp;
    const where = smtp ? `smtp://${smtp.host}:${smtp.port}` : 'smtp://';
    const failed = (message: string, permanent = false): Outcome => ({ url: where, body: message, code: '0', headers: {}, successful: false, permanent });
    if (!this.mailer || !smtp) return failed('otfd has no SMTP server to send email through (--smtp-host)', true);
    if (dest.emailAddresses.length === 0) return failed('the configuration has no email addresses or users to send to', true);
    const { subject, text } = emailMessage(ctx, event);
    try {
      const info = (await this.mailer.sendMail({ from: smtp.from, to: dest.emailAddresses, subject, text, signal })) as { response?: string; accepted?: unknown[] };
      const response = info.response ?? '';
      return { url: where, body: response, code: /^\d{3}/.exec(response)?.[0] ?? '250', headers: {}, successful: true, permanent: false };
    } catch (err) {
      // Past the deadline nodemailer has closed the connection (the signal ends its send).
      if (signal.aborted) return { url: where, body: (signal.reason as Error).message, code: '0', headers: {}, successful: false, permanent: false };
      const e = err as Error & { responseCode?: number; code?: string };
      // nodemailer's messages name the server and the failure; never the password.
      this.options.logger.warn({ configuration: dest.id, code: e.code, responseCode: e.responseCode }, 'notification email not sent');
      return { url: where, body: e.message, code: String(e.responseCode ?? 0), headers: {}, successful: false, permanent: false };
    }
  }
}
