import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as pulumi from "@pulumi/pulumi";
import { placed, type AzureScope } from "./common";

export interface LogWorkspaceArgs {
  readonly scope: AzureScope;
  /** Days logs are kept (30 to 730). */
  readonly retentionDays: number;
}

/**
 * The stack's Log Analytics workspace: the Container Apps' console and system logs, and the
 * resource logs of everything that keeps data (the document store's reads, writes and deletes,
 * the vault's audit events, PostgreSQL's server logs), through `collect`. Queries only with
 * Entra ID (no shared keys).
 */
export class LogWorkspace extends pulumi.ComponentResource {
  readonly workspaceId: pulumi.Output<string>;
  /** The workspace's id for queries (`az monitor log-analytics query --workspace`). */
  readonly customerId: pulumi.Output<string>;

  constructor(name: string, args: LogWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:LogWorkspace", name, {}, opts);
    const retention = Math.min(730, Math.max(30, args.retentionDays));
    const workspace = new operationalinsights.Workspace(
      name,
      {
        ...placed(args.scope),
        sku: { name: "PerGB2018" },
        retentionInDays: retention,
        features: { disableLocalAuth: true },
      },
      { parent: this },
    );
    this.workspaceId = workspace.id;
    this.customerId = workspace.customerId;
    this.registerOutputs({ workspaceId: this.workspaceId });
  }

  /**
   * Sends a resource's logs here: every category, its audit group, or the categories listed.
   * (Alerts read metrics where Azure keeps them.)
   */
  collect(
    name: string,
    resourceUri: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
    logs: "allLogs" | "audit" | readonly string[] = "allLogs",
  ): monitor.DiagnosticSetting {
    return new monitor.DiagnosticSetting(
      name,
      {
        name: "to-log-analytics",
        resourceUri,
        workspaceId: this.workspaceId,
        logAnalyticsDestinationType: "Dedicated",
        logs:
          typeof logs === "string"
            ? [{ categoryGroup: logs, enabled: true }]
            : logs.map((category) => ({ category, enabled: true })),
      },
      opts,
    );
  }
}
