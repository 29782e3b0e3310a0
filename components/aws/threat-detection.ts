/**
 * A region's detection: GuardDuty with EKS protection (the clusters' audit logs and the runtime
 * agent on their nodes) and S3 protection, Security Hub with AWS's foundational standard, and
 * Macie classifying the document buckets on a schedule (its findings reach Security Hub, and from
 * there the SIEM). These services are regional: one per enterprise region.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsAccount } from "./account";

/** The GuardDuty features turned on, EKS's first (names as the GuardDuty API spells them). */
export const GUARDDUTY_FEATURES = [
  { name: "EKS_AUDIT_LOGS" },
  {
    name: "RUNTIME_MONITORING",
    // GuardDuty installs and updates its agent as an EKS add-on on every cluster.
    additionalConfigurations: [{ name: "EKS_ADDON_MANAGEMENT", status: "ENABLED" }],
  },
  { name: "S3_DATA_EVENTS" },
] as const;

export const MACIE_SCHEDULES = ["daily", "weekly", "monthly"] as const;
export type MacieSchedule = (typeof MACIE_SCHEDULES)[number];

export interface ThreatDetectionArgs {
  readonly account: AwsAccount;
  /** The buckets Macie classifies (names). */
  readonly classifiedBuckets: readonly pulumi.Input<string>[];
  /** How often Macie's job runs. @default "weekly" */
  readonly classificationSchedule?: MacieSchedule;
  /** Share of objects Macie samples each run, in percent. @default 100 */
  readonly samplingPercent?: number;
}

function schedule(s: MacieSchedule): aws.types.input.macie2.ClassificationJobScheduleFrequency {
  switch (s) {
    case "daily":
      return { dailySchedule: true };
    case "weekly":
      return { weeklySchedule: "MONDAY" };
    case "monthly":
      return { monthlySchedule: 1 };
    default: {
      const unreachable: never = s;
      throw new Error(`unknown Macie schedule ${String(unreachable)}`);
    }
  }
}

export class ThreatDetection extends pulumi.ComponentResource {
  readonly detectorId: pulumi.Output<string>;

  constructor(name: string, args: ThreatDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:ThreatDetection", name, {}, opts);
    const parent = { parent: this };
    const sampling = args.samplingPercent ?? 100;
    if (!Number.isInteger(sampling) || sampling < 1 || sampling > 100)
      throw new Error(`${name}: samplingPercent must be 1-100, got ${sampling}`);
    const detector = new aws.guardduty.Detector(
      name,
      { enable: true, findingPublishingFrequency: "FIFTEEN_MINUTES" },
      parent,
    );
    for (const feature of GUARDDUTY_FEATURES)
      new aws.guardduty.DetectorFeature(
        `${name}-${feature.name.toLowerCase().replaceAll("_", "-")}`,
        {
          detectorId: detector.id,
          name: feature.name,
          status: "ENABLED",
          ...("additionalConfigurations" in feature
            ? { additionalConfigurations: feature.additionalConfigurations.map((c) => ({ ...c })) }
            : {}),
        },
        parent,
      );

    const hub = new aws.securityhub.Account(
      name,
      { enableDefaultStandards: false, autoEnableControls: true },
      parent,
    );
    const { partition, region } = args.account;
    new aws.securityhub.StandardsSubscription(
      `${name}-foundational`,
      {
        standardsArn: pulumi.interpolate`arn:${partition}:securityhub:${region}::standards/aws-foundational-security-best-practices/v/1.0.0`,
      },
      { parent: this, dependsOn: [hub] },
    );

    const macie = new aws.macie2.Account(
      name,
      { findingPublishingFrequency: "FIFTEEN_MINUTES", status: "ENABLED" },
      parent,
    );
    if (args.classifiedBuckets.length > 0)
      new aws.macie2.ClassificationJob(
        `${name}-documents`,
        {
          jobType: "SCHEDULED",
          scheduleFrequency: schedule(args.classificationSchedule ?? "weekly"),
          samplingPercentage: sampling,
          description: "Sensitive data (PII, credentials, financial data) in the documents",
          s3JobDefinition: {
            bucketDefinitions: [
              { accountId: args.account.accountId, buckets: [...args.classifiedBuckets] },
            ],
          },
        },
        { parent: this, dependsOn: [macie] },
      );
    this.detectorId = detector.id;
    this.registerOutputs({ detectorId: this.detectorId });
  }
}
