// HTTP routes of the auth domain: /authentication-tokens/:id, which shows and deletes tokens of
// every kind. Each kind is kept by its own domain (agent tokens by pools, user and team tokens by
// users); the token id's prefix says which.
import { encode, timestamp, type ResourceType, type View } from '../api/jsonapi.js';
import { noContent, send, subjectOf, type ApiRouter } from '../api/http.js';
import { notFound } from '../errors.js';
import type { Principal, Subject } from './subject.js';

export const authenticationTokenType: ResourceType = {
  type: 'authentication-tokens',
  attributes: ['created-at', 'last-used-at', 'description', 'token', 'expired-at'],
  relationships: { 'created-by': 'users', team: 'teams' },
};

/** What every kind of token shows of itself. */
export interface TokenFacts {
  id: string;
  description: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiredAt?: Date | null;
  createdBy?: Principal | null;
  /** The team of a team token. */
  teamId?: string;
}

/** A token as an authentication-tokens resource; its secret only when it has just been made. */
export function presentToken(token: TokenFacts, secret?: string): View {
  return {
    id: token.id,
    'created-at': timestamp(token.createdAt),
    'last-used-at': timestamp(token.lastUsedAt),
    description: token.description,
    token: secret ?? null,
    'expired-at': timestamp(token.expiredAt ?? null),
    'created-by': token.createdBy?.type === 'users' ? { id: token.createdBy.id } : null,
    team: token.teamId ? { id: token.teamId } : null,
  };
}

/** How one domain shows and deletes its tokens. */
export interface TokenDirectory {
  /** The prefix of its token ids, e.g. "at" for at-... */
  prefix: string;
  show(subject: Subject, id: string): Promise<View>;
  remove(subject: Subject, id: string): Promise<void>;
}

export function registerTokenRoutes(router: ApiRouter, directories: TokenDirectory[]): void {
  const byPrefix = new Map(directories.map((d) => [d.prefix, d]));
  const directoryOf = (id: string): TokenDirectory => {
    const directory = byPrefix.get(id.slice(0, id.indexOf('-')));
    if (!directory) throw notFound('authentication token', id);
    return directory;
  };

  router.get('/authentication-tokens/:id', async (ctx) => {
    send(ctx, 200, encode(authenticationTokenType, await directoryOf(ctx.params.id).show(subjectOf(ctx), ctx.params.id)));
  });

  router.delete('/authentication-tokens/:id', async (ctx) => {
    await directoryOf(ctx.params.id).remove(subjectOf(ctx), ctx.params.id);
    noContent(ctx);
  });
}
