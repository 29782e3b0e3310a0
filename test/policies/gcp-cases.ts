/** Compliant and violating cases for the rules that judge the GCP platform's own resource types (@pulumi/gcp shapes). */
import type { ResourceView } from "../../policies/rules/types";
import type { RuleCase } from "./cases";
import { res } from "./fixtures";

const one = (r: ResourceView) => [r];
const KEY = "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/data";
const firewall = (props: Record<string, unknown>) =>
  res("gcp:compute/firewall:Firewall", { network: "n", direction: "INGRESS", ...props });
const instance = (props: Record<string, unknown>) =>
  res("gcp:compute/instance:Instance", {
    machineType: "n1-standard-4",
    bootDisk: { kmsKeySelfLink: KEY },
    networkInterfaces: [{ subnetwork: "s", networkIp: "10.40.0.10" }],
    metadata: { "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" },
    ...props,
  });
const sqlFlags = (flags: Record<string, string>) =>
  res("gcp:sql/databaseInstance:DatabaseInstance", {
    settings: { databaseFlags: Object.entries(flags).map(([name, value]) => ({ name, value })) },
  });
const LOGGED = {
  log_connections: "on",
  log_disconnections: "on",
  log_checkpoints: "on",
  log_lock_waits: "on",
};
const storageAudit = (types: string[]) =>
  res("gcp:projects/iAMAuditConfig:IAMAuditConfig", {
    project: "p",
    service: "storage.googleapis.com",
    auditLogConfigs: types.map((logType) => ({ logType })),
  });

/** A node pool as the platform declares it, with `config` over its node config. */
const nodePool = (config: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) =>
  res("gcp:container/nodePool:NodePool", {
    cluster: "c",
    nodeLocations: ["europe-west1-b", "europe-west1-c"],
    autoscaling: { totalMinNodeCount: 1, totalMaxNodeCount: 3 },
    management: { autoRepair: true, autoUpgrade: true },
    nodeConfig: {
      serviceAccount: "nodes@p.iam.gserviceaccount.com",
      bootDiskKmsKey: KEY,
      shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      kubeletConfig: { insecureKubeletReadonlyPortEnabled: "FALSE" },
      ...config,
    },
    ...pool,
  });
const gkeCluster = (props: Record<string, unknown> = {}) =>
  res("gcp:container/cluster:Cluster", {
    location: "europe-west1",
    datapathProvider: "ADVANCED_DATAPATH",
    workloadIdentityConfig: { workloadPool: "p.svc.id.goog" },
    masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
    loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"] },
    releaseChannel: { channel: "REGULAR" },
    maintenancePolicy: {
      recurringWindow: { startTime: "s", endTime: "e", recurrence: "FREQ=WEEKLY;BYDAY=SA,SU" },
    },
    ...props,
  });
const PRINCIPAL =
  "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/subject/ns/rag/sa/rag-runtime";
const secretGrant = (member: string) =>
  res("gcp:secretmanager/secretIamMember:SecretIamMember", {
    secretId: "s",
    role: "roles/secretmanager.secretAccessor",
    member,
  });
const k8s = (apiVersion: string, kind: string, object: Record<string, unknown>) =>
  res(`kubernetes:${apiVersion}:${kind}`, { apiVersion, kind, ...object });
const meta = (name: string) => ({ metadata: { name, namespace: "rag" } });
const gateway = (listener: Record<string, unknown>, className = "gke-l7-rilb") =>
  k8s("gateway.networking.k8s.io/v1", "Gateway", {
    ...meta("rag-api"),
    spec: { gatewayClassName: className, listeners: [{ name: "https", port: 443, ...listener }] },
  });
const HTTPS = {
  protocol: "HTTPS",
  tls: { mode: "Terminate", options: { "networking.gke.io/pre-shared-certs": "cert" } },
};
const gatewayPolicy = (sslPolicy?: string) =>
  k8s("networking.gke.io/v1", "GCPGatewayPolicy", {
    ...meta("rag-api"),
    spec: {
      default: sslPolicy ? { sslPolicy } : {},
      targetRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "rag-api" },
    },
  });
