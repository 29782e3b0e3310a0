/**
 * Entry point: makes the database users the workloads sign in as with RDS IAM tokens
 * (db/iam-users.ts), once, with the master password: `node dist/bootstrap-db-users.js rag_api
 * rag_index`, with PGHOST, PGUSER and the master's PGPASSWORD_SECRET_ARN (or PGPASSWORD).
 * Creates pgvector first when the server has it (the workloads' users cannot). Safe to run again.
 */
import { loadRuntimeConfig } from "./config";
import { openDb } from "./db/db";
import { createIamUsers } from "./db/iam-users";

const say = (line: string) => console.log(`bootstrap-db-users: ${line}`);

async function main(users: readonly string[]): Promise<void> {
  const config = loadRuntimeConfig();
  if (config.DATABASE_AUTH !== "password")
    throw new Error(
      `DATABASE_AUTH: got ${config.DATABASE_AUTH}; this runs with the master password (DATABASE_AUTH=password), which can create users`,
    );
  if (!config.DATABASE_URL && !config.PGHOST)
    throw new Error("PGHOST: required (the users are made on a PostgreSQL server)");
  const db = await openDb(config, say);
  try {
    say(`pgvector ${(await db.enablePgvector()) ? "present" : "not available on this server"}`);
    await createIamUsers(db, users);
    say(`${users.join(", ")}: sign in with IAM tokens, acting as the schema's owner`);
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    // One readable line (a bad setting, an unreachable database), never a stack trace or a secret.
    console.error(`bootstrap-db-users: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
