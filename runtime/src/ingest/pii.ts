/**
 * PII detection at ingest, with Arcjet's redaction library (@arcjet/redact: Apache-2.0, its
 * detectors compiled to WebAssembly, run in-process and offline). It runs in the parsing thread
 * (parse-worker.ts), over the whole text before chunking, so a redacted value reaches no chunk,
 * heading, posting or vector.
 *
 * What is kept of a finding is its type and how often it occurs, never the value.
 *
 * Chosen over the other npm options (see docs/changes/2026-12-governance-access.md): openredaction
 * flags ordinary technical text by the thousand under its default patterns; redact-pii pulls the
 * Google DLP client and has not been released in years; @redactpii/node knows only US formats;
 * Google's DLP and Microsoft Presidio are a remote service and a Python one.
 */

/** The detectors, as the library names them. */
export const PII_ENTITIES = ["email", "phone-number", "credit-card-number", "ip-address"] as const;
export type PiiEntity = (typeof PII_ENTITIES)[number];

/** What to look for, and whether to replace what is found before indexing. */
export interface PiiOptions {
  readonly entities: readonly PiiEntity[];
  readonly redact: boolean;
}

/** How many of each type were found (types with none are absent). */
export type PiiFindings = Partial<Record<PiiEntity, number>>;

/** What a redacted value becomes in the indexed text: its type, never a part of it. */
export const redactedAs = (entity: string): string => `[${entity}]`;

// The library is an ES module: loaded with import() from this CommonJS build.
const loadRedact = () => import("@arcjet/redact");

/**
 * Lines are scanned in blocks of about this many characters: a value never spans lines, and the
 * library copies its input into WebAssembly memory, so a block bounds what one call holds.
 */
const BLOCK_CHARS = 256 * 1024;

function blocks(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  while (from < text.length) {
    let to = Math.min(from + BLOCK_CHARS, text.length);
    if (to < text.length) {
      const newline = text.lastIndexOf("\n", to);
      if (newline > from) to = newline + 1;
    }
    out.push(text.slice(from, to));
    from = to;
  }
  return out;
}

/** Finds the configured types of PII in `text`; with `redact`, returns the text with each replaced. */
export async function scanPii(
  text: string,
  options: PiiOptions,
): Promise<{ text: string; findings: PiiFindings }> {
  const findings: PiiFindings = {};
  if (options.entities.length === 0) return { text, findings };
  const { redact } = await loadRedact();
  const parts: string[] = [];
  for (const block of blocks(text)) {
    const [redacted] = await redact(block, {
      entities: [...options.entities],
      replace: (entity) => {
        const type = entity;
        findings[type] = (findings[type] ?? 0) + 1;
        return redactedAs(entity);
      },
    });
    parts.push(options.redact ? redacted : block);
  }
  return { text: parts.join(""), findings };
}

/** The number of values found, of every type. */
export const piiCount = (findings: PiiFindings | undefined): number =>
  Object.values(findings ?? {}).reduce((a, b) => a + (b ?? 0), 0);
