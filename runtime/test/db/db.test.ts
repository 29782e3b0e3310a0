/**
 * The server connection's password, following rotations without a restart: PGPASSWORD_FILE read
 * again for each new connection; PGPASSWORD_SECRET_ARN read from Secrets Manager (the real SDK,
 * against a local endpoint that answers its GetSecretValue calls), cached, and read again when
 * the server refuses it (a query that met a refused password runs once more). And how long a
 * query waits for a connection: a server that never answers, a pool with none free. And the
 * embedded database's folder, which one process at a time may open: a lock left by a process
 * that died is waited for and taken over, one whose process runs is refused at once.
 */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../../src/config";
import { connectionPassword, DataDirInUseError, openDb, PostgresDb } from "../../src/db/db";
import { freshDatabase, runEntry, silentServer } from "../support";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf";

describe("the server connection's password", () => {
  it("is read from PGPASSWORD_FILE for every new connection, not once", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "rag-pgpass-")), "PGPASSWORD");
    writeFileSync(file, "before-rotation\n");
    const config = loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD_FILE: file });
    expect(config.PGPASSWORD, "read at start too, so an unreadable file fails the start").toBe(
      "before-rotation",
    );
    const { password } = connectionPassword(config);
    expect(typeof password).toBe("function");
    expect(await (password as () => Promise<string>)()).toBe("before-rotation");
    writeFileSync(file, "after-rotation\n");
    expect(await (password as () => Promise<string>)()).toBe("after-rotation");
    expect(
      connectionPassword(loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD: "plain" }))
        .password,
    ).toBe("plain");
  });

  it("connects to the real server through the file", async () => {
    const { url, drop } = await freshDatabase();
    const target = new URL(url);
    const file = join(mkdtempSync(join(tmpdir(), "rag-pgpass-")), "PGPASSWORD");
    writeFileSync(file, "unused-under-trust-auth\n");
    const db = await openDb(
      loadRuntimeConfig({
        PGHOST: target.hostname,
        PGPORT: target.port || "5432",
        PGUSER: decodeURIComponent(target.username),
        PGDATABASE: target.pathname.slice(1),
        PGPASSWORD_FILE: file,
      }),
    );
    try {
      expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await drop();
    }
  });

  it("refuses a secret ARN that is not one, or given together with a password", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadRuntimeConfig(env);
      } catch (error) {
        if (error instanceof RuntimeConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems({ PGHOST: "h", PGPASSWORD_SECRET_ARN: "rds-master" })[0]).toMatch(
      /^PGPASSWORD_SECRET_ARN: got "rds-master"; must be a Secrets Manager secret ARN/,
    );
    expect(problems({ PGHOST: "h", PGPASSWORD_SECRET_ARN: ARN, PGPASSWORD: "p" })).toEqual([
      "PGPASSWORD_SECRET_ARN: set together with PGPASSWORD (or PGPASSWORD_FILE); give the password one way",
    ]);
  });
});

