/**
 * A real OpenID Provider for the single sign-on tests: panva's oidc-provider (a certified OP
 * implementation) on 127.0.0.1, with its development login pages (any login, any password).
 * The login name chooses the account; each account's roles arrive in the ID token, and can be
 * changed, or the account disabled, while sessions last. Refresh tokens rotate on every use and a
 * reused one revokes its grant (the strictest behaviour a provider may have).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const SSO_CLIENT = {
  id: "rag-ui",
  secret: "sso-test-client-secret-0123456789abcdef",
} as const;

export interface TestIdentityProvider {
  readonly issuer: string;
  /** Roles by login, read at every token the provider issues: change them to change a user's roles. */
  readonly roles: Record<string, string[]>;
  /** Logins the provider no longer knows (their refresh tokens are refused). */
  readonly disabled: Set<string>;
  /** What happened at the provider: "refresh" for each refresh grant, "revoked" for each grant revoked. */
  readonly events: string[];
  /** An access token (JWT) signed with the provider's own published key, as its token endpoint would issue. */
  accessToken(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** A port nobody listens on right now (for a server that must be named before it starts). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startIdentityProvider(
  redirectUri: string,
  rolesByLogin: Record<string, string[]>,
): Promise<TestIdentityProvider> {
  const disabled = new Set<string>();
  const events: string[] = [];
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { default: Provider } = await import("oidc-provider");
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: "test-signing-key",
    alg: "RS256",
    use: "sig",
  };
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [
      {
        client_id: SSO_CLIENT.id,
        client_secret: SSO_CLIENT.secret,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [`${new URL(redirectUri).origin}/`],
        response_types: ["code"],
        grant_types: ["authorization_code", "refresh_token"],
      },
    ],
    findAccount: (_ctx, sub) =>
      disabled.has(sub)
        ? undefined
        : {
            accountId: sub,
            claims: () => ({
              sub,
              name: `${sub} (test user)`,
              email: `${sub}@example.test`,
              roles: rolesByLogin[sub] ?? [],
            }),
          },
    claims: { openid: ["sub"], profile: ["name", "roles"], email: ["email"] },
    // The claims of the requested scopes go into the ID token, as Entra ID and Okta put roles/groups there.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    rotateRefreshToken: true,
    // oidc-provider grants offline_access only with prompt=consent (OpenID Connect Core 11), which
    // would show Entra ID users a consent page at every sign-in; like Entra ID, Okta and Cognito
    // without that prompt, this provider issues the refresh token to a client allowed the grant.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    cookies: { keys: ["sso-test-cookie-key"] },
  });
  provider.on("grant.success", (ctx: { oidc: { params?: { grant_type?: unknown } } }) => {
    if (ctx.oidc.params?.grant_type === "refresh_token") events.push("refresh");
  });
  provider.on("grant.revoked", () => events.push("revoked"));
  const handle = provider.callback();
  server.on("request", (req, res) => void handle(req, res));
  return {
    issuer,
    roles: rolesByLogin,
    disabled,
    events,
    accessToken: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: signingKey.kid })
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Signs `login` in at the provider's development pages as a browser would, from the authorization
 * URL the service redirected to: the login form, then the consent form. Returns the URL the
 * provider sends the browser back to (the service's callback, with the code and state).
 */
export async function signInAtProvider(authorizationUrl: string, login: string): Promise<URL> {
  const jar = new Map<string, string>();
  const go = async (url: string, form?: Record<string, string>): Promise<Response> => {
    const response = await fetch(url, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const at = pair!.indexOf("=");
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  };
  let url = authorizationUrl;
  for (let step = 0; step < 10; step++) {
    const response = await go(url);
    const location = response.headers.get("location");
    if (location) {
      const next = new URL(location, url);
      if (next.origin !== new URL(authorizationUrl).origin) return next;
      url = next.href;
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (!action || !prompt)
      throw new Error(`the provider showed no form at ${url} (${response.status})`);
    const submitted = await go(
      new URL(action, url).href,
      prompt === "login" ? { prompt, login, password: "any" } : { prompt },
    );
    url = new URL(submitted.headers.get("location")!, url).href;
  }
  throw new Error("the sign-in at the provider did not return to the service");
}
