/**
 * The audit trail, the regional detection and the SIEM export, as they reach AWS: what each
 * resource is sent, and that every role they create names its actions and resources.
 */
import * as aws from "@pulumi/aws";
import { beforeAll, describe, expect, it } from "vitest";
import { lookupAccount } from "../components/aws/account";
import { AuditTrail } from "../components/aws/audit";
import { KmsKey } from "../components/aws/kms-key";
import { SiemExport } from "../components/aws/siem-export";
import { ThreatDetection } from "../components/aws/threat-detection";
import { synthesize, type ResourceRecord } from "../tools/harness";
import { dbUsersOf, isWildcardResource, rolePermissions, wildcardsIn } from "./identity";

describe("audit and SIEM components", () => {
  let resources: ResourceRecord[];
  beforeAll(async () => {
    const result = await synthesize({
      stack: "enterprise",
      program: async () => {
        const provider = new aws.Provider("euw1", { region: "eu-west-1" });
        const account = lookupAccount("eu-west-1", provider);
        const opts = { providers: [provider] };
        const trail = new AuditTrail(
          "audit",
          { account, retentionDays: 2555, dataEventBucketArns: ["arn:aws:s3:::docs"] },
          opts,
        );
        new ThreatDetection(
          "detect",
          { account, classifiedBuckets: ["docs"], classificationSchedule: "daily" },
          opts,
        );
        const key = new KmsKey("siem-key", { account, description: "siem" }, opts);
        new SiemExport(
          "siem",
          {
            account,
            kmsKey: key,
            credential: {
              arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:siem-AbCdEf",
              keyArn: "arn:aws:kms:eu-west-1:123456789012:key/data",
            },
            destination: { kind: "splunk", hecEndpoint: "https://splunk.example.com:8088" },
            logGroups: [
              { id: "trail", name: trail.logGroupName },
              { id: "eks", name: "/aws/eks/rag/cluster" },
            ],
          },
          opts,
        );
        return {};
      },
    });
    resources = result.resources;
  }, 60_000);

  const one = (type: string, name?: string) => {
    const found = resources.filter((r) => r.type === type && (!name || r.name === name));
    expect(found, `${type} ${name ?? ""}`).toHaveLength(1);
    return found[0]!.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it("keeps a multi-region, validated, encrypted trail of management and document events", () => {
    const trail = one("aws:cloudtrail/trail:Trail");
    expect(trail).toMatchObject({
      isMultiRegionTrail: true,
      enableLogFileValidation: true,
      includeGlobalServiceEvents: true,
    });
    expect(trail.kmsKeyId).toBeTruthy();
    expect(trail.cloudWatchLogsGroupArn).toMatch(/:\*$/);
    const data = trail.advancedEventSelectors[1].fieldSelectors;
    expect(data).toContainEqual({ field: "resources.ARN", startsWiths: ["arn:aws:s3:::docs/"] });
  });

  it("locks the trail's bucket in compliance mode for the retention, and expires it after", () => {
    expect(one("aws:s3/bucket:Bucket", "audit").objectLockEnabled).toBe(true);
    expect(one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")).toMatchObject(
      {
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: "COMPLIANCE", days: 2555 } },
      },
    );
    const lifecycle = one(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "audit",
    );
    expect(lifecycle.rules[0].expiration).toEqual({ days: 2555 });
    const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy", "audit").policy);
    expect(policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      "DenyInsecureTransport",
      "DenyOutdatedTls",
      "CloudTrailChecksAcl",
      "CloudTrailWrites",
    ]);
  });

  it("refuses a retention Object Lock cannot hold", () => {
    expect(
      () =>
        new AuditTrail("bad", {
          account: { accountId: {} as never, partition: {} as never, region: "eu-west-1" },
          retentionDays: 0,
          dataEventBucketArns: [],
        }),
    ).toThrow("bad: retentionDays must be a whole number of days from 1 to 36500, got 0");
  });

  it("turns on GuardDuty's EKS audit-log and runtime protection, Security Hub and Macie's job", () => {
    expect(one("aws:guardduty/detector:Detector").enable).toBe(true);
    const features = resources
      .filter((r) => r.type === "aws:guardduty/detectorFeature:DetectorFeature")
      .map((r) => [r.inputs.name, r.inputs.status])
      .sort();
    expect(features).toEqual([
      ["EKS_AUDIT_LOGS", "ENABLED"],
      ["RUNTIME_MONITORING", "ENABLED"],
      ["S3_DATA_EVENTS", "ENABLED"],
    ]);
    expect(
      one("aws:securityhub/standardsSubscription:StandardsSubscription").standardsArn,
    ).toContain("aws-foundational-security-best-practices");
    expect(one("aws:macie2/classificationJob:ClassificationJob")).toMatchObject({
      jobType: "SCHEDULED",
      scheduleFrequency: { dailySchedule: true },
      s3JobDefinition: { bucketDefinitions: [{ buckets: ["docs"] }] },
    });
  });

  it("exports the logs and the findings to Splunk through Firehose, its token in Secrets Manager", () => {
    const stream = one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream");
    expect(stream.destination).toBe("splunk");
    expect(stream.splunkConfiguration.hecEndpoint).toBe("https://splunk.example.com:8088");
    expect(stream.splunkConfiguration.hecToken).toBeUndefined();
    expect(stream.splunkConfiguration.secretsManagerConfiguration.enabled).toBe(true);
    const filters = resources.filter(
      (r) => r.type === "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
    );
    expect(filters.map((f) => f.inputs.logGroup).sort()).toEqual([
      "/aws/eks/rag/cluster",
      "/rag/audit/audit",
    ]);
    const rule = one("aws:cloudwatch/eventRule:EventRule");
    expect(JSON.parse(rule.eventPattern)).toEqual({
      source: ["aws.guardduty", "aws.securityhub", "aws.macie"],
    });
  });

  it("refuses a SIEM endpoint that is not https", () => {
    expect(
      () =>
        new SiemExport("bad", {
          account: { accountId: {} as never, partition: {} as never, region: "eu-west-1" },
          kmsKey: {} as never,
          credential: { arn: "", keyArn: "" },
          destination: { kind: "http", name: "elastic", url: "http://elastic:9200" },
          logGroups: [],
        }),
    ).toThrow('bad: the SIEM endpoint must be an https URL, got "http://elastic:9200"');
  });

  it("gives every role it creates named actions on named resources", () => {
    const roles = rolePermissions(resources);
    expect(roles.map((r) => r.role).sort()).toEqual([
      "audit-to-logs",
      "siem-firehose",
      "siem-from-events",
      "siem-from-logs",
    ]);
    for (const r of roles) expect(wildcardsIn(r), r.role).toEqual([]);
  });

  it("reads a resource as scoped only when service, region, account and a named prefix are", () => {
    expect(
      [
        "*",
        "arn:aws:s3:::*",
        "arn:aws:iam::*:role/x",
        "arn:aws:s3:::docs/*",
        "arn:aws:logs:eu-west-1:1:log-group:/rag/audit:*",
        "arn:aws:secretsmanager:eu-west-1:1:secret:rag-*",
      ].map(isWildcardResource),
    ).toEqual([true, true, true, false, false, false]);
  });

  it("reads rds-db:connect as scoped only on one database user of one cluster or instance", () => {
    const connect = (...resources: string[]) => ({
      role: "r",
      managedPolicies: [],
      statements: [{ Effect: "Allow", Action: "rds-db:connect", Resource: resources }],
    });
    const arn = "arn:aws:rds-db:eu-west-1:123456789012:dbuser";
    expect(wildcardsIn(connect(`${arn}:cluster-ABC123/rag_runtime`))).toEqual([]);
    expect(wildcardsIn(connect(`${arn}:db-ABC123/rag_ingest_index`))).toEqual([]);
    expect(dbUsersOf(connect(`${arn}:db-ABC123/rag_api`))).toEqual([`${arn}:db-ABC123/rag_api`]);
    expect(
      wildcardsIn(
        connect(`${arn}:cluster-ABC123/*`, `${arn}:cluster-ABC123/rag_*`, `${arn}:*/rag_api`),
      ),
    ).toEqual([
      `resource ${arn}:*/rag_api`,
      `resource ${arn}:cluster-ABC123/*: not one database user`,
      `resource ${arn}:cluster-ABC123/rag_*: not one database user`,
    ]);
  });
});
