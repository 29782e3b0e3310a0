import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";
import { GCP_GPU_MACHINES } from "../shared/gpu-hosts";
import {
  assertOllamaModels,
  OLLAMA_PORT,
  ollamaEndpoint,
  ollamaHostScript,
} from "../shared/ollama";
import { serviceAccountMember, type GcpScope } from "./common";
import type { GcpKms } from "./kms";
import { NETWORK_TAGS, type GcpNetwork } from "./network";

export type GcpHostGpu = keyof typeof GCP_GPU_MACHINES;

/** Ubuntu 22.04 LTS: Ollama's installer puts NVIDIA's driver on it when it finds the GPU. */
export const UBUNTU_IMAGE = "ubuntu-os-cloud/ubuntu-2204-lts";

export interface GceOllamaVmArgs {
  readonly scope: GcpScope;
  readonly network: GcpNetwork;
  /** Its key encrypts the boot disk. */
  readonly kms: GcpKms;
  readonly gpu: GcpHostGpu;
  /** Models pulled at boot: the generation model first. */
  readonly model: string;
  readonly embeddingModel: string;
  /** Pinned Ollama release installed at boot. */
  readonly ollamaVersion: string;
  /** The zone (one with the GPU). @default - the region's zone b */
  readonly zone?: string;
  /** @default 200 */
  readonly bootDiskGiB?: number;
}

/**
 * One GPU VM running Ollama at a fixed private address of the workloads subnet: no public IP,
 * Ollama's port open to the runtime's tag only, SSH only through Identity-Aware Proxy with OS Login
 * (project-wide keys blocked), the boot disk encrypted with the stack's key, vTPM and integrity
 * monitoring (Secure Boot stays off: NVIDIA's driver is not signed for it), and a service account
 * that may write logs and metrics, nothing else.
 */
export class GceOllamaVm extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;
  readonly instanceName: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly zone: string;
  readonly machineType: string;
  readonly privateIp: string;

  constructor(name: string, args: GceOllamaVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:OllamaVm", name, {}, opts);
    assertOllamaModels(`GceOllamaVm ${name}`, [args.model, args.embeddingModel]);
    const { project, region } = args.scope;
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const machine = GCP_GPU_MACHINES[args.gpu];
    this.zone = args.zone ?? `${region}-b`;
    this.machineType = machine.machineType;
    this.privateIp = args.network.plan.ollamaAddress;
    const address = new gcp.compute.Address(
      name,
      {
        project,
        region,
        addressType: "INTERNAL",
        subnetwork: args.network.subnetworkId,
        address: this.privateIp,
      },
      parent,
    );
    const account = new gcp.serviceaccount.Account(
      `${name}-vm`,
      { project, accountId: `${name}-vm`.slice(0, 30), displayName: "rag GPU host (Ollama)" },
      parent,
    );
    for (const role of ["roles/logging.logWriter", "roles/monitoring.metricWriter"]) {
      new gcp.projects.IAMMember(
        `${name}-vm-${role.split("/")[1]!.replace(/\./g, "-")}`,
        { project, role, member: serviceAccountMember(account.email) },
        { parent: this },
      );
    }
    const instance = new gcp.compute.Instance(
      name,
      {
        project,
        zone: this.zone,
        machineType: machine.machineType,
        guestAccelerators: machine.accelerator
          ? [{ type: machine.accelerator, count: 1 }]
          : undefined,
        // A GPU VM cannot live-migrate: it stops for host maintenance and starts again.
        scheduling: { onHostMaintenance: "TERMINATE", automaticRestart: true },
        bootDisk: {
          initializeParams: {
            image: UBUNTU_IMAGE,
            size: args.bootDiskGiB ?? 200,
            type: "pd-balanced",
          },
          kmsKeySelfLink: args.kms.keyId,
        },
        networkInterfaces: [{ subnetwork: args.network.subnetworkId, networkIp: address.address }],
        shieldedInstanceConfig: {
          enableSecureBoot: false,
          enableVtpm: true,
          enableIntegrityMonitoring: true,
        },
        serviceAccount: {
          email: account.email,
          scopes: ["https://www.googleapis.com/auth/cloud-platform"],
        },
        metadata: { "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE" },
        metadataStartupScript: ollamaHostScript(args.ollamaVersion, [
          args.model,
          args.embeddingModel,
        ]),
        tags: [NETWORK_TAGS.ollama],
        allowStoppingForUpdate: true,
        labels: { ...args.scope.labels },
      },
      {
        parent: this,
        dependsOn: [...args.scope.apis, ...args.kms.keyReady],
        ignoreChanges: ["bootDisk.initializeParams.image"],
      },
    );
    this.instanceName = instance.name;
    this.instanceId = instance.instanceId;
    this.endpoint = ollamaEndpoint(
      pulumi.output(`http://${this.privateIp}:${OLLAMA_PORT}`),
      args.model,
      args.embeddingModel,
    );
    this.registerOutputs({ instanceName: this.instanceName });
  }
}
