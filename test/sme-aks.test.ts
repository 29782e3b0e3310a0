/**
 * sme on Azure (AKS), synthesized under mocks: the cluster's security inputs, its pools,
 * identities and federated credentials, External Secrets on Key Vault, Traefik, the alerts, and
 * the config errors of this pair. The cloud-neutral checks of every workload are the shared
 * Kubernetes walk (test/kubernetes-walk.ts), the same as on EKS.
 */
import Ajv2020 from "ajv/dist/2020";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AKS_SERVER_APP_ID,
  aksGpuVmSize,
  azureCliKubeconfig,
} from "../components/azure/aks-cluster";
import { BUILTIN_ROLES, deployerPrincipalType, parsePrincipal } from "../components/azure/common";
import { API_LABELS } from "../components/kubernetes/runtime-workloads";
import { traefikValues } from "../components/kubernetes/traefik";
import { API_IDLE_TIMEOUT_SECONDS } from "../components/shared/runtime-image";
import { ENV } from "../runtime/src/config";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { aksCharts } from "../stacks/platforms/azure-aks";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { byName, ofType, synth, waitedFor } from "./helpers";
import { describeKubernetesWalk, env, K8S, type Obj, podSpec, release } from "./kubernetes-walk";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  pool: "azure-native:containerservice:AgentPool",
  maintenance: "azure-native:containerservice:MaintenanceConfiguration",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  federated: "azure-native:managedidentity:FederatedIdentityCredential",
  role: "azure-native:authorization:RoleAssignment",
  diagnostics: "azure-native:monitor:DiagnosticSetting",
  alert: "azure-native:monitor:MetricAlert",
  actionGroup: "azure-native:monitor:ActionGroup",
  nsg: "azure-native:network:NetworkSecurityGroup",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  provider: "pulumi:providers:kubernetes",
} as const;

const ESO_SUBJECT = "system:serviceaccount:external-secrets:external-secrets";
const RUNTIME_SUBJECT = "system:serviceaccount:rag:rag-runtime";
const CERTIFICATE = "https://certs-vault.vault.azure.net/secrets/rag-sme";

let sme: SynthResult;
let publicSme: SynthResult;
beforeAll(async () => {
  sme = await synth("sme-azure");
  publicSme = await synth("sme-azure", [
    `rag-platform:domain.certificate=${CERTIFICATE}`,
    "rag-platform:domain.hostname=rag.example.com",
    "rag-platform:network.clusterApiAllowedCidrs[0]=203.0.113.10/32",
    "rag-platform:kubernetes.adminPrincipals[0]=group:22222222-2222-2222-2222-222222222222",
    "rag-platform:observability.alertEmails[0]=oncall@example.com",
    "rag-platform:observability.azureActionGroupIds[0]=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/microsoft.insights/actionGroups/pagerduty",
  ]);
}, 120_000);

const inputs = (r: ResourceRecord) => r.inputs as Obj;
const cluster = (result: SynthResult) => inputs(ofType(result, T.cluster)[0]!);
/** The role assignments of a role (by its built-in name) to a principal. */
const grants = (result: SynthResult, role: keyof typeof BUILTIN_ROLES) =>
  ofType(result, T.role).filter((r) =>
    String(inputs(r).roleDefinitionId).endsWith(`/roleDefinitions/${BUILTIN_ROLES[role]}`),
  );

describeKubernetesWalk("sme on AKS", () => sme, {
  prefix: "rag-sme",
  charts: () => aksCharts(resolveConfig({ tier: "sme", cloud: "azure" })),
  // Every secret the runtime reads is synced from Key Vault (the database password too).
  secretVariables: [ENV.adminApiKey, ENV.qdrantApiKey, ENV.redisPassword, ENV.pgPassword],
  hostAddons: {
    traefik: {
      resources: ["resources"],
      container: ["securityContext"],
      pod: ["podSecurityContext"],
    },
  },
});

