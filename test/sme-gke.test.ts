/**
 * sme on GCP (GKE), synthesized under mocks: the cluster's security inputs, its pools, Workload
 * Identity's members, External Secrets on Secret Manager, the Gateway and its policies, the
 * alerts, and the config errors of this pair. The cloud-neutral checks of every workload are the
 * shared Kubernetes walk (test/kubernetes-walk.ts), the same as on EKS and AKS.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_READER_ROLE } from "../components/gcp/gke-addons";
import { GKE_ADMIN_ROLE, GKE_NODE_ROLE, gkeKubeconfig } from "../components/gcp/gke-cluster";
import {
  GATEWAY_BACKEND_TIMEOUT_SECONDS,
  GATEWAY_UPSTREAM_IDLE_SECONDS,
} from "../components/gcp/gke-gateway";
import { gkeGpuMachineType } from "../components/gcp/gke-node-pool";
import { DOCUMENT_ROLE } from "../components/gcp/document-store";
import { MOCK_GCP_PROJECT_NUMBER } from "../tools/mocks";
import { API_DRAIN_SECONDS } from "../components/kubernetes/runtime-workloads";
import {
  answerBoundSeconds,
  API_DRAIN_LIMIT_SECONDS,
  API_IDLE_TIMEOUT_SECONDS,
  API_READINESS_PATH,
} from "../components/shared/runtime-image";
import { ENV, MODEL_TIMEOUT_DEFAULTS } from "../runtime/src/config";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { gkeCharts } from "../stacks/platforms/gcp-gke";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { byName, ofType, one, synth, waitedFor } from "./helpers";
import { describeKubernetesWalk, env, K8S, type Obj, podSpec, release } from "./kubernetes-walk";

const T = {
  cluster: "gcp:container/cluster:Cluster",
  pool: "gcp:container/nodePool:NodePool",
  account: "gcp:serviceaccount/account:Account",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  keyMember: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  secretMember: "gcp:secretmanager/secretIamMember:SecretIamMember",
  bucketMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  repositoryMember: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  firewall: "gcp:compute/firewall:Firewall",
  address: "gcp:compute/address:Address",
  globalAddress: "gcp:compute/globalAddress:GlobalAddress",
  regionCertificate: "gcp:compute/regionSslCertificate:RegionSslCertificate",
  managedCertificate: "gcp:compute/managedSslCertificate:ManagedSslCertificate",
  regionSslPolicy: "gcp:compute/regionSslPolicy:RegionSslPolicy",
  sslPolicy: "gcp:compute/sSLPolicy:SSLPolicy",
  alert: "gcp:monitoring/alertPolicy:AlertPolicy",
  channel: "gcp:monitoring/notificationChannel:NotificationChannel",
  gateway: "kubernetes:gateway.networking.k8s.io/v1:Gateway",
  route: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
  gatewayPolicy: "kubernetes:networking.gke.io/v1:GCPGatewayPolicy",
  backendPolicy: "kubernetes:networking.gke.io/v1:GCPBackendPolicy",
  healthCheck: "kubernetes:networking.gke.io/v1:HealthCheckPolicy",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
  certRequest: "tls:index/certRequest:CertRequest",
  selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
} as const;

const PROJECT = "my-rag-sme";
const POOL = `${PROJECT}.svc.id.goog`;
const principal = (ns: string, sa: string) =>
  `principal://iam.googleapis.com/projects/${MOCK_GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL}/subject/ns/${ns}/sa/${sa}`;
const ESO = principal("external-secrets", "external-secrets");
const RUNTIME = principal("rag", "rag-runtime");
const CHANNEL = `projects/${PROJECT}/notificationChannels/4242`;

let sme: SynthResult;
let publicSme: SynthResult;
beforeAll(async () => {
  sme = await synth("sme-gcp");
  publicSme = await synth("sme-gcp", [
    "rag-platform:domain.certificate=google-managed",
    "rag-platform:domain.hostname=rag.example.com",
    "rag-platform:network.clusterApiAllowedCidrs[0]=203.0.113.10/32",
    "rag-platform:kubernetes.adminPrincipals[0]=group:platform@example.com",
    "rag-platform:observability.alertEmails[0]=oncall@example.com",
    `rag-platform:observability.gcpNotificationChannels[0]=${CHANNEL}`,
  ]);
}, 120_000);

const inputs = (r: ResourceRecord) => r.inputs as Obj;
const cluster = (result: SynthResult) => inputs(one(result, T.cluster));
const pool = (result: SynthResult, name: string) =>
  inputs(byName(result, `rag-sme-gke-${name}`, T.pool));

describeKubernetesWalk("sme on GKE", () => sme, {
  prefix: "rag-sme",
  charts: () => gkeCharts(resolveConfig({ tier: "sme", cloud: "gcp", gcpProject: PROJECT })),
  // Every secret the runtime reads is synced from Secret Manager (the database password too).
  secretVariables: [ENV.adminApiKey, ENV.qdrantApiKey, ENV.redisPassword, ENV.pgPassword],
  // Cloud SQL's and Memorystore's own CAs come with them, as files.
  fileVariables: [ENV.pgSslRootCert, ENV.redisTlsCaFile],
  hostAddons: {},
});

describe("sme on GKE: the cluster", () => {
  it("is regional across three zones, Standard, on the Regular channel at the pinned minor, upgraded in weekend windows only", () => {
    const c = cluster(sme);
    expect(c).toMatchObject({
      location: "europe-west1",
      nodeLocations: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
      minMasterVersion: "1.35",
      releaseChannel: { channel: "REGULAR" },
      removeDefaultNodePool: true,
      deletionProtection: false,
    });
    expect(c.enableAutopilot).toBeUndefined();
    expect(c.maintenancePolicy).toEqual({
      recurringWindow: {
        startTime: "2026-01-03T00:00:00Z",
        endTime: "2026-01-03T08:00:00Z",
        recurrence: "FREQ=WEEKLY;BYDAY=SA,SU",
      },
      maintenanceExclusions: [
        {
          exclusionName: "pinned-minor",
          startTime: "2026-01-03T00:00:00Z",
          exclusionOptions: { scope: "NO_MINOR_UPGRADES", endTimeBehavior: "UNTIL_END_OF_SUPPORT" },
        },
      ],
    });
  });

  it("keeps nodes and the control plane private, behind authorized networks, with no static credential and no ABAC", () => {
    const c = cluster(sme);
    expect(c.privateClusterConfig).toEqual({
      enablePrivateNodes: true,
      enablePrivateEndpoint: true,
      masterGlobalAccessConfig: { enabled: false },
    });
    expect(c.masterAuthorizedNetworksConfig).toEqual({
      cidrBlocks: [
        { cidrBlock: "10.60.0.0/20", displayName: "the cluster's subnet (nodes, a bastion)" },
      ],
      gcpPublicCidrsAccessEnabled: false,
      privateEndpointEnforcementEnabled: true,
    });
    expect(c.masterAuth).toEqual({ clientCertificateConfig: { issueClientCertificate: false } });
    expect(c.enableLegacyAbac).toBe(false);
    expect(sme.outputs.cluster).toMatchObject({
      getCredentials:
        "gcloud container clusters get-credentials rag-sme-gke --region europe-west1 --project my-rag-sme --internal-ip",
    });
  });

  it("opens a public endpoint only to network.clusterApiAllowedCidrs, still private nodes", () => {
    const c = cluster(publicSme);
    expect(c.privateClusterConfig).toMatchObject({
      enablePrivateNodes: true,
      enablePrivateEndpoint: false,
    });
    expect(c.masterAuthorizedNetworksConfig.cidrBlocks).toEqual([
      { cidrBlock: "10.60.0.0/20", displayName: "the cluster's subnet (nodes, a bastion)" },
      { cidrBlock: "203.0.113.10/32", displayName: "network.clusterApiAllowedCidrs[0]" },
    ]);
    expect(String((publicSme.outputs.cluster as Obj).getCredentials)).not.toContain(
      "--internal-ip",
    );
  });

  it("runs Dataplane V2 (NetworkPolicies enforced), VPC-native on the subnet's ranges, Workload Identity, Shielded nodes", () => {
    const c = cluster(sme);
    expect(c.datapathProvider).toBe("ADVANCED_DATAPATH");
    expect(c.networkPolicy).toBeUndefined();
    expect(c.networkingMode).toBe("VPC_NATIVE");
    expect(c.ipAllocationPolicy).toEqual({
      clusterSecondaryRangeName: "pods",
      servicesSecondaryRangeName: "services",
      stackType: "IPV4",
    });
    expect(c.workloadIdentityConfig).toEqual({ workloadPool: POOL });
    expect(c.enableShieldedNodes).toBe(true);
    expect(c.nodePoolDefaults).toEqual({
      nodeConfigDefaults: { insecureKubeletReadonlyPortEnabled: "FALSE" },
    });
    expect(c.gatewayApiConfig).toEqual({ channel: "CHANNEL_STANDARD" });
    const subnet = inputs(ofType(sme, T.subnet).find((s) => s.name.includes("workloads"))!);
    expect(subnet).toMatchObject({
      ipCidrRange: "10.60.0.0/20",
      secondaryIpRanges: [
        { rangeName: "pods", ipCidrRange: "10.60.64.0/18" },
        { rangeName: "services", ipCidrRange: "10.60.16.0/20" },
      ],
    });
  });

  it("encrypts etcd's Secrets with the stack's key, granted to GKE's service agent before the cluster", () => {
    const c = one(sme, T.cluster);
    const key = inputs(one(sme, "gcp:kms/cryptoKey:CryptoKey"));
    expect(inputs(c).databaseEncryption).toEqual({
      state: "ENCRYPTED",
      keyName: expect.stringMatching(/\/cryptoKeys\/data$/),
    });
    expect(key.rotationPeriod).toBe("7776000s");
    const grant = byName(sme, "rag-sme-gke-etcd-key", T.keyMember);
    expect(inputs(grant)).toMatchObject({
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: `serviceAccount:service-${MOCK_GCP_PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com`,
    });
    expect(waitedFor(sme, c).has(grant.urn)).toBe(true);
  });

  it("logs the control plane and the workloads, and collects the cluster's metrics with Managed Prometheus", () => {
    const c = cluster(sme);
    expect(c.loggingConfig.enableComponents).toEqual([
      "SYSTEM_COMPONENTS",
      "APISERVER",
      "CONTROLLER_MANAGER",
      "SCHEDULER",
      "WORKLOADS",
    ]);
    expect(c.monitoringConfig.managedPrometheus).toEqual({ enabled: true });
    expect(c.monitoringConfig.enableComponents).toEqual(
      expect.arrayContaining(["SYSTEM_COMPONENTS", "POD", "DCGM"]),
    );
  });

  it("runs nodes as their own account with GKE's node role only; admins get container.admin", () => {
    const nodes = inputs(byName(sme, "rag-sme-gke-nodes", T.account));
    const email = `${String(nodes.accountId)}@${PROJECT}.iam.gserviceaccount.com`;
    const ofNodes = (result: SynthResult) =>
      ofType(result, T.projectMember).filter((m) => inputs(m).member === `serviceAccount:${email}`);
    expect(ofNodes(sme).map((m) => inputs(m).role)).toEqual([GKE_NODE_ROLE]);
    expect(inputs(one(sme, T.repositoryMember))).toMatchObject({
      role: "roles/artifactregistry.reader",
      member: `serviceAccount:${email}`,
    });
    expect(
      ofType(publicSme, T.projectMember)
        .map(inputs)
        .filter((m) => m.role === GKE_ADMIN_ROLE),
    ).toEqual([{ project: PROJECT, role: GKE_ADMIN_ROLE, member: "group:platform@example.com" }]);
  });

  it("signs in with gke-gcloud-auth-plugin: no client certificate, no token in the kubeconfig", () => {
    const config = JSON.parse(gkeKubeconfig("c", "10.60.0.2", "Y2E=")) as Obj;
    expect(config.clusters[0].cluster).toEqual({
      server: "https://10.60.0.2",
      "certificate-authority-data": "Y2E=",
    });
    expect(config.users[0].user).toEqual({
      exec: expect.objectContaining({
        command: "gke-gcloud-auth-plugin",
        provideClusterInfo: true,
        interactiveMode: "Never",
      }),
    });
  });

  it("gives volumes balanced disks under the stack's key, kept on delete", () => {
    const sc = inputs(one(sme, T.storageClass));
    expect(sc).toMatchObject({
      provisioner: "pd.csi.storage.gke.io",
      parameters: {
        type: "pd-balanced",
        "disk-encryption-kms-key": expect.stringMatching(/\/cryptoKeys\/data$/),
      },
      reclaimPolicy: "Retain",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    expect((release(sme, "qdrant").inputs.values as Obj).persistence.storageClassName).toBe(
      sc.metadata.name,
    );
  });
});

describe("sme on GKE: node pools", () => {
  const hardened = {
    imageType: "COS_CONTAINERD",
    diskType: "pd-balanced",
    bootDiskKmsKey: expect.stringMatching(/\/cryptoKeys\/data$/),
    serviceAccount: `rag-sme-gke-nodes@${PROJECT}.iam.gserviceaccount.com`,
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    workloadMetadataConfig: { mode: "GKE_METADATA" },
    kubeletConfig: { insecureKubeletReadonlyPortEnabled: "FALSE" },
    metadata: { "disable-legacy-endpoints": "true" },
    tags: ["rag-gke-node"],
  };

  it("runs the platform on a hardened system pool across the zones, autoscaled between the configured bounds", () => {
    const system = pool(sme, "system");
    expect(system).toMatchObject({
      name: "system",
      nodeLocations: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
      initialNodeCount: 1,
      autoscaling: { totalMinNodeCount: 3, totalMaxNodeCount: 6, locationPolicy: "BALANCED" },
      management: { autoRepair: true, autoUpgrade: true },
      upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
      nodeConfig: {
        ...hardened,
        machineType: "n2-standard-4",
        labels: { "rag-platform/pool": "system" },
      },
    });
    expect(system.nodeConfig.taints).toBeUndefined();
    expect(system.nodeConfig.guestAccelerators).toBeUndefined();
  });

  it("taints and labels the GPU pool as on EKS, in the zones that have the GPU, with GKE's driver and device plugin", () => {
    const gpu = pool(sme, "gpu");
    expect(gpu).toMatchObject({
      name: "gpu",
      nodeLocations: ["europe-west1-b", "europe-west1-c"],
      autoscaling: { totalMinNodeCount: 1, totalMaxNodeCount: 2, locationPolicy: "ANY" },
      nodeConfig: {
        ...hardened,
        machineType: "g2-standard-8",
        diskSizeGb: 200,
        guestAccelerators: [
          {
            type: "nvidia-l4",
            count: 1,
            gpuDriverInstallationConfig: { gpuDriverVersion: "LATEST" },
          },
        ],
        taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
        labels: { "rag-platform/pool": "gpu" },
      },
    });
    // GKE runs the device plugin and metrics-server: the platform installs neither.
    const charts = ofType(sme, K8S.release).map((r) => r.inputs.chart);
    expect(charts).not.toContain("nvidia-device-plugin");
    expect(charts).not.toContain("metrics-server");
    const vllm = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-vllm")!;
    expect(podSpec(vllm).nodeSelector).toEqual({ "rag-platform/pool": "gpu" });
    expect(podSpec(vllm).tolerations).toContainEqual({
      key: "nvidia.com/gpu",
      operator: "Equal",
      value: "true",
      effect: "NoSchedule",
    });
  });

  it("picks the smallest machine with the GPUs asked for (N1 with T4s, G2, A2), and names the largest when none has them", async () => {
    expect(gkeGpuMachineType("t4", 1)).toBe("n1-highmem-8");
    expect(gkeGpuMachineType("t4", 3)).toBe("n1-highmem-32");
    expect(gkeGpuMachineType("l4", 2)).toBe("g2-standard-24");
    expect(gkeGpuMachineType("a100", 8)).toBe("a2-highgpu-8g");
    expect(() => gkeGpuMachineType("t4", 8)).toThrow(
      "no GKE t4 machine type has 8 GPUs (largest: 4)",
    );
    const a100 = await synth("sme-gcp", [
      "rag-platform:llm.gpuType=a100",
      "rag-platform:llm.gpuCount=2",
      "rag-platform:llm.model=Qwen/Qwen2.5-32B-Instruct-AWQ",
      "rag-platform:kubernetes.gpuZones[0]=europe-west1-b",
    ]);
    expect(pool(a100, "gpu").nodeConfig).toMatchObject({
      machineType: "a2-highgpu-2g",
      guestAccelerators: [expect.objectContaining({ type: "nvidia-tesla-a100", count: 2 })],
    });
  });

  it("has no GPU pool (nor DCGM metrics) when the LLM is a hosted API", async () => {
    const hosted = await synth("sme-gcp", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=anthropic",
      "rag-platform:llm.model=claude-sonnet-4-5",
    ]);
    expect(ofType(hosted, T.pool).map((p) => inputs(p).name)).toEqual(["system"]);
    expect(cluster(hosted).monitoringConfig.enableComponents).not.toContain("DCGM");
  });
});

describe("sme on GKE: Workload Identity and secrets", () => {
  it("lets External Secrets' own service account read exactly the secrets it syncs, one grant each", () => {
    const grants = ofType(sme, T.secretMember).map(inputs);
    for (const g of grants) expect(g).toMatchObject({ role: SECRET_READER_ROLE, member: ESO });
    const synced = ofType(sme, K8S.externalSecret).flatMap((e) =>
      (inputs(e).spec.data as Obj[]).map((d) => String(d.remoteRef.key)),
    );
    expect(grants.map((g) => String(g.secretId)).sort()).toEqual([...synced].sort());
    expect([...new Set(synced)].sort()).toEqual(
      [
        "rag-sme-admin-api-key",
        "rag-sme-datadog-api-key",
        "rag-sme-huggingface-token",
        "rag-sme-postgres-password",
        "rag-sme-postgres-server-ca",
        "rag-sme-qdrant-api-key",
        "rag-sme-redis-auth",
        "rag-sme-redis-server-ca",
      ].sort(),
    );
  });

  it("runs External Secrets with cluster stores only, on the project's Secret Manager, for the platform's namespaces", () => {
    const values = release(sme, "external-secrets").inputs.values as Obj;
    // No Google service account to impersonate: the Kubernetes service account is the principal.
    expect(values.serviceAccount).toEqual({ create: true, name: "external-secrets" });
    expect(values.processSecretStore).toBe(false);
    expect(values.rbac).toEqual({ serviceAccountTokenCreate: false });
    const store = inputs(one(sme, K8S.clusterSecretStore));
    expect(store.metadata.name).toBe("gcp-secret-manager");
    expect(store.spec).toEqual({
      provider: { gcpsm: { projectID: PROJECT } },
      conditions: [{ namespaces: ["rag", "observability"] }],
    });
  });

  it("gives the runtime's service account the documents bucket's objects, and nothing else", () => {
    const documents = inputs(byName(sme, "rag-sme-runtime-documents", T.bucketMember));
    expect(documents).toMatchObject({ role: DOCUMENT_ROLE, member: RUNTIME });
    const runtimeGrants = sme.resources.filter(
      (r) => r.type.startsWith("gcp:") && inputs(r).member === RUNTIME,
    );
    expect(runtimeGrants).toHaveLength(1);
    const account = ofType(sme, "kubernetes:core/v1:ServiceAccount").find(
      (s) => inputs(s).metadata.name === "rag-runtime",
    )!;
    expect(inputs(account).metadata.annotations).toBeUndefined();
  });

  it("lets KEDA check Memorystore's certificate against its own CA, synced with the word its TLS asks for", () => {
    const tls = ofType(sme, K8S.externalSecret).find(
      (e) => inputs(e).metadata.name === "rag-queue-tls",
    )!;
    expect(inputs(tls).spec).toMatchObject({
      target: { template: { type: "Opaque", data: { tls: "enable", ca: "{{ .ca }}" } } },
      data: [{ secretKey: "ca", remoteRef: { key: "rag-sme-redis-server-ca" } }],
    });
    const auth = inputs(one(sme, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"));
    expect(auth.spec.secretTargetRef).toEqual([
      { parameter: "password", name: "rag-runtime", key: ENV.redisPassword },
      { parameter: "tls", name: "rag-queue-tls", key: "tls" },
      { parameter: "ca", name: "rag-queue-tls", key: "ca" },
    ]);
    const scaler = inputs(one(sme, "kubernetes:keda.sh/v1alpha1:ScaledObject"));
    expect(scaler.spec.triggers[0].metadata).not.toHaveProperty("enableTLS");
  });

  it("lets the runtime's pods reach Cloud SQL and Memorystore by address, Google's APIs, and the metadata server", () => {
    const policy = ofType(sme, K8S.netpol).find((p) => p.name === "rag-sme-runtime-api")!;
    const egress = (inputs(policy).spec.egress as Obj[]).map((e) => ({
      cidr: e.to[0].ipBlock?.cidr,
      ports: (e.ports as Obj[]).map((p) => p.port),
    }));
    expect(egress).toEqual(
      expect.arrayContaining([
        { cidr: "10.121.0.3/32", ports: [5432] },
        { cidr: "10.121.1.4/32", ports: [6378] },
        { cidr: "0.0.0.0/0", ports: [443] },
        { cidr: "169.254.169.254/32", ports: [80] },
        { cidr: "169.254.169.252/32", ports: [988] },
      ]),
    );
  });
});

describe("sme on GKE: the Gateway", () => {
  const spec = (result: SynthResult, type: string) => inputs(one(result, type)).spec as Obj;

  it("is internal by default: gke-l7-rilb on a reserved address of the nodes' subnet, HTTPS only with the stack's certificate", () => {
    const address = inputs(one(sme, T.address));
    expect(address).toMatchObject({ addressType: "INTERNAL", region: "europe-west1" });
    const gateway = spec(sme, T.gateway);
    const certificate = byName(sme, "rag-sme-gateway", T.regionCertificate);
    expect(gateway).toEqual({
      gatewayClassName: "gke-l7-rilb",
      addresses: [{ type: "NamedAddress", value: expect.stringMatching(/^rag-sme-gateway-/) }],
      listeners: [
        {
          name: "https",
          protocol: "HTTPS",
          port: 443,
          tls: {
            mode: "Terminate",
            options: {
              "networking.gke.io/pre-shared-certs": expect.stringMatching(/^rag-sme-gateway-/),
            },
          },
          allowedRoutes: { namespaces: { from: "Same" }, kinds: [{ kind: "HTTPRoute" }] },
        },
      ],
    });
    expect(inputs(certificate).region).toBe("europe-west1");
    // The certificate is for the address, from the stack's own CA, which the output gives clients.
    expect(inputs(one(sme, T.certRequest)).ipAddresses).toEqual(["10.60.0.50"]);
    expect(inputs(one(sme, T.selfSigned))).toMatchObject({ isCaCertificate: true });
    expect(inputs(one(sme, T.locallySigned))).toMatchObject({
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      earlyRenewalHours: 1440,
    });
    expect(sme.outputs.apiCaCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(sme.outputs.apiUrl).toBe("https://10.60.0.50");
    expect(ofType(sme, K8S.ingress)).toEqual([]);
  });

  it("holds TLS 1.2 and up with a regional SSL policy, and answers its own region only", () => {
    expect(inputs(one(sme, T.regionSslPolicy))).toMatchObject({
      region: "europe-west1",
      profile: "MODERN",
      minTlsVersion: "TLS_1_2",
    });
    expect(spec(sme, T.gatewayPolicy)).toEqual({
      default: { sslPolicy: expect.stringMatching(/^rag-sme-gateway-/), allowGlobalAccess: false },
      targetRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "rag-api" },
    });
  });

  it("is public with a domain: global external, a Google-managed certificate for the name, a global SSL policy", () => {
    const gateway = spec(publicSme, T.gateway);
    expect(gateway.gatewayClassName).toBe("gke-l7-global-external-managed");
    expect(gateway.listeners[0]).toMatchObject({
      hostname: "rag.example.com",
      protocol: "HTTPS",
      port: 443,
    });
    expect(inputs(one(publicSme, T.managedCertificate))).toMatchObject({
      type: "MANAGED",
      managed: { domains: ["rag.example.com"] },
    });
    expect(ofType(publicSme, T.globalAddress).map(inputs)).toContainEqual(
      expect.objectContaining({ addressType: "EXTERNAL", ipVersion: "IPV4" }),
    );
    expect(inputs(one(publicSme, T.sslPolicy))).toMatchObject({
      profile: "MODERN",
      minTlsVersion: "TLS_1_2",
    });
    expect(spec(publicSme, T.gatewayPolicy).default).not.toHaveProperty("allowGlobalAccess");
    expect(spec(publicSme, T.route).hostnames).toEqual(["rag.example.com"]);
    expect(ofType(publicSme, T.address)).toEqual([]);
    expect(publicSme.outputs.apiUrl).toBe("https://rag.example.com");
    expect(publicSme.outputs.apiCaCertificate).toBeUndefined();
  });

  it("waits above the longest answer, drains a stopping pod as long as it finishes, logs every request", () => {
    const backend = spec(sme, T.backendPolicy);
    expect(GATEWAY_BACKEND_TIMEOUT_SECONDS).toBeGreaterThan(
      answerBoundSeconds(MODEL_TIMEOUT_DEFAULTS),
    );
    expect(backend).toEqual({
      default: {
        timeoutSec: GATEWAY_BACKEND_TIMEOUT_SECONDS,
        connectionDraining: { drainingTimeoutSec: API_DRAIN_SECONDS + API_DRAIN_LIMIT_SECONDS },
        logging: { enabled: true, sampleRate: 1_000_000 },
      },
      targetRef: { group: "", kind: "Service", name: "rag-api" },
    });
    expect(backend.default.timeoutSec).toBe(API_IDLE_TIMEOUT_SECONDS + 20);
    // The pod's own grace covers the drain; its keep-alive outlasts Google's proxies' 10 minutes.
    const api = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(podSpec(api).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      backend.default.connectionDraining.drainingTimeoutSec,
    );
    const keepAlive = Number(env(api).find((v) => v.name === ENV.httpKeepAliveSeconds)?.value);
    expect(keepAlive).toBeGreaterThan(GATEWAY_UPSTREAM_IDLE_SECONDS);
  });

  it("checks the API's readiness, and routes every path of the API's Service through the HTTPS listener", () => {
    expect(spec(sme, T.healthCheck)).toEqual({
      default: {
        checkIntervalSec: 5,
        timeoutSec: 3,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
        config: {
          type: "HTTP",
          httpHealthCheck: {
            portSpecification: "USE_SERVING_PORT",
            requestPath: API_READINESS_PATH,
          },
        },
      },
      targetRef: { group: "", kind: "Service", name: "rag-api" },
    });
    const route = one(sme, T.route);
    expect(inputs(route).spec).toEqual({
      parentRefs: [{ name: "rag-api", sectionName: "https" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [{ name: "rag-api", port: 80 }],
        },
      ],
    });
    // The route comes once its backend policies exist, so the load balancer starts with them.
    const before = waitedFor(sme, route);
    for (const type of [T.backendPolicy, T.healthCheck, T.gatewayPolicy, T.gateway])
      expect(before.has(one(sme, type).urn), type).toBe(true);
  });

  it("lets only the load balancers' proxies and health checks reach the API, and believes their X-Forwarded-For", () => {
    const policy = ofType(sme, K8S.netpol).find((p) => p.name === "rag-sme-runtime-api")!;
    const [fromBalancers] = inputs(policy).spec.ingress as Obj[];
    expect(fromBalancers).toEqual({
      from: ["10.60.32.0/23", "35.191.0.0/16", "130.211.0.0/22"].map((cidr) => ({
        ipBlock: { cidr },
      })),
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    const api = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(api).find((v) => v.name === ENV.trustProxy)?.value).toBe(
      "10.60.0.0/16,10.60.32.0/23,35.191.0.0/16,130.211.0.0/22,10.60.0.50/32",
    );
    const proxyOnly = inputs(ofType(sme, T.subnet).find((s) => s.name.includes("proxy-only"))!);
    expect(proxyOnly).toMatchObject({
      ipCidrRange: "10.60.32.0/23",
      purpose: "REGIONAL_MANAGED_PROXY",
      role: "ACTIVE",
    });
    const firewall = inputs(byName(sme, "rag-sme-vpc-load-balancers", T.firewall));
    expect(firewall).toMatchObject({
      sourceRanges: ["10.60.32.0/23", "35.191.0.0/16", "130.211.0.0/22"],
      targetTags: ["rag-gke-node"],
      allows: [{ protocol: "tcp", ports: ["8080"] }],
    });
  });
});

describe("sme on GKE: alerts", () => {
  it("alerts on Cloud SQL, Memorystore, the nodes, pending pods, failed scale-ups and the GPU pool at its max", () => {
    const names = ofType(publicSme, T.alert).map((a) => a.name.replace("rag-sme-alerts-", ""));
    expect(names.sort()).toEqual(
      [
        "postgres-cpu",
        "postgres-disk",
        "redis-memory",
        "nodes-memory",
        "nodes-cpu",
        "platform-pods-pending",
        "scale-up-failed",
        "gpu-pool-at-max",
      ].sort(),
    );
    const alert = (name: string) => inputs(byName(publicSme, `rag-sme-alerts-${name}`, T.alert));
    expect(alert("scale-up-failed")).toMatchObject({
      alertStrategy: { notificationRateLimit: { period: "1800s" } },
      conditions: [
        {
          conditionMatchedLog: { filter: expect.stringContaining("cluster-autoscaler-visibility") },
        },
      ],
    });
    expect(alert("gpu-pool-at-max").conditions[0].conditionPrometheusQueryLanguage).toMatchObject({
      query: expect.stringMatching(/cluster_name="rag-sme-gke"\}\)\) >= 2$/),
      duration: "1800s",
    });
    expect(alert("nodes-memory").conditions[0].conditionThreshold.filter).toBe(
      'metric.type="kubernetes.io/node/memory/allocatable_utilization" resource.type="k8s_node" resource.label."cluster_name"="rag-sme-gke"',
    );
  });

  it("notifies the stack's e-mail channels and the PagerDuty channel made outside the stack", () => {
    const email = inputs(one(publicSme, T.channel));
    expect(email).toMatchObject({ type: "email", labels: { email_address: "oncall@example.com" } });
    for (const a of ofType(publicSme, T.alert)) {
      const channels = inputs(a).notificationChannels as string[];
      expect(channels).toHaveLength(2);
      expect(channels[1]).toBe(CHANNEL);
    }
    const [create, point] = sme.outputs.pagerDutyChannel as string[];
    expect(create).toMatch(
      /^gcloud beta monitoring channels create --project my-rag-sme --channel-content-from-file=<file holding /,
    );
    expect(create).toContain('"type":"pagerduty"');
    expect(point).toMatch(
      /^pulumi config set --path 'rag-platform:observability\.gcpNotificationChannels\[0\]' projects\/my-rag-sme\/notificationChannels\//,
    );
  });
});

describe("sme on GKE: configuration errors", () => {
  function problems(values: Record<string, unknown>): string[] {
    try {
      resolveConfig({ tier: "sme", cloud: "gcp", gcpProject: PROJECT, ...values });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  it("defaults the GPU to GCP's L4, and refuses a GPU GKE has no pool of or more than its largest machine has", () => {
    expect(resolveConfig({ tier: "sme", cloud: "gcp", gcpProject: PROJECT }).llm.gpuType).toBe(
      "l4",
    );
    expect(problems({ llm: { gpuType: "a10g" } })).toEqual([
      'rag-platform:llm.gpuType: got "a10g"; the sme tier on gcp has no node pool with this GPU (allowed: t4, l4, a100)',
    ]);
    expect(problems({ llm: { gpuType: "t4", gpuCount: 8 } })).toEqual([
      "rag-platform:llm.gpuCount: got 8; gcp has no t4 machine with more than 4 GPUs (allowed: 1 to 4)",
    ]);
  });

  it("fits models to GCP's GPUs, suggesting only what GKE's machines offer", () => {
    const [t4] = problems({ llm: { gpuType: "t4" } });
    expect(t4).toContain("but 1 x t4 gives 14.4 GiB usable");
    expect(t4).toContain("or llm.gpuCount=2 (tensor parallel); or llm.gpuType=l4");
    const [mixtral] = problems({
      llm: { model: "mistralai/Mixtral-8x7B-Instruct-v0.1", gpuType: "l4", gpuCount: 2 },
    });
    expect(mixtral).toContain("needs about 105.4 GiB of GPU memory");
    expect(mixtral).toContain("2 x l4 gives 43.2 GiB usable");
    expect(mixtral).toContain("or llm.gpuCount=5 (tensor parallel)");
    expect(mixtral).not.toContain("llm.gpuType=");
  });

  it("refuses a network too small for the cluster's ranges, a minor GKE does not support, GPU zones of another region", () => {
    expect(problems({ network: { cidr: "10.60.0.0/20" } })).toEqual([
      `rag-platform:network.cidr: got "10.60.0.0/20"; is too small for a GKE cluster's nodes, pods, Services and load balancers' proxies (allowed: a /16 or larger, e.g. 10.60.0.0/16)`,
    ]);
    expect(problems({ kubernetes: { version: "1.33" } })).toContainEqual(
      expect.stringMatching(
        /^rag-platform:kubernetes\.version: got "1\.33"; is not a version GKE supports \(allowed: 1\.34-1\.36;/,
      ),
    );
    expect(problems({ kubernetes: { gpuZones: ["europe-west4-a"] } })).toEqual([
      'rag-platform:kubernetes.gpuZones[0]: got "europe-west4-a"; must be a zone of europe-west1, e.g. europe-west1-b',
    ]);
  });

  it("refuses a public name without its certificate, and a certificate of another project", () => {
    expect(problems({ domain: { hostname: "rag.example.com" } })).toEqual([
      'rag-platform:domain.hostname: got "rag.example.com"; names the public API on GKE and needs domain.certificate ("google-managed" or a certificate path); without both the Gateway is internal, on its address',
    ]);
    expect(
      problems({
        domain: {
          hostname: "rag.example.com",
          certificate: "projects/other-project/global/sslCertificates/rag",
        },
      }),
    ).toEqual([
      `rag-platform:domain.certificate: got "projects/other-project/global/sslCertificates/rag"; must be in the stack's project on GKE (${PROJECT}): the Gateway's load balancer takes certificates of its own project`,
    ]);
  });

  it("refuses notification channels that are not channels, and GCP's keys on another cloud", () => {
    expect(problems({ observability: { gcpNotificationChannels: ["pagerduty"] } })).toEqual([
      `rag-platform:observability.gcpNotificationChannels[0]: got "pagerduty"; must be a notification channel's name (projects/<project>/notificationChannels/<id>)`,
    ]);
    const onAws = (() => {
      try {
        resolveConfig({
          tier: "sme",
          observability: { gcpNotificationChannels: [CHANNEL] },
          kubernetes: { gpuZones: ["europe-west1-b"] },
        });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(onAws).toEqual([
      `rag-platform:observability.gcpNotificationChannels: got ["${CHANNEL}"]; only used on gcp (the stack is on aws)`,
      'rag-platform:kubernetes.gpuZones: got ["europe-west1-b"]; only used on gcp (the stack is on aws)',
    ]);
  });
});
