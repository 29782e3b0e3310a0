/**
 * Who is calling: an API key (`Authorization: Bearer rag_...` or `X-API-Key`) looked up by hash,
 * an OIDC access token verified against the issuer's keys, or the browser session single sign-on
 * left (sso.ts). Roles come from the key, or from the token's `roles` (or `groups`) claim:
 * "admin", "ingester", "reader" (or "rag-<role>"). Clearance and groups (access.ts) come from the
 * key, or from the claims OIDC_CLEARANCE_CLAIM and OIDC_GROUPS_CLAIM; admins are unrestricted.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RuntimeConfig } from "../config";
import type { Filters } from "../search/filters";
import {
  type Access,
  AccessInputError,
  accessFilters,
  accessFromClaims,
  Classification,
} from "./access";
import { allows, type BootstrapKeyState, type KeyStore, type Role, roleFromClaims } from "./keys";
import { type BrowserSso, fromUi, sessionCookie, UI_HEADER } from "./sso";

export { roleFromClaims };

export interface Principal extends Access {
  /** session: the browser's single sign-on cookie; local: embedded mode without credentials. */
  readonly kind: "api-key" | "oidc" | "session" | "local";
  readonly role: Role;
  /** The API key's id (api-key), as audit events name the caller. */
  readonly keyId?: string;
  readonly subject?: string;
  readonly name?: string;
}

/** The access a role with these grants has: admins are unrestricted (they see and manage every document). */
function restricted(role: Role, clearance: string, groups: readonly string[]): Access {
  return role === "admin" ? {} : { clearance, groups };
}

/**
 * Whose conversations and feedback these are: a person (the subject of an OIDC token or a browser
 * session, the same person either way), an API key, or the one local user of embedded mode.
 */
