/**
 * One region of the enterprise tier on AWS: the sme EKS host with what several regions share in
 * place of what one region keeps to itself. Its data key is a multi-region key (the primary's, or
 * a replica); its secrets are the primary's, replicated here; its catalogue is a cluster of an
 * Aurora Global Database; its API answers under the stack's name with a certificate of its own;
 * and it runs an MSK cluster for the ingest log, which the primary's replicates into.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lookupAccount } from "../../components/aws/account";
import { AuroraGlobalDatabase, AuroraGlobalPostgres } from "../../components/aws/aurora";
import { EksNodeGroup, gpuInstanceType } from "../../components/aws/eks-node-group";
import { KmsKey } from "../../components/aws/kms-key";
import { albIngressAnnotations } from "../../components/aws/load-balancer";
import { MskCluster } from "../../components/aws/msk";
import type { IamDatabase } from "../../components/aws/postgres";
import { ManagedSecret, replicaArn } from "../../components/aws/secret";
import type { Statement } from "../../components/aws/account";
import {
  documentAccessStatements,
  replicaAccessStatements,
  type DocumentStore,
} from "../../components/aws/document-store";
import type {
  ObjectStore,
  PostgresEndpoint,
  RuntimeEnvironment,
  SecretRef,
} from "../../components/contracts";
import { ENV } from "../../runtime/src/config";
import type { PlatformConfig } from "../config";
import { CATALOGUE_ROLES } from "../ingest-log";
import type { RegionSite } from "../regions";
import { awsProvider, dataKeyDescription, type AwsFoundation } from "./aws-base";
import { ingestDbUser, RUNTIME_DB_USER } from "./aws-db-users";
import { ingestClientStatements, kedaLagReader, mskIngestBus } from "./aws-ingest-bus";
import type { ClusterIngestBus } from "./cluster-host";
import { EksHost } from "./aws-eks";
import type { ObjectStoreRequest, PostgresRequest } from "./platform";

/** A region of the stack before its platform: where it is, its range, its provider and key. */
export interface EnterpriseSite {
  readonly site: RegionSite;
  readonly cidr: string;
  readonly foundation: AwsFoundation;
}

/** The embeddings GPU pool's node label value (the generation pool keeps `gpu`). */
export const EMBEDDINGS_POOL = "gpu-embeddings";

/**
 * Each region's provider, account and data key, in the order of the regions: the home region's
 * key is a multi-region key, every other region's its replica (same key material and id), so
 * what one region encrypts (a replicated object, a secret's replica, a database's snapshot)
 * another decrypts with its own copy. Keyed by the home region, not the first: a failover that
 * reorders the regions keeps every key.
 */
export function enterpriseSites(
  cfg: PlatformConfig,
  sites: readonly RegionSite[],
  cidrs: readonly string[],
): EnterpriseSite[] {
  const home = sites.find((s) => s.home);
  if (!home) throw new Error("enterpriseSites: no home region among the regions");
  const foundationOf = (site: RegionSite, replicaOf?: KmsKey): AwsFoundation => {
    const provider = awsProvider(cfg, site);
    const account = lookupAccount(site.region, provider);
    const dataKey = new KmsKey(
      `${site.prefix}-data`,
      {
        account,
        description: dataKeyDescription(site.prefix),
        allowEbsThroughEc2: true,
        retainOnDelete: true,
        ...(replicaOf ? { replicaOf: replicaOf.arn } : { multiRegion: true }),
      },
      { provider },
    );
    return { provider, account, dataKey };
  };
  const homeFoundation = foundationOf(home);
  return sites.map((site, i) => ({
    site,
    cidr: cidrs[i]!,
    foundation: site === home ? homeFoundation : foundationOf(site, homeFoundation.dataKey),
  }));
}

/** A secret the regions share: generated (its length), or filled by an operator (what it is). */
export interface SharedSecretArgs {
  readonly description?: string;
  readonly generateLength?: number;
}

/** What the regions share, made once in the home region (whichever region asks first). */
export class EnterpriseShared {
  private readonly secrets = new Map<string, ManagedSecret>();
  private globalDatabase?: AuroraGlobalDatabase;
  /** The writer region's cluster, once built (the primary is built first). */
  database?: AuroraGlobalPostgres;
  /** The primary's document bucket, where every region writes (the primary is built first). */
  primaryDocuments?: DocumentStore;
  /** The primary's certificate validation records (the same names validate every region's certificate). */
  certificateRecords?: pulumi.Output<string[]>;

  constructor(
    readonly cfg: PlatformConfig,
    readonly sites: readonly EnterpriseSite[],
  ) {}

  get primary(): EnterpriseSite {
    return this.sites[0]!;
  }

  get home(): EnterpriseSite {
    return this.sites.find((s) => s.site.home)!;
  }

