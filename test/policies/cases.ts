/** A compliant and at least one violating case for every rule (rules.test.ts checks coverage). */
import type { ResourceView, Tier } from "../../policies/rules/types";
import {
  bucketWith,
  deployment,
  ecsTask,
  goodRds,
  KEY,
  loadBalanced,
  rdsWithParams,
  res,
  securePod,
  withContainer,
  worldRule,
} from "./fixtures";
import { AZURE_CASES } from "./azure-cases";
import { GCP_CASES } from "./gcp-cases";
import { KUBERNETES_CASES } from "./kubernetes-cases";
import { MULTI_REGION_CASES } from "./multi-region-cases";
import { ZERO_TRUST_CASES } from "./zero-trust-cases";

export interface RuleCase {
  readonly compliant: ResourceView[];
  readonly violating: Record<string, ResourceView[]>;
  /** Other ways to comply, each passing as the compliant case does. @default - none */
  readonly compliantAlso?: Record<string, ResourceView[]>;
  /** The tier the case is evaluated at. @default "enterprise" */
  readonly tier?: Tier;
  readonly outputs?: Record<string, unknown>;
}

const one = (r: ResourceView) => [r];
const pod = (p: Record<string, unknown>) => res("kubernetes:core/v1:Pod", { spec: p });
const container = (image: string, extra: Record<string, unknown> = {}) =>
  res("docker:index/container:Container", {
    image,
    ports: [{ internal: 80, external: 8080, ip: "127.0.0.1" }],
    envs: ["A=b"],
    ...extra,
  });
const tmpl = (props: Record<string, unknown>) => ({
  encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: KEY }],
  imageScanningConfiguration: { scanOnPush: true },
  imageTagMutability: "IMMUTABLE",
  ...props,
});
const azureStorage = {
  enableHttpsTrafficOnly: true,
  minimumTlsVersion: "TLS1_2",
  allowBlobPublicAccess: false,
  publicNetworkAccess: "Disabled",
  encryption: { keySource: "Microsoft.Keyvault", requireInfrastructureEncryption: true },
};
const cloudSql = {
  encryptionKeyName: "projects/p/locations/l/keyRings/r/cryptoKeys/k",
  settings: {
    ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" },
    backupConfiguration: { enabled: true },
  },
};
const gcsBucket = {
  publicAccessPrevention: "enforced",
  uniformBucketLevelAccess: true,
  encryption: { defaultKmsKeyName: "k" },
};
const memorystore = {
  transitEncryptionMode: "SERVER_AUTHENTICATION",
  authEnabled: true,
  connectMode: "PRIVATE_SERVICE_ACCESS",
  customerManagedKey: "k",
};
const gke = {
  privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true },
  databaseEncryption: { state: "ENCRYPTED", keyName: "k" },
  enableLegacyAbac: false,
};
const aks = {
  apiServerAccessProfile: { enablePrivateCluster: true },
  enableRBAC: true,
  disableLocalAccounts: true,
};
const redisGroup = {
  atRestEncryptionEnabled: true,
  kmsKeyId: KEY,
  transitEncryptionEnabled: true,
  transitEncryptionMode: "required",
  authToken: "[secret]",
  automaticFailoverEnabled: true,
  multiAzEnabled: true,
  numCacheClusters: 2,
};
const albIngress = (attributes: string) =>
  res("kubernetes:networking.k8s.io/v1:Ingress", {
    metadata: { annotations: { "alb.ingress.kubernetes.io/load-balancer-attributes": attributes } },
    spec: { ingressClassName: "alb" },
  });
/** `owner` alone (props false), or with a resource of `type` that takes `property` from it. */
const withAttached = (
  owner: ResourceView,
  type: string,
  property: string,
  props: Record<string, unknown> | false,
): ResourceView[] =>
  props === false
    ? [owner]
    : [owner, res(type, { [property]: owner.name, ...props }, { [property]: [owner] })];
const vpc = () => res("aws:ec2/vpc:Vpc", { cidrBlock: "10.0.0.0/16" });
const withFlowLog = (trafficType: string | false): ResourceView[] =>
  withAttached(
    vpc(),
    "aws:ec2/flowLog:FlowLog",
    "vpcId",
    trafficType === false ? false : { trafficType, logDestinationType: "cloud-watch-logs" },
  );
/** A document bucket logging to a log bucket (which is not logged itself). */
const s3Logged = (): ResourceView[] => {
  const logs = res("aws:s3/bucket:Bucket", { bucketPrefix: "logs-" });
  const docs = res("aws:s3/bucket:Bucket", { bucketPrefix: "docs-" });
  return [
    logs,
    docs,
    res(
      "aws:s3/bucketLogging:BucketLogging",
      { bucket: "docs", targetBucket: "logs", targetPrefix: "documents/" },
      { bucket: [docs], targetBucket: [logs] },
    ),
  ];
};
/** A VPC with its default security group managed with these rules, or left alone (false). */
const withDefaultSg = (rules: Record<string, unknown> | false): ResourceView[] =>
  withAttached(vpc(), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "vpcId", rules);
