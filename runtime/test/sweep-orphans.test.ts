/**
 * `npm run sweep-orphans` (src/sweep-orphans.ts, run as a command): removes, now, the originals
 * no document names that are older than ORPHAN_GRACE_MINUTES, naming each; embedded (it takes
 * DATA_DIR's lock) and on PostgreSQL.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../src/config";
import { createServices } from "../src/services";
import { MODES, modeEnv, runEntry } from "./support";

describe.each(MODES)("npm run sweep-orphans (%s)", (mode) => {
  it(
    "removes the old originals no document names, and names each",
    { timeout: 60_000 },
    async () => {
      const { env, cleanup } = await modeEnv(mode);
      try {
        const services = await createServices(loadRuntimeConfig(env));
        await services.documents.create({
          name: "kept.txt",
          contentType: "text/plain",
          bytes: new TextEncoder().encode("a document that stays"),
        });
        await services.close();
        const objects = join(env.DATA_DIR!, "objects");
        const orphan = `documents/${randomUUID()}`;
        const young = `documents/${randomUUID()}`;
        mkdirSync(join(objects, "documents"), { recursive: true });
        for (const key of [orphan, young]) writeFileSync(join(objects, key), "left behind");
        const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
        utimesSync(join(objects, orphan), twoHoursAgo, twoHoursAgo);

        const run = await runEntry("sweep-orphans", [], env);
        expect(run).toMatchObject({
          code: 0,
          stdout: `sweep-orphans: removed ${orphan}\nsweep-orphans: 1 orphaned original(s) older than 60 min removed\n`,
        });
        expect(existsSync(join(objects, orphan))).toBe(false);
        expect(existsSync(join(objects, young))).toBe(true);
        const again = await runEntry("sweep-orphans", [], { ...env, ORPHAN_GRACE_MINUTES: "1" });
        expect(again.stdout).toBe(
          "sweep-orphans: 0 orphaned original(s) older than 1 min removed\n",
        );
      } finally {
        await cleanup();
      }
    },
  );
});
