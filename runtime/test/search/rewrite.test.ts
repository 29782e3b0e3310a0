/** The rule that rewrites a follow-up into a standalone question when no model does (search/rewrite.ts). */
import { describe, expect, it } from "vitest";
import { ruleRewrite, rewriteFollowUp, salientPhrase, type Turn } from "../../src/search/rewrite";

const turn = (standalone: string): Turn => ({ question: standalone, standalone });

describe("the follow-up rule", () => {
  it("finds a question's subject: its longest run of content words", () => {
    expect(salientPhrase("What is reciprocal rank fusion?")).toBe("reciprocal rank fusion");
    expect(salientPhrase("How does BM25 score a chunk?")).toBe("BM25 score");
    expect(salientPhrase("What is it?")).toBeUndefined();
  });

  it("replaces the first pronoun with the last turn's subject, and a possessive with its possessive", () => {
    const history = [turn("What is reciprocal rank fusion?")];
    expect(ruleRewrite("What does it merge?", history)).toEqual({
      standalone: "What does reciprocal rank fusion merge?",
      by: "rule",
    });
    expect(ruleRewrite("Who wrote its paper?", history).standalone).toBe(
      "Who wrote reciprocal rank fusion's paper?",
    );
    // Only the first pronoun: "it" twice refers to one thing, the second is left as it reads.
    expect(ruleRewrite("Is it fast and is it exact?", history).standalone).toBe(
      "Is reciprocal rank fusion fast and is it exact?",
    );
  });

  it("carries the subject through a third turn, from the second turn's standalone question", () => {
    const second = ruleRewrite("What does it merge?", [turn("What is reciprocal rank fusion?")]);
    const third = ruleRewrite("Who proposed it?", [
      turn("What is reciprocal rank fusion?"),
      { question: "What does it merge?", standalone: second.standalone },
    ]);
    expect(third.standalone).toBe("Who proposed reciprocal rank fusion?");
  });

  it("appends a continuation without a pronoun to the last question", () => {
    expect(ruleRewrite("and for PDF files?", [turn("How are tables chunked?")]).standalone).toBe(
      "How are tables chunked; and for PDF files?",
    );
  });

  it("keeps a question that stands alone, and the first question of a conversation", () => {
    expect(ruleRewrite("What is BM25?", [turn("What is reciprocal rank fusion?")])).toEqual({
      standalone: "What is BM25?",
      by: "none",
    });
    expect(ruleRewrite("What does it merge?", [])).toEqual({
      standalone: "What does it merge?",
      by: "none",
    });
  });
});

describe("rewriting with a model", () => {
  const history = [turn("What is reciprocal rank fusion?")];

  it("takes the model's first line, unquoted", async () => {
    const model = { complete: async () => '"Who proposed reciprocal rank fusion?"\nextra' };
    expect(await rewriteFollowUp("Who proposed it?", history, model)).toEqual({
      standalone: "Who proposed reciprocal rank fusion?",
      by: "model",
    });
  });

  it("falls back to the rule when the model fails, and says so", async () => {
    const errors: unknown[] = [];
    const model = {
      complete: async () => {
        throw new Error("model down");
      },
    };
    const rewritten = await rewriteFollowUp("Who proposed it?", history, model, {
      onModelError: (e) => errors.push(e),
    });
    expect(rewritten).toEqual({ standalone: "Who proposed reciprocal rank fusion?", by: "rule" });
    expect(errors).toHaveLength(1);
  });

  it("uses the rule without a model", async () => {
    expect((await rewriteFollowUp("Who proposed it?", history, {})).by).toBe("rule");
  });
});
