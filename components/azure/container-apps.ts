import * as app from "@pulumi/azure-native/app";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as privatedns from "@pulumi/azure-native/privatedns";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../runtime/src/config";
import type { RuntimeEnvironment } from "../contracts";
import {
  API_READINESS_PATH,
  API_STARTUP_GRACE_SECONDS,
  QUEUE_DEPTH_PER_WORKER,
  REEMBED_COMMAND,
  RUNTIME_PROCESSES,
  modelTimeoutsWithin,
  processEnv,
} from "../shared/runtime-image";
import { builtinRoleId, grant, placed, type AzureScope } from "./common";
import {
  SECRETS_MOUNT,
  appSecretName,
  containerAppSize,
  environmentVariables,
  keyVaultSecrets,
  probes,
  secretsVolume,
} from "./container-app-spec";
import type { BlobDocumentStore } from "./document-store";
import type { KeyVault } from "./key-vault";
import type { LogWorkspace } from "./log-workspace";
import type { AzureNetwork } from "./network";

/**
 * How long Container Apps' ingress keeps a request on which no byte moves (its default, which
 * only a dedicated "premium ingress" profile raises): the runtime's model timeouts are cut to
 * fit, so a non-streamed answer is never cut by the ingress (modelTimeoutsWithin).
 */
export const INGRESS_IDLE_TIMEOUT_SECONDS = 240;

/** The apps' names, unique within the stack's resource group (Azure allows at most 32 characters). */
export const APP_NAMES = { api: "rag-api", worker: "rag-worker", reembed: "rag-reembed" } as const;

/** The longest a Container App replica gets after SIGTERM (Azure's limit). */
const MAX_TERMINATION_GRACE_SECONDS = 600;

export interface ContainerAppSize {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
}

export interface ContainerAppsRuntimeArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  readonly logs: LogWorkspace;
  /** The runtime image (pinned by digest or an immutable tag). */
  readonly image: pulumi.Input<string>;
  /** The registry the image is pulled from with the runtime's identity (it is granted AcrPull). @default - a public image */
  readonly registry?: {
    readonly id: pulumi.Input<string>;
    readonly loginServer: pulumi.Input<string>;
  };
  readonly env: RuntimeEnvironment;
  readonly api: ContainerAppSize;
  readonly worker: ContainerAppSize & { readonly concurrency: number };
  /** The vault the runtime's secrets live in (the identity may read them, nothing else). */
  readonly vault: KeyVault;
  readonly documents: BlobDocumentStore;
  /** The worker scales on the ingest queue's waiting jobs (KEDA's Redis list scaler). */
  readonly queue: {
    readonly address: pulumi.Input<string>;
    readonly tls: boolean;
    readonly listName: string;
  };
  /**
   * A public HTTPS endpoint at this hostname, with the certificate in a Key Vault (its secret's
   * URL); the environment's `certificateIdentity` must be granted Key Vault Secrets User there.
   * @default - the environment is internal: reachable from the network only
   */
  readonly publicDomain?: { readonly hostname: string; readonly certificateKeyVaultUrl: string };
  /** Spread the environment's replicas over the region's zones. @default true */
  readonly zoneRedundant?: boolean;
}

/**
 * The runtime on Azure Container Apps: an environment in the network's apps subnet (internal
 * unless a public domain is given, with encrypted traffic between apps and its logs in the
 * workspace), the API with HTTPS-only ingress and HTTP-concurrency autoscaling, the ingest worker
 * without ingress scaled by KEDA on the queue, a manual job for re-embedding, and one managed
 * identity that may read the vault's secrets, the documents container and the registry, nothing
 * else. Every secret is a Key Vault reference mounted as a file, never an environment value.
 */
