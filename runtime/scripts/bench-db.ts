/**
 * A fresh database on a PostgreSQL server (the benchmark's by default; the tests pass theirs),
 * dropped by the returned function.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";

export const BENCH_PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export async function freshPgDatabase(
  adminUrl = BENCH_PG_URL,
  prefix = "rag_bench_",
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
