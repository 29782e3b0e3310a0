import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../../tools/harness";
import { longSentences, markdownFiles, MAX_SENTENCE_WORDS } from "../../tools/prose";

describe("the docs, for a reader in a hurry", () => {
  it(`hold no sentence over ${MAX_SENTENCE_WORDS} words, in prose, lists or tables`, () => {
    const found = markdownFiles(PROJECT_DIR).flatMap((file) =>
      longSentences(readFileSync(join(PROJECT_DIR, file), "utf8")).map(
        (s) => `${file}:${s.line}: ${s.words} words`,
      ),
    );
    expect(found).toEqual([]);
  });

  it("counts words as a reader does, and finds a long sentence wherever it is", () => {
    const long = Array.from({ length: 61 }, (_, i) => `w${i}`).join(" ");
    expect(longSentences(`${long}.`)).toHaveLength(1);
    expect(longSentences(`| a | ${long} |`)).toHaveLength(1);
    expect(longSentences(`- item\n- ${long}`)).toHaveLength(1);
    expect(longSentences("```\n" + long + "\n```")).toEqual([]);
    // Two sentences of 40 words; a URL counts for nothing and a code span for one word.
    const forty = Array.from({ length: 40 }, () => "word").join(" ");
    expect(longSentences(`${forty}. ${forty}.`)).toEqual([]);
    const span = `\`${Array.from({ length: 30 }, () => "x").join(" ")}\``;
    expect(longSentences(`${forty} [docs](https://example.com/a/b/c/d/e/f) ${span}.`)).toEqual([]);
  });
});
