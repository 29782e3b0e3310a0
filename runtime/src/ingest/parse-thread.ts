/**
 * Parsing and chunking off the event loop: each document in a worker thread of its own, with a
 * heap limit and a deadline (parse-limits.ts). The API and its health checks keep answering
 * while a bomb is parsed (embedded mode shares one process between them and ingest), and a bomb
 * ends its own thread, not the process.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Chunk, ChunkOptions } from "./chunk";
import { checkText, type DocumentKind, ParseError } from "./parse";
import { DEFAULT_PARSE_LIMITS, exceeded, type ParseLimits } from "./parse-limits";
import type { PiiFindings, PiiOptions } from "./pii";

/** What a parsing thread is given to do (its workerData). */
export type ParseTask =
  | {
      readonly task: "parse";
      readonly kind: DocumentKind;
      readonly bytes: Uint8Array;
      readonly chunking: ChunkOptions;
      readonly limits: ParseLimits;
      /** Scan the text for PII (and redact it) before chunking. */
      readonly pii?: PiiOptions;
    }
  | { readonly task: "check-pdf"; readonly bytes: Uint8Array; readonly limits: ParseLimits }
  | {
      readonly task: "check";
      readonly kind: DocumentKind;
      readonly bytes: Uint8Array;
      readonly limits: ParseLimits;
    };

/** A parsing thread's one answer: the chunks, or why there are none. */
export type ParseAnswer =
  | { readonly ok: true; readonly chunks: Chunk[]; readonly pii?: PiiFindings }
  | { readonly ok: false; readonly parseError: string }
  | { readonly ok: false; readonly failure: string };

/**
 * The thread's code: compiled beside this file (dist/ in the image), or else the TypeScript
 * source, through tsx's require hook (tests, `npm run runtime`).
 */
function threadEntry(): { code: string; eval: boolean } {
  const compiled = join(__dirname, "parse-worker.js");
  if (existsSync(compiled)) return { code: compiled, eval: false };
  const tsx = createRequire(__filename).resolve("tsx/cjs/api");
  const source = join(__dirname, "parse-worker.ts");
  return {
    code: `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`,
    eval: true,
  };
}

/** A parsed document: its chunks, and what the PII scan found when one ran. */
export interface Parsed {
  readonly chunks: Chunk[];
  readonly pii?: PiiFindings;
}

function inThread(task: ParseTask): Promise<Parsed> {
  const { limits } = task;
  const entry = threadEntry();
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry.code, {
      eval: entry.eval,
      workerData: task,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb },
    });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
      void worker.terminate();
    };
    const deadline = setTimeout(
      () => settle(() => reject(exceeded.time(limits))),
      limits.timeoutSeconds * 1000,
    );
    worker.once("message", (answer: ParseAnswer) =>
      settle(() => {
        if (answer.ok)
          resolve({ chunks: answer.chunks, ...(answer.pii ? { pii: answer.pii } : {}) });
        else if ("parseError" in answer) reject(new ParseError(answer.parseError));
        else reject(new Error(`the parsing thread failed: ${answer.failure}`));
      }),
    );
    worker.once("error", (error: NodeJS.ErrnoException) =>
      settle(() =>
        reject(error.code === "ERR_WORKER_OUT_OF_MEMORY" ? exceeded.memory(limits) : error),
      ),
    );
    worker.once("exit", (code) =>
      settle(() => reject(new Error(`the parsing thread exited (${code}) without an answer`))),
    );
  });
}

/** Parses and chunks a document in a thread of its own; a ParseError says why it cannot be indexed. */
export async function parseAndChunk(
  kind: DocumentKind,
  bytes: Uint8Array,
  chunking: ChunkOptions,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<Chunk[]> {
  return (await inThread({ task: "parse", kind, bytes, chunking, limits })).chunks;
}

/**
 * As parseAndChunk, and with `pii` scans the text for PII in the same thread before chunking:
 * the findings come back (types and counts), and with `pii.redact` the chunks hold none of the
 * values.
 */
export function parseForIndex(
  kind: DocumentKind,
  bytes: Uint8Array,
  chunking: ChunkOptions,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  pii?: PiiOptions,
): Promise<Parsed> {
  return inThread({ task: "parse", kind, bytes, chunking, limits, ...(pii ? { pii } : {}) });
}

/**
 * A quick check at upload, so a client learns at once that a file cannot be read (a corrupt
 * PDF, binary data posing as text, a bomb) instead of finding a failed document later. A PDF is
 * opened in a parsing thread; an office document or e-mail is parsed there (what a zip or MIME
 * structure holds shows only then); text is only decoded, here.
 */
export async function validateDocument(
  kind: DocumentKind,
  bytes: Uint8Array,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<void> {
  if (kind === "pdf") await inThread({ task: "check-pdf", bytes, limits });
  else if (kind === "html" || kind === "markdown" || kind === "text") checkText(bytes);
  else await inThread({ task: "check", kind, bytes, limits });
}
