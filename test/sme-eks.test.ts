import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../runtime/src/config";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { eksCharts } from "../stacks/platforms/aws-eks";
import { CHARTS } from "../stacks/versions";
import { API_IDLE_TIMEOUT_SECONDS, REEMBED_COMMAND } from "../components/shared/runtime-image";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { asList, json, ofType, one, statements, synth, waitedFor } from "./helpers";
import { describeKubernetesWalk } from "./kubernetes-walk";

const T = {
  cluster: "aws:eks/cluster:Cluster",
  addon: "aws:eks/addon:Addon",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  accessEntry: "aws:eks/accessEntry:AccessEntry",
  accessPolicy: "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
  podIdentity: "aws:eks/podIdentityAssociation:PodIdentityAssociation",
  release: "kubernetes:helm.sh/v3:Release",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  namespace: "kubernetes:core/v1:Namespace",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
  scaledObject: "kubernetes:keda.sh/v1alpha1:ScaledObject",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  rds: "aws:rds/instance:Instance",
  redis: "aws:elasticache/replicationGroup:ReplicationGroup",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  app: "kubernetes:argoproj.io/v1alpha1:Application",
  job: "kubernetes:batch/v1:Job",
};

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function podSpec(d: ResourceRecord): Obj {
  return (d.inputs as Obj).spec.template.spec;
}

function labelsOf(d: ResourceRecord): Record<string, string> {
  return (d.inputs as Obj).spec.selector.matchLabels;
}

function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function release(result: SynthResult, name: string): ResourceRecord {
  const found = ofType(result, T.release).find((r) => r.name === name);
  if (!found) throw new Error(`no Helm release ${name}`);
  return found;
}

function env(d: ResourceRecord, container = 0): Obj[] {
  return podSpec(d).containers[container].env;
}

let sme: SynthResult;
beforeAll(async () => {
  sme = await synth("sme");
});

describeKubernetesWalk("sme on EKS", () => sme, {
  prefix: "rag-sme",
  charts: () => eksCharts(resolveConfig({ tier: "sme" })),
  secretVariables: [ENV.adminApiKey, ENV.qdrantApiKey, ENV.redisPassword],
  // The database password RDS rotates is read by the runtime itself: its secret's ARN is no secret.
  notSecret: [ENV.pgPasswordSecretArn],
  hostAddons: {
    "aws-load-balancer-controller": {
      resources: ["resources"],
      container: ["securityContext"],
      pod: ["podSecurityContext"],
    },
    "cluster-autoscaler": {
      resources: ["resources"],
      container: ["containerSecurityContext"],
      pod: ["securityContext"],
    },
    "metrics-server": { resources: ["resources"], container: ["securityContext"] },
  },
});

