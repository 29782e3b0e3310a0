import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { SecretRef } from "../contracts";
import {
  clusterSecretStore,
  externalSecretsValues,
  type RemoteSecretKey,
} from "../kubernetes/external-secret";
import { pinnedRelease, type PinnedChart } from "../kubernetes/helm";
import type { GcpScope } from "./common";
import type { GkeCluster } from "./gke-cluster";

export const SECRET_STORE_NAME = "gcp-secret-manager";
const ESO_NAMESPACE = "external-secrets";
const ESO_SERVICE_ACCOUNT = "external-secrets";
/** What External Secrets may do with each secret it syncs: read its versions. */
export const SECRET_READER_ROLE = "roles/secretmanager.secretAccessor";

/**
 * The IAM principal of exactly one Kubernetes service account of a cluster (Workload Identity
 * Federation for GKE): grants name it directly, with no Google service account in between.
 */
export function workloadPrincipal(
  scope: GcpScope,
  workloadPool: string,
  namespace: string,
  serviceAccount: string,
): pulumi.Output<string> {
  return pulumi.interpolate`principal://iam.googleapis.com/projects/${scope.projectNumber}/locations/global/workloadIdentityPools/${workloadPool}/subject/ns/${namespace}/sa/${serviceAccount}`;
}

export interface GkeAddonsArgs {
  readonly scope: GcpScope;
  readonly cluster: GkeCluster;
  readonly charts: { readonly externalSecrets: PinnedChart };
  /** The namespaces whose ExternalSecrets may read the project's Secret Manager. */
  readonly secretNamespaces: readonly string[];
  /** Prefix of the Helm release's Pulumi name (several clusters in one stack). @default - none */
  readonly resourceNamePrefix?: string;
}

/**
 * GKE's add-on that is Google's: External Secrets on Secret Manager through Workload Identity. Its
 * controller's Kubernetes service account is itself the IAM principal, allowed to read exactly the
 * secrets it syncs (one grant each); namespaced SecretStores are off, so none borrows it.
 */
export class GkeAddons extends pulumi.ComponentResource {
  readonly secretStoreName = SECRET_STORE_NAME;
  /** What must exist before an ExternalSecret: the operator and the store. */
  readonly secretStoreReady: pulumi.Resource[];
  /** External Secrets' IAM principal (its controller's Kubernetes service account). */
  readonly externalSecretsPrincipal: pulumi.Output<string>;
  private readonly name: string;
  private readonly scope: GcpScope;

  constructor(name: string, args: GkeAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:GkeAddons", name, {}, opts);
    this.name = name;
    this.scope = args.scope;
    const onCluster = { parent: this, provider: args.cluster.provider };
    this.externalSecretsPrincipal = workloadPrincipal(
      args.scope,
      args.cluster.workloadPool,
      ESO_NAMESPACE,
      ESO_SERVICE_ACCOUNT,
    );
    const operator = pinnedRelease(
      "external-secrets",
      args.charts.externalSecrets,
      {
        resourceName: args.resourceNamePrefix
          ? `${args.resourceNamePrefix}-external-secrets`
          : "external-secrets",
        namespace: ESO_NAMESPACE,
        createNamespace: true,
        values: externalSecretsValues({
          serviceAccount: { name: ESO_SERVICE_ACCOUNT },
          clusterStoresOnly: true,
        }),
      },
      onCluster,
    );
    // Only the project: the controller's own Workload Identity signs in (no credentials in the store).
    const store = clusterSecretStore(
      `${name}-secret-store`,
      SECRET_STORE_NAME,
      { gcpsm: { projectID: args.scope.project } },
      { ...onCluster, dependsOn: [operator] },
      args.secretNamespaces,
    );
    this.secretStoreReady = [operator, store];
    this.registerOutputs({ secretStoreName: SECRET_STORE_NAME });
  }

  /**
   * Lets External Secrets read exactly `refs` (SECRET_READER_ROLE on each secret, named after
   * `grantName`) and says where each lives in the store. Fails on a secret held elsewhere.
   */
  grantRead(grantName: string, refs: readonly SecretRef[]): Omit<RemoteSecretKey, "secretKey">[] {
    return refs.map((ref, i) => {
      if (ref.kind !== "gcp-secretmanager")
        throw new Error(
          `${this.name}-${grantName}: a secret must live in the project's Secret Manager to reach pods (got ${ref.kind})`,
        );
      new gcp.secretmanager.SecretIamMember(
        `${this.name}-eso-${grantName}${refs.length > 1 ? `-${i}` : ""}`,
        {
          project: this.scope.project,
          secretId: ref.secretId,
          role: SECRET_READER_ROLE,
          member: this.externalSecretsPrincipal,
        },
        { parent: this },
      );
      return { remoteKey: ref.secretId };
    });
  }
}
