/**
 * Browser sessions after single sign-on, kept server-side in Postgres so that signing out ends
 * them everywhere (a copied cookie dies with them) and the identity provider's word is asked
 * again while they last. The cookie holds only a random 256-bit id; the table keeps its SHA-256
 * hash (as API keys are kept), the user's subject, name and role, and the provider's refresh
 * token encrypted (a dump of the table signs nobody in and reveals no token).
 *
 * Encryption is a JWE (`dir` + A256GCM) under a key derived (HKDF-SHA256) from the OIDC client
 * secret the deployment already holds in its secret manager: rotating that secret makes stored
 * refresh tokens unreadable, so those sessions end at their next check. A sealed value names its
 * purpose (the JWT audience), so the short-lived login-flow cookie and a stored refresh token can
 * never be swapped for one another.
 */
import { hkdfSync, randomBytes } from "node:crypto";
import type { Queryable } from "../db/db";
import { hashKey, type Role } from "./keys";

export type SealPurpose = "sso-flow" | "refresh-token";

export interface BrowserSession {
  readonly sub: string;
  readonly role: Role;
  readonly name?: string;
  /** From the ID token's clearance claim (auth/access.ts); unset: CLASSIFICATION_DEFAULT. */
  readonly clearance?: string;
  readonly groups?: readonly string[];
}

export interface SsoFlow {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

interface SealedToken {
  readonly token: string;
}

type Sealable = SsoFlow | SealedToken;

export class Sealer {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new Uint8Array(hkdfSync("sha256", secret, "rag-platform", "browser-session-v1", 32));
  }

  async seal(purpose: SealPurpose, payload: Sealable, ttlSeconds: number): Promise<string> {
    const { EncryptJWT } = await import("jose");
    return new EncryptJWT({ ...payload })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setAudience(purpose)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(this.key);
  }

  /** The payload, or undefined when the value is forged, tampered with, expired or for another purpose. */
  async open<T extends Sealable>(
    purpose: SealPurpose,
    sealed: string | undefined,
  ): Promise<T | undefined> {
    if (!sealed) return undefined;
    const { jwtDecrypt } = await import("jose");
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, {
        audience: purpose,
        keyManagementAlgorithms: ["dir"],
        contentEncryptionAlgorithms: ["A256GCM"],
      });
      return payload as unknown as T;
    } catch {
      return undefined;
    }
  }
}

/** A session found by its cookie. */
export interface FoundSession {
  /** The stored key (the cookie's hash), for the calls below. */
  readonly key: string;
  readonly session: BrowserSession;
  /** Whether its last check at the provider is old enough for another (see claimCheck). */
  readonly checkDue: boolean;
  /** Unused for longer than the idle limit: over (the caller removes it, and revokes its token). */
  readonly idle: boolean;
}

export class SessionStore {
  constructor(
    private readonly db: Queryable,
    private readonly sealer: Sealer,
  ) {}

  /** Stores a new session; returns the cookie value (shown to the browser only). Expired sessions are swept here. */
  async create(
    session: BrowserSession,
    refreshToken: string | undefined,
    ttlSeconds: number,
  ): Promise<string> {
    await this.db.query("DELETE FROM browser_sessions WHERE expires_at <= now()");
    const cookie = randomBytes(32).toString("base64url");
    const sealed = refreshToken
      ? await this.sealer.seal("refresh-token", { token: refreshToken }, ttlSeconds)
      : null;
    await this.db.query(
      "INSERT INTO browser_sessions (id_hash, sub, role, name, refresh_token, expires_at, clearance, groups) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7, $8::text[])",
      [
        hashKey(cookie),
        session.sub,
        session.role,
        session.name ?? null,
        sealed,
        ttlSeconds,
        session.clearance ?? null,
        [...(session.groups ?? [])],
      ],
    );
    return cookie;
  }

