// Typed errors raised by services. The API maps them to HTTP in one place (src/api/errors.ts).

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** JSON pointer into the request document, when the error is about one member of it. */
  readonly pointer?: string;
  /** Name of the query parameter the error is about. */
  readonly parameter?: string;

  constructor(detail: string, source: { pointer?: string; parameter?: string } = {}) {
    super(detail);
    this.pointer = source.pointer;
    this.parameter = source.parameter;
  }
}

/** The request could not be read at all (malformed JSON, bad query parameter). */
export class BadRequestError extends AppError {
  readonly status = 400;
  readonly title = 'bad request';
}

/** No credentials, or credentials that match no token. */
export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly title = 'unauthorized';
}

/** The caller can see the resource but may not perform the action. */
export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly title = 'forbidden';
}

/** Absent, or invisible to the caller. */
export class NotFoundError extends AppError {
  readonly status = 404;
  readonly title = 'not found';
}

/** The request conflicts with the current state (duplicate name, already locked, illegal transition). */
export class ConflictError extends AppError {
  readonly status = 409;
  readonly title = 'conflict';
}

/** A precondition of the action does not hold (e.g. deleting an agent that is still busy). */
export class PreconditionFailedError extends AppError {
  readonly status = 412;
  readonly title = 'precondition failed';
}

/** A well-formed request whose content is invalid. */
export class InvalidError extends AppError {
  readonly status = 422;
  readonly title = 'invalid attribute';
}

/** A request body larger than allowed. */
export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly title = 'payload too large';
}

/** A request body of a media type the route does not read. */
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly title = 'unsupported media type';
}

/** Too many failed attempts from one client; the answer says when to retry. */
export class TooManyRequestsError extends AppError {
  readonly status = 429;
  readonly title = 'too many requests';
}

/** The service cannot answer now (database unavailable). */
export class UnavailableError extends AppError {
  readonly status = 503;
  readonly title = 'service unavailable';
}

/** Why a webhook delivery was refused, as the provider (and whoever forged it) is told. */
export type WebhookRejectedStatus = 400 | 401 | 413 | 415;

const WEBHOOK_REJECTED_TITLES: Record<WebhookRejectedStatus, string> = {
  400: 'bad request',
  401: 'unauthorized',
  413: 'payload too large',
  415: 'unsupported media type',
};

/**
 * A webhook delivery refused: malformed (400), unsigned or wrongly signed (401), too large (413),
 * not JSON (415). One class for all four so the route can log every refusal the same way; the
 * detail says what is wrong and never quotes the secret or the signature.
 */
export class WebhookRejected extends AppError {
  readonly title: string;

  constructor(
    readonly status: WebhookRejectedStatus,
    detail: string,
    source: { pointer?: string } = {},
  ) {
    super(detail, source);
    this.title = WEBHOOK_REJECTED_TITLES[status];
  }
}

export function notFound(kind: string, id: string): NotFoundError {
  return new NotFoundError(`${kind} "${id}" not found`);
}
