/**
 * The documents across the enterprise regions (Pulumi.enterprise.yaml): one bucket takes every
 * upload (the primary's), S3 replication copies it to each region's replica, and each region's
 * runtime reads its replica and removes its copies of a deleted document, since S3 replicates no
 * version's removal. Delete markers go from the primary to the replicas, never back.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { SynthResult } from "../tools/harness";
import { byName, ofType, synth } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BUCKET = "aws:s3/bucket:Bucket";

/** A region's runtime container env as name -> value (the API's Deployment). */
function runtimeEnv(result: SynthResult, code: string): Record<string, string> {
  const api = byName(result, `rag-enterprise-${code}-runtime-api`, "kubernetes:apps/v1:Deployment");
  const [container] = (api.inputs as Obj).spec.template.spec.containers as Obj[];
  return Object.fromEntries(
    (container!.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
}

describe("the enterprise documents across regions", () => {
  let result: SynthResult;
  beforeAll(async () => {
    result = await synth("enterprise");
  }, 180_000);

  const bucketOf = (code: string) =>
    ofType(result, BUCKET).find((b) => b.name === `rag-enterprise-${code}-documents`)!;

  it("sends every region's uploads to the primary's bucket, and reads each region's replica", () => {
    const primaryBucket = bucketOf("euw1").inputs.bucket ?? bucketOf("euw1").inputs.bucketPrefix;
    expect(primaryBucket).toBeDefined();
    const primary = runtimeEnv(result, "euw1");
    expect(primary.OBJECT_STORE_URL).toMatch(
      /^s3:\/\/rag-enterprise-euw1-documents-[^/]+\/documents$/,
    );
    expect(primary.OBJECT_STORE_REPLICA_URL).toBeUndefined();
    const other = runtimeEnv(result, "euc1");
    expect(other.OBJECT_STORE_URL).toBe(`${primary.OBJECT_STORE_URL}?region=eu-west-1`);
    expect(other.OBJECT_STORE_REPLICA_URL).toMatch(
      /^s3:\/\/rag-enterprise-euc1-documents-[^/]+\/documents$/,
    );
  });

  it("lets a region's runtime read and securely delete its replica, never write it, with no wildcard", () => {
    const policy = JSON.parse(
      byName(result, "rag-enterprise-euc1-runtime", "aws:iam/rolePolicy:RolePolicy").inputs
        .policy as string,
    ) as { Statement: Obj[] };
    const on = (bucket: string) =>
      policy.Statement.filter((s) =>
        [s.Resource].flat().some((r: string) => r.startsWith(`arn:aws:s3:::${bucket}`)),
      ).flatMap((s) => [s.Action].flat());
    const replica = /rag-enterprise-euc1-documents-[^/]+/.exec(
      runtimeEnv(result, "euc1").OBJECT_STORE_REPLICA_URL!,
    )![0];
    expect(on(replica).sort()).toEqual([
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:ListBucket",
      "s3:ListBucketVersions",
    ]);
    const primary = /rag-enterprise-euw1-documents-[^/]+/.exec(
      runtimeEnv(result, "euc1").OBJECT_STORE_URL!,
    )![0];
    expect(on(primary)).toContain("s3:PutObject");
    expect(on(primary)).toContain("s3:DeleteObjectVersion");
    for (const s of policy.Statement)
      for (const action of [s.Action].flat()) expect(action, s.Sid).not.toContain("*");
    // The primary's bucket is encrypted with the primary region's key: the region may use it.
    const kms = policy.Statement.find((s) => s.Sid === "UseTheDocumentKey")!;
    expect(kms.Resource).toMatch(/^arn:aws:kms:eu-west-1:/);
  });

  it("replicates delete markers from the primary to the replicas, never from a replica back", () => {
    const configs = ofType(result, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
    const rules = (c: (typeof configs)[number]) =>
      (c.inputs.rules as Obj[]).map((r) => [r.id, r.deleteMarkerReplication.status]);
    expect(configs.map(rules)).toEqual([
      [["to-eu-central-1", "Enabled"]],
      [["to-primary", "Disabled"]],
    ]);
  });

  it("carries the primary's topics to the other region, and its uploads topic back to the primary", () => {
    const replicators = ofType(result, "aws:msk/replicator:Replicator");
    const info = (name: string) =>
      (byName(result, name, "aws:msk/replicator:Replicator").inputs as Obj).replicationInfoList;
    expect(replicators.map((r) => r.name)).toEqual([
      "rag-enterprise-euc1-kafka-from-euw1",
      "rag-enterprise-euw1-uploads-from-euc1",
    ]);
    const forward = info("rag-enterprise-euc1-kafka-from-euw1");
    expect(forward.topicReplications[0].topicsToReplicates).toContain("rag.documents");
    expect(forward.topicReplications[0].topicsToReplicates).not.toContain("rag.uploads");
    const back = info("rag-enterprise-euw1-uploads-from-euc1");
    expect(back.sourceKafkaClusterArn).toMatch(/:kafka:eu-central-1:/);
    expect(back.targetKafkaClusterArn).toMatch(/:kafka:eu-west-1:/);
    expect(back.topicReplications[0]).toMatchObject({
      topicsToReplicates: ["rag.uploads"],
      topicNameConfiguration: { type: "IDENTICAL" },
    });
    expect(back.consumerGroupReplications[0].synchroniseConsumerGroupOffsets).toBe(false);
  });
});
