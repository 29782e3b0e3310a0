/**
 * Every type that carries a pod is judged by every container and pod rule, whatever its API
 * version or form (the object, its `*Patch`, its `*List`); a pod whose containers cannot be read
 * fails the rules that needed them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { context, runRule } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import type { ResourceView } from "../../policies/rules/types";
import { REPLICATED_TYPES, WORKLOAD_TYPES } from "../../policies/rules/workloads";
import { CASES } from "./cases";
import { deployment, res, securePod } from "./fixtures";

const SDK = dirname(require.resolve("@pulumi/kubernetes/package.json"));

/**
 * The resource types of @pulumi/kubernetes whose inputs hold a pod spec, read from the SDK's
 * typings: a type's args reach core.v1.PodSpec (or PodSpecPatch) through the input types.
 */
function podBearingTypesOfTheSdk(): string[] {
  const references = new Map<string, Set<string>>();
  const namespaces: string[] = [];
  let current: string | undefined;
  for (const line of readFileSync(join(SDK, "types/input.d.ts"), "utf8").split("\n")) {
    const ns = /^\s*(?:export )?(?:declare )?namespace (\w+) \{/.exec(line);
    const iface = /^\s*(?:export )?interface (\w+)/.exec(line);
    if (ns) namespaces.push(ns[1]!);
    else if (iface) references.set((current = [...namespaces, iface[1]].join(".")), new Set());
    else if (/^\s*}\s*$/.test(line)) {
      if (current) current = undefined;
      else namespaces.pop();
    } else if (current)
      for (const m of line.matchAll(/inputs\.([\w.]+)/g)) references.get(current)!.add(m[1]!);
  }
  const reaches = (name: string, seen = new Set<string>()): boolean => {
    if (name === "core.v1.PodSpec" || name === "core.v1.PodSpecPatch") return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return [...(references.get(name) ?? [])].some((n) => reaches(n, seen));
  };
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== "types" && entry !== "node_modules") walk(path);
        continue;
      }
      if (!entry.endsWith(".js")) continue;
      const type = /__pulumiType = ['"](kubernetes:[^'"]+)['"]/.exec(
        readFileSync(path, "utf8"),
      )?.[1];
      if (!type) continue;
      const args =
        /export interface \w+Args \{([\s\S]*?)\n\}/.exec(
          readFileSync(path.replace(/\.js$/, ".d.ts"), "utf8"),
        )?.[1] ?? "";
      if ([...args.matchAll(/inputs\.([\w.]+)/g)].some((m) => reaches(m[1]!))) found.push(type);
    }
  };
  walk(SDK);
  return found.sort();
}

/** The object of a type holding `pod` where Kubernetes keeps it (written out, not read from the pack). */
function holding(type: string, pod: unknown): ResourceView {
  const kind = type.split(":")[2]!.replace(/(Patch|List)$/, "");
  const object =
    kind === "Pod"
      ? { spec: pod }
      : kind === "PodTemplate"
        ? { template: { spec: pod } }
        : kind === "CronJob"
          ? { spec: { jobTemplate: { spec: { template: { spec: pod } } } } }
          : { spec: { template: { spec: pod } } };
  return res(type, type.endsWith("List") ? { items: [object] } : object);
}

const podOf = (r: ResourceView): unknown =>
  r.type === "kubernetes:core/v1:Pod"
    ? r.props.spec
    : (r.props.spec as { template: { spec: unknown } }).template.spec;

/** The rules that judge pods: those that judge a core/v1 Pod. */
const POD_RULES = ALL_RULES.filter((r) => r.resourceTypes.includes("kubernetes:core/v1:Pod"));
const judges = (ruleName: string, resource: ResourceView) =>
  runRule(
    ALL_RULES.find((r) => r.name === ruleName)!,
    context([resource], "enterprise"),
  ).map((f) => f.message);