describe("sme on AKS: the cluster", () => {
  it("pins the Kubernetes minor, keeps the API server private on its own subnet and signs in with Entra ID only", () => {
    const c = cluster(sme);
    expect(c.kubernetesVersion).toBe("1.35");
    expect(c.sku).toEqual({ name: "Base", tier: "Standard" });
    expect(c.apiServerAccessProfile).toMatchObject({
      enablePrivateCluster: true,
      enablePrivateClusterPublicFQDN: false,
      enableVnetIntegration: true,
      subnetId: expect.stringContaining("rag-sme-vnet-apiServer"),
    });
    expect(c.apiServerAccessProfile.authorizedIPRanges).toBeUndefined();
    expect(c.aadProfile).toEqual({
      managed: true,
      enableAzureRBAC: true,
      tenantID: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(c.disableLocalAccounts).toBe(true);
    expect(c.enableRBAC).toBe(true);
    expect(c.oidcIssuerProfile).toEqual({ enabled: true });
    expect(c.securityProfile.workloadIdentity).toEqual({ enabled: true });
    expect(c.securityProfile.imageCleaner).toEqual({ enabled: true, intervalHours: 168 });
  });

  it("opens the public API server only to the configured CIDRs, still on the VNet-integrated subnet", () => {
    expect(cluster(publicSme).apiServerAccessProfile).toMatchObject({
      enablePrivateCluster: false,
      enableVnetIntegration: true,
      authorizedIPRanges: ["203.0.113.10/32"],
    });
  });

  it("encrypts Secrets in etcd with the vault's key over the private network, and disks with the customer key", () => {
    const c = cluster(sme);
    const key = ofType(sme, "azure-native:keyvault:Key")[0]!;
    const vault = ofType(sme, "azure-native:keyvault:Vault")[0]!;
    expect(c.securityProfile.azureKeyVaultKms).toEqual({
      enabled: true,
      keyId: expect.stringMatching(
        new RegExp(
          `^https://${String(inputs(vault).vaultName)}\\.vault\\.azure\\.net/keys/data/[0-9a-f]{32}$`,
        ),
      ),
      keyVaultNetworkAccess: "Private",
      keyVaultResourceId: expect.stringContaining("/vaults/"),
    });
    expect(inputs(key).keyName).toBe("data");
    expect(c.diskEncryptionSetID).toContain("diskEncryptionSets/rag-sme-aks-disks");
    const sc = ofType(sme, T.storageClass)[0]!;
    expect(inputs(sc)).toMatchObject({
      provisioner: "disk.csi.azure.com",
      parameters: {
        skuName: "Premium_ZRS",
        diskEncryptionSetID: c.diskEncryptionSetID,
        networkAccessPolicy: "DenyAll",
      },
      reclaimPolicy: "Retain",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    // Qdrant and the model cache take that class.
    const qdrant = release(sme, "qdrant").inputs.values as Obj;
    expect(qdrant.persistence.storageClassName).toBe(inputs(sc).metadata.name);
  });

  it("grants the control plane what KMS, the subnets, the kubelet identity and the disk set need, before the cluster exists", () => {
    const c = ofType(sme, T.cluster)[0]!;
    const before = waitedFor(sme, c);
    const cp = byName(sme, "rag-sme-aks-control-plane", T.identity);
    const expected: [keyof typeof BUILTIN_ROLES, string][] = [
      ["keyVaultCryptoUser", "/vaults/"],
      ["keyVaultContributor", "/vaults/"],
      ["networkContributor", "rag-sme-vnet-apps"],
      ["networkContributor", "rag-sme-vnet-apiServer"],
      ["managedIdentityOperator", "rag-sme-aks-kubelet"],
      ["reader", "diskEncryptionSets/rag-sme-aks-disks"],
    ];
    for (const [role, scope] of expected) {
      const g = grants(sme, role).find((r) => String(inputs(r).scope).includes(scope));
      expect(g, `${role} on ${scope}`).toBeDefined();
      expect(inputs(g!).principalType).toBe("ServicePrincipal");
      expect(before.has(g!.urn), `${role} on ${scope} before the cluster`).toBe(true);
    }
    expect(inputs(c).identity.userAssignedIdentities).toEqual([
      expect.stringContaining("rag-sme-aks-control-plane"),
    ]);
    expect(cp).toBeDefined();
  });

  it("runs Azure CNI overlay with Cilium enforcing NetworkPolicies, out through the network's NAT gateway", () => {
    expect(cluster(sme).networkProfile).toEqual({
      networkPlugin: "azure",
      networkPluginMode: "overlay",
      networkDataplane: "cilium",
      networkPolicy: "cilium",
      podCidr: "192.168.0.0/16",
      serviceCidr: "172.16.0.0/16",
      dnsServiceIP: "172.16.0.10",
      outboundType: "userAssignedNATGateway",
      loadBalancerSku: "standard",
    });
    // The nodes' subnet admits the overlay's pods between nodes; the vault's endpoint admits the API server's KMS plugin.
    const apps = inputs(byName(sme, "rag-sme-vnet-apps", T.nsg)).securityRules as Obj[];
    expect(apps.find((r) => r.name === "cluster-pods")).toMatchObject({
      access: "Allow",
      sourceAddressPrefixes: ["10.50.0.0/23", "192.168.0.0/16"],
    });
    const endpoints = inputs(byName(sme, "rag-sme-vnet-endpoints", T.nsg)).securityRules as Obj[];
    expect(endpoints.find((r) => r.name === "key-vault-from-api-server")).toMatchObject({
      sourceAddressPrefix: "10.50.4.0/28",
      destinationPortRanges: ["443"],
    });
  });

  it("patches Kubernetes and node images itself, each in a four-hour Sunday window", () => {
    expect(cluster(sme).autoUpgradeProfile).toEqual({
      upgradeChannel: "patch",
      nodeOSUpgradeChannel: "NodeImage",
    });
    const windows = ofType(sme, T.maintenance).map(inputs);
    expect(windows.map((w) => w.configName).sort()).toEqual([
      "aksManagedAutoUpgradeSchedule",
      "aksManagedNodeOSUpgradeSchedule",
    ]);
    for (const w of windows)
      expect(w.maintenanceWindow).toMatchObject({
        schedule: { weekly: { dayOfWeek: "Sunday", intervalWeeks: 1 } },
        durationHours: 4,
        utcOffset: "+00:00",
      });
  });

  it("sends the API server's writes, sign-ins and the autoscaler's decisions to the workspace", () => {
    const setting = byName(sme, "rag-sme-aks-audit", T.diagnostics);
    expect(inputs(setting).logs).toEqual([
      { category: "kube-audit-admin", enabled: true },
      { category: "guard", enabled: true },
      { category: "cluster-autoscaler", enabled: true },
    ]);
    expect(inputs(setting).workspaceId).toContain("workspaces/rag-sme-logs");
  });

  it("makes whoever deploys, and each configured admin, cluster-admin through Azure RBAC (no local account)", () => {
    const admins = (result: SynthResult) =>
      grants(result, "aksRbacClusterAdmin").map((g) => ({
        principalId: inputs(g).principalId,
        principalType: inputs(g).principalType,
      }));
    // The deployer signed in as a service principal (the mock's client is no Azure CLI session).
    expect(admins(sme)).toEqual([
      { principalId: expect.stringMatching(/^[0-9a-f-]{36}$/), principalType: "ServicePrincipal" },
    ]);
    expect(admins(publicSme)).toContainEqual({
      principalId: "22222222-2222-2222-2222-222222222222",
      principalType: "Group",
    });
    expect(deployerPrincipalType("04b07795-8ddb-461a-bbee-02f9e1bf7b46")).toBe("User");
    expect(parsePrincipal("user:33333333-3333-3333-3333-333333333333")).toEqual({
      type: "User",
      objectId: "33333333-3333-3333-3333-333333333333",
    });
  });

  it("reaches the cluster with kubelogin and the Azure CLI's session (AKS's user credentials, never the admin ones)", () => {
    const calls = sme.calls.map((c) => c.token);
    expect(calls).toContain("azure-native:containerservice:listManagedClusterUserCredentials");
    expect(calls).not.toContain("azure-native:containerservice:listManagedClusterAdminCredentials");
    const rewritten = parse(
      azureCliKubeconfig(
        [
          "apiVersion: v1",
          "kind: Config",
          "users:",
          "- name: clusterUser",
          "  user: {exec: {command: kubelogin, args: [get-token, --login, devicecode]}}",
        ].join("\n"),
      ),
    ) as Obj;
    expect(rewritten.users[0].user.exec).toMatchObject({
      command: "kubelogin",
      args: ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID],
      interactiveMode: "Never",
    });
    expect(() => azureCliKubeconfig("apiVersion: v1\nkind: Config\n")).toThrow(
      "the AKS kubeconfig has no user",
    );
    expect(sme.outputs.cluster).toMatchObject({
      getCredentials: expect.stringMatching(
        /^az aks get-credentials .* && kubelogin convert-kubeconfig --login azurecli$/,
      ),
      runCommand: expect.stringMatching(/^az aks command invoke /),
    });
  });
});

describe("sme on AKS: node pools", () => {
  it("keeps AKS's add-ons alone on a small system pool across zones, autoscaled", () => {
    const [system] = cluster(sme).agentPoolProfiles as Obj[];
    expect(system).toMatchObject({
      name: "system",
      mode: "System",
      vmSize: "Standard_D4ds_v5",
      nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"],
      availabilityZones: ["1", "2", "3"],
      enableAutoScaling: true,
      minCount: 2,
      maxCount: 3,
      osDiskType: "Managed",
      vnetSubnetID: expect.stringContaining("rag-sme-vnet-apps"),
    });
  });

  it("runs the platform on a user pool sized from kubernetes.systemNodeType and systemNodes", () => {
    const apps = inputs(byName(sme, "rag-sme-aks-apps", T.pool));
    expect(apps).toMatchObject({
      agentPoolName: "apps",
      mode: "User",
      vmSize: "Standard_D4ds_v5",
      enableAutoScaling: true,
      minCount: 3,
      maxCount: 6,
      count: 3,
      availabilityZones: ["1", "2", "3"],
      osSKU: "AzureLinux",
    });
    expect(apps.nodeTaints).toBeUndefined();
  });

  it("taints and labels the GPU pool as on EKS, with AKS installing the driver and the platform the device plugin", () => {
    const gpu = inputs(byName(sme, "rag-sme-aks-gpu", T.pool));
    expect(gpu).toMatchObject({
      agentPoolName: "gpu",
      mode: "User",
      vmSize: "Standard_NV36ads_A10_v5",
      nodeTaints: ["nvidia.com/gpu=true:NoSchedule"],
      nodeLabels: { "rag-platform/pool": "gpu", "nvidia.com/gpu.present": "true" },
      gpuProfile: { driver: "Install" },
      osSKU: "Ubuntu",
      enableAutoScaling: true,
      minCount: 1,
      maxCount: 2,
    });
    expect(gpu.availabilityZones).toBeUndefined();
    const plugin = release(sme, "nvidia-device-plugin").inputs.values as Obj;
    expect(JSON.stringify(plugin)).toContain("nvidia.com/gpu");
    const vllm = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-vllm")!;
    expect(podSpec(vllm).nodeSelector).toEqual({ "rag-platform/pool": "gpu" });
  });

  it("picks the smallest size with the GPUs asked for, and names the largest when none has them", async () => {
    expect(aksGpuVmSize("t4", 1)).toBe("Standard_NC4as_T4_v3");
    expect(aksGpuVmSize("t4", 3)).toBe("Standard_NC64as_T4_v3");
    expect(aksGpuVmSize("a10g", 2)).toBe("Standard_NV72ads_A10_v5");
    expect(aksGpuVmSize("a100", 2)).toBe("Standard_NC48ads_A100_v4");
    expect(aksGpuVmSize("a100", 4)).toBe("Standard_NC96ads_A100_v4");
    expect(() => aksGpuVmSize("a10g", 4)).toThrow("no AKS a10g size has 4 GPUs (largest: 2)");
    const a100 = await synth("sme-azure", [
      "rag-platform:llm.gpuType=a100",
      "rag-platform:llm.gpuCount=2",
      "rag-platform:llm.model=mistralai/Mixtral-8x7B-Instruct-v0.1",
    ]);
    expect(inputs(byName(a100, "rag-sme-aks-gpu", T.pool)).vmSize).toBe("Standard_NC48ads_A100_v4");
  });

  it("has no GPU pool when the LLM is a hosted API", async () => {
    const hosted = await synth("sme-azure", [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=anthropic",
      "rag-platform:llm.model=claude-sonnet-4-5",
    ]);
    expect(ofType(hosted, T.pool).map((p) => p.name)).toEqual(["rag-sme-aks-apps"]);
  });

  it("tunes AKS's cluster autoscaler for an SME: least waste, balanced zones, idle nodes back after 10 minutes", () => {
    expect(cluster(sme).autoScalerProfile).toMatchObject({
      expander: "least-waste",
      balanceSimilarNodeGroups: "true",
      scaleDownUnneededTime: "10m",
      maxGracefulTerminationSec: "600",
    });
  });
});

describe("sme on AKS: identities and secrets", () => {
  it("federates each identity to exactly one service account of this cluster's issuer, for Entra's token exchange", () => {
    const credentials = ofType(sme, T.federated).map(inputs);
    expect(credentials.map((c) => c.subject).sort()).toEqual([ESO_SUBJECT, RUNTIME_SUBJECT].sort());
    for (const c of credentials) {
      expect(c.audiences).toEqual(["api://AzureADTokenExchange"]);
      expect(c.issuer).toMatch(
        /^https:\/\/westeurope\.oic\.prod-aks\.azure\.com\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/$/,
      );
    }
    const issuers = new Set(credentials.map((c) => c.issuer));
    expect(issuers.size).toBe(1);
  });

  it("gives External Secrets its identity through workload identity, cluster stores only, on the stack's vault for the platform's namespaces", () => {
    const values = release(sme, "external-secrets").inputs.values as Obj;
    const identity = inputs(byName(sme, "rag-sme-addons-external-secrets", T.identity));
    expect(values.serviceAccount).toEqual({
      create: true,
      name: "external-secrets",
      annotations: {
        "azure.workload.identity/client-id": expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    });
    expect(values.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    expect(values.processSecretStore).toBe(false);
    expect(values.rbac).toEqual({ serviceAccountTokenCreate: false });
    expect(identity).toBeDefined();
    const store = ofType(sme, K8S.clusterSecretStore).map(inputs)[0]!;
    expect(store.spec).toEqual({
      provider: {
        azurekv: {
          vaultUrl: expect.stringMatching(/^https:\/\/rag-sme-kv-[a-z0-9]+\.vault\.azure\.net\/$/),
          authType: "WorkloadIdentity",
        },
      },
      conditions: [{ namespaces: ["rag", "observability"] }],
    });
  });

  it("lets External Secrets read exactly the secrets it syncs, each by its own role assignment", () => {
    const eso = ofType(sme, T.role).filter((r) => r.name.startsWith("rag-sme-addons-eso-"));
    const synced = ofType(sme, K8S.externalSecret).flatMap((e) =>
      ((inputs(e).spec.data as Obj[]) ?? []).map((d) => String(d.remoteRef.key)),
    );
    expect(eso.length).toBe(synced.length);
    for (const g of eso) {
      expect(String(inputs(g).roleDefinitionId)).toMatch(
        new RegExp(`/roleDefinitions/${BUILTIN_ROLES.keyVaultSecretsUser}$`),
      );
      const secret = String(inputs(g).scope).split("/secrets/")[1];
      expect(synced, g.name).toContain(secret);
    }
    expect(synced.sort()).toEqual(
      [
        "admin-api-key",
        "datadog-api-key",
        "huggingface-token",
        "postgres-password",
        "qdrant-api-key",
        "qdrant-api-key",
        "redis-access-key",
      ].sort(),
    );
  });

  it("gives the runtime's pods their own identity, allowed on the documents container only", () => {
    const api = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(inputs(api).spec.template.metadata.labels).toMatchObject({
      "azure.workload.identity/use": "true",
    });
    expect(inputs(api).spec.selector.matchLabels).not.toHaveProperty("azure.workload.identity/use");
    const account = ofType(sme, "kubernetes:core/v1:ServiceAccount").find(
      (s) => inputs(s).metadata.name === "rag-runtime",
    )!;
    const runtime = inputs(byName(sme, "rag-sme-runtime", T.identity));
    expect(runtime).toBeDefined();
    expect(inputs(account).metadata.annotations).toEqual({
      "azure.workload.identity/client-id": expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const documents = byName(sme, "rag-sme-runtime-documents", T.role);
    expect(String(inputs(documents).scope)).toMatch(/\/blobContainers\/documents$/);
    expect(String(inputs(documents).roleDefinitionId)).toContain("roleDefinitions/");
    // Nothing else is granted to the runtime's identity.
    const runtimePrincipal = inputs(documents).principalId;
    expect(
      ofType(sme, T.role).filter((r) => inputs(r).principalId === runtimePrincipal),
    ).toHaveLength(1);
    // The webhook gives the pods AZURE_CLIENT_ID; the runtime sets none that could differ.
    expect(env(api).map((v) => v.name)).not.toContain("AZURE_CLIENT_ID");
  });

  it("lets the nodes pull the runtime image from the stack's registry", () => {
    const pull = byName(sme, "rag-sme-kubelet-acr-pull", T.role);
    expect(String(inputs(pull).scope)).toMatch(/containerregistry\/registrys\/ragsmeruntime/);
    expect(String(inputs(pull).roleDefinitionId)).toMatch(new RegExp(`${BUILTIN_ROLES.acrPull}$`));
  });
});

describe("sme on AKS: ingress", () => {
  const traefik = (result: SynthResult) => release(result, "traefik").inputs.values as Obj;

  it("keeps the API on an internal Azure load balancer, plain HTTP, with every timeout above the longest answer", () => {
    const v = traefik(sme);
    expect(v.service.annotations).toEqual({
      "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
      "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": "7",
    });
    expect(7 * 60).toBeGreaterThan(API_IDLE_TIMEOUT_SECONDS);
    expect(v.ports.web).toMatchObject({ asDefault: true, expose: { default: true } });
    expect(v.ports.websecure.expose).toEqual({ default: false });
    const t = v.ports.web.transport;
    for (const timeout of [
      t.respondingTimeouts.readTimeout,
      t.respondingTimeouts.writeTimeout,
      t.lifeCycle.graceTimeOut,
    ])
      expect(Number(String(timeout).replace(/s$/, ""))).toBeGreaterThan(API_IDLE_TIMEOUT_SECONDS);
    expect(v.additionalArguments).toEqual([
      "--serversTransport.forwardingTimeouts.responseHeaderTimeout=420s",
    ]);
    // A stopping Traefik finishes what it holds before Kubernetes kills it.
    expect(v.deployment.terminationGracePeriodSeconds).toBeGreaterThan(20 + 420);
    expect(v.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(v.ingressClass).toEqual({ enabled: true, isDefaultClass: false, name: "traefik" });
    expect(v.providers.kubernetesIngress.namespaces).toEqual(["rag"]);
    const ingress = ofType(sme, K8S.ingress)[0]!;
    expect(inputs(ingress).spec.ingressClassName).toBe("traefik");
    expect(waitedFor(sme, ingress)).toContain(release(sme, "traefik").urn);
  });

  it("serves HTTPS only (TLS 1.2 and up) with the Key Vault certificate, synced from its PKCS#12, on a public load balancer", () => {
    const v = traefik(publicSme);
    expect(v.service.annotations).toEqual({
      "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": "7",
    });
    expect(v.ports.websecure).toMatchObject({
      asDefault: true,
      expose: { default: true },
      http: { tls: { enabled: true } },
    });
    expect(v.ports.web.expose).toEqual({ default: false });
    expect(v.tlsOptions).toEqual({ default: { minVersion: "VersionTLS12" } });
    expect(v.tlsStore).toEqual({ default: { defaultCertificate: { secretName: "rag-api-tls" } } });
    const tls = ofType(publicSme, K8S.externalSecret).find(
      (e) => inputs(e).metadata.name === "rag-api-tls",
    )!;
    expect(inputs(tls).metadata.namespace).toBe("traefik");
    expect(inputs(tls).spec).toMatchObject({
      secretStoreRef: { kind: "ClusterSecretStore", name: "azure-key-vault-certificate" },
      target: {
        template: {
          engineVersion: "v2",
          type: "kubernetes.io/tls",
          data: {
            "tls.crt": "{{ .pfx | b64dec | pkcs12cert }}",
            "tls.key": "{{ .pfx | b64dec | pkcs12key }}",
          },
        },
      },
      data: [{ secretKey: "pfx", remoteRef: { key: "secret/rag-sme" } }],
    });
    const certStore = ofType(publicSme, K8S.clusterSecretStore)
      .map(inputs)
      .find((s) => s.metadata.name === "azure-key-vault-certificate")!;
    expect(certStore.spec).toMatchObject({
      provider: {
        azurekv: { vaultUrl: "https://certs-vault.vault.azure.net", authType: "WorkloadIdentity" },
      },
      conditions: [{ namespaces: ["traefik"] }],
    });
    // The public rule admits HTTPS from the internet to the load balancer's address only.
    const apps = inputs(byName(publicSme, "rag-sme-vnet-apps", T.nsg)).securityRules as Obj[];
    expect(apps.find((r) => r.name === "https-from-internet")).toMatchObject({
      sourceAddressPrefix: "Internet",
      destinationPortRange: "443",
    });
    expect(publicSme.outputs.certificateAccess).toMatch(
      /^az role assignment create --assignee-object-id [0-9a-f-]{36} .*--role "Key Vault Secrets User" --scope .*\/secrets\/rag-sme"$/,
    );
    expect(publicSme.outputs.apiUrl).toBe("https://rag.example.com");
  });

  it("lets only Traefik's pods reach the API, believes their X-Forwarded-For, and confines Traefik to its job", () => {
    const api = ofType(sme, K8S.netpol).find((p) => p.name === "rag-sme-runtime-api")!;
    const from = (inputs(api).spec.ingress as Obj[]).flatMap((r) => r.from as Obj[]);
    expect(from).toContainEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } },
      podSelector: {
        matchLabels: {
          "app.kubernetes.io/name": "traefik",
          "app.kubernetes.io/instance": "traefik-traefik",
        },
      },
    });
    const deployment = ofType(sme, K8S.deployment).find((d) => d.name === "rag-sme-runtime-api")!;
    expect(env(deployment).find((v) => v.name === ENV.trustProxy)?.value).toBe(
      "10.50.0.0/16,192.168.0.0/16",
    );
    const own = ofType(sme, K8S.netpol).filter((p) => inputs(p).metadata.namespace === "traefik");
    expect(own.map((p) => inputs(p).metadata.name).sort()).toEqual(
      ["allow-dns", "default-deny", "rag-sme-addons-traefik"].sort(),
    );
    const traefikPolicy = inputs(
      own.find((p) => inputs(p).metadata.name === "rag-sme-addons-traefik")!,
    );
    expect(traefikPolicy.spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 8000 }] },
    ]);
    expect(traefikPolicy.spec.egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "rag" } },
          podSelector: { matchLabels: API_LABELS },
        },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    expect(traefikPolicy.spec.egress).toHaveLength(2);
  });

  it("gives the chart values its schema accepts (Traefik 41.3.0's values.schema.json, over its defaults)", () => {
    const schema = JSON.parse(
      readFileSync("test/fixtures/charts/traefik-41.3.0.values.schema.json", "utf8"),
    ) as object;
    const defaults = parse(
      readFileSync("test/fixtures/charts/traefik-41.3.0.values.yaml", "utf8"),
    ) as Obj;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    for (const values of [
      traefik(sme),
      traefik(publicSme),
      traefikValues({ serviceAnnotations: {}, namespaces: ["rag"], tlsSecretName: "t" }),
    ]) {
      const ok = validate(helmMerge(defaults, values));
      expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
      expect(ok).toBe(true);
    }
    // The check bites: a key v41 dropped is refused.
    expect(validate(helmMerge(defaults, { globalArguments: ["--x"] }))).toBe(false);
  });
});

