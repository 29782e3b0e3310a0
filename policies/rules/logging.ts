/**
 * Audit trails: who called what, from where. Load balancer access logs, S3 server access logs,
 * VPC flow logs and the EKS control plane's logs are what an incident review starts from; the
 * Redis engine's own log says when a failover or restart happened. On Azure, the resources that
 * keep data send their logs (Key Vault's audit events, blob reads, writes and deletes, the
 * database's log) to a workspace.
 */
import { AKS_CLUSTER, get, isTrue, list, records, referencing, text } from "./helpers";
import type { ResourceView, Rule, RuleContext } from "./types";

const LB = "aws:lb/loadBalancer:LoadBalancer";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const BUCKET = "aws:s3/bucket:Bucket";
const LOGGING = "aws:s3/bucketLogging:BucketLogging";
const VPC = "aws:ec2/vpc:Vpc";
const FLOW_LOG = "aws:ec2/flowLog:FlowLog";
const EKS = "aws:eks/cluster:Cluster";
const REDIS = "aws:elasticache/replicationGroup:ReplicationGroup";
const DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting";
const STORAGE_ACCOUNT = "azure-native:storage:StorageAccount";
const BLOB_SERVICE = "azure-native:storage:BlobServiceProperties";

/**
 * Diagnostic settings that send a resource's logs somewhere (a workspace, a storage account, an
 * event hub): any enabled log, or one `wanted` accepts.
 */
function logsSentFor(
  target: ResourceView,
  ctx: RuleContext,
  wanted: (log: Record<string, unknown>) => boolean = () => true,
): boolean {
  return referencing(ctx, DIAGNOSTICS, "resourceUri", target).some(
    (d) =>
      (text(d.props.workspaceId) ||
        text(d.props.storageAccountId) ||
        text(d.props.eventHubAuthorizationRuleId)) &&
      records(d.props.logs).some((l) => isTrue(l.enabled) && wanted(l)),
  );
}

/** The logs ElastiCache delivers for Redis: slow commands, and the engine's own events. */
const REDIS_LOG_TYPES = ["slow-log", "engine-log"];

/**
 * The control-plane log types EKS offers; all of them are needed to reconstruct an incident. (The
 * pack stays independent of the program, so this is the standard, not components' CONTROL_PLANE_LOGS.)
 */
const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

/** `key=value,key=value` as the AWS Load Balancer Controller reads its attributes annotation. */
function attributes(value: unknown): Map<string, string> {
  return new Map(
    (text(value) ?? "")
      .split(",")
      .map((pair) => pair.split("=").map((s) => s.trim()))
      .filter((kv): kv is [string, string] => kv.length === 2),
  );
}

function annotationsOf(r: ResourceView): Record<string, unknown> {
  return (get(r.props, "metadata.annotations") ?? {}) as Record<string, unknown>;
}

/** An Ingress the AWS Load Balancer Controller turns into an Application Load Balancer. */
function isAlbIngress(r: ResourceView): boolean {
  return (
    get(r.props, "spec.ingressClassName") === "alb" ||
    annotationsOf(r)["kubernetes.io/ingress.class"] === "alb"
  );
}