export function ownerOf(principal: Principal | undefined): string {
  if (!principal || principal.kind === "local") return "local";
  if (principal.kind === "api-key") return `key:${principal.keyId ?? "unknown"}`;
  return `user:${principal.subject ?? ""}`;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

type Verifier = (token: string) => Promise<Record<string, unknown>>;

/** What verifying an issuer's tokens needs from its discovery document. */
export interface IssuerKeys {
  readonly issuer: string;
  readonly jwks_uri: string;
}

async function discoverIssuer(issuer: string): Promise<IssuerKeys> {
  const discovery = await fetch(
    new URL(".well-known/openid-configuration", issuer.endsWith("/") ? issuer : `${issuer}/`),
    { signal: AbortSignal.timeout(5000) },
  );
  if (!discovery.ok) throw new Error(`OIDC discovery at ${issuer} answered ${discovery.status}`);
  return (await discovery.json()) as IssuerKeys;
}

async function oidcVerifier(keys: IssuerKeys, audience: string): Promise<Verifier> {
  const { createRemoteJWKSet, jwtVerify } = await import("jose");
  const jwks = createRemoteJWKSet(new URL(keys.jwks_uri));
  return async (token) => (await jwtVerify(token, jwks, { issuer: keys.issuer, audience })).payload;
}

export class Authenticator {
  private constructor(
    private readonly keys: KeyStore,
    private readonly verify: Verifier | undefined,
    /** False only in embedded mode with no key and no issuer (then the server binds to loopback). */
    readonly required: boolean,
    /** Browser single sign-on, when the OIDC client is configured with its secret. */
    readonly sso: BrowserSso | undefined,
    /** What became of the configured ADMIN_API_KEY (undefined when none is configured). */
    readonly adminKeyState: BootstrapKeyState | undefined,
    readonly classification: Classification,
    private readonly claimNames: { clearance: string; groups: string },
  ) {}

  static async create(
    config: RuntimeConfig,
    keys: KeyStore,
    sso?: BrowserSso,
  ): Promise<Authenticator> {
    const classification = Classification.of(config);
    if (config.ADMIN_API_KEY)
      await keys.ensureBootstrap(config.ADMIN_API_KEY, classification.highest);
    const adminKeyState = config.ADMIN_API_KEY
      ? await keys.bootstrapState(config.ADMIN_API_KEY)
      : undefined;
    // Single sign-on has already read the issuer's discovery document: one fetch at start, not two.
    const issuer = sso
      ? sso.issuerKeys()
      : config.OIDC_ISSUER_URL
        ? await discoverIssuer(config.OIDC_ISSUER_URL)
        : undefined;
    const verify = issuer
      ? await oidcVerifier(issuer, config.OIDC_AUDIENCE ?? config.OIDC_CLIENT_ID!)
      : undefined;
    const embedded = !config.DATABASE_URL && !config.PGHOST;
    return new Authenticator(
      keys,
      verify,
      !(embedded && !config.ADMIN_API_KEY && !verify),
      sso,
      adminKeyState,
      classification,
      { clearance: config.OIDC_CLEARANCE_CLAIM, groups: config.OIDC_GROUPS_CLAIM },
    );
  }

  /**
   * What the request's caller may see, as filters every search, listing and read applies in SQL
   * (nothing restricted for admins and embedded mode without credentials; nothing visible to a
   * request no `require` hook identified).
   */
  access(request: FastifyRequest): Pick<Filters, "classifications" | "groups"> {
    if (!request.principal) return { classifications: [], groups: [] };
    return accessFilters(this.classification, request.principal);
  }

  private async identify(request: FastifyRequest): Promise<Principal | undefined> {
    const header = request.headers.authorization;
    const bearer = header?.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : undefined;
    const apiKey =
      (request.headers["x-api-key"] as string | undefined) ??
      (bearer?.startsWith("rag_") ? bearer : undefined);
    if (apiKey) {
      const key = await this.keys.find(apiKey);
      return key
        ? {
            kind: "api-key",
            role: key.role,
            keyId: key.id,
            ...restricted(key.role, key.clearance, key.groups),
          }
        : undefined;
    }
    if (bearer && this.verify) {
      let claims: Record<string, unknown>;
      try {
        claims = await this.verify(bearer);
      } catch {
        return undefined;
      }
      const role = roleFromClaims(claims);
      // A clearance the labels do not know is the caller's problem to hear of (AccessInputError).
      const { clearance, groups } = accessFromClaims(this.classification, claims, this.claimNames);
      return {
        kind: "oidc",
        role,
        subject: typeof claims.sub === "string" ? claims.sub : "",
        ...restricted(role, clearance, groups),
      };
    }
    if (!header && this.sso && sessionCookie(request)) {
      const session = await this.sso.session(request);
      return session
        ? {
            kind: "session",
            role: session.role,
            subject: session.sub,
            ...(session.name ? { name: session.name } : {}),
            ...restricted(
              session.role,
              session.clearance ?? this.classification.defaultLabel,
              session.groups ?? [],
            ),
          }
        : undefined;
    }
    return undefined;
  }

  /**
   * An onRequest hook requiring `role`: 401 without valid credentials, 403 with too weak a role.
   * It runs before the body is read, so a caller without credentials learns nothing of the
   * schema and costs no parsing.
   */
  require(role: Role) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (!this.required) {
        request.principal = { kind: "local", role: "admin" };
        return;
      }
      let principal: Principal | undefined;
      try {
        principal = await this.identify(request);
      } catch (error) {
        if (!(error instanceof AccessInputError)) throw error;
        return reply
          .status(400)
          .send({ error: error.code, message: error.message, requestId: request.id });
      }
      if (!principal) {
        return reply.status(401).header("www-authenticate", 'Bearer realm="rag-platform"').send({
          error: "unauthorized",
          message:
            "a valid API key (Authorization: Bearer rag_... or X-API-Key) or OIDC access token is required",
          requestId: request.id,
        });
      }
      // Known from here on, also to the audit event of a refusal below.
      request.principal = principal;
      // A cookie rides along with any request the browser makes; a change made with one must come
      // from the UI itself (a custom header, which a cross-site page cannot send without CORS).
      if (
        principal.kind === "session" &&
        !["GET", "HEAD"].includes(request.method) &&
        !fromUi(request)
      ) {
        return reply.status(403).send({
          error: "forbidden",
          message: `a change made with a browser session must carry the header ${UI_HEADER.name}: ${UI_HEADER.value}`,
          requestId: request.id,
        });
      }
      if (!allows(principal.role, role)) {
        return reply.status(403).send({
          error: "forbidden",
          message: `this action needs the ${role} role; the credentials hold ${principal.role}`,
          requestId: request.id,
        });
      }
    };
  }
}
