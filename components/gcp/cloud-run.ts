import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../runtime/src/config";
import type { RuntimeEnvironment } from "../contracts";
import {
  API_IDLE_TIMEOUT_SECONDS,
  API_STARTUP_GRACE_SECONDS,
  REEMBED_COMMAND,
  RUNTIME_PROCESSES,
} from "../shared/runtime-image";
import {
  cloudRunSize,
  environmentVariables,
  filesOf,
  probes,
  secretVolumes,
  type MountedFile,
} from "./cloud-run-spec";
import { serviceAccountMember, type GcpScope } from "./common";
import { DOCUMENT_ROLE } from "./document-store";
import { NETWORK_TAGS, type GcpNetwork } from "./network";

/**
 * Cloud Run gives an instance 10 s after SIGTERM, whatever the service asks: the runtime finishes
 * what it can in 8 (a document left half-indexed is taken over by another worker).
 */
export const CLOUD_RUN_SHUTDOWN_SECONDS = 8;

/** Concurrent requests one API instance takes before Cloud Run starts another. */
export const API_CONCURRENCY = 50;

export interface CloudRunSize {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
}

export interface CloudRunRuntimeArgs {
  readonly scope: GcpScope;
  readonly network: GcpNetwork;
  readonly image: pulumi.Input<string>;
  readonly env: RuntimeEnvironment;
  /** Files the container reads besides the secrets (the managed services' CA certificates), kept in Secret Manager. */
  readonly files: readonly MountedFile[];
  readonly api: CloudRunSize;
  readonly worker: CloudRunSize;
  /** The document bucket (the runtime may use its objects, nothing else). */
  readonly documentsBucket: pulumi.Input<string>;
  /** Behind the external HTTPS load balancer (the API takes no other traffic). @default false: internal only */
  readonly behindLoadBalancer?: boolean;
}

/**
 * The runtime on Cloud Run: the API (internal ingress, or the load balancer's only; the runtime
 * authenticates its callers itself), the ingest worker (a service that always has CPU, no
 * ingress), a job for re-embedding, all with direct VPC egress tagged for the firewall, secrets
 * mounted from Secret Manager as files, and one service account that may read those secrets and
 * use the document bucket's objects, nothing else.
 */
export class CloudRunRuntime extends pulumi.ComponentResource {
  readonly apiName: pulumi.Output<string>;
  readonly workerName: pulumi.Output<string>;
  /** The API's own URL (*.run.app; from the VPC only unless behind the load balancer). */
  readonly apiUri: pulumi.Output<string>;
  readonly serviceAccountEmail: pulumi.Output<string>;
  /** `gcloud run jobs execute` for a re-embedding run, with the worker's environment. */
  readonly reembedCommand: pulumi.Output<string>;

