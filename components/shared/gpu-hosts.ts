/** The single-GPU machine each cloud offers for each GPU the LLM host supports (staging's one GPU host). */

/** EC2 instance types. */
export const AWS_GPU_HOST_TYPES = {
  t4: "g4dn.xlarge",
  a10g: "g5.xlarge",
  l4: "g6.xlarge",
} as const;

/** Azure VM sizes (Azure offers no L4 VM). */
export const AZURE_GPU_VM_SIZES = {
  /** 4 vCPU, 28 GiB, one T4 (16 GB). */
  t4: "Standard_NC4as_T4_v3",
  /** 36 vCPU, 440 GiB, one whole A10 (24 GB): the A10G's counterpart. */
  a10g: "Standard_NV36ads_A10_v5",
} as const;

/** Compute Engine machines (GCP offers no A10): N1 with a T4 attached, or G2, which comes with its L4. */
export const GCP_GPU_MACHINES = {
  /** 4 vCPU, 15 GiB, one T4 (16 GB) attached. */
  t4: { machineType: "n1-standard-4", accelerator: "nvidia-tesla-t4" },
  /** 4 vCPU, 16 GiB, one L4 (24 GB). */
  l4: { machineType: "g2-standard-4", accelerator: undefined },
} as const;

/** A cloud's machines with GPUs, as [GPUs per machine, machine] from the fewest GPUs up. */
export type GpuMachines = readonly (readonly [number, string])[];

/** The machine of `machines` with the fewest GPUs that has `gpus`; `what` names them in the error. */
export function smallestWithGpus(machines: GpuMachines, gpus: number, what: string): string {
  const match = machines.find(([count]) => count >= gpus);
  if (!match) throw new Error(`no ${what} has ${gpus} GPUs (largest: ${machines.at(-1)![0]})`);
  return match[1];
}
