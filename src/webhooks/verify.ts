// Webhook deliveries as they arrive from GitHub, GitLab and Forgejo (also Gitea): whether one is
// authentic and well formed, and what it says. Pure: the HTTP route reads the body (at most
// MAX_DELIVERY_BYTES), finds the hook's secret, calls verifyDelivery, and decides what to do with a
// replayed delivery id and with the event.
//
// The order of the checks matters. Size first (nothing larger is worth hashing). Then the
// signature, over the exact bytes received and before anything of the body is parsed: a caller
// without the secret learns only that it is refused. Then the content type, the event and delivery
// headers, the JSON, and each field otfd uses.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { jsonDepth } from '../api/hygiene.js';
import { WebhookRejected } from '../errors.js';
import type { HookKind, VcsEvent, VerifiedDelivery } from '../vcs/types.js';
import { root } from './parse/fields.js';
import { parseForgejo } from './parse/forgejo.js';
import { parseGithub } from './parse/github.js';
import { parseGitlab } from './parse/gitlab.js';

/**
 * The largest delivery read, in bytes. GitHub caps its payloads at 25 MB and does not deliver
 * larger ones; GitLab does not send a webhook whose JSON is over 25 MiB; Forgejo documents no cap
 * but lists only a push's latest commits. 25 MiB therefore refuses no genuine delivery, and bounds
 * what one request can make otfd hold (the body, then its parse).
 */
export const MAX_DELIVERY_BYTES = 25 * 1024 * 1024;

/** Deepest nesting of arrays and objects read: the providers' payloads nest about eight deep. */
export const MAX_DELIVERY_DEPTH = 64;

/** Headers carrying the event's name, in the order they are looked for. */
const EVENT_HEADERS: Record<HookKind, string[]> = {
  github: ['x-github-event'],
  gitlab: ['x-gitlab-event'],
  forgejo: ['x-forgejo-event', 'x-gitea-event'],
};

/**
 * Headers carrying the delivery's id. GitLab's X-Gitlab-Event-UUID identifies an event but a
 * retried delivery of it gets a new one; its Idempotency-Key (GitLab 17.4 and later) stays the same
 * across retries, which is what replay detection needs, so it is preferred when sent.
 */
const DELIVERY_HEADERS: Record<HookKind, string[]> = {
  github: ['x-github-delivery'],
  gitlab: ['idempotency-key', 'x-gitlab-event-uuid'],
  forgejo: ['x-forgejo-delivery', 'x-gitea-delivery'],
};

const PARSERS: Record<HookKind, (event: string, deliveryId: string, payload: unknown) => VcsEvent | null> = {
  github: parseGithub,
  gitlab: parseGitlab,
  forgejo: parseForgejo,
};

/** Event names: "push", "Merge Request Hook". */
const EVENT_NAME = /^[A-Za-z0-9 _.-]{1,64}$/;
/** Delivery ids: GUIDs on all three, bounded so that storing them for replay detection is cheap. */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request headers by lower-case name. Node's IncomingHttpHeaders fits: a header it keeps as a list
 * is read as Node joins repeated headers (", "), which no signature, id or event name survives.
 */
type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const raw = headers[name];
  const v = Array.isArray(raw) ? raw.join(', ') : raw;
  return v === undefined || v === '' ? undefined : v;
}

