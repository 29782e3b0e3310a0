/**
 * Entry point: knowledge-base backups through the API (backup/archive.ts).
 *
 *   node dist/backup.js export [--out FILE]          (default: standard output)
 *   node dist/backup.js import [--in FILE] [--no-wait] (default: standard input)
 *   npm run backup -w runtime -- export --out kb.tar.gz
 *
 * RAG_API_URL names the service (default http://127.0.0.1:8080, the dev tier and `npm run
 * runtime`); RAG_API_KEY the API key (reader role to export, ingester to import; an embedded
 * service without keys needs none). Progress and the summary go to standard error. Exit status:
 * 0 when everything was exported or imported, 1 when some documents were not (each named), 2 on
 * a usage error.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ApiClient, BackupError, exportArchive, importArchive } from "./backup/archive";

const USAGE =
  "usage: backup export [--out FILE] | backup import [--in FILE] [--no-wait]   (env: RAG_API_URL, RAG_API_KEY)";

class UsageError extends Error {}

const say = (line: string) => process.stderr.write(`backup: ${line}\n`);

function sizeOf(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      in: { type: "string" },
      "no-wait": { type: "boolean" },
      help: { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if ((command !== "export" && command !== "import") || rest.length > 0)
    throw new UsageError(
      `give export or import${command ? ` (got ${[command, ...rest].join(" ")})` : ""}`,
    );
  const client = new ApiClient(
    process.env.RAG_API_URL || "http://127.0.0.1:8080",
    process.env.RAG_API_KEY || undefined,
  );

  if (command === "export") {
    if (values.in || values["no-wait"]) throw new UsageError("--in and --no-wait are for import");
    if (!values.out && process.stdout.isTTY)
      throw new UsageError(
        "the backup is binary: redirect standard output to a file, or give --out FILE",
      );
    // `npm run` (without -s) prints its banner on standard output: it would open the archive.
    if (
      !values.out &&
      process.env.npm_lifecycle_event &&
      process.env.npm_config_loglevel !== "silent"
    ) {
      throw new UsageError(
        "npm run writes its own lines on standard output, into the backup: give --out FILE, or run npm silently (npm run -s backup -w runtime -- export > kb.tar.gz)",
      );
    }
    const output = values.out
      ? createWriteStream(values.out, { flags: "wx", mode: 0o600 })
      : process.stdout;
    const result = await exportArchive(client, output, say).catch(async (error: unknown) => {
      // A backup cut short is no backup: remove what this run wrote (never a file that was there before).
      if (values.out && (error as NodeJS.ErrnoException).code !== "EEXIST")
        await rm(values.out, { force: true });
      throw error;
    });
    say(
      `exported ${result.documents} document(s), ${sizeOf(result.bytes)}${values.out ? ` to ${values.out}` : ""}`,
    );
    for (const s of result.skipped) say(`NOT exported: ${s.name}: ${s.reason}`);
    return result.skipped.length > 0 ? 1 : 0;
  }

  if (values.out) throw new UsageError("--out is for export");
  if (!values.in && process.stdin.isTTY)
    throw new UsageError("give the backup on standard input (< kb.tar.gz) or with --in FILE");
  const input = values.in ? createReadStream(values.in) : process.stdin;
  const result = await importArchive(client, input, { wait: !values["no-wait"], log: say });
  const indexed = values["no-wait"]
    ? "not waited for"
    : `${result.ready} indexed, ${result.failed.length} failed`;
  say(
    `imported ${result.created + result.existing + result.refused.length} document(s): ${result.created} new (${indexed}), ${result.existing} already there, ${result.refused.length} refused`,
  );
  for (const r of result.refused) say(`REFUSED: ${r.name}: ${r.reason}`);
  for (const f of result.failed) say(`FAILED to index: ${f.name}: ${f.reason}`);
  return result.refused.length + result.failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      say(`${(error as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    const code = (error as NodeJS.ErrnoException).code;
    // One readable line, never a stack trace or a key.
    say(
      error instanceof BackupError
        ? error.message
        : code === "EEXIST"
          ? "the output file already exists: give a new name (a backup is never overwritten)"
          : (error as Error).message,
    );
    process.exit(1);
  },
);
