// The OpenID Connect client of single sign-on (openid-client's functional API). The provider's
// discovery document is read on first use, not at otfd start: a provider that is down when otfd
// starts must not keep otfd from starting, and a failed read is tried again at the next sign-in.
import * as client from 'openid-client';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OidcSettings } from '../deps.js';

/** The provider could not be reached (or its discovery document is wrong): a clear page, and retry later. */
export class ProviderUnavailable extends AppError {
  readonly status = 503;
  readonly title = 'single sign-on is unavailable';
}

/** A sign-in through the provider that must not succeed (stale or forged state, bad claims): never a 5xx. */
export class SignOnRefused extends AppError {
  readonly status: number;
  readonly title = 'single sign-on failed';
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

export class OidcClient {
  private config: Promise<client.Configuration> | null = null;

  constructor(
    readonly settings: OidcSettings,
    /** otfd's base URL, known once otfd listens (the callback registered at the provider is <base URL>/login/oidc/callback). */
    private readonly baseUrl: () => string,
    private readonly logger: Logger,
  ) {}

  get redirectUri(): string {
    return `${this.baseUrl()}/login/oidc/callback`;
  }

  /** The provider's configuration, discovered once (again after a failure). */
  async configuration(): Promise<client.Configuration> {
    if (!this.config) {
      const issuer = new URL(this.settings.issuer);
      this.config = client.discovery(
        issuer,
        this.settings.clientId,
        { redirect_uris: [this.redirectUri], response_types: ['code'] },
        client.ClientSecretBasic(this.settings.clientSecret),
        // An http:// issuer is the operator's explicit choice (a provider on a private network, tests).
        { timeout: 10, execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [] },
      );
    }
    try {
      return await this.config;
    } catch (err) {
      this.config = null;
      this.logger.warn({ err, issuer: this.settings.issuer }, 'single sign-on: the provider\'s discovery failed');
      throw new ProviderUnavailable(
        `the single sign-on provider ${this.settings.issuer} cannot be reached or its discovery document is invalid: try again later, or sign in with a token`,
      );
    }
  }

  /** Where the browser goes to sign in at the provider, with fresh state, nonce and PKCE verifier. */
  async authorizationUrl(): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }> {
    const config = await this.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      response_type: 'code',
      // The operator's --oidc-scopes: a claim's name is not a scope (some providers refuse unknown scopes).
      scope: this.settings.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Exchanges the provider's code for tokens, checking state, nonce, PKCE and the ID token, and
   * returns the claims: the ID token's, completed from the userinfo endpoint when the claims
   * otfd needs are not in the ID token (providers differ in what they put there).
   */
  async finish(query: string, checks: { state: string; nonce: string; codeVerifier: string }): Promise<Record<string, unknown>> {
    const config = await this.configuration();
    const current = new URL(this.redirectUri);
    current.search = query;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      this.logger.info({ err }, 'single sign-on: the provider\'s answer was refused');
      throw new SignOnRefused(`the provider's answer was refused: ${describe(err)}`);
    }
    const claims: Record<string, unknown> = { ...tokens.claims() };
    const needed = [this.settings.usernameClaim, ...(this.settings.teamsClaim ? [this.settings.teamsClaim] : [])];
    if (needed.some((name) => claims[name] === undefined) && typeof claims.sub === 'string') {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        for (const [name, value] of Object.entries(info)) if (claims[name] === undefined) claims[name] = value;
      } catch (err) {
        this.logger.info({ err }, 'single sign-on: the userinfo endpoint failed; using the ID token\'s claims');
      }
    }
    return claims;
  }
}

/** What went wrong, for the error page: openid-client's message and the one it wraps (which names the claim: nonce, iss, ...). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error';
  return err.cause instanceof Error && err.cause.message !== err.message ? `${err.message}: ${err.cause.message}` : err.message;
}
