/**
 * After a failover the operator lists the new primary first in `rag-platform:regions`. That
 * `pulumi up` must move the writer's role and the replication's direction, and replace nothing
 * that holds data: every stateful resource keeps its URN (so it is not renamed) and its inputs
 * (so it is not replaced), but for the Aurora inputs of a cluster's role, which the clusters
 * ignore once created, and write forwarding, which AWS changes in place.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { AURORA_ROLE_INPUTS } from "../components/aws/aurora";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { byName, synth } from "./helpers";

/** Resources whose replacement would lose data, keys or the network everything sits in. */
const STATEFUL = [
  "aws:kms/key:Key",
  "aws:kms/replicaKey:ReplicaKey",
  "aws:secretsmanager/secret:Secret",
  "aws:rds/globalCluster:GlobalCluster",
  "aws:rds/cluster:Cluster",
  "aws:rds/clusterInstance:ClusterInstance",
  "aws:s3/bucket:Bucket",
  "aws:msk/cluster:Cluster",
  "aws:elasticache/replicationGroup:ReplicationGroup",
  "aws:eks/cluster:Cluster",
  "aws:ec2/vpc:Vpc",
  "aws:ec2/subnet:Subnet",
  "kubernetes:helm.sh/v3:Release", // Qdrant's volumes live in its release's StatefulSet
];

/** Inputs a stateful resource may change in place when the roles swap. */
const MAY_CHANGE: Readonly<Record<string, readonly string[]>> = {
  "aws:rds/cluster:Cluster": [...AURORA_ROLE_INPUTS, "enableGlobalWriteForwarding"],
};

const stateful = (result: SynthResult) =>
  new Map(
    result.resources.filter((r) => STATEFUL.includes(r.type)).map((r) => [r.urn, r] as const),
  );

function changedInputs(before: ResourceRecord, after: ResourceRecord): string[] {
  const keys = new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)]);
  const allowed = MAY_CHANGE[before.type] ?? [];
  return [...keys].filter(
    (k) =>
      !allowed.includes(k) && JSON.stringify(before.inputs[k]) !== JSON.stringify(after.inputs[k]),
  );
}

describe("a failover's reorder of the regions (Pulumi.enterprise.yaml, then eu-central-1 first)", () => {
  let before: SynthResult;
  let after: SynthResult;
  beforeAll(async () => {
    // One after the other: the Pulumi runtime's settings are global to the process.
    before = await synth("enterprise");
    after = await synth("enterprise", ['rag-platform:regions=["eu-central-1","eu-west-1"]']);
  }, 300_000);

  it("keeps every stateful resource's URN: none is renamed, none appears or goes", () => {
    const was = stateful(before);
    const is = stateful(after);
    for (const type of STATEFUL)
      expect(
        [...was.values()].some((r) => r.type === type),
        type,
      ).toBe(true);
    expect([...is.keys()].sort()).toEqual([...was.keys()].sort());
  });

  it("changes no stateful resource's inputs but the Aurora role's, which the clusters ignore", () => {
    const is = stateful(after);
    const changed = [...stateful(before).values()]
      .map((r) => [r.name, changedInputs(r, is.get(r.urn)!)] as const)
      .filter(([, keys]) => keys.length > 0);
    expect(changed).toEqual([]);
  });

  it("moves the writer, the replication's source and the primary to eu-central-1", () => {
    const writer = (r: SynthResult) =>
      ["euw1", "euc1"].filter(
        (code) =>
          byName(r, `rag-enterprise-${code}-postgres`, "aws:rds/cluster:Cluster").inputs
            .masterUsername !== undefined,
      );
    expect(writer(before)).toEqual(["euw1"]);
    expect(writer(after)).toEqual(["euc1"]);
    const replicators = (r: SynthResult) =>
      r.resources
        .filter((x) => x.type === "aws:msk/replicator:Replicator")
        .map((x) => x.name)
        .sort();
    expect(replicators(before)).toEqual([
      "rag-enterprise-euc1-kafka-from-euw1",
      "rag-enterprise-euw1-uploads-from-euc1",
    ]);
    expect(replicators(after)).toEqual([
      "rag-enterprise-euc1-uploads-from-euw1",
      "rag-enterprise-euw1-kafka-from-euc1",
    ]);
    expect(before.outputs.primaryRegion).toBe("eu-west-1");
    expect(after.outputs.primaryRegion).toBe("eu-central-1");
  });

  it("keeps the keys, secrets and global database in the home region", () => {
    for (const r of [before, after]) {
      expect(byName(r, "rag-enterprise-euw1-data", "aws:kms/key:Key").inputs.multiRegion).toBe(
        true,
      );
      expect(
        byName(r, "rag-enterprise-euc1-data", "aws:kms/replicaKey:ReplicaKey").inputs,
      ).toBeDefined();
      // The shared secrets (replicated to the other regions) stay the home region's.
      const shared = r.resources.filter(
        (x) => x.type === "aws:secretsmanager/secret:Secret" && x.inputs.replicas !== undefined,
      );
      expect(shared.length).toBeGreaterThan(0);
      for (const s of shared) expect(s.name, s.name).toMatch(/^rag-enterprise-euw1-/);
      expect(
        byName(r, "rag-enterprise-euw1-postgres-global", "aws:rds/globalCluster:GlobalCluster")
          .provider,
      ).toMatch(/rag-enterprise-euw1-aws::/);
    }
  });
});
