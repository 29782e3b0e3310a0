/** Compliant and violating cases for the rules that judge the Azure platform's own resource types (azure-native shapes). */
import type { ResourceView } from "../../policies/rules/types";
import type { RuleCase } from "./cases";
import { res } from "./fixtures";

const one = (r: ResourceView) => [r];
const SUB = "/subscriptions/00000000-0000-4000-8000-000000000001";
const VAULT_ID = `${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv`;

const rotatingKey = {
  vaultName: "kv",
  properties: {
    kty: "RSA",
    rotationPolicy: {
      attributes: { expiryTime: "P2Y" },
      lifetimeActions: [{ trigger: { timeAfterCreate: "P1Y" }, action: { type: "rotate" } }],
    },
  },
};
const vault = {
  properties: {
    enableRbacAuthorization: true,
    enableSoftDelete: true,
    enablePurgeProtection: true,
    publicNetworkAccess: "Disabled",
  },
};
const linuxVm = (
  linuxConfiguration: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) =>
  res("azure-native:compute:VirtualMachine", {
    osProfile: { adminUsername: "azureops", linuxConfiguration, ...extra },
    storageProfile: {
      osDisk: {
        createOption: "FromImage",
        managedDisk: { diskEncryptionSet: { id: `${SUB}/des` } },
      },
    },
  });
const nsg = (rule: Record<string, unknown>) =>
  res("azure-native:network:NetworkSecurityGroup", {
    securityRules: [
      {
        name: "r",
        direction: "Inbound",
        access: "Allow",
        protocol: "Tcp",
        sourcePortRange: "*",
        destinationAddressPrefix: "*",
        ...rule,
      },
    ],
  });
const assignment = (role: string, scope: string) =>
  res("azure-native:authorization:RoleAssignment", {
    principalId: "p",
    roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
    scope,
  });
const KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";

/** A resource with a diagnostic setting sending its logs to a workspace (or to nowhere). */
function logged(
  type: string,
  props: Record<string, unknown>,
  setting: Record<string, unknown> | undefined,
): ResourceView[] {
  const target = res(type, props);
  return setting
    ? [
        target,
        res(
          "azure-native:monitor:DiagnosticSetting",
          { resourceUri: "id", ...setting },
          { resourceUri: [target] },
        ),
      ]
    : [target];
}
const TO_WORKSPACE = {
  workspaceId: `${SUB}/ws`,
  logs: [{ categoryGroup: "allLogs", enabled: true }],
};

/** A storage account whose blob service has its logs sent, through the service (as the platform does it). */
function blobLogged(setting: Record<string, unknown> | undefined): ResourceView[] {
  const account = res("azure-native:storage:StorageAccount", {});
  const service = res(
    "azure-native:storage:BlobServiceProperties",
    { accountName: "a", isVersioningEnabled: true },
    { accountName: [account] },
  );
  return setting
    ? [
        account,
        service,
        res(
          "azure-native:monitor:DiagnosticSetting",
          { resourceUri: "id", ...setting },
          { resourceUri: [service] },
        ),
      ]
    : [account, service];
}

function versioned(enabled: boolean | undefined): ResourceView[] {
  const account = res("azure-native:storage:StorageAccount", {});
  return enabled === undefined
    ? [account]
    : [
        account,
        res(
          "azure-native:storage:BlobServiceProperties",
          { accountName: "a", isVersioningEnabled: enabled },
          { accountName: [account] },
        ),
      ];
}

const MC = "azure-native:containerservice:ManagedCluster";
const POOL = "azure-native:containerservice:AgentPool";
const SUBNET = `${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes`;
const systemPool = {
  name: "system",
  mode: "System",
  vnetSubnetID: SUBNET,
  availabilityZones: ["1", "2", "3"],
  enableAutoScaling: true,
  minCount: 2,
  maxCount: 3,
};
const cluster = {
  sku: { name: "Base", tier: "Standard" },
  securityProfile: {
    azureKeyVaultKms: { enabled: true, keyId: `https://kv.vault.azure.net/keys/data/0123` },
  },
  diskEncryptionSetID: `${SUB}/des`,
  networkProfile: { networkPlugin: "azure", networkDataplane: "cilium", networkPolicy: "cilium" },
  autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" },
  agentPoolProfiles: [systemPool],
};
const userPool = { vnetSubnetID: SUBNET, enableAutoScaling: true, minCount: 0, maxCount: 2 };
const federated = {
  resourceName: "identity",
  issuer: "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/",
  subject: "system:serviceaccount:rag:rag-runtime",
  audiences: ["api://AzureADTokenExchange"],
};
const window = (durationHours: number) =>
  res("azure-native:containerservice:MaintenanceConfiguration", {
    configName: "aksManagedAutoUpgradeSchedule",
    maintenanceWindow: {
      schedule: { weekly: { dayOfWeek: "Sunday", intervalWeeks: 1 } },
      durationHours,
      startTime: "01:00",
    },
  });