describe("sme on EKS: the cluster", () => {
  it("pins the version, keeps the endpoint private, encrypts Secrets and logs every control-plane type", () => {
    const cluster = one(sme, T.cluster);
    expect(cluster.inputs).toMatchObject({
      version: "1.35",
      vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: false },
      encryptionConfig: {
        resources: ["secrets"],
        provider: { keyArn: expect.stringMatching(/^arn:aws:kms:/) },
      },
      accessConfig: { authenticationMode: "API" },
    });
    expect(cluster.inputs.enabledClusterLogTypes).toEqual([
      "api",
      "audit",
      "authenticator",
      "controllerManager",
      "scheduler",
    ]);
    expect((cluster.inputs.vpcConfig as Obj).publicAccessCidrs).toBeUndefined();
  });

  it("opens the public endpoint only to configured CIDRs and grants admins through access entries", async () => {
    const result = await synth("sme", [
      "rag-platform:network.clusterApiAllowedCidrs[0]=203.0.113.0/24",
      "rag-platform:kubernetes.adminPrincipals[0]=arn:aws:iam::123456789012:role/platform-admins",
    ]);
    expect(one(result, T.cluster).inputs.vpcConfig).toMatchObject({
      endpointPublicAccess: true,
      publicAccessCidrs: ["203.0.113.0/24"],
    });
    expect(one(result, T.accessEntry).inputs.principalArn).toBe(
      "arn:aws:iam::123456789012:role/platform-admins",
    );
    expect(one(result, T.accessPolicy).inputs).toMatchObject({
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      accessScope: { type: "cluster" },
    });
    expect(
      ofType(result, "kubernetes:core/v1:ConfigMap").filter(
        (c) => (c.inputs as Obj).metadata?.name === "aws-auth",
      ),
    ).toEqual([]);
  });

  it("installs VPC CNI with network policies, Pod Identity and the EBS CSI driver with its own role", () => {
    const addons = Object.fromEntries(
      ofType(sme, T.addon).map((a) => [a.inputs.addonName, a.inputs]),
    );
    expect(Object.keys(addons).sort()).toEqual([
      "amazon-cloudwatch-observability",
      "aws-ebs-csi-driver",
      "coredns",
      "eks-pod-identity-agent",
      "kube-proxy",
      "vpc-cni",
    ]);
    expect(JSON.parse(addons["vpc-cni"]!.configurationValues as string)).toEqual({
      enableNetworkPolicy: "true",
    });
    expect(addons["aws-ebs-csi-driver"]!.podIdentityAssociations).toEqual([
      { roleArn: expect.stringMatching(/^arn:aws:iam:/), serviceAccount: "ebs-csi-controller-sa" },
    ]);
  });

  it("ships every container's logs to encrypted CloudWatch log groups with a retention (CloudWatch Observability add-on, its own Pod Identity role)", () => {
    const addon = ofType(sme, T.addon).find(
      (a) => a.inputs.addonName === "amazon-cloudwatch-observability",
    )!;
    expect(addon.inputs.podIdentityAssociations).toEqual([
      { roleArn: expect.stringMatching(/^arn:aws:iam:/), serviceAccount: "cloudwatch-agent" },
    ]);
    const role = ofType(sme, "aws:iam/role:Role").find(
      (r) => r.name === "rag-sme-eks-cloudwatch-agent",
    )!;
    expect(JSON.parse(role.inputs.assumeRolePolicy as string).Statement[0].Principal).toEqual({
      Service: "pods.eks.amazonaws.com",
    });
    const policy = ofType(sme, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").find(
      (a) => a.name === "rag-sme-eks-cloudwatch-agent",
    )!;
    expect(policy.inputs.policyArn).toBe("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy");
    const groups = ofType(sme, "aws:cloudwatch/logGroup:LogGroup").filter((g) =>
      String(g.inputs.name).startsWith("/aws/containerinsights/"),
    );
    expect(groups.map((g) => g.inputs.name).sort()).toEqual(
      ["application", "dataplane", "host", "performance"].map(
        (k) => `/aws/containerinsights/rag-sme-eks/${k}`,
      ),
    );
    for (const g of groups) {
      expect(g.inputs.kmsKeyId, String(g.inputs.name)).toMatch(/^arn:aws:kms:/);
      expect(g.inputs.retentionInDays, String(g.inputs.name)).toBeGreaterThan(0);
      // Created before the add-on, whose agents would otherwise create them unencrypted and kept forever.
      expect(waitedFor(sme, addon), String(g.inputs.name)).toContain(g.urn);
    }
    expect(waitedFor(sme, addon)).toContain(
      ofType(sme, T.nodeGroup).find((g) => g.name.endsWith("-system"))!.urn,
    );
  });

  it("comes up in the order EKS needs: CNI before nodes, nodes before CoreDNS and the EBS driver, those before anything on the Kubernetes API", () => {
    const waitsFor = (r: ResourceRecord) => waitedFor(sme, r);
    const addon = (name: string) => ofType(sme, T.addon).find((a) => a.inputs.addonName === name)!;
    const groups = ofType(sme, T.nodeGroup);
    const system = groups.find((g) => g.name.endsWith("-system"))!;
    const nodeRolePolicies = ofType(
      sme,
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    ).filter((a) => a.name.startsWith("rag-sme-eks-node-"));
    expect(nodeRolePolicies).toHaveLength(3);
    expect(groups.map((g) => g.name).sort()).toEqual(["rag-sme-eks-system", "rag-sme-gpu"]);
    for (const group of groups) {
      const before = waitsFor(group);
      for (const first of [
        addon("vpc-cni"),
        addon("kube-proxy"),
        addon("eks-pod-identity-agent"),
        ...nodeRolePolicies,
      ])
        expect(before, `${group.name} after ${first.name}`).toContain(first.urn);
    }
    for (const networking of ["vpc-cni", "kube-proxy", "eks-pod-identity-agent"])
      expect(waitsFor(addon(networking)), networking).not.toContain(system.urn);
    for (const onNodes of ["coredns", "aws-ebs-csi-driver"])
      expect(waitsFor(addon(onNodes)), onNodes).toContain(system.urn);
    const onCluster = sme.resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
    expect(onCluster.length).toBeGreaterThan(40);
    for (const r of onCluster) {
      const before = waitsFor(r);
      expect(
        before.has(addon("coredns").urn) && before.has(addon("aws-ebs-csi-driver").urn),
        `${r.type} ${r.name} waits for DNS and volumes`,
      ).toBe(true);
    }
  });

  it("makes an encrypted gp3 StorageClass the default", () => {
    const sc = one(sme, T.storageClass);
    expect(sc.inputs).toMatchObject({
      provisioner: "ebs.csi.aws.com",
      parameters: {
        type: "gp3",
        encrypted: "true",
        kmsKeyId: expect.stringMatching(/^arn:aws:kms:/),
      },
      metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    });
  });

  it("gives every workload that calls AWS its own Pod Identity role: the add-ons and the runtime", () => {
    const bound = ofType(sme, T.podIdentity).map(
      (p) => `${String(p.inputs.namespace)}/${String(p.inputs.serviceAccount)}`,
    );
    expect(bound.sort()).toEqual([
      "external-secrets/external-secrets",
      "kube-system/aws-load-balancer-controller",
      "kube-system/cluster-autoscaler",
      "rag/rag-db-users",
      "rag/rag-runtime",
    ]);
  });

  it("lets the runtime's role use the document bucket and its key, and sign in to the database as its own user, nothing else", () => {
    const runtime = ofType(sme, T.rolePolicy).find((p) => p.name === "rag-sme-runtime")!;
    const granted = statements(runtime).map((s) => [s.Sid, asList(s.Action), asList(s.Resource)]);
    const apiEnv = env(ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!);
    const value = (name: string) => apiEnv.find((e) => e.name === name)?.value;
    expect(granted).toEqual([
      [
        "ListDocuments",
        ["s3:ListBucket", "s3:ListBucketVersions"],
        [expect.stringMatching(/^arn:aws:s3:::rag-sme-documents-/)],
      ],
      [
        "ReadWriteDocuments",
        expect.arrayContaining(["s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"]),
        [expect.stringMatching(/^arn:aws:s3:::rag-sme-documents-.*\/\*$/)],
      ],
      [
        "UseTheDocumentKey",
        ["kms:Decrypt", "kms:GenerateDataKey"],
        [expect.stringMatching(/^arn:aws:kms:/)],
      ],
      [
        "SignInToTheDatabase",
        ["rds-db:connect"],
        [
          expect.stringMatching(
            /^arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-[A-Z0-9]{26}\/rag_runtime$/,
          ),
        ],
      ],
    ]);
    expect(value(ENV.databaseAuth)).toBe("aws-rds-iam");
    expect(value(ENV.databaseAwsRegion)).toBe("eu-west-1");
    expect(value(ENV.pgUser)).toBe("rag_runtime");
    expect(value(ENV.pgSslMode)).toBe("verify-full");
    expect(value(ENV.pgPasswordSecretArn), "no master password").toBeUndefined();
    expect(value(`${ENV.pgPassword}_FILE`), "no master password").toBeUndefined();
    const policy = ofType(sme, T.netpol).find(
      (p) =>
        ((p.inputs as Obj).spec.podSelector.matchLabels as Record<string, string> | undefined)?.[
          "app.kubernetes.io/name"
        ] === "rag-api",
    )!;
    const egress = ((policy.inputs as Obj).spec.egress as Obj[]).map((e) => [
      e.to?.[0]?.ipBlock?.cidr,
      (e.ports as Obj[] | undefined)?.map((p) => p.port),
    ]);
    expect(egress, "the Pod Identity agent, for the role's credentials").toContainEqual([
      "169.254.170.23/32",
      [80],
    ]);
    expect(egress, "Secrets Manager's endpoint in the VPC").toContainEqual([
      "10.50.0.0/16",
      [443, 5432, 6379],
    ]);
  });

  it("makes the database users once with a Job, the one holder of the master password: its role reads that secret alone, its pod reaches the database", () => {
    const job = one(sme, T.job);
    const spec = podSpec(job);
    const container = spec.containers[0];
    expect(container.command).toEqual(["node", "dist/bootstrap-db-users.js", "rag_runtime"]);
    expect(spec.serviceAccountName).toBe("rag-db-users");
    expect(spec.restartPolicy).toBe("Never");
    const jobEnv = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
    const passwordArn = jobEnv[ENV.pgPasswordSecretArn] as string;
    expect(passwordArn).toMatch(/^arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!/);
    expect(jobEnv[ENV.pgUser], "the master").toBe("rag_admin");
    expect(jobEnv[ENV.databaseAuth]).toBeUndefined();
    expect(Object.keys(jobEnv).sort(), "the server and the master's sign-in, nothing else").toEqual(
      ["PGDATABASE", "PGHOST", "PGPASSWORD_SECRET_ARN", "PGPORT", "PGSSLMODE", "PGUSER"],
    );
    const role = ofType(sme, T.rolePolicy).find((p) => p.name === "rag-sme-db-users")!;
    expect(statements(role).map((s) => [s.Sid, asList(s.Action), asList(s.Resource)])).toEqual([
      ["ReadTheDatabasePassword", ["secretsmanager:GetSecretValue"], [passwordArn]],
      ["DecryptTheDatabasePassword", ["kms:Decrypt"], [expect.stringMatching(/^arn:aws:kms:/)]],
    ]);
    const holders = ofType(sme, T.rolePolicy).filter((p) =>
      JSON.stringify(statements(p)).includes(passwordArn),
    );
    expect(holders.map((p) => p.name)).toEqual(["rag-sme-db-users"]);
    const policy = ofType(sme, T.netpol).find(
      (p) =>
        (p.inputs as Obj).spec.podSelector.matchLabels?.["app.kubernetes.io/name"] ===
        "rag-db-users",
    )!;
    expect((policy.inputs as Obj).spec.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: "10.50.0.0/16" } }],
        ports: [
          { protocol: "TCP", port: 443 },
          { protocol: "TCP", port: 5432 },
        ],
      },
      { to: [{ ipBlock: { cidr: "169.254.170.23/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
    ]);
    expect(job.dependencies, "made once the namespace is").toContainEqual(
      expect.stringMatching(/\$kubernetes:core\/v1:Namespace::/),
    );
  });
});

