/** A parsing thread (see parse-thread.ts): one task from its workerData, one answer back. */
import { parentPort, workerData } from "node:worker_threads";
import { chunkText } from "./chunk";
import { checkPdf, ParseError, parseDocument } from "./parse";
import type { ParseAnswer, ParseTask } from "./parse-thread";

async function run(task: ParseTask): Promise<ParseAnswer> {
  switch (task.task) {
    case "parse": {
      const text = await parseDocument(task.kind, task.bytes, task.limits);
      return { ok: true, chunks: chunkText(text, task.chunking) };
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
