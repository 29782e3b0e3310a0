/**
 * Entry point: removes orphaned originals now (storage/sweeper.ts), as workers do at start and
 * hourly. `node dist/sweep-orphans.js` in the image, `npm run sweep-orphans -w runtime` from a
 * checkout, with the service's environment: ORPHAN_GRACE_MINUTES sets how old an orphan must be.
 * Prints each key removed; exits 1 when the store refused some (each named) or on an error.
 */
import { Classification } from "./auth/access";
import { loadRuntimeConfig } from "./config";
import { openDb } from "./db/db";
import { migrate } from "./db/schema";
import { createObjectStore } from "./storage/object-store";
import { sweepOrphans } from "./storage/sweeper";

const say = (line: string) => console.log(`sweep-orphans: ${line}`);

async function main(): Promise<number> {
  const config = loadRuntimeConfig();
  const db = await openDb(config, say);
  try {
    await migrate(db, {
      requirePgvector: config.REQUIRE_PGVECTOR,
      classificationDefault: Classification.of(config).defaultLabel,
    });
    const store = createObjectStore(config.OBJECT_STORE_URL, config.DATA_DIR);
    const { removed, failed } = await sweepOrphans(db, store, config.ORPHAN_GRACE_MINUTES * 60_000);
    for (const key of removed) say(`removed ${key}`);
    for (const { key, reason } of failed) say(`could not remove ${key}: ${reason}`);
    say(
      `${removed.length} orphaned original(s) older than ${config.ORPHAN_GRACE_MINUTES} min removed${failed.length > 0 ? `, ${failed.length} refused` : ""}`,
    );
    return failed.length > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One readable line (a bad setting, an unreachable database), never a stack trace or a secret.
    console.error(`sweep-orphans: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