export const loggingRules: Rule[] = [
  {
    name: "aws-alb-access-logs",
    area: "logging",
    description:
      "Application Load Balancers, including those the AWS Load Balancer Controller creates for an Ingress, write access logs to S3.",
    severity: "medium",
    remediation:
      "Set accessLogs { enabled: true, bucket } (an Ingress: access_logs.s3.enabled=true and access_logs.s3.bucket in alb.ingress.kubernetes.io/load-balancer-attributes).",
    checkov: "CKV_AWS_91",
    resourceTypes: [LB, INGRESS],
    check: (r) => {
      if (r.type === INGRESS) {
        if (!isAlbIngress(r)) return [];
        const attrs = attributes(
          annotationsOf(r)["alb.ingress.kubernetes.io/load-balancer-attributes"],
        );
        return attrs.get("access_logs.s3.enabled") === "true" && attrs.get("access_logs.s3.bucket")
          ? []
          : ["the ALB's load-balancer-attributes do not turn on access_logs.s3 with a bucket"];
      }
      if ((text(r.props.loadBalancerType) ?? "application") !== "application") return [];
      return isTrue(get(r.props, "accessLogs.enabled")) && text(get(r.props, "accessLogs.bucket"))
        ? []
        : ["access logs are not enabled to a bucket"];
    },
  },
  {
    name: "aws-s3-access-logging",
    area: "logging",
    description: "Every bucket but a log bucket records server access logs in another bucket.",
    severity: "low",
    remediation: "Add an aws.s3.BucketLogging with a targetBucket (a log bucket of its own).",
    checkov: "CKV_AWS_18",
    tfsec: "aws-s3-enable-bucket-logging",
    resourceTypes: [BUCKET],
    check: (r, ctx) => {
      if (referencing(ctx, LOGGING, "targetBucket", r).length > 0) return []; // the log bucket itself
      return referencing(ctx, LOGGING, "bucket", r).length > 0 ? [] : ["no server access logging"];
    },
  },
  {
    name: "aws-vpc-flow-logs",
    area: "logging",
    description:
      "Every VPC the stack creates records its accepted and rejected traffic in flow logs.",
    severity: "medium",
    remediation: "Add an aws.ec2.FlowLog on the VPC with trafficType ALL.",
    checkov: "CKV2_AWS_11",
    tfsec: "aws-ec2-require-vpc-flow-logs-for-all-vpcs",
    resourceTypes: [VPC],
    check: (r, ctx) => {
      const flowLogs = referencing(ctx, FLOW_LOG, "vpcId", r);
      if (flowLogs.length === 0) return ["no flow log"];
      return flowLogs.some((f) => f.props.trafficType === "ALL")
        ? []
        : ["flow logs record only part of the traffic (trafficType is not ALL)"];
    },
  },
  {
    name: "aws-ecs-container-insights",
    area: "logging",
    description:
      "ECS clusters collect Container Insights metrics (per task and service), what an incident review on Fargate reads.",
    severity: "low",
    remediation: 'Set settings [{ name: "containerInsights", value: "enhanced" }] (or "enabled").',
    checkov: "CKV_AWS_65",
    resourceTypes: ["aws:ecs/cluster:Cluster"],
    check: (r) => {
      const value = list(r.props.settings).find((s) => get(s, "name") === "containerInsights");
      return ["enabled", "enhanced"].includes(String(get(value, "value")))
        ? []
        : ["Container Insights is not enabled"];
    },
  },
  {
    name: "aws-elasticache-logs",
    area: "logging",
    description:
      "Redis replication groups deliver their slow log and engine log (failovers, restarts, replication) to CloudWatch Logs or Firehose.",
    severity: "low",
    remediation:
      'Add logDeliveryConfigurations for logType "slow-log" and "engine-log" (destinationType "cloudwatch-logs", a log group each).',
    resourceTypes: [REDIS],
    check: (r) => {
      const delivered = list(r.props.logDeliveryConfigurations).map((c) => get(c, "logType"));
      const missing = REDIS_LOG_TYPES.filter((t) => !delivered.includes(t));
      return missing.length === 0 ? [] : [`Redis logs not delivered: ${missing.join(", ")}`];
    },
  },
  {
    name: "aws-eks-control-plane-logs",
    area: "logging",
    description:
      "An EKS cluster sends every control-plane log type (api, audit, authenticator, controllerManager, scheduler) to CloudWatch.",
    severity: "medium",
    remediation: `Set enabledClusterLogTypes to ${JSON.stringify(EKS_LOG_TYPES)}.`,
    checkov: "CKV_AWS_37",
    tfsec: "aws-eks-enable-control-plane-logging",
    resourceTypes: [EKS],
    check: (r) => {
      const enabled = list(r.props.enabledClusterLogTypes);
      const missing = EKS_LOG_TYPES.filter((t) => !enabled.includes(t));
      return missing.length === 0
        ? []
        : [`control-plane log types not enabled: ${missing.join(", ")}`];
    },
  },
  {
    name: "azure-data-logged",
    area: "logging",
    description:
      "Azure resources that keep data send their logs to a workspace: Key Vault's audit events, every blob read, write and delete, PostgreSQL's server log.",
    severity: "medium",
    remediation:
      "Add a monitor.DiagnosticSetting on the vault, the account's blob service (or the account) and the server, with logs enabled, to a Log Analytics workspace.",
    resourceTypes: [
      "azure-native:keyvault:Vault",
      STORAGE_ACCOUNT,
      "azure-native:dbforpostgresql:Server",
      DIAGNOSTICS,
    ],
    check: (r, ctx) => {
      if (r.type === DIAGNOSTICS) return [];
      const targets =
        r.type === STORAGE_ACCOUNT ? [r, ...referencing(ctx, BLOB_SERVICE, "accountName", r)] : [r];
      return targets.some((t) => logsSentFor(t, ctx))
        ? []
        : ["its logs go nowhere (no diagnostic setting)"];
    },
  },
  {
    name: "azure-aks-audit-logged",
    area: "logging",
    description:
      "An AKS cluster sends its API server's audit log (kube-audit or kube-audit-admin) to a workspace.",
    severity: "medium",
    remediation:
      "Add a monitor.DiagnosticSetting on the cluster with the kube-audit-admin (or kube-audit) category, or the audit group, enabled.",
    checkov: "CKV_AZURE_4",
    resourceTypes: [AKS_CLUSTER, DIAGNOSTICS],
    check: (r, ctx) => {
      if (r.type === DIAGNOSTICS) return [];
      const audited = logsSentFor(
        r,
        ctx,
        (l) =>
          ["kube-audit", "kube-audit-admin"].includes(String(l.category)) ||
          ["audit", "allLogs"].includes(String(l.categoryGroup)),
      );
      return audited ? [] : ["the API server's audit log goes nowhere"];
    },
  },
  {
    name: "gcp-flow-and-request-logs",
    area: "logging",
    description:
      "Every subnet records VPC flow logs (a load balancer's proxy-only subnet cannot), and every load balancer backend logs its requests.",
    severity: "medium",
    remediation:
      "Set logConfig on each subnetwork (aggregationInterval, flowSampling) and logConfig.enable on each backend service.",
    checkov: "CKV_GCP_26",
    resourceTypes: [
      "gcp:compute/subnetwork:Subnetwork",
      "gcp:compute/backendService:BackendService",
    ],
    check: (r) =>
      r.type === "gcp:compute/subnetwork:Subnetwork"
        ? // A proxy-only subnet takes no flow logs: its load balancer's backend logs the requests.
          get(r.props, "logConfig") !== undefined ||
          ["REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY"].includes(String(r.props.purpose))
          ? []
          : ["no flow logs"]
        : isTrue(get(r.props, "logConfig.enable"))
          ? []
          : ["requests are not logged"],
  },
  {
    name: "gcp-data-logged",
    area: "logging",
    description:
      "Who reads and writes documents is recorded (Data Access audit logs for Cloud Storage), and Cloud SQL logs connections, disconnections and lock waits.",
    severity: "medium",
    remediation:
      "Add a projects.IAMAuditConfig for storage.googleapis.com with DATA_READ and DATA_WRITE; set the log_connections, log_disconnections and log_lock_waits flags on.",
    resourceTypes: [
      "gcp:storage/bucket:Bucket",
      "gcp:sql/databaseInstance:DatabaseInstance",
      "gcp:projects/iAMAuditConfig:IAMAuditConfig",
    ],
    check: (r, ctx) => {
      if (r.type === "gcp:projects/iAMAuditConfig:IAMAuditConfig") return [];
      if (r.type === "gcp:storage/bucket:Bucket") {
        const audited = ctx.resources.some(
          (a) =>
            a.type === "gcp:projects/iAMAuditConfig:IAMAuditConfig" &&
            a.props.service === "storage.googleapis.com" &&
            ["DATA_READ", "DATA_WRITE"].every((t) =>
              records(a.props.auditLogConfigs).some((c) => c.logType === t),
            ),
        );
        return audited
          ? []
          : [
              "reads and writes of its objects are not audited (no Data Access logs for Cloud Storage)",
            ];
      }
      const flags = Object.fromEntries(
        records(get(r.props, "settings.databaseFlags")).map((f) => [
          String(f.name),
          String(f.value),
        ]),
      );
      return ["log_connections", "log_disconnections", "log_lock_waits"]
        .filter((f) => flags[f] !== "on")
        .map((f) => `${f} is not on`);
    },
  },
];
