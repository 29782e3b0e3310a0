import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import type { ResourceRecord, SynthResult } from "../../tools/harness";
import { runPolicies, toViews } from "../../tools/policy-run";
import { writeSynthOutput } from "../../tools/synth";
import { runTool, synth } from "../helpers";

const policiesCli = (args: string[]) => runTool("policies", args);

/** Rules that judge at least one resource of each stack as shipped (a floor, a few under today's count). */
const JUDGING_RULES_AT_LEAST: Record<string, number> = {
  dev: 4,
  staging: 35,
  "staging-azure": 24,
  "staging-gcp": 17,
  sme: 70,
  "sme-azure": 62,
  "sme-gcp": 60,
  enterprise: 72,
};

/** Every stack file that synthesizes. */
const STACKS = [
  "dev",
  "staging",
  "staging-azure",
  "staging-gcp",
  "sme",
  "sme-azure",
  "sme-gcp",
  "enterprise",
];
/** Public variants, for the rules their defaults fail on purpose (an internal Ingress on HTTP). */
const PUBLIC: Record<string, [stack: string, sets: string[]]> = {
  "sme, public": [
    "sme",
    [
      "rag-platform:domain.certificate=arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7",
      "rag-platform:domain.hostname=rag.example.com",
    ],
  ],
  "sme-azure, public": [
    "sme-azure",
    [
      "rag-platform:domain.certificate=https://certs-vault.vault.azure.net/secrets/rag-sme",
      "rag-platform:domain.hostname=rag.example.com",
    ],
  ],
  "sme-gcp, public": [
    "sme-gcp",
    [
      "rag-platform:domain.certificate=google-managed",
      "rag-platform:domain.hostname=rag.example.com",
    ],
  ],
};
const stacks: Record<string, SynthResult> = {};
beforeAll(async () => {
  for (const name of STACKS) stacks[name] = await synth(name);
  for (const [name, [stack, sets]] of Object.entries(PUBLIC))
    stacks[name] = await synth(stack, sets);
});

describe("every stack that synthesizes", () => {
  it.each(STACKS)("%s passes its own tier with no mandatory violation", (name) => {
    const s = stacks[name]!;
    const e = evaluate(toViews(s.resources), { tier: s.tier, outputs: s.outputs });
    expect(
      e.findings
        .filter((f) => f.enforcement === "mandatory")
        .map((f) => `${f.rule} ${f.resource.name}: ${f.message}`),
    ).toEqual([]);
    // How many rules judge something there: a floor per stack, so a rule that stops matching its resources shows.
    expect(e.rules.filter((r) => r.checked > 0).length).toBeGreaterThanOrEqual(
      JUDGING_RULES_AT_LEAST[name]!,
    );
  });
});

type Flip = [
  rule: string,
  stack: string,
  change: (records: ResourceRecord[], outputs: Record<string, unknown>) => void,
];
const find = (records: ResourceRecord[], type: string, name?: string) =>
  records.find((r) => r.type === type && (!name || r.name === name))!;
/** The first Deployment's spec, as the flips below change it. */
const deploymentSpec = (records: ResourceRecord[]) =>
  find(records, "kubernetes:apps/v1:Deployment").inputs.spec as {
    template: {
      spec: { containers: { securityContext: Record<string, unknown>; env: unknown[] }[] };
    };
  };
/** A Deployment's pod spec, loosely typed: the CLI tests put malformed values in it. */
interface DeploymentPodSpec {
  containers: unknown[] | string;
}

/** Removes every resource of a type, in place. */
const drop = (records: ResourceRecord[], type: string) => {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]!.type === type) records.splice(i, 1);
};

