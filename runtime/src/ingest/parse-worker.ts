/** A parsing thread (see parse-thread.ts): one task from its workerData, one answer back. */
import { parentPort, workerData } from "node:worker_threads";
import { chunkText } from "./chunk";
import { checkPdf, ParseError, parseDocument } from "./parse";
import type { ParseAnswer, ParseTask } from "./parse-thread";
import { scanPii } from "./pii";

async function run(task: ParseTask): Promise<ParseAnswer> {
  switch (task.task) {
    case "parse": {
      const parsed = await parseDocument(task.kind, task.bytes, task.limits);
      if (!task.pii) return { ok: true, chunks: chunkText(parsed, task.chunking) };
      const { text, findings } = await scanPii(parsed, task.pii);
      return { ok: true, chunks: chunkText(text, task.chunking), pii: findings };
    }
    case "check-pdf":
      await checkPdf(task.bytes, task.limits);
      return { ok: true, chunks: [] };
    case "check":
      await parseDocument(task.kind, task.bytes, task.limits);
      return { ok: true, chunks: [] };
    default: {
      const unreachable: never = task;
      throw new Error(`unknown parsing task ${JSON.stringify(unreachable)}`);
    }
  }
}

run(workerData as ParseTask).then(
  (answer) => parentPort!.postMessage(answer),
  (error: unknown) =>
    parentPort!.postMessage(
      error instanceof ParseError
        ? { ok: false, parseError: error.message }
        : { ok: false, failure: error instanceof Error ? error.message : String(error) },
    ),
);
