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
import { AuroraGlobalPostgres } from "../../components/aws/aurora";
import { EksNodeGroup, gpuInstanceType } from "../../components/aws/eks-node-group";
import { KmsKey } from "../../components/aws/kms-key";
import { albIngressAnnotations } from "../../components/aws/load-balancer";
import { MskCluster } from "../../components/aws/msk";
import { ManagedSecret, replicaArn } from "../../components/aws/secret";
import type { PostgresEndpoint, SecretRef } from "../../components/contracts";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { awsProvider, dataKeyDescription, type AwsFoundation } from "./aws-base";
import { EksHost } from "./aws-eks";
import type { PostgresRequest } from "./platform";

/** A region of the stack before its platform: where it is, its range, its provider and key. */
export interface EnterpriseSite {
  readonly site: RegionSite;
  readonly cidr: string;
  readonly foundation: AwsFoundation;
}

/** The embeddings GPU pool's node label value (the generation pool keeps `gpu`). */
export const EMBEDDINGS_POOL = "gpu-embeddings";

/**
 * Each region's provider, account and data key, primary first: the primary's key is a
 * multi-region key, every other region's its replica (same key material and id), so what one
 * region encrypts (a replicated object, a secret's replica, a database's snapshot) another
 * decrypts with its own copy.
 */
export function enterpriseSites(
  cfg: PlatformConfig,
  sites: readonly RegionSite[],
  cidrs: readonly string[],
): EnterpriseSite[] {
  const made: EnterpriseSite[] = [];
  for (const [i, site] of sites.entries()) {
    const provider = awsProvider(cfg, site);
    const account = lookupAccount(site.region, provider);
    const primaryKey = made[0]?.foundation.dataKey;
    const dataKey = new KmsKey(
      `${site.prefix}-data`,
      {
        account,
        description: dataKeyDescription(site.prefix),
        allowEbsThroughEc2: true,
        retainOnDelete: true,
        ...(primaryKey ? { replicaOf: primaryKey.arn } : { multiRegion: true }),
      },
      { provider },
    );
    made.push({ site, cidr: cidrs[i]!, foundation: { provider, account, dataKey } });
  }
  return made;
}

/** What the regions share, filled as they are built (the primary first). */
export class EnterpriseShared {
  readonly secrets = new Map<string, ManagedSecret>();
  database?: AuroraGlobalPostgres;
  /** The primary's certificate validation records (the same names validate every region's certificate). */
  certificateRecords?: pulumi.Output<string[]>;

  constructor(
    readonly cfg: PlatformConfig,
    readonly sites: readonly EnterpriseSite[],
  ) {}

  get primary(): EnterpriseSite {
    return this.sites[0]!;
  }

  /** Every region but the primary: where the primary's secrets are replicated, each with its key. */
  replicaRegions(): { region: string; kmsKeyId: pulumi.Output<string> }[] {
    return this.sites
      .slice(1)
      .map((s) => ({ region: s.site.region, kmsKeyId: s.foundation.dataKey.arn }));
  }
}

export class EnterpriseEksHost extends EksHost {
  readonly certificateArn: pulumi.Output<string>;
  /** Two generation servers per region, in two zones: losing a zone or a node keeps one. */
  readonly modelServerReplicas = 2;
  private database?: AuroraGlobalPostgres;
  private kafka?: MskCluster;

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
    this.certificateArn = this.regionalCertificate();
    const ingress = this.ingress;
    if (ingress.kind !== "ingress")
      throw new Error(`${this.prefix}: EKS serves through an Ingress`);
    this.ingress = {
      ...ingress,
      https: true,
      anyHost: true,
      annotations: () =>
        albIngressAnnotations({
          network: this.network,
          certificateArn: this.certificateArn,
          accessLogs: this.requireDocuments().loadBalancerLogs,
        }),
    };
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

  /** A secret of the primary, replicated to every other region; elsewhere, this region's replica. */
  private sharedSecret(name: string, make: () => ManagedSecret): SecretRef {
    if (this.isPrimary) {
      const secret = make();
      this.shared.secrets.set(name, secret);
      return secret.ref;
    }
    const primary = this.shared.secrets.get(name);
    if (!primary) throw new Error(`${this.prefix}: the primary region made no secret ${name}`);
    return { kind: "aws-secretsmanager", arn: replicaArn(primary.readableArn, this.site.region) };
  }

  override generatedSecret(name: string, length: number): SecretRef {
    return this.sharedSecret(
      name,
      () =>
        new ManagedSecret(
          `${this.prefix}-${name}`,
          {
            description: `${this.prefix} ${name}`,
            kmsKey: this.dataKey,
            generateLength: length,
            replicas: this.shared.replicaRegions(),
          },
          this.opts(),
        ),
    );
  }

  override externalSecret(name: string, description: string): SecretRef {
    return this.sharedSecret(name, () => {
      const secret = new ManagedSecret(
        `${this.prefix}-${name}`,
        { description, kmsKey: this.dataKey, replicas: this.shared.replicaRegions() },
        this.opts(),
      );
      this.operatorSecrets[name] = secret;
      return secret;
    });
  }

  /** This region's cluster of the Aurora Global Database: the writer's in the primary, a secondary elsewhere. */
  override postgres(req: PostgresRequest): PostgresEndpoint {
    const primary = this.shared.database;
    this.database = new AuroraGlobalPostgres(
      `${this.prefix}-postgres`,
      {
        role: primary
          ? { kind: "secondary", primary }
          : {
              kind: "primary",
              globalClusterId: `rag-${this.cfg.tier}-global`,
              secretReplicas: this.shared.replicaRegions(),
            },
        region: this.site.region,
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        majorVersion: req.version,
        instanceClass: req.size,
        instances: req.highAvailability ? 2 : 1,
        backupRetentionDays: req.backupRetentionDays,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      this.opts(),
    );
    if (!primary) this.shared.database = this.database;
    return this.database.endpoint;
  }

  /** The region's Aurora cluster (after postgres()). */
  requireDatabase(): AuroraGlobalPostgres {
    if (!this.database) throw new Error(`${this.prefix}: postgres() must be created first`);
    return this.database;
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
        replicationSource: this.isPrimary,
      },
      this.opts(),
    );
    return this.kafka;
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
