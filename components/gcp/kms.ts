import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { uniqueName, type GcpScope } from "./common";

/** How often the data key gets a new primary version (old versions stay to decrypt): 90 days. */
export const KEY_ROTATION_PERIOD = "7776000s";

/** Google's services that encrypt the platform's data with the key: each acts through its own service agent. */
export const KEY_USERS = [
  "sqladmin.googleapis.com",
  "redis.googleapis.com",
  "secretmanager.googleapis.com",
  "artifactregistry.googleapis.com",
] as const;

export interface GcpKmsArgs {
  readonly scope: GcpScope;
}

/**
 * A Cloud KMS key ring and one symmetric key, `data`, rotated every 90 days, which Cloud SQL,
 * Memorystore, Secret Manager, Artifact Registry, Cloud Storage and Compute Engine disks use
 * through their service agents, each granted encrypt/decrypt on this key alone. The key is kept on
 * `pulumi destroy` (Cloud KMS cannot delete one; what it encrypts would turn unreadable).
 */
export class GcpKms extends pulumi.ComponentResource {
  /** The key's resource name (projects/.../cryptoKeys/data): what CMEK settings take. */
  readonly keyId: pulumi.Output<string>;
  /** Grants to wait for before anything encrypts with the key. */
  readonly keyReady: pulumi.Resource[];

  constructor(name: string, args: GcpKmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Kms", name, {}, opts);
    const { project, region, projectNumber } = args.scope;
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const ring = new gcp.kms.KeyRing(
      name,
      { project, location: region, name: uniqueName(name, args.scope.uniqueSuffix, 63) },
      { ...parent, retainOnDelete: true },
    );
    const key = new gcp.kms.CryptoKey(
      `${name}-data`,
      {
        keyRing: ring.id,
        name: "data",
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: KEY_ROTATION_PERIOD,
        labels: { ...args.scope.labels },
      },
      { ...parent, retainOnDelete: true },
    );
    const agents = KEY_USERS.map(
      (service) =>
        new gcp.projects.ServiceIdentity(
          `${name}-${service.split(".")[0]}`,
          { project, service },
          parent,
        ).member,
    );
    const storage = gcp.storage
      .getProjectServiceAccountOutput({ project }, { parent: this })
      .emailAddress.apply((email) => `serviceAccount:${email}`);
    const compute = pulumi.interpolate`serviceAccount:service-${projectNumber}@compute-system.iam.gserviceaccount.com`;
    this.keyReady = [...agents, storage, compute].map(
      (member, i) =>
        new gcp.kms.CryptoKeyIAMMember(
          `${name}-user-${i}`,
          { cryptoKeyId: key.id, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member },
          { parent: this },
        ),
    );
    this.keyId = key.id;
    this.registerOutputs({ keyId: this.keyId });
  }
}
