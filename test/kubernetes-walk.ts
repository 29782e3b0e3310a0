/**
 * What every cluster host must give the workloads, whatever the cloud: one walk over a
 * synthesized stack's namespace, Deployments, Qdrant, the collector, budgets, NetworkPolicies,
 * the runtime's secrets and every add-on's values. Each host's test runs it on its stack.
 */
import { describe, expect, it } from "vitest";
import { SECRET_ENV } from "../runtime/src/config";
import { SERVICE_ACCOUNT_TOKEN_PATH } from "../components/kubernetes/pod-security";
import type { SupportedChart } from "../stacks/versions";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { ofType } from "./helpers";

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const K8S = {
  release: "kubernetes:helm.sh/v3:Release",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  namespace: "kubernetes:core/v1:Namespace",
  externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
  clusterSecretStore: "kubernetes:external-secrets.io/v1:ClusterSecretStore",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
} as const;

export function podSpec(d: ResourceRecord): Obj {
  return (d.inputs as Obj).spec.template.spec;
}

export function labelsOf(d: ResourceRecord): Record<string, string> {
  return (d.inputs as Obj).spec.selector.matchLabels;
}

export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function release(result: SynthResult, name: string): ResourceRecord {
  const found = ofType(result, K8S.release).find((r) => r.inputs.name === name);
  if (!found) throw new Error(`no Helm release ${name}`);
  return found;
}

export function env(d: ResourceRecord, container = 0): Obj[] {
  return podSpec(d).containers[container].env;
}

/** Where a chart takes each component's resources and security contexts (the keys differ by chart). */
export interface AddonValuePaths {
  readonly resources: readonly string[];
  readonly container: readonly string[];
  readonly pod?: readonly string[];
}

/** The cloud-neutral add-ons every host runs (ClusterAddons, External Secrets). */
export const SHARED_ADDONS: Readonly<Record<string, AddonValuePaths>> = {
  "external-secrets": {
    resources: ["resources", "webhook.resources", "certController.resources"],
    container: ["securityContext", "webhook.securityContext", "certController.securityContext"],
  },
  keda: {
    resources: ["resources.operator", "resources.metricServer", "resources.webhooks"],
    container: [
      "securityContext.operator",
      "securityContext.metricServer",
      "securityContext.webhooks",
    ],
    pod: [
      "podSecurityContext.operator",
      "podSecurityContext.metricServer",
      "podSecurityContext.webhooks",
    ],
  },
  "otel-collector": {
    resources: ["resources"],
    container: ["securityContext"],
    pod: ["podSecurityContext"],
  },
  "otel-scraper": {
    resources: ["resources"],
    container: ["securityContext"],
    pod: ["podSecurityContext"],
  },
};

const at = (values: Obj, path: string): Obj =>
  path.split(".").reduce((o: Obj, k) => (o as Obj | undefined)?.[k], values);

export interface WalkOptions {
  /** The stack's resource name prefix (rag-sme). */
  readonly prefix: string;
  /** The runtime's secret variables the cluster hands over as files of its synced Secret. */
  readonly secretVariables: readonly string[];
  /** The host's own add-ons (besides SHARED_ADDONS), and where each takes its values. */
  readonly hostAddons: Readonly<Record<string, AddonValuePaths>>;
  /** Variables whose names look secret but whose values are not (an ARN). @default none */
  readonly notSecret?: readonly string[];
  /**
   * Variables naming files of the synced Secret that are not secrets (a managed service's own CA,
   * kept in the secret manager beside them). @default none
   */
  readonly fileVariables?: readonly string[];
  /** The charts the registry says this stack runs (what the config rules check). */
  readonly charts: () => readonly SupportedChart[];
}

