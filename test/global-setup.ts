/**
 * One synthesis cache per test run: test files run in separate workers, and many synthesize
 * the same (stack, overrides). helpers.synth keeps each result here as JSON the first time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node" with { "resolution-mode": "import" };

declare module "vitest" {
  export interface ProvidedContext {
    synthCacheDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "rag-synth-cache-"));
  project.provide("synthCacheDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
