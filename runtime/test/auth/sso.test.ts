/**
 * Browser single sign-on against a real OpenID Provider (test/oidc-provider.ts): the login
 * redirect's PKCE, state and nonce; every way a callback can fail; the server-side session
 * (unknown, expired, signed out); its checks at the provider with the refresh token (role changes,
 * disabled users, rotation under concurrent requests, an unreachable provider), in embedded mode
 * and on the real PostgreSQL; the header that guards changes made with a cookie; sign-out. The
 * whole flow through the provider's login page also runs in Chromium (test/web/ui.browser.ts).
 */
import { Writable } from "node:stream";
import type { FastifyServerOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import type { Role } from "../../src/auth/keys";
import { Sealer, SessionStore } from "../../src/auth/session";
import { loggerOptions } from "../../src/logger";
import {
  freePort,
  signInAtProvider,
  SSO_CLIENT,
  startIdentityProvider,
  type TestIdentityProvider,
} from "../oidc-provider";
import { auditEvents, auth, MODES, startRuntime, type Runtime } from "../support";

const cookiesOf = (response: { headers: Record<string, unknown> }): string[] => {
  const raw = response.headers["set-cookie"];
  return Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? [raw] : [];
};
const cookiePair = (setCookie: string) => setCookie.split(";")[0]!;

/** A session stored as a sign-in would store it (no refresh token: never checked), and its cookie value. */
const storedSession = (
  rt: Runtime,
  session: { sub: string; role: Role; name?: string },
  ttlSeconds = 60,
) =>
  new SessionStore(rt.services.db, new Sealer(SSO_CLIENT.secret)).create(
    session,
    undefined,
    ttlSeconds,
  );

/** Signs `login` in through the provider's pages and the service's callback; the session cookie (name=value). */
async function signIn(rt: Runtime, login: string): Promise<string> {
  const start = await rt.app.inject({ method: "GET", url: "/auth/login" });
  const flow = cookiePair(cookiesOf(start)[0]!);
  const back = await signInAtProvider(String(start.headers.location), login);
  const callback = await rt.app.inject({
    method: "GET",
    url: `${back.pathname}${back.search}`,
    headers: { cookie: flow },
  });
  expect(callback.headers.location, "the callback succeeded").toBe("/");
  return cookiePair(cookiesOf(callback).find((c) => c.startsWith("rag_session="))!);
}

describe("browser single sign-on", () => {
  let idp: TestIdentityProvider;
  let rt: Runtime;
  let publicUrl: string;

  beforeAll(async () => {
    publicUrl = `http://127.0.0.1:${await freePort()}`;
    idp = await startIdentityProvider(`${publicUrl}/auth/callback`, {});
    rt = await startRuntime("embedded", {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
      OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
      PUBLIC_URL: publicUrl,
    });
  });
  afterAll(async () => {
    await rt?.close();
    await idp?.close();
  });

  it("says single sign-on is offered; a server without the client secret offers none", async () => {
    expect((await rt.app.inject({ method: "GET", url: "/v1/auth" })).json()).toEqual({
      required: true,
      sso: true,
    });
    const openapi = (await rt.app.inject({ method: "GET", url: "/docs/json" })).json();
    for (const [path, method] of [
      ["/v1/auth", "get"],
      ["/auth/login", "get"],
      ["/auth/callback", "get"],
      ["/auth/logout", "post"],
    ] as const) {
      expect(openapi.paths[path][method].security, `${path} needs no credentials`).toEqual([]);
    }
    expect(openapi.security).toEqual([{ apiKey: [] }]);
    const plain = await startRuntime("embedded", {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
    });
    try {
      expect((await plain.app.inject({ method: "GET", url: "/v1/auth" })).json()).toEqual({
        required: true,
        sso: false,
      });
      expect((await plain.app.inject({ method: "GET", url: "/auth/login" })).statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it("verifies bearer tokens against the keys single sign-on discovered", async () => {
    const token = await idp.accessToken({
      sub: "svc-1",
      aud: SSO_CLIENT.id,
      roles: ["rag-ingester"],
    });
    expect(
      (
        await rt.app.inject({
          method: "GET",
          url: "/v1/me",
          headers: { authorization: `Bearer ${token}` },
        })
      ).json(),
    ).toEqual({
      kind: "oidc",
      role: "ingester",
      subject: "svc-1",
      clearance: "internal",
      groups: [],
      authRequired: true,
    });
    const otherAudience = await idp.accessToken({
      sub: "svc-1",
      aud: "someone-else",
      roles: ["rag-admin"],
    });
    expect(
      (
        await rt.app.inject({
          method: "GET",
          url: "/v1/me",
          headers: { authorization: `Bearer ${otherAudience}` },
        })
      ).statusCode,
    ).toBe(401);
  });

  it("takes a token's clearance and groups from its claims; an unknown clearance is a 400", async () => {
    const me = async (claims: Record<string, unknown>) =>
      rt.app.inject({
        method: "GET",
        url: "/v1/me",
        headers: {
          authorization: `Bearer ${await idp.accessToken({ sub: "u-2", aud: SSO_CLIENT.id, ...claims })}`,
        },
      });
    expect(
      (
        await me({ roles: ["rag-reader"], clearance: "confidential", groups: ["b", "a", "b"] })
      ).json(),
    ).toMatchObject({ role: "reader", clearance: "confidential", groups: ["a", "b"] });
    // Several labels: the highest; a lone string is one group.
    expect(
      (await me({ clearance: ["public", "restricted"], groups: "finance" })).json(),
    ).toMatchObject({ role: "reader", clearance: "restricted", groups: ["finance"] });
    // An admin is unrestricted whatever its claims say.
    const admin = (await me({ roles: ["rag-admin"], clearance: "public" })).json();
    expect(admin.role).toBe("admin");
    expect(admin).not.toHaveProperty("clearance");
    expect(admin).not.toHaveProperty("groups");
    const unknown = await me({ clearance: "top-secret" });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: "bad_claims" });
    expect(unknown.json().message).toMatch(
      /"clearance" claim holds "top-secret".*public, internal, confidential, restricted/,
    );
    const malformed = await me({ groups: [1, 2] });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(
      /"groups" claim must be a string or a list of strings/,
    );
  });

  it("sends the browser to the provider with PKCE (S256), state and nonce, remembered in a sealed HttpOnly cookie", async () => {
    const login = await rt.app.inject({ method: "GET", url: "/auth/login" });
    expect(login.statusCode).toBe(302);
    const target = new URL(String(login.headers.location));
    expect(target.origin).toBe(idp.issuer);
    const params = Object.fromEntries(target.searchParams);
    expect(params).toMatchObject({
      client_id: SSO_CLIENT.id,
      response_type: "code",
      redirect_uri: `${publicUrl}/auth/callback`,
      code_challenge_method: "S256",
    });
    expect(params.scope!.split(" ")).toContain("openid");
    for (const p of ["state", "nonce", "code_challenge"])
      expect(params[p]!.length, p).toBeGreaterThanOrEqual(22);
    const [flow] = cookiesOf(login);
    expect(flow).toMatch(/^rag_sso_flow=/);
    expect(flow).toMatch(/HttpOnly/);
    expect(flow).toMatch(/SameSite=Lax/);
    expect(flow).not.toContain(params.state!); // sealed, not readable
    const again = new URL(
      String((await rt.app.inject({ method: "GET", url: "/auth/login" })).headers.location),
    );
    expect(again.searchParams.get("state")).not.toBe(params.state);
  });

  it("over HTTPS names its cookies __Host- and marks them Secure, clearing them the same way", async () => {
    const https = await startRuntime("embedded", {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
      OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
      PUBLIC_URL: "https://rag.example.test",
    });
    try {
      const login = await https.app.inject({ method: "GET", url: "/auth/login" });
      expect(new URL(String(login.headers.location)).searchParams.get("redirect_uri")).toBe(
        "https://rag.example.test/auth/callback",
      );
      const [flow] = cookiesOf(login);
      expect(flow).toMatch(
        /^__Host-rag_sso_flow=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
      );
      const callback = await https.app.inject({
        method: "GET",
        url: "/auth/callback?code=abc&state=wrong",
        headers: { cookie: cookiePair(flow!) },
      });
      expect(cookiesOf(callback)).toEqual([
        expect.stringMatching(/^__Host-rag_sso_flow=; .*Path=\/; .*Secure/),
      ]);
      const session = await storedSession(https, { sub: "u-9", role: "reader" });
      expect(
        (
          await https.app.inject({
            method: "GET",
            url: "/v1/me",
            headers: { cookie: `__Host-rag_session=${session}` },
          })
        ).json(),
      ).toMatchObject({ kind: "session", subject: "u-9" });
    } finally {
      await https.close();
    }
  });

  it("without PUBLIC_URL, takes the scheme from a trusted proxy's X-Forwarded-Proto and never from anyone else's", async () => {
    const config = {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
      OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
    };
    const headers = { host: "rag.example.test", "x-forwarded-proto": "https" };
    const redirectOf = async (r: Runtime) => {
      const login = await r.app.inject({
        method: "GET",
        url: "/auth/login",
        headers,
        remoteAddress: "10.40.1.9",
      });
      return {
        uri: new URL(String(login.headers.location)).searchParams.get("redirect_uri"),
        cookie: cookiesOf(login)[0],
      };
    };
    const behindAlb = await startRuntime("embedded", { ...config, TRUST_PROXY: "10.40.0.0/16" });
    const direct = await startRuntime("embedded", config);
    try {
      expect(await redirectOf(behindAlb)).toMatchObject({
        uri: "https://rag.example.test/auth/callback",
        cookie: expect.stringMatching(/^__Host-rag_sso_flow=.*; Secure/),
      });
      expect(await redirectOf(direct)).toMatchObject({
        uri: "http://rag.example.test/auth/callback",
        cookie: expect.stringMatching(/^rag_sso_flow=/),
      });
    } finally {
      await behindAlb.close();
      await direct.close();
    }
  });

  it("sends a failed callback back to the UI with the reason, and signs nobody in", async () => {
    const error = (response: { headers: Record<string, unknown> }) =>
      new URL(String(response.headers.location), publicUrl).searchParams.get("sso_error");
    const noFlow = await rt.app.inject({ method: "GET", url: "/auth/callback?code=abc&state=xyz" });
    expect(noFlow.statusCode).toBe(302);
    expect(error(noFlow)).toMatch(/expired or was started in another browser/);
    expect(
      auditEvents(rt).find((e) => e.requestId === noFlow.headers["x-request-id"]),
    ).toMatchObject({ action: "session.start", outcome: "failure", actor: { kind: "anonymous" } });

    const login = await rt.app.inject({ method: "GET", url: "/auth/login" });
    const flow = cookiePair(cookiesOf(login)[0]!);
    const wrongState = await rt.app.inject({
      method: "GET",
      url: "/auth/callback?code=abc&state=not-the-state",
      headers: { cookie: flow },
    });
    expect(error(wrongState)).toMatch(/could not be completed/);
    expect(cookiesOf(wrongState).some((c) => c.startsWith("rag_session="))).toBe(false);

    const denied = await rt.app.inject({
      method: "GET",
      url: "/auth/callback?error=access_denied&error_description=user+cancelled",
      headers: { cookie: flow },
    });
    expect(error(denied)).toBe("the identity provider refused the sign-in: user cancelled");
    const crafted = await rt.app.inject({
      method: "GET",
      url: "/auth/callback?error=x&error_description=call+this+number",
    });
    expect(error(crafted), "no flow: the query's text is not shown").toMatch(
      /expired or was started in another browser/,
    );
  });

  it("accepts only a session it stored, until it expires; the table keeps no cookie value", async () => {
    const me = (cookie: string) =>
      rt.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } });
    const valid = await storedSession(rt, { sub: "u-1", role: "ingester", name: "Ada" });
    expect((await me(`rag_session=${valid}`)).json()).toEqual({
      kind: "session",
      role: "ingester",
      subject: "u-1",
      name: "Ada",
      clearance: "internal",
      groups: [],
      authRequired: true,
    });

    const altered = `${valid.slice(0, -4)}${valid.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    expect((await me(`rag_session=${altered}`)).statusCode).toBe(401);
    const flowAsSession = await new Sealer(SSO_CLIENT.secret).seal(
      "sso-flow",
      { state: "s", nonce: "n", codeVerifier: "v" },
      60,
    );
    expect((await me(`rag_session=${flowAsSession}`)).statusCode).toBe(401);
    const rows = await rt.services.db.query<Record<string, unknown>>(
      "SELECT * FROM browser_sessions",
    );
    expect(JSON.stringify(rows)).not.toContain(valid);

    const shortLived = await storedSession(rt, { sub: "u-1", role: "admin" }, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await me(`rag_session=${shortLived}`)).statusCode).toBe(401);
    await storedSession(rt, { sub: "u-5", role: "reader" });
    expect(
      await rt.services.db.query(
        "SELECT sub FROM browser_sessions WHERE sub = 'u-1' AND role = 'admin'",
      ),
      "expired sessions are swept at the next sign-in",
    ).toEqual([]);
  });

  it("lets a session change things only from the UI (its header), within its role", async () => {
    const cookie = `rag_session=${await storedSession(rt, { sub: "u-2", role: "ingester" })}`;
    const upload = (headers: Record<string, string>) =>
      rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: { cookie, ...headers },
        payload: { name: "n.txt", text: "A note about lighthouses and their keepers." },
      });
    const crossSite = await upload({});
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().message).toMatch(/x-requested-with: rag-ui/);
    expect((await upload({ "x-requested-with": "rag-ui" })).statusCode).toBe(202);
    const id = (
      await rt.app.inject({ method: "GET", url: "/v1/documents", headers: auth() })
    ).json().items[0].id;
    const remove = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${id}`,
      headers: { cookie, "x-requested-with": "rag-ui" },
    });
    expect(remove.statusCode).toBe(403);
    expect(remove.json().message).toMatch(/needs the admin role; the credentials hold ingester/);
  });

  it("keeps the callback's code and state, and the session cookie, out of the logs", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const logger = {
      ...(loggerOptions({ ...rt.services.config, LOG_LEVEL: "info" }) as object),
      stream,
    } as FastifyServerOptions["logger"];
    const { app } = await buildApp({ services: rt.services, fastify: { logger } });
    try {
      const session = await storedSession(rt, { sub: "u-3", role: "reader" });
      await app.inject({
        method: "GET",
        url: "/auth/callback?code=CODE-SHOULD-NOT-BE-LOGGED&state=STATE-SHOULD-NOT-BE-LOGGED",
      });
      await app.inject({
        method: "GET",
        url: "/v1/me",
        headers: { cookie: `rag_session=${session}` },
      });
      const log = lines.join("");
      expect(log).toContain("/auth/callback?[redacted]");
      expect(log).toContain("single sign-on failed");
      expect(log).not.toContain("SHOULD-NOT-BE-LOGGED");
      expect(log).not.toContain(session);
    } finally {
      await app.close();
    }
  });

  it("signs out only when the UI asks, clearing the cookie and saying how to end the provider's session", async () => {
    expect((await rt.app.inject({ method: "POST", url: "/auth/logout" })).statusCode).toBe(403);
    const out = await rt.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { "x-requested-with": "rag-ui" },
    });
    expect(out.statusCode).toBe(200);
    expect(cookiesOf(out).find((c) => c.startsWith("rag_session="))).toMatch(
      /Expires=Thu, 01 Jan 1970/,
    );
    const endSession = new URL(out.json().endSessionUrl);
    const discovery = (await (
      await fetch(`${idp.issuer}/.well-known/openid-configuration`)
    ).json()) as { end_session_endpoint: string };
    expect(`${endSession.origin}${endSession.pathname}`).toBe(discovery.end_session_endpoint);
    expect(Object.fromEntries(endSession.searchParams)).toEqual({
      client_id: SSO_CLIENT.id,
      post_logout_redirect_uri: `${publicUrl}/`,
    });
  });
});

