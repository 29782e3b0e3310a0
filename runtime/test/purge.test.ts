/**
 * `npm run purge` (src/purge.ts, run as a command): the retention purge now, naming each document;
 * `--dry-run` removes nothing; a bad rule or argument is one line and exit 1.
 */
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../src/config";
import { createServices } from "../src/services";
import { MODES, modeEnv, runEntry } from "./support";

describe.each(MODES)("npm run purge (%s)", (mode) => {
  it("lists in a dry run, then removes, the expired documents", { timeout: 90_000 }, async () => {
    const { env, cleanup } = await modeEnv(mode);
    try {
      const services = await createServices(loadRuntimeConfig(env));
      const ids: string[] = [];
      for (const [text, collection] of [
        ["an old ticket", "tickets"],
        ["an old contract", "contracts"],
      ] as const) {
        const { document } = await services.documents.create({
          name: `${collection}.txt`,
          contentType: "text/plain",
          bytes: new TextEncoder().encode(text),
          metadata: { collection },
        });
        ids.push(document.id);
      }
      await services.db.query("UPDATE documents SET created_at = now() - interval '100 days'");
      await services.close();
      const ruled = { ...env, RETENTION_DAYS_BY_COLLECTION: "tickets=90" };

      const dry = await runEntry("purge", ["--dry-run"], ruled);
      expect(dry).toMatchObject({
        code: 0,
        stdout: `purge: would remove ${ids[0]}\npurge: 1 expired document(s) would remove, 0 kept under legal hold (dry run)\n`,
      });
      const run = await runEntry("purge", [], ruled);
      expect(run).toMatchObject({
        code: 0,
        stdout: `purge: removed ${ids[0]}\npurge: 1 expired document(s) removed, 0 kept under legal hold\n`,
      });
      const none = await runEntry("purge", [], env);
      expect(none.stdout).toBe(
        "purge: no retention rule is set (RETENTION_DAYS_BY_COLLECTION, RETENTION_DAYS_BY_LABEL): nothing expires\n",
      );
      const after = await createServices(loadRuntimeConfig(env));
      expect(await after.documents.get(ids[0]!)).toBeUndefined();
      expect(await after.documents.get(ids[1]!)).toBeDefined();
      await after.close();
    } finally {
      await cleanup();
    }
  });
});

describe("npm run purge, refusing", () => {
  it("a bad rule or an unknown option, in one line", { timeout: 60_000 }, async () => {
    const { env, cleanup } = await modeEnv("embedded");
    try {
      const rule = await runEntry("purge", [], { ...env, RETENTION_DAYS_BY_COLLECTION: "tickets" });
      expect(rule.code).toBe(1);
      expect(rule.stderr).toContain(
        'RETENTION_DAYS_BY_COLLECTION: got "tickets"; "tickets" is not name=days',
      );
      const option = await runEntry("purge", ["--dryrun"], env);
      expect(option).toMatchObject({ code: 1, stderr: "purge: Unknown option '--dryrun'\n" });
    } finally {
      await cleanup();
    }
  });
});
