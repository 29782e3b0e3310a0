import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { ObjectStore } from "../contracts";
import { uniqueName, type GcpScope } from "./common";
import type { GcpKms } from "./kms";

/** What the runtime may do with its bucket's objects (read, write, list, delete every generation), and nothing with the bucket itself. */
export const DOCUMENT_ROLE = "roles/storage.objectUser";

export interface GcsDocumentStoreArgs {
  readonly scope: GcpScope;
  /** Its key encrypts every object by default. */
  readonly kms: GcpKms;
  /** Days a replaced or deleted version is kept before it is removed. */
  readonly noncurrentVersionRetentionDays: number;
}

/**
 * The document store: a regional Cloud Storage bucket with uniform bucket-level access, public
 * access prevention enforced, the stack's key by default, object versioning with old versions
 * deleted after the retention, and soft delete off, so a document's secure deletion (every
 * generation) is final, as on S3. Reads, writes and deletes are recorded in Cloud Audit Logs
 * (Data Access logs for Cloud Storage, turned on for the project). Kept on `pulumi destroy`.
 */
export class GcsDocumentStore extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  /** The runtime's OBJECT_STORE_URL. */
  readonly objectStore: ObjectStore;

  constructor(name: string, args: GcsDocumentStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:DocumentStore", name, {}, opts);
    const { project, region } = args.scope;
    const bucket = new gcp.storage.Bucket(
      name,
      {
        project,
        location: region,
        name: uniqueName(name, args.scope.uniqueSuffix, 63),
        storageClass: "STANDARD",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        encryption: { defaultKmsKeyName: args.kms.keyId },
        softDeletePolicy: { retentionDurationSeconds: 0 },
        lifecycleRules: [
          {
            action: { type: "Delete" },
            condition: {
              daysSinceNoncurrentTime: args.noncurrentVersionRetentionDays,
              withState: "ARCHIVED",
            },
          },
        ],
        forceDestroy: false,
        labels: { ...args.scope.labels },
      },
      { parent: this, retainOnDelete: true, dependsOn: [...args.scope.apis, ...args.kms.keyReady] },
    );
    new gcp.projects.IAMAuditConfig(
      `${name}-data-access`,
      {
        project,
        service: "storage.googleapis.com",
        auditLogConfigs: [{ logType: "DATA_READ" }, { logType: "DATA_WRITE" }],
      },
      { parent: this },
    );
    this.bucketName = bucket.name;
    this.objectStore = {
      url: pulumi.interpolate`gs://${bucket.name}/documents`,
      resourceId: bucket.selfLink,
      encryptionKeyId: args.kms.keyId,
    };
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
