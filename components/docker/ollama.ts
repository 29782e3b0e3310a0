import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";
import { createLocalContainer, namedVolume, onceUp, pullImage } from "./local-container";
import {
  assertOllamaModels,
  OLLAMA_KEEP_ALIVE,
  ollamaEndpoint,
  ollamaModelsPresent,
  ollamaStartScript,
} from "../shared/ollama";
import type { LocalNetwork } from "./network";

export interface LocalOllamaArgs {
  readonly network: LocalNetwork;
  /** A pinned ollama/ollama image. */
  readonly image: string;
  /** The generation model, pulled on first start (e.g. "llama3.2:1b"). */
  readonly model: string;
  /** The embedding model, pulled on first start (e.g. "nomic-embed-text:v1.5"). */
  readonly embeddingModel: string;
  /** Pass all NVIDIA GPUs through (needs the NVIDIA Container Toolkit on the host). @default false */
  readonly gpu?: boolean;
  /** Host port published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "ollama";
const PORT = 11434;
/**
 * Ollama with a persistent model cache. It is healthy only once every configured model is
 * present, and `pulumi up` waits for that (up to 30 minutes, on the first pull): the runtime
 * reads its embedding model's dimensions from Ollama when it starts, so the endpoint this
 * component hands out is known only once the models are there, and the runtime's containers,
 * which take it, are created after.
 */
export class LocalOllama extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;

  constructor(name: string, args: LocalOllamaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Ollama", name, {}, opts);
    const models = [args.model, args.embeddingModel];
    assertOllamaModels(`LocalOllama ${name}`, models);
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    const cache = namedVolume(`${name}-models`, { parent: this });
    const container = createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        env: { OLLAMA_HOST: `0.0.0.0:${PORT}`, OLLAMA_KEEP_ALIVE },
        files: [
          {
            path: "/usr/local/bin/start-ollama.sh",
            content: ollamaStartScript(models),
            executable: true,
          },
        ],
        entrypoint: ["/usr/local/bin/start-ollama.sh"],
        volumes: [{ volumeName: cache.name, containerPath: "/root/.ollama" }],
        publish: args.hostPort ? [{ containerPort: PORT, hostPort: args.hostPort }] : [],
        gpus: args.gpu ?? false,
        healthCheck: {
          test: ["CMD-SHELL", ollamaModelsPresent(models)],
          interval: "30s",
          startPeriod: "30m",
          retries: 3,
        },
        // The first pull downloads gigabytes; later starts find the models in the volume.
        waitForHealthy: true,
        waitTimeoutSec: 30 * 60,
      },
      { parent: this },
    );
    const baseUrl = onceUp(container, `http://${ALIAS}:${PORT}`);
    this.endpoint = ollamaEndpoint(baseUrl, args.model, args.embeddingModel);
    this.registerOutputs({ baseUrl });
  }
}