describe("sme on EKS: node pools", () => {
  const group = (result: SynthResult, suffix: string) =>
    ofType(result, T.nodeGroup).find((g) => g.name.endsWith(suffix))!;

  it("lets Auto Scaling launch nodes whose root volumes the data key encrypts: the key serves EBS through EC2, for this account only", () => {
    const dataKey = ofType(sme, "aws:kms/key:Key").find((k) => k.name === "rag-sme-data")!;
    const ebs = statements(dataKey).filter((s) => s.Sid?.startsWith("Ebs"));
    const through = {
      "kms:ViaService": "ec2.eu-west-1.amazonaws.com",
      "kms:CallerAccount": "123456789012",
    };
    expect(ebs).toEqual([
      expect.objectContaining({
        Sid: "EbsThroughEc2",
        Principal: { AWS: "*" },
        Condition: { StringEquals: through },
      }),
      expect.objectContaining({
        Sid: "EbsGrantsThroughEc2",
        Action: "kms:CreateGrant",
        Condition: { StringEquals: through, Bool: { "kms:GrantIsForAWSResource": "true" } },
      }),
    ]);
    expect(asList(ebs[0]!.Action)).not.toContain("kms:*");
    const volumeKeys = ofType(sme, T.launchTemplate).map(
      (t) => (t.inputs.blockDeviceMappings as Obj[])[0]!.ebs.kmsKeyId as string,
    );
    expect(new Set(volumeKeys).size, "every node group's root volume under one customer key").toBe(
      1,
    );
    expect(volumeKeys[0]).toMatch(/^arn:aws:kms:eu-west-1:123456789012:key\//);
    const logsKey = ofType(sme, "aws:kms/key:Key").find((k) => k.name === "rag-sme-logs")!;
    expect(statements(logsKey).map((s) => s.Sid)).not.toContain("EbsThroughEc2");
  });

  it("taints and labels the GPU pool, on the NVIDIA AL2023 AMI, A10G by default, sized from config", () => {
    const gpu = group(sme, "-gpu");
    expect(gpu.inputs).toMatchObject({
      amiType: "AL2023_x86_64_NVIDIA",
      instanceTypes: ["g5.2xlarge"],
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      labels: { "rag-platform/pool": "gpu", "nvidia.com/gpu.present": "true" },
      scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 1 },
    });
    const system = group(sme, "-system");
    expect(system.inputs).toMatchObject({
      amiType: "AL2023_x86_64_STANDARD",
      instanceTypes: ["m6i.large"],
      taints: [],
      scalingConfig: { minSize: 3, maxSize: 6 },
    });
  });

  it("picks the GPU instance from the configured GPU and count", async () => {
    const t4 = await synth("sme", [
      "rag-platform:llm.gpuType=t4",
      "rag-platform:llm.model=hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
    ]);
    expect(group(t4, "-gpu").inputs.instanceTypes).toEqual(["g4dn.xlarge"]);
    const l4 = await synth("sme", [
      "rag-platform:llm.gpuType=l4",
      "rag-platform:llm.gpuCount=4",
      "rag-platform:kubernetes.gpuNodes.max=3",
    ]);
    expect(group(l4, "-gpu").inputs).toMatchObject({
      instanceTypes: ["g6.12xlarge"],
      scalingConfig: { maxSize: 3 },
    });
  });

  it("requires IMDSv2 with hop limit 1 and encrypted root volumes on every node", () => {
    for (const lt of ofType(sme, T.launchTemplate)) {
      expect(lt.inputs.metadataOptions, lt.name).toEqual({
        httpTokens: "required",
        httpEndpoint: "enabled",
        httpPutResponseHopLimit: 1,
      });
      expect((lt.inputs.blockDeviceMappings as Obj[])[0]!.ebs, lt.name).toMatchObject({
        encrypted: "true",
        kmsKeyId: expect.stringMatching(/^arn:aws:kms:/),
      });
    }
  });

  it("runs Cluster Autoscaler on the groups EKS tags for it, reading their labels and taints from EKS, with a scoped role", () => {
    // EKS tags each managed group's Auto Scaling group for discovery; the autoscaler finds them by cluster name.
    const autoscaler = ofType(sme, T.release).find((r) => r.name === "cluster-autoscaler")!;
    expect(autoscaler.inputs.values).toMatchObject({
      cloudProvider: "aws",
      autoDiscovery: { clusterName: expect.stringMatching(/^rag-sme-eks/) },
    });
    // A group scaled to zero: its labels and taints come from EKS, since a managed group's tags never reach its Auto Scaling group.
    expect(group(sme, "-gpu").inputs).toMatchObject({
      labels: { "nvidia.com/gpu.present": "true" },
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
    });
    expect(group(sme, "-gpu").inputs.tags).toBeUndefined();
    const policy = ofType(sme, T.rolePolicy).find((p) => p.name === "rag-sme-addons-autoscaler")!;
    expect(statements(policy).flatMap((s) => asList(s.Action))).toContain("eks:DescribeNodegroup");
    const mutate = statements(policy).find((s) =>
      asList(s.Action).includes("autoscaling:SetDesiredCapacity"),
    )!;
    expect(mutate.Condition).toEqual({
      StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/rag-sme-eks": "owned" },
    });
  });

  it("has no GPU pool when the LLM is a hosted API", async () => {
    const result = await synth("sme", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=anthropic",
      "rag-platform:llm.model=claude-sonnet-4-5",
    ]);
    expect(ofType(result, T.nodeGroup).map((g) => g.name)).toEqual(["rag-sme-eks-system"]);
    expect(ofType(result, T.deployment).map((d) => d.name)).not.toContain("rag-sme-vllm");
  });
});

