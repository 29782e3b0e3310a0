import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_SECURITY, resources } from "./pod-security";

/** The API version of External Secrets' resources (v1beta1 is no longer served from 0.17). */
export const EXTERNAL_SECRETS_API = "external-secrets.io/v1";
/** What a resource of `kind` was, so an existing stack moves it to v1 in place instead of replacing it. */
const v1beta1 = (kind: string) => [{ type: `kubernetes:external-secrets.io/v1beta1:${kind}` }];

/**
 * The External Secrets chart's values on any cluster: its CRDs, two controllers with leader
 * election and two webhooks (the webhook refuses writes when down), each with a budget,
 * requests and limits and a restricted security context.
 */
export function externalSecretsValues(args: {
  /** The controller's service account (the cloud binds its identity to it). */
  readonly serviceAccount: {
    readonly name: string;
    /** Annotations binding it to a cloud identity (a workload identity's client id). @default - none */
    readonly annotations?: Record<string, pulumi.Input<string>>;
  };
  /** Labels of the controller's pods only (a workload identity webhook's opt-in). @default - none */
  readonly podLabels?: Record<string, string>;
  /**
   * Only ClusterSecretStores (the platform's), no namespaced SecretStore: one could otherwise
   * borrow the controller's cloud identity. @default false
   */
  readonly clusterStoresOnly?: boolean;
}): Record<string, unknown> {
  const budget = { enabled: true, minAvailable: 1 };
  const small = resources({ cpuMillicores: 50, memoryMiB: 128 });
  return {
    installCRDs: true,
    serviceAccount: {
      create: true,
      name: args.serviceAccount.name,
      ...(args.serviceAccount.annotations ? { annotations: args.serviceAccount.annotations } : {}),
    },
    ...(args.podLabels ? { podLabels: args.podLabels } : {}),
    ...(args.clusterStoresOnly
      ? { processSecretStore: false, rbac: { serviceAccountTokenCreate: false } }
      : {}),
    replicaCount: 2,
    leaderElect: true,
    podDisruptionBudget: budget,
    resources: resources({ cpuMillicores: 100, memoryMiB: 256 }),
    securityContext: CONTAINER_SECURITY,
    webhook: {
      replicaCount: 2,
      podDisruptionBudget: budget,
      resources: small,
      securityContext: CONTAINER_SECURITY,
    },
    certController: { resources: small, securityContext: CONTAINER_SECURITY },
  };
}

/** The ClusterSecretStore every ExternalSecret of the platform reads from, on the cloud's secret manager. */
export function clusterSecretStore(
  resourceName: string,
  storeName: string,
  provider: Record<string, unknown>,
  opts: pulumi.CustomResourceOptions,
  /** The namespaces whose ExternalSecrets may use the store. @default - every namespace */
  namespaces?: readonly string[],
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    resourceName,
    {
      apiVersion: EXTERNAL_SECRETS_API,
      kind: "ClusterSecretStore",
      metadata: { name: storeName },
      spec: { provider, ...(namespaces ? { conditions: [{ namespaces: [...namespaces] }] } : {}) },
    },
    { ...opts, aliases: v1beta1("ClusterSecretStore") },
  );
}

/** One key of the Kubernetes Secret, read from the cloud's secret manager. */
export interface RemoteSecretKey {
  /** The key in the Kubernetes Secret (we use the runtime's variable name). */
  readonly secretKey: string;
  /** The secret's id in the store (an ARN for AWS Secrets Manager). */
  readonly remoteKey: pulumi.Input<string>;
  /** A JSON property inside the remote secret. @default - the whole value */
  readonly property?: string;
}

export interface SyncedSecretArgs {
  readonly namespace: pulumi.Input<string>;
  /** The Kubernetes Secret's (and the ExternalSecret's) name. @default - the component's name */
  readonly secretName?: string;
  /** The ClusterSecretStore to read from (cloud-specific, created with External Secrets). */
  readonly storeName: pulumi.Input<string>;
  readonly keys: readonly RemoteSecretKey[];
  /** How often rotation in the secret manager reaches the Secret. @default "15m" */
  readonly refreshInterval?: string;
  /**
   * The Secret's type and keys, rendered from the remote values (External Secrets' template
   * engine v2). @default - an Opaque Secret of the remote values
   */
  readonly template?: { readonly type: string; readonly data: Record<string, string> };
}

/**
 * A Kubernetes Secret kept in sync with the cloud's secret manager by External Secrets
 * Operator: rotation there reaches the Secret within `refreshInterval`, and pods on restart.
 */
export class SyncedSecret extends pulumi.ComponentResource {
  /**
   * The name of the Kubernetes Secret the workloads reference, known once the ExternalSecret is
   * created: a workload naming it waits for that (and fails with it when a remote value is missing).
   */
  readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: SyncedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:SyncedSecret", name, {}, opts);
    if (args.keys.length === 0) throw new Error(`SyncedSecret ${name}: no keys to sync`);
    const secretName = args.secretName ?? name;
    const external = new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: EXTERNAL_SECRETS_API,
        kind: "ExternalSecret",
        metadata: { name: secretName, namespace: args.namespace },
        spec: {
          refreshInterval: args.refreshInterval ?? "15m",
          secretStoreRef: { kind: "ClusterSecretStore", name: args.storeName },
          target: {
            name: secretName,
            creationPolicy: "Owner",
            deletionPolicy: "Retain",
            ...(args.template
              ? {
                  template: {
                    engineVersion: "v2",
                    type: args.template.type,
                    data: args.template.data,
                  },
                }
              : {}),
          },
          data: args.keys.map((k) => ({
            secretKey: k.secretKey,
            remoteRef: { key: k.remoteKey, ...(k.property ? { property: k.property } : {}) },
          })),
        },
      },
      { parent: this, aliases: v1beta1("ExternalSecret") },
    );
    this.secretName = pulumi.all([external.id]).apply(() => secretName);
    this.registerOutputs({ secretName: this.secretName });
  }
}