  /** Every region but the home: where the home's secrets are replicated, each with its key. */
  replicaRegions(): { region: string; kmsKeyId: pulumi.Output<string> }[] {
    return this.sites
      .filter((s) => !s.site.home)
      .map((s) => ({ region: s.site.region, kmsKeyId: s.foundation.dataKey.arn }));
  }

  /** The home region's secret `name`, replicated to every other region (made on first ask). */
  secret(name: string, args: SharedSecretArgs): ManagedSecret {
    const known = this.secrets.get(name);
    if (known) return known;
    const home = this.home;
    const prefix = home.site.prefix;
    const secret = new ManagedSecret(
      `${prefix}-${name}`,
      {
        description: args.description ?? `${prefix} ${name}`,
        ...(args.generateLength !== undefined ? { generateLength: args.generateLength } : {}),
        kmsKey: home.foundation.dataKey,
        replicas: this.replicaRegions(),
      },
      { provider: home.foundation.provider },
    );
    this.secrets.set(name, secret);
    return secret;
  }

  /** The Aurora global database, in the home region (made on first ask). */
  globalPostgres(req: PostgresRequest): AuroraGlobalDatabase {
    const home = this.home;
    this.globalDatabase ??= new AuroraGlobalDatabase(
      `${home.site.prefix}-postgres-global`,
      {
        globalClusterId: `rag-${this.cfg.tier}-global`,
        kmsKey: home.foundation.dataKey,
        secretReplicas: this.replicaRegions(),
        majorVersion: req.version,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      { provider: home.foundation.provider },
    );
    return this.globalDatabase;
  }
}

export class EnterpriseEksHost extends EksHost {
  readonly certificateArn: pulumi.Output<string>;
  /** Two generation servers per region, in two zones: losing a zone or a node keeps one. */
  readonly modelServerReplicas = 2;
  /** KEDA's role for reading the ingest roles' lag: made before the add-ons. */
  readonly addonIdentities: pulumi.Resource[];
  private database?: AuroraGlobalPostgres;
  private kafka?: MskCluster;
  private bus?: ClusterIngestBus;

  constructor(
    cfg: PlatformConfig,
    private readonly region: EnterpriseSite,
    private readonly shared: EnterpriseShared,
  ) {
    super(
      { ...cfg, network: { ...cfg.network, cidr: region.cidr } },
      region.site,
      region.foundation,
    );
    if (cfg.llm.mode === "self-hosted") {
      // Embeddings and reranking on a GPU pool of their own, sized apart from generation's.
      const pool = cfg.enterprise.embeddingGpuNodes;
      new EksNodeGroup(
        `${this.prefix}-gpu-embeddings`,
        {
          cluster: this.cluster,
          network: this.network,
          kmsKey: this.dataKey,
          extraSecurityGroupIds: [this.workloadSg.id],
          kind: "gpu",
          pool: EMBEDDINGS_POOL,
          instanceTypes: [gpuInstanceType(cfg.enterprise.embeddingGpuType, 1)],
          minSize: pool.min,
          maxSize: pool.max,
          desiredSize: pool.desired,
        },
        this.opts(),
      );
    }
    this.addonIdentities = [
      kedaLagReader(
        `${this.prefix}-keda-kafka`,
        { clusterName: this.cluster.name, kafka: this.ingestLog() },
        this.opts(),
      ),
    ];
    this.certificateArn = this.regionalCertificate();
    const ingress = this.ingress;
    if (ingress.kind !== "ingress")
      throw new Error(`${this.prefix}: EKS serves through an Ingress`);
    this.ingress = {
      ...ingress,
      https: true,
      anyHost: true,
      annotations: () => ({
        ...albIngressAnnotations({
          network: this.network,
          certificateArn: this.certificateArn,
          accessLogs: this.requireDocuments().loadBalancerLogs,
        }),
        "alb.ingress.kubernetes.io/load-balancer-name": this.apiLoadBalancerName,
      }),
    };
  }

  /** The API's load balancer's name: the controller names it so, and the routing finds it by it. */
  get apiLoadBalancerName(): string {
    const name = `${this.prefix}-api`;
    // An ALB's name: at most 32 letters, digits and hyphens.
    if (!/^[a-zA-Z0-9-]{1,32}$/.test(name))
      throw new Error(`${this.prefix}: the load balancer name ${name} is over 32 characters`);
    return name;
  }

  /** The API's load balancer's ARN, looked up once `created` (the Ingress's address) is known. */
  apiLoadBalancerArn(created: pulumi.Output<unknown>): pulumi.Output<string> {
    return aws.lb.getLoadBalancerOutput(
      { name: created.apply(() => this.apiLoadBalancerName) },
      { provider: this.region.foundation.provider },
    ).arn;
  }

  get isPrimary(): boolean {
    return this.site.primary;
  }

