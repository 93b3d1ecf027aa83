// GET /api/meta/ip-ranges: Terraform Cloud publishes the address ranges of its API and the ranges
// its notifications, Sentinel policies and VCS connections come from, for firewalls. otfd has no
// fixed ranges of its own: its address is wherever its operator runs it, and it sends no
// notifications, runs no Sentinel policies and connects to no VCS provider. So it publishes four
// empty lists rather than made-up ones; a client reading them learns that otfd names no ranges.
import type Router from '@koa/router';
import type { AppState } from './http.js';

export const IP_RANGES_PATH = '/api/meta/ip-ranges';

export interface IpRanges {
  api: string[];
  notifications: string[];
  sentinel: string[];
  vcs: string[];
}

const NO_RANGES: IpRanges = { api: [], notifications: [], sentinel: [], vcs: [] };

/**
 * Registers the route on the router of routes that need no token (Terraform Cloud asks none here).
 * `since` is when the ranges last changed: they are fixed for the life of the process, so the
 * process's start, in whole seconds as HTTP dates have them.
 */
export function registerMetaRoutes(router: Router<AppState>, since: Date = new Date()): void {
  const lastModified = new Date(Math.floor(since.getTime() / 1000) * 1000);
  router.get(IP_RANGES_PATH, (ctx) => {
    ctx.set('Last-Modified', lastModified.toUTCString());
    // As Terraform Cloud documents: nothing changed since the date the client names, 304 and no
    // body. A date that is not an HTTP date is ignored (RFC 9110 13.1.3), so the lists are sent.
    const given = Date.parse(ctx.get('If-Modified-Since'));
    if (!Number.isNaN(given) && lastModified.getTime() <= given) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = NO_RANGES;
  });
}
