/**
 * AWS for the Kubernetes tiers: EKS as a ClusterHost. The cluster and its system and GPU node
 * groups, the AWS add-ons (load balancer controller, cluster autoscaler, External Secrets on
 * Secrets Manager), the runtime's Pod Identity, and the data services of AwsPlatformBase. The
 * workloads come from the cloud-neutral KubernetesPlatform.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AuditTrail } from "../../components/aws/audit";
import type { Statement } from "../../components/aws/account";
import { documentAccessStatements } from "../../components/aws/document-store";
import {
  createVersionedBucket,
  logAccess,
  restrictBucket,
} from "../../components/aws/private-bucket";
import { FindingsLog } from "../../components/aws/findings-log";
import {
  SIEM_STREAM_INDEXES,
  SiemExport,
  type SiemSource,
  type SiemStream,
} from "../../components/aws/siem-export";
import { ThreatDetection } from "../../components/aws/threat-detection";
import type { ObjectStorage } from "../../components/kubernetes/observability-stack";
import type { AuditDestination } from "../../components/kubernetes/audit-export";
import { EksAddons, grantExternalSecretsRead } from "../../components/aws/eks-addons";
import { EksCluster } from "../../components/aws/eks-cluster";
import { EksNodeGroup, gpuInstanceType } from "../../components/aws/eks-node-group";
import { albIngressAnnotations } from "../../components/aws/load-balancer";
import { modelReaderStatements } from "../../components/aws/model-store";
import { podIdentityRole } from "../../components/aws/pod-identity";
import {
  databasePasswordStatements,
  iamDatabaseLogin,
  passwordReadAtConnect,
  type IamDatabase,
} from "../../components/aws/postgres";
import type { RuntimeEnvironment, SecretRef } from "../../components/contracts";
import type { CidrEgress } from "../../components/kubernetes/network-policy";
import { WEIGHTS_DIR } from "../../components/kubernetes/vllm-server";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { CHARTS, CLUSTER_AUTOSCALER_TAGS, K8S_IMAGES, type SupportedChart } from "../versions";
import { AwsPlatformBase, type AwsFoundation } from "./aws-base";
import { databaseUsersJob, RUNTIME_DB_USER } from "./aws-db-users";
import type { ModelSource } from "../model-source";
import type { ClusterHost, ClusterIngress, ClusterSecretStore, ModelReader } from "./cluster-host";
import { type ChartChoices, KubernetesPlatform, kubernetesCharts } from "./kubernetes";
import type { ObservabilityRequest, Platform } from "./platform";

/** Where the EKS Pod Identity agent listens on every node (link-local). */
export const POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32";
/** EKS runs neither metrics-server nor the NVIDIA device plugin by itself. */
const EKS_PROVIDES = { metricsServer: false, gpuDevicePlugin: false } as const;

/** Every chart an EKS cluster of this configuration runs: the AWS add-ons and the platform's. */
export function eksCharts(cfg: ChartChoices): SupportedChart[] {
  const aws = [CHARTS.awsLoadBalancerController, CHARTS.clusterAutoscaler, CHARTS.externalSecrets];
  return [...aws, ...kubernetesCharts(cfg, EKS_PROVIDES)];
}

/** One of the cloud's audit log groups, the stream it is to the SIEM. */
interface CloudAuditGroup {
  readonly stream: Exclude<SiemStream, "runtime-audit">;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
}

export class EksHost extends AwsPlatformBase implements ClusterHost {
  readonly cluster: EksCluster;
  readonly cloudProvider: aws.Provider;
  readonly kubernetes: EksCluster["provider"];
  readonly storageClassName: pulumi.Output<string>;
  readonly networkCidr: pulumi.Input<string>;
  readonly provides = EKS_PROVIDES;
  readonly secretStore: ClusterSecretStore;
  /** The API's way in (a multi-region host swaps in its regional certificate). */
  ingress: ClusterIngress;
  protected readonly addons: EksAddons;
  readonly site: RegionSite;
  /** Where the runtime's audit stream goes, once audit() has read the SIEM's config. */
  private runtimeAudit?:
    | { kind: "cloudwatch-logs"; name: string; group: aws.cloudwatch.LogGroup }
    | {
        kind: "otlp";
        endpoint: string;
        auth?: { header: string; credential: SecretRef };
        cloudGroups: readonly CloudAuditGroup[];
      };