describe.each(MODES)("single sign-on sessions, checked at the provider (%s)", (mode) => {
  let idp: TestIdentityProvider;
  let rt: Runtime;
  const CHECK_SECONDS = 1;
  const me = (cookie: string) =>
    rt.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } });
  const untilCheckDue = () =>
    new Promise((resolve) => setTimeout(resolve, CHECK_SECONDS * 1000 + 100));

  beforeAll(async () => {
    const publicUrl = `http://127.0.0.1:${await freePort()}`;
    idp = await startIdentityProvider(`${publicUrl}/auth/callback`, {
      alice: ["rag-ingester"],
      bob: ["rag-admin"],
      carol: [],
      dave: ["rag-reader"],
      erin: ["rag-reader"],
    });
    rt = await startRuntime(mode, {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
      OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
      PUBLIC_URL: publicUrl,
      SESSION_CHECK_SECONDS: String(CHECK_SECONDS),
      SESSION_IDLE_SECONDS: "600",
    });
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
    await idp?.close();
  });

  it("signs in through the provider, keeping its refresh token encrypted and the cookie value nowhere", async () => {
    const cookie = await signIn(rt, "alice");
    expect((await me(cookie)).json()).toEqual({
      kind: "session",
      role: "ingester",
      subject: "alice",
      name: "alice (test user)",
      clearance: "internal",
      groups: [],
      authRequired: true,
    });
    const [row] = await rt.services.db.query<{ id_hash: string; refresh_token: string | null }>(
      "SELECT id_hash, refresh_token FROM browser_sessions WHERE sub = 'alice'",
    );
    expect(row!.refresh_token, "a refresh token was obtained (offline_access)").toMatch(
      /^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/,
    ); // JWE, direct key
    expect(row!.id_hash).not.toBe(cookie.split("=")[1]);
    expect(auditEvents(rt).filter((e) => e.action === "session.start")).toContainEqual(
      expect.objectContaining({
        outcome: "success",
        actor: { kind: "session", subject: "alice", role: "ingester" },
      }),
    );
  });

  it("follows the provider's roles at each check, with one refresh however many requests arrive (rotation never trips reuse detection)", async () => {
    const cookie = await signIn(rt, "bob");
    expect((await me(cookie)).json().role).toBe("admin");
    idp.roles.bob = ["rag-reader"];
    expect((await me(cookie)).json().role, "before the check is due the stored role stands").toBe(
      "admin",
    );
    await untilCheckDue();
    const before = idp.events.filter((e) => e === "refresh").length;
    const burst = await Promise.all(Array.from({ length: 6 }, () => me(cookie)));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(6).fill(200));
    expect(idp.events.filter((e) => e === "refresh").length - before).toBe(1);
    expect((await me(cookie)).json().role).toBe("reader");
    idp.roles.bob = ["rag-ingester"];
    await untilCheckDue();
    expect((await me(cookie)).json().role, "the rotated refresh token was kept and works").toBe(
      "ingester",
    );
    expect(idp.events).not.toContain("revoked");
    const metrics = (await rt.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^rag_sso_session_checks_total\{outcome="refreshed"\} 2$/m);
  });

  it("ends the session of a user the provider disabled, at the next check", async () => {
    const cookie = await signIn(rt, "carol");
    expect((await me(cookie)).statusCode).toBe(200);
    idp.disabled.add("carol");
    await untilCheckDue();
    expect((await me(cookie)).statusCode).toBe(401);
    expect(
      await rt.services.db.query("SELECT sub FROM browser_sessions WHERE sub = 'carol'"),
    ).toEqual([]);
    expect((await rt.app.inject({ method: "GET", url: "/metrics" })).body).toMatch(
      /^rag_sso_session_checks_total\{outcome="ended"\} 1$/m,
    );
  });

  it("keeps a session in use, and ends one unused for SESSION_IDLE_SECONDS, revoking its refresh token", async () => {
    const cookie = await signIn(rt, "erin");
    const seen = async () =>
      (
        await rt.services.db.query<{ ago: number }>(
          "SELECT extract(epoch FROM now() - seen_at)::float AS ago FROM browser_sessions WHERE sub = 'erin'",
        )
      )[0]?.ago;
    // Used 9 minutes ago: still live, and this use is recorded.
    await rt.services.db.query(
      "UPDATE browser_sessions SET seen_at = now() - interval '9 minutes' WHERE sub = 'erin'",
    );
    expect((await me(cookie)).statusCode).toBe(200);
    expect(await seen()).toBeLessThan(60);
    // Unused for 11 minutes: over.
    await rt.services.db.query(
      "UPDATE browser_sessions SET seen_at = now() - interval '11 minutes' WHERE sub = 'erin'",
    );
    const revokedBefore = idp.events.filter((e) => e === "revoked").length;
    expect((await me(cookie)).statusCode).toBe(401);
    expect(await seen()).toBeUndefined();
    expect(idp.events.filter((e) => e === "revoked").length).toBe(revokedBefore + 1);
  });

  it("signing out deletes the session (a copied cookie stops working) and revokes the refresh token at the provider", async () => {
    const cookie = await signIn(rt, "dave");
    const copy = cookie;
    const out = await rt.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { cookie, "x-requested-with": "rag-ui" },
    });
    expect(out.statusCode).toBe(200);
    expect(idp.events).toContain("revoked");
    expect((await me(copy)).statusCode).toBe(401);
    expect(
      await rt.services.db.query("SELECT sub FROM browser_sessions WHERE sub = 'dave'"),
    ).toEqual([]);
    expect(auditEvents(rt).find((e) => e.requestId === out.headers["x-request-id"])).toMatchObject({
      action: "session.end",
      outcome: "success",
      actor: { subject: "dave" },
    });
  });
});

