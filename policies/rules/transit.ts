/** Encryption in transit: TLS-only access, forced TLS on databases and caches, modern TLS. */
import { get, isFalse, isTrue, list, referenced, referencing, text } from "./helpers";
import type { ResourceView, Rule } from "./types";

const BUCKET = "aws:s3/bucket:Bucket";
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const LISTENER = "aws:lb/listener:Listener";
const LB = "aws:lb/loadBalancer:LoadBalancer";

/** ELB policies that allow TLS 1.2 and 1.3 only. */
export const MODERN_TLS_POLICIES = [
  "ELBSecurityPolicy-TLS13-1-2-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
  "ELBSecurityPolicy-TLS13-1-3-2021-06",
  "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
  "ELBSecurityPolicy-FS-1-2-Res-2020-10",
];

interface PolicyStatement {
  Effect?: string;
  Condition?: Record<string, Record<string, unknown>>;
}

function denies(
  policyJson: unknown,
  condition: (c: Record<string, Record<string, unknown>>) => boolean,
): boolean {
  if (typeof policyJson !== "string") return false;
  try {
    const doc = JSON.parse(policyJson) as { Statement?: PolicyStatement[] };
    return (doc.Statement ?? []).some(
      (s) => s.Effect === "Deny" && s.Condition !== undefined && condition(s.Condition),
    );
  } catch {
    return false;
  }
}

function deniesInsecureTransport(policyJson: unknown): boolean {
  return denies(policyJson, (c) => String(c.Bool?.["aws:SecureTransport"]) === "false");
}

function isInternal(lb: ResourceView): boolean {
  return isTrue(lb.props.internal);
}

