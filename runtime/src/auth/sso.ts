/**
 * Single sign-on for the browser UI: the OpenID Connect authorization code flow with PKCE, run
 * by this service as a confidential client (openid-client; the "backend for frontend" shape that
 * OAuth's browser-based-apps guidance recommends). No token ever reaches the browser: after the
 * callback the service verifies the ID token, stores the session server-side (session.ts) under
 * a random id sent as an HttpOnly SameSite=Strict cookie, and answers API calls from the UI by it.
 *
 * While a session lasts (SESSION_TTL_SECONDS), it is checked at the provider every
 * SESSION_CHECK_SECONDS with the refresh token the sign-in obtained (scope offline_access): the
 * role and name follow the provider's current ID token, and a user the provider disabled or whose
 * grant it revoked is signed out at the next check. Signing out deletes the session (every copy of
 * the cookie stops working) and revokes the refresh token at the provider.
 *
 * Enabled when OIDC_ISSUER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are all set. The redirect
 * URI to register at the identity provider is `<PUBLIC_URL>/auth/callback`, and the post-logout
 * redirect URI `<PUBLIC_URL>/` (signing out ends the provider's session too, when it offers that).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Configuration } from "openid-client" with { "resolution-mode": "import" };
import type { RuntimeConfig } from "../config";
import type { Queryable } from "../db/db";
import { AccessInputError, accessFromClaims, Classification } from "./access";
import type { IssuerKeys } from "./auth";
import { hashKey, roleFromClaims } from "./keys";
import { noteAudit } from "../routes/audit";
import { type BrowserSession, Sealer, SessionStore, type SsoFlow } from "./session";

/** The header the UI sends with every call; a cross-site form or script cannot (CORS preflight). */
export const UI_HEADER = { name: "x-requested-with", value: "rag-ui" } as const;

/** Whether a request carries the UI's header: what a change made with the session cookie needs. */
export function fromUi(request: FastifyRequest): boolean {
  return request.headers[UI_HEADER.name] === UI_HEADER.value;
}
const FLOW_TTL_SECONDS = 600;

// openid-client is an ES module: loaded with import() from this CommonJS build.
const loadClient = () => import("openid-client");
type OpenIdClient = Awaited<ReturnType<typeof loadClient>>;

export function cookieNames(secure: boolean): { session: string; flow: string } {
  // `__Host-` cookies are only accepted over HTTPS, for this host alone, on every path.
  return secure
    ? { session: "__Host-rag_session", flow: "__Host-rag_sso_flow" }
    : { session: "rag_session", flow: "rag_sso_flow" };
}

/** The session cookie a request carries (HTTPS name first). */
export function sessionCookie(request: FastifyRequest): string | undefined {
  return request.cookies[cookieNames(true).session] ?? request.cookies[cookieNames(false).session];
}

