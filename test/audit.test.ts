/**
 * The audit trail, the regional detection and the SIEM export, as they reach AWS: what each
 * resource is sent, and that every role they create names its actions and resources.
 */
import * as aws from "@pulumi/aws";
import { beforeAll, describe, expect, it } from "vitest";
import { lookupAccount } from "../components/aws/account";
import { AuditTrail } from "../components/aws/audit";
import { KmsKey } from "../components/aws/kms-key";
import { FindingsLog } from "../components/aws/findings-log";
import {
  SIEM_STREAM_INDEXES,
  SIEM_STREAMS,
  SiemExport,
  type SiemDestination,
} from "../components/aws/siem-export";
import { ThreatDetection } from "../components/aws/threat-detection";
import { synthesize, type ResourceRecord } from "../tools/harness";
import { dbUsersOf, isWildcardResource, rolePermissions, wildcardsIn } from "./identity";

const FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream";
const SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";

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
        const findings = new FindingsLog("findings", { kmsKey: key, retentionDays: 30 }, opts);
        const groups = {
          cloudtrail: trail.logGroupName,
          "eks-audit": "/aws/eks/rag/cluster",
          findings: findings.logGroupName,
          "runtime-audit": "/rag/audit/runtime",
        } as const;
        const secret = (id: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}`;
        const exportTo = (
          name: string,
          destination: SiemDestination,
          credential: (s: string) => string,
        ) =>
          new SiemExport(
            name,
            {
              account,
              kmsKey: key,
              credentialKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/data",
              destination,
              sources: SIEM_STREAMS.map((stream) => ({
                stream,
                logGroupName: groups[stream],
                credentialArn: credential(stream),
              })),
            },
            opts,
          );
        exportTo(
          "siem",
          { kind: "splunk", hecEndpoint: "https://splunk.example.com:8088" },
          (stream) => secret(`hec-${stream}`),
        );
        exportTo(
          "elastic",
          { kind: "http", name: "Elastic", url: "https://elastic.example.com/firehose" },
          () => secret("elastic-key"),
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

  const firehose = (name: string) => one(FIREHOSE, name);
  /** The delivery stream a log group's subscription filter sends to. */
  const subscribedStream = (exportName: string, stream: string) => {
    const filter = resources.find(
      (r) => r.type === SUBSCRIPTION && r.name === `${exportName}-${stream}`,
    )!;
    const target = resources.find(
      (r) => r.type === FIREHOSE && r.name === `${exportName}-${stream}`,
    )!;
    expect(filter.propertyDependencies.destinationArn, stream).toEqual([target.urn]);
    return filter;
  };

  it("delivers each stream to Splunk on a Firehose stream of its own, with its own HEC token from Secrets Manager", () => {
    for (const stream of SIEM_STREAMS) {
      const splunk = firehose(`siem-${stream}`).splunkConfiguration;
      expect(splunk.hecEndpoint).toBe("https://splunk.example.com:8088");
      // The token's defaults are the stream's index and sourcetype: one token per stream.
      expect(splunk.hecToken).toBeUndefined();
      expect(splunk.secretsManagerConfiguration).toMatchObject({
        enabled: true,
        secretArn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:hec-${stream}`,
      });
      expect(splunk.hecEndpointType).toBe("Raw");
      expect(
        splunk.processingConfiguration.processors.map((p: { type: string }) => p.type),
      ).toEqual(["Decompression", "CloudWatchLogProcessing"]);
      expect(splunk.s3Configuration.prefix).toBe(`${stream}/`);
      subscribedStream("siem", stream);
    }
    const filters = resources.filter((r) => r.type === SUBSCRIPTION && r.name.startsWith("siem-"));
    expect(filters.map((f) => f.inputs.logGroup).sort()).toEqual([
      "/aws/eks/rag/cluster",
      "/aws/events/rag/findings",
      "/rag/audit/audit",
      "/rag/audit/runtime",
    ]);
  });

  it("delivers each stream to an HTTP endpoint on its own Firehose stream, naming its own Elastic data stream", () => {
    const dataStreams = SIEM_STREAMS.map((stream) => {
      const http = firehose(`elastic-${stream}`).httpEndpointConfiguration;
      expect(http.url).toBe("https://elastic.example.com/firehose");
      expect(http.secretsManagerConfiguration.secretArn).toMatch(/:secret:elastic-key$/);
      subscribedStream("elastic", stream);
      const [attribute] = http.requestConfiguration.commonAttributes;
      expect(attribute.name).toBe("es_datastream_name");
      expect(attribute.value).toBe(SIEM_STREAM_INDEXES[stream].dataStream);
      return attribute.value as string;
    });
    expect(new Set(dataStreams).size).toBe(SIEM_STREAMS.length);
    for (const d of dataStreams) expect(d).toMatch(/^logs-[a-z0-9_.]+-default$/);
  });

  it("takes every GuardDuty, Security Hub and Macie finding into a log group of its own", () => {
    const rule = one("aws:cloudwatch/eventRule:EventRule", "findings");
    expect(JSON.parse(rule.eventPattern)).toEqual({
      source: ["aws.guardduty", "aws.securityhub", "aws.macie"],
    });
    const group = resources.find((r) => r.type === LOG_GROUP && r.name === "findings")!;
    expect(group.inputs.name).toBe("/aws/events/rag/findings");
    expect(group.inputs.kmsKeyId).toBeTruthy();
    const target = resources.find(
      (r) => r.type === "aws:cloudwatch/eventTarget:EventTarget" && r.name === "findings",
    )!;
    expect(target.propertyDependencies.arn).toEqual([group.urn]);
    const policy = JSON.parse(
      one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy").policyDocument,
    );
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${String(target.inputs.arn)}:*`,
      }),
    ]);
  });

  it("refuses a SIEM endpoint that is not https, and a stream exported twice", () => {
    const args = {
      account: { accountId: {} as never, partition: {} as never, region: "eu-west-1" },
      kmsKey: {} as never,
      credentialKeyArn: "",
    };
    const source = { stream: "cloudtrail", logGroupName: "/t", credentialArn: "" } as const;
    expect(
      () =>
        new SiemExport("bad", {
          ...args,
          destination: { kind: "http", name: "elastic", url: "http://elastic:9200" },
          sources: [source],
        }),
    ).toThrow('bad: the SIEM endpoint must be an https URL, got "http://elastic:9200"');
    expect(
      () =>
        new SiemExport("twice", {
          ...args,
          destination: { kind: "splunk", hecEndpoint: "https://splunk:8088" },
          sources: [source, source],
        }),
    ).toThrow("twice: each stream is exported once, got cloudtrail twice");
  });

  it("gives every role it creates named actions on named resources", () => {
    const roles = rolePermissions(resources);
    expect(roles.map((r) => r.role).sort()).toEqual([
      "audit-to-logs",
      "elastic-firehose",
      "elastic-from-logs",
      "siem-firehose",
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