  constructor(cfg: PlatformConfig, site: RegionSite, foundation?: AwsFoundation) {
    super(cfg, site, foundation);
    this.site = site;
    const k = cfg.kubernetes;
    this.cluster = new EksCluster(
      `${this.prefix}-eks`,
      {
        account: this.account,
        network: this.network,
        version: k.version,
        kmsKey: this.dataKey,
        logsKey: this.logsKey,
        logRetentionDays: cfg.observability.logRetentionDays,
        publicAccessCidrs: cfg.network.clusterApiAllowedCidrs,
        adminPrincipalArns: k.adminPrincipals,
        systemNodes: {
          instanceType: k.systemNodeType,
          minSize: k.systemNodes.min,
          maxSize: k.systemNodes.max,
          desiredSize: k.systemNodes.desired,
          extraSecurityGroupIds: [this.workloadSg.id],
        },
      },
      this.opts(),
    );
    if (cfg.llm.mode === "self-hosted") {
      new EksNodeGroup(
        `${this.prefix}-gpu`,
        {
          cluster: this.cluster,
          network: this.network,
          kmsKey: this.dataKey,
          extraSecurityGroupIds: [this.workloadSg.id],
          kind: "gpu",
          instanceTypes: [gpuInstanceType(cfg.llm.gpuType, cfg.llm.gpuCount)],
          minSize: k.gpuNodes.min,
          maxSize: k.gpuNodes.max,
          desiredSize: k.gpuNodes.desired,
        },
        this.opts(),
      );
    }
    this.cloudProvider = this.provider;
    this.kubernetes = this.cluster.provider;
    this.storageClassName = this.cluster.storageClassName;
    this.networkCidr = this.network.vpcCidr;
    this.addons = new EksAddons(
      `${this.prefix}-addons`,
      {
        account: this.account,
        cluster: this.cluster,
        network: this.network,
        clusterAutoscalerTag: CLUSTER_AUTOSCALER_TAGS[k.version],
        charts: CHARTS,
        resourceNamePrefix: site.namePrefix,
      },
      this.opts(),
    );
    this.secretStore = {
      name: this.addons.secretStoreName,
      ready: this.addons.secretStoreReady,
      grantRead: (grant, refs) =>
        grantExternalSecretsRead(
          `${this.prefix}-eso-${grant}`,
          { role: this.addons.externalSecretsRole, refs, keyArn: this.dataKey.arn },
          this.opts(),
        ),
    };
    this.ingress = {
      kind: "ingress",
      className: "alb",
      // Rollouts sets the weights of the ALB's target groups (the Ingress's action annotation).
      canaryRouter: "alb",
      annotations: () =>
        albIngressAnnotations({
          network: this.network,
          certificateArn: cfg.domain.certificate,
          accessLogs: this.requireDocuments().loadBalancerLogs,
        }),
      // The ALB sends from its addresses inside the VPC (IP targets).
      sources: [{ ipBlock: { cidr: this.network.vpcCidr } }],
      // The controller then holds each new pod un-Ready until its ALB target is healthy, so a
      // rollout never stops the old pods before the load balancer sends to the new.
      namespaceLabels: { "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled" },
      ready: [this.addons.loadBalancerController],
    };
  }

  runtimeImage(): pulumi.Output<string> {
    return this.runtimeImageRef();
  }

  /** What the runtime may do on the documents: read, write and securely delete them. */
  protected documentStatements(): Statement[] {
    return documentAccessStatements(this.requireDocuments().bucketArn, this.dataKey.arn);
  }

