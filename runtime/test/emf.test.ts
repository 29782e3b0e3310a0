import { describe, expect, it } from "vitest";
import { emfRecord, QUEUE_DEPTH_METRIC, reportQueueDepth } from "../src/emf";

describe("CloudWatch embedded metric format", () => {
  it("writes one record CloudWatch Logs extracts: values at the top level, described under _aws", () => {
    expect(
      JSON.parse(
        emfRecord(
          "RagPlatform",
          { Service: "rag-staging-svc" },
          { IngestQueueDepth: 42 },
          1_700_000_000_000,
        ),
      ),
    ).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: "RagPlatform",
            Dimensions: [["Service"]],
            Metrics: [{ Name: "IngestQueueDepth", Unit: "Count" }],
          },
        ],
      },
      Service: "rag-staging-svc",
      IngestQueueDepth: 42,
    });
  });

  it("reports the queue depth at once and then every interval; a depth it cannot read is left out, not written as 0", async () => {
    const lines: string[] = [];
    const errors: unknown[] = [];
    const depths = [3, new Error("Redis unreachable"), 7];
    const reporter = reportQueueDepth({
      namespace: "RagPlatform",
      service: "svc",
      depth: async () => {
        const next = depths.shift() ?? 0;
        if (next instanceof Error) throw next;
        return next;
      },
      write: (line) => lines.push(line),
      onError: (e) => errors.push(e),
      intervalMs: 20,
    });
    await new Promise((r) => setTimeout(r, 90));
    reporter.stop();
    const values = lines.map((l) => (JSON.parse(l) as Record<string, number>)[QUEUE_DEPTH_METRIC]);
    expect(values.slice(0, 2)).toEqual([3, 7]);
    expect(errors).toHaveLength(1);
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(lines.length, "nothing after stop()").toBe(count);
  });
});
