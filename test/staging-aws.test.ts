import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV, loadRuntimeConfig, SECRET_ENV } from "../runtime/src/config";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { INTERFACE_ENDPOINTS } from "../components/aws/network";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { MOCK_ELB_ACCOUNT_ID } from "../tools/mocks";
import { asList, json, ofType, one, statements, synth, waitedFor } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const T = {
  key: "aws:kms/key:Key",
  bucket: "aws:s3/bucket:Bucket",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  publicBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  logging: "aws:s3/bucketLogging:BucketLogging",
  rds: "aws:rds/instance:Instance",
  rdsParams: "aws:rds/parameterGroup:ParameterGroup",
  redis: "aws:elasticache/replicationGroup:ReplicationGroup",
  secret: "aws:secretsmanager/secret:Secret",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  ec2: "aws:ec2/instance:Instance",
  sgIngress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  taskDef: "aws:ecs/taskDefinition:TaskDefinition",
  service: "aws:ecs/service:Service",
  cluster: "aws:ecs/cluster:Cluster",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  nat: "aws:ec2/natGateway:NatGateway",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  flowLog: "aws:ec2/flowLog:FlowLog",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
};

interface ContainerDef {
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  readonlyRootFilesystem: boolean;
  user: string;
  linuxParameters: { capabilities: { drop: string[] } };
  healthCheck: { command: string[] };
}

function containerOf(result: SynthResult, suffix: string): ContainerDef {
  const task = ofType(result, T.taskDef).find((t) => t.name.endsWith(suffix))!;
  return json<ContainerDef[]>(task, "containerDefinitions")[0]!;
}

const KEY_ID = /^arn:aws:kms:eu-west-1:123456789012:key\//;

let staging: SynthResult;
beforeAll(async () => {
  staging = await synth("staging");
});