export const transitRules: Rule[] = [
  {
    name: "aws-s3-tls-only",
    area: "transit",
    description: "Every S3 bucket's policy denies requests not made over TLS.",
    severity: "high",
    remediation: "Add a Deny statement on s3:* with Condition Bool aws:SecureTransport = false.",
    resourceTypes: [BUCKET, BUCKET_POLICY],
    check: (r, ctx) => {
      if (r.type !== BUCKET) return [];
      return referencing(ctx, BUCKET_POLICY, "bucket", r).some((p) =>
        deniesInsecureTransport(p.props.policy),
      )
        ? []
        : ["no bucket policy denies non-TLS requests"];
    },
  },
  {
    name: "aws-rds-force-ssl",
    area: "transit",
    description:
      "PostgreSQL on RDS refuses non-TLS connections (rds.force_ssl = 1 in its parameter group).",
    severity: "high",
    remediation: "Use a parameter group with rds.force_ssl set to 1.",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup"],
    check: (r, ctx) => {
      if (r.type !== "aws:rds/instance:Instance" || r.props.engine !== "postgres") return [];
      const groups = referenced(ctx, r, "parameterGroupName");
      const forced = groups.some((g) =>
        list(g.props.parameters).some(
          (p) => get(p, "name") === "rds.force_ssl" && String(get(p, "value")) === "1",
        ),
      );
      return forced ? [] : ["the instance's parameter group does not set rds.force_ssl = 1"];
    },
  },
  {
    name: "aws-elasticache-in-transit",
    area: "transit",
    description: "ElastiCache requires TLS (not merely allows it) and an AUTH token.",
    severity: "high",
    remediation:
      "Set transitEncryptionEnabled: true, transitEncryptionMode: required and an authToken from Secrets Manager.",
    checkov: "CKV_AWS_30",
    tfsec: "aws-elasticache-enable-in-transit-encryption",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup"],
    check: (r) => [
      ...(isTrue(r.props.transitEncryptionEnabled) ? [] : ["transitEncryptionEnabled is not true"]),
      ...(r.props.transitEncryptionMode === "preferred"
        ? ["transitEncryptionMode is preferred: plaintext clients are still accepted"]
        : []),
      ...(text(r.props.authToken) ? [] : ["no AUTH token"]),
    ],
  },
  {
    name: "aws-lb-https-only",
    area: "transit",
    description:
      "Internet-facing load balancers listen on HTTPS only, with a TLS 1.2+ policy; plain HTTP is allowed on internal ones.",
    severity: "high",
    remediation:
      "Use protocol HTTPS with a certificate and sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06, or make the load balancer internal.",
    checkov: "CKV_AWS_2",
    tfsec: "aws-elb-http-not-used",
    resourceTypes: [LISTENER, LB],
    check: (r, ctx) => {
      if (r.type !== LISTENER) return [];
      const lbs = referenced(ctx, r, "loadBalancerArn");
      const publicLb = lbs.length === 0 || lbs.some((lb) => !isInternal(lb));
      const protocol = r.props.protocol;
      if (protocol === "HTTPS" || protocol === "TLS") {
        return MODERN_TLS_POLICIES.includes(String(r.props.sslPolicy))
          ? []
          : [`sslPolicy ${String(r.props.sslPolicy)} allows TLS below 1.2`];
      }
      const redirectsOnly = list(r.props.defaultActions).every(
        (a) => get(a, "type") === "redirect" && get(a, "redirect.protocol") === "HTTPS",
      );
      return publicLb && !redirectsOnly
        ? [
            `an internet-facing load balancer listens on ${String(protocol)} port ${String(r.props.port)}`,
          ]
        : [];
    },
  },
  {
    name: "azure-storage-https-tls12",
    area: "transit",
    description: "Azure storage accounts accept HTTPS only, TLS 1.2 at least.",
    severity: "high",
    remediation: "Set enableHttpsTrafficOnly: true and minimumTlsVersion: TLS1_2.",
    checkov: "CKV_AZURE_3",
    tfsec: "azure-storage-enforce-https",
    resourceTypes: ["azure-native:storage:StorageAccount"],
    check: (r) => [
      ...(isTrue(r.props.enableHttpsTrafficOnly) ? [] : ["HTTP traffic is allowed"]),
      ...(r.props.minimumTlsVersion === "TLS1_2" || r.props.minimumTlsVersion === "TLS1_3"
        ? []
        : [`minimumTlsVersion is ${String(r.props.minimumTlsVersion)}`]),
    ],
  },
  {
    name: "azure-redis-tls-only",
    area: "transit",
    description: "Azure Cache for Redis has the non-TLS port off and TLS 1.2 at least.",
    severity: "high",
    remediation: 'Set enableNonSslPort: false and minimumTlsVersion: "1.2".',
    checkov: "CKV_AZURE_91",
    resourceTypes: ["azure-native:redis:Redis"],
    check: (r) => [
      ...(isFalse(r.props.enableNonSslPort) ? [] : ["the non-TLS port is not disabled"]),
      ...(r.props.minimumTlsVersion === "1.2"
        ? []
        : [`minimumTlsVersion is ${String(r.props.minimumTlsVersion)}`]),
    ],
  },
  {
    name: "azure-postgres-tls",
    area: "transit",
    description: "Azure Database for PostgreSQL requires TLS (require_secure_transport on).",
    severity: "high",
    remediation:
      "Keep the server parameter require_secure_transport ON (a Configuration resource must not turn it off).",
    resourceTypes: ["azure-native:dbforpostgresql:Configuration"],
    check: (r) =>
      r.props.configurationName === "require_secure_transport" &&
      String(r.props.value).toLowerCase() !== "on"
        ? ["require_secure_transport is turned off"]
        : [],
  },
  {
    name: "azure-container-app-https",
    area: "transit",
    description: "Container Apps ingress does not allow insecure (HTTP) connections.",
    severity: "high",
    remediation: "Set configuration.ingress.allowInsecure: false.",
    resourceTypes: ["azure-native:app:ContainerApp"],
    check: (r) =>
      isTrue(get(r.props, "configuration.ingress.allowInsecure"))
        ? ["ingress allows insecure HTTP"]
        : [],
  },
  {
    name: "gcp-cloudsql-tls",
    area: "transit",
    description: "Cloud SQL accepts encrypted connections only.",
    severity: "high",
    remediation:
      "Set settings.ipConfiguration.sslMode ENCRYPTED_ONLY (or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
    checkov: "CKV_GCP_6",
    resourceTypes: ["gcp:sql/databaseInstance:DatabaseInstance"],
    check: (r) =>
      ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"].includes(
        String(get(r.props, "settings.ipConfiguration.sslMode")),
      )
        ? []
        : ["unencrypted connections are accepted"],
  },
  {
    name: "gcp-memorystore-tls",
    area: "transit",
    description: "Memorystore for Redis encrypts in transit and requires AUTH.",
    severity: "high",
    remediation: "Set transitEncryptionMode SERVER_AUTHENTICATION and authEnabled: true.",
    resourceTypes: ["gcp:redis/instance:Instance"],
    check: (r) => [
      ...(r.props.transitEncryptionMode === "SERVER_AUTHENTICATION"
        ? []
        : ["transit encryption is off"]),
      ...(isTrue(r.props.authEnabled) ? [] : ["AUTH is off"]),
    ],
  },
  {
    name: "azure-managed-redis-tls",
    area: "transit",
    description:
      "Azure Managed Redis accepts TLS 1.2 or later only: the cluster's minimum TLS version and its database's encrypted protocol.",
    severity: "high",
    remediation:
      'Set minimumTlsVersion "1.2" on the cluster and clientProtocol Encrypted on its database.',
    resourceTypes: [
      "azure-native:redisenterprise:RedisEnterprise",
      "azure-native:redisenterprise:Database",
    ],
    check: (r) =>
      r.type === "azure-native:redisenterprise:RedisEnterprise"
        ? ["1.2", "1.3"].includes(String(r.props.minimumTlsVersion))
          ? []
          : [`minimumTlsVersion is ${String(r.props.minimumTlsVersion)}`]
        : r.props.clientProtocol === "Encrypted"
          ? []
          : ["the database accepts plaintext connections"],
  },
  {
    name: "azure-container-apps-peer-encryption",
    area: "transit",
    description: "Traffic between the apps of a Container Apps environment is encrypted.",
    severity: "medium",
    remediation:
      "Set peerTrafficConfiguration.encryption.enabled: true on the managed environment.",
    resourceTypes: ["azure-native:app:ManagedEnvironment"],
    check: (r) =>
      isTrue(get(r.props, "peerTrafficConfiguration.encryption.enabled"))
        ? []
        : ["traffic between apps is unencrypted"],
  },
  {
    name: "gcp-lb-https-only",
    area: "transit",
    description:
      "An external load balancer listens on HTTPS 443 only, with an SSL policy; every SSL policy, global or regional, holds TLS 1.2 or later (MODERN or RESTRICTED).",
    severity: "high",
    remediation:
      "Forward port 443 only to a target HTTPS proxy with an sslPolicy of profile MODERN or RESTRICTED and minTlsVersion TLS_1_2.",
    resourceTypes: [
      "gcp:compute/globalForwardingRule:GlobalForwardingRule",
      "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
      "gcp:compute/sSLPolicy:SSLPolicy",
      "gcp:compute/regionSslPolicy:RegionSslPolicy",
    ],
    check: (r) => {
      switch (r.type) {
        case "gcp:compute/globalForwardingRule:GlobalForwardingRule":
          return ["443", "443-443"].includes(String(r.props.portRange))
            ? []
            : [`forwards port ${String(r.props.portRange)} (only 443)`];
        case "gcp:compute/targetHttpsProxy:TargetHttpsProxy":
          return text(r.props.sslPolicy) ? [] : ["no SSL policy (Google's default admits TLS 1.0)"];
        default:
          return [
            ...(["TLS_1_2", "TLS_1_3"].includes(String(r.props.minTlsVersion))
              ? []
              : [`minTlsVersion is ${String(r.props.minTlsVersion)}`]),
            ...(["MODERN", "RESTRICTED"].includes(String(r.props.profile))
              ? []
              : [`profile is ${String(r.props.profile)}`]),
          ];
      }
    },
  },
];
