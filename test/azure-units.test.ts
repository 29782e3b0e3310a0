/** The Azure components' own logic, apart from any stack: sizes, address plans, names, the secret check. */
import { describe, expect, it } from "vitest";
import { globalName } from "../components/azure/common";
import { containerAppSize, probes } from "../components/azure/container-app-spec";
import { INGRESS_IDLE_TIMEOUT_SECONDS } from "../components/azure/container-apps";
import { nameUuid, workbookContent } from "../components/azure/monitoring";
import { ollamaAddress } from "../components/azure/ollama-vm";
import { FLEXIBLE_SERVER_STORAGE_GIB, skuTier } from "../components/azure/postgres";
import { azureSubnetPlan } from "../components/azure/subnet-plan";
import { cidrsOverlap } from "../components/shared/cidr";
import { requireFilled, SecretNotFilledError } from "../components/shared/operator-secret";
import {
  API_IDLE_TIMEOUT_SECONDS,
  answerBoundSeconds,
  modelTimeoutsWithin,
} from "../components/shared/runtime-image";
import { MODEL_TIMEOUT_DEFAULTS } from "../runtime/src/config";

const outputValue = <T>(o: { apply: (f: (v: T) => unknown) => unknown }) =>
  new Promise<T>((resolve) => o.apply((v) => resolve(v)));

describe("Azure subnet plan", () => {
  it("gives the workloads a /23, the others a /24 each and a cluster's API server a /28 in the GPU host's block, without overlap", () => {
    expect(azureSubnetPlan("10.40.0.0/16")).toEqual({
      apps: "10.40.0.0/23",
      postgres: "10.40.2.0/24",
      endpoints: "10.40.3.0/24",
      llm: "10.40.4.0/24",
      apiServer: "10.40.4.0/28",
    });
    expect(azureSubnetPlan("172.16.8.0/21")).toEqual({
      apps: "172.16.8.0/23",
      postgres: "172.16.10.0/24",
      endpoints: "172.16.11.0/24",
      llm: "172.16.12.0/24",
      apiServer: "172.16.12.0/28",
    });
    // A network has one or the other: the GPU host (Container Apps) or the API server (AKS).
    const { llm: _gpuHost, ...cluster } = azureSubnetPlan("10.50.0.0/16");
    const ranges = Object.values(cluster);
    for (const [i, a] of ranges.entries())
      for (const b of ranges.slice(i + 1)) expect(cidrsOverlap(a, b), `${a} ${b}`).toBe(false);
  });

  it("refuses an address space the subnets do not fit in", () => {
    expect(() => azureSubnetPlan("10.40.0.0/22")).toThrow(
      "10.40.0.0/22 is too small; the subnets need a /21 or larger",
    );
  });

  it("puts the GPU host at the tenth address of its subnet (Azure keeps the first four)", () => {
    expect(ollamaAddress("10.40.4.0/24")).toBe("10.40.4.10");
  });
});

describe("Container Apps sizes", () => {
  it("picks the smallest Consumption size with the CPU and memory asked for (memory is twice the CPU, in GiB)", () => {
    expect(containerAppSize(1000, 2048)).toEqual({ cpu: 1, memory: "2Gi" });
    expect(containerAppSize(1000, 3000)).toEqual({ cpu: 1.5, memory: "3Gi" });
    expect(containerAppSize(100, 128)).toEqual({ cpu: 0.25, memory: "0.5Gi" });
    expect(containerAppSize(4000, 8192)).toEqual({ cpu: 4, memory: "8Gi" });
    expect(() => containerAppSize(4000, 16384)).toThrow(
      "no Container Apps Consumption size has 4000 millicores and 16384 MiB (at most 4 vCPU and 8 GiB)",
    );
  });

  it("gives a starting process as long as asked before its startup probe fails, within Azure's probe bounds", () => {
    const [startup, liveness, readiness] = probes(8080, 1260, "/readyz?check=database");
    expect(startup!.type).toBe("Startup");
    expect(
      Number(startup!.periodSeconds) * Number(startup!.failureThreshold),
    ).toBeGreaterThanOrEqual(1260);
    expect(startup!.periodSeconds).toBeLessThanOrEqual(240);
    expect(startup!.failureThreshold).toBeLessThanOrEqual(10);
    expect(liveness).toMatchObject({ type: "Liveness", httpGet: { path: "/healthz", port: 8080 } });
    expect(readiness).toMatchObject({
      type: "Readiness",
      httpGet: { path: "/readyz?check=database", port: 8080 },
    });
    expect(probes(8081, 60)).toHaveLength(2);
  });
});

