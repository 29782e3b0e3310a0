/** Encryption at rest, with customer-managed keys where they matter. */
import { AKS_CLUSTER, get, isTrue, list, records, referencing, text } from "./helpers";
import type { ResourceView, Rule, RuleContext } from "./types";

const BUCKET = "aws:s3/bucket:Bucket";
const SSE =
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const LOGGING = "aws:s3/bucketLogging:BucketLogging";

function sseRules(bucket: ResourceView, ctx: RuleContext): Record<string, unknown>[] {
  return referencing(ctx, SSE, "bucket", bucket).flatMap((c) => records(c.props.rules));
}

/** Buckets that receive S3 server access logs: S3 log delivery can only write SSE-S3 there. */
function isAccessLogTarget(bucket: ResourceView, ctx: RuleContext): boolean {
  return referencing(ctx, LOGGING, "targetBucket", bucket).length > 0;
}

export const encryptionRules: Rule[] = [
  {
    name: "aws-s3-bucket-encrypted",
    area: "encryption",
    description:
      "Every S3 bucket has a default server-side encryption configuration (v7: a separate BucketServerSideEncryptionConfiguration).",
    severity: "high",
    remediation:
      "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket (aws:kms with a customer key).",
    checkov: "CKV_AWS_19",
    tfsec: "aws-s3-enable-bucket-encryption",
    resourceTypes: [BUCKET, SSE],
    check: (r, ctx) => {
      if (r.type !== BUCKET) return [];
      const algorithms = sseRules(r, ctx).map((rule) =>
        get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm"),
      );
      return algorithms.some((a) => a === "aws:kms" || a === "aws:kms:dsse" || a === "AES256")
        ? []
        : ["no default encryption configuration applies to this bucket"];
    },
  },
  {
    name: "aws-s3-bucket-customer-key",
    area: "encryption",
    description:
      "Document buckets encrypt with a customer-managed KMS key (access-log targets excepted: S3 log delivery requires SSE-S3).",
    severity: "medium",
    remediation:
      "Set sseAlgorithm aws:kms and kmsMasterKeyId to a customer-managed key with rotation.",
    checkov: "CKV_AWS_145",
    tfsec: "aws-s3-encryption-customer-key",
    resourceTypes: [BUCKET, SSE],
    check: (r, ctx) => {
      if (r.type !== BUCKET || isAccessLogTarget(r, ctx)) return [];
      const ok = sseRules(r, ctx).some(
        (rule) =>
          get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") === "aws:kms" &&
          text(get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")),
      );
      return ok ? [] : ["the bucket is not encrypted with a customer-managed KMS key"];
    },
  },
  {
    name: "aws-rds-encrypted",
    area: "encryption",
    description: "RDS storage is encrypted with a customer-managed KMS key.",
    severity: "critical",
    remediation:
      "Set storageEncrypted: true and kmsKeyId on the instance (requires a new instance for existing ones).",
    checkov: "CKV_AWS_16",
    tfsec: "aws-rds-encrypt-instance-storage-data",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"],
    check: (r) => [
      ...(isTrue(r.props.storageEncrypted) ? [] : ["storageEncrypted is not true"]),
      ...(text(r.props.kmsKeyId) ? [] : ["no customer-managed kmsKeyId"]),
    ],
  },
  {
    name: "aws-rds-performance-insights-encrypted",
    area: "encryption",
    description:
      "Performance Insights data (it holds query text) is encrypted with a customer-managed key.",
    severity: "medium",
    remediation: "Set performanceInsightsKmsKeyId when performanceInsightsEnabled is true.",
    checkov: "CKV_AWS_354",
    resourceTypes: ["aws:rds/instance:Instance"],
    check: (r) =>
      isTrue(r.props.performanceInsightsEnabled) && !text(r.props.performanceInsightsKmsKeyId)
        ? ["Performance Insights is on without a customer-managed key"]
        : [],
  },
  {
    name: "aws-elasticache-encrypted-at-rest",
    area: "encryption",
    description: "ElastiCache replication groups encrypt data at rest with a customer-managed key.",
    severity: "high",
    remediation: "Set atRestEncryptionEnabled: true and kmsKeyId.",
    checkov: "CKV_AWS_29",
    tfsec: "aws-elasticache-enable-at-rest-encryption",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup"],
    check: (r) => [
      ...(isTrue(r.props.atRestEncryptionEnabled) ? [] : ["atRestEncryptionEnabled is not true"]),
      ...(text(r.props.kmsKeyId) ? [] : ["no customer-managed kmsKeyId"]),
    ],
  },
  {
    name: "aws-ebs-encrypted",
    area: "encryption",
    description:
      "Block storage is encrypted: EC2 root volumes, launch-template volumes and EBS StorageClasses.",
    severity: "high",
    remediation:
      'Encrypt the volume (encrypted: true, kmsKeyId) or the StorageClass (parameters.encrypted: "true").',
    checkov: "CKV_AWS_8",
    tfsec: "aws-ec2-enable-at-rest-encryption",
    resourceTypes: [
      "aws:ec2/instance:Instance",
      "aws:ec2/launchTemplate:LaunchTemplate",
      "kubernetes:storage.k8s.io/v1:StorageClass",
    ],
    check: (r) => {
      switch (r.type) {
        case "aws:ec2/instance:Instance":
          return isTrue(get(r.props, "rootBlockDevice.encrypted"))
            ? []
            : ["the root volume is not encrypted"];
        case "aws:ec2/launchTemplate:LaunchTemplate":
          return list(r.props.blockDeviceMappings)
            .filter((m) => !isTrue(get(m, "ebs.encrypted")))
            .map((m) => `volume ${String(get(m, "deviceName"))} is not encrypted`);
        default:
          return r.props.provisioner === "ebs.csi.aws.com" &&
            !isTrue(get(r.props, "parameters.encrypted"))
            ? ['the EBS StorageClass does not set encrypted: "true"']
            : [];
      }
    },
  },
  {
    name: "aws-eks-secrets-encrypted",
    area: "encryption",
    description: "EKS envelope-encrypts Kubernetes Secrets with a KMS key.",
    severity: "high",
    remediation: 'Set encryptionConfig { resources: ["secrets"], provider.keyArn } on the cluster.',
    checkov: "CKV_AWS_58",
    tfsec: "aws-eks-encrypt-secrets",
    resourceTypes: ["aws:eks/cluster:Cluster"],
    check: (r) =>
      list(get(r.props, "encryptionConfig.resources")).includes("secrets") &&
      text(get(r.props, "encryptionConfig.provider.keyArn"))
        ? []
        : ["Kubernetes Secrets are not envelope-encrypted"],
  },
  {
    name: "aws-log-group-encrypted",
    area: "encryption",
    description: "CloudWatch log groups are encrypted with a customer-managed key.",
    severity: "medium",
    remediation:
      "Set kmsKeyId on the log group (the key policy must allow logs.<region>.amazonaws.com).",
    checkov: "CKV_AWS_158",
    tfsec: "aws-cloudwatch-log-group-customer-key",
    resourceTypes: ["aws:cloudwatch/logGroup:LogGroup"],
    check: (r) => (text(r.props.kmsKeyId) ? [] : ["no kmsKeyId"]),
  },
  {
    name: "aws-secret-customer-key",
    area: "encryption",
    description: "Secrets Manager secrets are encrypted with a customer-managed key.",
    severity: "medium",
    remediation: "Set kmsKeyId on the secret.",
    checkov: "CKV_AWS_149",
    tfsec: "aws-ssm-secret-use-customer-key",
    resourceTypes: ["aws:secretsmanager/secret:Secret"],
    check: (r) => (text(r.props.kmsKeyId) ? [] : ["no customer-managed kmsKeyId"]),
  },
  {
    name: "aws-kms-rotation",
    area: "encryption",
    description: "Customer-managed KMS keys rotate automatically.",
    severity: "high",
    remediation: "Set enableKeyRotation: true.",
    checkov: "CKV_AWS_7",
    tfsec: "aws-kms-auto-rotate-keys",
    resourceTypes: ["aws:kms/key:Key"],
    check: (r) => (isTrue(r.props.enableKeyRotation) ? [] : ["enableKeyRotation is not true"]),
  },
  {
    name: "aws-sns-encrypted",
    area: "encryption",
    description: "SNS topics (alarm messages) are encrypted with KMS.",
    severity: "medium",
    remediation: "Set kmsMasterKeyId on the topic.",
    checkov: "CKV_AWS_26",
    tfsec: "aws-sns-enable-topic-encryption",
    resourceTypes: ["aws:sns/topic:Topic"],
    check: (r) => (text(r.props.kmsMasterKeyId) ? [] : ["no kmsMasterKeyId"]),
  },
  {
    name: "aws-ecr-hardened",
    area: "encryption",
    description: "ECR repositories are KMS-encrypted, scan on push and keep tags immutable.",
    severity: "medium",
    remediation:
      "Set encryptionConfigurations KMS, imageScanningConfiguration.scanOnPush and imageTagMutability IMMUTABLE.",
    checkov: "CKV_AWS_136",
    tfsec: "aws-ecr-repository-customer-key",
    resourceTypes: ["aws:ecr/repository:Repository"],
    check: (r) => [
      ...(list(r.props.encryptionConfigurations).some((c) => get(c, "encryptionType") === "KMS")
        ? []
        : ["not KMS-encrypted"]),
      ...(isTrue(get(r.props, "imageScanningConfiguration.scanOnPush"))
        ? []
        : ["scan on push is off"]),
      ...(r.props.imageTagMutability === "IMMUTABLE" ? [] : ["tags are mutable"]),
    ],
  },
  {
    name: "azure-storage-customer-key",
    area: "encryption",
    description:
      "Azure storage accounts encrypt with a customer-managed key in Key Vault, with infrastructure encryption.",
    severity: "medium",
    remediation:
      "Set encryption.keySource Microsoft.Keyvault with keyVaultProperties and requireInfrastructureEncryption: true.",
    checkov: "CKV2_AZURE_1",
    resourceTypes: ["azure-native:storage:StorageAccount"],
    check: (r) => [
      ...(get(r.props, "encryption.keySource") === "Microsoft.Keyvault"
        ? []
        : ["not encrypted with a customer-managed key"]),
      ...(isTrue(get(r.props, "encryption.requireInfrastructureEncryption"))
        ? []
        : ["infrastructure encryption is off"]),
    ],
  },
  {
    name: "azure-postgres-customer-key",
    area: "encryption",
    description:
      "Azure Database for PostgreSQL flexible servers encrypt data with a customer-managed key.",
    severity: "medium",
    remediation:
      "Set dataEncryption.type AzureKeyVault with primaryKeyURI and a user-assigned identity.",
    resourceTypes: ["azure-native:dbforpostgresql:Server"],
    check: (r) =>
      get(r.props, "dataEncryption.type") === "AzureKeyVault"
        ? []
        : ["data is encrypted with a platform key only"],
  },
  {
    name: "gcp-bucket-customer-key",
    area: "encryption",
    description: "GCS buckets encrypt with a Cloud KMS key by default.",
    severity: "medium",
    remediation: "Set encryption.defaultKmsKeyName.",
    resourceTypes: ["gcp:storage/bucket:Bucket"],
    check: (r) =>
      text(get(r.props, "encryption.defaultKmsKeyName")) ? [] : ["no default Cloud KMS key"],
  },
  {
    name: "gcp-cloudsql-customer-key",
    area: "encryption",
    description: "Cloud SQL instances encrypt with a Cloud KMS key.",
    severity: "medium",
    remediation: "Set encryptionKeyName on the instance.",
    resourceTypes: ["gcp:sql/databaseInstance:DatabaseInstance"],
    check: (r) => (text(r.props.encryptionKeyName) ? [] : ["no Cloud KMS key"]),
  },
  {
    name: "gcp-gke-secrets-encrypted",
    area: "encryption",
    description: "GKE encrypts Kubernetes Secrets at the application layer with Cloud KMS.",
    severity: "high",
    remediation: "Set databaseEncryption { state: ENCRYPTED, keyName }.",
    resourceTypes: ["gcp:container/cluster:Cluster"],
    check: (r) =>
      get(r.props, "databaseEncryption.state") === "ENCRYPTED" &&
      text(get(r.props, "databaseEncryption.keyName"))
        ? []
        : ["Secrets are not encrypted with Cloud KMS"],
  },
  {
    name: "gcp-secret-customer-key",
    area: "encryption",
    description: "Secret Manager secrets replicate with a customer-managed encryption key.",
    severity: "low",
    remediation:
      "Set replication.auto.customerManagedEncryption (or per replica under userManaged).",
    resourceTypes: ["gcp:secretmanager/secret:Secret"],
    check: (r) => {
      const auto = text(get(r.props, "replication.auto.customerManagedEncryption.kmsKeyName"));
      const replicas = list(get(r.props, "replication.userManaged.replicas"));
      const user =
        replicas.length > 0 &&
        replicas.every((rep) => text(get(rep, "customerManagedEncryption.kmsKeyName")));
      return auto || user ? [] : ["no customer-managed encryption key"];
    },
  },
  {
    name: "gcp-memorystore-customer-key",
    area: "encryption",
    description: "Memorystore for Redis encrypts with a Cloud KMS key.",
    severity: "low",
    remediation: "Set customerManagedKey on the instance.",
    resourceTypes: ["gcp:redis/instance:Instance"],
    check: (r) => (text(r.props.customerManagedKey) ? [] : ["no Cloud KMS key"]),
  },
  {
    name: "azure-key-rotation",
    area: "encryption",
    description:
      "Key Vault keys rotate on a schedule (a new version each period) and have an expiry.",
    severity: "high",
    remediation:
      "Set properties.rotationPolicy with a rotate lifetime action (timeAfterCreate) and attributes.expiryTime.",
    resourceTypes: ["azure-native:keyvault:Key"],
    check: (r) => {
      const policy = get(r.props, "properties.rotationPolicy");
      const rotates = records(get(policy, "lifetimeActions")).some(
        (a) => get(a, "action.type") === "rotate" && text(get(a, "trigger.timeAfterCreate")),
      );
      return [
        ...(rotates ? [] : ["no scheduled rotation"]),
        ...(text(get(policy, "attributes.expiryTime")) ? [] : ["no expiry"]),
      ];
    },
  },
  {
    name: "azure-managed-redis-customer-key",
    area: "encryption",
    description:
      "Azure Managed Redis encrypts its disks (persistence) with a customer-managed key.",
    severity: "medium",
    remediation:
      "Set encryption.customerManagedKeyEncryption with keyEncryptionKeyUrl and a user-assigned identity.",
    resourceTypes: ["azure-native:redisenterprise:RedisEnterprise"],
    check: (r) =>
      text(get(r.props, "encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl"))
        ? []
        : ["encrypted with a platform key only"],
  },
  {
    name: "azure-disk-customer-key",
    area: "encryption",
    description: "A VM's OS disk is encrypted with a customer-managed key (a disk encryption set).",
    severity: "medium",
    remediation:
      "Set storageProfile.osDisk.managedDisk.diskEncryptionSet to a disk encryption set on a Key Vault key.",
    resourceTypes: ["azure-native:compute:VirtualMachine"],
    check: (r) =>
      text(get(r.props, "storageProfile.osDisk.managedDisk.diskEncryptionSet.id"))
        ? []
        : ["the OS disk is encrypted with a platform key only"],
  },
  {
    name: "azure-aks-customer-key",
    area: "encryption",
    description:
      "AKS encrypts Secrets in etcd with a Key Vault key (KMS) and its nodes' OS disks with a disk encryption set.",
    severity: "high",
    remediation:
      "Set securityProfile.azureKeyVaultKms (enabled, keyId) and diskEncryptionSetID on the managed cluster.",
    checkov: "CKV_AZURE_117",
    resourceTypes: [AKS_CLUSTER],
    check: (r) => [
      ...(isTrue(get(r.props, "securityProfile.azureKeyVaultKms.enabled")) &&
      text(get(r.props, "securityProfile.azureKeyVaultKms.keyId"))
        ? []
        : ["Secrets in etcd are encrypted with a platform key only (no KMS)"]),
      ...(text(r.props.diskEncryptionSetID)
        ? []
        : ["the nodes' OS disks are encrypted with a platform key only"]),
    ],
  },
  {
    name: "gcp-kms-rotation",
    area: "encryption",
    description: "Cloud KMS keys get a new primary version at least every 90 days.",
    severity: "high",
    remediation: "Set rotationPeriod to 7776000s (90 days) or less.",
    checkov: "CKV_GCP_43",
    resourceTypes: ["gcp:kms/cryptoKey:CryptoKey"],
    check: (r) => {
      const seconds = Number(/^(\d+)s$/.exec(String(r.props.rotationPeriod))?.[1]);
      return seconds > 0 && seconds <= 7776000
        ? []
        : [`rotationPeriod is ${String(r.props.rotationPeriod)} (at most 7776000s)`];
    },
  },
  {
    name: "gcp-registry-and-disks-customer-key",
    area: "encryption",
    description:
      "Artifact Registry repositories and Compute Engine boot disks encrypt with a Cloud KMS key.",
    severity: "medium",
    remediation: "Set kmsKeyName on the repository and bootDisk.kmsKeySelfLink on the instance.",
    resourceTypes: ["gcp:artifactregistry/repository:Repository", "gcp:compute/instance:Instance"],
    check: (r) =>
      r.type === "gcp:compute/instance:Instance"
        ? text(get(r.props, "bootDisk.kmsKeySelfLink"))
          ? []
          : ["the boot disk is encrypted with a Google-managed key only"]
        : text(r.props.kmsKeyName)
          ? []
          : ["the repository is encrypted with a Google-managed key only"],
  },
];
