/** What a kubeconfig's user runs to get a token (client.authentication.k8s.io/v1beta1). */
export interface ExecCredentialPlugin {
  readonly command: string;
  readonly args?: readonly string[];
  readonly installHint?: string;
  readonly provideClusterInfo?: boolean;
  readonly interactiveMode?: "Never" | "IfAvailable" | "Always";
}

/**
 * A kubeconfig of one cluster whose user signs in through an exec plugin: no static credential
 * is written, each use asks the cloud's CLI for a short-lived token.
 */
export function execKubeconfig(
  clusterName: string,
  server: string,
  caData: string,
  plugin: ExecCredentialPlugin,
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server, "certificate-authority-data": caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", ...plugin } },
      },
    ],
  });
}