describe("sme on AKS: alerts", () => {
  it("alerts on PostgreSQL, Redis and the node pools by e-mail and through the configured action groups", () => {
    const alerts = ofType(publicSme, T.alert).map((a) => a.name.replace("rag-sme-alerts-", ""));
    expect(alerts.sort()).toEqual(
      [
        "postgres-cpu",
        "postgres-storage",
        "redis-memory",
        "nodes-memory",
        "nodes-cpu",
        "unschedulable-pods",
        "platform-pods-pending",
      ].sort(),
    );
    const group = inputs(ofType(publicSme, T.actionGroup)[0]!);
    expect(group.emailReceivers).toEqual([
      { name: "email-0", emailAddress: "oncall@example.com", useCommonAlertSchema: true },
    ]);
    for (const a of ofType(publicSme, T.alert)) {
      const actions = (inputs(a).actions as Obj[]).map((x) => String(x.actionGroupId));
      expect(actions).toHaveLength(2);
      expect(actions[1]).toMatch(/actionGroups\/pagerduty$/);
    }
    // How to make the PagerDuty group: the URL (it holds the key) from a file, never in the stack.
    const [create, point] = sme.outputs.pagerDutyActionGroup as string[];
    expect(create).toMatch(
      /^az rest --method put --url "https:\/\/management\.azure\.com\/subscriptions\/.*\/actionGroups\/rag-pagerduty\?api-version=2023-01-01" --body @<file holding /,
    );
    expect(JSON.parse(/--body @<file holding (.*)>$/.exec(create!)![1]!)).toMatchObject({
      properties: { webhookReceivers: [{ name: "pagerduty", useCommonAlertSchema: true }] },
    });
    expect(point).toMatch(
      /^pulumi config set --path 'rag-platform:observability\.azureActionGroupIds\[0\]' \/subscriptions\//,
    );
    const unschedulable = inputs(byName(publicSme, "rag-sme-alerts-unschedulable-pods", T.alert));
    expect(unschedulable).toMatchObject({ evaluationFrequency: "PT5M", windowSize: "PT15M" });
    expect(unschedulable.criteria.allOf[0]).toMatchObject({
      metricNamespace: "Microsoft.ContainerService/managedClusters",
      metricName: "cluster_autoscaler_unschedulable_pods_count",
    });
  });
});

