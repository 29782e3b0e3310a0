/**
 * A follow-up rewritten into a standalone question before retrieval: "who proposed it?" after
 * "what is reciprocal rank fusion?" searches for "who proposed reciprocal rank fusion?".
 *
 * With a language model configured, the model rewrites it from the last turns. Without one (or
 * when the model fails), a rule does:
 *
 * 1. The subject is the salient noun phrase of the previous standalone question: its longest run
 *    of words that are not question or function words ("reciprocal rank fusion"). A question that
 *    itself referred back (had a pronoun, and its standalone form names the subject before it)
 *    keeps that subject: "what does it merge?" does not make "fusion merge" the subject.
 * 2. Coreference: the first third-person pronoun of the follow-up (it, they, them, this, that,
 *    these, those, he, she, him) is replaced by the subject; a possessive (its, their, his, her)
 *    by the subject's possessive.
 * 3. Concatenation: a follow-up with no pronoun that continues the last turn ("and BM25?", "what
 *    about tables?", "also for PDFs?") is appended to the previous standalone question.
 * 4. Anything else already stands alone and is kept as asked.
 */
import type { Generator } from "../models/generator";

export interface Turn {
  /** What was asked, as the user wrote it. */
  readonly question: string;
  /** What was searched for (the rewritten question). */
  readonly standalone: string;
  readonly answer?: string;
}

export interface Rewritten {
  readonly standalone: string;
  readonly by: "model" | "rule" | "none";
}

const FUNCTION_WORDS = new Set(
  (
    "a an the of in on at to for from by with about into over under and or but nor not no yes " +
    "is are was were be been being am do does did done has have had having can could should would will shall may might must " +
    "what which who whom whose when where why how whether " +
    "i me my we our you your it its they them their he him his she her this that these those there here " +
    "tell explain describe give show list define please mean means meant use used uses using work works " +
    "more most less least some any all each every other such than then so also too very just only"
  ).split(" "),
);

const PRONOUNS = new Set([
  "it",
  "they",
  "them",
  "this",
  "that",
  "these",
  "those",
  "he",
  "she",
  "him",
]);
const POSSESSIVES = new Set(["its", "their", "his", "her"]);
const CONTINUATION = /^(and|also|what about|how about|and what about|what of|same for)\b/i;

/** The longest run of content words in a question: its subject, as a rule can tell. */
export function salientPhrase(question: string): string | undefined {
  const words = question.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
  let best: string[] = [];
  let run: string[] = [];
  for (const word of [...words, ""]) {
    if (word && !FUNCTION_WORDS.has(word.toLowerCase())) run.push(word);
    else {
      if (run.length > best.length) best = run;
      run = [];
    }
  }
  return best.length > 0 ? best.join(" ") : undefined;
}

const hasPronoun = (question: string) =>
  (question.match(/[\p{L}’']+/gu) ?? []).some((w) => {
    const lower = w.toLowerCase();
    return PRONOUNS.has(lower) || POSSESSIVES.has(lower);
  });

/** The subject a follow-up refers to, carried through the turns that referred back to it. */
export function subjectOf(history: readonly Turn[]): string | undefined {
  let subject: string | undefined;
  for (const turn of history) {
    const referredBack = subject && hasPronoun(turn.question) && turn.standalone.includes(subject);
    if (!referredBack) subject = salientPhrase(turn.standalone);
  }
  return subject;
}

/** The rule (see the header): a follow-up and the turns before it, the standalone question. */
export function ruleRewrite(question: string, history: readonly Turn[]): Rewritten {
  const last = history.at(-1);
  if (!last) return { standalone: question, by: "none" };
  const subject = subjectOf(history);
  if (subject) {
    let replaced = false;
    const standalone = question.replace(/[\p{L}’']+/gu, (word) => {
      if (replaced) return word;
      const lower = word.toLowerCase();
      if (PRONOUNS.has(lower)) {
        replaced = true;
        return subject;
      }
      if (POSSESSIVES.has(lower)) {
        replaced = true;
        return `${subject}'s`;
      }
      return word;
    });
    if (replaced) return { standalone, by: "rule" };
  }
  if (CONTINUATION.test(question.trim()))
    return {
      standalone: `${last.standalone.replace(/\s*\?*$/, "")}; ${question.trim()}`,
      by: "rule",
    };
  return { standalone: question, by: "none" };
}

export const REWRITE_PROMPT =
  "You rewrite the user's last question into one standalone question that can be understood without the conversation: " +
  "replace pronouns and references with what they refer to. Keep the user's language. Do not answer it. Reply with the question only.";

/** How many earlier turns the model sees. */
export const REWRITE_TURNS = 4;

/**
 * The standalone question: the model's when it has one (and answers with something usable),
 * otherwise the rule's. The first question of a conversation is kept as it is.
 */
export async function rewriteFollowUp(
  question: string,
  history: readonly Turn[],
  generator: Pick<Generator, "complete">,
  options: { signal?: AbortSignal; onModelError?: (error: unknown) => void } = {},
): Promise<Rewritten> {
  if (history.length === 0) return { standalone: question, by: "none" };
  if (generator.complete) {
    const turns = history
      .slice(-REWRITE_TURNS)
      .map((t) => `User: ${t.question}${t.answer ? `\nAssistant: ${t.answer.slice(0, 600)}` : ""}`)
      .join("\n");
    try {
      const text = (
        await generator.complete(
          REWRITE_PROMPT,
          `Conversation:\n${turns}\n\nLast question: ${question}\n\nStandalone question:`,
          options.signal,
        )
      )
        .trim()
        .split("\n")[0]!
        .replace(/^["“]|["”]$/g, "")
        .trim();
      if (text && text.length <= 4000) return { standalone: text, by: "model" };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      options.onModelError?.(error);
    }
  }
  return ruleRewrite(question, history);
}
