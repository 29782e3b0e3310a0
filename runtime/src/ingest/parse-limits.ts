/**
 * What parsing one document may take: pages, characters of text, the expansion of a compressed
 * stream, heap and time. A document past one fails with a reason that names the limit and the
 * variable that sets it, so an operator can tell a bomb from a document that needs more.
 *
 * Only types come from config.ts: a parsing thread loads this file, and the schema library would
 * cost each thread more than the rest of its start.
 */
import type { EnvName, RuntimeConfig } from "../config";
import { ParseError } from "./parse-error";

export interface ParseLimits {
  /** Most pages of a PDF. @default 5000 */
  readonly maxPages: number;
  /** Most characters of extracted text. @default 5 000 000 */
  readonly maxChars: number;
  /** Most bytes, in MiB, that one compressed PDF stream, or an office document's whole zip, may expand to. @default 256 */
  readonly maxDecompressedMb: number;
  /** The parsing thread's JavaScript heap, in MiB. @default 256 */
  readonly maxMemoryMb: number;
  /** How long parsing and chunking may take, in seconds. @default 120 */
  readonly timeoutSeconds: number;
}

/**
 * The defaults of the PARSE_* variables: a dev-tier worker (1 GiB, two documents at once) fails
 * a bomb rather than dying of it, and a book of a few thousand pages still indexes.
 */
export const DEFAULT_PARSE_LIMITS = {
  maxPages: 5000,
  maxChars: 5_000_000,
  maxDecompressedMb: 256,
  maxMemoryMb: 256,
  timeoutSeconds: 120,
} as const satisfies ParseLimits;

/** Below this heap, PDF.js cannot load (PARSE_MAX_MEMORY_MB). */
export const PARSE_MIN_MEMORY_MB = 64;

/** The variable that sets each limit; config.ts declares them, and the type keeps both in step. */
const LIMIT_ENV = {
  maxPages: "PARSE_MAX_PAGES",
  maxChars: "PARSE_MAX_CHARS",
  maxDecompressedMb: "PARSE_MAX_DECOMPRESSED_MB",
  maxMemoryMb: "PARSE_MAX_MEMORY_MB",
  timeoutSeconds: "PARSE_TIMEOUT_SECONDS",
} as const satisfies Record<keyof ParseLimits, EnvName>;

export function parseLimitsOf(config: RuntimeConfig): ParseLimits {
  return {
    maxPages: config[LIMIT_ENV.maxPages],
    maxChars: config[LIMIT_ENV.maxChars],
    maxDecompressedMb: config[LIMIT_ENV.maxDecompressedMb],
    maxMemoryMb: config[LIMIT_ENV.maxMemoryMb],
    timeoutSeconds: config[LIMIT_ENV.timeoutSeconds],
  };
}

/** The failure of a document past a limit, one per limit. */
export const exceeded = {
  pages: (pages: number, limits: ParseLimits) =>
    new ParseError(
      `the PDF has ${pages} pages, over the limit of ${limits.maxPages} (${LIMIT_ENV.maxPages})`,
    ),
  chars: (limits: ParseLimits) =>
    new ParseError(
      `the document's text runs past the limit of ${limits.maxChars} characters (${LIMIT_ENV.maxChars})`,
    ),
  decompressed: (limits: ParseLimits) =>
    new ParseError(
      `a compressed stream of the PDF expands past the limit of ${limits.maxDecompressedMb} MiB (${LIMIT_ENV.maxDecompressedMb})`,
    ),
  archive: (limits: ParseLimits) =>
    new ParseError(
      `the document's zip archive expands past the limit of ${limits.maxDecompressedMb} MiB (${LIMIT_ENV.maxDecompressedMb}), or holds too many parts or XML elements`,
    ),
  memory: (limits: ParseLimits) =>
    new ParseError(
      `parsing the document needed more memory than the limit of ${limits.maxMemoryMb} MiB (${LIMIT_ENV.maxMemoryMb})`,
    ),
  time: (limits: ParseLimits) =>
    new ParseError(
      `parsing the document took longer than the limit of ${limits.timeoutSeconds} s (${LIMIT_ENV.timeoutSeconds})`,
    ),
};