  constructor(name: string, args: CloudRunRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:CloudRun", name, {}, opts);
    const { project, region } = args.scope;
    const account = new gcp.serviceaccount.Account(
      `${name}-runtime`,
      {
        project,
        accountId: `${name}-runtime`.slice(0, 30),
        displayName: "rag runtime (Cloud Run)",
      },
      { parent: this, dependsOn: [...args.scope.apis] },
    );
    const member = serviceAccountMember(account.email);
    const files = filesOf(args.env, args.files);
    const grants = this.grant(name, args, files, member);
    const { volumes, mounts } = secretVolumes(files);
    const vpcAccess = {
      networkInterfaces: [
        {
          network: args.network.networkId,
          subnetwork: args.network.subnetworkId,
          tags: [NETWORK_TAGS.runtime],
        },
      ],
      egress: "PRIVATE_RANGES_ONLY",
    };
    const common = {
      [ENV.serviceName]: name,
      [ENV.host]: "0.0.0.0",
      [ENV.shutdownTimeoutSeconds]: String(CLOUD_RUN_SHUTDOWN_SECONDS),
    };
    const labels = { ...args.scope.labels };
    const after = { parent: this, dependsOn: grants };

    const apiPort = RUNTIME_PROCESSES.api.port;
    const api = new gcp.cloudrunv2.Service(
      `${name}-api`,
      {
        project,
        location: region,
        name: `${name}-api`,
        ingress: args.behindLoadBalancer
          ? "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
          : "INGRESS_TRAFFIC_INTERNAL_ONLY",
        // The runtime checks API keys and tokens itself; the ingress setting keeps the internet out.
        invokerIamDisabled: true,
        defaultUriDisabled: args.behindLoadBalancer ?? false,
        deletionProtection: false,
        labels,
        template: {
          serviceAccount: account.email,
          // A non-streamed answer says nothing until it is ready: Cloud Run waits as long as the runtime's bounds allow.
          timeout: `${API_IDLE_TIMEOUT_SECONDS}s`,
          maxInstanceRequestConcurrency: API_CONCURRENCY,
          scaling: {
            minInstanceCount: args.api.minReplicas,
            maxInstanceCount: args.api.maxReplicas,
          },
          vpcAccess,
          volumes,
          containers: [
            {
              name: "api",
              image: args.image,
              commands: [...RUNTIME_PROCESSES.api.command],
              ports: { containerPort: apiPort },
              resources: {
                limits: cloudRunSize(args.api.cpuMillicores, args.api.memoryMiB),
                startupCpuBoost: true,
              },
              envs: environmentVariables(
                args.env,
                {
                  ...common,
                  [ENV.port]: String(apiPort),
                  [ENV.metricsPort]: String(RUNTIME_PROCESSES.api.metricsPort),
                  // Cloud Run's front end (and the load balancer before it) add the client to X-Forwarded-For.
                  [ENV.trustProxy]: args.behindLoadBalancer ? "2" : "1",
                  [ENV.httpKeepAliveSeconds]: String(API_IDLE_TIMEOUT_SECONDS + 5),
                },
                files,
              ),
              ...probes(apiPort, API_STARTUP_GRACE_SECONDS),
              volumeMounts: mounts,
            },
          ],
        },
      },
      after,
    );

    const workerPort = RUNTIME_PROCESSES.worker.port;
    const workerContainer = {
      name: "worker",
      image: args.image,
      commands: [...RUNTIME_PROCESSES.worker.command],
      resources: { limits: cloudRunSize(args.worker.cpuMillicores, args.worker.memoryMiB) },
      envs: environmentVariables(
        args.env,
        { ...common, [ENV.workerHealthPort]: String(workerPort) },
        files,
      ),
      volumeMounts: mounts,
    };
    const worker = new gcp.cloudrunv2.Service(
      `${name}-worker`,
      {
        project,
        location: region,
        name: `${name}-worker`,
        ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
        deletionProtection: false,
        labels,
        template: {
          serviceAccount: account.email,
          // No request drives the worker: it keeps its CPU between requests and scales on its CPU use.
          scaling: {
            minInstanceCount: args.worker.minReplicas,
            maxInstanceCount: args.worker.maxReplicas,
          },
          vpcAccess,
          volumes,
          containers: [
            {
              ...workerContainer,
              ports: { containerPort: workerPort },
              resources: { ...workerContainer.resources, cpuIdle: false },
              ...probes(workerPort, API_STARTUP_GRACE_SECONDS),
            },
          ],
        },
      },
      after,
    );
    const reembed = new gcp.cloudrunv2.Job(
      `${name}-reembed`,
      {
        project,
        location: region,
        name: `${name}-reembed`,
        deletionProtection: false,
        labels,
        template: {
          taskCount: 1,
          parallelism: 1,
          template: {
            serviceAccount: account.email,
            timeout: "14400s",
            maxRetries: 0,
            vpcAccess,
            volumes,
            containers: [{ ...workerContainer, name: "reembed", commands: [...REEMBED_COMMAND] }],
          },
        },
      },
      after,
    );

    this.apiName = api.name;
    this.workerName = worker.name;
    this.apiUri = api.uri;
    this.serviceAccountEmail = account.email;
    this.reembedCommand = pulumi.interpolate`gcloud run jobs execute ${reembed.name} --region ${region} --project ${project} --wait`;
    this.registerOutputs({ apiUri: this.apiUri });
  }

  /** The runtime's account reads each file's secret and uses the document bucket's objects; nothing else. */
  private grant(
    name: string,
    args: CloudRunRuntimeArgs,
    files: readonly MountedFile[],
    member: pulumi.Output<string>,
  ): pulumi.Resource[] {
    const parent = { parent: this };
    const secrets = files.map((f) => {
      if (f.ref.kind !== "gcp-secretmanager")
        throw new Error(
          `${f.variable}: Cloud Run mounts files from Secret Manager only; got a ${f.ref.kind} secret`,
        );
      return new gcp.secretmanager.SecretIamMember(
        `${name}-reads-${f.variable.toLowerCase().replace(/_/g, "-")}`,
        {
          project: args.scope.project,
          secretId: f.ref.secretId,
          role: "roles/secretmanager.secretAccessor",
          member,
        },
        parent,
      );
    });
    const documents = new gcp.storage.BucketIAMMember(
      `${name}-documents`,
      { bucket: args.documentsBucket, role: DOCUMENT_ROLE, member },
      parent,
    );
    return [...secrets, documents];
  }
}