/** Registers the walk's tests, on `result()` (synthesized in the caller's beforeAll). */
export function describeKubernetesWalk(
  label: string,
  result: () => SynthResult,
  opts: WalkOptions,
): void {
  const p = opts.prefix;
  describe(`${label}: every workload (the shared Kubernetes walk)`, () => {
    it("runs in a namespace that enforces the restricted Pod Security Standard and denies by default", () => {
      const ns = ofType(result(), K8S.namespace).find(
        (n) => (n.inputs as Obj).metadata.name === "rag",
      )!;
      expect((ns.inputs as Obj).metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
        "restricted",
      );
      const deny = ofType(result(), K8S.netpol).find(
        (x) => (x.inputs as Obj).metadata.name === "default-deny",
      )!;
      expect((deny.inputs as Obj).spec).toEqual({
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
      });
    });

    it("walks all Deployments: restricted security context, requests and limits, no token, zone spread", () => {
      const deployments = ofType(result(), K8S.deployment);
      expect(deployments.map((d) => d.name).sort()).toEqual(
        [`${p}-embeddings`, `${p}-runtime-api`, `${p}-runtime-worker`, `${p}-vllm`].sort(),
      );
      for (const d of deployments) {
        const spec = podSpec(d);
        expect(spec.automountServiceAccountToken, d.name).toBe(false);
        expect(spec.securityContext, d.name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(spec.securityContext.runAsUser, d.name).toBeGreaterThan(0);
        expect(
          spec.topologySpreadConstraints.map((t: Obj) => t.topologyKey),
          d.name,
        ).toContain("topology.kubernetes.io/zone");
        for (const c of spec.containers as Obj[]) {
          expect(c.securityContext, `${d.name}/${c.name}`).toMatchObject({
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ["ALL"] },
          });
          expect(c.resources.requests.cpu, `${d.name}/${c.name}`).toMatch(/^\d+m$/);
          expect(c.resources.requests.memory).toMatch(/^\d+Mi$/);
          expect(c.resources.limits.cpu).toMatch(/^\d+m$/);
          expect(c.resources.limits.memory).toBe(c.resources.requests.memory);
          expect(c.image, `${d.name}/${c.name}`).not.toMatch(/:latest$/);
          expect(c.image).toMatch(/(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64}|^sha256:[0-9a-f]{64})$/);
        }
      }
    });

    it("gives Qdrant's pods (the chart's StatefulSet) the same: restricted security context, requests and limits, no token, zone spread", () => {
      const values = release(result(), "qdrant").inputs.values as Obj;
      expect(values.podSecurityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(values.containerSecurityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(values.containerSecurityContext.runAsUser).toBeGreaterThan(0);
      expect(values.resources.limits.memory).toBe(values.resources.requests.memory);
      // The chart has no automount setting: a volume at the token's path keeps the token out.
      const [mount] = values.additionalVolumeMounts as Obj[];
      expect(mount).toMatchObject({ mountPath: SERVICE_ACCOUNT_TOKEN_PATH });
      expect(
        (values.additionalVolumes as Obj[]).find((v) => v.name === mount!.name),
      ).toHaveProperty("emptyDir");
      expect(values.topologySpreadConstraints.map((t: Obj) => t.topologyKey)).toContain(
        "topology.kubernetes.io/zone",
      );
    });

    it("gives the OpenTelemetry collector's pods the same (it calls no Kubernetes API; the scraper, which does, keeps its token)", () => {
      const values = release(result(), "otel-collector").inputs.values as Obj;
      expect(values.serviceAccount).toEqual({ create: true, automountServiceAccountToken: false });
      expect(values.topologySpreadConstraints.map((t: Obj) => t.topologyKey)).toContain(
        "topology.kubernetes.io/zone",
      );
      expect(
        (release(result(), "otel-scraper").inputs.values as Obj).serviceAccount,
      ).not.toHaveProperty("automountServiceAccountToken");
    });

    it("installs exactly the charts the registry checks, each pinned to its exact version and repository, atomic", () => {
      const releases = ofType(result(), K8S.release);
      const expected = opts.charts();
      expect([...new Set(releases.map((r) => r.inputs.chart as string))].sort()).toEqual(
        expected.map((c) => c.chart).sort(),
      );
      for (const r of releases) {
        const chart = expected.find((c) => c.chart === r.inputs.chart)!;
        expect(r.inputs.version, r.name).toBe(chart.version);
        expect(r.inputs.version, r.name).toMatch(/^\d+\.\d+\.\d+$/);
        expect((r.inputs.repositoryOpts as Obj).repo, r.name).toBe(chart.repo);
        expect(r.inputs.atomic, r.name).toBe(true);
      }
    });

    it("gives every add-on requests, limits and a restricted security context", () => {
      for (const [name, paths] of Object.entries({ ...SHARED_ADDONS, ...opts.hostAddons })) {
        const values = release(result(), name).inputs.values as Obj;
        for (const path of paths.resources) {
          const r = at(values, path);
          expect(r?.requests, `${name} ${path}`).toMatchObject({
            cpu: expect.any(String),
            memory: expect.any(String),
          });
          expect(r?.limits, `${name} ${path}`).toMatchObject({
            cpu: expect.any(String),
            memory: r.requests.memory,
          });
        }
        for (const path of paths.container) {
          expect(at(values, path), `${name} ${path}`).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
        }
        for (const path of paths.pod ?? []) {
          expect(at(values, path), `${name} ${path}`).toMatchObject({
            seccompProfile: { type: "RuntimeDefault" },
          });
        }
      }
    });

    it("walks all Deployments: a PDB for each with more than one replica, a NetworkPolicy for each", () => {
      const pdbs = ofType(result(), K8S.pdb);
      const policies = ofType(result(), K8S.netpol).filter(
        (x) => Object.keys((x.inputs as Obj).spec.podSelector.matchLabels ?? {}).length > 0,
      );
      for (const d of ofType(result(), K8S.deployment)) {
        const labels = labelsOf(d);
        const replicas = (d.inputs as Obj).spec.replicas as number;
        const covered = pdbs.some((x) =>
          selects((x.inputs as Obj).spec.selector.matchLabels, labels),
        );
        expect(covered, `${d.name} (${replicas} replicas) PDB`).toBe(replicas > 1);
        expect(
          policies.some((x) => selects((x.inputs as Obj).spec.podSelector.matchLabels, labels)),
          `${d.name} NetworkPolicy`,
        ).toBe(true);
      }
      const qdrant = release(result(), "qdrant").inputs.values as Obj;
      expect(qdrant.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    });

    it("admits traffic to the model servers and Qdrant from the runtime only (besides the metrics scraper to vLLM and TEI, and Qdrant to itself)", () => {
      const runtimeApps = ["rag-api", "rag-worker"];
      const scraper = {
        "app.kubernetes.io/name": "opentelemetry-collector",
        "app.kubernetes.io/instance": "otel-scraper",
      };
      const expected: Record<string, unknown[]> = {
        [`${p}-vllm`]: [[scraper]],
        [`${p}-embeddings`]: [[scraper]],
        [`${p}-qdrant`]: [
          [{ "app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant" }],
        ],
      };
      for (const [name, besides] of Object.entries(expected)) {
        const policy = ofType(result(), K8S.netpol).find((x) => x.name === name)!;
        const [clients, ...others] = (policy.inputs as Obj).spec.ingress as Obj[];
        expect(
          (clients!.from as Obj[])
            .map((f) => f.podSelector.matchLabels["app.kubernetes.io/name"])
            .sort(),
          name,
        ).toEqual(runtimeApps);
        expect(
          others.map((r) => r.from.map((f: Obj) => f.podSelector.matchLabels)),
          name,
        ).toEqual(besides);
      }
    });

    it("hands every runtime secret over as a file of the Secret synced from the cloud's secret manager, never an env value", () => {
      const api = ofType(result(), K8S.deployment).find((d) => d.name === `${p}-runtime-api`)!;
      const vars = env(api);
      for (const v of vars) {
        expect(
          SECRET_ENV as readonly string[],
          `${v.name} is not a secret variable given as a value`,
        ).not.toContain(v.name);
        expect(v.valueFrom, v.name).toBeUndefined();
        if (/PASSWORD|SECRET|TOKEN|API_KEY/.test(v.name) && !opts.notSecret?.includes(v.name))
          expect(v, v.name).toEqual({
            name: v.name,
            value: `/run/secrets/rag/${v.name.replace(/_FILE$/, "")}`,
          });
      }
      const files = opts.fileVariables ?? [];
      const secretVars = vars
        .filter((v) => (v.name as string).endsWith("_FILE") && !files.includes(v.name as string))
        .map((v) => (v.name as string).replace(/_FILE$/, ""));
      expect(secretVars.sort()).toEqual([...opts.secretVariables].sort());
      const spec = podSpec(api);
      expect(spec.volumes).toContainEqual({
        name: "secrets",
        secret: { secretName: "rag-runtime", defaultMode: 0o440 },
      });
      expect(spec.containers[0].volumeMounts).toContainEqual({
        name: "secrets",
        mountPath: "/run/secrets/rag",
        readOnly: true,
      });
      expect(spec.securityContext.fsGroup, "the runtime's group reads the files").toBe(
        spec.securityContext.runAsUser,
      );
      const external = ofType(result(), K8S.externalSecret).find(
        (e) => (e.inputs as Obj).metadata.name === "rag-runtime",
      )!;
      for (const name of files)
        expect(vars.find((v) => v.name === name)?.value, name).toBe(`/run/secrets/rag/${name}`);
      const data = (external.inputs as Obj).spec.data as Obj[];
      expect(data.map((d) => d.secretKey).sort()).toEqual([...secretVars, ...files].sort());
    });
  });
}
