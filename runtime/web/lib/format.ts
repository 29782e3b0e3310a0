/** Pure formatting for the UI (no DOM), shared with the runtime's unit tests. */

export type Segment = { readonly text: string } | { readonly cite: number };

/** Splits an answer into text and its `[n]` citation markers, in order. */
export function answerSegments(answer: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const m of answer.matchAll(/\[(\d+)\]/g)) {
    if (m.index > last) segments.push({ text: answer.slice(last, m.index) });
    segments.push({ cite: Number(m[1]) });
    last = m.index + m[0].length;
  }
  if (last < answer.length) segments.push({ text: answer.slice(last) });
  return segments;
}

export type Metadata = Record<string, string | number | boolean>;

/**
 * "team=search, year=2024, public=true" -> {team: "search", year: 2024, public: true}: what the
 * API takes as document metadata and as a metadata filter. Throws naming the entry it cannot read.
 */
export function parseMetadata(text: string): Metadata {
  const metadata: Metadata = {};
  for (const entry of text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf("=");
    const key = eq > 0 ? entry.slice(0, eq).trim() : "";
    const raw = eq > 0 ? entry.slice(eq + 1).trim() : "";
    if (!key || !raw) throw new Error(`"${entry}" is not key=value`);
    metadata[key] = /^-?\d+(\.\d+)?$/.test(raw)
      ? Number(raw)
      : raw === "true"
        ? true
        : raw === "false"
          ? false
          : raw;
  }
  return metadata;
}

export function formatMetadata(metadata: Readonly<Metadata> | undefined): string {
  return Object.entries(metadata ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The 1-based page a listing offset falls on, and how many pages there are (at least one). */
export function pageOf(
  offset: number,
  limit: number,
  total: number,
): { page: number; pages: number } {
  return { page: Math.floor(offset / limit) + 1, pages: Math.max(1, Math.ceil(total / limit)) };
}
