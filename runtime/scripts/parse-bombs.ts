/**
 * npx tsx scripts/parse-bombs.ts (in runtime/): what the bombs of issue 21 cost to parse and chunk.
 *
 * Each bomb is made here, then parsed in a process of its own (so each peak memory is its own),
 * under the default limits and then under limits raised past it: the time, the process's peak
 * resident memory (the parsing thread's included), the longest the event loop went unanswered,
 * and the outcome. Prints a table; asserts nothing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DocumentKind } from "../src/ingest/parse";
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "../src/ingest/parse-limits";
import { parseAndChunk } from "../src/ingest/parse-thread";
import { flateBombPdf, largeText, manyPagePdf } from "../test/ingest/bombs";

interface Measure {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly worstStallMs: number;
  readonly outcome: string;
}

/**
 * The process's peak resident memory, in kB: Linux's VmHWM, which starts afresh at exec, where
 * getrusage's maxRSS keeps what the forking parent had.
 */
function peakRssKb(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? process.resourceUsage().maxRSS);
}

/** In the child: parses the file and prints one Measure as JSON. */
async function measure(file: string, kind: DocumentKind, limits: ParseLimits): Promise<void> {
  const bytes = new Uint8Array(readFileSync(file));
  let worstStallMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worstStallMs = Math.max(worstStallMs, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  let outcome: string;
  try {
    const chunks = await parseAndChunk(kind, bytes, { sizeWords: 256, overlapWords: 40 }, limits);
    outcome = `${chunks.length} chunks`;
  } catch (error) {
    outcome = (error as Error).message;
  }
  clearInterval(ticker);
  const result: Measure = {
    seconds: (performance.now() - started) / 1000,
    peakRssMb: peakRssKb() / 1024,
    worstStallMs,
    outcome,
  };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rag-bombs-"));
  const bombs: {
    name: string;
    kind: DocumentKind;
    bytes: Uint8Array;
    raised: Partial<ParseLimits>;
  }[] = [
    {
      name: "PDF of 20 000 pages",
      kind: "pdf",
      bytes: manyPagePdf(20_000),
      raised: { maxPages: 20_000, timeoutSeconds: 600 },
    },
    {
      name: "PDF, 1 GB of FlateDecode zeros",
      kind: "pdf",
      bytes: flateBombPdf(1024 ** 3),
      raised: { maxDecompressedMb: 1024 },
    },
    {
      name: "text of 20 MB",
      kind: "text",
      bytes: largeText(20e6),
      raised: { maxChars: 30_000_000 },
    },
  ];
  const rows: string[] = [];
  try {
    for (const bomb of bombs) {
      const file = join(dir, bomb.name.replace(/\W+/g, "-"));
      writeFileSync(file, bomb.bytes);
      for (const [label, limits] of [
        ["defaults", DEFAULT_PARSE_LIMITS],
        ["raised", { ...DEFAULT_PARSE_LIMITS, ...bomb.raised }],
      ] as const) {
        const out = execFileSync(
          process.execPath,
          [...process.execArgv, __filename, "--measure", file, bomb.kind, JSON.stringify(limits)],
          { encoding: "utf8", maxBuffer: 1 << 20 },
        );
        const m = JSON.parse(out.trim().split("\n").pop()!) as Measure;
        rows.push(
          `| ${bomb.name} (${(bomb.bytes.length / 1e6).toFixed(1)} MB) | ${label} | ${m.seconds.toFixed(1)} | ${Math.round(m.peakRssMb)} | ${Math.round(m.worstStallMs)} | ${m.outcome} |`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("| bomb | limits | seconds | peak RSS MB | longest event-loop stall ms | outcome |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
}

const [flag, file, kind, limits] = process.argv.slice(2);
if (flag === "--measure")
  void measure(file!, kind as DocumentKind, JSON.parse(limits!) as ParseLimits);
else void main();
