/**
 * Staging on Azure (Pulumi.staging-azure.yaml) under the synthesis mocks: what each component
 * sends Azure (encryption, exposure, TLS, identities and their grants, secrets as Key Vault
 * references), the modes (hosted LLM, Qdrant Cloud, a public domain, a prebuilt image) and the
 * configuration errors Azure's own rules bring.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV, FILE_SUFFIX, SECRET_ENV } from "../runtime/src/config";
import { bullmqWaitList } from "../runtime/src/queue/wait-list";
import { BUILTIN_ROLES } from "../components/azure/common";
import { DOCUMENT_ACCESS } from "../components/azure/document-store";
import { SECRETS_DIR, answerBoundSeconds } from "../components/shared/runtime-image";
import { INGRESS_IDLE_TIMEOUT_SECONDS } from "../components/azure/container-apps";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { loadStackConfig } from "../tools/stack-file";
import { readStackValues } from "../stacks/stack-values";
import { PROJECT_DIR } from "../tools/harness";
import { byName, ofType, one, synth, waitedFor } from "./helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const A = (t: string) => `azure-native:${t}`;
const T = {
  vault: A("keyvault:Vault"),
  key: A("keyvault:Key"),
  secret: A("keyvault:Secret"),
  identity: A("managedidentity:UserAssignedIdentity"),
  grant: A("authorization:RoleAssignment"),
  role: A("authorization:RoleDefinition"),
  account: A("storage:StorageAccount"),
  blobService: A("storage:BlobServiceProperties"),
  container: A("storage:BlobContainer"),
  lifecycle: A("storage:ManagementPolicy"),
  server: A("dbforpostgresql:Server"),
  parameter: A("dbforpostgresql:Configuration"),
  redis: A("redisenterprise:RedisEnterprise"),
  redisDb: A("redisenterprise:Database"),
  subnet: A("network:Subnet"),
  nsg: A("network:NetworkSecurityGroup"),
  endpoint: A("network:PrivateEndpoint"),
  nic: A("network:NetworkInterface"),
  vm: A("compute:VirtualMachine"),
  extension: A("compute:VirtualMachineExtension"),
  environment: A("app:ManagedEnvironment"),
  app: A("app:ContainerApp"),
  job: A("app:Job"),
  certificate: A("app:Certificate"),
  registry: A("containerregistry:Registry"),
  diagnostics: A("monitor:DiagnosticSetting"),
  alert: A("monitor:MetricAlert"),
  actionGroup: A("monitor:ActionGroup"),
  image: "docker:index/image:Image",
  command: "command:local:Command",
};

const props = (r: ResourceRecord) => r.inputs as Obj;
const appNamed = (s: SynthResult, name: string) =>
  ofType(s, T.app).find((a) => props(a).containerAppName === name)!;
/** An app's environment: each variable's plain value, or `secretRef:<name>`. */
function envOf(container: Obj): Record<string, string> {
  return Object.fromEntries(
    (container.env as Obj[]).map((e) => [e.name, e.value ?? `secretRef:${e.secretRef}`]),
  );
}
const apiContainer = (s: SynthResult) =>
  props(appNamed(s, "rag-api")).template.containers[0] as Obj;
const workerContainer = (s: SynthResult) =>
  props(appNamed(s, "rag-worker")).template.containers[0] as Obj;
const roleGuid = (grant: ResourceRecord) => String(props(grant).roleDefinitionId).split("/").pop();

