import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { LlmEndpoint } from "../contracts";
import { AZURE_GPU_VM_SIZES } from "../shared/gpu-hosts";
import {
  assertOllamaModels,
  OLLAMA_PORT,
  ollamaEndpoint,
  ollamaHostScript,
} from "../shared/ollama";
import { customerKeyDiskEncryption } from "./disk-encryption";
import { placed, type AzureScope } from "./common";
import type { KeyVault } from "./key-vault";
import type { AzureNetwork } from "./network";

export type AzureHostGpu = keyof typeof AZURE_GPU_VM_SIZES;

/** Ubuntu 22.04 LTS (Gen2), which Azure's NVIDIA driver extension supports. */
export const UBUNTU_IMAGE = {
  publisher: "Canonical",
  offer: "0001-com-ubuntu-server-jammy",
  sku: "22_04-lts-gen2",
  version: "latest",
} as const;

export interface OllamaGpuVmArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** Its data key encrypts the disks (a disk encryption set with the vault's encryption identity). */
  readonly vault: KeyVault;
  readonly gpu: AzureHostGpu;
  /** Models pulled at boot: the generation model first. */
  readonly model: string;
  readonly embeddingModel: string;
  /** Pinned Ollama release installed at boot. */
  readonly ollamaVersion: string;
  /** @default 256 */
  readonly osDiskGiB?: number;
}

/** The host's fixed address: the 10th of its subnet (Azure keeps the first four). */
export function ollamaAddress(llmSubnetCidr: string): string {
  const [ip] = llmSubnetCidr.split("/");
  const octets = ip!.split(".").map(Number);
  return [...octets.slice(0, 3), octets[3]! + 10].join(".");
}

/**
 * One GPU VM running Ollama in the network's LLM subnet, at a fixed private address: no public
 * IP, Ollama's port open to the Container Apps subnet only (the subnet's NSG), password sign-in
 * off and an SSH key whose private half is never handed out (Azure requires one; nothing reaches
 * port 22 anyway): administration goes through `az vm run-command`. Disks encrypted with the
 * vault's key, OS patches applied by the platform. The NVIDIA driver comes from Azure's driver
 * extension; Ollama is installed after it by a custom script.
 */
export class OllamaGpuVm extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;
  readonly vmName: pulumi.Output<string>;
  readonly vmId: pulumi.Output<string>;
  readonly vmSize: string;
  readonly privateIp: string;

  constructor(name: string, args: OllamaGpuVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:OllamaVm", name, {}, opts);
    assertOllamaModels(`OllamaGpuVm ${name}`, [args.model, args.embeddingModel]);
    const subnetId = args.network.llmSubnetId;
    if (!subnetId)
      throw new Error(
        `OllamaGpuVm ${name}: the network has no GPU host subnet (a cluster's network)`,
      );
    const parent = { parent: this };
    const where = placed(args.scope);
    this.vmSize = AZURE_GPU_VM_SIZES[args.gpu];
    this.privateIp = ollamaAddress(args.network.cidrs.llm);
    const nic = new network.NetworkInterface(
      name,
      {
        ...where,
        enableAcceleratedNetworking: true,
        ipConfigurations: [
          {
            name: "private",
            subnet: { id: subnetId },
            privateIPAllocationMethod: "Static",
            privateIPAddress: this.privateIp,
            primary: true,
          },
        ],
      },
      parent,
    );
    const diskEncryption = customerKeyDiskEncryption(
      `${name}-disks`,
      { scope: args.scope, vault: args.vault },
      parent,
    );
    // Azure will not create a Linux VM without a way to sign in; this key's private half stays in the (encrypted) state.
    const unusedKey = new tls.PrivateKey(
      `${name}-unused-ssh`,
      { algorithm: "RSA", rsaBits: 4096 },
      parent,
    );
    const vm = new compute.VirtualMachine(
      name,
      {
        ...where,
        hardwareProfile: { vmSize: this.vmSize },
        storageProfile: {
          imageReference: { ...UBUNTU_IMAGE },
          osDisk: {
            createOption: "FromImage",
            diskSizeGB: args.osDiskGiB ?? 256,
            deleteOption: "Delete",
            managedDisk: {
              storageAccountType: "Premium_LRS",
              diskEncryptionSet: { id: diskEncryption.id },
            },
          },
        },
        osProfile: {
          computerName: "ollama",
          adminUsername: "azureops",
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: {
              publicKeys: [
                {
                  path: "/home/azureops/.ssh/authorized_keys",
                  keyData: unusedKey.publicKeyOpenssh,
                },
              ],
            },
            patchSettings: {
              patchMode: "AutomaticByPlatform",
              assessmentMode: "AutomaticByPlatform",
            },
            provisionVMAgent: true,
          },
          allowExtensionOperations: true,
        },
        networkProfile: {
          networkInterfaces: [{ id: nic.id, primary: true, deleteOption: "Delete" }],
        },
        diagnosticsProfile: { bootDiagnostics: { enabled: true } },
      },
      { parent: this, ignoreChanges: ["storageProfile.imageReference.version", "osProfile"] },
    );
    const driver = new compute.VirtualMachineExtension(
      `${name}-nvidia`,
      {
        ...where,
        vmName: vm.name,
        publisher: "Microsoft.HpcCompute",
        type: "NvidiaGpuDriverLinux",
        typeHandlerVersion: "1.6",
        autoUpgradeMinorVersion: true,
      },
      parent,
    );
    new compute.VirtualMachineExtension(
      `${name}-ollama`,
      {
        ...where,
        vmName: vm.name,
        publisher: "Microsoft.Azure.Extensions",
        type: "CustomScript",
        typeHandlerVersion: "2.1",
        autoUpgradeMinorVersion: true,
        settings: {
          script: Buffer.from(
            ollamaHostScript(args.ollamaVersion, [args.model, args.embeddingModel]),
          ).toString("base64"),
        },
      },
      // The driver first: Ollama's installer finds it instead of installing another.
      { parent: this, dependsOn: [driver] },
    );
    this.vmName = vm.name;
    this.vmId = vm.id;
    this.endpoint = ollamaEndpoint(
      pulumi.output(`http://${this.privateIp}:${OLLAMA_PORT}`),
      args.model,
      args.embeddingModel,
    );
    this.registerOutputs({ vmId: this.vmId });
  }
}
