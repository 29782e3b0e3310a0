/**
 * One SQL layer over a real PostgreSQL server (node-postgres) and embedded PGlite with
 * pgvector: both take PostgreSQL SQL with $n parameters, so everything above is shared.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
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

/**
 * TLS to the server as libpq reads PGSSLMODE and PGSSLROOTCERT: `require` encrypts without
 * checking the certificate, unless a root certificate file is given (then, as libpq does, it
 * checks the chain: `verify-ca`); `verify-ca` checks the chain and not the name; `verify-full`
 * checks both. The root file replaces Node.js's own roots for this connection.
 */
export function sslFor(
  mode: RuntimeConfig["PGSSLMODE"],
  rootCertFile?: string,
): pg.ClientConfig["ssl"] {
  const ca = rootCertFile ? readFileSync(rootCertFile, "utf8") : undefined;
  const chainOnly = { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
  switch (mode) {
    case undefined:
    case "disable":
      return false;
    case "prefer":
    case "require":
      return ca ? chainOnly : { rejectUnauthorized: false };
    case "verify-ca":
      return chainOnly;
    case "verify-full":
      return { rejectUnauthorized: true, ca };
    default: {
      const unreachable: never = mode;
      throw new Error(`unknown PGSSLMODE ${String(unreachable)}`);
    }
  }
}

/** SQLSTATE invalid_password: the server refused the password (it was rotated). */
const INVALID_PASSWORD = "28P01";

export class PostgresDb implements Db {
  readonly kind = "postgres" as const;
  constructor(
    private readonly pool: pg.Pool,
    /** Forgets a cached password; undefined when there is none to read again. */
    private readonly refreshPassword?: () => void,
  ) {}

  /** Runs `fn` again once, with the password read afresh, when a new connection's password was refused (nothing ran). */
  private async withCurrentPassword<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if ((error as { code?: string }).code !== INVALID_PASSWORD || !this.refreshPassword)
        throw error;
      this.refreshPassword();
      return fn();
    }
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.withCurrentPassword(
      async () => (await this.pool.query(sql, params as unknown[])).rows as T[],
    );
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.withCurrentPassword(() => this.pool.connect());
    try {
      await client.query("BEGIN");
      const result = await fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) =>
          (await client.query(sql, params as unknown[])).rows as R[],
      });
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
    const available = await this.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'",
    );
    if ((available[0]?.n ?? 0) === 0) return false;
    await this.query("CREATE EXTENSION IF NOT EXISTS vector");
    return true;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

type PGliteInstance = import("@electric-sql/pglite").PGlite;

/**
 * PGlite runs in this thread, and its promises chain from one statement to the next without
 * the event loop getting a turn: a long ingest would hold every request (even /healthz) until it
 * commits. Each statement first lets the event loop run, so requests are answered in between.
 */
const eventLoopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

class PGliteDb implements Db {
  readonly kind = "pglite" as const;
  constructor(
    private readonly db: PGliteInstance,
    private readonly unlock: () => Promise<void> = async () => undefined,
  ) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    await eventLoopTurn();
    return (await this.db.query<T>(sql, params as unknown[])).rows;
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    await eventLoopTurn();
    return this.db.transaction((tx) =>
      fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => {
          await eventLoopTurn();
          return (await tx.query<R>(sql, params as unknown[])).rows;
        },
      }),
    );
  }

  async enablePgvector(): Promise<boolean> {
    await this.db.exec("CREATE EXTENSION IF NOT EXISTS vector");
    return true;
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      await this.unlock();
    }
  }
}

/** The embedded database's folder is open in another process (PGlite is one process's database). */
export class DataDirInUseError extends Error {}

/** How a starting process treats a data dir lock another process holds. */
export interface DataDirLockOptions {
  /** A lock not refreshed for this long is taken over (its process died without letting go). */
  readonly staleMs: number;
  /** The longest to wait for a lock to go stale; past that the open is refused at once. */
  readonly waitMs: number;
  /** Told once when the open waits for a stale lock, and for how long at most. */
  readonly onWait: (line: string) => void;
}