describe("sme on EKS: add-ons", () => {
  it("installs the charts the registry checks for a configuration with GitOps and no Qdrant or collector", async () => {
    const charts = (result: SynthResult) =>
      [...new Set(ofType(result, T.release).map((r) => r.inputs.chart as string))].sort();
    const gitops = await synth("sme", [
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/acme/deploy",
      "rag-platform:vectorDb.mode=pgvector",
      "rag-platform:observability.exporter=none",
    ]);
    for (const [result, cfg] of [
      [
        gitops,
        resolveConfig({
          tier: "sme",
          gitops: { enabled: true, repoUrl: "https://github.com/acme/deploy" },
          vectorDb: { mode: "pgvector" },
          observability: { exporter: "none" },
        }),
      ],
    ] as const) {
      expect(charts(result)).toEqual(
        eksCharts(cfg)
          .map((c) => c.chart)
          .sort(),
      );
    }
  });

  it("keeps External Secrets writable through a drain (two webhooks, a budget) and its resources on the served v1 API, moved in place from v1beta1", () => {
    const values = release(sme, "external-secrets").inputs.values as Obj;
    expect(values.webhook).toMatchObject({
      replicaCount: 2,
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
    });
    expect(values).toMatchObject({ replicaCount: 2, leaderElect: true, installCRDs: true });
    const store = one(sme, "kubernetes:external-secrets.io/v1:ClusterSecretStore");
    expect(store.inputs.apiVersion).toBe("external-secrets.io/v1");
    expect(store.aliases).toContainEqual({
      type: "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore",
    });
    const synced = ofType(sme, T.externalSecret);
    expect(synced.length).toBeGreaterThan(0);
    for (const e of synced) {
      expect(e.inputs.apiVersion).toBe("external-secrets.io/v1");
      expect(e.aliases).toContainEqual({
        type: "kubernetes:external-secrets.io/v1beta1:ExternalSecret",
      });
    }
    expect(ofType(sme, "kubernetes:external-secrets.io/v1beta1:ExternalSecret")).toEqual([]);
  });

  it("sends the runtime's Prometheus metrics to the backend: one scraper collector reads each pod's /metrics and forwards them to the collector", () => {
    const scraper = release(sme, "otel-scraper").inputs.values as Obj;
    expect(scraper).toMatchObject({
      mode: "deployment",
      replicaCount: 1,
      serviceAccount: { create: true, name: "otel-scraper" },
    });
    const job = scraper.config.receivers.prometheus.config.scrape_configs[0];
    expect(job.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { names: ["rag"] } }]);
    expect(job.relabel_configs[0]).toEqual({
      source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
      action: "keep",
      regex: "true",
    });
    // `$$` is how collector configuration writes a literal `$` (the relabel's group references).
    expect(job.relabel_configs[1]).toMatchObject({
      regex: "(.+);(\\d+)",
      replacement: "$$1:$$2",
      target_label: "__address__",
    });
    expect(scraper.config.exporters).toEqual({
      otlp_http: {
        endpoint:
          "http://otel-collector-opentelemetry-collector.observability.svc.cluster.local:4318",
      },
    });
    expect(scraper.config.service.pipelines.metrics).toEqual({
      receivers: ["prometheus"],
      processors: ["memory_limiter", "batch"],
      exporters: ["otlp_http"],
    });
    expect(scraper.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });

    for (const [name, port] of [
      ["rag-sme-runtime-api", 8081],
      ["rag-sme-runtime-worker", 8081],
    ] as const) {
      const d = ofType(sme, T.deployment).find((x) => x.name === name)!;
      expect((d.inputs as Obj).spec.template.metadata.annotations, name).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(port),
        "prometheus.io/path": "/metrics",
      });
      const policy = ofType(sme, T.netpol).find(
        (p) =>
          Object.keys((p.inputs as Obj).spec.podSelector.matchLabels ?? {}).length > 0 &&
          selects((p.inputs as Obj).spec.podSelector.matchLabels, labelsOf(d)),
      )!;
      expect((policy.inputs as Obj).spec.ingress, name).toContainEqual({
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "opentelemetry-collector",
                "app.kubernetes.io/instance": "otel-scraper",
              },
            },
          },
        ],
        ports: [{ protocol: "TCP", port }],
      });
    }
    // The API serves /metrics on 8081 only, which neither its Service nor the Ingress exposes.
    const api = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    expect(env(api).find((e) => e.name === ENV.metricsPort)?.value).toBe("8081");
    const service = ofType(sme, "kubernetes:core/v1:Service").find(
      (s) => (s.inputs as Obj).metadata.name === "rag-api",
    )!;
    expect((service.inputs as Obj).spec.ports).toEqual([
      { name: "http", port: 80, targetPort: 8080 },
    ]);
    // vLLM's own metrics (tokens, queue, KV cache) come along, from its port 8000.
    const vllm = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-vllm")!;
    expect((vllm.inputs as Obj).spec.template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8000",
      "prometheus.io/path": "/metrics",
    });
    const vllmPolicy = ofType(sme, T.netpol).find(
      (p) =>
        selects((p.inputs as Obj).spec.podSelector.matchLabels, labelsOf(vllm)) &&
        Object.keys((p.inputs as Obj).spec.podSelector.matchLabels ?? {}).length > 0,
    )!;
    expect((vllmPolicy.inputs as Obj).spec.ingress).toContainEqual({
      from: [
        expect.objectContaining({
          podSelector: {
            matchLabels: expect.objectContaining({ "app.kubernetes.io/instance": "otel-scraper" }),
          },
        }),
      ],
      ports: [{ protocol: "TCP", port: 8000 }],
    });
    // Text Embeddings Inference's (request, tokenization, queue and batch timings), from its metrics port 9000.
    const tei = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-embeddings")!;
    expect((tei.inputs as Obj).spec.template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9000",
      "prometheus.io/path": "/metrics",
    });
    expect((tei.inputs as Obj).spec.template.spec.containers[0].ports).toContainEqual({
      name: "metrics",
      containerPort: 9000,
    });
    const teiPolicy = ofType(sme, T.netpol).find((p) => p.name === "rag-sme-embeddings")!;
    expect((teiPolicy.inputs as Obj).spec.ingress).toContainEqual({
      from: [
        expect.objectContaining({
          podSelector: {
            matchLabels: expect.objectContaining({ "app.kubernetes.io/instance": "otel-scraper" }),
          },
        }),
      ],
      ports: [{ protocol: "TCP", port: 9000 }],
    });
    const role = ofType(sme, "kubernetes:rbac.authorization.k8s.io/v1:Role").find(
      (r) => (r.inputs as Obj).metadata.name === "metrics-scraper",
    )!;
    expect((role.inputs as Obj).metadata.namespace).toBe("rag");
    expect((role.inputs as Obj).rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    ]);
    const binding = ofType(sme, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").find(
      (r) => (r.inputs as Obj).metadata.name === "metrics-scraper",
    )!;
    expect((binding.inputs as Obj).subjects).toEqual([
      { kind: "ServiceAccount", name: "otel-scraper", namespace: "observability" },
    ]);
  });

  it("denies every flow in the telemetry namespace but the workloads' OTLP in, the backend out, and the scraper's discovery and scrapes", () => {
    const policies = ofType(sme, T.netpol).filter(
      (p) => (p.inputs as Obj).metadata.namespace === "observability",
    );
    const byName = (n: string) =>
      policies.find((p) => (p.inputs as Obj).metadata.name === n)?.inputs as Obj;
    expect(byName("default-deny").spec).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
    });
    expect(byName("allow-dns").spec.egress[0].to[0].podSelector).toEqual({
      matchLabels: { "k8s-app": "kube-dns" },
    });
    const collectorLabels = {
      "app.kubernetes.io/name": "opentelemetry-collector",
      "app.kubernetes.io/instance": "otel-collector",
    };
    const scraperLabels = {
      "app.kubernetes.io/name": "opentelemetry-collector",
      "app.kubernetes.io/instance": "otel-scraper",
    };
    const collector = byName("rag-sme-cluster-addons-collector").spec;
    expect(collector.podSelector).toEqual({ matchLabels: collectorLabels });
    expect(collector.ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "rag" } } },
          { podSelector: { matchLabels: scraperLabels } },
        ],
        ports: [
          { protocol: "TCP", port: 4318 },
          { protocol: "TCP", port: 4317 },
        ],
      },
    ]);
    // Datadog's intake is HTTPS.
    expect(collector.egress).toEqual([
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ]);
    const scraper = byName("rag-sme-cluster-addons-scraper").spec;
    expect(scraper.podSelector).toEqual({ matchLabels: scraperLabels });
    expect(scraper.ingress).toEqual([]);
    expect(scraper.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: collectorLabels } }],
        ports: [{ protocol: "TCP", port: 4318 }],
      },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
      // Every port of the scraped namespace: its own policies open only the metrics ports to the scraper.
      { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "rag" } } }] },
    ]);
    // The collector's selector is the release's own pods, which the runtime's egress names too.
    const release = (n: string) => ofType(sme, T.release).find((r) => r.name === n)!;
    expect(release("otel-collector").inputs.name).toBe(
      collectorLabels["app.kubernetes.io/instance"],
    );
    expect(release("otel-scraper").inputs.name).toBe(scraperLabels["app.kubernetes.io/instance"]);
    const api = ofType(sme, T.netpol).find((p) => p.name === "rag-sme-runtime-api")!;
    expect((api.inputs as Obj).spec.egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
          podSelector: { matchLabels: collectorLabels },
        },
      ],
      ports: [{ protocol: "TCP", port: 4318 }],
    });
  });

  it("lets the collector reach an OTLP backend on its endpoint's port", async () => {
    const otlp = await synth("sme", [
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://otlp.example.com:4318",
    ]);
    const collector = ofType(otlp, T.netpol).find(
      (p) => p.name === "rag-sme-cluster-addons-collector",
    )!;
    expect((collector.inputs as Obj).spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 4318 }] },
    ]);
  });

  it("scrapes nothing and opens nothing for it without a telemetry backend", async () => {
    const none = await synth("sme", ["rag-platform:observability.exporter=none"]);
    expect(ofType(none, T.release).map((r) => r.name)).not.toContain("otel-scraper");
    const api = ofType(none, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    expect((api.inputs as Obj).spec.template.metadata.annotations).toBeUndefined();
    expect(
      ofType(none, "kubernetes:rbac.authorization.k8s.io/v1:Role").map(
        (r) => (r.inputs as Obj).metadata.name,
      ),
    ).not.toContain("metrics-scraper");
  });

  it("runs the Cluster Autoscaler release of the cluster's Kubernetes minor, and refuses a minor it has none for", async () => {
    expect((release(sme, "cluster-autoscaler").inputs.values as Obj).image).toEqual({
      tag: "v1.35.2",
    });
    const older = await synth("sme", ["rag-platform:kubernetes.version=1.34"]);
    expect(one(older, T.cluster).inputs.version).toBe("1.34");
    expect((release(older, "cluster-autoscaler").inputs.values as Obj).image).toEqual({
      tag: "v1.34.5",
    });
    const refused = await synth("sme", ["rag-platform:kubernetes.version=1.30"]).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).message).toContain(
      'rag-platform:kubernetes.version: got "1.30"; allowed: 1.32, 1.33, 1.34, 1.35, 1.36',
    );
  });

  it("keeps the load balancer controller out of Service creation: the platform exposes through Ingress only", () => {
    const values = release(sme, "aws-load-balancer-controller").inputs.values as Obj;
    expect(values).toMatchObject({ enableServiceMutatorWebhook: false, replicaCount: 2 });
    expect(
      ofType(sme, "kubernetes:core/v1:Service").filter(
        (s) => (s.inputs as Obj).spec?.type === "LoadBalancer",
      ),
    ).toEqual([]);
  });

  it("creates each custom resource after the Helm release that installs its CRD", async () => {
    const gitops = await synth("sme", [
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/acme/rag-deploy.git",
    ]);
    const crdFrom: Record<string, string> = {
      "keda.sh": "keda",
      "external-secrets.io": "external-secrets",
      "argoproj.io": "argo-cd",
    };
    const custom = gitops.resources.filter(
      (r) =>
        r.custom &&
        r.type.startsWith("kubernetes:") &&
        (r.inputs as Obj).apiVersion?.includes("/") &&
        crdFrom[String((r.inputs as Obj).apiVersion).split("/")[0]!],
    );
    expect(new Set(custom.map((r) => String((r.inputs as Obj).kind)))).toEqual(
      new Set([
        "ScaledObject",
        "TriggerAuthentication",
        "ExternalSecret",
        "ClusterSecretStore",
        "AppProject",
        "Application",
      ]),
    );
    for (const r of custom) {
      const chart = crdFrom[String((r.inputs as Obj).apiVersion).split("/")[0]!]!;
      expect(
        waitedFor(gitops, r),
        `${String((r.inputs as Obj).kind)} ${r.name} after the ${chart} release`,
      ).toContain(release(gitops, chart).urn);
    }
  });

  it("checks that each secret the operator fills holds a value before anything reads it", () => {
    const secrets = ofType(sme, "aws:secretsmanager/secret:Secret");
    const arnOf = (name: string) =>
      `arn:aws:secretsmanager:eu-west-1:123456789012:${secrets.find((s) => s.name === name)!.name}`;
    const checked = sme.calls
      .filter((c) => c.token === "aws:secretsmanager/getSecretVersions:getSecretVersions")
      .map((c) => c.inputs.secretId);
    expect(checked.sort()).toEqual(
      [arnOf("rag-sme-datadog-api-key"), arnOf("rag-sme-huggingface-token")].sort(),
    );
    // The token's ExternalSecret reads the checked ARN, and vLLM mounts the Secret it makes, so both wait for the check.
    const token = ofType(sme, T.externalSecret).find((e) => e.name === "huggingface-token")!;
    expect((token.inputs as Obj).spec.data[0].remoteRef.key).toBe(
      arnOf("rag-sme-huggingface-token"),
    );
    const vllm = ofType(sme, T.deployment).find((d) => d.name === "rag-sme-vllm")!;
    expect(waitedFor(sme, vllm)).toContain(token.urn);
  });

  it("runs External Secrets twice with leader election and a disruption budget the API accepts", () => {
    const values = release(sme, "external-secrets").inputs.values as Obj;
    expect(values).toMatchObject({
      replicaCount: 2,
      leaderElect: true,
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
    });
    // The chart renders minAvailable (default 1) and maxUnavailable when both are set: a PDB with both is invalid.
    expect(values.podDisruptionBudget).not.toHaveProperty("maxUnavailable");
  });

  it("runs the NVIDIA device plugin on the GPU pool only", () => {
    expect(release(sme, "nvidia-device-plugin").inputs.values).toMatchObject({
      nodeSelector: { "rag-platform/pool": "gpu" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    });
  });

  it("exports telemetry to the configured backend with the key synced from Secrets Manager", () => {
    const values = release(sme, "otel-collector").inputs.values as Obj;
    expect(values.config.exporters).toEqual({
      datadog: { api: { key: "${env:DD_API_KEY}", site: "datadoghq.com" } },
    });
    expect(values.extraEnvs).toEqual([
      {
        name: "DD_API_KEY",
        valueFrom: { secretKeyRef: { name: "otel-exporter-key", key: "api-key" } },
      },
    ]);
    const synced = ofType(sme, T.externalSecret).find((e) => e.name === "otel-exporter-key")!;
    expect((synced.inputs as Obj).spec.data[0].remoteRef.key).toMatch(
      /^arn:aws:secretsmanager:.*datadog-api-key$/,
    );
  });

  it("authenticates to an OTLP endpoint with a header whose value the operator fills in Secrets Manager", async () => {
    const result = await synth("sme", [
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://api.honeycomb.io",
      "rag-platform:observability.otlpAuthHeader=x-honeycomb-team",
    ]);
    const values = release(result, "otel-collector").inputs.values as Obj;
    expect(values.config.exporters).toEqual({
      otlp_http: {
        endpoint: "https://api.honeycomb.io",
        headers: { "x-honeycomb-team": "${env:OTLP_AUTH_HEADER}" },
      },
    });
    expect(values.extraEnvs).toEqual([
      {
        name: "OTLP_AUTH_HEADER",
        valueFrom: { secretKeyRef: { name: "otel-exporter-key", key: "api-key" } },
      },
    ]);
    const synced = ofType(result, T.externalSecret).find((e) => e.name === "otel-exporter-key")!;
    expect((synced.inputs as Obj).spec.data[0].remoteRef.key).toMatch(
      /^arn:aws:secretsmanager:.*otlp-auth-header/,
    );
    // Without the header: no secret to fill, nothing synced.
    const open = await synth("sme", [
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://otel.internal.example.com",
    ]);
    expect((release(open, "otel-collector").inputs.values as Obj).config.exporters).toEqual({
      otlp_http: { endpoint: "https://otel.internal.example.com" },
    });
    expect(ofType(open, T.externalSecret).map((e) => e.name)).not.toContain("otel-exporter-key");
  });

  it("sends to the vendor's site or region the account lives in (a key works there only)", async () => {
    const eu = await synth("sme", ["rag-platform:observability.datadogSite=datadoghq.eu"]);
    expect(
      (release(eu, "otel-collector").inputs.values as Obj).config.exporters.datadog.api.site,
    ).toBe("datadoghq.eu");
    const newRelic = await synth("sme", [
      "rag-platform:observability.exporter=newrelic",
      "rag-platform:observability.newRelicRegion=eu",
    ]);
    expect((release(newRelic, "otel-collector").inputs.values as Obj).config.exporters).toEqual({
      "otlp_http/newrelic": {
        endpoint: "https://otlp.eu01.nr-data.net",
        headers: { "api-key": "${env:NEW_RELIC_LICENSE_KEY}" },
      },
    });
    const us = await synth("sme", ["rag-platform:observability.exporter=newrelic"]);
    expect(
      (release(us, "otel-collector").inputs.values as Obj).config.exporters["otlp_http/newrelic"]
        .endpoint,
    ).toBe("https://otlp.nr-data.net");
  });

  it("installs Argo CD and an Application only with GitOps on", async () => {
    expect(ofType(sme, T.app)).toEqual([]);
    const result = await synth("sme", [
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/example/rag-deploy.git",
    ]);
    expect(release(result, "argo-cd").inputs.version).toBe(CHARTS.argoCd.version);
    expect((one(result, T.app).inputs as Obj).spec).toMatchObject({
      source: {
        repoURL: "https://github.com/example/rag-deploy.git",
        path: "deploy",
        targetRevision: "main",
      },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
    expect(result.outputs.argoCd).toContain("port-forward");
    expect(
      Object.keys(sme.outputs),
      "GitOps off: no argoCd output at all (not an undefined one Pulumi warns about)",
    ).not.toContain("argoCd");
  });
});

describe("sme on EKS: every workload", () => {
  it("gives the worker 120 s to finish the documents in hand when a pod stops, the API as long as a request can last after 15 s of draining; each process gives up 10 s sooner", () => {
    const deployment = (name: string) => ofType(sme, T.deployment).find((x) => x.name === name)!;
    const worker = deployment("rag-sme-runtime-worker");
    expect(podSpec(worker).terminationGracePeriodSeconds).toBe(120);
    expect(env(worker).find((e) => e.name === ENV.shutdownTimeoutSeconds)?.value).toBe("110");
    expect(podSpec(worker).containers[0].lifecycle).toBeUndefined();
    // The API keeps serving while the load balancer and kube-proxy catch up, then finishes the
    // requests it holds, which can last as long as the ALB lets a connection idle.
    const api = deployment("rag-sme-runtime-api");
    expect(podSpec(api).containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 15 } } });
    const shutdown = Number(env(api).find((e) => e.name === ENV.shutdownTimeoutSeconds)?.value);
    expect(shutdown).toBe(API_IDLE_TIMEOUT_SECONDS);
    expect(podSpec(api).terminationGracePeriodSeconds).toBe(15 + shutdown + 10);
  });

  it("keeps a stopping API pod's ALB target, with the requests in flight on it, until the pod has finished them", () => {
    const ingress = ofType(sme, "kubernetes:networking.k8s.io/v1:Ingress")[0]!;
    const attributes = String(
      (ingress.inputs as Obj).metadata.annotations[
        "alb.ingress.kubernetes.io/target-group-attributes"
      ],
    );
    const api = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    const lastRequestDone =
      15 + Number(env(api).find((e) => e.name === ENV.shutdownTimeoutSeconds)?.value);
    expect(
      Number(/^deregistration_delay\.timeout_seconds=(\d+)$/.exec(attributes)?.[1]),
    ).toBeGreaterThanOrEqual(lastRequestDone);
  });

  it("lets a slow answer through the ALB, and the API keeps idle connections open longer than the ALB does", () => {
    const ingress = ofType(sme, "kubernetes:networking.k8s.io/v1:Ingress")[0]!;
    const attributes = String(
      (ingress.inputs as Obj).metadata.annotations[
        "alb.ingress.kubernetes.io/load-balancer-attributes"
      ],
    );
    const idle = Number(/(?:^|,)idle_timeout\.timeout_seconds=(\d+)(?:,|$)/.exec(attributes)?.[1]);
    expect(idle).toBeGreaterThanOrEqual(2 * (60 + 120));
    const api = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    expect(
      Number(env(api).find((e) => e.name === ENV.httpKeepAliveSeconds)?.value),
    ).toBeGreaterThan(idle);
  });

  it("has the load balancer controller gate each new API pod's readiness on its ALB target being healthy", () => {
    const ns = ofType(sme, "kubernetes:core/v1:Namespace").find(
      (n) => (n.inputs as Obj).metadata.name === "rag",
    )!;
    expect((ns.inputs as Obj).metadata.labels).toMatchObject({
      "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    const api = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    expect((api.inputs as Obj).spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it("takes an API pod out of rotation only for what it cannot serve without: started, and its database", () => {
    // Not the shared backends the runtime degrades around (queue, object store, vectors): their
    // outage would otherwise mark every replica unready at once.
    const api = ofType(sme, T.deployment).find((x) => x.name === "rag-sme-runtime-api")!;
    expect(podSpec(api).containers[0].readinessProbe.httpGet).toEqual({
      path: "/readyz?check=database",
      port: 8080,
    });
    // The ALB's own health check asks the same.
    const ingress = ofType(sme, "kubernetes:networking.k8s.io/v1:Ingress")[0]!;
    expect(
      (ingress.inputs as Obj).metadata.annotations["alb.ingress.kubernetes.io/healthcheck-path"],
    ).toBe("/readyz?check=database");
    expect(podSpec(api).containers[0].livenessProbe.httpGet).toEqual({
      path: "/healthz",
      port: 8080,
    });
  });

  it("lets External Secrets read exactly the runtime's secrets, which hold no database password (the runtime signs in with IAM tokens)", () => {
    const external = ofType(sme, T.externalSecret).find((e) => e.name === "rag-runtime")!;
    const data = (external.inputs as Obj).spec.data as Obj[];
    const grant = ofType(sme, T.rolePolicy).find((p) => p.name === "rag-sme-eso-rag-runtime")!;
    const read = statements(grant)[0]!;
    expect(asList(read.Resource).sort()).toEqual(data.map((d) => d.remoteRef.key).sort());
    const api = ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api).map((v) => v.name)).not.toContain(ENV.pgPasswordSecretArn);
    expect(env(api).map((v) => v.name)).not.toContain(`${ENV.pgPassword}_FILE`);
  });

  it("schedules vLLM on the GPU pool with a model cache and turns it ready once the model is loaded", () => {
    const vllm = ofType(sme, T.deployment).find((d) => d.name === "rag-sme-vllm")!;
    const spec = podSpec(vllm);
    expect(spec.tolerations).toEqual([
      { key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" },
    ]);
    expect(spec.nodeSelector).toEqual({ "rag-platform/pool": "gpu" });
    const c = spec.containers[0];
    expect(c.resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(c.args).toEqual(
      expect.arrayContaining([
        "--model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--tensor-parallel-size",
        "1",
      ]),
    );
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health", port: 8000 });
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(
      1200,
    );
    // The Hugging Face token is a file huggingface_hub reads, never an environment variable.
    expect(c.env.map((e: Obj) => e.name)).not.toContain("HF_TOKEN");
    expect(c.env).toContainEqual({
      name: "HF_TOKEN_PATH",
      value: "/var/run/secrets/huggingface/token",
    });
    expect(spec.volumes).toContainEqual({
      name: "hf-token",
      secret: { secretName: "huggingface-token" },
    });
    expect(
      spec.volumes.find((v: Obj) => v.name === "model-cache").persistentVolumeClaim.claimName,
    ).toBe("vllm-model-cache");
    // The weights and the compiled kernels go on that volume, not into the 1 GiB /tmp.
    const cacheMount = c.volumeMounts.find((m: Obj) => m.name === "model-cache")
      .mountPath as string;
    for (const name of [
      "HF_HOME",
      "VLLM_CACHE_ROOT",
      "TRITON_CACHE_DIR",
      "TORCHINDUCTOR_CACHE_DIR",
    ]) {
      expect(c.env.find((e: Obj) => e.name === name)?.value, name).toMatch(
        new RegExp(`^${cacheMount}(/|$)`),
      );
    }
    // Pulumi waits 10 minutes for a Deployment by default: too short for a GPU node, the image and the weights.
    expect(vllm.customTimeouts).toEqual({ create: "45m", update: "45m" });
    expect(
      ofType(sme, T.deployment).find((d) => d.name === "rag-sme-embeddings")!.customTimeouts,
    ).toEqual({ create: "45m", update: "45m" });
    expect(
      ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!.customTimeouts,
    ).toBeNull();
  });

  it("scales the worker with KEDA on the ingest queue, over TLS, within the configured bounds", () => {
    const scaler = (one(sme, T.scaledObject).inputs as Obj).spec;
    expect(scaler).toMatchObject({ minReplicaCount: 2, maxReplicaCount: 10 });
    expect(scaler.triggers[0]).toMatchObject({
      type: "redis",
      metadata: { listName: "bull:ingest:wait", enableTLS: "true" },
    });
  });

  it("keeps the ingress internal without a certificate and public HTTPS with one", async () => {
    const annotations = (r: SynthResult) => (one(r, T.ingress).inputs as Obj).metadata.annotations;
    expect(annotations(sme)).toMatchObject({
      "alb.ingress.kubernetes.io/scheme": "internal",
      "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80}]',
    });
    const cert =
      "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333";
    const result = await synth("sme", [
      `rag-platform:domain.certificate=${cert}`,
      "rag-platform:domain.hostname=rag.example.com",
    ]);
    expect(annotations(result)).toMatchObject({
      "alb.ingress.kubernetes.io/scheme": "internet-facing",
      "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
      "alb.ingress.kubernetes.io/certificate-arn": cert,
      "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    expect(result.outputs.apiUrl).toBe("https://rag.example.com");
    expect((result.outputs.backup as { export: string }).export).toMatch(
      /^RAG_API_URL=https:\/\/rag\.example\.com RAG_API_KEY=/,
    );
    expect(
      (sme.outputs.backup as { export: string }).export,
      "without a hostname, the ALB's own address",
    ).toMatch(/^RAG_API_URL=http:\/\/[a-z0-9]+\.lb\.example RAG_API_KEY=/);
    const api = ofType(result, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api), "single sign-on redirects users back to the public URL").toContainEqual({
      name: ENV.publicUrl,
      value: "https://rag.example.com",
    });
    const plainApi = env(ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!);
    expect(plainApi.map((e) => e.name)).not.toContain(ENV.publicUrl);
    expect(
      plainApi,
      "client addresses from the ALB's X-Forwarded-For, believed only from inside the VPC",
    ).toContainEqual({ name: ENV.trustProxy, value: "10.50.0.0/16" });
  });

  it("names the load balancer's subnets, so an existing VPC's subnets need no discovery tags", async () => {
    const subnets = (r: SynthResult) =>
      ((one(r, T.ingress).inputs as Obj).metadata.annotations as Record<string, string>)[
        "alb.ingress.kubernetes.io/subnets"
      ];
    const privateIds = ofType(sme, "aws:ec2/subnet:Subnet")
      .filter((s) => s.name.includes("-private-"))
      .map((s) => `${s.name}-id`);
    expect(subnets(sme)!.split(",")).toEqual(privateIds);
    const existing = [
      "rag-platform:network.existingNetworkId=vpc-0abc",
      "rag-platform:network.existingPrivateSubnetIds[0]=subnet-a",
      "rag-platform:network.existingPrivateSubnetIds[1]=subnet-b",
    ];
    expect(subnets(await synth("sme", existing))).toBe("subnet-a,subnet-b");
    const cert =
      "rag-platform:domain.certificate=arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333";
    const refused = await synth("sme", [...existing, cert]).catch((e: unknown) => e);
    expect((refused as ConfigError).message).toContain(
      "rag-platform:network.existingPublicSubnetIds: got nothing; needs at least 2 public subnet ids (in different zones) for the internet-facing load balancer that domain.certificate asks for",
    );
    const pub = [
      "rag-platform:network.existingPublicSubnetIds[0]=subnet-p1",
      "rag-platform:network.existingPublicSubnetIds[1]=subnet-p2",
    ];
    expect(subnets(await synth("sme", [...existing, ...pub, cert]))).toBe("subnet-p1,subnet-p2");
  });

  it("has the controller turn on the ALB's access logs, into the log bucket whose policy lets load balancers write under alb/", () => {
    const ingress = one(sme, T.ingress);
    const attributes = ((ingress.inputs as Obj).metadata.annotations as Record<string, string>)[
      "alb.ingress.kubernetes.io/load-balancer-attributes"
    ]!;
    const logBucket = ofType(sme, "aws:s3/bucket:Bucket").find((b) =>
      b.name.endsWith("-access-logs"),
    )!;
    expect(Object.fromEntries(attributes.split(",").map((kv) => kv.split("=")))).toEqual({
      "routing.http.drop_invalid_header_fields.enabled": "true",
      "idle_timeout.timeout_seconds": expect.stringMatching(/^\d+$/),
      "access_logs.s3.enabled": "true",
      "access_logs.s3.bucket": expect.stringMatching(/^rag-sme-documents-access-logs-/),
      "access_logs.s3.prefix": "alb",
    });
    expect(ingress.propertyDependencies.metadata).toContain(logBucket.urn);
    const policy = ofType(sme, "aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.name === logBucket.name,
    )!;
    expect(
      statements(policy).find((s) => s.Sid === "LoadBalancerAccessLogsDelivery")!.Resource,
    ).toMatch(/\/alb\/AWSLogs\/123456789012\/\*$/);
  });
});

describe("sme on EKS: data services and modes", () => {
  it("uses the managed services at sme sizes: multi-AZ RDS with deletion protection, Redis with failover", () => {
    expect(one(sme, T.rds).inputs).toMatchObject({
      multiAz: true,
      deletionProtection: true,
      instanceClass: "db.r6g.large",
      backupRetentionPeriod: 14,
    });
    expect(one(sme, T.redis).inputs).toMatchObject({
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      nodeType: "cache.r6g.large",
    });
  });

  it("asks the runtime for two copies of each Qdrant shard on a cluster of several nodes, one on a single node", async () => {
    const api = ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect((release(sme, "qdrant").inputs.values as Obj).replicaCount).toBe(3);
    expect(env(api)).toContainEqual({ name: ENV.qdrantReplicationFactor, value: "2" });
    const single = await synth("sme", ["rag-platform:vectorDb.replicas=1"]);
    expect(
      env(ofType(single, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!),
    ).toContainEqual({ name: ENV.qdrantReplicationFactor, value: "1" });
  });

  it("qdrant-cloud mode runs no Qdrant and syncs the operator's key", async () => {
    const result = await synth("sme", [
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://xyz.cloud.qdrant.io:6333",
    ]);
    expect(ofType(result, T.release).map((r) => r.name)).not.toContain("qdrant");
    const api = ofType(result, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api)).toContainEqual({
      name: ENV.qdrantUrl,
      value: "https://xyz.cloud.qdrant.io:6333",
    });
    expect(
      (result.outputs.secretsToFill as Record<string, string>)["qdrant-cloud-api-key"],
    ).toContain("put-secret-value");
  });

  it("pgvector mode runs no Qdrant and asks the runtime to require pgvector", async () => {
    const result = await synth("sme", ["rag-platform:vectorDb.mode=pgvector"]);
    expect(ofType(result, T.release).map((r) => r.name)).not.toContain("qdrant");
    const api = ofType(result, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api)).toContainEqual({ name: ENV.vectorStore, value: "pgvector" });
    expect(env(api)).toContainEqual({ name: ENV.requirePgvector, value: "true" });
  });

  it("passes SSO settings to the runtime with the client secret from Secrets Manager", async () => {
    const result = await synth("sme", [
      "rag-platform:auth.oidcIssuerUrl=https://login.microsoftonline.com/tenant-id/v2.0",
      "rag-platform:auth.oidcClientId=11111111-2222-3333-4444-555555555555",
    ]);
    const api = ofType(result, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api)).toEqual(
      expect.arrayContaining([
        { name: ENV.oidcIssuerUrl, value: "https://login.microsoftonline.com/tenant-id/v2.0" },
        { name: ENV.oidcClientId, value: "11111111-2222-3333-4444-555555555555" },
        { name: `${ENV.oidcClientSecret}_FILE`, value: `/run/secrets/rag/${ENV.oidcClientSecret}` },
      ]),
    );
    expect(
      (result.outputs.secretsToFill as Record<string, string>)["oidc-client-secret"],
    ).toContain("put-secret-value");
    expect(
      env(api).map((e) => e.name),
      "the runtime's default scopes unless the stack names others",
    ).not.toContain(ENV.oidcScopes);
    const cognito = await synth("sme", [
      "rag-platform:auth.oidcIssuerUrl=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
      "rag-platform:auth.oidcClientId=client",
      "rag-platform:auth.oidcScopes=openid profile email",
    ]);
    expect(
      env(ofType(cognito, T.deployment).find((d) => d.name === "rag-sme-runtime-api")!),
    ).toContainEqual({ name: ENV.oidcScopes, value: "openid profile email" });
  });

  it("serves with Ollama on the GPU pool when asked", async () => {
    const result = await synth("sme", [
      "rag-platform:llm.server=ollama",
      "rag-platform:llm.model=llama3.1:8b",
      "rag-platform:llm.embeddingModel=nomic-embed-text:v1.5",
    ]);
    const ollama = ofType(result, T.deployment).find((d) => d.name === "rag-sme-ollama")!;
    expect(podSpec(ollama).containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(podSpec(ollama).containers[0].readinessProbe.exec.command[2]).toContain(
      "ollama show llama3.1:8b",
    );
    expect(ollama.customTimeouts).toEqual({ create: "45m", update: "45m" });
    // Loaded models stay loaded for a quiet half hour, not Ollama's 5 minutes.
    expect(env(ollama)).toContainEqual({ name: "OLLAMA_KEEP_ALIVE", value: "30m" });
  });
});

