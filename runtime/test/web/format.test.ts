import { describe, expect, it } from "vitest";
import {
  answerSegments,
  formatBytes,
  formatMetadata,
  pageOf,
  parseMetadata,
} from "../../web/lib/format";

describe("the UI's formatting", () => {
  it("splits an answer into text and citation markers, keeping the text whole", () => {
    const answer = "BERT uses a masked LM [1] and next sentence prediction [2][3]. See [12]";
    const segments = answerSegments(answer);
    expect(segments).toEqual([
      { text: "BERT uses a masked LM " },
      { cite: 1 },
      { text: " and next sentence prediction " },
      { cite: 2 },
      { cite: 3 },
      { text: ". See " },
      { cite: 12 },
    ]);
    expect(segments.map((s) => ("text" in s ? s.text : `[${s.cite}]`)).join("")).toBe(answer);
    expect(answerSegments("no citations [x] here")).toEqual([{ text: "no citations [x] here" }]);
    expect(answerSegments("")).toEqual([]);
  });

  it("formats sizes in binary units", () => {
    expect(formatBytes(undefined)).toBe("");
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(775_166)).toBe("757 KiB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MiB");
  });

  it("numbers pages from one, with at least one page", () => {
    expect(pageOf(0, 20, 0)).toEqual({ page: 1, pages: 1 });
    expect(pageOf(20, 20, 41)).toEqual({ page: 2, pages: 3 });
    expect(pageOf(40, 20, 40)).toEqual({ page: 3, pages: 2 });
  });

  it("reads key=value metadata as the API takes it, names what it cannot read, and writes it back", () => {
    expect(
      parseMetadata(" team = search, year=2024, public=true, ratio=0.5, draft=false "),
    ).toEqual({ team: "search", year: 2024, public: true, ratio: 0.5, draft: false });
    expect(parseMetadata("")).toEqual({});
    expect(parseMetadata("url=https://x.test/a=b")).toEqual({ url: "https://x.test/a=b" });
    expect(() => parseMetadata("team")).toThrow('"team" is not key=value');
    expect(() => parseMetadata("=search")).toThrow('"=search" is not key=value');
    expect(() => parseMetadata("team=")).toThrow('"team=" is not key=value');
    expect(formatMetadata({ team: "search", year: 2024 })).toBe("team=search, year=2024");
    expect(formatMetadata(undefined)).toBe("");
  });
});
