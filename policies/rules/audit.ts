/**
 * Enterprise audit on AWS: a trail nobody can quietly edit (validated, multi-region, encrypted,
 * in a bucket under compliance-mode Object Lock), GuardDuty watching the clusters, and the audit
 * logs (the trail's, every cluster's control plane) leaving for the SIEM.
 */
import { get, isFalse, isTrue, referenced, referencing, strings, text } from "./helpers";
import type { ResourceView, Rule, RuleContext } from "./types";

const EKS = "aws:eks/cluster:Cluster";
const TRAIL = "aws:cloudtrail/trail:Trail";
const BUCKET = "aws:s3/bucket:Bucket";
const LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";
const DETECTOR = "aws:guardduty/detector:Detector";
const FEATURE = "aws:guardduty/detectorFeature:DetectorFeature";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

/**
 * Whether a log group's events leave for the SIEM: a subscription filter sends them on (to
 * Firehose, Kinesis or Lambda), or a role reads them (logs:FilterLogEvents on the group, the OTLP
 * forwarder's way). A policy whose document is not known yet (a preview) counts by its reference.
 */
function exported(ctx: RuleContext, group: ResourceView | undefined, name: unknown): boolean {
  const subscribed = ctx.resources.some(
    (f) =>
      f.type === SUBSCRIPTION &&
      text(f.props.destinationArn) !== undefined &&
      ((group && (f.propertyDependencies.logGroup ?? []).includes(group.urn)) ||
        (typeof name === "string" && f.props.logGroup === name)),
  );
  const read =
    group !== undefined &&
    ctx.resources.some((p) => {
      if (p.type !== ROLE_POLICY || !(p.propertyDependencies.policy ?? []).includes(group.urn))
        return false;
      const doc = text(p.props.policy);
      return doc === undefined || !doc.startsWith("{") || doc.includes('"logs:FilterLogEvents"');
    });
  return subscribed || read;
}

function trailProblems(trail: ResourceView, ctx: RuleContext): string[] {
  const problems: string[] = [];
  if (!isTrue(trail.props.enableLogFileValidation)) problems.push("log file validation is off");
  if (!isTrue(trail.props.isMultiRegionTrail)) problems.push("the trail covers one region only");
  if (!text(trail.props.kmsKeyId)) problems.push("log files are not encrypted with a KMS key");
  const bucket = referenced(ctx, trail, "s3BucketName").find((b) => b.type === BUCKET);
  if (!bucket)
    return [...problems, "the trail's bucket is not in the stack, so its lock cannot be shown"];
  if (!isTrue(bucket.props.objectLockEnabled))
    problems.push("the trail's bucket has no Object Lock");
  const locked = referencing(ctx, LOCK, "bucket", bucket).some((l) => {
    const retention = get(l.props, "rule.defaultRetention");
    return (
      get(retention, "mode") === "COMPLIANCE" &&
      (Number(get(retention, "days")) > 0 || Number(get(retention, "years")) > 0)
    );
  });
  if (!locked) problems.push("the trail's bucket has no default retention in COMPLIANCE mode");
  return problems;
}

export const auditRules: Rule[] = [
  {
    name: "aws-cloudtrail-validated-locked",
    area: "logging",
    description:
      "An enterprise stack keeps a multi-region CloudTrail with log file validation and KMS encryption, written to a bucket under Object Lock in compliance mode.",
    severity: "high",
    remediation:
      "Create a multi-region trail (enableLogFileValidation, kmsKeyId) to a bucket created with objectLockEnabled and a COMPLIANCE default retention.",
    resourceTypes: [EKS, TRAIL],
    tiers: ["enterprise"],
    check: (r, ctx) => {
      if (r.type === TRAIL) return trailProblems(r, ctx);
      return ctx.resources.some((t) => t.type === TRAIL)
        ? []
        : ["no CloudTrail records the account's API calls around this cluster"];
    },
  },
  {
    name: "aws-guardduty-eks-protection",
    area: "logging",
    description:
      "GuardDuty is on wherever an enterprise cluster runs, with EKS audit-log monitoring enabled.",
    severity: "high",
    remediation:
      "Create a GuardDuty detector (enable: true) in the cluster's region and a DetectorFeature EKS_AUDIT_LOGS with status ENABLED.",
    resourceTypes: [EKS, DETECTOR],
    tiers: ["enterprise"],
    check: (r, ctx) => {
      if (r.type === DETECTOR) return isFalse(r.props.enable) ? ["the detector is turned off"] : [];
      const detectors = ctx.resources.filter(
        (d) => d.type === DETECTOR && !isFalse(d.props.enable),
      );
      const eks = detectors.filter((d) =>
        referencing(ctx, FEATURE, "detectorId", d).some(
          (f) => f.props.name === "EKS_AUDIT_LOGS" && f.props.status === "ENABLED",
        ),
      );
      const clusters = ctx.resources.filter((c) => c.type === EKS).length;
      if (detectors.length === 0) return ["no GuardDuty detector watches this cluster's account"];
      return eks.length >= clusters
        ? []
        : [`${clusters} cluster(s) but ${eks.length} detector(s) with EKS audit-log monitoring`];
    },
  },
  {
    name: "aws-audit-log-export",
    area: "logging",
    description:
      "The audit logs leave for the SIEM: the trail's CloudWatch Logs copy and every EKS cluster's control-plane log group have a subscription filter to a delivery stream, or a role that reads them for an OTLP SIEM.",
    severity: "high",
    remediation:
      "Send the trail to a CloudWatch Logs group (cloudWatchLogsGroupArn); add a subscription filter on it and on /aws/eks/<cluster>/cluster to the SIEM's Firehose stream, or grant the SIEM forwarder's role logs:FilterLogEvents on both.",
    resourceTypes: [EKS, TRAIL],
    tiers: ["enterprise"],
    check: (r, ctx) => {
      if (r.type === TRAIL) {
        const group = referenced(ctx, r, "cloudWatchLogsGroupArn").find(
          (g) => g.type === LOG_GROUP,
        );
        if (!group) return ["the trail sends no copy to CloudWatch Logs, so nothing can export it"];
        return exported(ctx, group, group.props.name)
          ? []
          : [`the trail's log group ${String(group.props.name)} is not exported`];
      }
      const name = `/aws/eks/${String(r.props.name)}/cluster`;
      const group = ctx.resources.find((g) => g.type === LOG_GROUP && g.props.name === name);
      const problems = strings(r.props.enabledClusterLogTypes).includes("audit")
        ? []
        : ["the cluster does not write its audit log"];
      return exported(ctx, group, name)
        ? problems
        : [...problems, `the cluster's log group ${name} is not exported`];
    },
  },
];