function problems(stack: string, sets: string[]): string[] {
  try {
    resolveConfig(readStackValues(loadStackConfig(PROJECT_DIR, stack, sets).config));
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

let staging: SynthResult;
beforeAll(async () => {
  staging = await synth("staging-azure");
});

describe("staging on Azure: keys, secrets and encryption at rest", () => {
  it("keeps secrets and the data key in a vault with RBAC, soft delete, purge protection and no public access", () => {
    const v = props(one(staging, T.vault)).properties;
    expect(v).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      softDeleteRetentionInDays: 90,
      enablePurgeProtection: true,
      publicNetworkAccess: "Disabled",
    });
    expect(v.networkAcls).toEqual({ defaultAction: "Deny", bypass: "AzureServices" });
    expect(v.accessPolicies).toBeUndefined();
    expect(one(staging, T.vault).retainOnDelete).toBe(true);
    // Azure deletes a group with what is in it: the group is kept too.
    expect(one(staging, A("resources:ResourceGroup")).retainOnDelete).toBe(true);
  });

  it("rotates the data key yearly, and lets one identity only wrap and unwrap with it", () => {
    const key = props(one(staging, T.key)).properties;
    expect(key).toMatchObject({ kty: "RSA", keySize: 3072 });
    expect(key.rotationPolicy.lifetimeActions).toContainEqual({
      trigger: { timeAfterCreate: "P1Y" },
      action: { type: "rotate" },
    });
    expect(key.rotationPolicy.attributes.expiryTime).toBe("P2Y");
    const grants = ofType(staging, T.grant).filter(
      (g) => roleGuid(g) === BUILTIN_ROLES.keyVaultCryptoServiceEncryptionUser,
    );
    expect(grants).toHaveLength(1);
    expect(props(grants[0]!).scope).toMatch(/\/vaults\/rag-staging-kv-[a-z0-9]+\/keys\/data$/);
    expect(grants[0]!.propertyDependencies.principalId).toEqual([
      byName(staging, "rag-staging-kv-encryption").urn,
    ]);
  });

  it("writes every generated secret into the vault through ARM, its value kept secret", () => {
    const secrets = ofType(staging, T.secret);
    expect(secrets.map((s) => props(s).secretName).sort()).toEqual([
      "admin-api-key",
      "postgres-password",
      "redis-access-key",
    ]);
    // The value makes the whole properties object secret in the state.
    for (const s of secrets) expect(props(s).properties, props(s).secretName).toBe("[secret]");
  });

  it("encrypts documents with the vault's key over infrastructure encryption, versioned, old versions expiring, no blob soft delete (deletion is final)", () => {
    const account = props(one(staging, T.account));
    expect(account.encryption).toMatchObject({
      keySource: "Microsoft.Keyvault",
      requireInfrastructureEncryption: true,
      keyVaultProperties: { keyName: "data" },
    });
    expect(account.encryption.keyVaultProperties.keyVaultUri).toMatch(
      /^https:\/\/rag-staging-kv-[a-z0-9]+\.vault\.azure\.net\/$/,
    );
    expect(account.encryption.encryptionIdentity.encryptionUserAssignedIdentity).toBe(
      account.identity.userAssignedIdentities[0],
    );
    const service = props(one(staging, T.blobService));
    expect(service).toMatchObject({
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: false },
    });
    const rule = props(one(staging, T.lifecycle)).policy.rules[0];
    expect(rule.definition.actions.version.delete.daysAfterCreationGreaterThan).toBe(30);
    expect(one(staging, T.account).retainOnDelete).toBe(true);
  });

  it("follows the configured retention for old document versions", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:documents.noncurrentVersionRetentionDays=7",
    ]);
    expect(
      props(one(s, T.lifecycle)).policy.rules[0].definition.actions.version.delete
        .daysAfterCreationGreaterThan,
    ).toBe(7);
  });

  it("encrypts PostgreSQL, Redis and the GPU host's disk with the same key", () => {
    const server = props(one(staging, T.server));
    expect(server.dataEncryption).toMatchObject({
      type: "AzureKeyVault",
      primaryKeyURI: expect.stringMatching(/\/keys\/data$/),
    });
    const redis = props(one(staging, T.redis));
    // Managed Redis takes a versioned key URL only.
    expect(redis.encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl).toMatch(
      /\/keys\/data\/[0-9a-f]{32}$/,
    );
    const des = props(one(staging, A("compute:DiskEncryptionSet")));
    expect(des).toMatchObject({
      encryptionType: "EncryptionAtRestWithCustomerKey",
      rotationToLatestKeyVersionEnabled: true,
    });
    expect(
      props(one(staging, T.vm)).storageProfile.osDisk.managedDisk.diskEncryptionSet.id,
    ).toContain("rag-staging-llm-disks");
  });
});