  /** The database as IAM tokens reach it (after postgres()). @default - the RDS instance */
  protected iamDatabase(): IamDatabase | undefined {
    return this.postgresDb && this.iamDatabaseIn(this.postgresDb.iamResourceId);
  }

  /** This region's database of that resource id, as `rds-db:connect` names it. */
  protected iamDatabaseIn(resourceId: pulumi.Input<string>): IamDatabase {
    return {
      partition: this.account.partition,
      region: this.site.region,
      accountId: this.account.accountId,
      resourceId,
    };
  }

  /** Whether this region's database takes writes (where the users are made). @default true */
  protected get writesDatabase(): boolean {
    return true;
  }

  /** The users the workloads sign in as. @default - the runtime's alone */
  protected databaseUsers(): string[] {
    return [RUNTIME_DB_USER];
  }

  /**
   * How a workload signs in to the database as `user`: with IAM tokens its role may sign for that
   * user alone, when the database takes them; else with the password RDS rotates, which the
   * runtime reads itself at connect.
   */
  databaseLogin(
    user: string,
    env: RuntimeEnvironment,
  ): { env: RuntimeEnvironment; statements: Statement[] } {
    const db = this.iamDatabase();
    if (db) return iamDatabaseLogin(env, db, user);
    const read = passwordReadAtConnect(env);
    return {
      env: read.env,
      statements: read.databaseSecretArn
        ? databasePasswordStatements(read.databaseSecretArn, this.dataKey.arn)
        : [],
    };
  }

  /**
   * The runtime's AWS identity through EKS Pod Identity (nodes' credentials are out of pods'
   * reach): the document bucket and its key, and its database user. In the region whose
   * database takes writes, the Job making the workloads' database users, once the namespace is.
   */
  bindRuntimeIdentity(args: {
    namespace: string;
    serviceAccount: string;
    env: RuntimeEnvironment;
    after?: readonly pulumi.Resource[];
    priorityClassName?: pulumi.Input<string>;
  }): { env: RuntimeEnvironment } {
    const login = this.databaseLogin(RUNTIME_DB_USER, args.env);
    podIdentityRole(
      `${this.prefix}-runtime`,
      {
        clusterName: this.cluster.name,
        namespace: args.namespace,
        serviceAccount: args.serviceAccount,
        statements: [
          ...this.documentStatements(),
          ...login.statements,
          ...this.runtimeBusStatements(),
        ],
      },
      this.opts(),
    );
    if (this.iamDatabase() && this.writesDatabase) this.makeDatabaseUsers(args);
    return { env: login.env };
  }