/** Every resource of a type, as the flips below change them. */
const every = (records: ResourceRecord[], type: string) =>
  records.filter((r) => r.type === type).map((r) => r.inputs as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any

const FLIPS: Flip[] = [
  [
    "mesh-strict-mtls",
    "enterprise",
    (rs) =>
      every(rs, "kubernetes:security.istio.io/v1:PeerAuthentication")
        .filter((p) => p.metadata.namespace === "istio-system")
        .forEach((p) => (p.spec = { mtls: { mode: "PERMISSIVE" } })),
  ],
  [
    "mesh-namespace-default-deny",
    "enterprise",
    (rs) =>
      every(rs, "kubernetes:security.istio.io/v1:AuthorizationPolicy")
        .filter((p) => p.metadata.name === "default-deny")
        .forEach((p) => (p.spec = { rules: [{}] })),
  ],
  [
    // The API's canary split by pod count again: its ALB route removed.
    "k8s-exposed-service-rollout-analysis",
    "enterprise",
    (rs) =>
      every(rs, "kubernetes:argoproj.io/v1alpha1:Rollout")
        .filter((r) => r.spec.strategy.canary)
        .forEach((r) => delete r.spec.strategy.canary.trafficRouting),
  ],
  [
    "aws-cloudtrail-validated-locked",
    "enterprise",
    (rs) => (find(rs, "aws:cloudtrail/trail:Trail").inputs.enableLogFileValidation = false),
  ],
  [
    "aws-guardduty-eks-protection",
    "enterprise",
    (rs) =>
      every(rs, "aws:guardduty/detectorFeature:DetectorFeature").forEach(
        (f) => (f.status = "DISABLED"),
      ),
  ],
  [
    "no-secret-in-configmap",
    "enterprise",
    (rs) =>
      every(rs, "kubernetes:core/v1:ConfigMap").forEach(
        (c) =>
          (c.data = { ...c.data, GRAFANA_API_TOKEN: "glsa_live_0123456789abcdef0123456789abcdef" }),
      ),
  ],
  [
    "aws-msk-encrypted-private",
    "enterprise",
    (rs) =>
      every(rs, "aws:msk/cluster:Cluster").forEach(
        (c) => (c.encryptionInfo.encryptionInTransit.clientBroker = "TLS_PLAINTEXT"),
      ),
  ],
  [
    "aws-aurora-password-rotated",
    "enterprise",
    (rs) =>
      every(rs, "aws:secretsmanager/secretRotation:SecretRotation").forEach(
        (r) => (r.rotationEnabled = false),
      ),
  ],
  [
    "aws-s3-replication-encrypted",
    "enterprise",
    (rs) =>
      every(rs, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").forEach((c) =>
        (c.rules as { destination: Record<string, unknown> }[]).forEach(
          (rule) => delete rule.destination.encryptionConfiguration,
        ),
      ),
  ],
  [
    "aws-audit-log-export",
    "enterprise",
    (rs) => drop(rs, "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"),
  ],
  [
    "aws-rds-encrypted",
    "staging",
    (rs) => (find(rs, "aws:rds/instance:Instance").inputs.storageEncrypted = false),
  ],
  [
    "aws-rds-not-public",
    "staging",
    (rs) => (find(rs, "aws:rds/instance:Instance").inputs.publiclyAccessible = true),
  ],
  [
    "aws-s3-bucket-encrypted",
    "staging",
    (rs) =>
      rs
        .filter((r) => r.type.endsWith("BucketServerSideEncryptionConfiguration"))
        .forEach((r) => (r.inputs.rules = [])),
  ],
  [
    "aws-s3-public-access-blocked",
    "staging",
    (rs) =>
      (find(rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs.blockPublicPolicy =
        false),
  ],
  [
    "aws-s3-tls-only",
    "staging",
    (rs) =>
      rs
        .filter((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy")
        .forEach((r) => (r.inputs.policy = JSON.stringify({ Statement: [] }))),
  ],
  [
    "aws-elasticache-encrypted-at-rest",
    "staging",
    (rs) =>
      (find(
        rs,
        "aws:elasticache/replicationGroup:ReplicationGroup",
      ).inputs.atRestEncryptionEnabled = false),
  ],
  [
    "aws-elasticache-in-transit",
    "staging",
    (rs) =>
      (find(
        rs,
        "aws:elasticache/replicationGroup:ReplicationGroup",
      ).inputs.transitEncryptionEnabled = false),
  ],
  [
    "aws-rds-force-ssl",
    "staging",
    (rs) => (find(rs, "aws:rds/parameterGroup:ParameterGroup").inputs.parameters = []),
  ],
  [
    "aws-rds-final-snapshot",
    "staging",
    (rs) => (find(rs, "aws:rds/instance:Instance").inputs.skipFinalSnapshot = true),
  ],
  [
    "aws-ebs-encrypted",
    "staging",
    (rs) =>
      ((
        find(rs, "aws:ec2/instance:Instance").inputs.rootBlockDevice as Record<string, unknown>
      ).encrypted = false),
  ],
  [
    "aws-ec2-imdsv2",
    "staging",
    (rs) =>
      ((
        find(rs, "aws:ec2/instance:Instance").inputs.metadataOptions as Record<string, unknown>
      ).httpTokens = "optional"),
  ],
  [
    "aws-ec2-no-public-ip",
    "staging",
    (rs) => (find(rs, "aws:ec2/instance:Instance").inputs.associatePublicIpAddress = true),
  ],
  [
    "aws-kms-rotation",
    "staging",
    (rs) => (find(rs, "aws:kms/key:Key").inputs.enableKeyRotation = false),
  ],
  [
    "aws-no-world-ingress",
    "staging",
    (rs) =>
      (find(
        rs,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "rag-staging-postgres-sg-from-0",
      ).inputs.cidrIpv4 = "0.0.0.0/0"),
  ],
  [
    "aws-lb-https-only",
    "staging",
    (rs) => (find(rs, "aws:lb/loadBalancer:LoadBalancer").inputs.internal = false),
  ],
  [
    "aws-eks-secrets-encrypted",
    "sme",
    (rs) => delete find(rs, "aws:eks/cluster:Cluster").inputs.encryptionConfig,
  ],
  [
    "aws-eks-private-endpoint",
    "sme",
    (rs) =>
      (find(rs, "aws:eks/cluster:Cluster").inputs.vpcConfig = {
        endpointPublicAccess: true,
        publicAccessCidrs: ["0.0.0.0/0"],
      }),
  ],
  [
    "aws-ebs-encrypted",
    "sme",
    (rs) =>
      ((
        find(rs, "kubernetes:storage.k8s.io/v1:StorageClass").inputs.parameters as Record<
          string,
          unknown
        >
      ).encrypted = "false"),
  ],
  [
    "k8s-no-privilege-escalation",
    "sme",
    (rs) =>
      (deploymentSpec(rs).template.spec.containers[0]!.securityContext.allowPrivilegeEscalation =
        true),
  ],
  [
    "docker-loopback-ports",
    "dev",
    (rs) =>
      ((
        find(rs, "docker:index/container:Container", "rag-dev-postgres").inputs.ports as Record<
          string,
          unknown
        >[]
      )[0]!.ip = "0.0.0.0"),
  ],
  [
    "docker-loopback-ports",
    "dev",
    // A dev tool published on every interface: Docker's default when no ip is given.
    (rs) =>
      delete (
        find(rs, "docker:index/container:Container", "rag-dev-grafana").inputs.ports as Record<
          string,
          unknown
        >[]
      )[0]!.ip,
  ],
  [
    "aws-s3-bucket-customer-key",
    "staging",
    (rs) =>
      rs
        .filter((r) => r.type.endsWith("BucketServerSideEncryptionConfiguration"))
        .forEach(
          (r) =>
            (r.inputs.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]),
        ),
  ],
  [
    "aws-rds-performance-insights-encrypted",
    "staging",
    (rs) => delete find(rs, "aws:rds/instance:Instance").inputs.performanceInsightsKmsKeyId,
  ],
  [
    "aws-log-group-encrypted",
    "staging",
    (rs) => delete find(rs, "aws:cloudwatch/logGroup:LogGroup").inputs.kmsKeyId,
  ],
  [
    "aws-secret-customer-key",
    "sme",
    (rs) => delete find(rs, "aws:secretsmanager/secret:Secret").inputs.kmsKeyId,
  ],
  [
    "aws-sns-encrypted",
    "staging",
    (rs) => delete find(rs, "aws:sns/topic:Topic").inputs.kmsMasterKeyId,
  ],
  [
    "aws-ecr-hardened",
    "staging",
    (rs) =>
      (find(rs, "aws:ecr/repository:Repository").inputs.encryptionConfigurations = [
        { encryptionType: "AES256" },
      ]),
  ],
  [
    "k8s-ingress-https-only",
    "sme",
    (rs) => {
      const annotations = (
        find(rs, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as {
          annotations: Record<string, string>;
        }
      ).annotations;
      Object.assign(annotations, {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}]',
      });
    },
  ],
  [
    "k8s-no-public-service",
    "sme",
    (rs) =>
      ((find(rs, "kubernetes:core/v1:Service").inputs.spec as Record<string, unknown>).type =
        "LoadBalancer"),
  ],
  [
    "no-secret-in-ecs-environment",
    "staging",
    (rs) => {
      const task = find(rs, "aws:ecs/taskDefinition:TaskDefinition");
      const definitions = JSON.parse(task.inputs.containerDefinitions as string) as {
        environment: { name: string; value: string }[];
      }[];
      definitions[0]!.environment.push({ name: "PGPASSWORD", value: "hunter2-but-longer" });
      task.inputs.containerDefinitions = JSON.stringify(definitions);
    },
  ],
  [
    "no-secret-in-k8s-env",
    "sme",
    (rs) =>
      deploymentSpec(rs).template.spec.containers[0]!.env.push({
        name: "REDIS_PASSWORD",
        value: "hunter2-but-longer",
      }),
  ],
  [
    "no-secret-in-helm-values",
    "sme",
    (rs) =>
      ((
        find(rs, "kubernetes:helm.sh/v3:Release", "qdrant").inputs.values as Record<string, unknown>
      ).apiKey = "hunter2-but-longer"),
  ],
  [
    "aws-alb-access-logs",
    "staging",
    (rs) =>
      ((
        find(rs, "aws:lb/loadBalancer:LoadBalancer").inputs.accessLogs as Record<string, unknown>
      ).enabled = false),
  ],
  [
    "aws-alb-access-logs",
    "sme",
    (rs) => {
      const annotations = (
        find(rs, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as {
          annotations: Record<string, string>;
        }
      ).annotations;
      annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] =
        "routing.http.drop_invalid_header_fields.enabled=true";
    },
  ],
  ["aws-s3-access-logging", "staging", (rs) => drop(rs, "aws:s3/bucketLogging:BucketLogging")],
  ["aws-vpc-flow-logs", "sme", (rs) => drop(rs, "aws:ec2/flowLog:FlowLog")],
  [
    "aws-eks-control-plane-logs",
    "sme",
    (rs) =>
      (find(rs, "aws:eks/cluster:Cluster").inputs.enabledClusterLogTypes = [
        "api",
        "authenticator",
      ]),
  ],
  [
    "aws-ecs-no-public-ip",
    "staging",
    (rs) =>
      ((
        find(rs, "aws:ecs/service:Service").inputs.networkConfiguration as Record<string, unknown>
      ).assignPublicIp = true),
  ],
  [
    "aws-subnet-no-auto-public-ip",
    "sme",
    (rs) => (find(rs, "aws:ec2/subnet:Subnet").inputs.mapPublicIpOnLaunch = true),
  ],
  [
    "aws-eks-nodes-no-ssh",
    "sme",
    (rs) => (find(rs, "aws:eks/nodeGroup:NodeGroup").inputs.remoteAccess = { ec2SshKey: "ops" }),
  ],
  [
    "aws-default-sg-closed",
    "staging",
    (rs) =>
      (find(rs, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs.egress = [
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
      ]),
  ],
  [
    "aws-s3-acls-disabled",
    "staging",
    (rs) =>
      rs
        .filter((r) => r.type === "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        .forEach((r) => (r.inputs.rule = { objectOwnership: "ObjectWriter" })),
  ],
  [
    "k8s-namespace-default-deny",
    "sme",
    (rs) =>
      rs.splice(
        rs.findIndex((r) => r.name === "rag-sme-cluster-addons-telemetry-default-deny"),
        1,
      ),
  ],
  [
    "aws-iam-no-admin-policy",
    "sme",
    (rs) =>
      (find(rs, "aws:iam/rolePolicy:RolePolicy").inputs.policy = JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
      })),
  ],
  [
    "aws-iam-no-admin-attachment",
    "staging",
    (rs) =>
      (find(rs, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn =
        "arn:aws:iam::aws:policy/AdministratorAccess"),
  ],
  [
    "k8s-rbac-no-wildcards",
    "sme",
    (rs) =>
      (find(rs, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs.rules = [
        { apiGroups: [""], resources: ["pods"], verbs: ["*"] },
      ]),
  ],
  [
    "k8s-argocd-project-scoped",
    "enterprise",
    (rs) =>
      ((
        find(rs, "kubernetes:argoproj.io/v1alpha1:AppProject").inputs.spec as {
          sourceRepos: string[];
        }
      ).sourceRepos = ["*"]),
  ],
  [
    "k8s-rbac-no-cluster-admin",
    "sme",
    (rs) =>
      (find(rs, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs.roleRef = {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "cluster-admin",
      }),
  ],
  ...rbacFlips(),
  [
    "k8s-no-node-port-service",
    "sme",
    (rs) =>
      ((find(rs, "kubernetes:core/v1:Service").inputs.spec as Record<string, unknown>).type =
        "NodePort"),
  ],
  [
    "k8s-ingress-tls",
    "sme, public",
    (rs) =>
      (ingressAnnotations(rs)["alb.ingress.kubernetes.io/listen-ports"] =
        '[{"HTTP":80},{"HTTPS":443}]'),
  ],
  [
    "k8s-ingress-tls",
    "sme-azure, public",
    (rs) => {
      // Traefik's plain entry point exposed, and routers on it by default.
      const ports = (
        find(rs, "kubernetes:helm.sh/v3:Release", "traefik").inputs.values as {
          ports: Record<string, { expose: { default: boolean }; asDefault?: boolean }>;
        }
      ).ports;
      Object.assign(ports.web!, { expose: { default: true }, asDefault: true });
    },
  ],
  [
    "aws-ecs-container-insights",
    "staging",
    (rs) => (find(rs, "aws:ecs/cluster:Cluster").inputs.settings = []),
  ],
  [
    "aws-elasticache-logs",
    "sme",
    (rs) =>
      delete find(rs, "aws:elasticache/replicationGroup:ReplicationGroup").inputs
        .logDeliveryConfigurations,
  ],
  [
    "stack-outputs-secret",
    "staging",
    (_rs, outputs) =>
      (outputs.databaseUrl = "postgres://rag:hunter2-but-longer@db.internal:5432/rag"),
  ],
  [
    "stack-outputs-secret",
    "dev",
    (_rs, outputs) => (outputs.grafanaAdminPassword = "a-generated-password-shown-plain"),
  ],
  [
    "no-secret-in-docker-env",
    "dev",
    (rs) =>
      (
        find(rs, "docker:index/container:Container", "rag-dev-runtime-api").inputs.envs as string[]
      ).push("ADMIN_API_KEY=hunter2-but-longer"),
  ],
  ...azureFlips(),
  ...aksFlips(),
  ...gcpFlips(),
  ...gkeFlips(),
];

/** The same, on sme on GCP: the cluster, its pools, Workload Identity's grants and the Gateway. */
function gkeFlips(): Flip[] {
  const props = (rs: ResourceRecord[], type: string, name?: string) =>
    find(rs, type, name).inputs as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cluster = (rs: ResourceRecord[]) => props(rs, "gcp:container/cluster:Cluster");
  const gpuPool = (rs: ResourceRecord[]) =>
    props(rs, "gcp:container/nodePool:NodePool", "rag-sme-gke-gpu");
  const systemPool = (rs: ResourceRecord[]) =>
    props(rs, "gcp:container/nodePool:NodePool", "rag-sme-gke-system");
  const k8s = (kind: string) => `kubernetes:${kind}`;
  return [
    [
      "gcp-gke-private",
      "sme-gcp",
      (rs) => (cluster(rs).privateClusterConfig.enablePrivateNodes = false),
    ],
    [
      "gcp-gke-private",
      "sme-gcp",
      (rs) => {
        cluster(rs).privateClusterConfig.enablePrivateEndpoint = false;
        cluster(rs).masterAuthorizedNetworksConfig.cidrBlocks = [];
      },
    ],
    [
      "gcp-gke-secrets-encrypted",
      "sme-gcp",
      (rs) => (cluster(rs).databaseEncryption = { state: "DECRYPTED" }),
    ],
    [
      "gcp-gke-nodes-hardened",
      "sme-gcp",
      (rs) => (gpuPool(rs).nodeConfig.shieldedInstanceConfig.enableSecureBoot = false),
    ],
    [
      "gcp-gke-nodes-hardened",
      "sme-gcp",
      (rs) => (systemPool(rs).nodeConfig.workloadMetadataConfig.mode = "GCE_METADATA"),
    ],
    ["gcp-gke-customer-key", "sme-gcp", (rs) => delete systemPool(rs).nodeConfig.bootDiskKmsKey],
    [
      "gcp-gke-customer-key",
      "sme-gcp",
      (rs) =>
        delete props(rs, k8s("storage.k8s.io/v1:StorageClass")).parameters[
          "disk-encryption-kms-key"
        ],
    ],
    [
      "gcp-gke-network-policy",
      "sme-gcp",
      (rs) => (cluster(rs).datapathProvider = "LEGACY_DATAPATH"),
    ],
    ["gcp-gke-workload-identity", "sme-gcp", (rs) => delete cluster(rs).workloadIdentityConfig],
    [
      "gcp-gke-workload-identity",
      "sme-gcp",
      (rs) =>
        (props(
          rs,
          "gcp:storage/bucketIAMMember:BucketIAMMember",
          "rag-sme-runtime-documents",
        ).member =
          `principalSet://iam.googleapis.com/projects/987654321098/locations/global/workloadIdentityPools/my-rag-sme.svc.id.goog/namespace/rag`),
    ],
    [
      "gcp-gke-logged",
      "sme-gcp",
      (rs) => (cluster(rs).loggingConfig.enableComponents = ["SYSTEM_COMPONENTS"]),
    ],
    [
      "gcp-gke-upgrades",
      "sme-gcp",
      (rs) => (cluster(rs).releaseChannel = { channel: "UNSPECIFIED" }),
    ],
    ["gcp-gke-upgrades", "sme-gcp", (rs) => (gpuPool(rs).management.autoUpgrade = false)],
    ["gcp-gke-zone-redundant", "sme-gcp", (rs) => (cluster(rs).location = "europe-west1-b")],
    [
      "gcp-gke-zone-redundant",
      "sme-gcp",
      (rs) => (systemPool(rs).nodeLocations = ["europe-west1-b"]),
    ],
    [
      "gke-gateway-https",
      "sme-gcp",
      (rs) =>
        (props(rs, k8s("gateway.networking.k8s.io/v1:Gateway")).spec.listeners[0].protocol =
          "HTTP"),
    ],
    [
      "gke-gateway-https",
      "sme-gcp",
      (rs) => delete props(rs, k8s("networking.gke.io/v1:GCPGatewayPolicy")).spec.default.sslPolicy,
    ],
    [
      "gcp-lb-https-only",
      "sme-gcp",
      (rs) => (props(rs, "gcp:compute/regionSslPolicy:RegionSslPolicy").minTlsVersion = "TLS_1_0"),
    ],
    [
      "gke-gateway-request-logs",
      "sme-gcp",
      (rs) =>
        (props(rs, k8s("networking.gke.io/v1:GCPBackendPolicy")).spec.default.logging.enabled =
          false),
    ],
    [
      "gke-gateway-request-logs",
      "sme-gcp",
      (rs) => drop(rs, k8s("networking.gke.io/v1:GCPBackendPolicy")),
    ],
  ];
}

/** The sme Ingress's annotations, as the flips change them. */
const ingressAnnotations = (rs: ResourceRecord[]) =>
  (
    find(rs, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as {
      annotations: Record<string, string>;
    }
  ).annotations;

/** Each RBAC escalation, given to the runtime's metrics-scraper Role, and a built-in role bound. */
function rbacFlips(): Flip[] {
  const granting = (apiGroup: string, resource: string, verb: string) => (rs: ResourceRecord[]) =>
    (find(rs, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs.rules as unknown[]).push({
      apiGroups: [apiGroup],
      resources: [resource],
      verbs: [verb],
    });
  return [
    ["k8s-rbac-no-escalate", "sme", granting("rbac.authorization.k8s.io", "roles", "escalate")],
    ["k8s-rbac-no-bind", "sme", granting("rbac.authorization.k8s.io", "roles", "bind")],
    ["k8s-rbac-no-impersonate", "sme", granting("", "serviceaccounts", "impersonate")],
    ["k8s-rbac-no-csr-approval", "sme", granting("certificates.k8s.io", "signers", "approve")],
    [
      "k8s-rbac-no-webhook-writes",
      "sme",
      granting("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch"),
    ],
    [
      "k8s-rbac-no-admin-edit-binding",
      "sme",
      (rs) =>
        (find(rs, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs.roleRef = {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "edit",
        }),
    ],
  ];
}

/** The same, on sme on Azure: the cluster, its pools and identities. */
function aksFlips(): Flip[] {
  const A = (kind: string) => `azure-native:${kind}`;
  const props = (rs: ResourceRecord[], kind: string, name?: string) =>
    find(rs, A(kind), name).inputs as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cluster = (rs: ResourceRecord[]) => props(rs, "containerservice:ManagedCluster");
  return [
    [
      "azure-aks-private",
      "sme-azure",
      (rs) => (cluster(rs).apiServerAccessProfile.enablePrivateCluster = false),
    ],
    ["azure-aks-private", "sme-azure", (rs) => (cluster(rs).disableLocalAccounts = false)],
    [
      "azure-aks-customer-key",
      "sme-azure",
      (rs) => delete cluster(rs).securityProfile.azureKeyVaultKms,
    ],
    ["azure-aks-customer-key", "sme-azure", (rs) => delete cluster(rs).diskEncryptionSetID],
    [
      "azure-aks-nodes-private",
      "sme-azure",
      (rs) =>
        (props(rs, "containerservice:AgentPool", "rag-sme-aks-gpu").enableNodePublicIP = true),
    ],
    [
      "azure-aks-nodes-private",
      "sme-azure",
      (rs) => delete cluster(rs).agentPoolProfiles[0].vnetSubnetID,
    ],
    [
      "azure-aks-network-policy",
      "sme-azure",
      (rs) => (cluster(rs).networkProfile.networkPolicy = "none"),
    ],
    [
      "azure-federated-credential-exact",
      "sme-azure",
      (rs) =>
        (props(rs, "managedidentity:FederatedIdentityCredential", "rag-sme-runtime").subject =
          "system:serviceaccount:rag:*"),
    ],
    [
      "azure-aks-audit-logged",
      "sme-azure",
      (rs) =>
        rs.splice(
          rs.findIndex((r) => r.name === "rag-sme-aks-audit"),
          1,
        ),
    ],
    [
      "azure-aks-upgrades",
      "sme-azure",
      (rs) => (cluster(rs).autoUpgradeProfile.upgradeChannel = "none"),
    ],
    [
      "azure-aks-upgrades",
      "sme-azure",
      (rs) =>
        (props(rs, "containerservice:MaintenanceConfiguration").maintenanceWindow.durationHours =
          2),
    ],
    ["azure-aks-zone-redundant", "sme-azure", (rs) => (cluster(rs).sku.tier = "Free")],
    [
      "azure-aks-zone-redundant",
      "sme-azure",
      (rs) =>
        (props(rs, "containerservice:AgentPool", "rag-sme-aks-apps").enableAutoScaling = false),
    ],
  ];
}

/** The same, on staging on Azure: one setting each, as a reviewer could flip it in the state. */
function azureFlips(): Flip[] {
  const A = (kind: string) => `azure-native:${kind}`;
  const props = (rs: ResourceRecord[], kind: string, name?: string) =>
    find(rs, A(kind), name).inputs as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  return [
    [
      "azure-storage-customer-key",
      "staging-azure",
      (rs) => (props(rs, "storage:StorageAccount").encryption.keySource = "Microsoft.Storage"),
    ],
    [
      "azure-storage-https-tls12",
      "staging-azure",
      (rs) => (props(rs, "storage:StorageAccount").minimumTlsVersion = "TLS1_0"),
    ],
    [
      "azure-storage-private",
      "staging-azure",
      (rs) => (props(rs, "storage:StorageAccount").allowBlobPublicAccess = true),
    ],
    [
      "azure-storage-private",
      "staging-azure",
      (rs) => (props(rs, "storage:BlobContainer").publicAccess = "Container"),
    ],
    [
      "azure-postgres-customer-key",
      "staging-azure",
      (rs) => (props(rs, "dbforpostgresql:Server").dataEncryption = { type: "SystemManaged" }),
    ],
    [
      "azure-postgres-tls",
      "staging-azure",
      (rs) =>
        (props(
          rs,
          "dbforpostgresql:Configuration",
          "rag-staging-postgres-require-secure-transport",
        ).value = "OFF"),
    ],
    [
      "azure-data-private",
      "staging-azure",
      (rs) => (props(rs, "dbforpostgresql:Server").network.publicNetworkAccess = "Enabled"),
    ],
    [
      "azure-data-private",
      "staging-azure",
      (rs) => (props(rs, "keyvault:Vault").properties.publicNetworkAccess = "Enabled"),
    ],
    [
      "azure-data-private",
      "staging-azure",
      (rs) => (props(rs, "redisenterprise:RedisEnterprise").publicNetworkAccess = "Enabled"),
    ],
    [
      "azure-key-rotation",
      "staging-azure",
      (rs) => delete props(rs, "keyvault:Key").properties.rotationPolicy,
    ],
    [
      "azure-managed-redis-customer-key",
      "staging-azure",
      (rs) => delete props(rs, "redisenterprise:RedisEnterprise").encryption,
    ],
    [
      "azure-managed-redis-tls",
      "staging-azure",
      (rs) => (props(rs, "redisenterprise:Database").clientProtocol = "Plaintext"),
    ],
    [
      "azure-disk-customer-key",
      "staging-azure",
      (rs) =>
        delete props(rs, "compute:VirtualMachine").storageProfile.osDisk.managedDisk
          .diskEncryptionSet,
    ],
    [
      "azure-container-app-https",
      "staging-azure",
      (rs) =>
        (props(rs, "app:ContainerApp", "rag-staging-apps-api").configuration.ingress.allowInsecure =
          true),
    ],
    [
      "azure-container-apps-peer-encryption",
      "staging-azure",
      (rs) =>
        (props(rs, "app:ManagedEnvironment").peerTrafficConfiguration.encryption.enabled = false),
    ],
    [
      "no-secret-in-container-app-env",
      "staging-azure",
      (rs) =>
        props(rs, "app:Job").template.containers[0].env.push({
          name: "REDIS_PASSWORD",
          value: "hunter2-but-longer",
        }),
    ],
    [
      "azure-nsg-no-world-ingress",
      "staging-azure",
      (rs) =>
        props(rs, "network:NetworkSecurityGroup", "rag-staging-vnet-llm").securityRules.push({
          name: "ssh",
          direction: "Inbound",
          access: "Allow",
          protocol: "Tcp",
          sourceAddressPrefix: "Internet",
          destinationPortRange: "22",
        }),
    ],
    [
      "azure-subnet-nsg",
      "staging-azure",
      (rs) => delete props(rs, "network:Subnet", "rag-staging-vnet-llm").networkSecurityGroup,
    ],
    [
      "azure-nic-no-public-ip",
      "staging-azure",
      (rs) =>
        (props(rs, "network:NetworkInterface").ipConfigurations[0].publicIPAddress = {
          id: "/subscriptions/x/publicIPAddresses/pip",
        }),
    ],
    [
      "azure-role-assignment-scoped",
      "staging-azure",
      (rs) =>
        (props(rs, "authorization:RoleAssignment", "rag-staging-apps-secrets").scope = props(
          rs,
          "authorization:RoleAssignment",
          "rag-staging-apps-secrets",
        ).scope.split("/providers/")[0]),
    ],
    [
      "azure-custom-role-no-wildcards",
      "staging-azure",
      (rs) =>
        props(rs, "authorization:RoleDefinition").permissions[0].dataActions.push(
          "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",
        ),
    ],
    [
      "azure-keyvault-rbac",
      "staging-azure",
      (rs) => (props(rs, "keyvault:Vault").properties.enableRbacAuthorization = false),
    ],
    [
      "azure-acr-hardened",
      "staging-azure",
      (rs) => (props(rs, "containerregistry:Registry").adminUserEnabled = true),
    ],
    [
      "azure-vm-no-password-auth",
      "staging-azure",
      (rs) =>
        (props(
          rs,
          "compute:VirtualMachine",
        ).osProfile.linuxConfiguration.disablePasswordAuthentication = false),
    ],
    [
      "azure-data-logged",
      "staging-azure",
      (rs) =>
        rs.splice(
          rs.findIndex((r) => r.name === "rag-staging-kv-audit"),
          1,
        ),
    ],
    [
      "azure-data-logged",
      "staging-azure",
      (rs) =>
        rs.splice(
          rs.findIndex((r) => r.name === "rag-staging-docs-access"),
          1,
        ),
    ],
  ];
}
/** The same, on staging on GCP. */
function gcpFlips(): Flip[] {
  const G = (kind: string) => `gcp:${kind}`;
  const props = (rs: ResourceRecord[], kind: string, name?: string) =>
    find(rs, G(kind), name).inputs as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  return [
    [
      "gcp-bucket-customer-key",
      "staging-gcp",
      (rs) => delete props(rs, "storage/bucket:Bucket").encryption,
    ],
    [
      "gcp-data-private",
      "staging-gcp",
      (rs) => (props(rs, "storage/bucket:Bucket").publicAccessPrevention = "inherited"),
    ],
    [
      "gcp-data-private",
      "staging-gcp",
      (rs) =>
        (props(rs, "sql/databaseInstance:DatabaseInstance").settings.ipConfiguration.ipv4Enabled =
          true),
    ],
    [
      "gcp-data-private",
      "staging-gcp",
      (rs) => (props(rs, "redis/instance:Instance").connectMode = "DIRECT_PEERING"),
    ],
    [
      "gcp-cloudsql-customer-key",
      "staging-gcp",
      (rs) => delete props(rs, "sql/databaseInstance:DatabaseInstance").encryptionKeyName,
    ],
    [
      "gcp-cloudsql-tls",
      "staging-gcp",
      (rs) =>
        (props(rs, "sql/databaseInstance:DatabaseInstance").settings.ipConfiguration.sslMode =
          "ALLOW_UNENCRYPTED_AND_ENCRYPTED"),
    ],
    [
      "gcp-memorystore-tls",
      "staging-gcp",
      (rs) => (props(rs, "redis/instance:Instance").transitEncryptionMode = "DISABLED"),
    ],
    [
      "gcp-memorystore-customer-key",
      "staging-gcp",
      (rs) => delete props(rs, "redis/instance:Instance").customerManagedKey,
    ],
    [
      "gcp-secret-customer-key",
      "staging-gcp",
      (rs) => (props(rs, "secretmanager/secret:Secret").replication = { auto: {} }),
    ],
    [
      "no-secret-in-cloud-run-env",
      "staging-gcp",
      (rs) =>
        props(rs, "cloudrunv2/job:Job").template.template.containers[0].envs.push({
          name: "PGPASSWORD",
          value: "hunter2-but-longer",
        }),
    ],
    [
      "gcp-kms-rotation",
      "staging-gcp",
      (rs) => (props(rs, "kms/cryptoKey:CryptoKey").rotationPeriod = "31536000s"),
    ],
    [
      "gcp-registry-and-disks-customer-key",
      "staging-gcp",
      (rs) => delete props(rs, "artifactregistry/repository:Repository").kmsKeyName,
    ],
    [
      "gcp-registry-and-disks-customer-key",
      "staging-gcp",
      (rs) => delete props(rs, "compute/instance:Instance").bootDisk.kmsKeySelfLink,
    ],
    [
      "gcp-firewall-no-world-ingress",
      "staging-gcp",
      (rs) =>
        (props(rs, "compute/firewall:Firewall", "rag-staging-vpc-iap-ssh").sourceRanges = [
          "0.0.0.0/0",
        ]),
    ],
    [
      "gcp-instance-private",
      "staging-gcp",
      (rs) => (props(rs, "compute/instance:Instance").networkInterfaces[0].accessConfigs = [{}]),
    ],
    [
      "gcp-cloud-run-ingress",
      "staging-gcp",
      (rs) =>
        (props(rs, "cloudrunv2/service:Service", "rag-staging-run-api").ingress =
          "INGRESS_TRAFFIC_ALL"),
    ],
    [
      "gcp-iam-no-broad-roles",
      "staging-gcp",
      (rs) => (props(rs, "storage/bucketIAMMember:BucketIAMMember").member = "allUsers"),
    ],
    [
      "gcp-iam-no-broad-roles",
      "staging-gcp",
      (rs) => (props(rs, "projects/iAMMember:IAMMember").role = "roles/editor"),
    ],
    [
      "gcp-flow-and-request-logs",
      "staging-gcp",
      (rs) => delete props(rs, "compute/subnetwork:Subnetwork").logConfig,
    ],
    [
      "gcp-data-logged",
      "staging-gcp",
      (rs) => drop(rs, G("projects/iAMAuditConfig:IAMAuditConfig")),
    ],
    [
      "gcp-data-logged",
      "staging-gcp",
      (rs) => (props(rs, "sql/databaseInstance:DatabaseInstance").settings.databaseFlags = []),
    ],
  ];
}

describe("flipping one encryption, transit, exposure, secret, access or logging setting in a resources.json", () => {
  it("covers every such rule that judges something in a synthesized stack", () => {
    const flipped = new Set(FLIPS.map(([rule]) => rule));
    const areas = ["encryption", "transit", "exposure", "secrets", "access", "logging"];
    const judging = ALL_RULES.filter(
      (r) =>
        areas.includes(r.area) &&
        Object.values(stacks).some(
          (s) =>
            evaluate(toViews(s.resources), { tier: s.tier, outputs: s.outputs, rules: [r] })
              .rules[0]!.checked > 0,
        ),
    );
    expect(judging.map((r) => r.name).filter((name) => !flipped.has(name))).toEqual([]);
  });

  it.each(FLIPS)("fails %s (%s)", (rule, stack, change) => {
    const records = structuredClone(stacks[stack]!.resources);
    const outputs = structuredClone(stacks[stack]!.outputs);
    const tier = stack === "dev" ? "staging" : stacks[stack]!.tier;
    expect(
      evaluate(toViews(records), { tier, outputs }).findings.filter((f) => f.rule === rule),
      "the rule passes before the flip",
    ).toEqual([]);
    change(records, outputs);
    const e = evaluate(toViews(records), { tier, outputs });
    const hits = e.findings.filter((f) => f.rule === rule);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.enforcement).toBe(
      ["high", "critical"].includes(ALL_RULES.find((r) => r.name === rule)!.severity)
        ? "mandatory"
        : "advisory",
    );
  });
});

describe("npm run policies", () => {
  it("runs alone on an exported state and writes the three reports", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    writeSynthOutput(stacks.dev!, out);
    const { code, stdout } = await policiesCli([
      "--resources",
      join(out, "dev", "resources.json"),
      "--tier",
      "staging",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /0 mandatory, at tier staging; wrote .*policy-report\.\{json,sarif,md\}/,
    );
    const json = JSON.parse(readFileSync(join(out, "dev", "policy-report.json"), "utf8"));
    expect(json).toMatchObject({ tier: "staging", mandatoryViolations: 0 });
    expect(readFileSync(join(out, "dev", "policy-report.md"), "utf8")).toContain(
      "**No mandatory violation.**",
    );
  });

  it("writes its reports to an --out directory that does not exist yet", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    writeSynthOutput(stacks.dev!, out);
    const reports = join(out, "reports", "dev");
    const { code } = await policiesCli([
      "--resources",
      join(out, "dev", "resources.json"),
      "--tier",
      "staging",
      "--out",
      reports,
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(reports, "policy-report.json"), "utf8"))).toMatchObject({
      mandatoryViolations: 0,
    });
  });

  it("exits 1 on a mandatory violation and names it in every report", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    const records = structuredClone(stacks.staging!.resources);
    find(records, "aws:rds/instance:Instance").inputs.publiclyAccessible = true;
    const file = join(out, "resources.json");
    writeFileSync(file, JSON.stringify(records));
    const { code, stdout } = await policiesCli(["--resources", file, "--tier", "staging"]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^mandatory\s+critical\s+aws-rds-not-public\s+rag-staging-postgres\s+publiclyAccessible is not false$/m,
    );
    const sarif = JSON.parse(readFileSync(join(out, "policy-report.sarif"), "utf8"));
    expect(sarif.version).toBe("2.1.0");
    const result = sarif.runs[0].results.find(
      (r: { ruleId: string }) => r.ruleId === "aws-rds-not-public",
    );
    expect(result).toMatchObject({
      level: "error",
      properties: { enforcement: "mandatory", severity: "critical" },
    });
    expect(sarif.runs[0].tool.driver.rules[result.ruleIndex].id).toBe("aws-rds-not-public");
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(
      ALL_RULES.map((r) => r.name),
    );
    const md = readFileSync(join(out, "policy-report.md"), "utf8");
    expect(md).toContain("**1 mandatory violation(s): the deployment is blocked.**");
    expect(md).toMatch(
      /\| mandatory \| critical \| `aws-rds-not-public` \| `rag-staging-postgres` \(aws:rds\/instance:Instance\) \| publiclyAccessible is not false \| Set publiclyAccessible: false/,
    );
  });

  it("applies a policy-pack config file's overrides", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    const records = structuredClone(stacks.staging!.resources);
    find(records, "aws:rds/instance:Instance").inputs.publiclyAccessible = true;
    writeFileSync(join(out, "resources.json"), JSON.stringify(records));
    writeFileSync(join(out, "config.json"), JSON.stringify({ "aws-rds-not-public": "advisory" }));
    const { code } = await policiesCli([
      "--resources",
      join(out, "resources.json"),
      "--tier",
      "staging",
      "--config",
      join(out, "config.json"),
    ]);
    expect(code).toBe(0);
  });

  it("takes a resources file that is a list or an object with a resources list", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    const file = join(out, "resources.json");
    writeFileSync(file, JSON.stringify({ resources: stacks.staging!.resources }));
    const { code, stdout } = await policiesCli(["--resources", file, "--tier", "staging"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/0 mandatory, at tier staging/);
    writeFileSync(file, JSON.stringify({ items: [] }));
    const wrong = await policiesCli(["--resources", file, "--tier", "staging"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `resources file ${file} is neither a list of resources nor an object with a "resources" list`,
    );
  });

  it.each([
    ["a null container", (spec: DeploymentPodSpec) => (spec.containers = [null])],
    [
      "a null env entry",
      (spec: DeploymentPodSpec) => ((spec.containers[0] as { env?: unknown[] }).env = [null]),
    ],
    ["containers that are a string", (spec: DeploymentPodSpec) => (spec.containers = "app")],
  ])("reports %s in a workload as a finding instead of crashing", async (_label, change) => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    const records = structuredClone(stacks.sme!.resources);
    change(
      (find(records, "kubernetes:apps/v1:Deployment").inputs.spec as { template: { spec: never } })
        .template.spec,
    );
    const file = join(out, "resources.json");
    writeFileSync(file, JSON.stringify(records));
    const { code, stdout, stderr } = await policiesCli(["--resources", file, "--tier", "sme"]);
    expect(stderr).not.toMatch(/TypeError/);
    expect(stdout).not.toMatch(/the rule failed/);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^mandatory\s+\S+\s+\S+\s+rag-sme-\S+\s+.*cannot be read/m);
  });

  it("refuses a resources file whose entries are not resources, naming the entry", async () => {
    const out = mkdtempSync(join(tmpdir(), "policies-"));
    const file = join(out, "resources.json");
    writeFileSync(file, JSON.stringify([stacks.staging!.resources[1], null]));
    const { code, stderr } = await policiesCli(["--resources", file, "--tier", "staging"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `resources file ${file}: entry 1 is not a resource (an object with a string type, name and urn)`,
    );
  });

  it("prints its usage on --help", async () => {
    const { code, stdout } = await policiesCli(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: npm run policies -- --resources <resources.json> --tier/m);
  });

  it("refuses bad arguments with a usage line", async () => {
    const missing = await policiesCli(["--resources", "/nope.json", "--tier", "staging"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("resources file /nope.json does not exist");
    const tier = await policiesCli(["--resources", "/nope.json", "--tier", "gold"]);
    expect(tier.stderr).toContain("--tier must be one of dev, staging, sme, enterprise (got gold)");
  });

  it("is what synth runs: the reports sit next to resources.json", () => {
    const out = mkdtempSync(join(tmpdir(), "synth-policies-"));
    const dir = writeSynthOutput(stacks.staging!, out);
    const e = runPolicies({
      records: stacks.staging!.resources,
      tier: "staging",
      stack: "staging",
      outDir: dir,
      outputs: stacks.staging!.outputs,
    });
    expect(e.mandatoryViolations).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "policy-report.json"), "utf8")).stack).toBe("staging");
  });
});
