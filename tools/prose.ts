/**
 * npx tsx tools/prose.ts [FILE.md ...]
 *
 * The docs are for a reader in a hurry: no sentence over MAX_SENTENCE_WORDS words. Prints each
 * longer sentence with its file and line, and exits 1 when there is one (every tracked Markdown
 * file when none is named). test/docs/prose.test.ts holds the repository to it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const MAX_SENTENCE_WORDS = 60;

export interface LongSentence {
  readonly line: number;
  readonly words: number;
  readonly text: string;
}

/** Words as a reader counts them: a code span or a link is one word, its URL none. */
function words(text: string): number {
  const plain = text
    .replace(/`[^`]*`/g, "CODE")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<!--.*?-->/g, "");
  return plain.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

/** Sentences end at . ! or ? before a space; a semicolon or colon does not end one. */
function sentences(text: string): string[] {
  return text
    .replace(/`[^`]*`/g, (span) => span.replace(/[.!?]/g, "·"))
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The blocks of prose in a Markdown text: paragraphs, list items and table cells, with their line. */
function blocks(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  let current: { line: number; text: string } | undefined;
  const flush = () => {
    if (current) out.push(current);
    current = undefined;
  };
  markdown.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith("```")) {
      fenced = !fenced;
      flush();
      return;
    }
    if (fenced || line === "" || line.startsWith("#") || line.startsWith("<!--")) {
      flush();
      return;
    }
    if (line.startsWith("|")) {
      flush();
      if (/^\|[\s:|-]+\|$/.test(line)) return;
      for (const cell of line.slice(1, -1).split(/(?<!\\)\|/))
        out.push({ line: i + 1, text: cell });
      return;
    }
    if (/^([-*+]|\d+\.)\s/.test(line)) flush();
    current = current
      ? { line: current.line, text: `${current.text} ${line}` }
      : { line: i + 1, text: line };
  });
  flush();
  return out;
}

export function longSentences(markdown: string, max = MAX_SENTENCE_WORDS): LongSentence[] {
  return blocks(markdown).flatMap(({ line, text }) =>
    sentences(text)
      .map((sentence) => ({ line, words: words(sentence), text: sentence }))
      .filter((s) => s.words > max),
  );
}

/** Every Markdown file git tracks (or would: untracked but not ignored). */
export function markdownFiles(root: string): string[] {
  const listed = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
    { cwd: root, encoding: "utf8" },
  );
  return listed.split("\n").filter(Boolean);
}

if (require.main === module) {
  const root = join(__dirname, "..");
  const files = process.argv.length > 2 ? process.argv.slice(2) : markdownFiles(root);
  let found = 0;
  for (const file of files) {
    for (const s of longSentences(
      readFileSync(file.startsWith("/") ? file : join(root, file), "utf8"),
    )) {
      console.log(`${file}:${s.line}: ${s.words} words: ${s.text.slice(0, 160)}…`);
      found++;
    }
  }
  process.exit(found > 0 ? 1 : 0);
}
