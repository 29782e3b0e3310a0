/**
 * Model routes: MODEL_ROUTES's rules, and what each managed provider sends, through its official
 * client to a local stand-in that records the request: Azure OpenAI (deployment, api-version, key
 * from a file), Vertex AI's OpenAI-compatible endpoint (a token from the metadata server, as GKE's
 * Workload Identity serves it), Bedrock's Converse API (signed with the workload's AWS
 * credentials). Then /v1/query picking a route, and refusing an unknown one.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../../src/config";
import {
  type Context,
  generatorFor,
  SYSTEM_PROMPT,
  userPrompt,
  vertexBaseUrl,
} from "../../src/models/generator";
import { loadTokenizer } from "../../src/search/tokenize";
import { auth, type Runtime, startRuntime } from "../support";

beforeAll(loadTokenizer);

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

/**
 * A local HTTP server that records each request and answers with `answer`'s JSON; `http2`:
 * cleartext HTTP/2, as the Bedrock runtime client speaks (to Bedrock, over TLS).
 */
async function standIn(
  answer: (seen: Seen) => { status?: number; json: unknown },
  { http2 = false } = {},
) {
  const seen: Seen[] = [];
  const sessions = new Set<{ destroy(): void }>();
  const handle = (
    req: import("node:http").IncomingMessage | import("node:http2").Http2ServerRequest,
    res: import("node:http").ServerResponse | import("node:http2").Http2ServerResponse,
  ) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const request = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined,
      };
      seen.push(request);
      const { status = 200, json } = answer(request);
      res.writeHead(status, { "content-type": "application/json", "metadata-flavor": "Google" });
      res.end(JSON.stringify(json));
    });
  };
  const server = http2 ? createHttp2Server(handle) : createServer(handle);
  if (http2) (server as ReturnType<typeof createHttp2Server>).on("session", (s) => sessions.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        for (const session of sessions) session.destroy();
        server.close(() => r());
      }),
  };
}

const completion = (content: string) => ({
  id: "c1",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
});

const contexts: Context[] = [
  { n: 1, chunkId: "d:0", documentName: "a.md", text: "Fusion merges ranked lists." },
];

function keyFile(value: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "rag-route-")), "key");
  writeFileSync(path, `${value}\n`);
  return path;
}

function problemsOf(routes: unknown): string[] {
  try {
    loadRuntimeConfig({ MODEL_ROUTES: JSON.stringify(routes) });
    return [];
  } catch (error) {
    return (error as RuntimeConfigError).problems;
  }
}

describe("MODEL_ROUTES", () => {
  it("takes named routes, each a provider and its model, a key only from a file", () => {
    const config = loadRuntimeConfig({
      MODEL_ROUTES: JSON.stringify({
        specialised: {
          provider: "azure-openai",
          endpoint: "https://rag.openai.azure.com",
          deployment: "gpt-4o-prod",
          apiVersion: "2024-10-21",
          apiKeyFile: keyFile("azure-key-0123456789"),
        },
        cheap: { provider: "bedrock", model: "amazon.nova-lite-v1:0", region: "eu-west-1" },
      }),
    });
    expect(Object.keys(config.MODEL_ROUTES!)).toEqual(["specialised", "cheap"]);
    expect(config.MODEL_ROUTES!.specialised).toMatchObject({ apiKeyFile: "azure-key-0123456789" });
  });

  it("names the route and field of each problem, and never echoes the value", () => {
    expect(problemsOf({ x: { provider: "azure-openai", endpoint: "https://a.example" } })).toEqual([
      'MODEL_ROUTES: got its JSON; route "x": deployment: Invalid input: expected string, received undefined',
      'MODEL_ROUTES: got its JSON; route "x": apiVersion: Invalid input: expected string, received undefined',
    ]);
    const inline = problemsOf({ x: { provider: "openai", model: "m", apiKey: "sk-secret-123" } });
    expect(inline).toHaveLength(1);
    expect(inline[0]).toMatch(/^MODEL_ROUTES: got its JSON; route "x": .*apiKey/);
    expect(inline[0]).not.toContain("sk-secret-123");
    expect(problemsOf({ x: { provider: "watsonx", model: "m" } })[0]).toMatch(
      /^MODEL_ROUTES: got its JSON; route "x": provider: /,
    );
    expect(problemsOf({ "Bad Name": { provider: "extractive" } })).toEqual([
      'MODEL_ROUTES: got its JSON; route name "Bad Name": 1 to 32 lowercase letters, digits, - or _',
    ]);
    expect(
      problemsOf({ x: { provider: "anthropic", model: "m", apiKeyFile: "/nonexistent/key" } }),
    ).toEqual([
      'MODEL_ROUTES: got its JSON; route "x": apiKeyFile: cannot read "/nonexistent/key" (ENOENT)',
    ]);
    expect(problemsOf([1])).toEqual([
      "MODEL_ROUTES: got its JSON; must be a JSON object of route name to route",
    ]);
  });
});