describe("staging on Azure: the network and what it exposes", () => {
  it("cuts private subnets (no default outbound access), each behind its NSG, NAT for the apps and the GPU host", () => {
    const subnets = Object.fromEntries(
      ofType(staging, T.subnet).map((s) => [s.name.replace("rag-staging-vnet-", ""), props(s)]),
    );
    expect(Object.keys(subnets).sort()).toEqual(["apps", "endpoints", "llm", "postgres"]);
    for (const [name, s] of Object.entries(subnets)) {
      expect(s.defaultOutboundAccess, name).toBe(false);
      expect(s.networkSecurityGroup.id, name).toContain(`rag-staging-vnet-${name}`);
    }
    expect(subnets.apps!.addressPrefix).toBe("10.40.0.0/23");
    expect(subnets.apps!.delegations).toEqual([
      { name: "container-apps", serviceName: "Microsoft.App/environments" },
    ]);
    expect(subnets.postgres!.delegations[0].serviceName).toBe(
      "Microsoft.DBforPostgreSQL/flexibleServers",
    );
    expect(subnets.endpoints!.privateEndpointNetworkPolicies).toBe("Enabled");
    expect(subnets.apps!.natGateway).toBeDefined();
    expect(subnets.llm!.natGateway).toBeDefined();
    expect(subnets.postgres!.natGateway).toBeUndefined();
  });

  it("lets only the apps subnet reach the database, the private endpoints and Ollama, on their ports, and admits nothing from the internet", () => {
    const rules = (name: string) =>
      props(ofType(staging, T.nsg).find((n) => n.name === `rag-staging-vnet-${name}`)!)
        .securityRules as Obj[];
    const allowed = (name: string) => rules(name).filter((r) => r.access === "Allow");
    expect(
      allowed("postgres").map((r) => [r.sourceAddressPrefix, r.destinationPortRanges]),
    ).toEqual([
      ["10.40.0.0/23", ["5432"]],
      ["10.40.2.0/24", ["5432"]],
    ]);
    expect(
      allowed("endpoints").map((r) => [r.sourceAddressPrefix, r.destinationPortRanges]),
    ).toEqual([["10.40.0.0/23", ["443", "10000"]]]);
    expect(allowed("llm").map((r) => [r.sourceAddressPrefix, r.destinationPortRanges])).toEqual([
      ["10.40.0.0/23", ["11434"]],
    ]);
    for (const name of ["postgres", "endpoints", "llm"])
      expect(rules(name).find((r) => r.access === "Deny")).toMatchObject({
        sourceAddressPrefix: "VirtualNetwork",
        priority: 4000,
      });
    expect(rules("apps")).toEqual([]);
    const all = ofType(staging, T.nsg).flatMap((n) => props(n).securityRules as Obj[]);
    expect(
      all.filter((r) => ["Internet", "*"].includes(r.sourceAddressPrefix) && r.access === "Allow"),
    ).toEqual([]);
  });

  it("reaches the vault, the documents and Redis through private endpoints registered in private DNS, and keeps them off the internet", () => {
    const groups = ofType(staging, T.endpoint)
      .map((e) => props(e).privateLinkServiceConnections[0].groupIds[0])
      .sort();
    expect(groups).toEqual(["blob", "redisEnterprise", "vault"]);
    for (const e of ofType(staging, T.endpoint))
      expect(props(e).subnet.id).toContain("rag-staging-vnet-endpoints");
    const zones = ofType(staging, A("privatedns:PrivateZone")).map((z) => props(z).privateZoneName);
    expect(zones).toEqual(
      expect.arrayContaining([
        "privatelink.vaultcore.azure.net",
        "privatelink.blob.core.windows.net",
        "privatelink.redis.azure.net",
      ]),
    );
    expect(props(one(staging, T.account))).toMatchObject({
      publicNetworkAccess: "Disabled",
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: "TLS1_2",
    });
    expect(props(one(staging, T.container)).publicAccess).toBe("None");
    expect(props(one(staging, T.redis)).publicNetworkAccess).toBe("Disabled");
    expect(props(one(staging, T.server)).network).toMatchObject({
      publicNetworkAccess: "Disabled",
      delegatedSubnetResourceId: expect.stringContaining("rag-staging-vnet-postgres"),
    });
  });
});

describe("staging on Azure: PostgreSQL and Redis", () => {
  it("runs PostgreSQL 16 burstable with TLS 1.2 required, pgvector allow-listed, a week of backups, storage rounded up to a size Azure offers", () => {
    const server = props(one(staging, T.server));
    expect(server).toMatchObject({
      version: "16",
      sku: { name: "Standard_B2s", tier: "Burstable" },
      storage: { storageSizeGB: 64, autoGrow: "Enabled" },
    });
    expect(server.backup).toEqual({ backupRetentionDays: 7, geoRedundantBackup: "Disabled" });
    expect(server.highAvailability).toMatchObject({ mode: "Disabled" });
    expect(server.administratorLoginPassword).toBe("[secret]");
    expect(server.authConfig).toMatchObject({
      passwordAuth: "Enabled",
      activeDirectoryAuth: "Disabled",
    });
    const parameters = ofType(staging, T.parameter);
    expect(
      Object.fromEntries(parameters.map((p) => [props(p).configurationName, props(p).value])),
    ).toEqual({
      require_secure_transport: "ON",
      ssl_min_protocol_version: "TLSv1.2",
      "azure.extensions": "VECTOR",
    });
    // One change at a time: the server refuses a parameter while another is being applied.
    expect(waitedFor(staging, parameters[2]!)).toContain(parameters[1]!.urn);
    expect(waitedFor(staging, parameters[1]!)).toContain(parameters[0]!.urn);
  });

  it("turns on a zone-redundant standby and a delete lock when the tier asks", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:postgres.highAvailability=true",
      "rag-platform:postgres.deletionProtection=true",
      "rag-platform:postgres.size=Standard_D2ds_v5",
    ]);
    const server = one(s, T.server);
    expect(props(server).highAvailability).toMatchObject({ mode: "ZoneRedundant" });
    expect(props(server).sku).toEqual({ name: "Standard_D2ds_v5", tier: "GeneralPurpose" });
    expect(server.protect).toBe(true);
    expect(props(one(s, A("authorization:ManagementLockByScope")))).toMatchObject({
      level: "CanNotDelete",
      scope: expect.stringContaining("rag-staging-postgres"),
    });
    expect(ofType(staging, A("authorization:ManagementLockByScope"))).toEqual([]);
  });

  it("runs Azure Managed Redis with a replica, TLS 1.2 on one encrypted port, no eviction (queued jobs are never dropped) and append-only persistence", () => {
    expect(props(one(staging, T.redis))).toMatchObject({
      sku: { name: "Balanced_B1" },
      highAvailability: "Enabled",
      minimumTlsVersion: "1.2",
    });
    expect(props(one(staging, T.redisDb))).toMatchObject({
      databaseName: "default",
      port: 10000,
      clientProtocol: "Encrypted",
      clusteringPolicy: "EnterpriseCluster",
      evictionPolicy: "NoEviction",
      accessKeysAuthentication: "Enabled",
      persistence: { aofEnabled: true, aofFrequency: "1s" },
    });
    const env = envOf(apiContainer(staging));
    expect(env[ENV.redisPort]).toBe("10000");
    expect(env[ENV.redisTls]).toBe("true");
    expect(env[ENV.redisHost]).toMatch(
      /^rag-staging-redis-[a-z0-9]+\.westeurope\.redis\.azure\.net$/,
    );
  });
});

