import { describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../../src/config";
import { DEFAULT_PARSE_LIMITS, parseLimitsOf } from "../../src/ingest/parse-limits";

describe("parsing limits from the environment", () => {
  it("takes each PARSE_* variable, and the defaults without them", () => {
    expect(parseLimitsOf(loadRuntimeConfig({}))).toEqual(DEFAULT_PARSE_LIMITS);
    const env = {
      PARSE_MAX_PAGES: "100",
      PARSE_MAX_CHARS: "2000",
      PARSE_MAX_DECOMPRESSED_MB: "8",
      PARSE_MAX_MEMORY_MB: "96",
      PARSE_TIMEOUT_SECONDS: "5",
    };
    expect(parseLimitsOf(loadRuntimeConfig(env))).toEqual({
      maxPages: 100,
      maxChars: 2000,
      maxDecompressedMb: 8,
      maxMemoryMb: 96,
      timeoutSeconds: 5,
    });
  });

  it("refuses a heap PDF.js cannot load in, and a limit that is no whole number, saying so", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadRuntimeConfig(env);
      } catch (error) {
        if (error instanceof RuntimeConfigError) return error.problems;
      }
      return [];
    };
    expect(problems({ PARSE_MAX_MEMORY_MB: "16" })).toEqual([
      'PARSE_MAX_MEMORY_MB: got "16"; Too small: expected number to be >=64',
    ]);
    expect(problems({ PARSE_TIMEOUT_SECONDS: "0", PARSE_MAX_PAGES: "many" })).toEqual([
      'PARSE_MAX_PAGES: got "many"; Invalid input: expected number, received NaN',
      'PARSE_TIMEOUT_SECONDS: got "0"; Too small: expected number to be >0',
    ]);
  });
});
