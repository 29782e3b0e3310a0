/** Entry point: re-embed the index for the configured embedding model (ingest/reembed.ts). */
import { loadRuntimeConfig } from "./config";
import { reembed } from "./ingest/reembed";

async function main(): Promise<void> {
  await reembed(loadRuntimeConfig(), (line) => console.log(`reembed: ${line}`));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // One readable line (a bad setting, an unreachable database), never a stack trace or a secret.
    console.error(`reembed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