describe("model timeouts under a fixed ingress idle timeout", () => {
  it("leaves the defaults where the balancer's timeout is derived from them (the ALB)", () => {
    expect(answerBoundSeconds(MODEL_TIMEOUT_DEFAULTS)).toBe(API_IDLE_TIMEOUT_SECONDS);
    expect(modelTimeoutsWithin(API_IDLE_TIMEOUT_SECONDS)).toEqual(MODEL_TIMEOUT_DEFAULTS);
  });

  it("scales them down until the longest non-streamed answer fits Container Apps' 240 s", () => {
    const t = modelTimeoutsWithin(INGRESS_IDLE_TIMEOUT_SECONDS);
    expect(answerBoundSeconds(t)).toBeLessThanOrEqual(INGRESS_IDLE_TIMEOUT_SECONDS);
    expect(t.llmSeconds / t.embeddingSeconds).toBeCloseTo(
      MODEL_TIMEOUT_DEFAULTS.llmSeconds / MODEL_TIMEOUT_DEFAULTS.embeddingSeconds,
      0,
    );
    expect(t.llmSeconds).toBeGreaterThanOrEqual(60);
  });

  it("refuses a timeout that leaves the models no time", () => {
    expect(() => modelTimeoutsWithin(60)).toThrow(
      "an idle timeout of 60 s leaves the models under 5 s to answer",
    );
  });
});

describe("PostgreSQL flexible server sizes", () => {
  it("reads the compute tier from the size's name", () => {
    expect(skuTier("Standard_B2s")).toBe("Burstable");
    expect(skuTier("Standard_D4ds_v5")).toBe("GeneralPurpose");
    expect(skuTier("Standard_E8ds_v5")).toBe("MemoryOptimized");
    expect(() => skuTier("db.t4g.medium")).toThrow(
      '"db.t4g.medium" is not a PostgreSQL flexible server size',
    );
  });

  it("offers storage sizes in doubling steps up to 32767 GiB", () => {
    expect(FLEXIBLE_SERVER_STORAGE_GIB.find((s) => s >= 50)).toBe(64);
    expect(FLEXIBLE_SERVER_STORAGE_GIB.at(-1)).toBe(32767);
  });
});

describe("globally unique Azure names", () => {
  it("keep the stack's prefix, end with the stack's suffix and stay within the type's length", async () => {
    expect(await outputValue(globalName("rag-staging-kv", "e70cce", { maxLength: 24 }))).toBe(
      "rag-staging-kv-e70cce",
    );
    expect(
      await outputValue(
        globalName("rag-enterprise-documents", "e70cce", { maxLength: 24, alphanumericOnly: true }),
      ),
    ).toBe("ragenterprisedocume70cce");
    const long = await outputValue(
      globalName("rag-enterprise-keyvault-for-everything", "abc123", { maxLength: 24 }),
    );
    expect(long).toHaveLength(24);
    expect(long.endsWith("-abc123")).toBe(true);
  });

  it("name a workbook by a stable UUID", () => {
    expect(nameUuid("rag-staging-monitoring")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(nameUuid("rag-staging-monitoring")).toBe(nameUuid("rag-staging-monitoring"));
    expect(nameUuid("rag-sme-monitoring")).not.toBe(nameUuid("rag-staging-monitoring"));
  });
});

describe("an operator-filled Key Vault secret", () => {
  const secret = {
    name: "kv/llm-api-key",
    description: "API key for the hosted LLM",
    fillCommand: "az rest --method put --body @<file>",
  };

  it("passes once the vault holds it", async () => {
    await expect(requireFilled(async () => ({ properties: {} }), secret)).resolves.toBeUndefined();
  });

  it("fails with what it is and the command that fills it while Azure answers not found", async () => {
    const notFound = requireFilled(
      async () =>
        Promise.reject(
          new Error(
            'Status=404 Code="SecretNotFound" Message="A secret with (name/id) llm-api-key was not found"',
          ),
        ),
      secret,
    );
    await expect(notFound).rejects.toBeInstanceOf(SecretNotFilledError);
    await expect(notFound).rejects.toThrow(
      "the secret kv/llm-api-key (API key for the hosted LLM) has no value yet; fill it, then run pulumi up again: az rest --method put --body @<file>",
    );
  });

  it("passes any other failure on as it is (no access is not an empty secret)", async () => {
    const forbidden = requireFilled(
      async () => Promise.reject(new Error('Status=403 Code="AuthorizationFailed"')),
      secret,
    );
    await expect(forbidden).rejects.toThrow("AuthorizationFailed");
    await expect(forbidden).rejects.not.toBeInstanceOf(SecretNotFilledError);
  });
});

describe("the staging workbook", () => {
  it("reads the API's request lines and both apps' errors from the console logs", () => {
    const items = (
      workbookContent("rag-api", "rag-worker") as {
        items: { content: { title: string; query: string } }[];
      }
    ).items.map((i) => i.content);
    expect(items.map((i) => i.title)).toEqual([
      "API requests and server errors",
      "API latency (ms)",
      "Errors logged by the API and the worker",
      "Replicas started and stopped",
    ]);
    expect(items[0]!.query).toContain('ContainerAppName == "rag-api"');
    expect(items[0]!.query).toContain('"request completed"');
    expect(items[2]!.query).toContain('("rag-api", "rag-worker")');
  });
});