describe("staging on Azure: the runtime on Container Apps", () => {
  it("runs an internal environment in the apps subnet, spread over zones, with encrypted traffic between apps and its logs in the workspace", () => {
    const env = props(one(staging, T.environment));
    expect(env.vnetConfiguration).toMatchObject({
      internal: true,
      infrastructureSubnetId: expect.stringContaining("rag-staging-vnet-apps"),
    });
    expect(env).toMatchObject({
      zoneRedundant: true,
      appLogsConfiguration: { destination: "azure-monitor" },
      peerTrafficConfiguration: { encryption: { enabled: true } },
    });
    const sent = ofType(staging, T.diagnostics).find((d) => d.name === "rag-staging-apps-logs")!;
    expect(sent.propertyDependencies.resourceUri).toContain(one(staging, T.environment).urn);
    // Internal names resolve in the network: a wildcard record for the environment's domain.
    expect(props(one(staging, A("privatedns:PrivateRecordSet")))).toMatchObject({
      recordType: "A",
      relativeRecordSetName: "*",
    });
  });

  it("serves the API over HTTPS only, from the network, scaled on concurrent requests within the configured bounds", () => {
    const api = props(appNamed(staging, "rag-api"));
    expect(api.configuration.ingress).toMatchObject({
      external: true,
      targetPort: 8080,
      transport: "http",
      allowInsecure: false,
    });
    expect(api.template.scale).toMatchObject({
      minReplicas: 2,
      maxReplicas: 4,
      rules: [{ name: "concurrent-requests", http: { metadata: { concurrentRequests: "50" } } }],
    });
    expect(api.template.containers[0].resources).toEqual({ cpu: 1, memory: "2Gi" });
    expect(staging.outputs.apiUrl).toMatch(/^https:\/\/rag-staging-apps-api\./);
  });

  it("hands every secret over as a Key Vault reference, read with the runtime's identity and mounted as a file; no environment value holds one", () => {
    for (const app of [...ofType(staging, T.app), ...ofType(staging, T.job)]) {
      const p = props(app);
      const identity = p.identity.userAssignedIdentities[0];
      for (const secret of p.configuration.secrets as Obj[]) {
        expect(secret.value, secret.name).toBeUndefined();
        expect(secret.keyVaultUrl).toMatch(
          /^https:\/\/rag-staging-kv-[a-z0-9]+\.vault\.azure\.net\/secrets\/[a-z-]+$/,
        );
        expect(secret.identity).toBe(identity);
      }
      const container = p.template.containers[0] as Obj;
      const env = envOf(container);
      for (const name of SECRET_ENV) expect(env[name], `${app.name}: ${name}`).toBeUndefined();
      for (const [name, value] of Object.entries(env).filter(([n]) => n.endsWith(FILE_SUFFIX)))
        expect(value).toBe(`${SECRETS_DIR}/${name.slice(0, -FILE_SUFFIX.length)}`);
      expect(container.volumeMounts).toEqual([{ volumeName: "secrets", mountPath: SECRETS_DIR }]);
      expect(p.template.volumes[0].storageType).toBe("Secret");
    }
    expect(Object.keys(envOf(apiContainer(staging)))).toEqual(
      expect.arrayContaining([
        `${ENV.pgPassword}${FILE_SUFFIX}`,
        `${ENV.redisPassword}${FILE_SUFFIX}`,
        `${ENV.adminApiKey}${FILE_SUFFIX}`,
      ]),
    );
  });

  it("keeps a slow answer within the ingress's 240 s idle timeout and idle connections open longer than the ingress does", () => {
    const env = envOf(apiContainer(staging));
    const timeouts = {
      embeddingSeconds: Number(env[ENV.embeddingTimeoutSeconds]),
      llmSeconds: Number(env[ENV.llmTimeoutSeconds]),
    };
    expect(answerBoundSeconds(timeouts)).toBeLessThanOrEqual(INGRESS_IDLE_TIMEOUT_SECONDS);
    expect(Number(env[ENV.httpKeepAliveSeconds])).toBeGreaterThan(INGRESS_IDLE_TIMEOUT_SECONDS);
    // The worker answers no client: it keeps the runtime's defaults.
    expect(envOf(workerContainer(staging))[ENV.llmTimeoutSeconds]).toBeUndefined();
    expect(Number(env[ENV.shutdownTimeoutSeconds]) + 10).toBe(
      props(appNamed(staging, "rag-api")).template.terminationGracePeriodSeconds,
    );
    const page = readFileSync("docs/tiers/staging-azure.md", "utf8");
    expect(page, "the Azure page states the API's model timeouts").toContain(
      `\`EMBEDDING_TIMEOUT_SECONDS\` ${timeouts.embeddingSeconds} and \`LLM_TIMEOUT_SECONDS\` ${timeouts.llmSeconds}`,
    );
    const shutdown = readFileSync("runtime/README.md", "utf8");
    expect(shutdown, "the runtime's README states the shutdown deadline").toMatch(
      new RegExp(
        `Container Apps .*\\| ${env[ENV.shutdownTimeoutSeconds]} of ${Number(env[ENV.shutdownTimeoutSeconds]) + 10} `,
      ),
    );
  });

  it("tells the runtime where it runs: its identity, the object store, the proxies to believe, the backends", () => {
    const env = envOf(apiContainer(staging));
    expect(env[ENV.azureClientId]).toMatch(/^[0-9a-f-]{36}$/);
    expect(appNamed(staging, "rag-api").propertyDependencies.template).toContain(
      byName(staging, "rag-staging-apps-runtime").urn,
    );
    expect(env[ENV.objectStoreUrl]).toMatch(
      /^azblob:\/\/ragstagingdocs[a-z0-9]+\/documents\/documents$/,
    );
    expect(env[ENV.trustProxy]).toBe("10.40.0.0/23");
    expect(env[ENV.pgSslMode]).toBe("verify-full");
    expect(env[ENV.pgHost]).toMatch(/\.postgres\.database\.azure\.com$/);
    expect(env[ENV.requirePgvector]).toBe("true");
    expect(env[ENV.llmBaseUrl]).toBe("http://10.40.4.10:11434");
    expect(env[ENV.metricsPort]).toBe("8081");
  });

  it("scales the worker with KEDA on the ingest queue's waiting jobs, over TLS with the Redis key", () => {
    const worker = props(appNamed(staging, "rag-worker"));
    expect(worker.configuration.ingress).toBeUndefined();
    const rule = worker.template.scale.rules[0];
    expect(rule.custom.type).toBe("redis");
    expect(rule.custom.metadata).toMatchObject({
      listName: bullmqWaitList("ingest"),
      listLength: "20",
      enableTLS: "true",
      address: expect.stringMatching(/\.redis\.azure\.net:10000$/),
    });
    expect(rule.custom.auth).toEqual([
      { secretRef: "redis-password", triggerParameter: "password" },
    ]);
    expect((worker.configuration.secrets as Obj[]).map((s) => s.name)).toContain("redis-password");
    expect(worker.template.scale).toMatchObject({ minReplicas: 1, maxReplicas: 4 });
  });

  it("offers the re-embedding run as a manual job with the worker's environment", () => {
    const job = props(one(staging, T.job));
    expect(job.configuration).toMatchObject({ triggerType: "Manual", replicaRetryLimit: 0 });
    expect(job.template.containers[0].command).toEqual(["node", "dist/reembed.js"]);
    expect(envOf(job.template.containers[0])).toEqual(envOf(workerContainer(staging)));
    expect(staging.outputs.reembedJob).toMatch(
      /^az containerapp job start --name rag-reembed --resource-group /,
    );
  });

  it("grants the runtime's identity its secrets, its documents and the image, and nothing more", () => {
    const runtime = byName(staging, "rag-staging-apps-runtime");
    const grants = ofType(staging, T.grant).filter((g) => g.name.startsWith("rag-staging-apps-"));
    expect(grants.map((g) => g.name).sort()).toEqual([
      "rag-staging-apps-documents",
      "rag-staging-apps-pull",
      "rag-staging-apps-secrets",
    ]);
    expect(roleGuid(byName(staging, "rag-staging-apps-secrets"))).toBe(
      BUILTIN_ROLES.keyVaultSecretsUser,
    );
    expect(props(byName(staging, "rag-staging-apps-secrets")).scope).toMatch(
      /\/vaults\/rag-staging-kv-[a-z0-9]+$/,
    );
    expect(roleGuid(byName(staging, "rag-staging-apps-pull"))).toBe(BUILTIN_ROLES.acrPull);
    expect(props(byName(staging, "rag-staging-apps-documents")).scope).toMatch(
      /\/blobContainers\/documents$/,
    );
    for (const g of grants) {
      expect(props(g).principalType).toBe("ServicePrincipal");
      expect(g.propertyDependencies.principalId).toEqual([runtime.urn]);
    }
    // The apps wait for their grants: Container Apps read the secrets when they create a revision.
    for (const app of ofType(staging, T.app))
      for (const g of grants) expect(waitedFor(staging, app)).toContain(g.urn);
  });

  it("defines the documents role with exactly what secure deletion needs, assignable on the account only", () => {
    const role = props(one(staging, T.role));
    expect(role.permissions).toEqual([
      { actions: [...DOCUMENT_ACCESS.actions], dataActions: [...DOCUMENT_ACCESS.dataActions] },
    ]);
    expect(role.permissions[0].dataActions).toContain(
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action",
    );
    expect(role.assignableScopes).toEqual([role.scope]);
    expect(role.scope).toMatch(/\/storageAccounts\/ragstagingdocs[a-z0-9]+$/);
  });
});

