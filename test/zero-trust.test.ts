/**
 * The flow table and what it generates: the NetworkPolicy rules (egressOf, ingressOf) and the
 * mesh's policies (MeshPolicies), walked flow by flow.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  egressOf,
  FlowTable,
  ingressOf,
  principalOf,
  type MeshWorkload,
} from "../components/kubernetes/flows";
import { ISTIO_NAMESPACE, MeshPolicies } from "../components/kubernetes/mesh";
import { synthesize, type ResourceRecord } from "../tools/harness";

const api: MeshWorkload = {
  namespace: "rag",
  serviceAccount: "rag-runtime",
  labels: { "app.kubernetes.io/name": "rag-api" },
};
const worker: MeshWorkload = { ...api, labels: { "app.kubernetes.io/name": "rag-worker" } };
const qdrant: MeshWorkload = {
  namespace: "rag",
  serviceAccount: "qdrant",
  labels: { "app.kubernetes.io/name": "qdrant" },
};
const collector: MeshWorkload = {
  namespace: "observability",
  serviceAccount: "otel-collector",
  labels: { "app.kubernetes.io/instance": "otel-collector" },
};

function table(): FlowTable {
  const t = new FlowTable();
  t.calls(api, qdrant, [6333, 6334], "vector search");
  t.calls(worker, qdrant, [6333, 6334], "vector upserts");
  t.calls(qdrant, qdrant, [6335], "raft between peers");
  t.calls(api, collector, [4318], "traces, metrics, logs");
  t.add({
    from: {
      kind: "network",
      what: "load balancer",
      peers: [{ ipBlock: { cidr: "10.0.0.0/16" } }],
      cidrs: ["10.0.0.0/16"],
    },
    to: { kind: "workload", workload: api },
    ports: [3000],
    protocol: "TCP",
    purpose: "client requests",
  });
  t.add({
    from: { kind: "workload", workload: api },
    to: { kind: "cidr", cidr: "0.0.0.0/0", except: ["10.0.0.0/16"], internet: "hosted-model" },
    ports: [443],
    protocol: "TCP",
    purpose: "the hosted model",
  });
  return t;
}

describe("the flow table", () => {
  it("refuses the internet without a purpose, and bad ports, naming the flow", () => {
    const t = new FlowTable();
    expect(() =>
      t.add({
        from: { kind: "workload", workload: api },
        to: { kind: "cidr", cidr: "0.0.0.0/0" },
        ports: [443],
        protocol: "TCP",
        purpose: "anything",
      }),
    ).toThrow(
      'flow "anything": egress to 0.0.0.0/0 needs an internet purpose (one of hosted-model',
    );
    expect(() => t.calls(api, qdrant, [70000], "too high")).toThrow(
      'flow "too high": ports must be 1-65535, got 70000',
    );
    expect(t.flows).toEqual([]);
  });

  it("gives a NetworkPolicy's egress: same namespace by labels, others by namespace, CIDRs with exceptions", () => {
    expect(egressOf(table(), api)).toEqual({
      egressToPods: [{ labels: qdrant.labels, ports: [6333, 6334] }],
      egressToCidrs: [{ cidr: "0.0.0.0/0", except: ["10.0.0.0/16"], ports: [443] }],
      egressToPeers: [
        {
          peer: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
            podSelector: { matchLabels: collector.labels },
          },
          ports: [4318],
        },
      ],
    });
  });

  it("gives a NetworkPolicy's ingress: callers on the same ports share a rule", () => {
    expect(ingressOf(table(), qdrant)).toEqual([
      {
        from: [
          { podSelector: { matchLabels: api.labels } },
          { podSelector: { matchLabels: worker.labels } },
        ],
        ports: [6333, 6334],
      },
      { from: [{ podSelector: { matchLabels: qdrant.labels } }], ports: [6335] },
    ]);
    expect(ingressOf(table(), api)).toEqual([
      { from: [{ ipBlock: { cidr: "10.0.0.0/16" } }], ports: [3000] },
    ]);
    expect(table().clientLabelsOf(qdrant)).toEqual([api.labels, worker.labels, qdrant.labels]);
  });
});

describe("the mesh's policies from the table", () => {
  let resources: ResourceRecord[];
  const flows = table();
  beforeAll(async () => {
    const result = await synthesize({
      stack: "sme",
      program: async () => {
        new MeshPolicies("mesh", { flows, namespaces: ["rag", "observability"] });
        return {};
      },
    });
    resources = result.resources.filter((r) => r.type.startsWith("kubernetes:security.istio.io"));
  }, 60_000);

  const ofKind = (kind: string) =>
    resources.filter((r) => r.type === `kubernetes:security.istio.io/v1:${kind}`);
  const spec = (r: ResourceRecord) => r.inputs.spec as Record<string, unknown>;
  const meta = (r: ResourceRecord) => r.inputs.metadata as { name: string; namespace: string };

  it("turns on STRICT mTLS mesh-wide, in Istio's root namespace", () => {
    const mesh = ofKind("PeerAuthentication").filter((r) => meta(r).namespace === ISTIO_NAMESPACE);
    expect(mesh.map((r) => [meta(r).name, spec(r)])).toEqual([
      ["default", { mtls: { mode: "STRICT" } }],
    ]);
  });

  it("denies everything by default in each namespace (an ALLOW policy with no rules)", () => {
    const denies = ofKind("AuthorizationPolicy").filter((r) => meta(r).name === "default-deny");
    expect(denies.map((r) => meta(r).namespace).sort()).toEqual(["observability", "rag"]);
    for (const d of denies) expect(d.inputs.spec ?? {}).toEqual({});
  });

  it("allows each flow by its caller's principal on its ports, and nothing the table lacks", () => {
    const allows = ofKind("AuthorizationPolicy").filter((r) => meta(r).name !== "default-deny");
    // One ALLOW per destination, each rule one flow.
    const into = flows.workloads().filter((w) => flows.into(w).length > 0);
    expect(allows).toHaveLength(into.length);
    for (const flow of flows.flows) {
      if (flow.to.kind !== "workload") continue;
      const dest = flow.to.workload;
      const policy = allows.find(
        (r) =>
          meta(r).namespace === dest.namespace &&
          JSON.stringify((spec(r).selector as { matchLabels: object }).matchLabels) ===
            JSON.stringify(dest.labels),
      );
      expect(policy, flow.purpose).toBeDefined();
      expect(spec(policy!).action).toBe("ALLOW");
      const source =
        flow.from.kind === "workload"
          ? { principals: [principalOf(flow.from.workload)] }
          : { ipBlocks: flow.from.cidrs };
      expect(spec(policy!).rules, flow.purpose).toContainEqual({
        from: [{ source }],
        to: [{ operation: { ports: flow.ports.map(String) } }],
      });
    }
    const rules = allows.flatMap((r) => spec(r).rules as unknown[]);
    expect(rules).toHaveLength(flows.flows.filter((f) => f.to.kind === "workload").length);
    expect(principalOf(api)).toBe("cluster.local/ns/rag/sa/rag-runtime");
  });

  it("lets the load balancer's plain text in on the API's port alone", () => {
    const workloadLevel = ofKind("PeerAuthentication").filter(
      (r) => meta(r).namespace !== ISTIO_NAMESPACE,
    );
    expect(workloadLevel.map((r) => spec(r))).toEqual([
      {
        selector: { matchLabels: api.labels },
        mtls: { mode: "STRICT" },
        portLevelMtls: { "3000": { mode: "PERMISSIVE" } },
      },
    ]);
  });
});
