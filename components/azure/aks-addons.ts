import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretRef } from "../contracts";
import {
  clusterSecretStore,
  externalSecretsValues,
  type RemoteSecretKey,
  SyncedSecret,
} from "../kubernetes/external-secret";
import { pinnedRelease, type PinnedChart } from "../kubernetes/helm";
import { denyByDefault, flowPolicy } from "../kubernetes/network-policy";
import {
  INGRESS_IDLE_MINUTES,
  TRAEFIK_LABELS,
  TRAEFIK_NAMESPACE,
  TRAEFIK_PORTS,
  traefikValues,
} from "../kubernetes/traefik";
import type { AksCluster } from "./aks-cluster";
import { builtinRoleId, grant, placed, type AzureScope } from "./common";
import { keyVaultSecretName } from "./secret";
import type { KeyVault } from "./key-vault";

export const SECRET_STORE_NAME = "azure-key-vault";
const CERTIFICATE_STORE_NAME = "azure-key-vault-certificate";
const ESO_NAMESPACE = "external-secrets";
const ESO_SERVICE_ACCOUNT = "external-secrets";
/** The one audience Entra accepts on a federated credential. */
export const WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange";
/** The label a pod carries for AKS's workload identity webhook to give it the identity's token. */
export const WORKLOAD_IDENTITY_POD_LABEL = { "azure.workload.identity/use": "true" } as const;
/** The TLS Secret Traefik serves, in its namespace. */
const TLS_SECRET = "rag-api-tls";

export interface AksAddonsArgs {
  readonly scope: AzureScope;
  readonly cluster: AksCluster;
  readonly vault: KeyVault;
  readonly charts: { readonly externalSecrets: PinnedChart; readonly traefik: PinnedChart };
  /** The namespaces whose ExternalSecrets may read the stack's vault. */
  readonly secretNamespaces: readonly string[];
  /** Namespaces whose Ingresses Traefik serves. */
  readonly ingressNamespaces: readonly string[];
  /** The pods behind those Ingresses, and their ports: all Traefik may call. */
  readonly backends: {
    readonly peer: k8s.types.input.networking.v1.NetworkPolicyPeer;
    readonly ports: readonly number[];
  };
  /**
   * A public HTTPS endpoint with this Key Vault certificate (its secret's URL, PKCS#12): synced
   * into Traefik's namespace. @default - an internal load balancer, plain HTTP
   */
  readonly certificateSecretUrl?: string;
  /** Prefix of the Helm releases' Pulumi names (several clusters in one stack). @default - none */
  readonly resourceNamePrefix?: string;
}

/**
 * A user-assigned identity bound to one Kubernetes service account through workload identity: a
 * federated credential trusting the cluster's OIDC issuer for exactly that subject.
 */
export function workloadIdentity(
  name: string,
  args: {
    readonly scope: AzureScope;
    readonly cluster: AksCluster;
    readonly namespace: pulumi.Input<string>;
    readonly serviceAccount: string;
  },
  opts: pulumi.CustomResourceOptions,
): { identity: managedidentity.UserAssignedIdentity; ready: pulumi.Resource[] } {
  const identity = new managedidentity.UserAssignedIdentity(name, placed(args.scope), opts);
  const credential = new managedidentity.FederatedIdentityCredential(
    name,
    {
      resourceGroupName: args.scope.resourceGroupName,
      resourceName: identity.name,
      issuer: args.cluster.oidcIssuerUrl,
      subject: pulumi.interpolate`system:serviceaccount:${args.namespace}:${args.serviceAccount}`,
      audiences: [WORKLOAD_IDENTITY_AUDIENCE],
    },
    opts,
  );
  return { identity, ready: [credential] };
}

/**
 * AKS's add-ons that are Azure's: External Secrets on Key Vault through workload identity (its
 * own identity, read-only on exactly the secrets synced; namespaced SecretStores off, so none
 * borrows it) and Traefik behind an Azure load balancer (internal and plain HTTP, or public and
 * HTTPS only with the Key Vault certificate), with timeouts above the API's longest answer.
 */
export class AksAddons extends pulumi.ComponentResource {
  readonly secretStoreName = SECRET_STORE_NAME;
  /** What must exist before an ExternalSecret: the operator, its identity and the store. */
  readonly secretStoreReady: pulumi.Resource[];
  readonly traefik: k8s.helm.v3.Release;
  /** External Secrets' identity: grant it on the certificate's vault when that is another. */
  readonly externalSecretsPrincipalId: pulumi.Output<string>;
  /** With a certificate: the grant External Secrets needs on its secret, once (another vault). */
  readonly certificateAccess?: pulumi.Output<string>;
  private readonly name: string;
  private readonly scope: AzureScope;
  private readonly vault: KeyVault;

