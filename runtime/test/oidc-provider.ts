/**
 * A real OpenID Provider for the single sign-on tests: panva's oidc-provider (a certified OP
 * implementation) on 127.0.0.1, with its development login pages (any login, any password).
 * The login name chooses the account; each account's roles arrive in the ID token.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const SSO_CLIENT = { id: "rag-ui", secret: "sso-test-client-secret-0123456789abcdef" } as const;

export interface TestIdentityProvider {
  readonly issuer: string;
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

export async function startIdentityProvider(redirectUri: string, rolesByLogin: Record<string, string[]>): Promise<TestIdentityProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { default: Provider } = await import("oidc-provider");
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-signing-key", alg: "RS256", use: "sig" };
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [
      {
        client_id: SSO_CLIENT.id,
        client_secret: SSO_CLIENT.secret,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [`${new URL(redirectUri).origin}/`],
        response_types: ["code"],
        grant_types: ["authorization_code"],
      },
    ],
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: `${sub} (test user)`, email: `${sub}@example.test`, roles: rolesByLogin[sub] ?? [] }),
    }),
    claims: { openid: ["sub"], profile: ["name", "roles"], email: ["email"] },
    // The claims of the requested scopes go into the ID token, as Entra ID and Okta put roles/groups there.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ["sso-test-cookie-key"] },
  });
  const handle = provider.callback();
  server.on("request", (req, res) => void handle(req, res));
  return {
    issuer,
    accessToken: (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: signingKey.kid }).setIssuer(issuer).setIssuedAt().setExpirationTime("5m").sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