describe("sme on EKS: alerting", () => {
  it("alarms on Postgres and Redis to an encrypted topic for e-mail and PagerDuty, with a dashboard of both", async () => {
    const result = await synth("sme", [
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ]);
    expect(one(result, "aws:sns/topic:Topic").inputs.kmsMasterKeyId).toMatch(
      /^arn:aws:kms:eu-west-1:123456789012:key\//,
    );
    expect(one(result, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
      protocol: "email",
      endpoint: "oncall@example.com",
    });
    const alarms = ofType(result, "aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(
      alarms
        .filter((a) => a.inputs.metricName)
        .map((a) => `${String(a.inputs.namespace)}/${String(a.inputs.metricName)}`)
        .sort(),
    ).toEqual(["AWS/RDS/CPUUtilization", "AWS/RDS/FreeStorageSpace"]);
    // ElastiCache publishes per node (CacheClusterId): the alarm takes the fullest of the primary and its replica.
    const redisMemory = alarms.find((a) => a.name.endsWith("-redis-memory"))!;
    expect(redisMemory.inputs.metricQueries).toEqual([
      {
        id: "node0",
        metric: {
          namespace: "AWS/ElastiCache",
          metricName: "DatabaseMemoryUsagePercentage",
          dimensions: { CacheClusterId: "rag-sme-redis-id-001" },
          stat: "Maximum",
          period: 300,
        },
        returnData: false,
      },
      {
        id: "node1",
        metric: {
          namespace: "AWS/ElastiCache",
          metricName: "DatabaseMemoryUsagePercentage",
          dimensions: { CacheClusterId: "rag-sme-redis-id-002" },
          stat: "Maximum",
          period: 300,
        },
        returnData: false,
      },
      {
        id: "fullest",
        expression: "MAX([node0, node1])",
        label: "Redis memory used, fullest node (%)",
        returnData: true,
      },
    ]);
    expect(redisMemory.inputs).toMatchObject({
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
    });
    const rdsPrefix = one(result, T.rds).inputs.identifierPrefix as string;
    expect(
      (
        alarms.find((a) => a.inputs.metricName === "CPUUtilization")!.inputs.dimensions as {
          DBInstanceIdentifier: string;
        }
      ).DBInstanceIdentifier.startsWith(rdsPrefix),
    ).toBe(true);
    for (const a of alarms)
      expect(a.inputs.alarmActions, a.name).toEqual([
        expect.stringMatching(/^arn:aws:sns:eu-west-1:/),
      ]);
    const body = json<{ widgets: { properties: { title: string } }[] }>(
      one(result, "aws:cloudwatch/dashboard:Dashboard"),
      "dashboardBody",
    );
    expect(body.widgets.map((w) => w.properties.title)).toEqual(["Postgres", "Redis (per node)"]);
    expect(sme.outputs.subscribePagerDuty).toMatch(
      /^aws sns subscribe --region eu-west-1 --topic-arn arn:aws:sns:eu-west-1:\S+ --protocol https --notification-endpoint "<the PagerDuty service's Amazon CloudWatch integration URL>"$/,
    );
  });
});

