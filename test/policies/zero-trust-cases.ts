/**
 * Compliant and violating cases for the enterprise zero-trust, delivery and audit rules.
 */
import type { ResourceView } from "../../policies/rules/types";
import type { RuleCase } from "./cases";
import { res } from "./fixtures";

const EKS = "aws:eks/cluster:Cluster";
const PA = "kubernetes:security.istio.io/v1:PeerAuthentication";
const AP = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const cluster = () => res(EKS, { name: "rag", enabledClusterLogTypes: ["api", "audit"] });
const peerAuth = (namespace: string, mode: string, selector?: Record<string, string>) =>
  res(PA, {
    metadata: { name: "default", namespace },
    spec: { mtls: { mode }, ...(selector ? { selector: { matchLabels: selector } } : {}) },
  });
const ns = (name: string) => res("kubernetes:core/v1:Namespace", { metadata: { name } });
const authz = (namespace: string, spec: unknown) =>
  res(AP, { metadata: { name: "p", namespace }, spec });

const API = { "app.kubernetes.io/name": "rag-api" };
const serviceNamed = (name: string) =>
  res("kubernetes:core/v1:Service", {
    metadata: { name, namespace: "rag" },
    spec: { selector: API },
  });
const service = serviceNamed("rag-api");
const halves = [serviceNamed("rag-api-stable"), serviceNamed("rag-api-canary")];
const ingress = res("kubernetes:networking.k8s.io/v1:Ingress", {
  metadata: { name: "rag-api", namespace: "rag" },
  spec: {
    rules: [{ http: { paths: [{ path: "/", backend: { service: { name: "rag-api" } } }] } }],
  },
});
const rollout = (strategy: unknown, labels: Record<string, string> = API) =>
  res("kubernetes:argoproj.io/v1alpha1:Rollout", {
    metadata: { name: "rag-api", namespace: "rag" },
    spec: { selector: { matchLabels: labels }, strategy },
  });
const ROUTED = {
  canaryService: "rag-api-canary",
  stableService: "rag-api-stable",
  trafficRouting: { alb: { ingress: "rag-api", rootService: "rag-api", servicePort: 80 } },
};
const CANARY = {
  canary: {
    ...ROUTED,
    steps: [{ setWeight: 5 }],
    analysis: { templates: [{ templateName: "slo" }] },
  },
};

/** A trail, its bucket with or without the lock, its log group, and the export, as wanted. */
function trail(o: {
  validation?: boolean;
  lockMode?: string;
  objectLock?: boolean;
  /** true: a subscription filter; "read": a role reading it (OTLP); "written": a role writing it only. */
  exported?: boolean | "read" | "written";
  multiRegion?: boolean;
}): ResourceView[] {
  const bucket = res("aws:s3/bucket:Bucket", { objectLockEnabled: o.objectLock ?? true });
  const lock = res(
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    { bucket: "b", rule: { defaultRetention: { mode: o.lockMode ?? "COMPLIANCE", days: 2555 } } },
    { bucket: [bucket] },
  );
  const group = res("aws:cloudwatch/logGroup:LogGroup", { name: "/rag/audit/trail" });
  const t = res(
    "aws:cloudtrail/trail:Trail",
    {
      enableLogFileValidation: o.validation ?? true,
      isMultiRegionTrail: o.multiRegion ?? true,
      kmsKeyId: "arn:aws:kms:eu-west-1:1:key/k",
      s3BucketName: "b",
      cloudWatchLogsGroupArn: "arn:aws:logs:eu-west-1:1:log-group:/rag/audit/trail:*",
    },
    { s3BucketName: [bucket], cloudWatchLogsGroupArn: [group] },
  );
  const exported = o.exported ?? true;
  const filters =
    exported === true
      ? [
          res(
            "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
            { logGroup: "/rag/audit/trail", destinationArn: "arn:aws:firehose:eu-west-1:1:x" },
            { logGroup: [group] },
          ),
        ]
      : exported === "read" || exported === "written"
        ? [roleOn(group, exported === "read" ? "logs:FilterLogEvents" : "logs:PutLogEvents")]
        : [];
  return [bucket, lock, group, t, ...filters];
}
/** A role's inline policy granting `action` on `group`. */
function roleOn(group: ResourceView, action: string): ResourceView {
  return res(
    "aws:iam/rolePolicy:RolePolicy",
    {
      role: "forwarder",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: action, Resource: "arn:aws:logs:eu-west-1:1:log-group:g" },
        ],
      }),
    },
    { policy: [group] },
  );
}
const eksGroup = res("aws:cloudwatch/logGroup:LogGroup", { name: "/aws/eks/rag/cluster" });
/** The OTLP way: the forwarder's role reads the cluster's log group. */
const eksRead = [eksGroup, roleOn(eksGroup, "logs:FilterLogEvents")];
const eksExport = res("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", {
  logGroup: "/aws/eks/rag/cluster",
  destinationArn: "arn:aws:firehose:eu-west-1:1:x",
});
const detector = (enable = true, eksAudit = true) => {
  const d = res("aws:guardduty/detector:Detector", { enable });
  return [
    d,
    res(
      "aws:guardduty/detectorFeature:DetectorFeature",
      { name: eksAudit ? "EKS_AUDIT_LOGS" : "S3_DATA_EVENTS", status: "ENABLED", detectorId: "d" },
      { detectorId: [d] },
    ),
  ];
};