describe("staging on Azure: the runtime image", () => {
  it("builds the image into a registry with no admin user and no anonymous pull, pushing with the deployer's own short-lived token", () => {
    expect(props(one(staging, T.registry))).toMatchObject({
      adminUserEnabled: false,
      anonymousPullEnabled: false,
      sku: { name: "Standard" },
    });
    const token = props(one(staging, T.command));
    expect(token.create).toMatch(
      /^az acr login --name ragstagingruntime[a-z0-9]+ --expose-token --output tsv --query accessToken$/,
    );
    expect(token.logging).toBe("none");
    const image = props(one(staging, T.image));
    expect(image.imageName).toMatch(
      /^ragstagingruntime[a-z0-9]+\.azurecr\.io\/rag-runtime:src-[0-9a-f]{16}$/,
    );
    expect(token.triggers).toEqual([image.imageName.split(":").pop()]);
    // The token makes the whole registry block secret in the state.
    expect(image.registry).toBe("[secret]");
  });

  it("uses a prebuilt image when one is configured, and builds nothing", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:runtimeImage=ghcr.io/acme/rag-runtime:1.4.2",
    ]);
    expect(ofType(s, T.registry)).toEqual([]);
    expect(ofType(s, T.image)).toEqual([]);
    expect(apiContainer(s).image).toBe("ghcr.io/acme/rag-runtime:1.4.2");
    expect(props(appNamed(s, "rag-api")).configuration.registries).toBeUndefined();
  });
});

