import * as pulumi from "@pulumi/pulumi";
import type { Statement } from "./account";

/**
 * Read access to one prefix of the organisation's model bucket, and nothing else: listing
 * limited to the prefix (s3:prefix), reading its objects, and decrypting with the bucket's key
 * when it has one of its own (S3's own key needs no grant).
 */
export function modelReaderStatements(
  bucketArn: pulumi.Input<string>,
  prefix: string,
  kmsKeyArn?: pulumi.Input<string>,
): Statement[] {
  return [
    {
      Sid: "ListTheModelPrefix",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [`${prefix}/*`, prefix] } },
    },
    {
      Sid: "ReadTheModel",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: pulumi.interpolate`${bucketArn}/${prefix}/*`,
    },
    ...(kmsKeyArn
      ? [
          {
            Sid: "DecryptTheModel",
            Effect: "Allow" as const,
            Action: "kms:Decrypt",
            Resource: kmsKeyArn,
          },
        ]
      : []),
  ];
}