export const ZERO_TRUST_CASES: Record<string, RuleCase> = {
  "mesh-strict-mtls": {
    compliant: [cluster(), peerAuth("istio-system", "STRICT"), peerAuth("rag", "STRICT", API)],
    violating: {
      "no mesh-wide policy": [cluster()],
      "mesh-wide PERMISSIVE": [cluster(), peerAuth("istio-system", "PERMISSIVE")],
      "two clusters, one mesh policy": [cluster(), cluster(), peerAuth("istio-system", "STRICT")],
      "a namespace turned down": [
        cluster(),
        peerAuth("istio-system", "STRICT"),
        peerAuth("rag", "DISABLE"),
      ],
    },
  },
  "mesh-namespace-default-deny": {
    compliant: [ns("rag"), authz("rag", {}), authz("rag", { selector: { matchLabels: API } })],
    violating: {
      "no policy": [ns("rag")],
      "only an ALLOW with rules": [ns("rag"), authz("rag", { rules: [{ from: [] }] })],
      "deny in another namespace": [ns("rag"), authz("observability", {})],
    },
  },
  "k8s-exposed-service-rollout-analysis": {
    compliant: [
      ingress,
      service,
      ...halves,
      rollout(CANARY),
      rollout({ blueGreen: { prePromotionAnalysis: { templates: [{ templateName: "w" }] } } }),
    ],
    violating: {
      "no Rollout": [ingress, service],
      "a canary without analysis": [
        ingress,
        service,
        ...halves,
        rollout({ canary: { ...ROUTED, steps: [] } }),
      ],
      "a Rollout of other pods": [ingress, service, ...halves, rollout(CANARY, { app: "other" })],
      "blue/green without analysis": [ingress, service, rollout({ blueGreen: {} })],
      "a canary split by pod count (no trafficRouting)": [
        ingress,
        service,
        ...halves,
        rollout({ canary: { ...CANARY.canary, trafficRouting: undefined } }),
      ],
      "a routed canary without its canary Service": [ingress, service, halves[0]!, rollout(CANARY)],
      "a routed canary naming no stableService": [
        ingress,
        service,
        ...halves,
        rollout({ canary: { ...CANARY.canary, stableService: undefined } }),
      ],
    },
  },
  "aws-cloudtrail-validated-locked": {
    compliant: [cluster(), ...trail({})],
    violating: {
      "no trail": [cluster()],
      "no validation": trail({ validation: false }),
      "single region": trail({ multiRegion: false }),
      "governance mode": trail({ lockMode: "GOVERNANCE" }),
      "no Object Lock": trail({ objectLock: false }),
    },
  },
  "aws-guardduty-eks-protection": {
    compliant: [cluster(), ...detector()],
    violating: {
      "no detector": [cluster()],
      "detector off": [cluster(), ...detector(false)],
      "no EKS audit-log monitoring": [cluster(), ...detector(true, false)],
    },
  },
  "aws-audit-log-export": {
    compliant: [cluster(), eksExport, ...trail({})],
    compliantAlso: {
      "read by the OTLP forwarder": [cluster(), ...eksRead, ...trail({ exported: "read" })],
    },
    violating: {
      "trail not exported": [cluster(), eksExport, ...trail({ exported: false })],
      "trail only written by a role": [cluster(), ...eksRead, ...trail({ exported: "written" })],
      "cluster group only written by a role": [
        cluster(),
        eksGroup,
        roleOn(eksGroup, "logs:PutLogEvents"),
        ...trail({ exported: "read" }),
      ],
      "cluster not exported": [cluster(), ...trail({})],
      "no audit log written": [
        res(EKS, { name: "rag", enabledClusterLogTypes: ["api"] }),
        eksExport,
        ...trail({}),
      ],
    },
  },
};