describe("staging on Azure: the GPU host", () => {
  it("runs Ollama on a T4 VM at a fixed private address, no public IP, no password sign-in, the driver installed before Ollama", () => {
    const vm = props(one(staging, T.vm));
    expect(vm.hardwareProfile.vmSize).toBe("Standard_NC4as_T4_v3");
    expect(vm.osProfile.linuxConfiguration).toMatchObject({
      disablePasswordAuthentication: true,
      patchSettings: { patchMode: "AutomaticByPlatform" },
    });
    expect(vm.osProfile.adminPassword).toBeUndefined();
    const nic = props(one(staging, T.nic)).ipConfigurations[0];
    expect(nic).toMatchObject({
      privateIPAllocationMethod: "Static",
      privateIPAddress: "10.40.4.10",
    });
    expect(nic.publicIPAddress).toBeUndefined();
    const driver = ofType(staging, T.extension).find(
      (e) => props(e).type === "NvidiaGpuDriverLinux",
    )!;
    const ollama = ofType(staging, T.extension).find((e) => props(e).type === "CustomScript")!;
    expect(waitedFor(staging, ollama)).toContain(driver.urn);
    const script = Buffer.from(props(ollama).settings.script, "base64").toString();
    expect(script).toContain("ollama pull llama3.1:8b");
    expect(script).toContain("ollama pull nomic-embed-text:v1.5");
    expect(staging.outputs.llmHost).toMatchObject({
      privateIp: "10.40.4.10",
      runCommand: expect.stringContaining("az vm run-command invoke"),
    });
  });

  it("takes the whole-A10 size for an A10G", async () => {
    const s = await synth("staging-azure", ["rag-platform:llm.gpuType=a10g"]);
    expect(props(one(s, T.vm)).hardwareProfile.vmSize).toBe("Standard_NV36ads_A10_v5");
  });
});