export class ContainerAppsRuntime extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  readonly environmentId: pulumi.Output<string>;
  readonly apiAppId: pulumi.Output<string>;
  readonly workerAppId: pulumi.Output<string>;
  readonly apiName: pulumi.Output<string>;
  readonly workerName: pulumi.Output<string>;
  /** The identity the runtime runs as (grant it AcrPull on a registry you bring). */
  readonly identityPrincipalId: pulumi.Output<string>;
  /** The identity that reads the public certificate, when there is one (grant it on the certificate's vault). */
  readonly certificateIdentityPrincipalId: pulumi.Output<string> | undefined;
  /** `az containerapp job start` for a re-embedding run, with the worker's environment. */
  readonly reembedCommand: pulumi.Output<string>;

  constructor(
    name: string,
    args: ContainerAppsRuntimeArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:azure:ContainerApps", name, {}, opts);
    const parent = { parent: this };
    const where = placed(args.scope);
    const identity = new managedidentity.UserAssignedIdentity(`${name}-runtime`, where, parent);
    const grants = this.grantRuntime(name, args, identity);
    const certificateIdentity = args.publicDomain
      ? new managedidentity.UserAssignedIdentity(`${name}-certificates`, where, parent)
      : undefined;

    const environment = new app.ManagedEnvironment(
      name,
      {
        ...where,
        vnetConfiguration: {
          infrastructureSubnetId: args.network.appsSubnetId,
          internal: !args.publicDomain,
        },
        workloadProfiles: [{ name: "Consumption", workloadProfileType: "Consumption" }],
        zoneRedundant: args.zoneRedundant ?? true,
        // Logs through diagnostic settings (the workspace takes no shared key).
        appLogsConfiguration: { destination: "azure-monitor" },
        peerTrafficConfiguration: { encryption: { enabled: true } },
        identity: certificateIdentity
          ? { type: "UserAssigned", userAssignedIdentities: [certificateIdentity.id] }
          : undefined,
      },
      parent,
    );
    args.logs.collect(`${name}-logs`, environment.id, parent);
    if (!args.publicDomain) this.resolveInNetwork(name, args, environment);
    const certificate =
      args.publicDomain && certificateIdentity
        ? new app.Certificate(
            `${name}-certificate`,
            {
              ...where,
              environmentName: environment.name,
              properties: {
                certificateKeyVaultProperties: {
                  keyVaultUrl: args.publicDomain.certificateKeyVaultUrl,
                  identity: certificateIdentity.id,
                },
              },
            },
            parent,
          )
        : undefined;

    const common = {
      [ENV.serviceName]: name,
      [ENV.host]: "0.0.0.0",
      [ENV.azureClientId]: identity.clientId,
    };
    // The API answers through the ingress, which cuts a request idle for 240 s: its models get less time (the worker keeps the defaults).
    const timeouts = modelTimeoutsWithin(INGRESS_IDLE_TIMEOUT_SECONDS);
    const configuration = {
      secrets: keyVaultSecrets(args.env, identity.id),
      registries: args.registry
        ? [{ server: args.registry.loginServer, identity: identity.id }]
        : undefined,
    };
    const volumes = [secretsVolume(args.env)];
    const apiPort = RUNTIME_PROCESSES.api.port;
    // The API drains for as long as the ingress keeps a request, then has 10 s to close.
    const apiGrace = Math.min(MAX_TERMINATION_GRACE_SECONDS, INGRESS_IDLE_TIMEOUT_SECONDS + 10);
    const api = new app.ContainerApp(
      `${name}-api`,
      {
        ...where,
        containerAppName: APP_NAMES.api,
        managedEnvironmentId: environment.id,
        workloadProfileName: "Consumption",
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        configuration: {
          ...configuration,
          activeRevisionsMode: "Single",
          ingress: {
            external: true,
            targetPort: apiPort,
            transport: "http",
            allowInsecure: false,
            traffic: [{ latestRevision: true, weight: 100 }],
            customDomains:
              args.publicDomain && certificate
                ? [
                    {
                      name: args.publicDomain.hostname,
                      certificateId: certificate.id,
                      bindingType: "SniEnabled",
                    },
                  ]
                : undefined,
          },
        },
        template: {
          terminationGracePeriodSeconds: apiGrace,
          volumes,
          containers: [
            {
              name: "api",
              image: args.image,
              command: [...RUNTIME_PROCESSES.api.command],
              resources: containerAppSize(args.api.cpuMillicores, args.api.memoryMiB),
              env: environmentVariables(args.env, {
                ...common,
                [ENV.port]: String(apiPort),
                // /metrics on its own port, which the ingress does not forward to.
                [ENV.metricsPort]: String(RUNTIME_PROCESSES.api.metricsPort),
                // The ingress's proxies run in the apps subnet: believe their X-Forwarded-For only.
                [ENV.trustProxy]: args.network.cidrs.apps,
                [ENV.embeddingTimeoutSeconds]: String(timeouts.embeddingSeconds),
                [ENV.llmTimeoutSeconds]: String(timeouts.llmSeconds),
                ...processEnv("api", apiGrace),
                [ENV.httpKeepAliveSeconds]: String(INGRESS_IDLE_TIMEOUT_SECONDS + 5),
              }),
              probes: probes(apiPort, API_STARTUP_GRACE_SECONDS, API_READINESS_PATH),
              volumeMounts: [SECRETS_MOUNT],
            },
          ],
          scale: {
            minReplicas: args.api.minReplicas,
            maxReplicas: args.api.maxReplicas,
            rules: [
              { name: "concurrent-requests", http: { metadata: { concurrentRequests: "50" } } },
            ],
          },
        },
      },
      { parent: this, dependsOn: grants },
    );

    const workerPort = RUNTIME_PROCESSES.worker.port;
    const workerEnv = environmentVariables(args.env, {
      ...common,
      [ENV.workerHealthPort]: String(workerPort),
      ...processEnv("worker"),
    });
    const workerContainer = {
      name: "worker",
      image: args.image,
      command: [...RUNTIME_PROCESSES.worker.command],
      resources: containerAppSize(args.worker.cpuMillicores, args.worker.memoryMiB),
      env: workerEnv,
      volumeMounts: [SECRETS_MOUNT],
    };
    const worker = new app.ContainerApp(
      `${name}-worker`,
      {
        ...where,
        containerAppName: APP_NAMES.worker,
        managedEnvironmentId: environment.id,
        workloadProfileName: "Consumption",
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        configuration: { ...configuration, activeRevisionsMode: "Single" },
        template: {
          terminationGracePeriodSeconds: RUNTIME_PROCESSES.worker.stopGraceSeconds,
          volumes,
          containers: [
            { ...workerContainer, probes: probes(workerPort, API_STARTUP_GRACE_SECONDS) },
          ],
          scale: {
            minReplicas: args.worker.minReplicas,
            maxReplicas: args.worker.maxReplicas,
            rules: [
              {
                name: "ingest-queue",
                custom: {
                  type: "redis",
                  metadata: {
                    address: args.queue.address,
                    listName: args.queue.listName,
                    listLength: String(QUEUE_DEPTH_PER_WORKER),
                    enableTLS: String(args.queue.tls),
                  },
                  auth: [
                    { secretRef: appSecretName(ENV.redisPassword), triggerParameter: "password" },
                  ],
                },
              },
            ],
          },
        },
      },
      { parent: this, dependsOn: grants },
    );
    const reembed = new app.Job(
      `${name}-reembed`,
      {
        ...where,
        jobName: APP_NAMES.reembed,
        environmentId: environment.id,
        workloadProfileName: "Consumption",
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        configuration: {
          ...configuration,
          triggerType: "Manual",
          manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 },
          replicaTimeout: 4 * 3600,
          replicaRetryLimit: 0,
        },
        template: {
          volumes,
          containers: [{ ...workerContainer, name: "reembed", command: [...REEMBED_COMMAND] }],
        },
      },
      { parent: this, dependsOn: grants },
    );

    this.environmentId = environment.id;
    this.apiAppId = api.id;
    this.workerAppId = worker.id;
    this.apiName = api.name;
    this.workerName = worker.name;
    this.identityPrincipalId = identity.principalId;
    this.certificateIdentityPrincipalId = certificateIdentity?.principalId;
    this.url = args.publicDomain
      ? pulumi.output(`https://${args.publicDomain.hostname}`)
      : pulumi.interpolate`https://${api.configuration.apply((c) => c?.ingress?.fqdn ?? "")}`;
    this.reembedCommand = pulumi.interpolate`az containerapp job start --name ${reembed.name} --resource-group ${args.scope.resourceGroupName}`;
    this.registerOutputs({ url: this.url });
  }

  /** The runtime's identity reads the vault's secrets, its documents and its registry; nothing else. */
  private grantRuntime(
    name: string,
    args: ContainerAppsRuntimeArgs,
    identity: managedidentity.UserAssignedIdentity,
  ): pulumi.Resource[] {
    const parent = { parent: this };
    const grants = [
      grant(
        `${name}-secrets`,
        {
          principalId: identity.principalId,
          roleDefinitionId: builtinRoleId(args.scope.subscriptionId, "keyVaultSecretsUser"),
          scope: args.vault.vaultId,
          description: "the runtime reads its secrets (Key Vault references)",
        },
        parent,
      ),
      grant(
        `${name}-documents`,
        {
          principalId: identity.principalId,
          roleDefinitionId: args.documents.documentRoleId,
          scope: args.documents.containerId,
          description: "the runtime stores, reads and securely deletes documents",
        },
        parent,
      ),
    ];
    if (args.registry) {
      grants.push(
        grant(
          `${name}-pull`,
          {
            principalId: identity.principalId,
            roleDefinitionId: builtinRoleId(args.scope.subscriptionId, "acrPull"),
            scope: args.registry.id,
            description: "Container Apps pull the runtime image",
          },
          parent,
        ),
      );
    }
    return grants;
  }

  /** An internal environment's names (the apps' FQDNs) resolve to its address everywhere in the network. */
  private resolveInNetwork(
    name: string,
    args: ContainerAppsRuntimeArgs,
    environment: app.ManagedEnvironment,
  ): void {
    const parent = { parent: this };
    const zone = new privatedns.PrivateZone(
      `${name}-apps`,
      {
        resourceGroupName: args.scope.resourceGroupName,
        privateZoneName: environment.defaultDomain,
        location: "Global",
        tags: { ...args.scope.tags },
      },
      parent,
    );
    new privatedns.PrivateRecordSet(
      `${name}-apps`,
      {
        resourceGroupName: args.scope.resourceGroupName,
        privateZoneName: zone.name,
        recordType: "A",
        relativeRecordSetName: "*",
        ttl: 300,
        aRecords: [{ ipv4Address: environment.staticIp }],
      },
      parent,
    );
    new privatedns.VirtualNetworkLink(
      `${name}-apps`,
      {
        resourceGroupName: args.scope.resourceGroupName,
        privateZoneName: zone.name,
        location: "Global",
        virtualNetwork: { id: args.network.vnetId },
        registrationEnabled: false,
        tags: { ...args.scope.tags },
      },
      parent,
    );
  }
}
