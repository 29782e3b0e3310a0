/**
 * Browser sessions after single sign-on, kept in a cookie: an encrypted JWT (JWE, `dir` +
 * A256GCM) that only this service can read or forge. Nothing is stored server-side, so every
 * replica accepts every session. The key is derived (HKDF-SHA256) from the OIDC client secret the
 * deployment already holds in its secret manager: rotating that secret signs everyone out.
 *
 * A sealed value names its purpose (the JWT audience), so the short-lived login-flow cookie can
 * never be replayed as a session and the other way round.
 */
import { hkdfSync } from "node:crypto";
import type { Role } from "./keys";

export type SealPurpose = "session" | "sso-flow";

export interface BrowserSession {
  readonly sub: string;
  readonly role: Role;
  readonly name?: string;
}

export interface SsoFlow {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export class Sealer {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new Uint8Array(hkdfSync("sha256", secret, "rag-platform", "browser-session-v1", 32));
  }

  async seal(purpose: SealPurpose, payload: BrowserSession | SsoFlow, ttlSeconds: number): Promise<string> {
    const { EncryptJWT } = await import("jose");
    return new EncryptJWT({ ...payload })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setAudience(purpose)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(this.key);
  }

  /** The payload, or undefined when the value is forged, tampered with, expired or for another purpose. */
  async open<T extends BrowserSession | SsoFlow>(purpose: SealPurpose, sealed: string | undefined): Promise<T | undefined> {
    if (!sealed) return undefined;
    const { jwtDecrypt } = await import("jose");
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, { audience: purpose, keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
      return payload as unknown as T;
    } catch {
      return undefined;
    }
  }
}