describe("staging on Azure: modes", () => {
  it("runs a hosted LLM (Azure OpenAI) with no GPU host, its key an operator-filled secret the stack does not own", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=azure-openai",
      "rag-platform:llm.managedBaseUrl=https://acme.openai.azure.com/openai/v1",
      "rag-platform:llm.model=gpt-4o-mini",
    ]);
    expect(ofType(s, T.vm)).toEqual([]);
    expect(ofType(s, T.secret).map((x) => props(x).secretName)).not.toContain("llm-api-key");
    const secrets = props(appNamed(s, "rag-api")).configuration.secrets as Obj[];
    expect(secrets.find((x) => x.name === "llm-api-key")!.keyVaultUrl).toMatch(
      /\/secrets\/llm-api-key$/,
    );
    const env = envOf(apiContainer(s));
    expect(env[ENV.llmBaseUrl]).toBe("https://acme.openai.azure.com/openai/v1");
    expect(env[`${ENV.llmApiKey}${FILE_SUFFIX}`]).toBe(`${SECRETS_DIR}/${ENV.llmApiKey}`);
    const fill = (s.outputs.secretsToFill as Record<string, string>)["llm-api-key"]!;
    expect(fill).toMatch(
      /^az rest --method put --url "https:\/\/management\.azure\.com\/subscriptions\/.+\/vaults\/rag-staging-kv-[a-z0-9]+\/secrets\/llm-api-key\?api-version=2024-11-01" --body @/,
    );
    expect(
      s.calls
        .filter((c) => c.token === "azure-native:keyvault:getSecret")
        .map((c) => c.inputs.secretName),
    ).toEqual(["llm-api-key"]);
  });

  it("points the runtime at Qdrant Cloud with the key the operator fills", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://abc.westeurope-0.azure.cloud.qdrant.io:6333",
    ]);
    const env = envOf(apiContainer(s));
    expect(env[ENV.vectorStore]).toBe("qdrant");
    expect(env[ENV.qdrantUrl]).toBe("https://abc.westeurope-0.azure.cloud.qdrant.io:6333");
    expect(env[ENV.requirePgvector]).toBe("false");
    expect(Object.keys(s.outputs.secretsToFill as object)).toEqual(["qdrant-cloud-api-key"]);
  });

  it("makes the API public on HTTPS 443 at the configured hostname with the certificate from Key Vault, and says which identity to grant", async () => {
    const cert = "https://certs-vault.vault.azure.net/secrets/rag-staging";
    const s = await synth("staging-azure", [
      `rag-platform:domain.certificate=${cert}`,
      "rag-platform:domain.hostname=rag.example.com",
    ]);
    const env = props(one(s, T.environment));
    expect(env.vnetConfiguration.internal).toBe(false);
    expect(props(one(s, T.certificate)).properties.certificateKeyVaultProperties.keyVaultUrl).toBe(
      cert,
    );
    expect(props(one(s, T.certificate)).properties.certificateKeyVaultProperties.identity).toBe(
      env.identity.userAssignedIdentities[0],
    );
    expect(props(appNamed(s, "rag-api")).configuration.ingress.customDomains).toEqual([
      expect.objectContaining({ name: "rag.example.com", bindingType: "SniEnabled" }),
    ]);
    const apps = props(ofType(s, T.nsg).find((n) => n.name === "rag-staging-vnet-apps")!)
      .securityRules as Obj[];
    expect(apps).toEqual([
      expect.objectContaining({
        sourceAddressPrefix: "Internet",
        destinationPortRange: "443",
        access: "Allow",
      }),
    ]);
    expect(s.outputs.apiUrl).toBe("https://rag.example.com");
    expect(envOf(apiContainer(s))[ENV.publicUrl]).toBe("https://rag.example.com");
    expect(s.outputs.certificateAccess).toMatch(
      /^az role assignment create --assignee-object-id [0-9a-f-]{36} .*--role "Key Vault Secrets User"/,
    );
    expect(ofType(s, A("privatedns:PrivateRecordSet"))).toEqual([]);
  });
});