describe("staging on AWS: keys and encryption at rest", () => {
  it("creates customer-managed keys with rotation on", () => {
    const keys = ofType(staging, T.key);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const k of keys) {
      expect(k.inputs.enableKeyRotation, k.name).toBe(true);
      expect(k.inputs.deletionWindowInDays, k.name).toBe(30);
    }
  });

  it("encrypts the document bucket with SSE-KMS under our key, versioned, old versions expiring", () => {
    const docs = ofType(staging, T.bucket).find((b) => b.name === "rag-staging-documents")!;
    const sse = ofType(staging, T.sse).find((r) => r.name === "rag-staging-documents")!;
    expect(sse.inputs.bucket).toBe(`${docs.name}-id`);
    expect(sse.inputs.rules).toEqual([
      {
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: "aws:kms",
          kmsMasterKeyId: expect.stringMatching(KEY_ID),
        },
        bucketKeyEnabled: true,
      },
    ]);
    expect(
      ofType(staging, T.versioning).find((r) => r.name === "rag-staging-documents")!.inputs
        .versioningConfiguration,
    ).toEqual({ status: "Enabled" });
    const rules = ofType(staging, T.lifecycle).find((r) => r.name === "rag-staging-documents")!
      .inputs.rules as { noncurrentVersionExpiration?: { noncurrentDays: number } }[];
    expect(rules.map((r) => r.noncurrentVersionExpiration?.noncurrentDays).filter(Boolean)).toEqual(
      [30],
    );
    expect(
      ofType(staging, T.logging).find((r) => r.name === "rag-staging-documents")!.inputs
        .targetBucket,
    ).toBe("rag-staging-documents-access-logs-id");
  });

  it("follows the configured retention for old document versions", async () => {
    const result = await synth("staging", [
      "rag-platform:documents.noncurrentVersionRetentionDays=120",
    ]);
    const rules = ofType(result, T.lifecycle).find((r) => r.name === "rag-staging-documents")!
      .inputs.rules as { noncurrentVersionExpiration?: { noncurrentDays: number } }[];
    expect(
      rules.flatMap((r) =>
        r.noncurrentVersionExpiration ? [r.noncurrentVersionExpiration.noncurrentDays] : [],
      ),
    ).toEqual([120]);
  });

  it("blocks all public access and denies non-TLS requests on every bucket", () => {
    const buckets = ofType(staging, T.bucket);
    expect(buckets).toHaveLength(2);
    for (const b of buckets) {
      const block = ofType(staging, T.publicBlock).find((r) => r.inputs.bucket === `${b.name}-id`)!;
      expect(block.inputs, b.name).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const policy = ofType(staging, T.bucketPolicy).find(
        (r) => r.inputs.bucket === `${b.name}-id`,
      )!;
      const deny = statements(policy).find((s) => s.Sid === "DenyInsecureTransport")!;
      expect(deny).toMatchObject({
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
    }
  });

  it("runs RDS encrypted, private, TLS-only, with backups and a Secrets Manager master password", () => {
    const rds = one(staging, T.rds);
    expect(rds.inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "16",
      storageEncrypted: true,
      kmsKeyId: expect.stringMatching(KEY_ID),
      publiclyAccessible: false,
      manageMasterUserPassword: true,
      iamDatabaseAuthenticationEnabled: true,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: expect.stringMatching(KEY_ID),
      backupRetentionPeriod: 7,
      multiAz: false,
      deletionProtection: false,
      instanceClass: "db.t4g.medium",
    });
    expect(rds.inputs.password).toBeUndefined();
    // A final snapshot on destroy, named uniquely: snapshots outlive instances, and a fixed name fails the next stack's destroy.
    expect(rds.inputs.skipFinalSnapshot).toBe(false);
    const suffix = one(staging, "random:index/randomId:RandomId");
    expect(rds.propertyDependencies.finalSnapshotIdentifier).toEqual([suffix.urn]);
    expect(rds.inputs.finalSnapshotIdentifier).toMatch(/^rag-staging-postgres-final-[0-9a-f]{8}$/);
    const params = one(staging, T.rdsParams);
    expect(params.inputs.family).toBe("postgres16");
    expect(params.inputs.parameters).toContainEqual({ name: "rds.force_ssl", value: "1" });
  });

  it("keeps the runtime's images in an encrypted, immutable repository that destroy may empty, expiring old ones", () => {
    const repo = one(staging, "aws:ecr/repository:Repository");
    expect(repo.inputs).toMatchObject({
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      forceDelete: true,
    });
    const rules = json<{ rules: { rulePriority: number; selection: Record<string, unknown> }[] }>(
      one(staging, "aws:ecr/lifecyclePolicy:LifecyclePolicy"),
      "policy",
    ).rules;
    expect(
      rules.map((r) => [
        r.rulePriority,
        r.selection.tagStatus,
        r.selection.countType,
        r.selection.countNumber,
      ]),
    ).toEqual([
      [1, "untagged", "sinceImagePushed", 14],
      [2, "any", "imageCountMoreThan", 30],
    ]);
  });

  it("keeps on destroy what holds data, and the key that decrypts it", () => {
    const kept = staging.resources
      .filter((r) => r.retainOnDelete)
      .map((r) => `${r.type} ${r.name}`);
    expect(kept).toEqual(
      expect.arrayContaining([
        "aws:s3/bucket:Bucket rag-staging-documents",
        "aws:s3/bucket:Bucket rag-staging-documents-access-logs",
        "aws:kms/key:Key rag-staging-data",
      ]),
    );
    // RDS leaves a final snapshot (above), encrypted with the data key too; log groups go with the stack, and their key.
    expect(kept).not.toContain("aws:kms/key:Key rag-staging-logs");
    expect(kept.filter((k) => k.startsWith("aws:kms/alias:Alias"))).toEqual([]);
  });

  it("turns on multi-AZ and deletion protection when the tier asks", async () => {
    const result = await synth("staging", [
      "rag-platform:postgres.highAvailability=true",
      "rag-platform:postgres.deletionProtection=true",
    ]);
    expect(one(result, T.rds).inputs).toMatchObject({ multiAz: true, deletionProtection: true });
  });

  it("encrypts Redis at rest with our key and in transit, with an auth token", () => {
    const redis = one(staging, T.redis);
    expect(redis.inputs).toMatchObject({
      atRestEncryptionEnabled: true,
      kmsKeyId: expect.stringMatching(KEY_ID),
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      authToken: "[secret]",
      numCacheClusters: 2,
      automaticFailoverEnabled: false,
    });
    // The ingest queue (BullMQ) lives there: a parameter group that evicts nothing.
    const params = one(staging, "aws:elasticache/parameterGroup:ParameterGroup");
    expect(redis.propertyDependencies.parameterGroupName).toEqual([params.urn]);
    expect(params.inputs).toMatchObject({
      family: "redis7",
      parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
    });
  });

  it("delivers Redis's slow log and engine log to log groups of their own, encrypted and expiring", () => {
    const deliveries = one(staging, T.redis).inputs.logDeliveryConfigurations as {
      destination: string;
      destinationType: string;
      logFormat: string;
      logType: string;
    }[];
    expect(deliveries.map((d) => d.logType)).toEqual(["slow-log", "engine-log"]);
    for (const d of deliveries) {
      expect(d).toMatchObject({ destinationType: "cloudwatch-logs", logFormat: "json" });
      const group = ofType(staging, T.logGroup).find(
        (g) => g.name === `rag-staging-redis-${d.logType}`,
      )!;
      expect(d.destination).toMatch(
        new RegExp(`^${String(group.inputs.namePrefix).replace(/[/-]/g, "\\$&")}`),
      );
      expect(group.inputs).toMatchObject({
        kmsKeyId: expect.stringMatching(KEY_ID),
        retentionInDays: expect.any(Number),
      });
    }
  });

  it("encrypts every secret and every log group with our keys; logs have a retention", () => {
    for (const s of ofType(staging, T.secret)) expect(s.inputs.kmsKeyId, s.name).toMatch(KEY_ID);
    const logGroups = ofType(staging, T.logGroup);
    expect(logGroups.length).toBeGreaterThanOrEqual(3);
    for (const g of logGroups) {
      expect(g.inputs.kmsKeyId, g.name).toMatch(KEY_ID);
      expect(g.inputs.retentionInDays, g.name).toBe(30);
    }
  });
});

