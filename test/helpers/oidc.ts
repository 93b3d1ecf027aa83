// A real OpenID Connect provider (the npm package oidc-provider) for tests of single sign-on: its
// own in-memory adapter, one client registered for otfd's callback, and accounts the test sets
// up (a login at its development sign-in page names the account; any password is taken).
import http from 'node:http';
import type net from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  /** Claims besides sub; leave preferred_username out for an account the provider cannot name. */
  claims: Record<string, unknown>;
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by login: change their claims between sign-ins. */
  accounts: Map<string, TestAccount>;
  stop(): Promise<void>;
}

export async function startProvider(opts: { port: number; redirectUri: string }): Promise<TestProvider> {
  const issuer = `http://127.0.0.1:${opts.port}`;
  const clientId = 'otfd';
  const clientSecret = 'a-client-secret-of-at-least-32-characters';
  const accounts = new Map<string, TestAccount>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], groups: ['groups'] },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...account.claims }) };
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-test-cookie-key'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
  });
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
