/**
 * One SQL layer over a real PostgreSQL server (node-postgres) and embedded PGlite with
 * pgvector: both take PostgreSQL SQL with $n parameters, so everything above is shared.
 */
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import pg from "pg";
import type { RuntimeConfig } from "../config";

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** Runs `fn` in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Tries to create the pgvector extension; false when the server does not have it. */
  enablePgvector(): Promise<boolean>;
  close(): Promise<void>;
}

function sslFor(mode: RuntimeConfig["PGSSLMODE"]): pg.ClientConfig["ssl"] {
  switch (mode) {
    case undefined:
    case "disable":
      return false;
    case "prefer":
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
    case "verify-full":
      return { rejectUnauthorized: true };
    default: {
      const unreachable: never = mode;
      throw new Error(`unknown PGSSLMODE ${String(unreachable)}`);
    }
  }
}

class PostgresDb implements Db {
  readonly kind = "postgres" as const;
  constructor(private readonly pool: pg.Pool) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params as unknown[])).rows as T[];
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn({ query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[] });
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async enablePgvector(): Promise<boolean> {
    const available = await this.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'");
    if ((available[0]?.n ?? 0) === 0) return false;
    await this.query("CREATE EXTENSION IF NOT EXISTS vector");
    return true;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

type PGliteInstance = import("@electric-sql/pglite").PGlite;

class PGliteDb implements Db {
  readonly kind = "pglite" as const;
  constructor(private readonly db: PGliteInstance) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.db.query<T>(sql, params as unknown[])).rows;
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn({ query: async <R>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, params as unknown[])).rows }));
  }

  async enablePgvector(): Promise<boolean> {
    await this.db.exec("CREATE EXTENSION IF NOT EXISTS vector");
    return true;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * The password for each new server connection: with PGPASSWORD_FILE, the file as it is now (a
 * Kubernetes Secret volume follows rotations of the secret behind it, so connections opened
 * after RDS rotates its password use the new one without a restart); else PGPASSWORD.
 */
export function connectionPassword(config: RuntimeConfig): string | (() => Promise<string>) | undefined {
  const file = config.PGPASSWORD_FILE;
  return file ? async () => (await readFile(file, "utf8")).trim() : config.PGPASSWORD;
}

/** The server when DATABASE_URL or PGHOST is set; otherwise PGlite with pgvector under DATA_DIR. */
export async function openDb(config: RuntimeConfig): Promise<Db> {
  if (config.DATABASE_URL || config.PGHOST) {
    const pool = new pg.Pool(
      config.DATABASE_URL
        ? { connectionString: config.DATABASE_URL, max: 10 }
        : {
            host: config.PGHOST,
            port: config.PGPORT,
            database: config.PGDATABASE,
            user: config.PGUSER,
            password: connectionPassword(config),
            ssl: sslFor(config.PGSSLMODE),
            max: 10,
          },
    );
    pool.on("error", () => undefined); // idle-client errors surface on the next query
    return new PostgresDb(pool);
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { vector } = await import("@electric-sql/pglite-pgvector");
  const dir = config.DATA_DIR === ":memory:" ? undefined : resolve(join(config.DATA_DIR, "pglite"));
  if (dir) mkdirSync(dir, { recursive: true });
  // The extension package carries its own copy of the PGlite types; the instance is the same.
  return new PGliteDb((await PGlite.create({ dataDir: dir, extensions: { vector } })) as unknown as PGliteInstance);
}