describe("the pod-bearing types", () => {
  it("are every type of @pulumi/kubernetes whose inputs hold a pod spec", () => {
    expect([...WORKLOAD_TYPES].sort()).toEqual(podBearingTypesOfTheSdk());
  });

  it("are all judged by every container and pod rule; replica rules judge every replicated kind", () => {
    expect(POD_RULES.length).toBeGreaterThan(8);
    for (const rule of POD_RULES)
      expect(rule.resourceTypes, rule.name).toEqual(expect.arrayContaining([...WORKLOAD_TYPES]));
    for (const name of ["k8s-pdb-for-replicated", "k8s-zone-spread", "k8s-api-replicas"])
      expect(ALL_RULES.find((r) => r.name === name)!.resourceTypes, name).toEqual(
        expect.arrayContaining([...REPLICATED_TYPES]),
      );
    expect(REPLICATED_TYPES).toEqual(
      expect.arrayContaining([
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:core/v1:ReplicationController",
        "kubernetes:extensions/v1beta1:Deployment",
      ]),
    );
  });

  describe.each(POD_RULES.map((r) => [r.name] as const))("%s", (ruleName) => {
    const pods = (resources: ResourceView[]) =>
      resources
        .filter(
          (r) => r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:core/v1:Pod",
        )
        .map(podOf);
    const violating = Object.values(CASES[ruleName]!.violating).flatMap(pods);

    it.each(WORKLOAD_TYPES.map((t) => [t] as const))("passes a compliant pod in %s", (type) => {
      expect(judges(ruleName, holding(type, podOf(deployment())))).toEqual([]);
    });

    it.each(WORKLOAD_TYPES.map((t) => [t] as const))("flags each violating pod in %s", (type) => {
      expect(violating.length).toBeGreaterThan(0);
      for (const pod of violating) expect(judges(ruleName, holding(type, pod))).not.toEqual([]);
    });
  });
});

describe("a pod whose containers cannot be read", () => {
  const withContainers = (containers: unknown) => ({ ...structuredClone(securePod), containers });
  /** Rules that read the pod's own fields only, so judge a pod whose containers are unreadable. */
  const POD_LEVEL = [
    "k8s-no-service-account-token",
    "k8s-no-host-pid",
    "k8s-no-host-ipc",
    "k8s-no-host-network",
    "k8s-no-host-path",
    "k8s-no-container-runtime-socket",
    "k8s-enterprise-priority-class",
  ];
  const containerRules = POD_RULES.filter((r) => !POD_LEVEL.includes(r.name));

  describe.each(
    Object.entries({
      "a secret pod spec": "[secret]",
      "a pod spec that is a string": "spec",
      "a null pod spec": null,
    }),
  )("%s", (_label, pod) => {
    it.each(POD_RULES.map((r) => [r.name] as const))("fails %s", (ruleName) => {
      const messages = judges(ruleName, holding("kubernetes:apps/v1:Deployment", pod));
      expect(messages).toEqual([expect.stringContaining("cannot be read")]);
    });
  });

  const unreadable: Record<string, unknown> = {
    "containers that are a secret": withContainers("[secret]"),
    "containers that are a string": withContainers("app"),
    "no containers": withContainers(undefined),
    "an empty container list": withContainers([]),
    "a null container": withContainers([null]),
    "a container that is a number": withContainers([securePod.containers[0], 7]),
    "init containers that are an object": {
      ...structuredClone(securePod),
      initContainers: { name: "init" },
    },
  };
  describe.each(Object.entries(unreadable))("%s", (_label, pod) => {
    it.each(containerRules.map((r) => [r.name] as const))("fails %s", (ruleName) => {
      for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"]) {
        const messages = judges(ruleName, holding(type, pod));
        expect(
          messages.some((m) => /cannot be read/.test(m)),
          `${type}: ${messages.join("; ")}`,
        ).toBe(true);
      }
    });
  });

  it("fails a list whose items cannot be read", () => {
    for (const rule of POD_RULES)
      expect(
        judges(rule.name, res("kubernetes:apps/v1:DeploymentList", { items: "[secret]" })),
        rule.name,
      ).toEqual([expect.stringContaining("cannot be read")]);
  });

  it("does not judge a patch that leaves the pod alone, and judges the containers a patch writes", () => {
    const scaleOnly = res("kubernetes:apps/v1:DeploymentPatch", {
      metadata: { name: "api" },
      spec: { replicas: 3 },
    });
    for (const rule of POD_RULES) expect(judges(rule.name, scaleOnly), rule.name).toEqual([]);
    const nullContainer = holding("kubernetes:apps/v1:DeploymentPatch", withContainers([null]));
    for (const rule of containerRules)
      expect(judges(rule.name, nullContainer), rule.name).toEqual([
        expect.stringContaining("cannot be read"),
      ]);
  });
});