function isLoopback(url: URL): boolean {
  return ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

/** The display name an ID token offers, if any. */
function nameFrom(claims: Record<string, unknown>): string | undefined {
  return [claims.name, claims.preferred_username, claims.email].find(
    (v): v is string => typeof v === "string" && v.length > 0,
  );
}

/** A token's clearance and groups (access.ts), or the reason they cannot be used. */
function accessOf(
  config: RuntimeConfig,
  claims: Record<string, unknown>,
): { clearance: string; groups: string[] } | AccessInputError {
  try {
    return accessFromClaims(Classification.of(config), claims, {
      clearance: config.OIDC_CLEARANCE_CLAIM,
      groups: config.OIDC_GROUPS_CLAIM,
    });
  } catch (error) {
    if (error instanceof AccessInputError) return error;
    throw error;
  }
}

/** How a session's check at the provider ended. */
export type SessionCheckOutcome = "refreshed" | "ended" | "unreachable";

export class BrowserSso {
  private constructor(
    private readonly client: OpenIdClient,
    private readonly oidc: Configuration,
    private readonly sealer: Sealer,
    private readonly sessions: SessionStore,
    private readonly config: RuntimeConfig,
    private readonly observe: (outcome: SessionCheckOutcome) => void,
  ) {}

  /** The SSO client, or undefined when the configuration does not enable it. Discovery happens here. */
  static async create(
    config: RuntimeConfig,
    db: Queryable,
    observe: (outcome: SessionCheckOutcome) => void = () => undefined,
  ): Promise<BrowserSso | undefined> {
    if (!config.OIDC_ISSUER_URL || !config.OIDC_CLIENT_ID || !config.OIDC_CLIENT_SECRET)
      return undefined;
    const client = await loadClient();
    const issuer = new URL(config.OIDC_ISSUER_URL);
    // Plain HTTP only for an identity provider on this machine (development and tests).
    const execute =
      issuer.protocol === "http:" && isLoopback(issuer) ? [client.allowInsecureRequests] : [];
    const oidc = await client.discovery(
      issuer,
      config.OIDC_CLIENT_ID,
      undefined,
      client.ClientSecretBasic(config.OIDC_CLIENT_SECRET),
      {
        execute,
        timeout: 5,
      },
    );
    const sealer = new Sealer(config.OIDC_CLIENT_SECRET);
    return new BrowserSso(client, oidc, sealer, new SessionStore(db, sealer), config, observe);
  }

  /** The issuer and key set its discovery document named (bearer tokens are verified against them too). */
  issuerKeys(): IssuerKeys {
    const { issuer, jwks_uri: jwksUri } = this.oidc.serverMetadata();
    if (!jwksUri)
      throw new Error(
        `the OIDC issuer ${issuer} publishes no jwks_uri: its tokens cannot be verified`,
      );
    return { issuer, jwks_uri: jwksUri };
  }

  /** The origin users reach us at: PUBLIC_URL, else what the request says. */
  private origin(request: FastifyRequest): string {
    return this.config.PUBLIC_URL
      ? new URL(this.config.PUBLIC_URL).origin
      : `${request.protocol}://${request.host}`;
  }

  private secure(request: FastifyRequest): boolean {
    return this.origin(request).startsWith("https:");
  }

  private cookieOptions(request: FastifyRequest, sameSite: "strict" | "lax", maxAge: number) {
    return { path: "/", httpOnly: true, secure: this.secure(request), sameSite, maxAge };
  }

  redirectUri(request: FastifyRequest): string {
    return `${this.origin(request)}/auth/callback`;
  }

  /** Starts a sign-in: a fresh state, nonce and PKCE verifier in a short-lived sealed cookie, then off to the provider. */
  async login(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const flow: SsoFlow = {
      state: this.client.randomState(),
      nonce: this.client.randomNonce(),
      codeVerifier: this.client.randomPKCECodeVerifier(),
    };
    const url = this.client.buildAuthorizationUrl(this.oidc, {
      redirect_uri: this.redirectUri(request),
      scope: this.config.OIDC_SCOPES,
      response_type: "code",
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await this.client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: "S256",
    });
    const names = cookieNames(this.secure(request));
    // Lax: the flow cookie must come back on the provider's top-level redirect to the callback.
    reply.setCookie(
      names.flow,
      await this.sealer.seal("sso-flow", flow, FLOW_TTL_SECONDS),
      this.cookieOptions(request, "lax", FLOW_TTL_SECONDS),
    );
    return reply.redirect(url.href, 302);
  }

  /**
   * Completes a sign-in: checks state, nonce and PKCE, exchanges the code, verifies the ID token,
   * and sets the session. Any failure sends the user back to the UI with the reason.
   */
  async callback(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const names = cookieNames(this.secure(request));
    const flow = await this.sealer.open<SsoFlow>("sso-flow", request.cookies[names.flow]);
    // A `__Host-` cookie is only replaced by one with the same attributes (Secure, Path=/).
    reply.clearCookie(names.flow, { path: "/", secure: this.secure(request) });
    const fail = (reason: string) => {
      request.log.warn({ reason }, "single sign-on failed");
      noteAudit(request, { outcome: "failure", details: { reason } });
      return reply.redirect(`/?sso_error=${encodeURIComponent(reason)}`, 302);
    };
    // Without a flow this browser started, nothing in the query is the provider's word: a link
    // anyone can craft must not put its text in the UI.
    if (!flow) return fail("the sign-in expired or was started in another browser; try again");
    const query = request.query as Record<string, string | undefined>;
    if (query.error)
      return fail(
        `the identity provider refused the sign-in: ${(query.error_description ?? query.error).slice(0, 300)}`,
      );
    let claims: Record<string, unknown> | undefined;
    let refreshToken: string | undefined;
    try {
      const current = new URL(request.url, this.origin(request));
      const tokens = await this.client.authorizationCodeGrant(this.oidc, current, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      refreshToken = tokens.refresh_token;
    } catch (error) {
      return fail(`the sign-in could not be completed (${(error as Error).message})`);
    }
    if (!claims || typeof claims.sub !== "string")
      return fail("the identity provider sent no ID token");
    const name = nameFrom(claims);
    const access = accessOf(this.config, claims);
    if (access instanceof AccessInputError) return fail(access.message);
    const session: BrowserSession = {
      sub: claims.sub,
      role: roleFromClaims(claims),
      ...(name ? { name } : {}),
      ...access,
    };
    const ttl = this.config.SESSION_TTL_SECONDS;
    reply.setCookie(
      names.session,
      await this.sessions.create(session, refreshToken, ttl),
      this.cookieOptions(request, "strict", ttl),
    );
    request.log.info(
      { sub: session.sub, role: session.role, checked: refreshToken !== undefined },
      "signed in through single sign-on",
    );
    noteAudit(request, {
      actor: { kind: "session", subject: session.sub, role: session.role },
      target: { type: "session" },
    });
    if (!refreshToken) {
      request.log.warn(
        "the identity provider issued no refresh token (is offline_access in OIDC_SCOPES and the refresh grant allowed?): this session is not re-checked before it expires",
      );
    }
    return reply.redirect("/", 302);
  }

  /**
   * The session the request's cookie names; checked at the provider first when its last check is
   * SESSION_CHECK_SECONDS old. A provider that refuses the refresh token ends the session; one
   * that cannot be reached leaves it as it was until the next check.
   */
  async session(request: FastifyRequest): Promise<BrowserSession | undefined> {
    const cookie = sessionCookie(request);
    const every = this.config.SESSION_CHECK_SECONDS;
    const found = cookie
      ? await this.sessions.find(cookie, every, this.config.SESSION_IDLE_SECONDS)
      : undefined;
    if (!found) return undefined;
    if (found.idle) {
      await this.revoke(request, (await this.sessions.remove(found.key))?.refreshToken);
      request.log.info(
        { sub: found.session.sub, idleSeconds: this.config.SESSION_IDLE_SECONDS },
        "single sign-on session ended: unused for longer than SESSION_IDLE_SECONDS",
      );
      return undefined;
    }
    // Most requests stop here: a check is due once every SESSION_CHECK_SECONDS, and only one request claims it.
    const refreshToken = found.checkDue
      ? await this.sessions.claimCheck(found.key, every)
      : undefined;
    if (refreshToken === undefined) return found.session;
    const end = async (reason: string) => {
      this.observe("ended");
      await this.sessions.remove(found.key);
      request.log.info(
        { sub: found.session.sub, reason },
        "single sign-on session ended at its check",
      );
      return undefined;
    };
    if (refreshToken === null)
      return end("its refresh token no longer decrypts (the OIDC client secret changed)");
    let tokens: Awaited<ReturnType<OpenIdClient["refreshTokenGrant"]>>;
    try {
      tokens = await this.client.refreshTokenGrant(this.oidc, refreshToken);
    } catch (error) {
      if (error instanceof this.client.ResponseBodyError && error.error === "invalid_grant")
        return end(
          `the provider refused the refresh token: ${error.error_description ?? error.error}`,
        );
      this.observe("unreachable");
      request.log.warn(
        { sub: found.session.sub, reason: (error as Error).message },
        "single sign-on session could not be checked; kept until the next check",
      );
      return found.session;
    }
    const claims = tokens.claims();
    // OpenID Connect Core 12.2: a refreshed ID token is about the same user.
    if (claims && claims.sub !== found.session.sub)
      return end("the refreshed ID token names another subject");
    const name = claims ? nameFrom(claims) : undefined;
    const role = claims ? roleFromClaims(claims) : undefined;
    const access = claims ? accessOf(this.config, claims) : undefined;
    if (access instanceof AccessInputError) return end(access.message);
    this.observe("refreshed");
    await this.sessions.update(
      found.key,
      {
        refreshToken: tokens.refresh_token ?? refreshToken,
        ...(role ? { role } : {}),
        ...(name ? { name } : {}),
        ...access,
      },
      this.config.SESSION_TTL_SECONDS,
    );
    if (role && role !== found.session.role)
      request.log.info(
        { sub: found.session.sub, from: found.session.role, to: role },
        "single sign-on session's role changed at the provider",
      );
    return {
      ...found.session,
      ...(role ? { role } : {}),
      ...(name ? { name } : {}),
      ...access,
    };
  }

  /** Revokes an ended session's refresh token at the provider, when it offers revocation (best effort). */
  private async revoke(request: FastifyRequest, refreshToken: string | undefined): Promise<void> {
    if (!refreshToken || !this.oidc.serverMetadata().revocation_endpoint) return;
    await this.client
      .tokenRevocation(this.oidc, refreshToken, { token_type_hint: "refresh_token" })
      .catch((error: unknown) => {
        request.log.warn(
          { reason: (error as Error).message },
          "the refresh token could not be revoked at the identity provider",
        );
      });
  }

  /**
   * Ends the session here (deleted: every copy of the cookie stops working) and revokes its refresh
   * token at the provider; says where to send the browser to end the provider's own session too
   * (RP-initiated logout), if the provider offers that.
   */
  async logout(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ endSessionUrl: string | null }> {
    const cookie = sessionCookie(request);
    const ended = cookie ? await this.sessions.remove(hashKey(cookie)) : undefined;
    if (ended)
      noteAudit(request, {
        actor: { kind: "session", subject: ended.sub, role: ended.role },
        target: { type: "session" },
      });
    const refreshToken = ended?.refreshToken;
    for (const secure of [true, false])
      reply.clearCookie(cookieNames(secure).session, { path: "/", secure });
    await this.revoke(request, refreshToken);
    if (!this.oidc.serverMetadata().end_session_endpoint) return { endSessionUrl: null };
    // client_id rather than id_token_hint: the session keeps no token. Register <origin>/ as a post-logout redirect URI.
    const url = this.client.buildEndSessionUrl(this.oidc, {
      client_id: this.config.OIDC_CLIENT_ID!,
      post_logout_redirect_uri: `${this.origin(request)}/`,
    });
    return { endSessionUrl: url.href };
  }
}
