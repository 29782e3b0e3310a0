/**
 * DATABASE_AUTH=aws-rds-iam: the pool signs a token for each new connection with the signer it
 * is given (AWS's in production), for the server, port, user and region of the config, and sends
 * it only over TLS that checks the server. Against the real PostgreSQL, through a doorman that
 * asks for a password as RDS does (the local server trusts everyone, so it would never ask).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { postgresPoolConfig, rdsSigner, type RdsTokenTarget } from "../../src/db/db";
import { PG_ADMIN_URL } from "../support";

const IAM = { DATABASE_AUTH: "aws-rds-iam", DATABASE_AWS_REGION: "eu-west-1" };

/** A signer that records what it was asked to sign for and hands out numbered tokens. */
function recordingSigner() {
  const targets: RdsTokenTarget[] = [];
  let issued = 0;
  return {
    targets,
    issued: () => issued,
    signer: (target: RdsTokenTarget) => {
      targets.push(target);
      return async () => `token-${++issued}`;
    },
  };
}

describe("the pool's password under aws-rds-iam", () => {
  it("is a function signing for PGHOST, PGPORT, PGUSER and DATABASE_AWS_REGION", async () => {
    const rec = recordingSigner();
    const { pool, refresh } = postgresPoolConfig(
      loadRuntimeConfig({
        ...IAM,
        PGHOST: "rag.cluster-abc.eu-west-1.rds.amazonaws.com",
        PGPORT: "5433",
        PGUSER: "rag_api",
        PGDATABASE: "rag",
      }),
      rec.signer,
    );
    expect(rec.targets).toEqual([
      {
        hostname: "rag.cluster-abc.eu-west-1.rds.amazonaws.com",
        port: 5433,
        username: "rag_api",
        region: "eu-west-1",
      },
    ]);
    expect(pool).toMatchObject({
      host: "rag.cluster-abc.eu-west-1.rds.amazonaws.com",
      port: 5433,
      user: "rag_api",
      database: "rag",
    });
    expect(refresh, "a token is never cached, so there is nothing to forget").toBeUndefined();
    const password = pool.password as () => Promise<string>;
    expect(await password()).toBe("token-1");
    expect(await password(), "a fresh token each time").toBe("token-2");
  });

  it("signs for DATABASE_URL's server and user when the server is given as a URL", () => {
    const rec = recordingSigner();
    const { pool } = postgresPoolConfig(
      loadRuntimeConfig({ ...IAM, DATABASE_URL: "postgres://rag_index@db.internal/rag" }),
      rec.signer,
    );
    expect(rec.targets).toEqual([
      { hostname: "db.internal", port: 5432, username: "rag_index", region: "eu-west-1" },
    ]);
    expect(pool.connectionString, "the URL is taken apart, not handed to pg").toBeUndefined();
    expect(pool.database).toBe("rag");
  });

  it("checks the server's certificate and name unless PGSSLMODE says verify-ca", () => {
    const ssl = (env: Record<string, string>) =>
      postgresPoolConfig(
        loadRuntimeConfig({ ...IAM, PGHOST: "db.internal", PGUSER: "rag_api", ...env }),
        recordingSigner().signer,
      ).pool.ssl as { rejectUnauthorized: boolean; checkServerIdentity?: unknown };
    expect(ssl({})).toEqual({ rejectUnauthorized: true, ca: undefined });
    expect(ssl({ PGSSLMODE: "verify-ca" })).toMatchObject({ rejectUnauthorized: true });
    expect(ssl({ PGSSLMODE: "verify-ca" }).checkServerIdentity).toBeTypeOf("function");
  });

  it("is not used with password auth: PGPASSWORD goes to pg as it is", () => {
    const rec = recordingSigner();
    const { pool } = postgresPoolConfig(
      loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD: "plain" }),
      rec.signer,
    );
    expect(rec.targets).toEqual([]);
    expect(pool.password).toBe("plain");
  });
});