const clusterLogging = (logs: Record<string, unknown>[] | undefined) =>
  logged(MC, cluster, logs && { workspaceId: `${SUB}/ws`, logs });

export const AZURE_CASES: Record<string, RuleCase> = {
  "azure-aks-customer-key": {
    compliant: one(res(MC, cluster)),
    violating: {
      "no KMS": one(res(MC, { ...cluster, securityProfile: {} })),
      "KMS off": one(
        res(MC, {
          ...cluster,
          securityProfile: { azureKeyVaultKms: { enabled: false, keyId: "k" } },
        }),
      ),
      "platform-key disks": one(res(MC, { ...cluster, diskEncryptionSetID: undefined })),
    },
  },
  "azure-aks-nodes-private": {
    compliant: [res(MC, cluster), res(POOL, userPool)],
    violating: {
      "public node IPs": one(res(POOL, { ...userPool, enableNodePublicIP: true })),
      "a pool in AKS's own network": one(res(POOL, { ...userPool, vnetSubnetID: undefined })),
      "an inline pool with public IPs": one(
        res(MC, { ...cluster, agentPoolProfiles: [{ ...systemPool, enableNodePublicIP: true }] }),
      ),
    },
  },
  "azure-aks-network-policy": {
    compliant: one(res(MC, cluster)),
    violating: {
      "no engine": one(res(MC, { ...cluster, networkProfile: { networkPlugin: "azure" } })),
      none: one(res(MC, { ...cluster, networkProfile: { networkPolicy: "none" } })),
      "cilium on the Azure dataplane": one(
        res(MC, {
          ...cluster,
          networkProfile: { networkPolicy: "cilium", networkDataplane: "azure" },
        }),
      ),
    },
  },
  "azure-federated-credential-exact": {
    compliant: one(res("azure-native:managedidentity:FederatedIdentityCredential", federated)),
    violating: {
      "a whole namespace": one(
        res("azure-native:managedidentity:FederatedIdentityCredential", {
          ...federated,
          subject: "system:serviceaccount:rag:*",
        }),
      ),
      "another audience": one(
        res("azure-native:managedidentity:FederatedIdentityCredential", {
          ...federated,
          audiences: ["api://AzureADTokenExchange", "sts.amazonaws.com"],
        }),
      ),
      "a plain-http issuer": one(
        res("azure-native:managedidentity:FederatedIdentityCredential", {
          ...federated,
          issuer: "http://issuer.example.com/",
        }),
      ),
    },
  },
  "azure-aks-audit-logged": {
    compliant: clusterLogging([{ category: "kube-audit-admin", enabled: true }]),
    violating: {
      "no diagnostic setting": clusterLogging(undefined),
      "only the autoscaler's log": clusterLogging([
        { category: "cluster-autoscaler", enabled: true },
      ]),
    },
  },
  "azure-aks-upgrades": {
    tier: "sme",
    compliant: [res(MC, cluster), window(4)],
    violating: {
      "no channel": one(res(MC, { ...cluster, autoUpgradeProfile: undefined })),
      "node images never updated": one(
        res(MC, {
          ...cluster,
          autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "None" },
        }),
      ),
      "a two-hour window": one(window(2)),
    },
  },
  "azure-aks-zone-redundant": {
    tier: "sme",
    compliant: [res(MC, cluster), res(POOL, userPool)],
    violating: {
      "free tier": one(res(MC, { ...cluster, sku: { name: "Base", tier: "Free" } })),
      "a one-zone system pool": one(
        res(MC, { ...cluster, agentPoolProfiles: [{ ...systemPool, availabilityZones: ["1"] }] }),
      ),
      "a fixed-size pool": one(res(POOL, { ...userPool, enableAutoScaling: false })),
    },
  },
  "azure-key-rotation": {
    compliant: one(res("azure-native:keyvault:Key", rotatingKey)),
    violating: {
      "no rotation policy": one(
        res("azure-native:keyvault:Key", { vaultName: "kv", properties: { kty: "RSA" } }),
      ),
      "notify only": one(
        res("azure-native:keyvault:Key", {
          vaultName: "kv",
          properties: {
            rotationPolicy: {
              attributes: { expiryTime: "P2Y" },
              lifetimeActions: [
                { trigger: { timeBeforeExpiry: "P30D" }, action: { type: "notify" } },
              ],
            },
          },
        }),
      ),
      "no expiry": one(
        res("azure-native:keyvault:Key", {
          vaultName: "kv",
          properties: {
            rotationPolicy: {
              lifetimeActions: [
                { trigger: { timeAfterCreate: "P1Y" }, action: { type: "rotate" } },
              ],
            },
          },
        }),
      ),
    },
  },
  "azure-managed-redis-customer-key": {
    compliant: one(
      res("azure-native:redisenterprise:RedisEnterprise", {
        encryption: {
          customerManagedKeyEncryption: {
            keyEncryptionKeyUrl: "https://kv.vault.azure.net/keys/data",
          },
        },
      }),
    ),
    violating: { "platform key": one(res("azure-native:redisenterprise:RedisEnterprise", {})) },
  },
  "azure-disk-customer-key": {
    compliant: one(linuxVm({ disablePasswordAuthentication: true })),
    violating: {
      "platform key": one(
        res("azure-native:compute:VirtualMachine", {
          storageProfile: {
            osDisk: {
              createOption: "FromImage",
              managedDisk: { storageAccountType: "Premium_LRS" },
            },
          },
        }),
      ),
    },
  },
  "azure-managed-redis-tls": {
    compliant: [
      res("azure-native:redisenterprise:RedisEnterprise", { minimumTlsVersion: "1.2" }),
      res("azure-native:redisenterprise:Database", { clientProtocol: "Encrypted" }),
    ],
    violating: {
      "TLS 1.0": one(
        res("azure-native:redisenterprise:RedisEnterprise", { minimumTlsVersion: "1.0" }),
      ),
      "plaintext database": one(
        res("azure-native:redisenterprise:Database", { clientProtocol: "Plaintext" }),
      ),
    },
  },
  "azure-container-apps-peer-encryption": {
    compliant: one(
      res("azure-native:app:ManagedEnvironment", {
        peerTrafficConfiguration: { encryption: { enabled: true } },
      }),
    ),
    violating: { unencrypted: one(res("azure-native:app:ManagedEnvironment", {})) },
  },
  "azure-nsg-no-world-ingress": {
    compliant: [
      nsg({ sourceAddressPrefix: "Internet", destinationPortRange: "443" }),
      nsg({ sourceAddressPrefix: "10.40.0.0/23", destinationPortRange: "5432" }),
      nsg({ sourceAddressPrefix: "*", destinationPortRange: "22", access: "Deny" }),
    ],
    violating: {
      "SSH from the internet": one(
        nsg({ sourceAddressPrefix: "Internet", destinationPortRange: "22" }),
      ),
      "any port from anywhere": one(nsg({ sourceAddressPrefix: "*", destinationPortRange: "*" })),
      "a standalone rule from 0.0.0.0/0": one(
        res("azure-native:network:SecurityRule", {
          name: "r",
          direction: "Inbound",
          access: "Allow",
          sourceAddressPrefixes: ["0.0.0.0/0"],
          destinationPortRanges: ["443", "80"],
        }),
      ),
    },
  },
  "azure-subnet-nsg": {
    compliant: one(
      res("azure-native:network:Subnet", { networkSecurityGroup: { id: `${SUB}/nsg` } }),
    ),
    violating: {
      "no NSG": one(res("azure-native:network:Subnet", { addressPrefix: "10.40.4.0/24" })),
    },
  },
  "azure-nic-no-public-ip": {
    compliant: one(
      res("azure-native:network:NetworkInterface", {
        ipConfigurations: [{ name: "private", privateIPAddress: "10.40.4.10" }],
      }),
    ),
    violating: {
      "public IP": one(
        res("azure-native:network:NetworkInterface", {
          ipConfigurations: [{ name: "p", publicIPAddress: { id: `${SUB}/pip` } }],
        }),
      ),
    },
  },
  "azure-role-assignment-scoped": {
    compliant: one(assignment(KEY_VAULT_SECRETS_USER, VAULT_ID)),
    violating: {
      owner: one(assignment("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", VAULT_ID)),
      "subscription-wide": one(assignment(KEY_VAULT_SECRETS_USER, SUB)),
      "resource-group-wide": one(assignment(KEY_VAULT_SECRETS_USER, `${SUB}/resourceGroups/rg`)),
    },
  },
  "azure-custom-role-no-wildcards": {
    compliant: one(
      res("azure-native:authorization:RoleDefinition", {
        permissions: [
          { dataActions: ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"] },
        ],
        assignableScopes: [
          `${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a`,
        ],
      }),
    ),
    violating: {
      everything: one(
        res("azure-native:authorization:RoleDefinition", {
          permissions: [{ actions: ["*"] }],
          assignableScopes: [`${SUB}/resourceGroups/rg/providers/x/y`],
        }),
      ),
      "every blob action": one(
        res("azure-native:authorization:RoleDefinition", {
          permissions: [
            { dataActions: ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"] },
          ],
          assignableScopes: [`${SUB}/resourceGroups/rg/providers/x/y`],
        }),
      ),
      "assignable subscription-wide": one(
        res("azure-native:authorization:RoleDefinition", {
          permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
          assignableScopes: [SUB],
        }),
      ),
    },
  },
  "azure-keyvault-rbac": {
    compliant: one(res("azure-native:keyvault:Vault", vault)),
    violating: {
      "access policies": one(
        res("azure-native:keyvault:Vault", {
          properties: {
            ...vault.properties,
            enableRbacAuthorization: false,
            accessPolicies: [{ objectId: "o", permissions: { secrets: ["get"] } }],
          },
        }),
      ),
    },
  },
  "azure-acr-hardened": {
    compliant: one(
      res("azure-native:containerregistry:Registry", {
        adminUserEnabled: false,
        anonymousPullEnabled: false,
      }),
    ),
    violating: {
      "admin user": one(res("azure-native:containerregistry:Registry", { adminUserEnabled: true })),
      "anonymous pull": one(
        res("azure-native:containerregistry:Registry", {
          adminUserEnabled: false,
          anonymousPullEnabled: true,
        }),
      ),
      "admin user not explicitly off": one(res("azure-native:containerregistry:Registry", {})),
    },
  },
  "azure-vm-no-password-auth": {
    compliant: one(
      linuxVm({
        disablePasswordAuthentication: true,
        ssh: { publicKeys: [{ keyData: "ssh-rsa AAAA" }] },
      }),
    ),
    violating: {
      "password sign-in": one(
        linuxVm({ disablePasswordAuthentication: false }, { adminPassword: "[secret]" }),
      ),
      "left to the default": one(linuxVm({})),
    },
  },
  "azure-blob-versioning": {
    compliant: versioned(true),
    tier: "staging",
    violating: {
      "versioning off": versioned(false),
      "no blob service settings": versioned(undefined),
    },
  },
  "azure-keyvault-recoverable": {
    compliant: one(res("azure-native:keyvault:Vault", vault)),
    violating: {
      "no purge protection": one(
        res("azure-native:keyvault:Vault", {
          properties: { ...vault.properties, enablePurgeProtection: false },
        }),
      ),
      "soft delete off": one(
        res("azure-native:keyvault:Vault", {
          properties: { ...vault.properties, enableSoftDelete: false },
        }),
      ),
    },
  },
  "azure-data-logged": {
    compliant: [
      ...logged("azure-native:keyvault:Vault", vault, {
        ...TO_WORKSPACE,
        logs: [{ categoryGroup: "audit", enabled: true }],
      }),
      ...blobLogged(TO_WORKSPACE),
      ...logged("azure-native:dbforpostgresql:Server", {}, TO_WORKSPACE),
    ],
    violating: {
      "vault without audit logs": logged("azure-native:keyvault:Vault", vault, undefined),
      "blob access not logged": blobLogged(undefined),
      "setting with its logs off": logged(
        "azure-native:dbforpostgresql:Server",
        {},
        { ...TO_WORKSPACE, logs: [{ categoryGroup: "allLogs", enabled: false }] },
      ),
      "setting with no destination": logged("azure-native:keyvault:Vault", vault, {
        logs: [{ categoryGroup: "audit", enabled: true }],
      }),
    },
  },
};
