import { describe, expect, it } from "vitest";
import { chunkText, sentences } from "../../src/ingest/chunk";

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

describe("structure-aware chunking", () => {
  it("starts a new chunk at each heading and remembers the heading", () => {
    const chunks = chunkText(
      "# Intro\n\nFirst part here. More text.\n\n## Method\n\nWe do things. Carefully.",
      { sizeWords: 50, overlapWords: 5 },
    );
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      ["Intro", "First part here. More text."],
      ["Method", "We do things. Carefully."],
    ]);
  });

  it("recognises numbered section titles of papers", () => {
    const chunks = chunkText(
      "Some intro text that runs on.\n3.1 Pre-training BERT\nWe pre-train BERT with two tasks.",
      { sizeWords: 50, overlapWords: 0 },
    );
    expect(chunks.map((c) => c.heading)).toEqual([undefined, "3.1 Pre-training BERT"]);
  });

  it("packs sentences up to the size and carries whole sentences as overlap", () => {
    const text = Array.from(
      { length: 30 },
      (_, i) => `Sentence number ${i} has exactly seven words.`,
    ).join(" ");
    const chunks = chunkText(text, { sizeWords: 40, overlapWords: 10 });
    for (const c of chunks) expect(words(c.text)).toBeLessThanOrEqual(40);
    for (let i = 1; i < chunks.length; i++) {
      const lastOfPrevious = sentences(chunks[i - 1]!.text).at(-1)!;
      expect(chunks[i]!.text.startsWith(lastOfPrevious)).toBe(true);
    }
    const all = new Set(chunks.flatMap((c) => sentences(c.text)));
    expect(all.size).toBe(30);
    expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));
  });

  it("cuts a sentence longer than a chunk at word boundaries", () => {
    const chunks = chunkText(Array.from({ length: 95 }, (_, i) => `w${i}`).join(" "), {
      sizeWords: 40,
      overlapWords: 0,
    });
    expect(chunks.map((c) => words(c.text))).toEqual([40, 40, 15]);
  });

  it("keeps abbreviations and decimals inside sentences", () => {
    expect(sentences("We use e.g. BERT. Accuracy rose to 80.5 points. Done.")).toEqual([
      "We use e.g. BERT.",
      "Accuracy rose to 80.5 points.",
      "Done.",
    ]);
  });

  it("keeps a long run of abbreviations in one sentence, cut at the chunk size", () => {
    // 40 000 parts a splitter would cut after each "fig.": one sentence, so only word cuts.
    const run = "See fig. A ".repeat(40_000).trim();
    expect(sentences(run)).toEqual([run]);
    const chunks = chunkText(run, { sizeWords: 256, overlapWords: 40 });
    expect(chunks.map((c) => words(c.text)).reduce((a, b) => a + b)).toBe(120_000);
    expect(chunks.every((c) => words(c.text) <= 256)).toBe(true);
  });

  it("refuses an overlap as large as the chunk", () => {
    expect(() => chunkText("x", { sizeWords: 10, overlapWords: 10 })).toThrow(
      "chunk overlap must be smaller than the chunk size",
    );
  });
});