/** Folders this process holds: a second open of one in the same process is refused at once. */
const heldHere = new Set<string>();

interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

const ownerFile = (dir: string) => `${dir}.owner`;

/** Whether the process that wrote the owner file still runs. Undefined when this host cannot tell. */
async function ownerAlive(dir: string): Promise<boolean | undefined> {
  let owner: LockOwner;
  try {
    owner = JSON.parse(await readFile(ownerFile(dir), "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
  if (owner.host !== hostname()) return undefined;
  // A container restarted in place runs as the same pid as before: that one is gone.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

function inUse(dir: string): DataDirInUseError {
  return new DataDirInUseError(
    `the embedded database in ${dir} is in use by another runtime process: run the API and the worker as one process (npm run runtime), stop the other one first, or give each its own DATA_DIR (or a DATABASE_URL)`,
  );
}

/**
 * Takes the embedded database's folder for this process, or says who has it. PGlite itself does
 * not stop a second process from opening the same folder, and two writing it corrupt it. The
 * holder refreshes its lock every sixth of `staleMs`; a lock left unrefreshed that long belongs to
 * a process that died (kill -9, a crash) and is taken over. A lock whose process still runs (on
 * this host, or refreshing it) is refused at once; one that may be abandoned is waited for, up to
 * `waitMs`.
 */
async function lockDataDir(dir: string, options: DataDirLockOptions): Promise<() => Promise<void>> {
  const lockfile = await import("proper-lockfile");
  const updateMs = Math.max(1000, Math.round(options.staleMs / 6));
  const deadline = Date.now() + options.waitMs;
  let firstSeen: number | undefined;
  for (;;) {
    if (heldHere.has(dir)) throw inUse(dir);
    try {
      const release = await lockfile.lock(dir, {
        stale: options.staleMs,
        update: updateMs,
        realpath: false,
      });
      heldHere.add(dir);
      const owner: LockOwner = { pid: process.pid, host: hostname() };
      await writeFile(ownerFile(dir), JSON.stringify(owner)).catch(() => undefined);
      return async () => {
        heldHere.delete(dir);
        await release();
      };
    } catch (error) {
      if ((error as { code?: string }).code !== "ELOCKED") throw error;
    }
    const refreshed = await stat(`${dir}.lock`).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (refreshed === undefined) continue; // let go meanwhile: take it
    const alive = await ownerAlive(dir);
    if (alive === true) throw inUse(dir);
    if (firstSeen !== undefined && refreshed !== firstSeen) throw inUse(dir);
    const staleInMs = Math.max(0, refreshed + options.staleMs - Date.now());
    const holder =
      alive === false
        ? "a runtime process that stopped without letting go (killed, or crashed)"
        : "a runtime process that is not running on this host, or stopped without letting go";
    if (Date.now() + staleInMs > deadline)
      throw new DataDirInUseError(
        `the embedded database in ${dir} is locked by ${holder}: its lock is taken over ${Math.ceil(staleInMs / 1000)} s from now (DATA_DIR_LOCK_STALE_SECONDS), past STARTUP_TIMEOUT_SECONDS; start again then, or stop the other process`,
      );
    if (firstSeen === undefined) {
      firstSeen = refreshed;
      options.onWait(
        `the embedded database in ${dir} is locked by ${holder}: waiting at most ${Math.ceil(staleInMs / 1000)} s for the lock to go stale (DATA_DIR_LOCK_STALE_SECONDS), then taking it over`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(updateMs, staleInMs + 50)));
  }
}

export interface ConnectionPassword {
  /** What pg asks for each new connection. */
  readonly password: string | (() => Promise<string>) | undefined;
  /** Forgets a cached password, after the server refused it. */
  readonly refresh?: () => void;
}

/** A secret's value from Secrets Manager (the region is the ARN's). */
export async function secretString(arn: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } =
    await import("@aws-sdk/client-secrets-manager");
  const client = new SecretsManagerClient({ region: arn.split(":")[3] });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (SecretString === undefined) throw new Error("it holds no string");
    return SecretString;
  } finally {
    client.destroy();
  }
}

/** How long a password read from Secrets Manager is reused for new connections (a refused one is read again at once). */
const SECRET_PASSWORD_TTL_MS = 5 * 60_000;

/**
 * The password for each new server connection, following rotations (RDS rotates its managed
 * master password every 7 days) without a restart:
 * - PGPASSWORD_SECRET_ARN: the `password` field of that Secrets Manager secret (RDS's own, read
 *   with the task's role), cached for 5 minutes and read again as soon as the server refuses it;
 * - PGPASSWORD_FILE: the file as it is now (a Kubernetes Secret volume follows the secret);
 * - else PGPASSWORD, fixed.
 */
export function connectionPassword(
  config: RuntimeConfig,
  read: (arn: string) => Promise<string> = secretString,
): ConnectionPassword {
  const arn = config.PGPASSWORD_SECRET_ARN;
  if (arn) {
    const fetchPassword = async (): Promise<string> => {
      let field: unknown;
      try {
        field = (JSON.parse(await read(arn)) as { password?: unknown }).password;
      } catch (error) {
        throw new Error(
          `cannot read the database password from ${arn} (${(error as Error).message})`,
          { cause: error },
        );
      }
      if (typeof field !== "string") throw new Error(`the secret ${arn} has no password field`);
      return field;
    };
    let cached: { value: Promise<string>; at: number } | undefined;
    const password = (): Promise<string> => {
      if (!cached || Date.now() - cached.at > SECRET_PASSWORD_TTL_MS) {
        const value = fetchPassword();
        cached = { value, at: Date.now() };
        // A failed read is not reused: the next connection tries again.
        value.catch(() => {
          if (cached?.value === value) cached = undefined;
        });
      }
      return cached.value;
    };
    return { password, refresh: () => (cached = undefined) };
  }
  const file = config.PGPASSWORD_FILE;
  return { password: file ? async () => (await readFile(file, "utf8")).trim() : config.PGPASSWORD };
}

/** The server, user and region an RDS IAM token is signed for. */
export interface RdsTokenTarget {
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
  readonly region: string;
}

/** Gives the function that signs a fresh token for `target`, once per call. */
export type RdsTokenSigner = (target: RdsTokenTarget) => () => Promise<string>;

/**
 * AWS's signer (@aws-sdk/rds-signer), with the process's AWS credentials (EKS Pod Identity):
 * signing is local, so each new connection gets a token of its own. Loaded on first use, so
 * other processes never load it.
 */
export const rdsSigner: RdsTokenSigner = (target) => {
  let signer: Promise<import("@aws-sdk/rds-signer").Signer> | undefined;
  return async () => {
    signer ??= import("@aws-sdk/rds-signer").then(({ Signer }) => new Signer({ ...target }));
    return (await signer).getAuthToken();
  };
};

/** Where DATABASE_AUTH=aws-rds-iam connects: DATABASE_URL's server and user, or the PG* variables. */
function iamTarget(config: RuntimeConfig): RdsTokenTarget & { database?: string } {
  const url = config.DATABASE_URL ? new URL(config.DATABASE_URL) : undefined;
  const region = config.DATABASE_AWS_REGION;
  const username = url?.username ? decodeURIComponent(url.username) : config.PGUSER;
  const hostname = url?.hostname || config.PGHOST;
  // loadRuntimeConfig refuses aws-rds-iam without these; a config built another way is caught here.
  if (!region || !username || !hostname)
    throw new Error(
      "DATABASE_AUTH=aws-rds-iam needs DATABASE_AWS_REGION, a user and a host (loadRuntimeConfig checks them)",
    );
  const database = url ? decodeURIComponent(url.pathname.slice(1)) || undefined : config.PGDATABASE;
  return {
    hostname,
    port: url?.port ? Number(url.port) : config.PGPORT,
    username,
    region,
    ...(database ? { database } : {}),
  };
}

/**
 * node-postgres's pool options for the server, and how to forget a cached password. With
 * DATABASE_AUTH=aws-rds-iam the password is a function pg calls for each new connection: it
 * signs a token (valid 15 minutes; a connection open longer stays open, the token is only
 * checked at sign-in), and TLS checks the server's certificate (verify-full unless PGSSLMODE
 * says verify-ca) against Node.js's roots and NODE_EXTRA_CA_CERTS (the image's RDS bundle), or
 * PGSSLROOTCERT.
 */
export function postgresPoolConfig(
  config: RuntimeConfig,
  signer: RdsTokenSigner = rdsSigner,
): { pool: pg.PoolConfig; refresh?: () => void } {
  // Bounded waits: a server that does not answer (a failover under way, a network cut) or a
  // pool with no free connection fails the request in seconds instead of holding it; TCP
  // keepalive finds connections to a server that went away without closing them.
  const limits = {
    max: 10,
    connectionTimeoutMillis: config.PGCONNECT_TIMEOUT * 1000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const auth = config.DATABASE_AUTH;
  switch (auth) {
    case "aws-rds-iam": {
      const { database, ...target } = iamTarget(config);
      return {
        pool: {
          host: target.hostname,
          port: target.port,
          user: target.username,
          database,
          password: signer(target),
          ssl: sslFor(config.PGSSLMODE ?? "verify-full", config.PGSSLROOTCERT),
          ...limits,
        },
      };
    }
    case "password": {
      const secret = connectionPassword(config);
      return {
        pool: config.DATABASE_URL
          ? { connectionString: config.DATABASE_URL, ...limits }
          : {
              host: config.PGHOST,
              port: config.PGPORT,
              database: config.PGDATABASE,
              user: config.PGUSER,
              password: secret.password,
              ssl: sslFor(config.PGSSLMODE, config.PGSSLROOTCERT),
              ...limits,
            },
        ...(secret.refresh ? { refresh: secret.refresh } : {}),
      };
    }
    default: {
      const unknown: never = auth;
      throw new Error(`unknown DATABASE_AUTH ${String(unknown)}`);
    }
  }
}

/**
 * The server when DATABASE_URL or PGHOST is set; otherwise PGlite with pgvector under DATA_DIR.
 * `onLockWait` hears when DATA_DIR's lock is waited for (by default, a line on standard error).
 */
export async function openDb(
  config: RuntimeConfig,
  onLockWait: (line: string) => void = (line) => console.error(`rag-runtime: ${line}`),
): Promise<Db> {
  if (config.DATABASE_URL || config.PGHOST) {
    const { pool: poolConfig, refresh } = postgresPoolConfig(config);
    const pool = new pg.Pool(poolConfig);
    pool.on("error", () => undefined); // idle-client errors surface on the next query
    return new PostgresDb(pool, refresh);
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { vector } = await import("@electric-sql/pglite-pgvector");
  const dir = config.DATA_DIR === ":memory:" ? undefined : resolve(join(config.DATA_DIR, "pglite"));
  if (!dir)
    return new PGliteDb(
      (await PGlite.create({ extensions: { vector } })) as unknown as PGliteInstance,
    );
  mkdirSync(dir, { recursive: true });
  const unlock = await lockDataDir(dir, {
    staleMs: config.DATA_DIR_LOCK_STALE_SECONDS * 1000,
    waitMs: config.STARTUP_TIMEOUT_SECONDS * 1000,
    onWait: onLockWait,
  });
  try {
    // The extension package carries its own copy of the PGlite types; the instance is the same.
    return new PGliteDb(
      (await PGlite.create({ dataDir: dir, extensions: { vector } })) as unknown as PGliteInstance,
      unlock,
    );
  } catch (error) {
    await unlock();
    throw error;
  }
}