  /** This region's ACM certificate for domain.hostname, validated by DNS in the stack's zone. */
  private regionalCertificate(): pulumi.Output<string> {
    const hostname = this.cfg.domain.hostname!;
    const zoneId = this.cfg.domain.hostedZoneId!;
    const cert = new aws.acm.Certificate(
      `${this.prefix}-api`,
      { domainName: hostname, validationMethod: "DNS", keyAlgorithm: "EC_prime256v1" },
      this.opts(),
    );
    if (!this.shared.certificateRecords) {
      // ACM gives a name the same validation record in every region of an account: one record
      // validates them all.
      const record = new aws.route53.Record(
        `${this.prefix}-api-validation`,
        {
          zoneId,
          name: cert.domainValidationOptions.apply((o) => o[0]!.resourceRecordName),
          type: cert.domainValidationOptions.apply((o) => o[0]!.resourceRecordType),
          records: [cert.domainValidationOptions.apply((o) => o[0]!.resourceRecordValue)],
          ttl: 300,
          allowOverwrite: true,
        },
        this.opts(),
      );
      this.shared.certificateRecords = pulumi.output([record.fqdn]);
    }
    const validated = new aws.acm.CertificateValidation(
      `${this.prefix}-api`,
      { certificateArn: cert.arn, validationRecordFqdns: this.shared.certificateRecords },
      this.opts(),
    );
    return validated.certificateArn;
  }

  /** The home region's secret, replicated to every other region: here, this region's copy. */
  private sharedSecret(name: string, args: SharedSecretArgs): SecretRef {
    const secret = this.shared.secret(name, args);
    if (!this.site.home)
      return { kind: "aws-secretsmanager", arn: replicaArn(secret.readableArn, this.site.region) };
    // The secrets an operator fills are listed under the home region, where they are written.
    if (args.generateLength === undefined) this.operatorSecrets[name] = secret;
    return secret.ref;
  }

  override generatedSecret(name: string, length: number): SecretRef {
    return this.sharedSecret(name, { generateLength: length });
  }

  override externalSecret(name: string, description: string): SecretRef {
    return this.sharedSecret(name, { description });
  }

  /** This region's cluster of the Aurora Global Database: the writer in the primary, a secondary elsewhere. */
  override postgres(req: PostgresRequest): PostgresEndpoint {
    const writer = this.shared.database;
    this.database = new AuroraGlobalPostgres(
      `${this.prefix}-postgres`,
      {
        global: this.shared.globalPostgres(req),
        role: writer ? { kind: "secondary", writer } : { kind: "writer" },
        region: this.site.region,
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        instanceClass: req.size,
        instances: req.highAvailability ? 2 : 1,
        backupRetentionDays: req.backupRetentionDays,
        // Beside the secret: a rotation function runs in its secret's region.
        rotatesPassword: this.site.home,
      },
      this.opts(),
    );
    if (!writer) this.shared.database = this.database;
    return this.database.endpoint;
  }

  override objectStore(req: ObjectStoreRequest): ObjectStore {
    const store = super.objectStore(req);
    if (this.isPrimary) this.shared.primaryDocuments = this.requireDocuments();
    return store;
  }

  /**
   * Outside the primary, the runtime writes to the primary's bucket (one bucket takes every
   * upload, and S3 replication copies it everywhere) and reads this region's replica first. S3
   * does not replicate the removal of a version, so the region's index role removes its copies of
   * a deleted document (OBJECT_STORE_REPLICA_URL): on the replica it may read and delete, not write.
   */
  override bindRuntimeIdentity(args: {
    namespace: string;
    serviceAccount: string;
    env: RuntimeEnvironment;
    after?: readonly pulumi.Resource[];
    priorityClassName?: pulumi.Input<string>;
  }): { env: RuntimeEnvironment } {
    return super.bindRuntimeIdentity({ ...args, env: this.regionalStoreEnv(args.env) });
  }

  /** The runtime's object store outside the primary: the primary's bucket, this region's replica read first. */
  private regionalStoreEnv(env: RuntimeEnvironment): RuntimeEnvironment {
    if (this.isPrimary) return env;
    const primary = this.requirePrimaryDocuments();
    return {
      ...env,
      plain: {
        ...env.plain,
        [ENV.objectStoreUrl]: pulumi.interpolate`s3://${primary.bucketName}/documents?region=${this.shared.primary.site.region}`,
        [ENV.objectStoreReplicaUrl]: pulumi.interpolate`s3://${this.requireDocuments().bucketName}/documents`,
        // On the Kafka bus, this region's log is a replica: its API's uploads and deletes go to
        // its uploads topic, which MSK Replicator carries to the primary.
        ...(env.plain[ENV.ingestBus] !== undefined ? { [ENV.kafkaForward]: "true" } : {}),
      },
    };
  }

