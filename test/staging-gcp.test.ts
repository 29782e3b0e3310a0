/**
 * Staging on GCP (Pulumi.staging-gcp.yaml) under the synthesis mocks: what each component sends
 * GCP (encryption, exposure, TLS against the services' own CAs, the runtime's account and its
 * grants, secrets as Secret Manager files), the modes (hosted LLM, Qdrant Cloud, a public load
 * balancer, a prebuilt image) and the configuration errors GCP's own rules bring.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { CLOUD_RUN_SHUTDOWN_SECONDS } from "../components/gcp/cloud-run";
import { KEY_ROTATION_PERIOD } from "../components/gcp/kms";
import { IAP_TCP_FORWARDING_RANGE, NETWORK_TAGS } from "../components/gcp/network";
import { API_IDLE_TIMEOUT_SECONDS } from "../components/shared/runtime-image";
import { ENV, FILE_SUFFIX, SECRET_ENV } from "../runtime/src/config";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { REQUIRED_APIS } from "../stacks/platforms/gcp-run";
import { readStackValues } from "../stacks/stack-values";
import { PROJECT_DIR, type ResourceRecord, type SynthResult } from "../tools/harness";
import { MOCK_GCP_PROJECT_NUMBER } from "../tools/mocks";
import { loadStackConfig } from "../tools/stack-file";
import { byName, ofType, one, synth, waitedFor } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const G = (t: string) => `gcp:${t}`;
const T = {
  api: G("projects/service:Service"),
  keyRing: G("kms/keyRing:KeyRing"),
  key: G("kms/cryptoKey:CryptoKey"),
  keyUser: G("kms/cryptoKeyIAMMember:CryptoKeyIAMMember"),
  secret: G("secretmanager/secret:Secret"),
  secretVersion: G("secretmanager/secretVersion:SecretVersion"),
  secretReader: G("secretmanager/secretIamMember:SecretIamMember"),
  network: G("compute/network:Network"),
  subnet: G("compute/subnetwork:Subnetwork"),
  firewall: G("compute/firewall:Firewall"),
  nat: G("compute/routerNat:RouterNat"),
  peering: G("servicenetworking/connection:Connection"),
  sql: G("sql/databaseInstance:DatabaseInstance"),
  redis: G("redis/instance:Instance"),
  bucket: G("storage/bucket:Bucket"),
  bucketMember: G("storage/bucketIAMMember:BucketIAMMember"),
  audit: G("projects/iAMAuditConfig:IAMAuditConfig"),
  repository: G("artifactregistry/repository:Repository"),
  service: G("cloudrunv2/service:Service"),
  job: G("cloudrunv2/job:Job"),
  account: G("serviceaccount/account:Account"),
  projectMember: G("projects/iAMMember:IAMMember"),
  instance: G("compute/instance:Instance"),
  alert: G("monitoring/alertPolicy:AlertPolicy"),
  channel: G("monitoring/notificationChannel:NotificationChannel"),
  image: "docker:index/image:Image",
  command: "command:local:Command",
};

const props = (r: ResourceRecord) => r.inputs as Obj;
const serviceNamed = (s: SynthResult, suffix: string) =>
  ofType(s, T.service).find((x) => x.name.endsWith(suffix))!;
const container = (s: SynthResult, suffix: string) =>
  props(serviceNamed(s, suffix)).template.containers[0] as Obj;
function envOf(c: Obj): Record<string, string> {
  return Object.fromEntries((c.envs as Obj[]).map((e) => [e.name, e.value]));
}

function problemsIn(config: Record<string, string>): string[] {
  try {
    resolveConfig(readStackValues(config));
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
const problems = (stack: string, sets: string[]) =>
  problemsIn(loadStackConfig(PROJECT_DIR, stack, sets).config);

let staging: SynthResult;
beforeAll(async () => {
  staging = await synth("staging-gcp");
});

describe("staging on GCP: the project, keys and secrets", () => {
  it("turns on the APIs it calls, leaving them on at destroy, and everything waits for them", () => {
    const apis = ofType(staging, T.api);
    expect(apis.map((a) => props(a).service).sort()).toEqual([...REQUIRED_APIS].sort());
    for (const a of apis)
      expect(props(a)).toMatchObject({ project: "my-rag-staging", disableOnDestroy: false });
    for (const r of [
      one(staging, T.sql),
      one(staging, T.redis),
      one(staging, T.bucket),
      one(staging, T.key),
    ]) {
      for (const a of apis) expect(waitedFor(staging, r), r.name).toContain(a.urn);
    }
  });

  it("rotates the data key every 90 days, keeps it on destroy, and lets only the services that encrypt with it use it", () => {
    const key = one(staging, T.key);
    expect(props(key)).toMatchObject({
      purpose: "ENCRYPT_DECRYPT",
      rotationPeriod: KEY_ROTATION_PERIOD,
    });
    expect(key.retainOnDelete).toBe(true);
    const users = ofType(staging, T.keyUser).map((u) => props(u));
    for (const u of users) expect(u.role).toBe("roles/cloudkms.cryptoKeyEncrypterDecrypter");
    expect(users.map((u) => u.member).sort()).toEqual(
      [
        ...["sqladmin", "redis", "secretmanager", "artifactregistry"].map(
          (s) =>
            `serviceAccount:service-${MOCK_GCP_PROJECT_NUMBER}@gcp-sa-${s}.iam.gserviceaccount.com`,
        ),
        `serviceAccount:service-${MOCK_GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`,
        `serviceAccount:service-${MOCK_GCP_PROJECT_NUMBER}@compute-system.iam.gserviceaccount.com`,
      ].sort(),
    );
  });

  it("keeps each secret in the stack's region under its key, the generated values secret in the state", () => {
    for (const s of ofType(staging, T.secret)) {
      expect(props(s).replication, props(s).secretId).toEqual({
        userManaged: {
          replicas: [
            {
              location: "europe-west1",
              customerManagedEncryption: {
                kmsKeyName: expect.stringMatching(/\/cryptoKeys\/data$/),
              },
            },
          ],
        },
      });
    }
    expect(
      ofType(staging, T.secret)
        .map((s) => props(s).secretId)
        .sort(),
    ).toEqual([
      "rag-staging-admin-api-key",
      "rag-staging-postgres-password",
      "rag-staging-postgres-server-ca",
      "rag-staging-redis-auth",
      "rag-staging-redis-server-ca",
    ]);
    for (const v of ofType(staging, T.secretVersion))
      expect(props(v).secretData, v.name).toBe("[secret]");
    expect(staging.outputs.adminApiKey).toBe(
      "gcloud secrets versions access latest --secret rag-staging-admin-api-key --project my-rag-staging",
    );
  });
});

describe("staging on GCP: the network and what it exposes", () => {
  it("runs one subnet with Private Google Access and flow logs, Cloud NAT, and private services access for the data stores", () => {
    expect(props(one(staging, T.network))).toMatchObject({
      autoCreateSubnetworks: false,
      routingMode: "REGIONAL",
    });
    expect(props(one(staging, T.subnet))).toMatchObject({
      ipCidrRange: "10.40.0.0/20",
      privateIpGoogleAccess: true,
      logConfig: { aggregationInterval: "INTERVAL_5_SEC", metadata: "INCLUDE_ALL_METADATA" },
    });
    expect(props(one(staging, T.nat))).toMatchObject({
      natIpAllocateOption: "AUTO_ONLY",
      sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
    });
    expect(props(one(staging, T.peering)).service).toBe("servicenetworking.googleapis.com");
    for (const r of [one(staging, T.sql), one(staging, T.redis)])
      expect(waitedFor(staging, r)).toContain(one(staging, T.peering).urn);
  });

  it("lets the runtime's tag reach Ollama and IAP reach SSH on the GPU host, and logs the denial of everything else", () => {
    const rules = Object.fromEntries(
      ofType(staging, T.firewall).map((f) => [f.name.replace("rag-staging-vpc-", ""), props(f)]),
    );
    expect(rules.ollama).toMatchObject({
      sourceTags: [NETWORK_TAGS.runtime],
      targetTags: [NETWORK_TAGS.ollama],
      allows: [{ protocol: "tcp", ports: ["11434"] }],
    });
    expect(rules["iap-ssh"]).toMatchObject({
      sourceRanges: [IAP_TCP_FORWARDING_RANGE],
      targetTags: [NETWORK_TAGS.ollama],
      allows: [{ protocol: "tcp", ports: ["22"] }],
    });
    expect(rules["deny-ingress"]).toMatchObject({
      sourceRanges: ["0.0.0.0/0"],
      denies: [{ protocol: "all" }],
      priority: 65534,
    });
    for (const r of Object.values(rules))
      expect(r.logConfig).toEqual({ metadata: "INCLUDE_ALL_METADATA" });
    expect(
      Object.values(rules).filter((r) => (r.sourceRanges ?? []).includes("0.0.0.0/0") && r.allows),
    ).toEqual([]);
  });
});

describe("staging on GCP: Cloud SQL and Memorystore", () => {
  it("runs Cloud SQL for PostgreSQL 16 on a private IP only, encrypted connections only, the stack's key, backups and point-in-time recovery", () => {
    const sql = props(one(staging, T.sql));
    expect(sql).toMatchObject({
      databaseVersion: "POSTGRES_16",
      encryptionKeyName: expect.stringMatching(/\/cryptoKeys\/data$/),
      deletionProtection: false,
    });
    expect(sql.settings).toMatchObject({
      tier: "db-custom-2-7680",
      edition: "ENTERPRISE",
      availabilityType: "ZONAL",
      diskAutoresize: true,
      diskSize: 50,
      diskAutoresizeLimit: 200,
    });
    expect(sql.settings.ipConfiguration).toMatchObject({
      ipv4Enabled: false,
      sslMode: "ENCRYPTED_ONLY",
      serverCaMode: "GOOGLE_MANAGED_INTERNAL_CA",
      privateNetwork: expect.stringContaining("/global/networks/"),
    });
    expect(sql.settings.backupConfiguration).toMatchObject({
      enabled: true,
      pointInTimeRecoveryEnabled: true,
      backupRetentionSettings: { retainedBackups: 7, retentionUnit: "COUNT" },
      transactionLogRetentionDays: 7,
    });
    expect(sql.settings.databaseFlags).toEqual(
      expect.arrayContaining([
        { name: "log_connections", value: "on" },
        { name: "log_lock_waits", value: "on" },
      ]),
    );
    expect(props(one(staging, G("sql/user:User"))).password).toBe("[secret]");
  });

  it("turns on a regional standby and deletion protection when the tier asks", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:postgres.highAvailability=true",
      "rag-platform:postgres.deletionProtection=true",
    ]);
    const sql = one(s, T.sql);
    expect(props(sql).settings).toMatchObject({
      availabilityType: "REGIONAL",
      deletionProtectionEnabled: true,
    });
    expect(props(sql).deletionProtection).toBe(true);
    expect(sql.protect).toBe(true);
  });

  it("runs Memorystore with a replica, AUTH, TLS against its own CA, the stack's key and no eviction, reached privately", () => {
    expect(props(one(staging, T.redis))).toMatchObject({
      tier: "STANDARD_HA",
      memorySizeGb: 1,
      replicaCount: 1,
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      customerManagedKey: expect.stringMatching(/\/cryptoKeys\/data$/),
      redisConfigs: { "maxmemory-policy": "noeviction" },
    });
  });

  it("has the runtime check both services' certificates against their own CAs, each CA mounted from Secret Manager", () => {
    const env = envOf(container(staging, "-api"));
    expect(env[ENV.pgSslMode]).toBe("verify-ca");
    expect(env[ENV.pgSslRootCert]).toBe("/run/secrets/rag/pgsslrootcert/PGSSLROOTCERT");
    expect(env[ENV.redisTls]).toBe("true");
    expect(env[ENV.redisTlsCaFile]).toBe("/run/secrets/rag/redis_tls_ca_file/REDIS_TLS_CA_FILE");
    const volumes = props(serviceNamed(staging, "-api")).template.volumes as Obj[];
    expect(volumes.find((v) => v.name === "file-pgsslrootcert")!.secret).toEqual({
      secret: "rag-staging-postgres-server-ca",
      items: [{ path: "PGSSLROOTCERT", version: "latest" }],
    });
  });
});

describe("staging on GCP: documents", () => {
  it("keeps documents in a bucket with uniform access, public access prevented, the stack's key, versions expiring and no soft delete (deletion is final)", () => {
    const bucket = one(staging, T.bucket);
    expect(props(bucket)).toMatchObject({
      location: "europe-west1",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      softDeletePolicy: { retentionDurationSeconds: 0 },
      forceDestroy: false,
      encryption: { defaultKmsKeyName: expect.stringMatching(/\/cryptoKeys\/data$/) },
    });
    expect(props(bucket).lifecycleRules).toEqual([
      {
        action: { type: "Delete" },
        condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" },
      },
    ]);
    expect(bucket.retainOnDelete).toBe(true);
    expect(props(one(staging, T.audit))).toMatchObject({
      service: "storage.googleapis.com",
      auditLogConfigs: [{ logType: "DATA_READ" }, { logType: "DATA_WRITE" }],
    });
    expect(envOf(container(staging, "-api"))[ENV.objectStoreUrl]).toBe(
      `gs://${props(bucket).name}/documents`,
    );
  });
});

describe("staging on GCP: the runtime on Cloud Run", () => {
  it("keeps the API internal, answers within the runtime's bounds, scales on concurrency within the configured range", () => {
    const api = props(serviceNamed(staging, "-api"));
    expect(api).toMatchObject({
      ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
      invokerIamDisabled: true,
      defaultUriDisabled: false,
    });
    expect(api.template).toMatchObject({
      timeout: `${API_IDLE_TIMEOUT_SECONDS}s`,
      maxInstanceRequestConcurrency: 50,
      scaling: { minInstanceCount: 2, maxInstanceCount: 4 },
    });
    expect(api.template.containers[0].resources.limits).toEqual({ cpu: "1", memory: "2048Mi" });
    const env = envOf(container(staging, "-api"));
    expect(Number(env[ENV.httpKeepAliveSeconds])).toBeGreaterThan(API_IDLE_TIMEOUT_SECONDS);
    expect(env[ENV.shutdownTimeoutSeconds]).toBe(String(CLOUD_RUN_SHUTDOWN_SECONDS));
    expect(staging.outputs.apiUrl).toMatch(/^https:\/\/rag-staging-run-api-.+\.run\.app$/);
  });

  it("sends the runtime's VPC traffic out tagged, for the firewall, and keeps public traffic off the NAT", () => {
    for (const s of ofType(staging, T.service)) {
      expect(props(s).template.vpcAccess, s.name).toMatchObject({
        egress: "PRIVATE_RANGES_ONLY",
        networkInterfaces: [{ tags: [NETWORK_TAGS.runtime] }],
      });
    }
  });

  it("mounts every secret from Secret Manager as a file; no environment value holds one", () => {
    for (const r of [...ofType(staging, T.service), ...ofType(staging, T.job)]) {
      const spec = r.type === T.job ? props(r).template.template : props(r).template;
      const env = envOf(spec.containers[0]);
      for (const name of SECRET_ENV) expect(env[name], `${r.name}: ${name}`).toBeUndefined();
      for (const e of spec.containers[0].envs as Obj[])
        expect(e.valueSource, e.name).toBeUndefined();
      for (const name of [ENV.pgPassword, ENV.redisPassword, ENV.adminApiKey])
        expect(env[`${name}${FILE_SUFFIX}`], `${r.name}: ${name}`).toBe(
          `/run/secrets/rag/${name.toLowerCase()}/${name}`,
        );
      expect((spec.volumes as Obj[]).every((v) => v.secret.items[0].version === "latest")).toBe(
        true,
      );
    }
  });

  it("runs the worker with CPU always on and no ingress but the VPC's, and re-embeds through a job with its environment", () => {
    const worker = props(serviceNamed(staging, "-worker"));
    expect(worker.ingress).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
    expect(worker.template.containers[0].resources.cpuIdle).toBe(false);
    expect(worker.template.scaling).toEqual({ minInstanceCount: 1, maxInstanceCount: 4 });
    const job = props(one(staging, T.job)).template.template;
    expect(job.containers[0].commands).toEqual(["node", "dist/reembed.js"]);
    expect(envOf(job.containers[0])).toEqual(envOf(worker.template.containers[0]));
    expect(staging.outputs.reembedJob).toBe(
      "gcloud run jobs execute rag-staging-run-reembed --region europe-west1 --project my-rag-staging --wait",
    );
  });

  it("lets the runtime's account read its secrets and use the bucket's objects, nothing else", () => {
    const account = byName(staging, "rag-staging-run-runtime");
    const readers = ofType(staging, T.secretReader);
    expect(readers.map((r) => props(r).role)).toEqual(
      readers.map(() => "roles/secretmanager.secretAccessor"),
    );
    expect(readers.map((r) => props(r).secretId).sort()).toEqual(
      ofType(staging, T.secret)
        .map((s) => props(s).secretId)
        .sort(),
    );
    expect(props(one(staging, T.bucketMember))).toMatchObject({
      role: "roles/storage.objectUser",
      bucket: props(one(staging, T.bucket)).name,
    });
    for (const grant of [...readers, one(staging, T.bucketMember)])
      expect(grant.propertyDependencies.member).toEqual([account.urn]);
    expect(
      ofType(staging, T.projectMember).filter((m) =>
        (m.propertyDependencies.member ?? []).includes(account.urn),
      ),
    ).toEqual([]);
  });
});

describe("staging on GCP: the runtime image", () => {
  it("builds the image into a repository with the stack's key and immutable tags, pushing with the deployer's own token", () => {
    expect(props(one(staging, T.repository))).toMatchObject({
      format: "DOCKER",
      dockerConfig: { immutableTags: true },
      kmsKeyName: expect.stringMatching(/\/cryptoKeys\/data$/),
    });
    expect(props(one(staging, T.command))).toMatchObject({
      create: "gcloud auth print-access-token",
      logging: "none",
    });
    expect(props(one(staging, T.image)).imageName).toMatch(
      /^europe-west1-docker\.pkg\.dev\/my-rag-staging\/rag-staging-runtime\/rag-runtime:src-[0-9a-f]{16}$/,
    );
  });

  it("uses a prebuilt image when one is configured, and builds nothing", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:runtimeImage=europe-west1-docker.pkg.dev/acme/rag/rag-runtime:1.4.2",
    ]);
    expect(ofType(s, T.repository)).toEqual([]);
    expect(ofType(s, T.image)).toEqual([]);
    expect(container(s, "-api").image).toBe(
      "europe-west1-docker.pkg.dev/acme/rag/rag-runtime:1.4.2",
    );
  });
});

describe("staging on GCP: the GPU host", () => {
  it("runs Ollama on a T4 at a fixed private address, no public IP, OS Login only, its disk under the stack's key, an account that only writes logs and metrics", () => {
    const vm = props(one(staging, T.instance));
    expect(vm).toMatchObject({
      machineType: "n1-standard-4",
      guestAccelerators: [{ type: "nvidia-tesla-t4", count: 1 }],
      scheduling: { onHostMaintenance: "TERMINATE" },
      tags: [NETWORK_TAGS.ollama],
    });
    expect(vm.networkInterfaces[0].accessConfigs).toBeUndefined();
    expect(vm.networkInterfaces[0].networkIp).toBe("10.40.0.10");
    expect(vm.metadata).toEqual({ "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" });
    expect(vm.bootDisk.kmsKeySelfLink).toMatch(/\/cryptoKeys\/data$/);
    expect(vm.shieldedInstanceConfig).toEqual({
      enableSecureBoot: false,
      enableVtpm: true,
      enableIntegrityMonitoring: true,
    });
    expect(vm.metadataStartupScript).toContain("ollama pull llama3.1:8b");
    const roles = ofType(staging, T.projectMember)
      .map((m) => props(m).role)
      .sort();
    expect(roles).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter"]);
    expect(envOf(container(staging, "-api"))[ENV.llmBaseUrl]).toBe("http://10.40.0.10:11434");
    expect(staging.outputs.llmHost).toMatchObject({
      ssh: expect.stringContaining("--tunnel-through-iap"),
      ollamaTunnel: expect.stringContaining("-L 11434:localhost:11434"),
    });
  });

  it("takes a G2 machine, which comes with its L4, for an L4", async () => {
    const s = await synth("staging-gcp", ["rag-platform:llm.gpuType=l4"]);
    const vm = props(one(s, T.instance));
    expect(vm.machineType).toBe("g2-standard-4");
    expect(vm.guestAccelerators).toBeUndefined();
  });
});

describe("staging on GCP: modes", () => {
  it("runs a hosted LLM with no GPU host, its key a secret the operator adds a version to", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=openai",
      "rag-platform:llm.model=gpt-4o-mini",
    ]);
    expect(ofType(s, T.instance)).toEqual([]);
    const secret = ofType(s, T.secret).find(
      (x) => props(x).secretId === "rag-staging-llm-api-key",
    )!;
    expect(
      ofType(s, T.secretVersion).filter((v) => v.propertyDependencies.secret?.includes(secret.urn)),
    ).toEqual([]);
    expect((s.outputs.secretsToFill as Record<string, string>)["llm-api-key"]).toBe(
      "gcloud secrets versions add rag-staging-llm-api-key --project my-rag-staging --data-file=<file holding the value>",
    );
    expect(
      s.calls
        .filter((c) => c.token === "gcp:secretmanager/getSecretVersion:getSecretVersion")
        .map((c) => c.inputs),
    ).toEqual([
      { project: "my-rag-staging", secret: "rag-staging-llm-api-key", fetchSecretData: false },
    ]);
    expect(envOf(container(s, "-api"))[`${ENV.llmApiKey}${FILE_SUFFIX}`]).toBe(
      "/run/secrets/rag/llm_api_key/LLM_API_KEY",
    );
  });

  it("puts the API behind a global HTTPS load balancer, TLS 1.2+, with a certificate Google issues for the hostname", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:domain.certificate=google-managed",
      "rag-platform:domain.hostname=rag.example.com",
    ]);
    expect(props(serviceNamed(s, "-api"))).toMatchObject({
      ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
      defaultUriDisabled: true,
    });
    expect(props(one(s, G("compute/globalForwardingRule:GlobalForwardingRule")))).toMatchObject({
      portRange: "443",
      loadBalancingScheme: "EXTERNAL_MANAGED",
    });
    expect(props(one(s, G("compute/sSLPolicy:SSLPolicy")))).toEqual(
      expect.objectContaining({ profile: "MODERN", minTlsVersion: "TLS_1_2" }),
    );
    expect(props(one(s, G("compute/managedSslCertificate:ManagedSslCertificate"))).managed).toEqual(
      { domains: ["rag.example.com"] },
    );
    expect(props(one(s, G("compute/backendService:BackendService"))).logConfig).toEqual({
      enable: true,
      sampleRate: 1,
    });
    expect(ofType(s, G("compute/targetHttpProxy:TargetHttpProxy"))).toEqual([]);
    expect(s.outputs.apiUrl).toBe("https://rag.example.com");
    expect(s.outputs.loadBalancerIp).toBe("34.120.0.10");
    expect(envOf(container(s, "-api"))[ENV.publicUrl]).toBe("https://rag.example.com");
  });

  it("serves your own certificate when its path is given", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:domain.certificate=projects/my-rag-staging/global/sslCertificates/rag",
      "rag-platform:domain.hostname=rag.example.com",
    ]);
    expect(ofType(s, G("compute/managedSslCertificate:ManagedSslCertificate"))).toEqual([]);
    expect(props(one(s, G("compute/targetHttpsProxy:TargetHttpsProxy"))).sslCertificates).toEqual([
      "projects/my-rag-staging/global/sslCertificates/rag",
    ]);
  });
});

describe("staging on GCP: observability", () => {
  it("alerts on the API, Cloud SQL, Memorystore and the GPU host to the configured e-mails, with a dashboard", async () => {
    const s = await synth("staging-gcp", [
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ]);
    expect(props(one(s, T.channel))).toMatchObject({
      type: "email",
      labels: { email_address: "oncall@example.com" },
    });
    const alerts = Object.fromEntries(
      ofType(s, T.alert).map((a) => [a.name.replace("rag-staging-monitoring-", ""), props(a)]),
    );
    expect(Object.keys(alerts).sort()).toEqual([
      "api-5xx",
      "llm-host-down",
      "postgres-cpu",
      "postgres-disk",
      "redis-memory",
    ]);
    expect(alerts["api-5xx"]!.conditions[0].conditionThreshold.filter).toContain(
      'metric.label."response_code_class"="5xx"',
    );
    expect(alerts["llm-host-down"]!.conditions[0].conditionThreshold.evaluationMissingData).toBe(
      "EVALUATION_MISSING_DATA_ACTIVE",
    );
    for (const a of Object.values(alerts)) expect(a.notificationChannels).toHaveLength(1);
    expect(s.outputs.dashboardUrl).toMatch(
      /^https:\/\/console\.cloud\.google\.com\/monitoring\/dashboards\/builder\/[0-9a-f]+\?project=my-rag-staging$/,
    );
  });
});

describe("staging on GCP: configuration errors", () => {
  it("refuses an A10G, which GCP offers no machine for", () => {
    expect(problems("staging-gcp", ["rag-platform:llm.gpuType=a10g"])).toEqual([
      'rag-platform:llm.gpuType: got "a10g"; staging runs Ollama on one single-GPU machine (allowed on gcp: t4, l4)',
    ]);
  });

  it("refuses sizes named for another cloud, and a replica on a BASIC Memorystore", () => {
    expect(
      problems("staging-gcp", [
        "rag-platform:postgres.size=db.t4g.medium",
        "rag-platform:redis.size=BASIC-1",
      ]),
    ).toEqual([
      'rag-platform:postgres.size: got "db.t4g.medium"; must be a Cloud SQL machine type (allowed: db-custom-<vCPUs>-<MiB>, e.g. db-custom-2-7680, or db-perf-optimized-N-<vCPUs>)',
      'rag-platform:redis.size: got "BASIC-1"; got a BASIC instance, which has no replica; redis.replicas and redis.highAvailability need STANDARD_HA (e.g. STANDARD_HA-1)',
    ]);
  });

  it("refuses a certificate that is neither google-managed nor a Compute Engine certificate, or one without a hostname", () => {
    expect(
      problems("staging-gcp", [
        "rag-platform:domain.certificate=arn:aws:acm:eu-west-1:123456789012:certificate/abc",
        "rag-platform:domain.hostname=rag.example.com",
      ]),
    ).toEqual([
      'rag-platform:domain.certificate: got "arn:aws:acm:eu-west-1:123456789012:certificate/abc"; must be "google-managed" or a Compute Engine SSL certificate on gcp (projects/<project>/global/sslCertificates/<name>)',
    ]);
    expect(problems("staging-gcp", ["rag-platform:domain.certificate=google-managed"])).toEqual([
      "rag-platform:domain.hostname: got nothing; required with domain.certificate on gcp (the load balancer's certificate is for that name)",
    ]);
  });

  it("refuses a missing project, an existing VPC and a range the subnet does not fit in", () => {
    const config = loadStackConfig(PROJECT_DIR, "staging-gcp", [
      "rag-platform:network.existingNetworkId=vpc-0123",
      "rag-platform:network.cidr=10.40.0.0/24",
    ]).config;
    delete config["rag-platform:gcpProject"];
    expect(problemsIn(config)).toEqual([
      'rag-platform:network.existingNetworkId: got "vpc-0123"; only used on aws (the GCP platform creates its VPC network)',
      'rag-platform:network.cidr: got "10.40.0.0/24"; is too small for the GCP subnet (allowed: a /20 or larger, e.g. 10.40.0.0/16)',
      "rag-platform:gcpProject: got nothing; required when cloud is gcp (the project id resources are created in)",
    ]);
  });
});