describe("AWS's signer", () => {
  it("signs a 15-minute connect token for the user, server and region with the process's credentials", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    try {
      const token = await rdsSigner({
        hostname: "rag.cluster-abc.eu-west-1.rds.amazonaws.com",
        port: 5432,
        username: "rag_api",
        region: "eu-west-1",
      })();
      const url = new URL(`https://${token}`);
      expect(url.host).toBe("rag.cluster-abc.eu-west-1.rds.amazonaws.com:5432");
      expect(url.searchParams.get("Action")).toBe("connect");
      expect(url.searchParams.get("DBUser")).toBe("rag_api");
      expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
      expect(url.searchParams.get("X-Amz-Credential")).toMatch(
        /^AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/,
      );
    } finally {
      for (const [name, value] of [
        ["AWS_ACCESS_KEY_ID", saved.id],
        ["AWS_SECRET_ACCESS_KEY", saved.key],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });
});

/**
 * Sits before the real server and asks each connection for a cleartext password (as RDS asks
 * for the token), records it, then hands the connection's startup to the server and steps aside.
 */
async function passwordDoorman(upstream: URL): Promise<{
  port: number;
  passwords: string[];
  close: () => Promise<void>;
}> {
  const passwords: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    let buffered = Buffer.alloc(0);
    let startup: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!startup) {
        if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return;
        startup = buffered.subarray(0, buffered.readInt32BE(0));
        buffered = buffered.subarray(startup.length);
        // AuthenticationCleartextPassword: 'R', length 8, code 3.
        client.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      }
      // PasswordMessage: 'p', length, the password and a NUL.
      if (buffered.length < 5 || buffered.length < 1 + buffered.readInt32BE(1)) return;
      const length = buffered.readInt32BE(1);
      passwords.push(buffered.subarray(5, length).toString("utf8"));
      client.off("data", onData);
      client.pause();
      const server = connect(Number(upstream.port || 5432), upstream.hostname, () => {
        server.write(startup!);
        client.pipe(server);
        server.pipe(client);
      });
      sockets.add(server);
      const end = () => {
        client.destroy();
        server.destroy();
      };
      server.on("error", end).on("close", end);
      client.on("close", end);
    };
    client.on("data", onData).on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    passwords,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("a pool signing in with tokens, against the real PostgreSQL", () => {
  let doorman: Awaited<ReturnType<typeof passwordDoorman>>;
  const admin = new URL(PG_ADMIN_URL);

  beforeAll(async () => {
    doorman = await passwordDoorman(admin);
  });
  afterAll(() => doorman.close());

  it("signs a new token for every new connection, and none for a reused one", async () => {
    const rec = recordingSigner();
    const { pool: options } = postgresPoolConfig(
      loadRuntimeConfig({
        ...IAM,
        PGHOST: "127.0.0.1",
        PGPORT: String(doorman.port),
        PGUSER: decodeURIComponent(admin.username),
        PGDATABASE: admin.pathname.slice(1),
        PGSSLMODE: "verify-full",
      }),
      rec.signer,
    );
    // The local server speaks no TLS; the pool's TLS options are checked above and in ssl.test.ts.
    const pool = new pg.Pool({ ...options, ssl: false, idleTimeoutMillis: 200 });
    try {
      const sessions = await Promise.all(
        [1, 2, 3].map(async () => {
          const client = await pool.connect();
          try {
            const [row] = (await client.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.1)"))
              .rows as { pid: number }[];
            return row!.pid;
          } finally {
            client.release();
          }
        }),
      );
      expect(new Set(sessions).size, "three connections at once").toBe(3);
      expect([...doorman.passwords].sort(), "each sent the token signed for it").toEqual([
        "token-1",
        "token-2",
        "token-3",
      ]);
      await pool.query("SELECT 1");
      expect(rec.issued(), "an idle connection is reused without a new token").toBe(3);
      // Idle connections close (as they do after pg's idle timeout in production); the next
      // query opens one, with a token signed now.
      await new Promise((r) => setTimeout(r, 600));
      expect(pool.totalCount).toBe(0);
      await pool.query("SELECT 1");
      expect(rec.issued()).toBe(4);
      expect(doorman.passwords.at(-1)).toBe("token-4");
      expect(rec.targets, "one signer for the pool's life").toHaveLength(1);
    } finally {
      await pool.end();
    }
  });
});