  protected override documentStatements(): Statement[] {
    if (this.isPrimary) return super.documentStatements();
    return [
      ...documentAccessStatements(
        this.requirePrimaryDocuments().bucketArn,
        this.shared.primary.foundation.dataKey.arn,
      ),
      ...replicaAccessStatements(this.requireDocuments().bucketArn, this.dataKey.arn),
    ];
  }

  private requirePrimaryDocuments(): DocumentStore {
    const primary = this.shared.primaryDocuments;
    if (!primary) throw new Error(`${this.prefix}: the primary region's objectStore() comes first`);
    return primary;
  }

  /** The region's Aurora cluster (after postgres()). */
  requireDatabase(): AuroraGlobalPostgres {
    if (!this.database) throw new Error(`${this.prefix}: postgres() must be created first`);
    return this.database;
  }

  /** The region's Aurora cluster: its users sign in with IAM tokens. */
  protected override iamDatabase(): IamDatabase | undefined {
    return this.database && this.iamDatabaseIn(this.database.iamResourceId);
  }

  /** The writer's region makes the users; the global database replicates them everywhere. */
  protected override get writesDatabase(): boolean {
    return this.database !== undefined && this.shared.database === this.database;
  }

  /** The runtime's user, and one per ingest role that opens the catalogue (index). */
  protected override databaseUsers(): string[] {
    return [RUNTIME_DB_USER, ...CATALOGUE_ROLES.map(ingestDbUser)];
  }

  protected override watchedDatabaseId(): pulumi.Input<string> | undefined {
    return this.database?.instanceIds[0];
  }

  /** The region's ingest log: MSK, which the primary's replicates into (created once). */
  ingestLog(): MskCluster {
    if (this.kafka) return this.kafka;
    const k = this.cfg.enterprise.kafka;
    this.kafka = new MskCluster(
      `${this.prefix}-kafka`,
      {
        account: this.account,
        network: this.network,
        kmsKey: this.dataKey,
        logsKey: this.logsKey,
        logRetentionDays: this.cfg.observability.logRetentionDays,
        kafkaVersion: k.version,
        brokerType: k.brokerType,
        brokerStorageGiB: k.brokerStorageGiB,
        retentionHours: k.retentionHours,
        allowedSecurityGroupIds: [this.workloadSg.id],
        // Every region's can be a source: the primary's feeds the others, and a failover moves
        // the primary.
        replicationSource: true,
      },
      this.opts(),
    );
    return this.kafka;
  }

  /** Ingest on the region's MSK cluster: the API produces; parse and embed run in the primary. */
  ingestBus(): ClusterIngestBus {
    this.bus ??= mskIngestBus(
      {
        prefix: this.prefix,
        region: this.site.region,
        clusterName: this.cluster.name,
        kafka: this.ingestLog(),
        documents: this.isPrimary
          ? { bucketArn: this.requireDocuments().bucketArn, keyArn: this.dataKey.arn }
          : {
              bucketArn: this.requirePrimaryDocuments().bucketArn,
              keyArn: this.shared.primary.foundation.dataKey.arn,
            },
        ...(this.isPrimary
          ? {}
          : {
              replica: { bucketArn: this.requireDocuments().bucketArn, keyArn: this.dataKey.arn },
            }),
        storeEnv: (env) => this.regionalStoreEnv(env),
        databaseLogin: (user, env) => this.databaseLogin(user, env),
        vpcCidr: this.network.vpcCidr,
        runsStages: this.isPrimary,
      },
      this.opts(),
    );
    return this.bus;
  }

  protected override runtimeBusStatements(): Statement[] {
    return ingestClientStatements(this.ingestLog().arn, "api");
  }

  /** The region's network, for what the tier builds across regions (MSK Replicator). */
  get vpc(): EksHost["network"] {
    return this.network;
  }

  /** The region's document store (after objectStore()), for replication. */
  get documentStore(): ReturnType<EksHost["requireDocuments"]> {
    return this.requireDocuments();
  }

  get key(): KmsKey {
    return this.dataKey;
  }

  get awsAccount(): EksHost["account"] {
    return this.account;
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const db = this.database;
    return {
      ...super.accessOutputs(),
      database: db && {
        endpoint: pulumi.interpolate`${db.endpoint.host}:${db.endpoint.port}`,
        cluster: db.clusterId,
        globalCluster: db.globalClusterId,
        globalWriterEndpoint: db.globalWriterEndpoint,
        database: db.endpoint.database,
        username: db.endpoint.username,
        passwordSecretArn: db.passwordSecretArn,
        note: "TLS is required (rds.force_ssl); reachable from inside the VPC only",
      },
      kafka: this.kafka && {
        cluster: this.kafka.arn,
        bootstrapBrokers: this.kafka.bootstrapBrokers,
      },
      certificateArn: this.certificateArn,
    };
  }
}