describe("the managed providers", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await close?.();
  });

  it("Azure OpenAI: the deployment's chat completions at the api-version, the key from its file", async () => {
    const server = await standIn(() => ({ json: completion("Fusion merges lists [1].") }));
    close = server.close;
    const config = loadRuntimeConfig({
      MODEL_ROUTES: JSON.stringify({
        azure: {
          provider: "azure-openai",
          endpoint: server.url,
          deployment: "gpt-4o-prod",
          apiVersion: "2024-10-21",
          apiKeyFile: keyFile("azure-key-0123456789"),
        },
      }),
    });
    const generator = generatorFor(config.MODEL_ROUTES!.azure!, 5000);
    expect(await generator.generate("What does fusion do?", contexts)).toBe(
      "Fusion merges lists [1].",
    );
    const [request] = server.seen;
    expect(request!.method).toBe("POST");
    expect(request!.url).toBe(
      "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21",
    );
    expect(request!.headers["api-key"]).toBe("azure-key-0123456789");
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toMatchObject({
      model: "gpt-4o-prod",
      messages: [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: userPrompt("What does fusion do?", contexts) },
      ],
    });
  });

  it("Vertex AI: the OpenAI-compatible endpoint, with a token from the workload's identity", async () => {
    const metadata = await standIn((seen) =>
      seen.url.startsWith("/computeMetadata/v1/instance/service-accounts/default/token")
        ? { json: { access_token: "ya29.workload-token", expires_in: 3599, token_type: "Bearer" } }
        : { json: {} },
    );
    const vertex = await standIn(() => ({ json: completion("From Gemini [1].") }));
    close = async () => {
      await metadata.close();
      await vertex.close();
    };
    // What GKE's Workload Identity serves: the metadata server (no key file, no gcloud login).
    vi.stubEnv("GCE_METADATA_HOST", metadata.host);
    vi.stubEnv("GOOGLE_APPLICATION_CREDENTIALS", "");
    vi.stubEnv("HOME", mkdtempSync(join(tmpdir(), "rag-home-")));
    vi.stubEnv("CLOUDSDK_CONFIG", mkdtempSync(join(tmpdir(), "rag-gcloud-")));
    const path = "/v1/projects/rag-prod-1/locations/europe-west4/endpoints/openapi";
    const generator = generatorFor(
      {
        provider: "vertex",
        project: "rag-prod-1",
        location: "europe-west4",
        model: "google/gemini-2.0-flash",
        baseUrl: `${vertex.url}${path}`,
      },
      5000,
    );
    expect(await generator.generate("What does fusion do?", contexts)).toBe("From Gemini [1].");
    const [request] = vertex.seen;
    expect(request!.url).toBe(`${path}/chat/completions`);
    expect(request!.headers.authorization).toBe("Bearer ya29.workload-token");
    expect(request!.body).toMatchObject({ model: "google/gemini-2.0-flash" });
    expect(metadata.seen.every((r) => r.headers["metadata-flavor"] === "Google")).toBe(true);
    expect(vertexBaseUrl("rag-prod-1", "europe-west4")).toBe(
      `https://europe-west4-aiplatform.googleapis.com${path}`,
    );
    expect(vertexBaseUrl("rag-prod-1", "global")).toBe(
      "https://aiplatform.googleapis.com/v1/projects/rag-prod-1/locations/global/endpoints/openapi",
    );
  });

  it("Bedrock: the Converse API through the official client, signed for the route's region", async () => {
    const server = await standIn(
      () => ({
        json: {
          output: { message: { role: "assistant", content: [{ text: "From Nova [1]." }] } },
          stopReason: "end_turn",
          usage: { inputTokens: 10, outputTokens: 4, totalTokens: 14 },
          metrics: { latencyMs: 5 },
        },
      }),
      { http2: true },
    );
    close = server.close;
    // The workload's credentials, as the default chain finds them (IRSA and Pod Identity set more).
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    const generator = generatorFor(
      {
        provider: "bedrock",
        model: "amazon.nova-lite-v1:0",
        region: "eu-west-1",
        endpoint: server.url,
      },
      5000,
    );
    expect(await generator.generate("What does fusion do?", contexts)).toBe("From Nova [1].");
    const [request] = server.seen;
    expect(request!.method).toBe("POST");
    expect(decodeURIComponent(request!.url)).toBe("/model/amazon.nova-lite-v1:0/converse");
    expect(request!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/bedrock\/aws4_request, /,
    );
    expect(request!.body).toEqual({
      system: [{ text: SYSTEM_PROMPT }],
      messages: [
        { role: "user", content: [{ text: userPrompt("What does fusion do?", contexts) }] },
      ],
      inferenceConfig: { maxTokens: 1024 },
    });
  });
});

describe("/v1/query with routes", () => {
  let rt: Runtime;
  let model: Awaited<ReturnType<typeof standIn>>;

  beforeAll(async () => {
    model = await standIn(() => ({ json: completion("The specialised model says so [1].") }));
    rt = await startRuntime("embedded", {
      MODEL_ROUTES: JSON.stringify({
        specialised: { provider: "openai", model: "special-1", baseUrl: `${model.url}/v1` },
      }),
    });
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "fusion.md", text: "# Fusion\n\nFusion merges ranked lists of results." },
    });
    await rt.waitReady(up.json().id);
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
    await model?.close();
  });

  const query = (body: object) =>
    rt.app.inject({ method: "POST", url: "/v1/query", headers: auth(), payload: body });

  it("answers from the route a request names, and from the default route otherwise", async () => {
    const routed = await query({ question: "What does fusion merge?", route: "specialised" });
    expect(routed.statusCode).toBe(200);
    expect(routed.json().answer).toBe("The specialised model says so [1].");
    expect(model.seen.at(-1)!.body).toMatchObject({ model: "special-1" });

    const before = model.seen.length;
    const plain = await query({ question: "What does fusion merge?" });
    expect(plain.statusCode).toBe(200);
    expect(plain.json().answer).toMatch(/Fusion merges ranked lists of results\. \[1\]/);
    expect(model.seen.length, "the extractive default asks no model").toBe(before);
  });

  it("refuses an unknown route with a 400 naming it and the routes there are", async () => {
    const res = await query({ question: "What does fusion merge?", route: "premium" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: "unknown_route",
      message: 'no model route "premium"; the routes are: default, specialised',
    });
    const bad = await query({ question: "q", route: "Not A Name" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/route/);
  });
});
