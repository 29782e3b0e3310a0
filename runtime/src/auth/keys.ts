/** API keys: random, shown once, stored as SHA-256 hashes, each with a role. */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/db";

export const ROLES = ["reader", "ingester", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do: every role includes the ones before it. */
export function allows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** The strongest role an identity provider's `roles` (or `groups`) claim grants: "admin" or "rag-admin"...; reader by default. */
export function roleFromClaims(claims: Record<string, unknown>): Role {
  const values = [claims.roles, claims.groups].flatMap((v) =>
    Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [],
  );
  const held = ROLES.filter((r) => values.includes(r) || values.includes(`rag-${r}`));
  return held.length > 0 ? held[held.length - 1]! : "reader";
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function newKey(): string {
  return `rag_${randomBytes(32).toString("base64url")}`;
}

/** The name the configured ADMIN_API_KEY is registered under. */
export const BOOTSTRAP_KEY_NAME = "bootstrap-admin";

export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** The highest label the key sees (admin keys see every label whatever this says). */
  readonly clearance: string;
  /** The key's groups (admin keys are in every group). */
  readonly groups: readonly string[];
  readonly createdAt: string;
}

/** What an active key grants. */
export interface KeyGrant {
  readonly role: Role;
  readonly clearance: string;
  readonly groups: readonly string[];
}

/** What became of the configured ADMIN_API_KEY, as the key store has it. */
export type BootstrapKeyState =
  /** It admits its holder. */
  | "active"
  /** A newer ADMIN_API_KEY value was registered, which revoked it. */
  | "replaced"
  /** Someone revoked it through the API (DELETE /v1/keys/:id). */
  | "revoked";

/** Revoking this key would leave no active admin key: nobody could manage keys any more. */
export class LastAdminKeyError extends Error {
  readonly statusCode = 409;
  readonly code = "last_admin_key";
  constructor() {
    super(
      "this is the last active admin key: revoking it would lock every administrator out; issue another admin key first (POST /v1/keys with role admin), then revoke this one",
    );
  }
}

export class KeyStore {
  constructor(private readonly db: Db) {}

  /**
   * The active key's id (what audit events name it by), role, clearance and groups; undefined
   * for an unknown or revoked key.
   */
  async find(key: string): Promise<({ id: string } & KeyGrant) | undefined> {
    const [row] = await this.db.query<{ id: string } & KeyGrant>(
      "SELECT id, role, clearance, groups FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
      [hashKey(key)],
    );
    return row;
  }

  /**
   * Issues a key; the plain key is returned once and never stored. `clearance` and `groups` are
   * checked by the caller (auth/access.ts); admin keys ignore them.
   */
  async create(
    name: string,
    role: Role,
    access: { clearance: string; groups?: readonly string[] },
  ): Promise<ApiKeyView & { key: string }> {
    const key = newKey();
    const groups = [...(access.groups ?? [])];
    const [row] = await this.db.query<{ id: string; created_at: Date | string }>(
      "INSERT INTO api_keys (name, role, key_hash, clearance, groups) VALUES ($1, $2, $3, $4, $5::text[]) RETURNING id, created_at",
      [name, role, hashKey(key), access.clearance, groups],
    );
    return {
      id: row!.id,
      name,
      role,
      clearance: access.clearance,
      groups,
      createdAt: new Date(row!.created_at).toISOString(),
      key,
    };
  }

  /**
   * Registers the configured bootstrap admin key (by hash; idempotent) and revokes the bootstrap
   * keys registered before it: rotating ADMIN_API_KEY retires the old key, which would otherwise
   * stay valid for good. Only older ones go, so a replica still started with the previous value
   * during a rollout revokes nothing newer; a key once replaced stays revoked (choose a new one).
   * Admin keys see every label: `clearance` is only what the row records.
   */
  async ensureBootstrap(key: string, clearance = "internal"): Promise<void> {
    const hash = hashKey(key);
    await this.db.query(
      `INSERT INTO api_keys (name, role, key_hash, clearance) VALUES ('${BOOTSTRAP_KEY_NAME}', 'admin', $1, $2) ON CONFLICT (key_hash) DO NOTHING`,
      [hash, clearance],
    );
    await this.db.query(
      `UPDATE api_keys SET revoked_at = now()
       WHERE name = '${BOOTSTRAP_KEY_NAME}' AND revoked_at IS NULL
         AND created_at < (SELECT created_at FROM api_keys WHERE key_hash = $1)`,
      [hash],
    );
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.db.query<{
      id: string;
      name: string;
      role: Role;
      clearance: string;
      groups: string[];
      created_at: Date | string;
    }>(
      "SELECT id, name, role, clearance, groups, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at",
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      clearance: r.clearance,
      groups: r.groups,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  /**
   * Revokes a key; false when there is no active key of that id. The last active admin key is
   * refused (LastAdminKeyError). The active admin keys are locked first, so two revocations at
   * once cannot each see the other's key and leave none.
   */
  async revoke(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const admins = await tx.query<{ id: string }>(
        "SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL ORDER BY id FOR UPDATE",
      );
      if (admins.length === 1 && admins[0]!.id === id) throw new LastAdminKeyError();
      const revoked = await tx.query(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        [id],
      );
      return revoked.length > 0;
    });
  }

  /** Whether the configured bootstrap key admits anyone, and if not, why not. */
  async bootstrapState(key: string): Promise<BootstrapKeyState> {
    const [row] = await this.db.query<{ revoked: boolean; replaced: boolean }>(
      `SELECT k.revoked_at IS NOT NULL AS revoked,
              EXISTS (SELECT 1 FROM api_keys n WHERE n.name = '${BOOTSTRAP_KEY_NAME}' AND n.created_at > k.created_at) AS replaced
       FROM api_keys k WHERE k.key_hash = $1`,
      [hashKey(key)],
    );
    if (!row?.revoked) return "active";
    return row.replaced ? "replaced" : "revoked";
  }
}
