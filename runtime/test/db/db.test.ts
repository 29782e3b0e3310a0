/**
 * The server connection's password: from PGPASSWORD, or from PGPASSWORD_FILE read again for each
 * new connection, so a password rotated behind a mounted Secret reaches a running process.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { connectionPassword, openDb } from "../../src/db/db";
import { freshDatabase } from "../support";

describe("the server connection's password", () => {
  it("is read from PGPASSWORD_FILE for every new connection, not once", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "rag-pgpass-")), "PGPASSWORD");
    writeFileSync(file, "before-rotation\n");
    const config = loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD_FILE: file });
    expect(config.PGPASSWORD, "read at start too, so an unreadable file fails the start").toBe("before-rotation");
    const password = connectionPassword(config);
    expect(typeof password).toBe("function");
    expect(await (password as () => Promise<string>)()).toBe("before-rotation");
    writeFileSync(file, "after-rotation\n");
    expect(await (password as () => Promise<string>)()).toBe("after-rotation");
    expect(connectionPassword(loadRuntimeConfig({ PGHOST: "db.internal", PGPASSWORD: "plain" }))).toBe("plain");
  });

  it("connects to the real server through the file", async () => {
    const { url, drop } = await freshDatabase();
    const target = new URL(url);
    const file = join(mkdtempSync(join(tmpdir(), "rag-pgpass-")), "PGPASSWORD");
    writeFileSync(file, "unused-under-trust-auth\n");
    const db = await openDb(
      loadRuntimeConfig({ PGHOST: target.hostname, PGPORT: target.port || "5432", PGUSER: decodeURIComponent(target.username), PGDATABASE: target.pathname.slice(1), PGPASSWORD_FILE: file }),
    );
    try {
      expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await drop();
    }
  });
});
