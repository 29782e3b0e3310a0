import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../src/config";
import { startTracing, traced, type Tracing } from "../src/tracing";

describe("OpenTelemetry traces", () => {
  let receiver: Server;
  const bodies: string[] = [];
  let tracing: Tracing | undefined;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        if (req.url === "/v1/traces") bodies.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    tracing = await startTracing(
      loadRuntimeConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, SERVICE_NAME: "rag-test" }),
      "server",
    );
  });

  afterAll(async () => {
    await new Promise((r) => receiver.close(r));
  });

  it("are off without an endpoint", async () => {
    expect(await startTracing(loadRuntimeConfig({}), "server")).toBeUndefined();
  });

  it("export the pipeline's spans over OTLP/HTTP with the service name", async () => {
    await traced("retrieve", { "rag.top_k": 3 }, async () =>
      traced("retrieve.bm25", {}, async () => "ok"),
    );
    await tracing!.shutdown();
    const all = bodies.join("\n");
    expect(all).toContain("retrieve.bm25");
    expect(all).toContain("rag-test");
  });
});