  constructor(name: string, args: AksAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:AksAddons", name, {}, opts);
    this.name = name;
    this.scope = args.scope;
    this.vault = args.vault;
    const named = (release: string) =>
      args.resourceNamePrefix ? `${args.resourceNamePrefix}-${release}` : release;
    const onCluster = { parent: this, provider: args.cluster.provider };

    const eso = workloadIdentity(
      `${name}-external-secrets`,
      {
        scope: args.scope,
        cluster: args.cluster,
        namespace: ESO_NAMESPACE,
        serviceAccount: ESO_SERVICE_ACCOUNT,
      },
      { parent: this },
    );
    this.externalSecretsPrincipalId = eso.identity.principalId;
    const operator = pinnedRelease(
      "external-secrets",
      args.charts.externalSecrets,
      {
        resourceName: named("external-secrets"),
        namespace: ESO_NAMESPACE,
        createNamespace: true,
        values: externalSecretsValues({
          serviceAccount: {
            name: ESO_SERVICE_ACCOUNT,
            annotations: { "azure.workload.identity/client-id": eso.identity.clientId },
          },
          podLabels: WORKLOAD_IDENTITY_POD_LABEL,
          clusterStoresOnly: true,
        }),
      },
      { ...onCluster, dependsOn: eso.ready },
    );
    const store = (
      resource: string,
      storeName: string,
      vaultUrl: pulumi.Input<string>,
      ns: readonly string[],
    ) =>
      clusterSecretStore(
        resource,
        storeName,
        { azurekv: { vaultUrl, authType: "WorkloadIdentity" } },
        { ...onCluster, dependsOn: [operator] },
        ns,
      );
    const main = store(
      `${name}-secret-store`,
      SECRET_STORE_NAME,
      args.vault.vaultUri,
      args.secretNamespaces,
    );
    this.secretStoreReady = [operator, main];

    const namespace = new k8s.core.v1.Namespace(
      `${name}-traefik-ns`,
      {
        metadata: {
          name: TRAEFIK_NAMESPACE,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      },
      onCluster,
    );
    // Traefik's namespace admits clients on its one entry point, and lets it reach the API pods
    // and the Kubernetes API (wherever AKS puts it), nothing else.
    denyByDefault(`${name}-traefik`, namespace.metadata.name, onCluster);
    flowPolicy(
      `${name}-traefik`,
      {
        namespace: namespace.metadata.name,
        podLabels: TRAEFIK_LABELS,
        ingress: [
          {
            from: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
            ports: [args.certificateSecretUrl ? TRAEFIK_PORTS.websecure : TRAEFIK_PORTS.web],
          },
        ],
        egressToPeers: [{ peer: args.backends.peer, ports: args.backends.ports }],
        egressToCidrs: [{ cidr: "0.0.0.0/0", ports: [443] }],
      },
      onCluster,
    );
    let tlsSecret: SyncedSecret | undefined;
    if (args.certificateSecretUrl) {
      const url = new URL(args.certificateSecretUrl);
      const certificateName = keyVaultSecretName(args.certificateSecretUrl);
      this.certificateAccess = pulumi.interpolate`az role assignment create --assignee-object-id ${this.externalSecretsPrincipalId} --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" --scope "<the resource id of the vault holding ${args.certificateSecretUrl}>/secrets/${certificateName}"`;
      const certificateStore = store(
        `${name}-certificate-store`,
        CERTIFICATE_STORE_NAME,
        url.origin,
        [TRAEFIK_NAMESPACE],
      );
      // The certificate's secret is its PKCS#12 (Key Vault's default), base64: the key and chain.
      tlsSecret = new SyncedSecret(
        `${name}-tls`,
        {
          namespace: namespace.metadata.name,
          secretName: TLS_SECRET,
          storeName: CERTIFICATE_STORE_NAME,
          keys: [{ secretKey: "pfx", remoteKey: `secret/${certificateName}` }],
          refreshInterval: "1h",
          template: {
            type: "kubernetes.io/tls",
            data: {
              "tls.crt": "{{ .pfx | b64dec | pkcs12cert }}",
              "tls.key": "{{ .pfx | b64dec | pkcs12key }}",
            },
          },
        },
        { ...onCluster, dependsOn: [operator, certificateStore] },
      );
    }
    this.traefik = pinnedRelease(
      "traefik",
      args.charts.traefik,
      {
        resourceName: named("traefik"),
        namespace: namespace.metadata.name,
        values: traefikValues({
          namespaces: args.ingressNamespaces,
          serviceAnnotations: {
            ...(args.certificateSecretUrl
              ? {}
              : { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" }),
            "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout":
              String(INGRESS_IDLE_MINUTES),
          },
          tlsSecretName: tlsSecret ? TLS_SECRET : undefined,
        }),
      },
      { ...onCluster, dependsOn: tlsSecret ? [tlsSecret] : [] },
    );
    this.registerOutputs({ secretStoreName: SECRET_STORE_NAME });
  }

  /**
   * Lets External Secrets read exactly `refs` (Key Vault Secrets User on each secret, named after
   * `grant`) and says where each lives in the store. Fails on a secret held elsewhere.
   */
  grantRead(grantName: string, refs: readonly SecretRef[]): Omit<RemoteSecretKey, "secretKey">[] {
    return refs.map((ref, i) => {
      if (ref.kind !== "azure-keyvault")
        throw new Error(
          `${this.name}-${grantName}: a secret must live in the stack's Key Vault to reach pods (got ${ref.kind})`,
        );
      const secretName = ref.secretUri.apply(keyVaultSecretName);
      grant(
        `${this.name}-eso-${grantName}${refs.length > 1 ? `-${i}` : ""}`,
        {
          principalId: this.externalSecretsPrincipalId,
          roleDefinitionId: builtinRoleId(this.scope.subscriptionId, "keyVaultSecretsUser"),
          scope: pulumi.interpolate`${this.vault.vaultId}/secrets/${secretName}`,
          description: `External Secrets syncs ${grantName} into the cluster`,
        },
        { parent: this },
      );
      return { remoteKey: secretName };
    });
  }
}