describe("sme on EKS: re-embedding after a change of embedding model", () => {
  const hasJq = (() => {
    try {
      execFileSync("jq", ["--version"]);
      return true;
    } catch {
      return false;
    }
  })();

  it("outputs a kubectl recipe that runs the worker's pod once as a Job", () => {
    expect(sme.outputs.reembedJob).toMatch(
      /^kubectl -n rag get deployment rag-worker -o json \| jq '.+' \| kubectl apply -f -$/,
    );
  });

  // The recipe's jq program, run on the worker Deployment this stack creates (jq: Debian's package, GitHub's runners).
  it.skipIf(!hasJq)(
    "turns the worker's pod template into a one-off Job: same environment, secrets and security, dist/reembed.js, no probes",
    () => {
      const worker = ofType(sme, T.deployment).find((d) => d.name === "rag-sme-runtime-worker")!;
      const program = (sme.outputs.reembedJob as string).match(/jq '(.+)' \| kubectl/)![1]!;
      const job = JSON.parse(
        execFileSync("jq", [program], {
          input: JSON.stringify({
            apiVersion: "apps/v1",
            kind: "Deployment",
            ...(worker.inputs as object),
          }),
        }).toString(),
      );
      const pod = (
        worker.inputs as {
          spec: {
            template: {
              metadata: unknown;
              spec: { securityContext?: unknown; containers: Record<string, unknown>[] };
            };
          };
        }
      ).spec.template;
      expect(job).toMatchObject({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "rag-reembed", namespace: "rag" },
        spec: { backoffLimit: 0 },
      });
      expect(job.spec.template.metadata).toEqual(pod.metadata);
      const [container] = job.spec.template.spec.containers;
      const [original] = pod.spec.containers;
      expect(container.command).toEqual([...REEMBED_COMMAND]);
      expect(container.env).toEqual(original!.env);
      expect(container.securityContext).toEqual(original!.securityContext);
      expect(container).not.toHaveProperty("livenessProbe");
      expect(container).not.toHaveProperty("readinessProbe");
      expect(job.spec.template.spec.restartPolicy).toBe("Never");
      expect(job.spec.template.spec.securityContext).toEqual(pod.spec.securityContext);
    },
  );
});