describe("staging on AWS: network", () => {
  it("spans two zones with private and public subnets and one shared NAT", () => {
    expect(one(staging, T.vpc).inputs.cidrBlock).toBe("10.40.0.0/16");
    const subnets = ofType(staging, T.subnet);
    expect(subnets.map((s) => s.inputs.cidrBlock).sort()).toEqual([
      "10.40.0.0/20",
      "10.40.128.0/20",
      "10.40.144.0/20",
      "10.40.16.0/20",
    ]);
    expect(new Set(subnets.map((s) => s.inputs.availabilityZone))).toEqual(
      new Set(["eu-west-1a", "eu-west-1b"]),
    );
    expect(subnets.every((s) => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
    expect(ofType(staging, T.nat)).toHaveLength(1);
  });

  it("puts a NAT gateway in each zone when asked", async () => {
    const result = await synth("staging", ["rag-platform:network.natGateways=per-zone"]);
    expect(ofType(result, T.nat)).toHaveLength(2);
  });

  it("has VPC endpoints for S3, ECR, Secrets Manager, SSM and CloudWatch Logs", () => {
    const services = ofType(staging, T.endpoint).map((e) =>
      String(e.inputs.serviceName).replace("com.amazonaws.eu-west-1.", ""),
    );
    expect(services.sort()).toEqual(["s3", ...INTERFACE_ENDPOINTS].sort());
    for (const required of ["s3", "ecr.api", "ecr.dkr", "secretsmanager", "ssm", "logs"])
      expect(services).toContain(required);
  });

  it("sends flow logs to an encrypted log group", () => {
    const flow = one(staging, T.flowLog);
    expect(flow.inputs).toMatchObject({
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
    });
    const group = ofType(staging, T.logGroup).find((g) => g.name === "rag-staging-vpc-flow-logs")!;
    expect(group.inputs.kmsKeyId).toMatch(KEY_ID);
    const rolePolicy = ofType(staging, "aws:iam/rolePolicy:RolePolicy").find(
      (p) => p.name === "rag-staging-vpc-flow-logs",
    )!;
    expect(waitedFor(staging, flow), "delivery starts with the role's permission").toContain(
      rolePolicy.urn,
    );
  });

  it("deploys into an existing VPC and subnets without creating network resources", async () => {
    const result = await synth("staging", [
      "rag-platform:network.existingNetworkId=vpc-0abc",
      "rag-platform:network.existingPrivateSubnetIds[0]=subnet-a",
      "rag-platform:network.existingPrivateSubnetIds[1]=subnet-b",
    ]);
    for (const type of [T.vpc, T.subnet, T.nat, T.endpoint, T.flowLog])
      expect(ofType(result, type), type).toHaveLength(0);
    expect(one(result, T.rds).inputs.dbSubnetGroupName).toBe("rag-staging-postgres");
    const subnetGroup = ofType(result, "aws:rds/subnetGroup:SubnetGroup")[0]!;
    expect(subnetGroup.inputs.subnetIds).toEqual(["subnet-a", "subnet-b"]);
    for (const svc of ofType(result, T.service)) {
      expect((svc.inputs.networkConfiguration as { subnets: string[] }).subnets, svc.name).toEqual([
        "subnet-a",
        "subnet-b",
      ]);
    }
    expect(ofType(result, T.ec2)[0]!.inputs.subnetId).toBe("subnet-a");
  });
});

describe("staging on AWS: exposure", () => {
  function ingressFromAnywhere(result: SynthResult): ResourceRecord[] {
    return ofType(result, T.sgIngress).filter(
      (r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0",
    );
  }

  it("keeps the ALB internal on HTTP inside the VPC when no certificate is configured", () => {
    expect(one(staging, T.alb).inputs.internal).toBe(true);
    expect(one(staging, T.listener).inputs).toMatchObject({ port: 80, protocol: "HTTP" });
    expect(ingressFromAnywhere(staging)).toEqual([]);
    expect(staging.outputs.apiUrl).toMatch(/^http:\/\//);
  });

  it("makes the ALB public on HTTPS 443 only, with a modern TLS policy, when a certificate is given", async () => {
    const cert =
      "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333";
    const result = await synth("staging", [`rag-platform:domain.certificate=${cert}`]);
    expect(one(result, T.alb).inputs.internal).toBe(false);
    expect(one(result, T.listener).inputs).toMatchObject({
      port: 443,
      protocol: "HTTPS",
      certificateArn: cert,
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    const open = ingressFromAnywhere(result);
    expect(open.map((r) => [r.inputs.fromPort, r.inputs.toPort])).toEqual([[443, 443]]);
    expect(open[0]!.name).toBe("rag-staging-svc-api-listener");
    expect(result.outputs.apiUrl).toMatch(/^https:\/\//);
  });

  it("logs every request the ALB serves to the log bucket, which only this region's load balancers may write, for this account", async () => {
    const alb = one(staging, T.alb);
    const logBucket = ofType(staging, T.bucket).find((b) => b.name.endsWith("-access-logs"))!;
    const bucketName = (alb.inputs.accessLogs as Obj).bucket as string;
    expect(alb.inputs.accessLogs).toEqual({
      enabled: true,
      bucket: expect.stringMatching(/^rag-staging-documents-access-logs-/),
      prefix: "alb",
    });
    expect(alb.propertyDependencies.accessLogs).toContain(logBucket.urn);
    const policy = ofType(staging, T.bucketPolicy).find((p) => p.name === logBucket.name)!;
    // AWS tests its permission when logging is turned on: the policy comes first.
    expect(waitedFor(staging, alb)).toContain(policy.urn);
    const delivery = statements(policy).find((s) => s.Sid === "LoadBalancerAccessLogsDelivery")!;
    expect(delivery).toMatchObject({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: `arn:aws:s3:::${bucketName}/alb/AWSLogs/123456789012/*`,
      // The region's Elastic Load Balancing account (eu-west-1 opened before August 2022) and the service principal.
      Principal: {
        AWS: `arn:aws:iam::${MOCK_ELB_ACCOUNT_ID}:root`,
        Service: "logdelivery.elasticloadbalancing.amazonaws.com",
      },
    });
    // The bucket is SSE-S3, the only encryption load balancer log delivery writes.
    expect(ofType(staging, T.sse).find((s) => s.name === logBucket.name)!.inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);

    // A region opened since then has no Elastic Load Balancing account: the service principal alone.
    const spain = await synth("staging", ["rag-platform:regions[0]=eu-south-2"]);
    const newer = ofType(spain, T.bucketPolicy).find((p) => p.name === logBucket.name)!;
    expect(
      statements(newer).find((s) => s.Sid === "LoadBalancerAccessLogsDelivery")!.Principal,
    ).toEqual({ Service: "logdelivery.elasticloadbalancing.amazonaws.com" });
  });

  it("lets only the workloads reach Postgres, Redis and Ollama", () => {
    const workloadSg = "rag-staging-workloads-id";
    for (const [prefix, port] of [
      ["rag-staging-postgres-sg-from", 5432],
      ["rag-staging-redis-sg-from", 6379],
      ["rag-staging-llm-ollama-from", 11434],
    ] as const) {
      const rules = ofType(staging, T.sgIngress).filter((r) => r.name.startsWith(prefix));
      expect(rules, prefix).toHaveLength(1);
      expect(rules[0]!.inputs).toMatchObject({
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: workloadSg,
      });
    }
  });

  it("runs the GPU host with no public IP, no SSH key, IMDSv2, an encrypted root volume and the SSM policy alone", () => {
    const host = one(staging, T.ec2);
    expect(host.inputs).toMatchObject({
      instanceType: "g4dn.xlarge",
      associatePublicIpAddress: false,
      metadataOptions: {
        httpTokens: "required",
        httpEndpoint: "enabled",
        httpPutResponseHopLimit: 1,
      },
      rootBlockDevice: { encrypted: true, kmsKeyId: expect.stringMatching(KEY_ID) },
    });
    expect(host.inputs.keyName).toBeUndefined();
    expect(String(host.inputs.userData)).toContain("ollama pull llama3.1:8b");
    expect(String(host.inputs.userData)).toContain("ollama pull nomic-embed-text:v1.5");
    const hostRole = "rag-staging-llm-role";
    const attachments = ofType(staging, T.attachment).filter((a) =>
      a.name.startsWith("rag-staging-llm"),
    );
    expect(attachments.map((a) => a.inputs.policyArn)).toEqual([
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]);
    expect(ofType(staging, T.rolePolicy).filter((p) => p.inputs.role === `${hostRole}-id`)).toEqual(
      [],
    );
  });

  it("selects g5.xlarge for an A10G", async () => {
    const result = await synth("staging", ["rag-platform:llm.gpuType=a10g"]);
    expect(one(result, T.ec2).inputs.instanceType).toBe("g5.xlarge");
  });
});

describe("staging on AWS: services on ECS Fargate", () => {
  it("gives the worker 120 s (Fargate's most) to finish the documents in hand when stopped, the API 30 s; each process gives up 10 s sooner", () => {
    const stopping = (suffix: string) => {
      const task = ofType(staging, T.taskDef).find((t) => t.name.endsWith(suffix))!;
      const def = json<(ContainerDef & { stopTimeout: number })[]>(
        task,
        "containerDefinitions",
      )[0]!;
      return [
        def.stopTimeout,
        def.environment.find((e) => e.name === ENV.shutdownTimeoutSeconds)?.value,
      ];
    };
    expect(stopping("-api")).toEqual([30, "20"]);
    expect(stopping("-worker")).toEqual([120, "110"]);
  });

  it("stops an API task only once the load balancer has drained it: a request in flight may last as long as the balancer lets a connection idle", () => {
    expect(one(staging, "aws:lb/targetGroup:TargetGroup").inputs.deregistrationDelay).toBe(
      one(staging, T.alb).inputs.idleTimeout,
    );
  });

  it("leaves a starting API task, which waits for its backends (a fresh GPU host pulling its models), to the load balancer's health check only once that wait is over", () => {
    const api = ofType(staging, T.service).find((x) => x.name.endsWith("-api"))!;
    expect(api.inputs.healthCheckGracePeriodSeconds).toBeGreaterThan(
      loadRuntimeConfig({}).STARTUP_TIMEOUT_SECONDS,
    );
    expect(
      ofType(staging, T.service).find((x) => x.name.endsWith("-worker"))!.inputs
        .healthCheckGracePeriodSeconds,
    ).toBeUndefined();
  });

  it("lets a slow answer through the load balancer, and the API keeps idle connections open longer than the balancer does", () => {
    const idle = one(staging, T.alb).inputs.idleTimeout as number;
    // Two tries at the question's embedding (60 s each) and at generation (120 s each) say nothing before the answer.
    expect(idle).toBeGreaterThanOrEqual(2 * (60 + 120));
    const environment = (suffix: string) =>
      json<ContainerDef[]>(
        ofType(staging, T.taskDef).find((t) => t.name.endsWith(suffix))!,
        "containerDefinitions",
      )[0]!.environment;
    expect(
      Number(environment("-api").find((e) => e.name === ENV.httpKeepAliveSeconds)?.value),
    ).toBeGreaterThan(idle);
    expect(environment("-worker").map((e) => e.name)).not.toContain(ENV.httpKeepAliveSeconds);
    expect(
      readFileSync("docs/tiers/staging-aws.md", "utf8"),
      "the staging page states the idle timeout",
    ).toMatch(new RegExp(`Idle timeout: ${idle} s`));
  });

  it("runs a cluster with Container Insights and two services, only the API behind the load balancer", () => {
    expect(one(staging, T.cluster).inputs.settings).toEqual([
      { name: "containerInsights", value: "enhanced" },
    ]);
    const services = ofType(staging, T.service);
    expect(services.map((s) => s.name).sort()).toEqual([
      "rag-staging-svc-api",
      "rag-staging-svc-worker",
    ]);
    expect(
      services.find((s) => s.name === "rag-staging-svc-api")!.inputs.loadBalancers,
    ).toHaveLength(1);
    expect(
      services.find((s) => s.name === "rag-staging-svc-worker")!.inputs.loadBalancers,
    ).toBeUndefined();
    for (const s of services)
      expect((s.inputs.networkConfiguration as { assignPublicIp: boolean }).assignPublicIp).toBe(
        false,
      );
    // ECS Exec's agent cannot run in the tasks' read-only root filesystem: it stays off rather than half-working.
    for (const s of services) expect(s.inputs.enableExecuteCommand, s.name).toBe(false);
  });

  it("starts the services once their roles hold their policies, and the API once the listener forwards to its target group", () => {
    const policies = staging.resources.filter(
      (r) =>
        (r.type === "aws:iam/rolePolicy:RolePolicy" ||
          r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment") &&
        /^rag-staging-svc-(execution|task)/.test(r.name),
    );
    expect(policies.map((p) => p.name).sort()).toEqual([
      "rag-staging-svc-execution-base",
      "rag-staging-svc-execution-secrets",
      "rag-staging-svc-task-database-password",
      "rag-staging-svc-task-documents",
    ]);
    const listener = one(staging, "aws:lb/listener:Listener");
    for (const service of ofType(staging, T.service)) {
      const before = waitedFor(staging, service);
      for (const p of policies) expect(before, `${service.name} after ${p.name}`).toContain(p.urn);
      expect(before.has(listener.urn), `${service.name} after the listener`).toBe(
        service.name.endsWith("-api"),
      );
    }
  });

  it("injects every secret through `secrets.valueFrom` and none through `environment`; the rotating database password is read at connect", () => {
    const rds = one(staging, "aws:rds/instance:Instance");
    for (const suffix of ["-api", "-worker"]) {
      const c = containerOf(staging, suffix);
      expect(c.secrets.map((s) => s.name).sort()).toEqual(
        [ENV.adminApiKey, ENV.redisPassword].sort(),
      );
      for (const s of c.secrets)
        expect(s.valueFrom).toMatch(/^arn:aws:secretsmanager:eu-west-1:123456789012:/);
      for (const e of c.environment) {
        expect((SECRET_ENV as readonly string[]).includes(e.name), e.name).toBe(false);
        if (e.name !== ENV.pgPasswordSecretArn)
          expect(e.name).not.toMatch(/PASSWORD|SECRET|TOKEN|API_KEY/);
      }
      // The ARN of RDS's own managed secret (the mocks name it after the instance), not a password.
      expect(c.environment.find((e) => e.name === ENV.pgPasswordSecretArn)?.value).toMatch(
        /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!/,
      );
      expect(rds.inputs.manageMasterUserPassword).toBe(true);
      expect(c.readonlyRootFilesystem).toBe(true);
      expect(c.user).toBe("1000:1000");
      expect(c.linuxParameters.capabilities.drop).toEqual(["ALL"]);
    }
  });

  it("lets the execution role read exactly the injected secrets, and the task role only the bucket, its key and the database password", () => {
    const exec = ofType(staging, T.rolePolicy).find(
      (p) => p.name === "rag-staging-svc-execution-secrets",
    )!;
    const read = statements(exec).find((s) => s.Sid === "ReadTheRuntimeSecrets")!;
    const injected = containerOf(staging, "-api").secrets.map((s) =>
      s.valueFrom.replace(/:password::$/, ""),
    );
    expect(asList(read.Action)).toEqual(["secretsmanager:GetSecretValue"]);
    expect(asList(read.Resource).sort()).toEqual([...new Set(injected)].sort());

    const task = ofType(staging, T.rolePolicy).find(
      (p) => p.name === "rag-staging-svc-task-documents",
    )!;
    const actions = statements(task).flatMap((s) => asList(s.Action));
    for (const action of actions)
      expect(action).toMatch(
        /^(s3:(ListBucket|GetObject|PutObject|DeleteObject|DeleteObjectVersion|ListBucketVersions|GetObjectVersion)|kms:(Decrypt|GenerateDataKey))$/,
      );
    const resources = statements(task).flatMap((s) => asList(s.Resource));
    for (const r of resources) expect(r).toMatch(/^arn:aws:(s3:::rag-staging-documents-|kms:)/);
    // Bucket-level actions on the bucket's ARN, object-level ones on its objects: S3 matches each
    // action against one kind of resource only, and a grant on the other is silently useless.
    for (const statement of statements(task)) {
      const s3 = asList(statement.Action).filter((a) => a.startsWith("s3:"));
      if (s3.length === 0) continue;
      const onBucket = s3.every((a) => a === "s3:ListBucket" || a === "s3:ListBucketVersions");
      for (const r of asList(statement.Resource))
        expect(r.endsWith("/*"), `${s3.join(",")} on ${r}`).toBe(!onBucket);
    }
    const password = ofType(staging, T.rolePolicy).find(
      (p) => p.name === "rag-staging-svc-task-database-password",
    )!;
    expect(statements(password).map((s) => [asList(s.Action), asList(s.Resource)])).toEqual([
      [
        ["secretsmanager:GetSecretValue"],
        [
          containerOf(staging, "-api").environment.find((e) => e.name === ENV.pgPasswordSecretArn)!
            .value,
        ],
      ],
      [["kms:Decrypt"], [expect.stringMatching(/^arn:aws:kms:/)]],
    ]);
    expect(
      ofType(staging, T.rolePolicy)
        .filter((p) => p.name.startsWith("rag-staging-svc-task"))
        .map((p) => p.name)
        .sort(),
    ).toEqual(["rag-staging-svc-task-database-password", "rag-staging-svc-task-documents"]);
  });

  it("autoscales the API on CPU and requests, the worker on its backlog per task and CPU, within the configured bounds", () => {
    const targets = ofType(staging, "aws:appautoscaling/target:Target");
    expect(targets.map((t) => [t.name, t.inputs.minCapacity, t.inputs.maxCapacity]).sort()).toEqual(
      [
        ["rag-staging-svc-api", 2, 4],
        ["rag-staging-svc-worker", 1, 4],
      ],
    );
    type Tracking = {
      targetValue: number;
      predefinedMetricSpecification?: { predefinedMetricType: string };
      customizedMetricSpecification?: { metrics: Obj[] };
    };
    const policies = ofType(staging, "aws:appautoscaling/policy:Policy").map(
      (p) => [p.name, p.inputs.targetTrackingScalingPolicyConfiguration as Tracking] as const,
    );
    expect(
      policies
        .filter(([, t]) => t.predefinedMetricSpecification)
        .map(([n, t]) => [n, t.predefinedMetricSpecification!.predefinedMetricType])
        .sort(),
    ).toEqual([
      ["rag-staging-svc-api-cpu", "ECSServiceAverageCPUUtilization"],
      ["rag-staging-svc-api-requests", "ALBRequestCountPerTarget"],
      ["rag-staging-svc-worker-cpu", "ECSServiceAverageCPUUtilization"],
    ]);
    // Waiting documents (what the worker publishes) over running worker tasks, 20 per task.
    const [queue] = policies.filter(([, t]) => t.customizedMetricSpecification);
    expect(queue![0]).toBe("rag-staging-svc-worker-queue");
    expect(queue![1].targetValue).toBe(20);
    const [depth, tasks, backlog] = queue![1].customizedMetricSpecification!.metrics;
    expect(depth).toMatchObject({
      id: "depth",
      returnData: false,
      metricStat: {
        stat: "Maximum",
        metric: {
          namespace: "RagPlatform",
          metricName: "IngestQueueDepth",
          dimensions: [{ name: "Service", value: "rag-staging-svc" }],
        },
      },
    });
    expect(tasks).toMatchObject({
      id: "tasks",
      returnData: false,
      metricStat: {
        metric: { namespace: "ECS/ContainerInsights", metricName: "RunningTaskCount" },
      },
    });
    expect(tasks!.metricStat.metric.dimensions.map((d: Obj) => d.name)).toEqual([
      "ClusterName",
      "ServiceName",
    ]);
    expect(backlog).toMatchObject({ id: "backlog", expression: "depth / tasks", returnData: true });
  });

  it("has the worker publish the queue depth that scaling, the alarm and the dashboard read, under the stack's service name", () => {
    const worker = containerOf(staging, "-worker");
    const api = containerOf(staging, "-api");
    const envOf = (c: ContainerDef) =>
      Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
    expect(envOf(worker)).toMatchObject({
      [ENV.cloudwatchMetricsNamespace]: "RagPlatform",
      [ENV.serviceName]: "rag-staging-svc",
    });
    expect(envOf(api)[ENV.serviceName]).toBe("rag-staging-svc");
    // The API's /metrics answers on 8081, which the load balancer's target group does not reach.
    expect(envOf(api)[ENV.metricsPort]).toBe("8081");
    expect(ofType(staging, "aws:lb/targetGroup:TargetGroup").map((t) => t.inputs.port)).toEqual([
      8080,
    ]);
    expect(envOf(api)[ENV.cloudwatchMetricsNamespace]).toBeUndefined();
    const alarm = ofType(staging, "aws:cloudwatch/metricAlarm:MetricAlarm").find(
      (a) => a.inputs.metricName === "IngestQueueDepth",
    )!;
    expect(alarm.inputs).toMatchObject({
      namespace: "RagPlatform",
      dimensions: { Service: "rag-staging-svc" },
    });
    const dashboard = JSON.parse(
      one(staging, "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody as string,
    ) as { widgets: { properties: { title: string; metrics: unknown[][] } }[] };
    expect(
      dashboard.widgets.find((w) => w.properties.title === "Ingest queue depth")!.properties
        .metrics,
    ).toEqual([["RagPlatform", "IngestQueueDepth", "Service", "rag-staging-svc"]]);
  });

  it("sends traffic only to API tasks that have started and reach their database; the container check stays liveness", () => {
    // A task still waiting for its backends answers /healthz 200 but readiness 503: a rollout
    // keeps the old tasks until the new ones can serve.
    expect(one(staging, "aws:lb/targetGroup:TargetGroup").inputs.healthCheck).toMatchObject({
      path: "/readyz?check=database",
      matcher: "200",
    });
    expect(containerOf(staging, "-api").healthCheck.command).toEqual([
      "CMD",
      "node",
      "dist/healthcheck.js",
      "8080",
    ]);
  });

  it("outputs the run-task that re-embeds the index with the worker's task after a change of embedding model", () => {
    expect(staging.outputs.reembedTask).toBe(
      "aws ecs run-task --region eu-west-1 --cluster rag-staging-svc --launch-type FARGATE --task-definition arn:aws:ecs:eu-west-1:123456789012:rag-staging-svc-worker " +
        "--network-configuration 'awsvpcConfiguration={subnets=[rag-staging-vpc-private-0-id,rag-staging-vpc-private-1-id],securityGroups=[rag-staging-workloads-id],assignPublicIp=DISABLED}' " +
        `--overrides '{"containerOverrides":[{"name":"worker","command":["node","dist/reembed.js"]}]}'`,
    );
  });

  it("outputs the backup commands reading the admin key from Secrets Manager", () => {
    const backup = staging.outputs.backup as { export: string; import: string };
    expect(backup.export).toMatch(
      /^RAG_API_URL=http:\/\/\S+ RAG_API_KEY="\$\(aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:\S+ --query SecretString --output text\)" npm run backup -w runtime -- export --out kb-\$\(date \+%F\)\.tar\.gz$/,
    );
    expect(backup.import).toContain("-- import --in kb.tar.gz");
  });

  it("wires the runtime to RDS with verified TLS, Redis with TLS, the bucket and Ollama on the GPU host", () => {
    const env = Object.fromEntries(
      containerOf(staging, "-api").environment.map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      [ENV.pgSslMode]: "verify-full",
      [ENV.redisTls]: "true",
      [ENV.vectorStore]: "pgvector",
      [ENV.requirePgvector]: "true",
      [ENV.llmProvider]: "ollama",
      [ENV.llmBaseUrl]: "http://10.40.0.10:11434",
      [ENV.objectStoreUrl]: expect.stringMatching(
        /^s3:\/\/rag-staging-documents-[0-9a-f]+\/documents$/,
      ),
      // Client addresses (rate limits) from the ALB's X-Forwarded-For, believed only from inside the VPC.
      [ENV.trustProxy]: "10.40.0.0/16",
    });
  });
});

describe("staging on AWS: modes", () => {
  it("managed LLM mode creates no GPU host and reads the API key from Secrets Manager", async () => {
    const result = await synth("staging", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=openai",
      "rag-platform:llm.model=gpt-4o-mini",
    ]);
    expect(ofType(result, T.ec2)).toEqual([]);
    const c = containerOf(result, "-api");
    const env = Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      [ENV.llmProvider]: "openai",
      [ENV.llmBaseUrl]: "https://api.openai.com/v1",
      [ENV.llmModel]: "gpt-4o-mini",
      [ENV.embeddingProvider]: "openai",
    });
    expect(c.secrets.map((s) => s.name)).toEqual(
      expect.arrayContaining([ENV.llmApiKey, ENV.embeddingApiKey]),
    );
    const keySecret = ofType(result, T.secret).find((s) => s.name === "rag-staging-llm-api-key")!;
    expect(
      ofType(result, "aws:secretsmanager/secretVersion:SecretVersion").some((v) =>
        v.parent?.endsWith("::rag-staging-llm-api-key"),
      ),
    ).toBe(false);
    expect(keySecret.inputs.kmsKeyId).toMatch(KEY_ID);
    expect((result.outputs.secretsToFill as Record<string, string>)["llm-api-key"]).toMatch(
      /^aws secretsmanager put-secret-value --secret-id arn:aws:secretsmanager:\S+ --secret-string file:\/\/<file holding the value>$/,
    );
    // The task definition takes the key once it holds a value: the check ran on that secret.
    const keyArn = c.secrets.find((s) => s.name === ENV.llmApiKey)!.valueFrom;
    expect(
      result.calls
        .filter((call) => call.token === "aws:secretsmanager/getSecretVersions:getSecretVersions")
        .map((call) => call.inputs.secretId),
    ).toEqual([keyArn]);
    expect(ofType(result, T.alarm).map((a) => a.name)).not.toContain(
      "rag-staging-observability-gpu-host-status",
    );
  });

  it("qdrant-cloud mode points the runtime at the cluster URL with the key from Secrets Manager", async () => {
    const result = await synth("staging", [
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://abc.eu-central-1-0.aws.cloud.qdrant.io:6333",
    ]);
    const c = containerOf(result, "-api");
    const env = Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
    expect(env[ENV.vectorStore]).toBe("qdrant");
    expect(env[ENV.qdrantUrl]).toBe("https://abc.eu-central-1-0.aws.cloud.qdrant.io:6333");
    expect(c.secrets.map((s) => s.name)).toContain(ENV.qdrantApiKey);
  });

  it("uses a prebuilt image when one is configured instead of building", async () => {
    const image =
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rag-runtime@sha256:" + "a".repeat(64);
    const result = await synth("staging", [`rag-platform:runtimeImage=${image}`]);
    expect(ofType(result, "docker:index/image:Image")).toEqual([]);
    expect(
      ofType(result, T.taskDef).map(
        (t) => json<{ image: string }[]>(t, "containerDefinitions")[0]!.image,
      ),
    ).toEqual([image, image]);
  });
});

describe("staging on AWS: observability", () => {
  it("builds a dashboard and alarms to an encrypted topic with the configured subscribers", async () => {
    const result = await synth("staging", [
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ]);
    expect(one(result, T.topic).inputs.kmsMasterKeyId).toMatch(KEY_ID);
    expect(one(result, T.subscription).inputs).toMatchObject({
      protocol: "email",
      endpoint: "oncall@example.com",
    });
    const alarms = ofType(result, T.alarm);
    expect(
      alarms.map((a) => a.inputs.metricName ?? a.name.replace(/^.*-observability-/, "")).sort(),
    ).toEqual(
      [
        "CPUUtilization",
        "FreeStorageSpace",
        "HTTPCode_Target_5XX_Count",
        "IngestQueueDepth",
        "StatusCheckFailed",
        "TargetResponseTime",
        "UnHealthyHostCount",
        "redis-memory",
      ].sort(),
    );
    // Each node (staging: a primary and one replica) under the dimension ElastiCache publishes (CacheClusterId).
    const redisMemory = alarms.find((a) => a.name.endsWith("-redis-memory"))!.inputs
      .metricQueries as {
      id: string;
      metric?: { dimensions: Record<string, string> };
      expression?: string;
    }[];
    expect(redisMemory.map((q) => q.metric?.dimensions ?? q.expression)).toEqual([
      { CacheClusterId: "rag-staging-redis-id-001" },
      { CacheClusterId: "rag-staging-redis-id-002" },
      "MAX([node0, node1])",
    ]);
    for (const a of alarms)
      expect(a.inputs.alarmActions, a.name).toEqual([
        expect.stringMatching(/^arn:aws:sns:eu-west-1:/),
      ]);
    const body = json<{ widgets: { properties: { title: string } }[] }>(
      one(result, "aws:cloudwatch/dashboard:Dashboard"),
      "dashboardBody",
    );
    expect(body.widgets.map((w) => w.properties.title)).toEqual([
      "API latency (p50, p95)",
      "API requests and 5xx",
      "Ingest queue depth",
      "ECS CPU (API, worker)",
      "Postgres",
      "Redis (per node)",
      "GPU host (Ollama)",
    ]);
    expect(result.outputs.subscribePagerDuty).toMatch(
      /^aws sns subscribe --region eu-west-1 --topic-arn arn:aws:sns:eu-west-1:\S+ --protocol https /,
    );
  });

  it("exports the API URL, the bucket, the database endpoint and the SSM command", () => {
    expect(staging.outputs).toMatchObject({
      apiUrl: expect.stringMatching(/^http:\/\/.*elb\.amazonaws\.com$/),
      documentsBucket: expect.stringMatching(/^rag-staging-documents-/),
      database: { endpoint: expect.stringMatching(/rds\.amazonaws\.com:5432$/) },
      llmHost: {
        ssmSession: "aws ssm start-session --region eu-west-1 --target rag-staging-llm-id",
      },
    });
  });
});

describe("staging config errors", () => {
  function problems(values: Record<string, unknown>): string[] {
    try {
      resolveConfig({ tier: "staging", regions: ["eu-west-1"], ...values });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error("expected a ConfigError");
  }

  it("names an unknown GPU type and what is allowed", () => {
    expect(problems({ llm: { gpuType: "h100" } })).toEqual([
      'rag-platform:llm.gpuType: got "h100"; allowed: t4, a10g, l4, a100',
    ]);
  });

  it("refuses a GPU that has no single-GPU instance", () => {
    expect(problems({ llm: { gpuType: "a100" } })).toEqual([
      'rag-platform:llm.gpuType: got "a100"; staging runs Ollama on one single-GPU machine (allowed on aws: t4, a10g, l4)',
    ]);
  });

  it("refuses a self-hosted Qdrant and a certificate that is not an ACM ARN", () => {
    expect(problems({ vectorDb: { mode: "qdrant" } })).toEqual([
      'rag-platform:vectorDb.mode: got "qdrant"; staging uses managed vector storage (allowed: pgvector, qdrant-cloud)',
    ]);
    expect(problems({ domain: { certificate: "my-cert" } })).toEqual([
      'rag-platform:domain.certificate: got "my-cert"; must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
    ]);
  });

  it("refuses an exporter staging on AWS does not build", () => {
    expect(problems({ observability: { exporter: "datadog" } })).toEqual([
      'rag-platform:observability.exporter: got "datadog"; the staging tier on aws builds cloudwatch (allowed: cloudwatch, none)',
    ]);
  });

  it("is refused by synth with the schema's message", async () => {
    const error = await synth("staging", ["rag-platform:llm.gpuType=v100"]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'rag-platform:llm.gpuType: got "v100"; allowed: t4, a10g, l4, a100',
    ]);
  });
});