describe("the password from Secrets Manager", () => {
  let server: Server;
  const secrets = new Map<string, string>();
  const calls: string[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    // What the SDK's GetSecretValue call meets at AWS: JSON 1.1 over POST, the operation in X-Amz-Target.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        calls.push(`${String(req.headers["x-amz-target"])} ${SecretId}`);
        const value = secrets.get(SecretId);
        res.writeHead(value === undefined ? 400 : 200, {
          "content-type": "application/x-amz-json-1.1",
        });
        res.end(
          JSON.stringify(
            value === undefined
              ? {
                  __type: "ResourceNotFoundException",
                  message: "Secrets Manager can't find the specified secret.",
                }
              : { ARN: SecretId, Name: "rds", SecretString: value, VersionId: "v1" },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "test-secret-access-key";
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const passwordOf = (arn: string) => {
    const secret = connectionPassword(
      loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD_SECRET_ARN: arn }),
    );
    return { read: secret.password as () => Promise<string>, refresh: secret.refresh! };
  };

  it("reads the secret's password field once for many connections, and again when told the server refused it", async () => {
    secrets.set(ARN, JSON.stringify({ username: "rag", password: "first" }));
    calls.length = 0;
    const { read, refresh } = passwordOf(ARN);
    expect(await Promise.all([read(), read(), read()])).toEqual(["first", "first", "first"]);
    expect(calls).toEqual([`secretsmanager.GetSecretValue ${ARN}`]);
    secrets.set(ARN, JSON.stringify({ username: "rag", password: "rotated" }));
    expect(await read(), "cached until refused").toBe("first");
    refresh();
    expect(await read()).toBe("rotated");
    expect(calls).toHaveLength(2);
  });

  it("names the secret and the reason when it cannot be read, and tries again at the next connection", async () => {
    const missing = ARN.replace("1234", "9999");
    const { read } = passwordOf(missing);
    await expect(read()).rejects.toThrow(
      `cannot read the database password from ${missing} (Secrets Manager can't find the specified secret.)`,
    );
    secrets.set(missing, JSON.stringify({ username: "rag" }));
    await expect(read()).rejects.toThrow(`the secret ${missing} has no password field`);
    secrets.set(missing, JSON.stringify({ password: "found" }));
    expect(await read()).toBe("found");
  });

  it("runs a query again, with the password read afresh, when the server refused the first one", async () => {
    const { url, drop } = await freshDatabase();
    let attempts = 0;
    let refreshed = 0;
    // The machine's server trusts 127.0.0.1 and never asks for a password: the first connection
    // is refused the way a server refuses a rotated-away password; the next goes through.
    class RotatedClient extends pg.Client {}
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the client as `this`, below
    const realConnect = pg.Client.prototype.connect as (
      this: pg.Client,
      callback?: (err: Error | null) => void,
    ) => Promise<void> | void;
    RotatedClient.prototype.connect = function (
      this: pg.Client,
      callback?: (err: Error | null) => void,
    ) {
      attempts++;
      if (attempts > 1) return realConnect.call(this, callback);
      const refused = Object.assign(new Error('password authentication failed for user "rag"'), {
        code: "28P01",
      });
      if (callback) return void setImmediate(() => callback(refused));
      return Promise.reject(refused);
    } as pg.Client["connect"];
    const pool = new pg.Pool({
      connectionString: url,
      Client: RotatedClient as unknown as new () => pg.ClientBase,
    });
    const db = new PostgresDb(pool, () => refreshed++);
    try {
      expect(await db.query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
      expect({ attempts, refreshed }).toEqual({ attempts: 2, refreshed: 1 });
      const other = Object.assign(new Error("relation does not exist"), { code: "42P01" });
      await expect(db.transaction(() => Promise.reject(other))).rejects.toBe(other);
      await expect(db.query("SELECT * FROM no_such_table")).rejects.toMatchObject({
        code: "42P01",
      });
      expect(refreshed, "only a refused password is retried").toBe(1);
    } finally {
      await db.close();
      await drop();
    }
  });
});

describe("waiting on the server", () => {
  it(
    "gives up on a server that accepts connections and never answers, after PGCONNECT_TIMEOUT",
    { timeout: 15_000 },
    async () => {
      const silent = await silentServer();
      const db = await openDb(
        loadRuntimeConfig({
          DATABASE_URL: `postgres://rag@127.0.0.1:${silent.port}/rag`,
          PGCONNECT_TIMEOUT: "1",
        }),
      );
      try {
        await expect(db.query("SELECT 1")).rejects.toThrow(/timeout/i);
      } finally {
        await db.close();
        await silent.close();
      }
    },
  );

  it(
    "waits at most PGCONNECT_TIMEOUT for a free connection when the pool is taken",
    { timeout: 15_000 },
    async () => {
      const database = await freshDatabase();
      const db = await openDb(
        loadRuntimeConfig({ DATABASE_URL: database.url, PGCONNECT_TIMEOUT: "1" }),
      );
      try {
        // Ten sessions (the pool's size) held by a sleep: the eleventh query finds no connection.
        const held = Array.from({ length: 10 }, () => db.query("SELECT pg_sleep(3)"));
        await expect(db.query("SELECT 1")).rejects.toThrow(/timeout/i);
        await Promise.all(held);
        expect(await db.query<{ n: number }>("SELECT 1 AS n")).toEqual([{ n: 1 }]);
      } finally {
        await db.close();
        await database.drop();
      }
    },
  );
});

describe("the embedded database's folder", () => {
  it("is one process's: a second open is refused with what to do, and allowed once the first has closed", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rag-lock-"));
    const config = loadRuntimeConfig({ DATA_DIR: dataDir });
    const first = await openDb(config);
    await first.query("CREATE TABLE notes (body text)");
    await first.query("INSERT INTO notes VALUES ('written by the first')");
    const second = openDb(config);
    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toThrow(
      `the embedded database in ${join(dataDir, "pglite")} is in use by another runtime process: run the API and the worker as one process (npm run runtime), stop the other one first`,
    );
    // The refused open touched nothing: the first goes on.
    expect(await first.query("SELECT body FROM notes")).toEqual([{ body: "written by the first" }]);
    await first.close();
    const third = await openDb(config);
    expect(await third.query("SELECT body FROM notes")).toEqual([{ body: "written by the first" }]);
    await third.close();
  });

  /** A lock as a process left it, just refreshed: its folder, and who held it. */
  function leftLock(owner: { pid: number; host: string }): string {
    const dataDir = mkdtempSync(join(tmpdir(), "rag-lock-"));
    mkdirSync(join(dataDir, "pglite.lock"));
    writeFileSync(join(dataDir, "pglite.owner"), JSON.stringify(owner));
    return dataDir;
  }
  /** No process has this id (above Linux's largest). */
  const GONE = 2 ** 30;

  it(
    "waits for the lock of a process that died (killed, or crashed) to go stale, then takes it over",
    { timeout: 20_000 },
    async () => {
      const dataDir = leftLock({ pid: GONE, host: hostname() });
      const waits: string[] = [];
      const started = Date.now();
      const db = await openDb(
        loadRuntimeConfig({ DATA_DIR: dataDir, DATA_DIR_LOCK_STALE_SECONDS: "3" }),
        (line) => waits.push(line),
      );
      try {
        expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
        expect(waits).toEqual([
          `the embedded database in ${join(dataDir, "pglite")} is locked by a runtime process that stopped without letting go (killed, or crashed): waiting at most 3 s for the lock to go stale (DATA_DIR_LOCK_STALE_SECONDS), then taking it over`,
        ]);
        expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      } finally {
        await db.close();
      }
    },
  );

  it("refuses at once, rather than wait past STARTUP_TIMEOUT_SECONDS for a stale lock", async () => {
    const dataDir = leftLock({ pid: GONE, host: hostname() });
    const config = loadRuntimeConfig({ DATA_DIR: dataDir, STARTUP_TIMEOUT_SECONDS: "10" });
    const started = Date.now();
    await expect(openDb(config, () => undefined)).rejects.toThrow(
      new DataDirInUseError(
        `the embedded database in ${join(dataDir, "pglite")} is locked by a runtime process that stopped without letting go (killed, or crashed): its lock is taken over 60 s from now (DATA_DIR_LOCK_STALE_SECONDS), past STARTUP_TIMEOUT_SECONDS; start again then, or stop the other process`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it(
    "refuses a lock its process keeps refreshing from another host, within one refresh interval",
    { timeout: 20_000 },
    async () => {
      const dataDir = leftLock({ pid: process.pid, host: "another-host" });
      const lock = join(dataDir, "pglite.lock");
      const refresh = setInterval(() => {
        const now = new Date();
        utimesSync(lock, now, now);
      }, 300);
      try {
        const started = Date.now();
        await expect(
          openDb(
            loadRuntimeConfig({ DATA_DIR: dataDir, DATA_DIR_LOCK_STALE_SECONDS: "12" }),
            () => undefined,
          ),
        ).rejects.toThrow(/is in use by another runtime process/);
        // The holder refreshes every 2 s (a sixth of 12): one interval tells it runs.
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        clearInterval(refresh);
      }
    },
  );

  it(
    "stops another command (the re-embedding run) at once, in one line, while the runtime has it",
    { timeout: 60_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "rag-lock-"));
      const held = await openDb(loadRuntimeConfig({ DATA_DIR: dataDir }));
      try {
        const run = await runEntry("reembed", [], { DATA_DIR: dataDir, LOG_LEVEL: "error" });
        expect(run.code).toBe(1);
        expect(run.stderr).toContain("is in use by another runtime process");
      } finally {
        await held.close();
      }
    },
  );
});
