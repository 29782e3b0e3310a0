/**
 * The workloads' IAM users, made with the master's connection on the real PostgreSQL (as the
 * bootstrap Job does on Aurora): what each user may do, that a workload's migrations and tables
 * belong to the shared owner so another workload can migrate them, and that a second run
 * changes nothing. `rds_iam` is RDS's built-in role: the test makes it where it is missing.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { openDb, type Db } from "../../src/db/db";
import { createIamUsers, iamUserStatements, SCHEMA_OWNER_ROLE } from "../../src/db/iam-users";
import { migrate } from "../../src/db/schema";
import { freshDatabase, PG_ADMIN_URL, runEntry } from "../support";

const suffix = randomBytes(3).toString("hex");
const API = `rag_api_${suffix}`;
const INDEX = `rag_index_${suffix}`;

let database: Awaited<ReturnType<typeof freshDatabase>>;
let master: Db;

const as = (user: string) => {
  const url = new URL(database.url);
  url.username = user;
  return url.toString();
};
const openAs = (user: string) => openDb(loadRuntimeConfig({ DATABASE_URL: as(user) }));
const migrateOptions = { requirePgvector: false, classificationDefault: "internal" };

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam; END IF; END $$",
  );
  await admin.end();
  database = await freshDatabase();
  master = await openDb(loadRuntimeConfig({ DATABASE_URL: database.url }));
  // The runtime signed in as the master until now: its tables are the master's.
  await master.enablePgvector();
  await migrate(master, migrateOptions);
});

afterAll(async () => {
  await master.close();
  await database.drop();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  for (const user of [API, INDEX]) await admin.query(`DROP ROLE IF EXISTS ${user}`);
  await admin.end();
});

describe("the workloads' IAM users", () => {
  it("refuses a name RDS's dbuser ARN or PostgreSQL would not take as it is, naming it", () => {
    expect(() => iamUserStatements(["rag_api", "Rag-Index"])).toThrow(
      'database users: not a user name: "Rag-Index" (lower-case letters, digits and _, at most 63, not rag_owner)',
    );
    expect(() => iamUserStatements(["rag_api; DROP TABLE documents"])).toThrow(/not a user name/);
    expect(() => iamUserStatements([SCHEMA_OWNER_ROLE])).toThrow(/not a user name: "rag_owner"/);
    expect(() => iamUserStatements([])).toThrow("database users: none given");
  });

  it("makes login users holding rds_iam and the owner role, nothing of the master's, and no password", async () => {
    await createIamUsers(master, [API, INDEX]);
    const users = await master.query<Record<string, unknown>>(
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
              (SELECT rolpassword FROM pg_authid WHERE oid = a.oid) IS NULL AS no_password, rolconfig,
              ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                    WHERE m.member = a.oid ORDER BY 1) AS member_of
         FROM pg_roles a WHERE rolname = ANY($1) ORDER BY rolname`,
      [[API, INDEX]],
    );
    expect(users).toEqual(
      [API, INDEX].sort().map((rolname) => ({
        rolname,
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        no_password: true,
        rolconfig: [`role=${SCHEMA_OWNER_ROLE}`],
        member_of: [SCHEMA_OWNER_ROLE, "rds_iam"],
      })),
    );
  });

  it("hands the master's tables and functions to the owner role, and leaves pgvector's alone", async () => {
    const notOwners = await master.query<{ name: string; owner: string }>(
      `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> $1
       UNION ALL
       SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'bm25%' AND pg_get_userbyid(p.proowner) <> $1`,
      [SCHEMA_OWNER_ROLE],
    );
    expect(notOwners).toEqual([]);
    const [documents] = await master.query<{ owner: string }>(
      "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'documents'",
    );
    expect(documents?.owner).toBe(SCHEMA_OWNER_ROLE);
    const extension = await master.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(p.proowner) AS owner FROM pg_proc p
         JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'vector'`,
    );
    expect(extension.map((e) => e.owner)).not.toContain(SCHEMA_OWNER_ROLE);
  });

  it("lets one workload migrate and create tables the other can then alter, and use the data", async () => {
    const api = await openAs(API);
    const index = await openAs(INDEX);
    try {
      const [who] = await api.query<{ session: string; acting: string }>(
        "SELECT session_user AS session, current_user AS acting",
      );
      expect(who).toEqual({ session: API, acting: SCHEMA_OWNER_ROLE });
      await migrate(api, migrateOptions);
      await api.query("CREATE TABLE made_by_api (id int)");
      await index.query("ALTER TABLE made_by_api ADD COLUMN note text");
      await index.query("INSERT INTO made_by_api VALUES (1, 'from index')");
      expect(await api.query("SELECT * FROM made_by_api")).toEqual([{ id: 1, note: "from index" }]);
      expect(await index.query("SELECT count(*)::int AS n FROM documents")).toEqual([{ n: 0 }]);
      await expect(api.query(`CREATE ROLE rag_intruder_${suffix}`)).rejects.toThrow(
        /permission denied/,
      );
      await expect(api.query(`ALTER ROLE ${INDEX} SET role = 'postgres'`)).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await api.close();
      await index.close();
    }
  });

  it("changes nothing when run again", async () => {
    const snapshot = () =>
      master.query(
        `SELECT rolname, rolconfig, ARRAY(SELECT roleid::regrole::text FROM pg_auth_members WHERE member = r.oid ORDER BY 1) AS m
           FROM pg_roles r WHERE rolname = ANY($1) ORDER BY 1`,
        [[API, INDEX, SCHEMA_OWNER_ROLE]],
      );
    const before = await snapshot();
    await createIamUsers(master, [API, INDEX]);
    expect(await snapshot()).toEqual(before);
  });

  it("runs as a command with the master's connection, and refuses to run as an IAM user", async () => {
    const ok = await runEntry("bootstrap-db-users", [API], { DATABASE_URL: database.url });
    expect(ok.stdout).toContain(`bootstrap-db-users: ${API}: sign in with IAM tokens`);
    expect(ok.code).toBe(0);
    const refused = await runEntry("bootstrap-db-users", [API], {
      DATABASE_URL: as(API),
      DATABASE_AUTH: "aws-rds-iam",
      DATABASE_AWS_REGION: "eu-west-1",
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      "bootstrap-db-users: DATABASE_AUTH: got aws-rds-iam; this runs with the master password (DATABASE_AUTH=password), which can create users",
    );
  });
});