describe("sme on AKS: configuration errors", () => {
  function problems(values: Record<string, unknown>): string[] {
    try {
      resolveConfig({ tier: "sme", cloud: "azure", ...values });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  it("refuses a GPU AKS has no pool of, and more GPUs than its largest size", () => {
    expect(problems({ llm: { gpuType: "l4" } })).toContainEqual(
      'rag-platform:llm.gpuType: got "l4"; the sme tier on azure has no node pool with this GPU (allowed: t4, a10g, a100)',
    );
    expect(problems({ llm: { gpuType: "a10g", gpuCount: 4 } })).toContainEqual(
      "rag-platform:llm.gpuCount: got 4; azure has no a10g machine with more than 2 GPUs (allowed: 1 to 2)",
    );
  });

  it("fits models to Azure's GPUs: 80 GB A100s, and suggests only what Azure offers", () => {
    expect(
      problems({
        llm: { model: "mistralai/Mixtral-8x7B-Instruct-v0.1", gpuType: "a100", gpuCount: 2 },
      }),
    ).toEqual([]);
    const [line] = problems({
      llm: { model: "mistralai/Mixtral-8x7B-Instruct-v0.1", gpuType: "a10g", gpuCount: 2 },
    });
    expect(line).toContain("2 x a10g gives 43.2 GiB usable");
    expect(line).toContain("or llm.gpuType=a100");
    expect(line).not.toContain("llm.gpuCount=");
  });

  it("refuses a network the overlay's pods or Services would overlap, and a Kubernetes AKS no longer supports", () => {
    expect(problems({ network: { cidr: "192.168.0.0/16" } })).toContainEqual(
      'rag-platform:network.cidr: got "192.168.0.0/16"; overlaps the range AKS gives pods and Services (192.168.0.0/16); pick another private range, e.g. 10.50.0.0/16',
    );
    expect(problems({ kubernetes: { version: "1.34" } })).toContainEqual(
      expect.stringMatching(
        /^rag-platform:kubernetes\.version: got "1\.34"; is not a version AKS supports \(allowed: 1\.35-1\.37;/,
      ),
    );
  });

  it("refuses admins that are not Entra object ids, and action groups off Azure or not action groups", () => {
    expect(problems({ kubernetes: { adminPrincipals: ["alice@example.com"] } })).toContainEqual(
      'rag-platform:kubernetes.adminPrincipals[0]: got "alice@example.com"; must be a Microsoft Entra principal on azure (user:<object id>, group:<object id> or servicePrincipal:<object id>)',
    );
    expect(
      problems({ observability: { azureActionGroupIds: ["/subscriptions/x/resourceGroups/y"] } }),
    ).toContainEqual(expect.stringContaining("must be an action group's resource id"));
    const onAws = (() => {
      try {
        resolveConfig({
          tier: "sme",
          observability: {
            azureActionGroupIds: [
              "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/microsoft.insights/actionGroups/pd",
            ],
          },
        });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(onAws).toContainEqual(
      expect.stringContaining("only used on azure (the stack is on aws)"),
    );
  });
});

/** Helm's merge of values over a chart's defaults: maps merge, anything else replaces, null deletes. */
function helmMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = helmMerge(out[k] as Obj, v as Obj);
    else out[k] = v;
  }
  return out;
}

function isMap(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
