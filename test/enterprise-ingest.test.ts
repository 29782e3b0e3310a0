/**
 * Ingest on the Kafka bus in the enterprise stack (Pulumi.enterprise.yaml): every region's parse,
 * embed and index Deployments with their role, env, identity, scaler and flows; the API on the
 * bus; serving above batch ingest; and the configuration's bounds refused before any resource.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { resolveConfig, type PlatformConfig } from "../stacks/config";
import {
  INGEST_CONSUMER_GROUPS,
  JOINS,
  READS,
  REPLICATED_GROUPS,
  ROLE_TOPICS,
} from "../stacks/ingest-log";
import { PRIORITY_CLASSES } from "../components/kubernetes/priority-classes";
import { objectKey } from "../runtime/src/ingest/documents";
import { ORIGINALS_PREFIX } from "../stacks/ingest-log";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { ENTERPRISE_REQUIRED, ofType, refusedConfig, synth } from "./helpers";
import { dbUsersOf, rolePermissions, wildcardsIn, type Statement } from "./identity";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  scaledObject: "kubernetes:keda.sh/v1alpha1:ScaledObject",
  triggerAuth: "kubernetes:keda.sh/v1alpha1:TriggerAuthentication",
  priorityClass: "kubernetes:scheduling.k8s.io/v1:PriorityClass",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  authorization: "kubernetes:security.istio.io/v1:AuthorizationPolicy",
  association: "aws:eks/podIdentityAssociation:PodIdentityAssociation",
  msk: "aws:msk/cluster:Cluster",
  replicator: "aws:msk/replicator:Replicator",
  release: "kubernetes:helm.sh/v3:Release",
};
const ROLES = ["parse", "embed", "index"] as const;
const REGIONS = { euw1: "eu-west-1", euc1: "eu-central-1" } as const;
const PRIMARY = "euw1";

const codeOf = (r: ResourceRecord) => /^rag-enterprise-([a-z0-9]+)-/.exec(r.name)?.[1];
const envOf = (d: ResourceRecord): Record<string, string> =>
  Object.fromEntries(
    ((d.inputs as Obj).spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value]),
  );
const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());
/** Every action a role's statements allow on resources matching `resource`. */
const actionsOn = (statements: Statement[], resource: RegExp) =>
  statements
    .filter((s) => s.Effect === "Allow" && list(s.Resource).some((r) => resource.test(r)))
    .flatMap((s) => list(s.Action));

