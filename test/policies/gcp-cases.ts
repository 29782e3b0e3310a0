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
    ],
    violating: {
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
};