  /**
   * The live session a cookie names, if any, whether a check is due (one that never had a
   * refresh token never is), and whether it has been unused for `idleSeconds` (0: no limit).
   * Use is recorded at most once a minute, so most requests only read.
   */
  async find(
    cookie: string,
    checkEverySeconds: number,
    idleSeconds = 0,
  ): Promise<FoundSession | undefined> {
    // Stored as API keys are: the SHA-256 of the cookie's 256 random bits.
    const key = hashKey(cookie);
    const [row] = await this.db.query<{
      sub: string;
      role: Role;
      name: string | null;
      clearance: string | null;
      groups: string[];
      due: boolean;
      idle: boolean;
      stale: boolean;
    }>(
      `SELECT sub, role, name, clearance, groups,
              refresh_token IS NOT NULL AND checked_at <= now() - make_interval(secs => $2) AS due,
              $3 > 0 AND seen_at <= now() - make_interval(secs => $3) AS idle,
              seen_at <= now() - interval '1 minute' AS stale
       FROM browser_sessions WHERE id_hash = $1 AND expires_at > now()`,
      [key, checkEverySeconds, idleSeconds],
    );
    if (!row) return undefined;
    if (row.stale && !row.idle)
      await this.db.query("UPDATE browser_sessions SET seen_at = now() WHERE id_hash = $1", [key]);
    return {
      key,
      session: {
        sub: row.sub,
        role: row.role,
        ...(row.name ? { name: row.name } : {}),
        ...(row.clearance ? { clearance: row.clearance } : {}),
        groups: row.groups,
      },
      checkDue: row.due,
      idle: row.idle,
    };
  }

  /**
   * Claims the session's check at the provider when the last one is at least `everySeconds` old:
   * one request (of any replica) wins and gets the refresh token; the others, and sessions without
   * a refresh token, get undefined and carry on with the session as it is. A refresh token that no
   * longer opens (the client secret was rotated) comes back as null: the session cannot be checked.
   */
  async claimCheck(key: string, everySeconds: number): Promise<string | null | undefined> {
    const [row] = await this.db.query<{ refresh_token: string }>(
      `UPDATE browser_sessions SET checked_at = now()
       WHERE id_hash = $1 AND refresh_token IS NOT NULL AND checked_at <= now() - make_interval(secs => $2)
       RETURNING refresh_token`,
      [key, everySeconds],
    );
    if (!row) return undefined;
    return (await this.sealer.open<SealedToken>("refresh-token", row.refresh_token))?.token ?? null;
  }

  /** Records what the provider said at a check: the user's current role, name, clearance and groups, and the refresh token to use next. */
  async update(
    key: string,
    changes: {
      role?: Role;
      name?: string;
      clearance?: string;
      groups?: readonly string[];
      refreshToken: string;
    },
    ttlSeconds: number,
  ): Promise<void> {
    const sealed = await this.sealer.seal(
      "refresh-token",
      { token: changes.refreshToken },
      ttlSeconds,
    );
    await this.db.query(
      "UPDATE browser_sessions SET role = coalesce($2, role), name = coalesce($3, name), refresh_token = $4, clearance = coalesce($5, clearance), groups = coalesce($6::text[], groups) WHERE id_hash = $1",
      [
        key,
        changes.role ?? null,
        changes.name ?? null,
        sealed,
        changes.clearance ?? null,
        changes.groups ? [...changes.groups] : null,
      ],
    );
  }

  /** Ends a session; returns its refresh token (to revoke at the provider), if it had one. */
  async remove(
    key: string,
  ): Promise<{ sub: string; role: string; refreshToken: string | undefined } | undefined> {
    const [row] = await this.db.query<{ sub: string; role: string; refresh_token: string | null }>(
      "DELETE FROM browser_sessions WHERE id_hash = $1 RETURNING sub, role, refresh_token",
      [key],
    );
    if (!row) return undefined;
    return {
      sub: row.sub,
      role: row.role,
      refreshToken: row.refresh_token
        ? (await this.sealer.open<SealedToken>("refresh-token", row.refresh_token))?.token
        : undefined,
    };
  }
}
