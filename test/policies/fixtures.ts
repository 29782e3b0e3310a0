/** Hand-built resources in the provider shapes (aws v7, azure-native, gcp, kubernetes, docker). */
import type { ResourceView } from "../../policies/rules/types";

let counter = 0;

export function res(
  type: string,
  props: Record<string, unknown>,
  links: Record<string, ResourceView[]> = {},
  name?: string,
): ResourceView {
  const resourceName = name ?? `r${++counter}`;
  const propertyDependencies = Object.fromEntries(
    Object.entries(links).map(([k, rs]) => [k, rs.map((r) => r.urn)]),
  );
  return {
    type,
    name: resourceName,
    urn: `urn:pulumi:test::rag-platform::${type}::${resourceName}`,
    props,
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
  };
}

const KEY = "arn:aws:kms:eu-west-1:123456789012:key/abc";

export const securePod = {
  automountServiceAccountToken: false,
  priorityClassName: "rag-serving",
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: "RuntimeDefault" },
  },
  topologySpreadConstraints: [{ topologyKey: "topology.kubernetes.io/zone", maxSkew: 1 }],
  containers: [
    {
      name: "app",
      image: "ghcr.io/acme/app:1.2.3",
      env: [
        { name: "PGHOST", value: "db" },
        { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "s", key: "PGPASSWORD" } } },
      ],
      resources: {
        requests: { cpu: "100m", memory: "128Mi" },
        limits: { cpu: "200m", memory: "128Mi" },
      },
      securityContext: {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
      },
    },
  ],
};

export function deployment(
  podOverride: (pod: typeof securePod) => unknown = (p) => p,
  replicas = 1,
  labels: Record<string, string> = { app: "x" },
): ResourceView {
  return res("kubernetes:apps/v1:Deployment", {
    metadata: { name: "x", labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podOverride(structuredClone(securePod)) },
    },
  });
}

/** A container of `securePod` changed by `change`. */
export function withContainer(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  change: (c: Record<string, any>) => void,
): (pod: typeof securePod) => unknown {
  return (pod) => {
    change(pod.containers[0] as Record<string, unknown>);
    return pod;
  };
}

export function bucketWith(parts: {
  sse?: Record<string, unknown> | false;
  policy?: string | false;
  block?: Record<string, unknown> | false;
  versioning?: string | false;
  loggedTo?: boolean;
}): ResourceView[] {
  const bucket = res("aws:s3/bucket:Bucket", { bucketPrefix: "docs-" });
  const out = [bucket];
  if (parts.sse !== false) {
    out.push(
      res(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        {
          bucket: "b",
          rules: [
            {
              applyServerSideEncryptionByDefault: parts.sse ?? {
                sseAlgorithm: "aws:kms",
                kmsMasterKeyId: KEY,
              },
            },
          ],
        },
        { bucket: [bucket] },
      ),
    );
  }
  if (parts.policy !== false) {
    out.push(
      res(
        "aws:s3/bucketPolicy:BucketPolicy",
        {
          bucket: "b",
          policy:
            parts.policy ??
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Deny",
                  Principal: "*",
                  Action: "s3:*",
                  Resource: "*",
                  Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
              ],
            }),
        },
        { bucket: [bucket] },
      ),
    );
  }
  if (parts.block !== false) {
    out.push(
      res(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {
          bucket: "b",
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
          ...parts.block,
        },
        { bucket: [bucket] },
      ),
    );
  }
  if (parts.versioning !== false) {
    out.push(
      res(
        "aws:s3/bucketVersioning:BucketVersioning",
        { bucket: "b", versioningConfiguration: { status: parts.versioning ?? "Enabled" } },
        { bucket: [bucket] },
      ),
    );
  }
  if (parts.loggedTo)
    out.push(
      res(
        "aws:s3/bucketLogging:BucketLogging",
        { bucket: "other", targetBucket: "b", targetPrefix: "x/" },
        { targetBucket: [bucket] },
      ),
    );
  return out;
}

export const goodRds = {
  engine: "postgres",
  storageEncrypted: true,
  kmsKeyId: KEY,
  publiclyAccessible: false,
  performanceInsightsEnabled: true,
  performanceInsightsKmsKeyId: KEY,
  backupRetentionPeriod: 35,
  multiAz: true,
  deletionProtection: true,
  skipFinalSnapshot: false,
  finalSnapshotIdentifier: "rag-sme-postgres-final-1a2b3c4d",
};

export function rdsWithParams(
  params: { name: string; value: string }[],
  override: Record<string, unknown> = {},
): ResourceView[] {
  const group = res("aws:rds/parameterGroup:ParameterGroup", {
    family: "postgres16",
    parameters: params,
  });
  return [
    group,
    res(
      "aws:rds/instance:Instance",
      { ...goodRds, parameterGroupName: "pg", ...override },
      { parameterGroupName: [group] },
    ),
  ];
}

export function loadBalanced(internal: boolean, listener: Record<string, unknown>): ResourceView[] {
  const sg = res("aws:ec2/securityGroup:SecurityGroup", { vpcId: "vpc" });
  const lb = res(
    "aws:lb/loadBalancer:LoadBalancer",
    { internal, securityGroups: ["sg"] },
    { securityGroups: [sg] },
  );
  return [
    sg,
    lb,
    res(
      "aws:lb/listener:Listener",
      { loadBalancerArn: "lb", ...listener },
      { loadBalancerArn: [lb] },
    ),
  ];
}

export function worldRule(port: number, onPublicLb: boolean): ResourceView[] {
  const sg = res("aws:ec2/securityGroup:SecurityGroup", { vpcId: "vpc" });
  const lb = res(
    "aws:lb/loadBalancer:LoadBalancer",
    { internal: !onPublicLb, securityGroups: ["sg"] },
    { securityGroups: [sg] },
  );
  return [
    sg,
    lb,
    res(
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      {
        securityGroupId: "sg",
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrIpv4: "0.0.0.0/0",
      },
      { securityGroupId: [sg] },
    ),
  ];
}

export const ecsTask = (environment: { name: string; value: string }[]) =>
  res("aws:ecs/taskDefinition:TaskDefinition", {
    family: "f",
    containerDefinitions: JSON.stringify([
      {
        name: "api",
        environment,
        secrets: [{ name: "PGPASSWORD", valueFrom: "arn:aws:secretsmanager:x" }],
      },
    ]),
  });

export { KEY };