  /** The Job making the workloads' users with the master password: the one holder of it. */
  private makeDatabaseUsers(args: {
    namespace: string;
    env: RuntimeEnvironment;
    after?: readonly pulumi.Resource[];
    priorityClassName?: pulumi.Input<string>;
  }): void {
    const master = passwordReadAtConnect(args.env);
    if (!master.databaseSecretArn)
      throw new Error(
        `${this.prefix}: the database's master password must be a Secrets Manager secret`,
      );
    databaseUsersJob(
      `${this.prefix}-db-users`,
      {
        clusterName: this.cluster.name,
        namespace: args.namespace,
        image: this.runtimeImageRef(),
        masterEnv: master.env,
        masterStatements: databasePasswordStatements(master.databaseSecretArn, this.dataKey.arn),
        users: this.databaseUsers(),
        // The database and Secrets Manager's endpoint in the VPC; the agent for the role.
        egress: [
          { cidr: this.network.vpcCidr, ports: [443, 5432] },
          { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
        ],
        after: args.after ?? [],
        ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
      },
      { aws: this.opts(), k8s: { provider: this.kubernetes } },
    );
  }

  /**
   * The model server's own role through EKS Pod Identity: list and read one prefix of the
   * organisation's bucket (and decrypt with its key, when it has one), nothing else; the AWS CLI
   * copies the prefix onto the model volume. S3 is reached through the VPC's gateway endpoint
   * (a bucket in this region) or the NAT gateway (another region's).
   */
  bindModelReader(args: {
    name: string;
    namespace: string;
    serviceAccount: string;
    source: Extract<ModelSource, { kind: "s3" }>;
    kmsKeyArn?: string;
  }): ModelReader {
    const { bucket, prefix } = args.source;
    const bucketArn = pulumi.interpolate`arn:${this.account.partition}:s3:::${bucket}`;
    podIdentityRole(
      `${this.prefix}-${args.name}`,
      {
        clusterName: this.cluster.name,
        namespace: args.namespace,
        serviceAccount: args.serviceAccount,
        statements: modelReaderStatements(bucketArn, prefix, args.kmsKeyArn),
      },
      this.opts(),
    );
    return {
      image: K8S_IMAGES.awsCli,
      command: ["aws", "s3", "sync", `s3://${bucket}/${prefix}/`, WEIGHTS_DIR, "--no-progress"],
      egress: [
        { cidr: "0.0.0.0/0", ports: [443], except: [this.network.vpcCidr] },
        { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
      ],
    };
  }

  /** What the runtime may do on an ingest bus of the host's. @default - nothing: no bus */
  protected runtimeBusStatements(): Statement[] {
    return [];
  }

  runtimeEgress(): CidrEgress[] {
    const vpc = this.network.vpcCidr;
    return [
      // Postgres, Redis, and the AWS APIs' interface endpoints in the VPC (Secrets Manager).
      { cidr: vpc, ports: [443, 5432, 6379] },
      { cidr: "0.0.0.0/0", ports: [443], except: [vpc] },
      // The EKS Pod Identity agent on each node, which hands out the runtime role's credentials.
      { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
    ];
  }

  /**
   * CloudWatch watches what AWS runs for the tier, Postgres and Redis, whatever the exporter;
   * with the audit on, the account's trail (home region), the region's detection and the
   * export of both and of the cluster's audit log to the SIEM.
   */
  observeDataServices(req: ObservabilityRequest): void {
    this.watchWithCloudWatch(req);
    if (this.cfg.security.audit.enabled) this.audit();
  }

  /**
   * The trail (home region) and the region's detection; with a SIEM, every audit stream to it:
   * the trail's, the control plane's and the findings' log groups, and the runtime's stream.
   * Firehose (Splunk, http) delivers each log group on a stream of its own; an OTLP SIEM gets the
   * cloud's groups from the forwarder and the runtime's stream from the log agent.
   */
  private audit(): void {
    const audit = this.cfg.security.audit;
    const documents = this.requireDocuments();
    const trail = this.site.home
      ? new AuditTrail(
          `${this.prefix}-audit`,
          {
            account: this.account,
            retentionDays: audit.retentionDays,
            dataEventBucketArns: [documents.bucketArn],
            accessLogs: { bucket: documents.logBucketName },
          },
          this.opts(),
        )
      : undefined;
    new ThreatDetection(
      `${this.prefix}-detect`,
      { account: this.account, classifiedBuckets: [documents.bucketName] },
      this.opts(),
    );
    const siem = audit.siem;
    if (!siem) return;
    const findings = new FindingsLog(
      `${this.prefix}-findings`,
      { kmsKey: this.logsKey, retentionDays: this.cfg.observability.logRetentionDays },
      this.opts(),
    );
    const cloudGroups: CloudAuditGroup[] = [
      ...(trail
        ? [{ stream: "cloudtrail" as const, name: trail.logGroupName, arn: trail.logGroupArn }]
        : []),
      { stream: "eks-audit", ...this.cluster.controlPlaneLogGroup },
      { stream: "findings", name: findings.logGroupName, arn: findings.logGroupArn },
    ];
    if (siem.kind === "otlp") {
      const auth = siem.authHeader
        ? {
            header: siem.authHeader,
            credential: this.siemSecret(
              "siem-credential",
              `Value of the ${siem.authHeader} header the OTLP SIEM endpoint authenticates with`,
            ),
          }
        : undefined;
      this.runtimeAudit = {
        kind: "otlp",
        endpoint: siem.endpoint,
        ...(auth ? { auth } : {}),
        cloudGroups,
      };
      return;
    }
    const groupName = `/rag/audit/${this.prefix}-runtime`;
    const runtimeGroup = new aws.cloudwatch.LogGroup(
      `${this.prefix}-runtime-audit`,
      {
        name: groupName,
        retentionInDays: this.cfg.observability.logRetentionDays,
        kmsKeyId: this.logsKey.arn,
      },
      this.opts(),
    );
    this.runtimeAudit = { kind: "cloudwatch-logs", name: groupName, group: runtimeGroup };
    const sharedKey =
      siem.kind === "http"
        ? this.siemSecret(
            "siem-credential",
            `Access key of the ${siem.name ?? "SIEM"} endpoint for the audit export`,
          ).arn
        : undefined;
    const sources: SiemSource[] = [
      ...cloudGroups,
      { stream: "runtime-audit" as const, name: runtimeGroup.name },
    ].map((g) => {
      const index = SIEM_STREAM_INDEXES[g.stream];
      return {
        stream: g.stream,
        logGroupName: g.name,
        credentialArn:
          sharedKey ??
          this.siemSecret(
            `siem-hec-token-${g.stream}`,
            `Splunk HEC token for the ${g.stream} audit stream: default index ${index.splunkIndex}, sourcetype ${index.splunkSourcetype}`,
          ).arn,
      };
    });
    new SiemExport(
      `${this.prefix}-siem`,
      {
        account: this.account,
        kmsKey: this.logsKey,
        credentialKeyArn: this.dataKey.arn,
        destination:
          siem.kind === "splunk"
            ? { kind: "splunk", hecEndpoint: siem.endpoint }
            : { kind: "http", name: siem.name ?? "SIEM", url: siem.endpoint },
        accessLogs: { bucket: documents.logBucketName },
        sources,
      },
      this.opts(),
    );
  }

  /** A secret the operator fills for the SIEM export, in Secrets Manager. */
  private siemSecret(
    name: string,
    description: string,
  ): SecretRef & { kind: "aws-secretsmanager" } {
    const ref = this.externalSecret(name, description);
    if (ref.kind !== "aws-secretsmanager")
      throw new Error(
        `${this.prefix}: the SIEM credential ${name} must be a Secrets Manager secret`,
      );
    return ref;
  }

  /**
   * The runtime's audit stream: to its log group, which the SIEM export subscribes to (the log
   * agent's role writes that group alone), or to the OTLP endpoint with its header's value synced
   * from Secrets Manager; with OTLP, the forwarder's role reads the cloud's audit groups alone.
   */
  runtimeAuditExport(
    agent: { namespace: string; serviceAccount: string },
    forwarder: { namespace: string; serviceAccount: string },
  ): AuditDestination | undefined {
    const audit = this.runtimeAudit;
    if (!audit) return undefined;
    const egress = [
      { cidr: "0.0.0.0/0", ports: [443] },
      { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
    ];
    if (audit.kind === "otlp") {
      podIdentityRole(
        `${this.prefix}-siem-forwarder`,
        {
          clusterName: this.cluster.name,
          namespace: forwarder.namespace,
          serviceAccount: forwarder.serviceAccount,
          statements: [
            {
              Sid: "ReadTheAuditGroups",
              Effect: "Allow",
              // Named groups only: the receiver lists none (no DescribeLogGroups).
              Action: "logs:FilterLogEvents",
              Resource: audit.cloudGroups.map((g) => g.arn),
            },
          ],
        },
        this.opts(),
      );
      const cloudLogs = {
        region: this.site.region,
        groups: audit.cloudGroups.map((g) => ({ stream: g.stream, name: g.name })),
        egress,
      };
      if (!audit.auth) return { kind: "otlp", endpoint: audit.endpoint, cloudLogs };
      const [remote] = this.secretStore.grantRead("siem-credential", [audit.auth.credential]);
      return {
        kind: "otlp",
        endpoint: audit.endpoint,
        auth: {
          header: audit.auth.header,
          storeName: this.secretStore.name,
          remoteKey: remote!.remoteKey,
          storeReady: this.secretStore.ready,
        },
        cloudLogs,
      };
    }
    podIdentityRole(
      `${this.prefix}-audit-agent`,
      {
        clusterName: this.cluster.name,
        namespace: agent.namespace,
        serviceAccount: agent.serviceAccount,
        statements: [
          {
            Sid: "WriteTheRuntimeAuditGroup",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${audit.group.arn}:log-stream:*`,
          },
        ],
      },
      this.opts(),
    );
    return { kind: "cloudwatch-logs", region: this.site.region, logGroup: audit.name, egress };
  }

  /** Loki's and Tempo's buckets: SSE-KMS, private, TLS only; each store's role reaches its own. */
  telemetryStorage(
    stores: readonly { name: string; namespace: string; serviceAccount: string }[],
  ): ObjectStorage[] {
    const logs = this.requireDocuments().logBucketName;
    return stores.map((store) => {
      const name = `${this.prefix}-${store.name}`;
      const parent = new pulumi.ComponentResource("rag:aws:TelemetryBucket", name, {}, this.opts());
      const bucket = createVersionedBucket(name, false, parent);
      new aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        {
          bucket: bucket.id,
          rules: [
            {
              applyServerSideEncryptionByDefault: {
                sseAlgorithm: "aws:kms",
                kmsMasterKeyId: this.dataKey.arn,
              },
              bucketKeyEnabled: true,
            },
          ],
        },
        { parent },
      );
      // The store deletes by its own retention; old versions go after a day.
      new aws.s3.BucketLifecycleConfiguration(
        name,
        {
          bucket: bucket.id,
          rules: [
            {
              id: "expire-old-versions",
              status: "Enabled",
              filter: {},
              noncurrentVersionExpiration: { noncurrentDays: 1 },
            },
          ],
        },
        { parent },
      );
      restrictBucket(parent, name, bucket, []);
      logAccess(parent, name, bucket, { bucket: logs }, `${store.name}/`);
      podIdentityRole(
        name,
        {
          clusterName: this.cluster.name,
          namespace: store.namespace,
          serviceAccount: store.serviceAccount,
          statements: [
            {
              Sid: "ListTheBucket",
              Effect: "Allow",
              Action: "s3:ListBucket",
              Resource: bucket.arn,
            },
            {
              Sid: "ReadWriteItsObjects",
              Effect: "Allow",
              Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
              Resource: pulumi.interpolate`${bucket.arn}/*`,
            },
            {
              Sid: "UseTheDataKey",
              Effect: "Allow",
              Action: ["kms:Decrypt", "kms:GenerateDataKey"],
              Resource: this.dataKey.arn,
            },
          ],
        },
        { parent },
      );
      return {
        bucket: bucket.bucket,
        region: this.site.region,
        // S3 (through the VPC's gateway endpoint, to S3's public ranges) and the Pod Identity agent.
        egress: [
          { cidr: "0.0.0.0/0", ports: [443] },
          { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
        ],
      };
    });
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    return { ...super.accessOutputs(), cluster: this.cluster.access };
  }
}

/** The Kubernetes platform on EKS, in one region. */
export function eksPlatform(cfg: PlatformConfig, site: RegionSite): Platform {
  return new KubernetesPlatform(new EksHost(cfg, site), cfg, site);
}
