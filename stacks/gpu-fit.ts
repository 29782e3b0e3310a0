/**
 * Will the model fit the GPUs? A catalogue of the models we deploy (parameters, precision)
 * against GPU memory, so a model that cannot load fails at config time, saying what would fit.
 */

/** Memory of one GPU of each type, where a cloud does not say (an A100 is 40 GB on AWS, 80 GB on Azure). */
export const GPU_MEMORY_GIB = { t4: 16, a10g: 24, l4: 24, a100: 40 } as const;
export type GpuType = keyof typeof GPU_MEMORY_GIB;

/** What one GPU type gives a model server on a cloud: its memory and the most GPUs one machine has. */
export interface GpuOffer {
  /** @default GPU_MEMORY_GIB of the type */
  readonly memoryGiB?: number;
  readonly maxPerServer: number;
}
/** The GPUs a platform offers its model server, by type. */
export type GpuOffers = { readonly [G in GpuType]?: GpuOffer };

/** The offers of a table of machines by GPU count ([count, machine][] per type, ascending). */
export function offersOf(
  table: { readonly [G in GpuType]?: readonly (readonly [number, unknown])[] },
  memoryGiB: { readonly [G in GpuType]?: number } = {},
): GpuOffers {
  return Object.fromEntries(
    Object.entries(table).map(([gpu, sizes]) => [
      gpu,
      { memoryGiB: memoryGiB[gpu as GpuType], maxPerServer: sizes.at(-1)![0] },
    ]),
  );
}

/** Bytes per parameter. Ollama's default tags are q4_K_M (about 4.8 bits per weight). */
export const PRECISION_BYTES = {
  bf16: 2,
  fp16: 2,
  fp8: 1,
  int8: 1,
  int4: 0.5,
  q4_K_M: 0.6,
} as const;
export type Precision = keyof typeof PRECISION_BYTES;

export interface CatalogueEntry {
  readonly paramsBillions: number;
  readonly precision: Precision;
}

export const MODEL_CATALOGUE: Readonly<Record<string, CatalogueEntry>> = {
  "meta-llama/Llama-3.1-8B-Instruct": { paramsBillions: 8.03, precision: "bf16" },
  "meta-llama/Llama-3.1-70B-Instruct": { paramsBillions: 70.6, precision: "bf16" },
  "meta-llama/Llama-3.3-70B-Instruct": { paramsBillions: 70.6, precision: "bf16" },
  "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4": { paramsBillions: 8.03, precision: "int4" },
  "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4": {
    paramsBillions: 70.6,
    precision: "int4",
  },
  // Quantised generation models: AWQ and GPTQ at 4 bits, FP8 (vLLM reads each from the repository's config).
  "hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4": {
    paramsBillions: 8.03,
    precision: "int4",
  },
  "hugging-quants/Meta-Llama-3.1-70B-Instruct-GPTQ-INT4": {
    paramsBillions: 70.6,
    precision: "int4",
  },
  "neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8": { paramsBillions: 8.03, precision: "fp8" },
  "neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8": { paramsBillions: 70.6, precision: "fp8" },
  "Qwen/Qwen2.5-7B-Instruct-AWQ": { paramsBillions: 7.62, precision: "int4" },
  // Embedding and reranking models (the enterprise tier's embeddings pool is checked against them).
  "nomic-ai/nomic-embed-text-v1.5": { paramsBillions: 0.137, precision: "fp16" },
  "BAAI/bge-m3": { paramsBillions: 0.568, precision: "fp16" },
  "BAAI/bge-reranker-v2-m3": { paramsBillions: 0.568, precision: "fp16" },
  "mistralai/Mistral-7B-Instruct-v0.3": { paramsBillions: 7.25, precision: "bf16" },
  "mistralai/Mixtral-8x7B-Instruct-v0.1": { paramsBillions: 46.7, precision: "bf16" },
  "Qwen/Qwen2.5-7B-Instruct": { paramsBillions: 7.62, precision: "bf16" },
  "Qwen/Qwen2.5-14B-Instruct": { paramsBillions: 14.8, precision: "bf16" },
  "Qwen/Qwen2.5-32B-Instruct-AWQ": { paramsBillions: 32.8, precision: "int4" },
  "llama3.2:1b": { paramsBillions: 1.24, precision: "q4_K_M" },
  "llama3.2:3b": { paramsBillions: 3.21, precision: "q4_K_M" },
  "llama3.1:8b": { paramsBillions: 8.03, precision: "q4_K_M" },
  "llama3.1:70b": { paramsBillions: 70.6, precision: "q4_K_M" },
  "mistral:7b": { paramsBillions: 7.25, precision: "q4_K_M" },
  "mixtral:8x7b": { paramsBillions: 46.7, precision: "q4_K_M" },
  "qwen2.5:7b": { paramsBillions: 7.62, precision: "q4_K_M" },
  "qwen2.5:14b": { paramsBillions: 14.8, precision: "q4_K_M" },
};

