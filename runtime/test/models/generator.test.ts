import { beforeAll, describe, expect, it } from "vitest";
import {
  answerUnits,
  citedNumbers,
  ExtractiveGenerator,
  userPrompt,
} from "../../src/models/generator";
import { loadTokenizer } from "../../src/search/tokenize";

beforeAll(loadTokenizer);

const contexts = [
  {
    n: 1,
    chunkId: "d:1",
    documentName: "bert.pdf",
    text: "BERT is pre-trained with two tasks: the masked language model and next sentence prediction. It uses Wikipedia.",
  },
  {
    n: 2,
    chunkId: "d:2",
    documentName: "bert.pdf",
    text: "Fine-tuning is straightforward. The model is small.",
  },
];

describe("the extractive answerer", () => {
  it("answers from the best supporting sentences, each cited", async () => {
    const answer = await new ExtractiveGenerator().generate(
      "Which tasks is BERT pre-trained on?",
      contexts,
    );
    expect(answer).toMatch(
      /^BERT is pre-trained with two tasks: the masked language model and next sentence prediction\. \[1\]/,
    );
    expect(citedNumbers(answer)).toEqual([1]);
  });

  it("streams the same answer piece by piece", async () => {
    const pieces: string[] = [];
    const answer = await new ExtractiveGenerator().generate(
      "Which tasks is BERT pre-trained on?",
      contexts,
      (p) => pieces.push(p),
    );
    expect(pieces.join("")).toBe(answer);
  });

  it("says so when nothing was retrieved", async () => {
    expect(await new ExtractiveGenerator().generate("anything?", [])).toBe(
      "No indexed passage answers this question.",
    );
  });

  it("splits bullet lists and cuts run-ons", () => {
    expect(
      answerUnits("Differences: • GPT uses BooksCorpus only • BERT adds Wikipedia text too"),
    ).toEqual(["GPT uses BooksCorpus only", "BERT adds Wikipedia text too"]);
  });
});

describe("prompts for model providers", () => {
  it("number the passages the answer must cite", () => {
    const prompt = userPrompt("Which tasks?", contexts);
    expect(prompt).toContain("[1] (bert.pdf, chunk d:1)\nBERT is pre-trained");
    expect(prompt).toContain("[2] (bert.pdf, chunk d:2)");
    expect(prompt.endsWith("Question: Which tasks?")).toBe(true);
    expect(citedNumbers("A [2] and B [1][2].")).toEqual([2, 1]);
  });
});