describe("the GPU fit check", () => {
  function problems(values: Record<string, unknown>): string[] {
    try {
      resolveConfig({ tier: "sme", regions: ["eu-west-1"], ...values });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  it("refuses a 70B model on one A10G and says what would fit", async () => {
    const error = await synth("sme", [
      "rag-platform:llm.model=meta-llama/Llama-3.1-70B-Instruct",
      "rag-platform:llm.gpuType=a10g",
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const [line] = (error as ConfigError).problems;
    expect(line).toMatch(
      /^rag-platform:llm\.model: got "meta-llama\/Llama-3\.1-70B-Instruct"; needs about 158\.\d GiB of GPU memory \(70\.6B parameters at bf16/,
    );
    expect(line).toContain("1 x a10g gives 21.6 GiB usable");
    expect(line).toContain("models that fit 1 x a10g: meta-llama/Llama-3.1-8B-Instruct");
    expect(line).toContain("or llm.gpuCount=8 (tensor parallel)");
  });

  it("accepts the same model when the GPUs add up, and a quantised 70B on two A100s (40 GB)", () => {
    expect(
      problems({
        llm: { model: "meta-llama/Llama-3.1-70B-Instruct", gpuType: "a10g", gpuCount: 8 },
      }),
    ).toEqual([]);
    expect(
      problems({
        llm: {
          model: "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
          gpuType: "a100",
          gpuCount: 2,
        },
      }),
    ).toEqual([]);
    expect(
      problems({
        llm: { model: "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", gpuType: "a100" },
      })[0],
    ).toContain("or llm.gpuCount=2 (tensor parallel)");
  });

  it("refuses an unknown model unless its memory is declared", () => {
    const [line] = problems({ llm: { model: "acme/secret-model-13B" } });
    expect(line).toMatch(
      /^rag-platform:llm\.model: got "acme\/secret-model-13B"; is not in the GPU catalogue .* set llm\.modelMemoryGiB/,
    );
    expect(problems({ llm: { model: "acme/secret-model-13B", modelMemoryGiB: 20 } })).toEqual([]);
    expect(problems({ llm: { model: "acme/secret-model-13B", modelMemoryGiB: 30 } })[0]).toContain(
      "needs about 30 GiB",
    );
  });

  it("checks staging's Ollama host too, and skips hosted models", () => {
    expect(problems({ tier: "staging", llm: { model: "llama3.1:70b", gpuType: "t4" } })[0]).toMatch(
      /^rag-platform:llm\.model: got "llama3\.1:70b"; needs about/,
    );
    expect(
      problems({ llm: { mode: "managed", managedProvider: "openai", model: "gpt-4o" } }),
    ).toEqual([]);
  });

  it("GitOps without a repository is a config error", () => {
    expect(problems({ gitops: { enabled: true } })).toEqual([
      "rag-platform:gitops.repoUrl: got nothing; required when gitops.enabled is true (the repository Argo CD syncs from)",
    ]);
  });
});