/** KV cache and activations on top of the weights. */
const RUNTIME_OVERHEAD = 0.2;
/** CUDA context and allocator slack. */
const FIXED_OVERHEAD_GIB = 1;
/** The share of GPU memory the server may use (vLLM's gpu_memory_utilization default). */
export const USABLE_SHARE = 0.9;
/** The most GPUs one server spans (tensor parallelism within a node). */
export const MAX_GPUS_PER_SERVER = 8;

const GIB = 1024 ** 3;

export function requiredGiB(entry: CatalogueEntry): number {
  const weightsGiB = (entry.paramsBillions * 1e9 * PRECISION_BYTES[entry.precision]) / GIB;
  return weightsGiB * (1 + RUNTIME_OVERHEAD) + FIXED_OVERHEAD_GIB;
}

export function usableGiB(gpu: GpuType, count: number, offers?: GpuOffers): number {
  return (offers?.[gpu]?.memoryGiB ?? GPU_MEMORY_GIB[gpu]) * count * USABLE_SHARE;
}

export type FitResult =
  | { readonly fits: true; readonly neededGiB: number; readonly usableGiB: number }
  | { readonly fits: false; readonly message: string };

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Checks `model` on `count` x `gpu`. `declaredGiB` stands in for models outside the catalogue;
 * `offers` are the platform's GPUs (their memory, how many one server has), when it says.
 * The message on failure says what the model needs, what the GPUs give and what would fit.
 */
export function checkGpuFit(
  model: string,
  gpu: GpuType,
  count: number,
  declaredGiB?: number,
  offers?: GpuOffers,
): FitResult {
  const entry = MODEL_CATALOGUE[model];
  if (!entry && declaredGiB === undefined) {
    return {
      fits: false,
      message: `is not in the GPU catalogue (stacks/gpu-fit.ts); set llm.modelMemoryGiB to the GPU memory it needs, or pick one of: ${Object.keys(MODEL_CATALOGUE).join(", ")}`,
    };
  }
  const needed = declaredGiB ?? requiredGiB(entry!);
  const usable = usableGiB(gpu, count, offers);
  if (needed <= usable) return { fits: true, neededGiB: needed, usableGiB: usable };

  const why = entry
    ? ` (${entry.paramsBillions}B parameters at ${entry.precision}, plus ${RUNTIME_OVERHEAD * 100}% for the KV cache)`
    : " (llm.modelMemoryGiB)";
  const alternatives = Object.entries(MODEL_CATALOGUE)
    .filter(([name, e]) => name !== model && requiredGiB(e) <= usable && sameFamily(name, model))
    .map(([name]) => name);
  const most = offers?.[gpu]?.maxPerServer ?? MAX_GPUS_PER_SERVER;
  const moreGpus = Array.from({ length: most }, (_, i) => i + 1).find(
    (n) => needed <= usableGiB(gpu, n, offers),
  );
  const biggerGpu = (Object.keys(offers ?? GPU_MEMORY_GIB) as GpuType[]).find(
    (g) => needed <= usableGiB(g, count, offers) && count <= (offers?.[g]?.maxPerServer ?? most),
  );
  const options = [
    alternatives.length > 0
      ? `models that fit ${count} x ${gpu}: ${alternatives.join(", ")}`
      : `no catalogued model of this kind fits ${count} x ${gpu}`,
    moreGpus ? `or llm.gpuCount=${moreGpus} (tensor parallel)` : undefined,
    biggerGpu ? `or llm.gpuType=${biggerGpu}` : undefined,
  ].filter(Boolean);
  return {
    fits: false,
    message: `needs about ${round(needed)} GiB of GPU memory${why}, but ${count} x ${gpu} gives ${round(usable)} GiB usable; ${options.join("; ")}`,
  };
}

/** Ollama tags ("name:tag") and Hugging Face ids ("org/name") are served by different servers. */
function sameFamily(a: string, b: string): boolean {
  return a.includes("/") === b.includes("/");
}
