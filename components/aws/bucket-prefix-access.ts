import * as pulumi from "@pulumi/pulumi";
import type { Statement } from "./account";

/** What a workload does under one key prefix of a bucket. Each flag @default false */
export interface PrefixGrant {
  /** The key prefix, ending in "/" (`documents/ingest/`). */
  readonly prefix: string;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly remove?: boolean;
  /** List the keys under it. */
  readonly list?: boolean;
  /** Each of the above on every version too (a secure delete removes them all). */
  readonly versions?: boolean;
}

const OBJECT_ACTIONS = [
  ["read", "s3:GetObject", "s3:GetObjectVersion"],
  ["write", "s3:PutObject", undefined],
  ["remove", "s3:DeleteObject", "s3:DeleteObjectVersion"],
] as const;

/**
 * IAM for a workload that reaches only some prefixes of an SSE-KMS bucket: the object actions on
 * each prefix's keys, listing limited to the prefixes it lists (`s3:prefix`), and the bucket key
 * to decrypt what it reads and encrypt what it writes.
 */
export function bucketPrefixStatements(
  bucketArn: pulumi.Input<string>,
  keyArn: pulumi.Input<string>,
  grants: readonly PrefixGrant[],
  /** Prefixes the statements' ids, for two buckets in one policy. @default "" */
  sid = "",
): Statement[] {
  for (const g of grants)
    if (!/^[^*?]+\/$/.test(g.prefix))
      throw new Error(
        `bucketPrefixStatements: prefix ${JSON.stringify(g.prefix)} must end in "/" and hold no wildcard`,
      );
  const objects: Statement[] = grants.flatMap((g, i) => {
    const actions = OBJECT_ACTIONS.filter(([flag]) => g[flag]).flatMap(([, action, version]) =>
      g.versions && version ? [action, version] : [action],
    );
    return actions.length > 0
      ? [
          {
            Sid: `${sid}Objects${i}`,
            Effect: "Allow" as const,
            Action: actions,
            Resource: pulumi.interpolate`${bucketArn}/${g.prefix}*`,
          },
        ]
      : [];
  });
  const listed = grants.filter((g) => g.list).map((g) => `${g.prefix}*`);
  const versions = grants.some((g) => g.list && g.versions);
  const writes = grants.some((g) => g.write);
  return [
    ...objects,
    ...(listed.length > 0
      ? [
          {
            Sid: `${sid}ListItsPrefixes`,
            Effect: "Allow" as const,
            Action: versions ? ["s3:ListBucket", "s3:ListBucketVersions"] : "s3:ListBucket",
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": listed } },
          },
        ]
      : []),
    // Decrypt for reads and for a multipart upload's parts; a new data key for each write.
    {
      Sid: `${sid}UseTheBucketKey`,
      Effect: "Allow" as const,
      Action: ["kms:Decrypt", ...(writes ? ["kms:GenerateDataKey"] : [])],
      Resource: keyArn,
    },
  ];
}
