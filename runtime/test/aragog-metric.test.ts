import { describe, expect, it } from "vitest";
import { first256Words, metricTokens, recall, summarize } from "../scripts/aragog-metric";

describe("the ARAGOG metric (as its README defines it)", () => {
  it("tokenises like the README: lowercase, [a-z0-9] runs, ligatures, stop words", () => {
    expect(metricTokens("The ﬁne-tuned Model, of BERT-base (2019)!")).toEqual([
      "fine",
      "tuned",
      "model",
      "bert",
      "base",
      "2019",
    ]);
  });

  it("counts only the first 256 words of a chunk and the first 3 chunks", () => {
    const long = `${Array.from({ length: 256 }, () => "filler").join(" ")} answer`;
    expect(first256Words(long)).not.toContain("answer");
    expect(recall("answer", [long])).toBe(0);
    expect(recall("answer", ["a", "b", "c", "answer"])).toBe(0);
    expect(recall("answer", ["a", "b", "the answer"])).toBe(1);
  });

  it("computes recall over distinct answer tokens and a hit at 0.5", () => {
    expect(recall("masked LM and next sentence prediction", ["masked lm", "next"])).toBeCloseTo(
      3 / 5,
    );
    expect(summarize([0.6, 0.4, 0.5, 1])).toEqual({ meanRecall: 0.625, hitRate: 0.75 });
  });
});