describe("ingest on the Kafka bus in every enterprise region", () => {
  let result: SynthResult;
  let cfg: PlatformConfig;
  beforeAll(async () => {
    result = await synth("enterprise");
    cfg = resolveConfig({ tier: "enterprise", ...ENTERPRISE_REQUIRED });
  }, 180_000);

  const inRegion = (type: string, code: string) =>
    ofType(result, type).filter((r) => codeOf(r) === code);
  const deploymentOf = (code: string, name: string) =>
    inRegion(T.deployment, code).find((d) => (d.inputs.metadata as Obj).name === name)!;
  /** The region's MSK brokers (SASL/IAM over TLS), as its API is given them. */
  const brokersOf = (code: string) => {
    const cluster = String(inRegion(T.msk, code)[0]!.inputs.clusterName);
    const brokers = envOf(deploymentOf(code, "rag-api")).KAFKA_BROKERS!;
    const list = brokers.split(",");
    expect(list).toHaveLength(3);
    for (const b of list) expect(b).toMatch(new RegExp(`^b-\\d\\.${cluster}\\..*:9098$`));
    return brokers;
  };

  it("runs parse, embed and index as Deployments of their own, each `worker --role <role>`, and no BullMQ worker", () => {
    for (const [code, region] of Object.entries(REGIONS)) {
      const names = inRegion(T.deployment, code).map((d) => (d.inputs.metadata as Obj).name);
      expect(names, code).not.toContain("rag-worker");
      for (const role of ROLES) {
        const d = deploymentOf(code, `rag-ingest-${role}`);
        const pod = (d.inputs as Obj).spec.template.spec;
        expect(pod.containers[0].command.slice(-2), `${code} ${role}`).toEqual(["--role", role]);
        expect(pod.serviceAccountName).toBe(`rag-ingest-${role}`);
        const env = envOf(d);
        expect(env, `${code} ${role}`).toMatchObject({
          WORKER_ROLE: role,
          INGEST_BUS: "kafka",
          KAFKA_AUTH: "aws-msk-iam",
          KAFKA_AWS_REGION: region,
          KAFKA_TLS: "true",
          KAFKA_BROKERS: brokersOf(code),
          KAFKA_PARTITIONS: String(cfg.enterprise.ingest.partitions),
          KAFKA_GROUP_PREFIX: "rag-ingest",
          KAFKA_TOPIC_PREFIX: "rag.",
        });
        expect(env.KAFKA_BROKERS).toContain(`.kafka.${region}.`);
        // The object store as the region's API has it: outside the primary, its replica read first.
        const api = envOf(deploymentOf(code, "rag-api"));
        expect(env.OBJECT_STORE_URL).toBe(api.OBJECT_STORE_URL);
        expect(env.OBJECT_STORE_REPLICA_URL).toBe(api.OBJECT_STORE_REPLICA_URL);
        expect(env.OBJECT_STORE_REPLICA_URL === undefined).toBe(code === PRIMARY);
        // Resources from config; the replicas KEDA starts from.
        const sized = cfg.enterprise.ingest[role];
        expect(pod.containers[0].resources.requests).toEqual({
          cpu: `${sized.cpuMillicores}m`,
          memory: `${sized.memoryMiB}Mi`,
        });
        const standby = code !== PRIMARY && role !== "index";
        expect((d.inputs as Obj).spec.replicas, `${code} ${role}`).toBe(
          standby ? 0 : sized.minReplicas,
        );
        expect(pod.topologySpreadConstraints[0].topologyKey).toBe("topology.kubernetes.io/zone");
      }
    }
  });

  it("gives the roles no secret in a plain variable, and mounts only their own secrets", () => {
    for (const code of Object.keys(REGIONS))
      for (const role of ROLES) {
        const d = deploymentOf(code, `rag-ingest-${role}`);
        const env = envOf(d);
        const secretLike = Object.keys(env).filter((n) =>
          /(PASSWORD|API_KEY|TOKEN|SECRET)$/.test(n),
        );
        expect(secretLike, `${code} ${role}`).toEqual([]);
        // What only the API uses stays out: the admin key, Redis.
        expect(Object.keys(env).filter((n) => /^(ADMIN_API_KEY|REDIS_)/.test(n))).toEqual([]);
        const volume = ((d.inputs as Obj).spec.template.spec.volumes as Obj[]).find(
          (v) => v.name === "secrets",
        );
        if (role === "index") {
          expect(env.QDRANT_API_KEY_FILE).toBe("/run/secrets/rag/QDRANT_API_KEY");
          // It signs in to the database as its own user with IAM tokens: no password at all.
          expect(env.PGPASSWORD_SECRET_ARN).toBeUndefined();
          expect(env).toMatchObject({
            DATABASE_AUTH: "aws-rds-iam",
            DATABASE_AWS_REGION: REGIONS[code as keyof typeof REGIONS],
            PGUSER: "rag_ingest_index",
            PGSSLMODE: "verify-full",
          });
          expect(volume!.secret.items.map((i: Obj) => i.key)).toEqual(["QDRANT_API_KEY"]);
          continue;
        }
        // Parse and embed open no catalogue and no vector store: nothing of either, no secret
        // mounted (a Secret volume without items would hold every key).
        const catalogue = Object.keys(env).filter((n) =>
          /^(PG|DATABASE_|QDRANT_|VECTOR_|SEARCH_BACKEND|KAFKA_CATALOGUE|LLM_|RETENTION_)/.test(n),
        );
        expect(catalogue, `${code} ${role}`).toEqual([]);
        expect(volume, `${code} ${role}`).toBeUndefined();
        // Parse embeds nothing; embed has its model.
        const embedding = Object.keys(env).filter((n) => n.startsWith("EMBEDDING_"));
        if (role === "parse") expect(embedding, code).toEqual([]);
        else expect(embedding, code).not.toEqual([]);
      }
  });

  it("puts the API on its region's bus: it produces, nothing more", () => {
    for (const [code, region] of Object.entries(REGIONS)) {
      const env = envOf(deploymentOf(code, "rag-api"));
      expect(env).toMatchObject({
        INGEST_BUS: "kafka",
        KAFKA_AUTH: "aws-msk-iam",
        KAFKA_AWS_REGION: region,
        KAFKA_BROKERS: brokersOf(code),
      });
      const [api] = rolePermissions(result.resources).filter(
        (p) => p.role === `rag-enterprise-${code}-runtime`,
      );
      expect(actionsOn(api!.statements, /:topic\/.*\/rag\.documents$/)).toContain(
        "kafka-cluster:WriteData",
      );
      expect(actionsOn(api!.statements, /:kafka:/)).not.toContain("kafka-cluster:ReadData");
      // Outside the primary its uploads go to its own uploads topic, carried to the primary.
      expect(env.KAFKA_FORWARD).toBe(code === PRIMARY ? undefined : "true");
      expect(actionsOn(api!.statements, /:kafka:/)).not.toContain("kafka-cluster:AlterGroup");
    }
  });

  it("scales each role with KEDA on its consumer group's lag, within the topics' partitions", () => {
    for (const [code, region] of Object.entries(REGIONS)) {
      const [auth] = inRegion(T.triggerAuth, code);
      expect((auth!.inputs as Obj).spec).toEqual({ podIdentity: { provider: "aws" } });
      for (const role of ROLES) {
        const so = inRegion(T.scaledObject, code).find(
          (s) => (s.inputs as Obj).spec.scaleTargetRef.name === `rag-ingest-${role}`,
        )!;
        const spec = (so.inputs as Obj).spec;
        const sized = cfg.enterprise.ingest[role];
        expect(spec.minReplicaCount).toBe(sized.minReplicas);
        expect(spec.maxReplicaCount).toBe(sized.maxReplicas);
        expect(spec.maxReplicaCount).toBeLessThanOrEqual(cfg.enterprise.ingest.partitions);
        expect(spec.triggers).toHaveLength(1);
        expect(spec.triggers[0].type).toBe("kafka");
        expect(spec.triggers[0].metadata).toEqual({
          bootstrapServers: brokersOf(code),
          consumerGroup: INGEST_CONSUMER_GROUPS[role],
          topic: ROLE_TOPICS[role],
          lagThreshold: String(sized.lagThreshold),
          offsetResetPolicy: "earliest",
          tls: "enable",
          sasl: "oauthbearer",
          saslTokenProvider: "aws_msk_iam",
          awsRegion: region,
        });
        expect(spec.triggers[0].authenticationRef.name).toBe((auth!.inputs as Obj).metadata.name);
        // Parse and embed stand by outside the log's primary, held at 0 until a failover.
        const paused = (so.inputs as Obj).metadata.annotations?.[
          "autoscaling.keda.sh/paused-replicas"
        ];
        expect(paused, `${code} ${role}`).toBe(
          code !== PRIMARY && role !== "index" ? "0" : undefined,
        );
      }
    }
    expect(ROLE_TOPICS).toEqual({
      parse: "rag.documents",
      embed: "rag.ingest.parsed",
      index: "rag.ingest.embedded",
    });
  });

  it("copies the parse and embed groups' offsets to the other regions, never an index group's", () => {
    const [rep] = ofType(result, T.replicator);
    const groups = (rep!.inputs as Obj).replicationInfoList.consumerGroupReplications[0];
    expect(groups.consumerGroupsToReplicates).toEqual(REPLICATED_GROUPS);
    expect(REPLICATED_GROUPS).toEqual(["rag-ingest-parse", "rag-ingest-embed"]);
  });

  it("ranks serving above batch ingest, and every workload names its class", () => {
    for (const code of Object.keys(REGIONS)) {
      const classes = Object.fromEntries(
        inRegion(T.priorityClass, code).map((p) => [(p.inputs as Obj).metadata.name, p.inputs]),
      ) as Record<string, Obj>;
      const serving = classes[PRIORITY_CLASSES.serving.name]!;
      const batch = classes[PRIORITY_CLASSES.batch.name]!;
      expect(serving.value).toBeGreaterThan(batch.value);
      expect(batch.preemptionPolicy).toBe("Never");
      expect(serving.globalDefault).toBe(false);
      const classOf = (name: string) =>
        (deploymentOf(code, name).inputs as Obj).spec.template.spec.priorityClassName;
      for (const name of ["rag-api", "vllm", "embeddings"])
        expect(classOf(name), name).toBe("rag-serving");
      for (const role of ROLES) expect(classOf(`rag-ingest-${role}`)).toBe("rag-batch-ingest");
      for (const d of inRegion(T.deployment, code))
        expect((d.inputs as Obj).spec.template.spec.priorityClassName, d.name).toBeTruthy();
      const [qdrant] = inRegion(T.release, code).filter((r) => r.inputs.chart === "qdrant");
      expect((qdrant!.inputs as Obj).values.priorityClassName).toBe("rag-serving");
    }
  });

  it("gives each role an identity of its own with only what it does, and no wildcard", () => {
    const roles = rolePermissions(result.resources);
    for (const code of Object.keys(REGIONS)) {
      const of = (suffix: string) =>
        roles.find((r) => r.role === `rag-enterprise-${code}-${suffix}`)!;
      const checked = [...ROLES.map((r) => of(`ingest-${r}`)), of("keda-kafka"), of("runtime")];
      if (code === PRIMARY) checked.push(of("db-users"));
      for (const r of checked) {
        expect(r, code).toBeDefined();
        expect(wildcardsIn(r), r.role).toEqual([]);
        expect(r.managedPolicies, r.role).toEqual([]);
      }
      const [parse, embed, index] = ROLES.map((r) => of(`ingest-${r}`).statements);
      // Every region writes the primary's bucket; outside it, the region's replica is read first.
      const bucket = (region: string, under = "") =>
        new RegExp(`:s3:::rag-enterprise-${region}-documents-[^/]+${under}$`);
      const originals = bucket(PRIMARY, "/documents/documents/\\*");
      const intermediates = bucket(PRIMARY, "/documents/ingest/\\*");
      // Parse alone reads originals, and writes none.
      expect(actionsOn(parse!, originals)).toEqual(["s3:GetObject"]);
      expect(actionsOn(embed!, originals)).toEqual([]);
      // The primary's index alone keeps the catalogue (the retention purge, the orphan sweep):
      // it removes originals, every version; elsewhere index touches none of the primary's.
      expect(actionsOn(index!, originals).sort()).toEqual(
        code === PRIMARY ? ["s3:DeleteObject", "s3:DeleteObjectVersion"] : [],
      );
      expect(actionsOn(parse!, intermediates).sort()).toEqual(["s3:DeleteObject", "s3:PutObject"]);
      expect(actionsOn(index!, intermediates)).not.toContain("s3:PutObject");
      if (code !== PRIMARY) {
        // On its replica no role writes; index removes a deleted document's every version.
        const replica = bucket(code, "/.*");
        for (const s of [parse, embed, index])
          expect(actionsOn(s!, replica)).not.toContain("s3:PutObject");
        expect(actionsOn(index!, bucket(code, "/documents/documents/\\*")).sort()).toEqual([
          "s3:DeleteObject",
          "s3:DeleteObjectVersion",
        ]);
        expect(actionsOn(parse!, bucket(code, "/documents/documents/\\*"))).toEqual([
          "s3:GetObject",
        ]);
      }
      // The bucket itself: listing only, each limited to the role's prefixes.
      for (const s of [parse, embed, index])
        for (const st of s!.filter((x) => list(x.Resource).some((r) => /:s3:::[^/]+$/.test(r)))) {
          expect(list(st.Action).every((a) => a.startsWith("s3:ListBucket"))).toBe(true);
          expect(JSON.stringify(st)).toContain('"s3:prefix"');
        }
      // Each reads its own topic only, and joins its own group only.
      for (const [i, role] of ROLES.entries()) {
        const s = [parse, embed, index][i]!;
        const read = s
          .filter((x) => list(x.Action).includes("kafka-cluster:ReadData"))
          .flatMap((x) => list(x.Resource));
        expect(
          read.map((r) => r.split("/").at(-1)),
          role,
        ).toEqual([...READS[role]]);
        const joins = s
          .filter((x) => list(x.Action).includes("kafka-cluster:AlterGroup"))
          .flatMap((x) => list(x.Resource));
        expect(
          joins.map((r) => r.split("/").at(-1)),
          role,
        ).toEqual([...JOINS[role]]);
      }
      // The catalogue: index and the runtime sign in as their own user of this region's
      // cluster, and read no password; parse and embed, which open no catalogue, get no login.
      const cluster = new RegExp(
        `^arn:aws:rds-db:${REGIONS[code as keyof typeof REGIONS]}:123456789012:dbuser:cluster-[A-Z0-9]{26}/`,
      );
      for (const [name, user] of [
        ["ingest-index", "rag_ingest_index"],
        ["runtime", "rag_runtime"],
      ] as const) {
        const users = dbUsersOf(of(name));
        expect(users, name).toEqual([expect.stringMatching(cluster)]);
        expect(users[0]!.split("/").at(-1), name).toBe(user);
        expect(actionsOn(of(name).statements, /:secretsmanager:/), name).toEqual([]);
      }
      for (const [name, s] of [
        ["parse", parse],
        ["embed", embed],
      ] as const)
        expect(
          s!.flatMap((x) => list(x.Action)).filter((a) => /^(secretsmanager|rds)/.test(a)),
          name,
        ).toEqual([]);
      const clusters = new Set(checked.flatMap((r) => dbUsersOf(r).map((u) => u.split("/")[0])));
      expect(clusters.size, "one cluster per region").toBe(1);
      // The master password: the users' Job in the writer's region alone reads it.
      const usersJob = roles.find((r) => r.role === `rag-enterprise-${code}-db-users`);
      if (code === PRIMARY) {
        expect(usersJob!.statements.flatMap((x) => list(x.Action)).sort()).toEqual([
          "kms:Decrypt",
          "secretsmanager:GetSecretValue",
        ]);
        expect(dbUsersOf(usersJob!)).toEqual([]);
      } else expect(usersJob, code).toBeUndefined();
      // KEDA reads the lag: no data, no group changes.
      const keda = of("keda-kafka").statements.flatMap((s) => list(s.Action));
      expect(keda.sort()).toEqual([
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeCluster",
        "kafka-cluster:DescribeGroup",
        "kafka-cluster:DescribeTopic",
      ]);
      const bound = inRegion(T.association, code).map((a) => [
        a.inputs.namespace,
        a.inputs.serviceAccount,
      ]);
      expect(bound).toEqual(
        expect.arrayContaining([
          ["rag", "rag-ingest-parse"],
          ["rag", "rag-ingest-embed"],
          ["rag", "rag-ingest-index"],
          ["keda", "keda-operator"],
        ]),
      );
    }
  });

  it("opens each role's flows from the flow table: the brokers, the stores, no completions", () => {
    for (const code of Object.keys(REGIONS)) {
      for (const role of ROLES) {
        const [policy] = inRegion(T.networkPolicy, code).filter(
          (p) =>
            (p.inputs as Obj).spec.podSelector.matchLabels?.["app.kubernetes.io/name"] ===
              `rag-ingest-${role}` && (p.inputs as Obj).spec.egress !== undefined,
        );
        const spec = (policy!.inputs as Obj).spec;
        const egressPorts = (spec.egress as Obj[]).flatMap((e) =>
          (e.ports as Obj[]).map((p) => p.port),
        );
        expect(egressPorts, role).toEqual(expect.arrayContaining([9098, 443, 4318]));
        // Aurora and Qdrant: index alone; the embeddings server: embed, and index (its dimensions).
        const uses = { 5432: ["index"], 6333: ["index"], 8080: ["embed", "index"] };
        for (const [port, roles] of Object.entries(uses))
          if (roles.includes(role)) expect(egressPorts, `${role} ${port}`).toContain(Number(port));
          else expect(egressPorts, `${role} ${port}`).not.toContain(Number(port));
        expect(egressPorts, role).not.toContain(8000); // vLLM: the API's alone
        expect(egressPorts, role).not.toContain(6379); // Redis: not on the Kafka bus
        expect(
          (spec.ingress as Obj[]).flatMap((i) => (i.ports as Obj[]).map((p) => p.port)),
        ).toEqual([8081, 8081].slice(0, spec.ingress.length));
      }
      // The mesh lets the index role into Qdrant, and no role into vLLM.
      const allowInto = (match: string) =>
        JSON.stringify(inRegion(T.authorization, code).find((a) => a.name.endsWith(match))!.inputs);
      expect(allowInto("allow-rag-qdrant-qdrant")).toContain("sa/rag-ingest-index");
      expect(allowInto("allow-rag-vllm-rag-platform")).not.toContain("rag-ingest");
    }
  });

  it("starts the stand-by parse and embed in the runbooks of a region taking over ingest", () => {
    const books = result.outputs.failover as Record<
      string,
      { switchover: string[]; failover: string[] }
    >;
    const book = books["eu-central-1"]!;
    const start =
      "kubectl --context eu-central-1 -n rag annotate scaledobject rag-ingest-parse rag-ingest-embed autoscaling.keda.sh/paused-replicas-";
    const stop =
      "kubectl --context eu-west-1 -n rag annotate scaledobject rag-ingest-parse rag-ingest-embed autoscaling.keda.sh/paused-replicas=0 --overwrite";
    expect(book.failover.some((c) => c.startsWith(start))).toBe(true);
    expect(book.failover.some((c) => c.startsWith(stop))).toBe(false); // the primary is gone
    // Planned: the old primary's stages stop before the new one's start.
    const i = book.switchover.findIndex((c) => c.startsWith(stop));
    const j = book.switchover.findIndex((c) => c.startsWith(start));
    expect(i).toBeGreaterThan(-1);
    expect(j).toBeGreaterThan(i);
    expect(book.failover.join("\n")).toMatch(
      /aws eks update-kubeconfig --region eu-central-1 --name \S+ --alias eu-central-1/,
    );
  });

  it("keeps the bucket's key layout the runtime writes", () => {
    expect(objectKey().startsWith(ORIGINALS_PREFIX)).toBe(true);
  });
});

describe("ingest bounds refused before any resource", () => {
  const refuse = (ingest: Record<string, unknown>) =>
    refusedConfig({ tier: "enterprise", ...ENTERPRISE_REQUIRED, enterprise: { ingest } });

  it("more replicas than partitions, or min above max: one line each", () => {
    expect(refuse({ partitions: 6 })).toEqual([
      "rag-platform:enterprise.ingest.parse.maxReplicas: got 12; must be at most enterprise.ingest.partitions (6): a consumer past the topic's partitions gets none and sits idle",
      "rag-platform:enterprise.ingest.embed.maxReplicas: got 8; must be at most enterprise.ingest.partitions (6): a consumer past the topic's partitions gets none and sits idle",
      "rag-platform:enterprise.ingest.index.maxReplicas: got 12; must be at most enterprise.ingest.partitions (6): a consumer past the topic's partitions gets none and sits idle",
    ]);
    expect(refuse({ index: { minReplicas: 20 } })).toEqual([
      "rag-platform:enterprise.ingest.index.minReplicas: got 20; must be at most maxReplicas (12)",
    ]);
  });
});