const route = k8s("gateway.networking.k8s.io/v1", "HTTPRoute", {
  ...meta("rag-api"),
  spec: {
    parentRefs: [{ name: "rag-api" }],
    rules: [{ backendRefs: [{ name: "rag-api", port: 80 }] }],
  },
});
const backendPolicy = (logging: Record<string, unknown>) =>
  k8s("networking.gke.io/v1", "GCPBackendPolicy", {
    ...meta("rag-api"),
    spec: { default: { logging }, targetRef: { group: "", kind: "Service", name: "rag-api" } },
  });

/** The rules of GKE and its Gateway. */
const GKE_CASES: Record<string, RuleCase> = {
  "gcp-gke-nodes-hardened": {
    compliant: [nodePool(), gkeCluster()],
    violating: {
      "no Secure Boot": one(nodePool({ shieldedInstanceConfig: { enableSecureBoot: false } })),
      "the node's metadata": one(nodePool({ workloadMetadataConfig: { mode: "GCE_METADATA" } })),
      "the default account": one(nodePool({ serviceAccount: undefined })),
      "the read-only port": one(
        nodePool({ kubeletConfig: { insecureKubeletReadonlyPortEnabled: "TRUE" } }),
      ),
      "an inline pool": one(gkeCluster({ nodePools: [{ name: "default", nodeConfig: {} }] })),
    },
  },
  "gcp-gke-customer-key": {
    compliant: [
      nodePool(),
      res("kubernetes:storage.k8s.io/v1:StorageClass", {
        provisioner: "pd.csi.storage.gke.io",
        parameters: { type: "pd-balanced", "disk-encryption-kms-key": KEY },
      }),
    ],
    violating: {
      "boot disks": one(nodePool({ bootDiskKmsKey: undefined })),
      "a StorageClass": one(
        res("kubernetes:storage.k8s.io/v1:StorageClass", {
          provisioner: "pd.csi.storage.gke.io",
          parameters: { type: "pd-balanced" },
        }),
      ),
    },
  },
  "gcp-gke-network-policy": {
    compliant: [
      gkeCluster(),
      gkeCluster({ datapathProvider: undefined, networkPolicy: { enabled: true } }),
    ],
    violating: { "legacy datapath": one(gkeCluster({ datapathProvider: "LEGACY_DATAPATH" })) },
  },
  "gcp-gke-workload-identity": {
    compliant: [
      gkeCluster(),
      secretGrant(PRINCIPAL),
      secretGrant("serviceAccount:a@p.iam.gserviceaccount.com"),
    ],
    violating: {
      "no workload pool": one(gkeCluster({ workloadIdentityConfig: undefined })),
      "a client certificate": one(
        gkeCluster({ masterAuth: { clientCertificateConfig: { issueClientCertificate: true } } }),
      ),
      "a whole namespace": one(
        secretGrant(
          "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/namespace/rag",
        ),
      ),
      "a wildcard": one(secretGrant("serviceAccount:p.svc.id.goog[rag/*]")),
      "not a service account": one(secretGrant(PRINCIPAL.replace("/sa/rag-runtime", ""))),
    },
  },
  "gcp-gke-logged": {
    compliant: one(gkeCluster()),
    violating: {
      off: one(gkeCluster({ loggingService: "none" })),
      "system only": one(
        gkeCluster({ loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS"] } }),
      ),
    },
  },
  "gcp-gke-upgrades": {
    compliant: [gkeCluster(), nodePool()],
    tier: "sme",
    violating: {
      "no channel": one(gkeCluster({ releaseChannel: { channel: "UNSPECIFIED" } })),
      "no window": one(gkeCluster({ maintenancePolicy: undefined })),
      "no auto-upgrade": one(
        nodePool({}, { management: { autoRepair: true, autoUpgrade: false } }),
      ),
    },
  },
  "gcp-gke-zone-redundant": {
    compliant: [
      gkeCluster(),
      nodePool(),
      // A GPU pool may take the one zone that has its GPUs.
      nodePool(
        { guestAccelerators: [{ type: "nvidia-l4", count: 1 }] },
        { nodeLocations: ["europe-west1-b"] },
      ),
    ],
    tier: "sme",
    violating: {
      zonal: one(gkeCluster({ location: "europe-west1-b" })),
      "fixed size": one(nodePool({}, { autoscaling: undefined })),
      "one zone": one(nodePool({}, { nodeLocations: ["europe-west1-b"] })),
    },
  },
  "gke-gateway-https": {
    compliant: [gateway(HTTPS), gatewayPolicy("policy")],
    violating: {
      "plain HTTP": [gateway({ protocol: "HTTP" }), gatewayPolicy("policy")],
      "no certificate": [
        gateway({ protocol: "HTTPS", tls: { mode: "Terminate" } }),
        gatewayPolicy("policy"),
      ],
      "no SSL policy": [gateway(HTTPS), gatewayPolicy()],
      "another class on HTTP": one(gateway({ protocol: "HTTP" }, "istio")),
    },
  },
  "gke-gateway-request-logs": {
    compliant: [gateway(HTTPS), route, backendPolicy({ enabled: true, sampleRate: 1000000 })],
    violating: {
      "logging off": one(backendPolicy({ enabled: false })),
      "no backend policy": [gateway(HTTPS), route],
    },
  },
};

export const GCP_CASES: Record<string, RuleCase> = {
  "gcp-kms-rotation": {
    compliant: one(
      res("gcp:kms/cryptoKey:CryptoKey", { keyRing: "r", rotationPeriod: "7776000s" }),
    ),
    violating: {
      yearly: one(
        res("gcp:kms/cryptoKey:CryptoKey", { keyRing: "r", rotationPeriod: "31536000s" }),
      ),
      never: one(res("gcp:kms/cryptoKey:CryptoKey", { keyRing: "r" })),
    },
  },
  "gcp-registry-and-disks-customer-key": {
    compliant: [
      res("gcp:artifactregistry/repository:Repository", { format: "DOCKER", kmsKeyName: KEY }),
      instance({}),
    ],
    violating: {
      "registry with Google's key": one(
        res("gcp:artifactregistry/repository:Repository", { format: "DOCKER" }),
      ),
      "disk with Google's key": one(
        instance({ bootDisk: { initializeParams: { image: "ubuntu-os-cloud/ubuntu-2204-lts" } } }),
      ),
    },
  },
  "gcp-lb-https-only": {
    compliant: [
      res("gcp:compute/globalForwardingRule:GlobalForwardingRule", {
        portRange: "443",
        target: "proxy",
      }),
      res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m", sslPolicy: "policy" }),
      res("gcp:compute/sSLPolicy:SSLPolicy", { profile: "MODERN", minTlsVersion: "TLS_1_2" }),
      res("gcp:compute/regionSslPolicy:RegionSslPolicy", {
        region: "europe-west1",
        profile: "RESTRICTED",
        minTlsVersion: "TLS_1_2",
      }),
    ],
    violating: {
      "regional TLS 1.0": one(
        res("gcp:compute/regionSslPolicy:RegionSslPolicy", {
          region: "europe-west1",
          profile: "COMPATIBLE",
          minTlsVersion: "TLS_1_0",
        }),
      ),
      "plain HTTP port": one(
        res("gcp:compute/globalForwardingRule:GlobalForwardingRule", {
          portRange: "80",
          target: "proxy",
        }),
      ),
      "no SSL policy": one(res("gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m" })),
      "TLS 1.0": one(
        res("gcp:compute/sSLPolicy:SSLPolicy", { profile: "COMPATIBLE", minTlsVersion: "TLS_1_0" }),
      ),
    },
  },
  "gcp-firewall-no-world-ingress": {
    compliant: [
      firewall({ sourceRanges: ["35.235.240.0/20"], allows: [{ protocol: "tcp", ports: ["22"] }] }),
      firewall({ sourceTags: ["rag-runtime"], allows: [{ protocol: "tcp", ports: ["11434"] }] }),
      firewall({ sourceRanges: ["0.0.0.0/0"], denies: [{ protocol: "all" }], priority: 65534 }),
    ],
    violating: {
      "SSH from anywhere": one(
        firewall({ sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["22"] }] }),
      ),
      "everything from anywhere": one(
        firewall({ sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "all" }] }),
      ),
    },
  },
  "gcp-instance-private": {
    compliant: one(instance({})),
    violating: {
      "public IP": one(instance({ networkInterfaces: [{ subnetwork: "s", accessConfigs: [{}] }] })),
      "project SSH keys": one(instance({ metadata: { "enable-oslogin": "TRUE" } })),
      "no OS Login": one(instance({ metadata: { "block-project-ssh-keys": "TRUE" } })),
    },
  },
  "gcp-cloud-run-ingress": {
    compliant: [
      res("gcp:cloudrunv2/service:Service", { ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY" }),
      res("gcp:cloudrunv2/service:Service", { ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" }),
    ],
    violating: {
      "all traffic": one(res("gcp:cloudrunv2/service:Service", { ingress: "INGRESS_TRAFFIC_ALL" })),
      "left to the default": one(res("gcp:cloudrunv2/service:Service", {})),
    },
  },
  "gcp-iam-no-broad-roles": {
    compliant: [
      res("gcp:secretmanager/secretIamMember:SecretIamMember", {
        secretId: "s",
        role: "roles/secretmanager.secretAccessor",
        member: "serviceAccount:rag@p.iam.gserviceaccount.com",
      }),
      res("gcp:storage/bucketIAMMember:BucketIAMMember", {
        bucket: "b",
        role: "roles/storage.objectUser",
        member: "serviceAccount:rag@p.iam.gserviceaccount.com",
      }),
    ],
    violating: {
      editor: one(
        res("gcp:projects/iAMMember:IAMMember", {
          project: "p",
          role: "roles/editor",
          member: "serviceAccount:rag@p.iam.gserviceaccount.com",
        }),
      ),
      "public bucket": one(
        res("gcp:storage/bucketIAMMember:BucketIAMMember", {
          bucket: "b",
          role: "roles/storage.objectViewer",
          member: "allUsers",
        }),
      ),
      "impersonation project-wide": one(
        res("gcp:projects/iAMBinding:IAMBinding", {
          project: "p",
          role: "roles/iam.serviceAccountTokenCreator",
          members: ["user:a@example.com"],
        }),
      ),
    },
  },
  "gcp-flow-and-request-logs": {
    compliant: [
      res("gcp:compute/subnetwork:Subnetwork", {
        logConfig: { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5 },
      }),
      res("gcp:compute/backendService:BackendService", {
        logConfig: { enable: true, sampleRate: 1 },
      }),
      // A proxy-only subnet takes no flow logs.
      res("gcp:compute/subnetwork:Subnetwork", {
        ipCidrRange: "10.60.32.0/23",
        purpose: "REGIONAL_MANAGED_PROXY",
        role: "ACTIVE",
      }),
    ],
    violating: {
      "subnet without flow logs": one(
        res("gcp:compute/subnetwork:Subnetwork", { ipCidrRange: "10.40.0.0/20" }),
      ),
      "backend without request logs": one(res("gcp:compute/backendService:BackendService", {})),
    },
  },
  "gcp-data-logged": {
    compliant: [
      res("gcp:storage/bucket:Bucket", { location: "europe-west1" }),
      storageAudit(["DATA_READ", "DATA_WRITE"]),
      sqlFlags(LOGGED),
    ],
    violating: {
      "no data access logs": one(res("gcp:storage/bucket:Bucket", { location: "europe-west1" })),
      "writes only": [
        res("gcp:storage/bucket:Bucket", { location: "europe-west1" }),
        storageAudit(["DATA_WRITE"]),
      ],
      "connections not logged": one(sqlFlags({ ...LOGGED, log_connections: "off" })),
    },
  },
  "gcp-bucket-versioning": {
    compliant: one(res("gcp:storage/bucket:Bucket", { versioning: { enabled: true } })),
    tier: "staging",
    violating: {
      off: one(res("gcp:storage/bucket:Bucket", { versioning: { enabled: false } })),
      unset: one(res("gcp:storage/bucket:Bucket", {})),
    },
  },
  ...GKE_CASES,
};
