/**
 * The database users that sign in with RDS IAM tokens (DATABASE_AUTH=aws-rds-iam), one per
 * workload, made once with the master password. Every process applies the migrations at start
 * (schema.ts), so each workload creates tables: they all act as one owner role, `rag_owner`
 * (NOLOGIN), which owns the schema's objects. A workload's user holds `rds_iam` (RDS then takes
 * only a token from it), `rag_owner`, and nothing of the master's: no rds_superuser, no
 * CREATEROLE, no CREATEDB, no password.
 */
import type { Db, Queryable } from "./db";

/** The role owning the schema's objects, which each workload's user acts as. */
export const SCHEMA_OWNER_ROLE = "rag_owner";
/** RDS's built-in role: its members sign in with IAM tokens only. */
export const RDS_IAM_ROLE = "rds_iam";
/** A workload's user name: what RDS's `dbuser:` ARN and PostgreSQL both take unquoted. */
export const DB_USER_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Runs `sql` as a DO block: a statement that depends on what exists. */
const doBlock = (sql: string) => `DO $$ BEGIN ${sql} END $$`;

/** The statements making `users` (idempotent: a second run changes nothing). */
export function iamUserStatements(users: readonly string[]): string[] {
  const bad = users.filter((u) => !DB_USER_NAME.test(u) || u === SCHEMA_OWNER_ROLE);
  if (users.length === 0 || bad.length > 0)
    throw new Error(
      `database users: ${bad.length ? `not a user name: ${bad.map((u) => JSON.stringify(u)).join(", ")}` : "none given"} (lower-case letters, digits and _, at most 63, not ${SCHEMA_OWNER_ROLE})`,
    );
  const owner = SCHEMA_OWNER_ROLE;
  const ensureRole = (name: string, attributes: string) =>
    doBlock(
      `IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') THEN CREATE ROLE ${name} ${attributes}; END IF;`,
    );
  return [
    ensureRole(owner, "NOLOGIN"),
    // On RDS the master is no superuser: it hands its objects over as a member of the owner.
    `GRANT ${owner} TO CURRENT_USER`,
    `GRANT USAGE, CREATE ON SCHEMA public TO ${owner}`,
    // What the runtime made while it signed in as the master becomes the owner's (pgvector's own
    // objects stay the extension's).
    doBlock(`DECLARE o record; BEGIN
      FOR o IN SELECT c.oid::regclass AS name,
          CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER)
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
      LOOP EXECUTE format('ALTER %s %s OWNER TO ${owner}', o.kind, o.name); END LOOP;
      FOR o IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER)
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
      LOOP EXECUTE format('ALTER ROUTINE %s OWNER TO ${owner}', o.name); END LOOP;
    END;`),
    ...users.flatMap((user) => [
      ensureRole(user, "LOGIN"),
      // A token only, never a password. (RDS's master cannot give SUPERUSER, REPLICATION or
      // BYPASSRLS, nor name them.)
      `ALTER ROLE ${user} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD NULL`,
      `GRANT ${RDS_IAM_ROLE}, ${owner} TO ${user}`,
      // What its processes create (the vector table, the next migrations) is the owner's.
      `ALTER ROLE ${user} SET role = '${owner}'`,
    ]),
  ];
}

/** Makes the users in one transaction: all of them, or none. */
export async function createIamUsers(db: Db, users: readonly string[]): Promise<void> {
  const statements = iamUserStatements(users);
  await db.transaction(async (tx: Queryable) => {
    for (const sql of statements) await tx.query(sql);
  });
}
