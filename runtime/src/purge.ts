/**
 * Entry point: runs the retention purge now (retention/purge.ts), as workers do at start and every
 * PURGE_INTERVAL_MINUTES. `node dist/purge.js` in the image, `npm run purge -w runtime` from a
 * checkout, with the service's environment. `--dry-run` lists what would go and removes nothing.
 * Prints each document's id (never its content); exits 1 when a delete failed or on an error.
 */
import { parseArgs } from "node:util";
import { ENV, loadRuntimeConfig } from "./config";
import { hasRules, purgeExpired } from "./retention/purge";
import { createServices } from "./services";

const say = (line: string) => console.log(`purge: ${line}`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
  const dryRun = values["dry-run"];
  const config = loadRuntimeConfig();
  const services = await createServices(config);
  try {
    if (!hasRules(services.retention)) {
      say(
        `no retention rule is set (${ENV.retentionDaysByCollection}, ${ENV.retentionDaysByLabel}): nothing expires`,
      );
      return 0;
    }
    const report = await purgeExpired(services.db, services.documents, services.retention, {
      dryRun,
      audit: services.audit,
    });
    const verb = dryRun ? "would remove" : "removed";
    for (const id of report.removed) say(`${verb} ${id}`);
    for (const id of report.held) say(`kept ${id}: under legal hold`);
    for (const { id, reason } of report.failed) say(`could not remove ${id}: ${reason}`);
    say(
      `${report.removed.length} expired document(s) ${verb}, ${report.held.length} kept under legal hold${report.failed.length > 0 ? `, ${report.failed.length} failed` : ""}${dryRun ? " (dry run)" : ""}`,
    );
    return report.failed.length > 0 ? 1 : 0;
  } finally {
    await services.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One readable line (a bad setting or argument, an unreachable database), never a stack trace.
    console.error(`purge: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