/** Namespace "rag" with NetworkPolicies of these specs in it. */
const withNamespacePolicies = (...specs: Record<string, unknown>[]): ResourceView[] => [
  res("kubernetes:core/v1:Namespace", { metadata: { name: "rag" } }),
  ...specs.map((spec, i) =>
    res("kubernetes:networking.k8s.io/v1:NetworkPolicy", {
      metadata: { name: `p${i}`, namespace: "rag" },
      spec,
    }),
  ),
];
/** A bucket with ownership controls of this setting, or none (false). */
const withOwnership = (objectOwnership: string | false): ResourceView[] =>
  withAttached(
    res("aws:s3/bucket:Bucket", { bucketPrefix: "docs-" }),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "bucket",
    objectOwnership === false ? false : { rule: { objectOwnership } },
  );
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
/** An IAM policy resource whose document holds these statements (a JSON string, as the program passes it). */
const iamPolicy = (type: string, statements: Record<string, unknown>[] | Record<string, unknown>) =>
  res(type, {
    role: "r",
    policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
  });
const pdbFor = (labels: Record<string, string>) =>
  res("kubernetes:policy/v1:PodDisruptionBudget", {
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  });

export const CASES: Record<string, RuleCase> = {
  ...AZURE_CASES,
  ...MULTI_REGION_CASES,
  ...GCP_CASES,
  ...KUBERNETES_CASES,
  ...ZERO_TRUST_CASES,
  // encryption
  "aws-s3-bucket-encrypted": {
    compliant: bucketWith({}),
    violating: { "no SSE configuration": bucketWith({ sse: false }) },
  },
  "aws-s3-bucket-customer-key": {
    compliant: [
      ...bucketWith({}),
      ...bucketWith({ sse: { sseAlgorithm: "AES256" }, loggedTo: true }),
    ],
    violating: {
      "SSE-S3 on a document bucket": bucketWith({ sse: { sseAlgorithm: "AES256" } }),
      "KMS without a key": bucketWith({ sse: { sseAlgorithm: "aws:kms" } }),
    },
  },
  "aws-rds-encrypted": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    violating: {
      unencrypted: one(res("aws:rds/instance:Instance", { ...goodRds, storageEncrypted: false })),
      "no key (unknown)": one(
        res("aws:rds/instance:Instance", { ...goodRds, kmsKeyId: undefined }),
      ),
    },
  },
  "aws-rds-performance-insights-encrypted": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    violating: {
      "PI without a key": one(
        res("aws:rds/instance:Instance", { ...goodRds, performanceInsightsKmsKeyId: undefined }),
      ),
    },
  },
  "aws-elasticache-encrypted-at-rest": {
    compliant: one(res("aws:elasticache/replicationGroup:ReplicationGroup", redisGroup)),
    violating: {
      "at rest off": one(
        res("aws:elasticache/replicationGroup:ReplicationGroup", {
          ...redisGroup,
          atRestEncryptionEnabled: false,
        }),
      ),
    },
  },
  "aws-ebs-encrypted": {
    compliant: [
      res("aws:ec2/instance:Instance", { rootBlockDevice: { encrypted: true } }),
      res("aws:ec2/launchTemplate:LaunchTemplate", {
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
      }),
      res("kubernetes:storage.k8s.io/v1:StorageClass", {
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true" },
      }),
    ],
    violating: {
      "root volume": one(
        res("aws:ec2/instance:Instance", { rootBlockDevice: { encrypted: false } }),
      ),
      "launch template": one(
        res("aws:ec2/launchTemplate:LaunchTemplate", {
          blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }],
        }),
      ),
      "storage class": one(
        res("kubernetes:storage.k8s.io/v1:StorageClass", {
          provisioner: "ebs.csi.aws.com",
          parameters: { type: "gp3" },
        }),
      ),
    },
  },
  "aws-eks-secrets-encrypted": {
    compliant: one(
      res("aws:eks/cluster:Cluster", {
        encryptionConfig: { resources: ["secrets"], provider: { keyArn: KEY } },
        vpcConfig: { endpointPublicAccess: false },
      }),
    ),
    violating: {
      "no encryption config": one(
        res("aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: false } }),
      ),
    },
  },
  "aws-log-group-encrypted": {
    compliant: one(res("aws:cloudwatch/logGroup:LogGroup", { kmsKeyId: KEY, retentionInDays: 30 })),
    violating: { "no key": one(res("aws:cloudwatch/logGroup:LogGroup", { retentionInDays: 30 })) },
  },
  "aws-secret-customer-key": {
    compliant: one(res("aws:secretsmanager/secret:Secret", { kmsKeyId: KEY })),
    violating: { "AWS-managed key": one(res("aws:secretsmanager/secret:Secret", {})) },
  },
  "aws-kms-rotation": {
    compliant: one(res("aws:kms/key:Key", { enableKeyRotation: true })),
    violating: { "rotation off": one(res("aws:kms/key:Key", { enableKeyRotation: false })) },
  },
  "aws-sns-encrypted": {
    compliant: one(res("aws:sns/topic:Topic", { kmsMasterKeyId: KEY })),
    violating: { plain: one(res("aws:sns/topic:Topic", {})) },
  },
  "aws-ecr-hardened": {
    compliant: one(res("aws:ecr/repository:Repository", tmpl({}))),
    violating: {
      mutable: one(res("aws:ecr/repository:Repository", tmpl({ imageTagMutability: "MUTABLE" }))),
      AES256: one(res("aws:ecr/repository:Repository", tmpl({ encryptionConfigurations: [] }))),
    },
  },
  "azure-storage-customer-key": {
    compliant: one(res("azure-native:storage:StorageAccount", azureStorage)),
    violating: {
      "platform key": one(
        res("azure-native:storage:StorageAccount", {
          ...azureStorage,
          encryption: { keySource: "Microsoft.Storage" },
        }),
      ),
    },
  },
  "azure-postgres-customer-key": {
    compliant: one(
      res("azure-native:dbforpostgresql:Server", {
        dataEncryption: { type: "AzureKeyVault" },
        network: { publicNetworkAccess: "Disabled" },
        backup: { backupRetentionDays: 14 },
      }),
    ),
    violating: {
      "system managed": one(
        res("azure-native:dbforpostgresql:Server", {
          dataEncryption: { type: "SystemManaged" },
          network: { publicNetworkAccess: "Disabled" },
        }),
      ),
    },
  },
  "gcp-bucket-customer-key": {
    compliant: one(res("gcp:storage/bucket:Bucket", gcsBucket)),
    violating: {
      "google key": one(res("gcp:storage/bucket:Bucket", { ...gcsBucket, encryption: undefined })),
    },
  },
  "gcp-cloudsql-customer-key": {
    compliant: one(res("gcp:sql/databaseInstance:DatabaseInstance", cloudSql)),
    violating: {
      "google key": one(
        res("gcp:sql/databaseInstance:DatabaseInstance", {
          ...cloudSql,
          encryptionKeyName: undefined,
        }),
      ),
    },
  },
  "gcp-gke-secrets-encrypted": {
    compliant: one(res("gcp:container/cluster:Cluster", gke)),
    violating: {
      decrypted: one(
        res("gcp:container/cluster:Cluster", {
          ...gke,
          databaseEncryption: { state: "DECRYPTED" },
        }),
      ),
    },
  },
  "gcp-secret-customer-key": {
    compliant: one(
      res("gcp:secretmanager/secret:Secret", {
        replication: { auto: { customerManagedEncryption: { kmsKeyName: "k" } } },
      }),
    ),
    violating: {
      "google key": one(res("gcp:secretmanager/secret:Secret", { replication: { auto: {} } })),
    },
  },
  "gcp-memorystore-customer-key": {
    compliant: one(res("gcp:redis/instance:Instance", memorystore)),
    violating: {
      "google key": one(
        res("gcp:redis/instance:Instance", { ...memorystore, customerManagedKey: undefined }),
      ),
    },
  },

  // transit
  "aws-s3-tls-only": {
    compliant: bucketWith({}),
    violating: {
      "no policy": bucketWith({ policy: false }),
      "policy without the TLS deny": bucketWith({
        policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "s3:GetObject" }] }),
      }),
    },
  },
  "aws-rds-force-ssl": {
    compliant: rdsWithParams([{ name: "rds.force_ssl", value: "1" }]),
    violating: {
      "force_ssl 0": rdsWithParams([{ name: "rds.force_ssl", value: "0" }]),
      "no parameter group": one(res("aws:rds/instance:Instance", goodRds)),
    },
  },
  "aws-elasticache-in-transit": {
    compliant: one(res("aws:elasticache/replicationGroup:ReplicationGroup", redisGroup)),
    violating: {
      preferred: one(
        res("aws:elasticache/replicationGroup:ReplicationGroup", {
          ...redisGroup,
          transitEncryptionMode: "preferred",
        }),
      ),
      "no auth": one(
        res("aws:elasticache/replicationGroup:ReplicationGroup", {
          ...redisGroup,
          authToken: undefined,
        }),
      ),
    },
  },
  "aws-lb-https-only": {
    compliant: [
      ...loadBalanced(false, {
        protocol: "HTTPS",
        port: 443,
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      }),
      ...loadBalanced(true, { protocol: "HTTP", port: 80, defaultActions: [{ type: "forward" }] }),
    ],
    violating: {
      "public HTTP": loadBalanced(false, {
        protocol: "HTTP",
        port: 80,
        defaultActions: [{ type: "forward" }],
      }),
      "old TLS policy": loadBalanced(false, {
        protocol: "HTTPS",
        port: 443,
        sslPolicy: "ELBSecurityPolicy-2016-08",
      }),
    },
  },
  "azure-storage-https-tls12": {
    compliant: one(res("azure-native:storage:StorageAccount", azureStorage)),
    violating: {
      "TLS 1.0": one(
        res("azure-native:storage:StorageAccount", {
          ...azureStorage,
          minimumTlsVersion: "TLS1_0",
        }),
      ),
      "HTTP allowed": one(
        res("azure-native:storage:StorageAccount", {
          ...azureStorage,
          enableHttpsTrafficOnly: false,
        }),
      ),
    },
  },
  "azure-redis-tls-only": {
    compliant: one(
      res("azure-native:redis:Redis", {
        enableNonSslPort: false,
        minimumTlsVersion: "1.2",
        publicNetworkAccess: "Disabled",
      }),
    ),
    violating: {
      "non-TLS port": one(
        res("azure-native:redis:Redis", {
          enableNonSslPort: true,
          minimumTlsVersion: "1.2",
          publicNetworkAccess: "Disabled",
        }),
      ),
    },
  },
  "azure-postgres-tls": {
    compliant: one(
      res("azure-native:dbforpostgresql:Configuration", {
        configurationName: "require_secure_transport",
        value: "ON",
      }),
    ),
    violating: {
      "TLS off": one(
        res("azure-native:dbforpostgresql:Configuration", {
          configurationName: "require_secure_transport",
          value: "OFF",
        }),
      ),
    },
  },
  "azure-container-app-https": {
    compliant: one(
      res("azure-native:app:ContainerApp", {
        configuration: { ingress: { allowInsecure: false } },
      }),
    ),
    violating: {
      insecure: one(
        res("azure-native:app:ContainerApp", {
          configuration: { ingress: { allowInsecure: true } },
        }),
      ),
    },
  },
  "gcp-cloudsql-tls": {
    compliant: one(res("gcp:sql/databaseInstance:DatabaseInstance", cloudSql)),
    violating: {
      "unencrypted allowed": one(
        res("gcp:sql/databaseInstance:DatabaseInstance", {
          ...cloudSql,
          settings: {
            ...cloudSql.settings,
            ipConfiguration: { ipv4Enabled: false, sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" },
          },
        }),
      ),
    },
  },
  "gcp-memorystore-tls": {
    compliant: one(res("gcp:redis/instance:Instance", memorystore)),
    violating: {
      "no TLS": one(
        res("gcp:redis/instance:Instance", { ...memorystore, transitEncryptionMode: "DISABLED" }),
      ),
    },
  },

  // secrets
  "no-secret-in-ecs-environment": {
    compliant: one(
      ecsTask([
        { name: "PGHOST", value: "db" },
        { name: "PGPASSWORD_FILE", value: "/run/secrets/x" },
      ]),
    ),
    violating: {
      "password as environment": one(ecsTask([{ name: "PGPASSWORD", value: "hunter2" }])),
      "credentials in a URL": one(
        ecsTask([{ name: "DATABASE", value: "postgres://app:hunter2@db:5432/x" }]),
      ),
      "secret value from an output": one(ecsTask([{ name: "TOKEN_X", value: "[secret]" }])),
    },
  },
  "no-secret-in-k8s-env": {
    compliant: one(deployment()),
    violating: {
      "plain password": one(
        deployment(withContainer((c) => c.env.push({ name: "REDIS_PASSWORD", value: "p4ss" }))),
      ),
    },
  },
  "no-secret-in-helm-values": {
    compliant: one(
      res("kubernetes:helm.sh/v3:Release", {
        chart: "c",
        version: "1.0.0",
        values: {
          env: [{ name: "K", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
          apiKey: false,
        },
      }),
    ),
    violating: {
      "literal password": one(
        res("kubernetes:helm.sh/v3:Release", {
          chart: "c",
          version: "1.0.0",
          values: { auth: { password: "changeme" } },
        }),
      ),
    },
  },
  "no-secret-in-docker-env": {
    compliant: one(
      container("redis:7.4.2", { envs: ["REDIS_PASSWORD_FILE=/run/secrets/redis", "A=b"] }),
    ),
    violating: {
      "password env": one(container("redis:7.4.2", { envs: ["POSTGRES_PASSWORD=hunter2"] })),
    },
  },
  "no-secret-in-container-app-env": {
    compliant: one(
      res("azure-native:app:ContainerApp", {
        template: { containers: [{ name: "api", env: [{ name: "PGPASSWORD", secretRef: "pg" }] }] },
      }),
    ),
    violating: {
      "plain value": one(
        res("azure-native:app:ContainerApp", {
          template: { containers: [{ name: "api", env: [{ name: "PGPASSWORD", value: "x1" }] }] },
        }),
      ),
      "plain value in a job": one(
        res("azure-native:app:Job", {
          template: {
            containers: [
              { name: "reembed", env: [{ name: "REDIS_PASSWORD", value: "hunter2-but-longer" }] },
            ],
          },
        }),
      ),
    },
  },
  "no-secret-in-cloud-run-env": {
    compliant: one(
      res("gcp:cloudrunv2/service:Service", {
        template: {
          containers: [
            {
              name: "api",
              envs: [
                {
                  name: "PGPASSWORD",
                  valueSource: { secretKeyRef: { secret: "s", version: "1" } },
                },
              ],
            },
          ],
        },
      }),
    ),
    violating: {
      "plain value": one(
        res("gcp:cloudrunv2/service:Service", {
          template: {
            containers: [{ name: "api", envs: [{ name: "LLM_API_KEY", value: "abc" }] }],
          },
        }),
      ),
      "plain value in a job": one(
        res("gcp:cloudrunv2/job:Job", {
          template: {
            template: {
              containers: [
                { name: "reembed", envs: [{ name: "PGPASSWORD", value: "hunter2-but-longer" }] },
              ],
            },
          },
        }),
      ),
    },
  },
  "stack-outputs-secret": {
    compliant: one(res("pulumi:pulumi:Stack", {})),
    outputs: {
      adminApiKey: "[secret]",
      database: { passwordSecretArn: "arn:aws:secretsmanager:x" },
      hint: "aws secretsmanager get-secret-value --secret-id x",
    },
    violating: { "a plain password": one(res("pulumi:pulumi:Stack", {})) },
  },

  // exposure
  "aws-no-world-ingress": {
    compliant: worldRule(443, true),
    violating: {
      "SSH from anywhere": worldRule(22, true),
      "443 on an internal group": worldRule(443, false),
      "inline rule": one(
        res("aws:ec2/securityGroup:SecurityGroup", {
          ingress: [{ fromPort: 5432, toPort: 5432, protocol: "tcp", cidrBlocks: ["0.0.0.0/0"] }],
        }),
      ),
    },
  },
  "aws-rds-not-public": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    violating: {
      public: one(res("aws:rds/instance:Instance", { ...goodRds, publiclyAccessible: true })),
      unknown: one(res("aws:rds/instance:Instance", { ...goodRds, publiclyAccessible: undefined })),
    },
  },
  "aws-s3-public-access-blocked": {
    compliant: bucketWith({}),
    violating: {
      "no block": bucketWith({ block: false }),
      "policy not blocked": bucketWith({ block: { blockPublicPolicy: false } }),
    },
  },
  "aws-s3-acls-disabled": {
    compliant: withOwnership("BucketOwnerEnforced"),
    violating: {
      "no ownership controls": withOwnership(false),
      "ACLs still honoured": withOwnership("BucketOwnerPreferred"),
    },
  },
  "aws-eks-private-endpoint": {
    compliant: [
      res("aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: false } }),
      res("aws:eks/cluster:Cluster", {
        vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] },
      }),
    ],
    violating: {
      "open to all": one(
        res("aws:eks/cluster:Cluster", {
          vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] },
        }),
      ),
    },
  },
  "aws-ec2-no-public-ip": {
    compliant: one(res("aws:ec2/instance:Instance", { associatePublicIpAddress: false })),
    violating: {
      "public IP": one(res("aws:ec2/instance:Instance", { associatePublicIpAddress: true })),
      "SSH key": one(
        res("aws:ec2/instance:Instance", { associatePublicIpAddress: false, keyName: "ops" }),
      ),
    },
  },
  "aws-ecs-no-public-ip": {
    compliant: [
      res("aws:ecs/service:Service", {
        networkConfiguration: { subnets: ["subnet-a"], assignPublicIp: false },
      }),
      res("aws:ecs/service:Service", { networkConfiguration: { subnets: ["subnet-a"] } }),
    ],
    violating: {
      "public IP": one(
        res("aws:ecs/service:Service", {
          networkConfiguration: { subnets: ["subnet-a"], assignPublicIp: true },
        }),
      ),
    },
  },
  "aws-subnet-no-auto-public-ip": {
    compliant: [
      res("aws:ec2/subnet:Subnet", { cidrBlock: "10.0.0.0/24", mapPublicIpOnLaunch: false }),
      res("aws:ec2/subnet:Subnet", { cidrBlock: "10.0.1.0/24" }),
    ],
    violating: {
      "public on launch": one(
        res("aws:ec2/subnet:Subnet", { cidrBlock: "10.0.0.0/24", mapPublicIpOnLaunch: true }),
      ),
    },
  },
  "aws-eks-nodes-no-ssh": {
    compliant: one(
      res("aws:eks/nodeGroup:NodeGroup", {
        clusterName: "c",
        scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 1 },
      }),
    ),
    violating: {
      "SSH key": one(
        res("aws:eks/nodeGroup:NodeGroup", {
          clusterName: "c",
          remoteAccess: { ec2SshKey: "ops", sourceSecurityGroupIds: ["sg-1"] },
        }),
      ),
    },
  },
  "aws-default-sg-closed": {
    // Managed with no rules listed, the group has none.
    compliant: [...withDefaultSg({ ingress: [], egress: [] }), ...withDefaultSg({})],
    violating: {
      "not managed": withDefaultSg(false),
      "egress left open": withDefaultSg({
        ingress: [],
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
      }),
    },
  },
  "k8s-namespace-default-deny": {
    compliant: withNamespacePolicies(
      { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ ports: [{ port: 53, protocol: "UDP" }] }],
      },
    ),
    violating: {
      "no policy": withNamespacePolicies(),
      "ingress only": withNamespacePolicies({ podSelector: {}, policyTypes: ["Ingress"] }),
      "some pods": withNamespacePolicies({
        podSelector: { matchLabels: { app: "api" } },
        policyTypes: ["Ingress", "Egress"],
      }),
      "allows a flow": withNamespacePolicies({
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        egress: [{}],
      }),
      "in another namespace": [
        res("kubernetes:core/v1:Namespace", { metadata: { name: "rag" } }),
        res("kubernetes:networking.k8s.io/v1:NetworkPolicy", {
          metadata: { name: "deny", namespace: "other" },
          spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        }),
      ],
    },
  },
  "aws-ec2-imdsv2": {
    compliant: [
      res("aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "required" } }),
      res("aws:ec2/launchTemplate:LaunchTemplate", { metadataOptions: { httpTokens: "required" } }),
    ],
    violating: {
      IMDSv1: one(
        res("aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "optional" } }),
      ),
      "template default": one(res("aws:ec2/launchTemplate:LaunchTemplate", {})),
    },
  },
  "docker-loopback-ports": {
    compliant: [
      container("redis:7.4.2"),
      container("grafana/grafana:13.2.0", {
        ports: [{ internal: 3000, external: 3000, ip: "::1" }],
      }),
    ],
    violating: {
      "all interfaces": one(
        container("redis:7.4.2", { ports: [{ internal: 6379, external: 6379 }] }),
      ),
      "0.0.0.0 named": one(
        container("grafana/grafana:13.2.0", {
          ports: [{ internal: 3000, external: 3000, ip: "0.0.0.0" }],
        }),
      ),
      "IPv6 any": one(
        container("prom/prometheus:v3.14.0", {
          ports: [{ internal: 9090, external: 9090, ip: "::" }],
        }),
      ),
      privileged: one(container("redis:7.4.2", { privileged: true })),
    },
  },
  "k8s-no-public-service": {
    compliant: [
      res("kubernetes:core/v1:Service", { spec: { type: "ClusterIP" } }),
      res("kubernetes:core/v1:Service", {
        metadata: {
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" },
        },
        spec: { type: "LoadBalancer" },
      }),
    ],
    violating: {
      "public LB": one(res("kubernetes:core/v1:Service", { spec: { type: "LoadBalancer" } })),
    },
  },
  "azure-storage-private": {
    compliant: [
      res("azure-native:storage:StorageAccount", azureStorage),
      res("azure-native:storage:BlobContainer", {
        containerName: "documents",
        publicAccess: "None",
      }),
    ],
    violating: {
      "public blobs": one(
        res("azure-native:storage:StorageAccount", {
          ...azureStorage,
          allowBlobPublicAccess: true,
        }),
      ),
      "anonymous container": one(
        res("azure-native:storage:BlobContainer", {
          containerName: "documents",
          publicAccess: "Blob",
        }),
      ),
    },
  },
  "azure-data-private": {
    compliant: [
      res("azure-native:dbforpostgresql:Server", { network: { publicNetworkAccess: "Disabled" } }),
      res("azure-native:redis:Redis", { publicNetworkAccess: "Disabled" }),
      res("azure-native:keyvault:Vault", { properties: { publicNetworkAccess: "Disabled" } }),
      res("azure-native:redisenterprise:RedisEnterprise", { publicNetworkAccess: "Disabled" }),
    ],
    violating: {
      "public postgres": one(
        res("azure-native:dbforpostgresql:Server", { network: { publicNetworkAccess: "Enabled" } }),
      ),
      "public vault": one(res("azure-native:keyvault:Vault", { properties: {} })),
      "public managed redis": one(
        res("azure-native:redisenterprise:RedisEnterprise", { publicNetworkAccess: "Enabled" }),
      ),
    },
  },
  "azure-aks-private": {
    compliant: one(res("azure-native:containerservice:ManagedCluster", aks)),
    violating: {
      "public API": one(
        res("azure-native:containerservice:ManagedCluster", { ...aks, apiServerAccessProfile: {} }),
      ),
    },
  },
  "gcp-data-private": {
    compliant: [
      res("gcp:storage/bucket:Bucket", gcsBucket),
      res("gcp:sql/databaseInstance:DatabaseInstance", cloudSql),
      res("gcp:redis/instance:Instance", memorystore),
    ],
    violating: {
      "public bucket": one(
        res("gcp:storage/bucket:Bucket", { ...gcsBucket, publicAccessPrevention: "inherited" }),
      ),
      "SQL public IP": one(
        res("gcp:sql/databaseInstance:DatabaseInstance", {
          ...cloudSql,
          settings: { ipConfiguration: { ipv4Enabled: true } },
        }),
      ),
    },
  },
  "gcp-gke-private": {
    compliant: one(res("gcp:container/cluster:Cluster", gke)),
    violating: {
      "public nodes": one(
        res("gcp:container/cluster:Cluster", { ...gke, privateClusterConfig: {} }),
      ),
    },
  },

  // logging
  "aws-alb-access-logs": {
    compliant: [
      res("aws:lb/loadBalancer:LoadBalancer", {
        loadBalancerType: "application",
        accessLogs: { enabled: true, bucket: "logs", prefix: "alb" },
      }),
      res("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "network" }),
      albIngress(
        "routing.http.drop_invalid_header_fields.enabled=true,access_logs.s3.enabled=true,access_logs.s3.bucket=logs,access_logs.s3.prefix=alb",
      ),
      res("kubernetes:networking.k8s.io/v1:Ingress", {
        metadata: { annotations: {} },
        spec: { ingressClassName: "nginx" },
      }),
    ],
    violating: {
      "no access logs": one(
        res("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "application" }),
      ),
      "logs turned off": one(
        res("aws:lb/loadBalancer:LoadBalancer", { accessLogs: { enabled: false, bucket: "logs" } }),
      ),
      "Ingress without them": one(
        albIngress("routing.http.drop_invalid_header_fields.enabled=true"),
      ),
      "Ingress with no bucket": one(albIngress("access_logs.s3.enabled=true")),
    },
  },
  "aws-s3-access-logging": {
    compliant: s3Logged(),
    violating: { "a document bucket with no access logs": bucketWith({}) },
  },
  "aws-vpc-flow-logs": {
    compliant: withFlowLog("ALL"),
    violating: {
      "no flow log": withFlowLog(false),
      "rejected traffic only": withFlowLog("REJECT"),
    },
  },
  "aws-eks-control-plane-logs": {
    compliant: one(
      res("aws:eks/cluster:Cluster", {
        enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
      }),
    ),
    violating: {
      "no audit log": one(
        res("aws:eks/cluster:Cluster", { enabledClusterLogTypes: ["api", "authenticator"] }),
      ),
      none: one(res("aws:eks/cluster:Cluster", {})),
    },
  },
  "aws-elasticache-logs": {
    compliant: one(
      res("aws:elasticache/replicationGroup:ReplicationGroup", {
        logDeliveryConfigurations: [
          {
            destination: "/rag/slow",
            destinationType: "cloudwatch-logs",
            logFormat: "json",
            logType: "slow-log",
          },
          {
            destination: "/rag/engine",
            destinationType: "cloudwatch-logs",
            logFormat: "json",
            logType: "engine-log",
          },
        ],
      }),
    ),
    violating: {
      "slow log only": one(
        res("aws:elasticache/replicationGroup:ReplicationGroup", {
          logDeliveryConfigurations: [
            {
              destination: "/rag/slow",
              destinationType: "cloudwatch-logs",
              logFormat: "json",
              logType: "slow-log",
            },
          ],
        }),
      ),
      none: one(res("aws:elasticache/replicationGroup:ReplicationGroup", {})),
    },
  },
  "aws-ecs-container-insights": {
    compliant: [
      res("aws:ecs/cluster:Cluster", {
        settings: [{ name: "containerInsights", value: "enhanced" }],
      }),
      res("aws:ecs/cluster:Cluster", {
        settings: [{ name: "containerInsights", value: "enabled" }],
      }),
    ],
    violating: {
      disabled: one(
        res("aws:ecs/cluster:Cluster", {
          settings: [{ name: "containerInsights", value: "disabled" }],
        }),
      ),
      "not set": one(res("aws:ecs/cluster:Cluster", {})),
    },
  },
  // access
  "aws-iam-no-admin-policy": {
    compliant: [
      iamPolicy(ROLE_POLICY, [
        {
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject"],
          Resource: "arn:aws:s3:::docs/*",
        },
      ]),
      iamPolicy(ROLE_POLICY, [{ Effect: "Allow", Action: "ec2:Describe*", Resource: "*" }]),
      iamPolicy(ROLE_POLICY, [
        {
          Effect: "Allow",
          Action: "iam:*",
          Resource: "*",
          Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1" } },
        },
      ]),
      iamPolicy(ROLE_POLICY, [{ Effect: "Deny", Action: "*", Resource: "*" }]),
      res("aws:iam/role:Role", {
        assumeRolePolicy: "{}",
        inlinePolicies: [
          {
            name: "read",
            policy: JSON.stringify({
              Statement: [
                { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::docs/*" },
              ],
            }),
          },
        ],
      }),
    ],
    violating: {
      "*": one(iamPolicy(ROLE_POLICY, [{ Effect: "Allow", Action: "*", Resource: "*" }])),
      "*:* in a managed policy": one(
        iamPolicy("aws:iam/policy:Policy", [
          { Effect: "Allow", Action: ["s3:GetObject", "*:*"], Resource: ["*"] },
        ]),
      ),
      "IAM:* (any case)": one(
        iamPolicy(ROLE_POLICY, { Effect: "Allow", Action: "IAM:*", Resource: "*" }),
      ),
      "Allow with NotAction": one(
        iamPolicy(ROLE_POLICY, [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }]),
      ),
      "inline on the role": one(
        res("aws:iam/role:Role", {
          assumeRolePolicy: "{}",
          inlinePolicies: [
            {
              name: "all",
              policy: JSON.stringify({
                Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
              }),
            },
          ],
        }),
      ),
      "unreadable document": one(
        res("aws:iam/rolePolicy:RolePolicy", { role: "r", policy: "{not json" }),
      ),
    },
  },
  "aws-iam-no-admin-attachment": {
    compliant: [
      res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {
        role: "r",
        policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
      }),
      res("aws:iam/role:Role", {
        assumeRolePolicy: "{}",
        managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"],
      }),
    ],
    violating: {
      AdministratorAccess: one(
        res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {
          role: "r",
          policyArn: "arn:aws:iam::aws:policy/AdministratorAccess",
        }),
      ),
      "IAMFullAccess in GovCloud": one(
        res("aws:iam/policyAttachment:PolicyAttachment", {
          roles: ["r"],
          policyArn: "arn:aws-us-gov:iam::aws:policy/IAMFullAccess",
        }),
      ),
      "on the role": one(
        res("aws:iam/role:Role", {
          assumeRolePolicy: "{}",
          managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        }),
      ),
    },
  },
  "k8s-rbac-no-wildcards": {
    compliant: one(
      res("kubernetes:rbac.authorization.k8s.io/v1:Role", {
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
      }),
    ),
    violating: {
      "every verb": one(
        res("kubernetes:rbac.authorization.k8s.io/v1:Role", {
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }],
        }),
      ),
      "every resource of every group": one(
        res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", {
          rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["get"] }],
        }),
      ),
    },
  },
  "k8s-rbac-no-cluster-admin": {
    compliant: one(
      res("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "metrics-scraper" },
        subjects: [{ kind: "ServiceAccount", name: "s" }],
      }),
    ),
    violating: {
      namespaced: one(
        res("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "cluster-admin",
          },
          subjects: [{ kind: "ServiceAccount", name: "s" }],
        }),
      ),
      "cluster-wide": one(
        res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", {
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "cluster-admin",
          },
          subjects: [{ kind: "Group", name: "devs" }],
        }),
      ),
    },
  },
  // resilience
  "aws-rds-backups": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    tier: "sme",
    violating: {
      "7 days at sme": one(
        res("aws:rds/instance:Instance", { ...goodRds, backupRetentionPeriod: 7 }),
      ),
      none: one(res("aws:rds/instance:Instance", { ...goodRds, backupRetentionPeriod: 0 })),
    },
  },
  "aws-rds-multi-az-protected": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    tier: "sme",
    violating: {
      "single AZ": one(res("aws:rds/instance:Instance", { ...goodRds, multiAz: false })),
      unprotected: one(res("aws:rds/instance:Instance", { ...goodRds, deletionProtection: false })),
    },
  },
  "aws-rds-final-snapshot": {
    compliant: one(res("aws:rds/instance:Instance", goodRds)),
    tier: "staging",
    violating: {
      skipped: one(res("aws:rds/instance:Instance", { ...goodRds, skipFinalSnapshot: true })),
      "no name": one(
        res("aws:rds/instance:Instance", { ...goodRds, finalSnapshotIdentifier: undefined }),
      ),
    },
  },
  "aws-elasticache-failover": {
    compliant: one(res("aws:elasticache/replicationGroup:ReplicationGroup", redisGroup)),
    tier: "enterprise",
    violating: {
      "no failover": one(
        res("aws:elasticache/replicationGroup:ReplicationGroup", {
          ...redisGroup,
          automaticFailoverEnabled: false,
          numCacheClusters: 1,
        }),
      ),
    },
  },
  "aws-s3-versioning": {
    compliant: bucketWith({}),
    violating: {
      none: bucketWith({ versioning: false }),
      suspended: bucketWith({ versioning: "Suspended" }),
    },
  },
  "aws-log-group-retention": {
    compliant: one(res("aws:cloudwatch/logGroup:LogGroup", { kmsKeyId: KEY, retentionInDays: 30 })),
    violating: { forever: one(res("aws:cloudwatch/logGroup:LogGroup", { kmsKeyId: KEY })) },
  },
  "k8s-pdb-for-replicated": {
    compliant: [
      deployment(undefined, 3, { app: "api" }),
      pdbFor({ app: "api" }),
      deployment(undefined, 1, { app: "single" }),
    ],
    violating: {
      "3 replicas, no PDB": one(deployment(undefined, 3, { app: "api" })),
      "PDB for another app": [deployment(undefined, 2, { app: "api" }), pdbFor({ app: "other" })],
    },
  },
  "k8s-zone-spread": {
    compliant: one(deployment(undefined, 3)),
    tier: "sme",
    violating: {
      "no zone spread": one(deployment((p) => ({ ...p, topologySpreadConstraints: [] }), 3)),
    },
  },
  "k8s-api-replicas": {
    compliant: one(deployment(undefined, 2, { "app.kubernetes.io/name": "rag-api" })),
    tier: "enterprise",
    violating: {
      "one API replica": one(deployment(undefined, 1, { "app.kubernetes.io/name": "rag-api" })),
    },
  },
  "gcp-azure-database-backups": {
    compliant: [
      res("gcp:sql/databaseInstance:DatabaseInstance", cloudSql),
      res("azure-native:dbforpostgresql:Server", { backup: { backupRetentionDays: 14 } }),
    ],
    violating: {
      "Cloud SQL without backups": one(
        res("gcp:sql/databaseInstance:DatabaseInstance", {
          settings: { backupConfiguration: { enabled: false } },
        }),
      ),
      "Azure 3 days": one(
        res("azure-native:dbforpostgresql:Server", { backup: { backupRetentionDays: 3 } }),
      ),
    },
  },
  "workloads-resource-bounded": {
    compliant: one(deployment()),
    violating: { "no limits": one(deployment(withContainer((c) => delete c.resources.limits))) },
  },

  // pod security
  "k8s-run-as-non-root": {
    compliant: [deployment(), pod(securePod)],
    violating: {
      "no runAsNonRoot": one(
        deployment((p) => ({
          ...p,
          securityContext: {},
          containers: p.containers.map((c) => ({
            ...c,
            securityContext: { ...c.securityContext, runAsNonRoot: undefined },
          })),
        })),
      ),
      "uid 0": one(deployment(withContainer((c) => (c.securityContext.runAsUser = 0)))),
    },
  },
  "k8s-no-privilege-escalation": {
    compliant: one(deployment()),
    violating: {
      escalation: one(
        deployment(withContainer((c) => (c.securityContext.allowPrivilegeEscalation = true))),
      ),
      privileged: one(deployment(withContainer((c) => (c.securityContext.privileged = true)))),
    },
  },
  "k8s-read-only-root-fs": {
    compliant: one(deployment()),
    violating: {
      writable: one(
        deployment(withContainer((c) => (c.securityContext.readOnlyRootFilesystem = false))),
      ),
    },
  },
  "k8s-drop-all-capabilities": {
    compliant: one(deployment()),
    violating: {
      "NET_RAW kept": one(
        deployment(withContainer((c) => (c.securityContext.capabilities = { drop: ["NET_RAW"] }))),
      ),
    },
  },
  "k8s-seccomp-runtime-default": {
    compliant: one(deployment()),
    violating: {
      unconfined: one(
        deployment((p) => ({
          ...p,
          securityContext: { ...p.securityContext, seccompProfile: { type: "Unconfined" } },
        })),
      ),
    },
  },
  "k8s-no-service-account-token": {
    compliant: one(deployment()),
    violating: {
      mounted: one(deployment((p) => ({ ...p, automountServiceAccountToken: undefined }))),
    },
  },
  "k8s-namespace-restricted": {
    compliant: one(
      res("kubernetes:core/v1:Namespace", {
        metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
      }),
    ),
    violating: {
      unlabelled: one(res("kubernetes:core/v1:Namespace", { metadata: { name: "x" } })),
    },
  },
  "images-pinned": {
    compliant: [
      deployment(),
      deployment(
        withContainer((c) => (c.image = `ghcr.io/acme/app:1.2.3@sha256:${"a".repeat(64)}`)),
      ),
      res("docker:index/remoteImage:RemoteImage", { name: "pgvector/pgvector:0.8.0-pg16" }),
      container(`sha256:${"a".repeat(64)}`),
      res("kubernetes:helm.sh/v3:Release", { chart: "qdrant", version: "1.13.4" }),
    ],
    violating: {
      "latest in a pod": one(
        deployment(withContainer((c) => (c.image = "vllm/vllm-openai:latest"))),
      ),
      "untagged pull": one(res("docker:index/remoteImage:RemoteImage", { name: "redis" })),
      "a digest too short": one(
        deployment(withContainer((c) => (c.image = "ghcr.io/acme/app@sha256:1234"))),
      ),
      "a digest in capitals after a tag": one(
        deployment(
          withContainer((c) => (c.image = `ghcr.io/acme/app:1.2.3@sha256:${"A".repeat(64)}`)),
        ),
      ),
      "a digest of another algorithm": one(container(`redis@md5:${"a".repeat(32)}`)),
      "unpinned chart": one(
        res("kubernetes:helm.sh/v3:Release", { chart: "qdrant", version: "^1.13" }),
      ),
    },
  },
};

/** The violating stack-outputs case needs its own outputs. */
export const VIOLATING_OUTPUTS: Record<string, Record<string, unknown>> = {
  "stack-outputs-secret": { postgresPassword: "Zq8vN2kLw9xR4tYp" },
};