function firstHeader(headers: Headers, names: string[]): string | undefined {
  for (const name of names) {
    const v = header(headers, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** "X-GitHub-Event" for "x-github-event": details name headers as the providers' documentation does. */
function display(name: string): string {
  const special: Record<string, string> = {
    'x-github-event': 'X-GitHub-Event',
    'x-github-delivery': 'X-GitHub-Delivery',
    'x-gitlab-event-uuid': 'X-Gitlab-Event-UUID',
  };
  return special[name] ?? name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function unauthorized(detail: string): WebhookRejected {
  return new WebhookRejected(401, detail);
}

/** HMAC-SHA256 of the body under the secret, compared in constant time with the 32 bytes sent. */
function hmacMatches(secret: string, body: Buffer, hex: string): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  // `hex` has been checked to be exactly 64 hex digits: both sides are 32 bytes, as timingSafeEqual requires.
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function authenticate(kind: HookKind, headers: Headers, body: Buffer, secret: string): void {
  if (kind === 'github') {
    const signature = header(headers, 'x-hub-signature-256');
    if (signature === undefined) {
      if (header(headers, 'x-hub-signature') !== undefined) {
        throw unauthorized('the delivery is signed only with SHA-1 (X-Hub-Signature); otfd requires the SHA-256 signature, X-Hub-Signature-256');
      }
      throw unauthorized('the delivery is not signed: the X-Hub-Signature-256 header is missing');
    }
    if (!signature.startsWith('sha256=')) throw unauthorized('the X-Hub-Signature-256 header must start with "sha256="');
    const hex = signature.slice('sha256='.length);
    if (!HEX64.test(hex)) throw unauthorized('the X-Hub-Signature-256 header must be "sha256=" followed by 64 hexadecimal digits');
    if (!hmacMatches(secret, body, hex)) throw unauthorized('the X-Hub-Signature-256 signature does not match the delivery (wrong secret, or a body changed on the way)');
    return;
  }
  if (kind === 'forgejo') {
    // X-Forgejo-Signature when sent; a wrong one is not rescued by a right X-Gitea-Signature.
    const name = header(headers, 'x-forgejo-signature') !== undefined ? 'x-forgejo-signature' : 'x-gitea-signature';
    const signature = header(headers, name);
    if (signature === undefined) throw unauthorized('the delivery is not signed: the X-Forgejo-Signature (or X-Gitea-Signature) header is missing');
    if (!HEX64.test(signature)) throw unauthorized(`the ${display(name)} header must be 64 hexadecimal digits (the HMAC-SHA256 of the body)`);
    if (!hmacMatches(secret, body, signature)) throw unauthorized(`the ${display(name)} signature does not match the delivery (wrong secret, or a body changed on the way)`);
    return;
  }
  // GitLab sends the secret itself. Both sides are hashed first so that timingSafeEqual compares
  // two values of one length, and the comparison says nothing about the secret's length.
  const token = header(headers, 'x-gitlab-token');
  if (token === undefined) throw unauthorized('the delivery is not authenticated: the X-Gitlab-Token header is missing');
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  if (!timingSafeEqual(digest(token), digest(secret))) throw unauthorized('the X-Gitlab-Token header does not match this webhook\'s secret token');
}

function checkContentType(headers: Headers): void {
  const raw = header(headers, 'content-type');
  if (raw === undefined) throw new WebhookRejected(415, 'the delivery has no Content-Type; it must be application/json');
  const [type = '', ...params] = raw.split(';').map((s) => s.trim());
  const media = type.toLowerCase();
  if (media === 'application/x-www-form-urlencoded' || media === 'multipart/form-data') {
    throw new WebhookRejected(415, 'form-encoded deliveries are not read: set the webhook\'s content type to application/json');
  }
  if (media !== 'application/json') {
    const shown = /^[A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64}$/.test(type) ? `"${type}"` : 'another type';
    throw new WebhookRejected(415, `the delivery must be application/json, got ${shown}`);
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=').map((s) => s.trim().toLowerCase());
    if (name === 'charset' && !['utf-8', 'utf8', '"utf-8"'].includes(value)) throw new WebhookRejected(415, 'the delivery must be encoded in UTF-8');
  }
  const encoding = header(headers, 'content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') throw new WebhookRejected(415, 'compressed deliveries (Content-Encoding) are not read');
}

function namedHeader(headers: Headers, names: string[], pattern: RegExp, what: string): string {
  const value = firstHeader(headers, names);
  const shown = names.map(display).join(' or ');
  if (value === undefined) throw new WebhookRejected(400, `the ${shown} header is missing`);
  if (!pattern.test(value)) throw new WebhookRejected(400, `the ${shown} header is not ${what}`);
  return value;
}

function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new WebhookRejected(400, 'the payload is not valid UTF-8');
  }
  if (text.trim() === '') throw new WebhookRejected(400, 'the payload is empty');
  if (jsonDepth(text, MAX_DELIVERY_DEPTH) > MAX_DELIVERY_DEPTH) {
    throw new WebhookRejected(400, `the payload nests arrays and objects more than ${MAX_DELIVERY_DEPTH} deep`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the body: say where, not what.
    const position = /position (\d+)/.exec((err as Error).message);
    throw new WebhookRejected(400, `the payload is malformed JSON${position ? ` (at position ${position[1]})` : ''}`);
  }
}

/**
 * Whether a delivery is authentic and well formed, and what it says. `headers` by lower-case
 * name; `body` the raw bytes as received; `secret` the hook's. Throws WebhookRejected: 413 too
 * large, 401 unsigned or wrongly signed, 415 not JSON, 400 malformed (the detail names the header
 * or field). A ping, or an event otfd does not act on, gives `event: null`.
 */
export function verifyDelivery(kind: HookKind, headers: Headers, body: Buffer, secret: string): VerifiedDelivery {
  if (body.length > MAX_DELIVERY_BYTES) {
    throw new WebhookRejected(413, `a webhook delivery may be at most ${MAX_DELIVERY_BYTES} bytes; this one has ${body.length}`);
  }
  // A hook without a secret would accept anyone's deliveries (an HMAC under an empty key is anyone's).
  if (secret.length === 0) throw unauthorized('this webhook has no secret, so no delivery to it can be trusted');
  authenticate(kind, headers, body, secret);
  checkContentType(headers);
  const event = namedHeader(headers, EVENT_HEADERS[kind], EVENT_NAME, 'an event name');
  const deliveryId = namedHeader(headers, DELIVERY_HEADERS[kind], DELIVERY_ID, 'a delivery id (letters, digits, ".", "_", ":", "-"; at most 128)');
  const payload = root(parseJson(body));
  return { deliveryId, event: PARSERS[kind](event, deliveryId, payload) };
}