describe("staging on Azure: observability", () => {
  it("alerts on the API, the workers, PostgreSQL, Redis and the GPU host to an action group of the configured e-mails", async () => {
    const s = await synth("staging-azure", [
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ]);
    expect(props(one(s, T.actionGroup)).emailReceivers).toEqual([
      { name: "email-0", emailAddress: "oncall@example.com", useCommonAlertSchema: true },
    ]);
    const alerts = Object.fromEntries(
      ofType(s, T.alert).map((a) => [a.name.replace("rag-staging-monitoring-", ""), props(a)]),
    );
    expect(Object.keys(alerts).sort()).toEqual([
      "api-5xx",
      "api-restarts",
      "llm-host-down",
      "postgres-cpu",
      "postgres-storage",
      "redis-memory",
      "worker-restarts",
    ]);
    expect(alerts["api-5xx"]!.criteria.allOf[0]).toMatchObject({
      metricName: "Requests",
      dimensions: [{ name: "statusCodeCategory", operator: "Include", values: ["5xx"] }],
    });
    expect(alerts["api-5xx"]!.scopes[0]).toContain("containerApps/rag-api");
    expect(alerts["redis-memory"]!.scopes[0]).toContain("rag-staging-redis");
    for (const a of Object.values(alerts))
      expect(a.actions[0].actionGroupId).toContain("rag-staging-monitoring");
    expect(s.outputs.dashboardUrl).toMatch(
      /^https:\/\/portal\.azure\.com\/#resource\/subscriptions\/.+\/workbook$/,
    );
  });

  it("logs the vault's audit events, every document access and the database's log to the workspace", () => {
    const sent = Object.fromEntries(ofType(staging, T.diagnostics).map((d) => [d.name, props(d)]));
    expect(sent["rag-staging-kv-audit"]!.logs).toEqual([{ categoryGroup: "audit", enabled: true }]);
    expect(sent["rag-staging-docs-access"]!.logs).toEqual([
      { categoryGroup: "allLogs", enabled: true },
    ]);
    expect(sent["rag-staging-postgres-logs"]).toBeDefined();
    for (const d of Object.values(sent)) expect(d.workspaceId).toContain("rag-staging-logs");
    expect(props(one(staging, A("operationalinsights:Workspace")))).toMatchObject({
      retentionInDays: 30,
      features: { disableLocalAuth: true },
    });
  });
});

describe("staging on Azure: configuration errors", () => {
  it("refuses an L4, which Azure offers no VM for", () => {
    expect(problems("staging-azure", ["rag-platform:llm.gpuType=l4"])).toEqual([
      'rag-platform:llm.gpuType: got "l4"; staging runs Ollama on one single-GPU machine (allowed on azure: t4, a10g)',
    ]);
  });

  it("refuses a zone-redundant database on a burstable size, and sizes named for another service", () => {
    expect(problems("staging-azure", ["rag-platform:postgres.highAvailability=true"])).toEqual([
      "rag-platform:postgres.highAvailability: got true; needs a general purpose or memory optimized size on azure, not the burstable Standard_B2s (e.g. Standard_D2ds_v5)",
    ]);
    expect(
      problems("staging-azure", [
        "rag-platform:postgres.size=db.t4g.medium",
        "rag-platform:redis.size=Standard_C1",
      ]),
    ).toEqual([
      'rag-platform:postgres.size: got "db.t4g.medium"; must be an Azure PostgreSQL flexible server size (allowed: Standard_B<n>… burstable, Standard_D<n>ds_v5… general purpose, Standard_E<n>ds_v5… memory optimized)',
      'rag-platform:redis.size: got "Standard_C1"; must be an Azure Managed Redis size (allowed: Balanced_B<n>, MemoryOptimized_M<n>, ComputeOptimized_X<n>, e.g. Balanced_B1)',
    ]);
  });

  it("refuses a certificate that is not a Key Vault secret URL, or one without a hostname", () => {
    expect(
      problems("staging-azure", [
        "rag-platform:domain.certificate=arn:aws:acm:eu-west-1:123456789012:certificate/abc",
        "rag-platform:domain.hostname=rag.example.com",
      ]),
    ).toEqual([
      'rag-platform:domain.certificate: got "arn:aws:acm:eu-west-1:123456789012:certificate/abc"; must be a Key Vault certificate\'s secret URL on azure (https://<vault>.vault.azure.net/secrets/<certificate>)',
    ]);
    expect(
      problems("staging-azure", [
        "rag-platform:domain.certificate=https://certs.vault.azure.net/secrets/rag",
      ]),
    ).toEqual([
      "rag-platform:domain.hostname: got nothing; required with domain.certificate on azure (the certificate is bound to the API's custom domain)",
    ]);
  });

  it("refuses an existing VPC (an AWS setting) and an address space the subnets do not fit in", () => {
    expect(
      problems("staging-azure", [
        "rag-platform:network.existingNetworkId=vpc-0123",
        "rag-platform:network.cidr=10.40.0.0/24",
      ]),
    ).toEqual([
      'rag-platform:network.existingNetworkId: got "vpc-0123"; only used on aws (the Azure platform creates its virtual network)',
      'rag-platform:network.cidr: got "10.40.0.0/24"; is too small for the Azure subnets (allowed: a /21 or larger, e.g. 10.40.0.0/16)',
    ]);
  });

  it("refuses an AWS region and the AWS exporter", () => {
    expect(
      problems("staging-azure", [
        "rag-platform:regions[0]=eu-west-1",
        "rag-platform:observability.exporter=cloudwatch",
      ]),
    ).toEqual([
      'rag-platform:regions[0]: got "eu-west-1"; must be a region name on azure, such as westeurope',
      'rag-platform:observability.exporter: got "cloudwatch"; the staging tier on azure builds azure-monitor (allowed: azure-monitor, none)',
    ]);
  });
});
