/**
 * The ARAGOG metric as its README defines it: top-3 chunks, each cut to its first 256
 * whitespace words; lowercase; split on anything not [a-z0-9] (ligatures ﬁ/ﬂ read as fi/fl);
 * stop words dropped; recall = share of the answer's distinct tokens found in the chunks;
 * a hit when recall >= 0.5.
 */
export const STOP = new Set(
  "a an the of and or to in on for with by is are was were be been as at that this which from it its their they we our into than then also using used use based".split(
    " ",
  ),
);

export function metricTokens(text: string): string[] {
  return text
    .replace(/ﬁ/g, "fi")
    .replace(/ﬂ/g, "fl")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t && !STOP.has(t));
}

export function first256Words(chunk: string): string {
  return chunk.split(/\s+/).filter(Boolean).slice(0, 256).join(" ");
}

export function recall(answer: string, chunks: readonly string[]): number {
  const wanted = new Set(metricTokens(answer));
  if (wanted.size === 0) return 0;
  const have = new Set(metricTokens(chunks.slice(0, 3).map(first256Words).join(" ")));
  return [...wanted].filter((t) => have.has(t)).length / wanted.size;
}

export function summarize(recalls: readonly number[]): { meanRecall: number; hitRate: number } {
  return {
    meanRecall: recalls.reduce((a, b) => a + b, 0) / recalls.length,
    hitRate: recalls.filter((r) => r >= 0.5).length / recalls.length,
  };
}