describe("a session whose provider cannot be reached, or whose refresh token no longer opens", () => {
  it("keeps the session while the provider is down, and ends one whose token the current client secret cannot read", async () => {
    const publicUrl = `http://127.0.0.1:${await freePort()}`;
    const idp = await startIdentityProvider(`${publicUrl}/auth/callback`, {
      erin: ["rag-ingester"],
    });
    const rt = await startRuntime("embedded", {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: SSO_CLIENT.id,
      OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
      PUBLIC_URL: publicUrl,
      SESSION_CHECK_SECONDS: "1",
    });
    try {
      const cookie = await signIn(rt, "erin");
      await idp.close();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const during = await rt.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } });
      expect(during.json()).toMatchObject({ kind: "session", subject: "erin", role: "ingester" });
      expect((await rt.app.inject({ method: "GET", url: "/metrics" })).body).toMatch(
        /^rag_sso_session_checks_total\{outcome="unreachable"\} 1$/m,
      );

      const store = new SessionStore(
        rt.services.db,
        new Sealer("a-rotated-client-secret-0123456789abcdef"),
      );
      await rt.services.db.query(
        "UPDATE browser_sessions SET checked_at = now() - interval '1 hour'",
      );
      const [{ id_hash: key }] = (await rt.services.db.query<{ id_hash: string }>(
        "SELECT id_hash FROM browser_sessions WHERE sub = 'erin'",
      )) as [{ id_hash: string }];
      expect(await store.claimCheck(key, 1)).toBeNull();
      await rt.services.db.query(
        "UPDATE browser_sessions SET checked_at = now() - interval '1 hour'",
      );
      expect(await store.claimCheck(key, 3600 * 2), "not due: nothing claimed").toBeUndefined();
    } finally {
      await rt.close();
    }
  });
});
