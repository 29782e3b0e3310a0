import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { VectorDbEndpoint } from "../contracts";
import { createLocalContainer, namedVolume, onceUp, pullImage } from "./local-container";
import type { LocalNetwork } from "./network";

export interface LocalQdrantArgs {
  readonly network: LocalNetwork;
  /** A pinned qdrant/qdrant image. */
  readonly image: string;
  /** @default "chunks" */
  readonly collection?: string;
  /** Host port (REST) published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "qdrant";
const REST_PORT = 6333;

/**
 * Qdrant with a generated API key. Qdrant reads config/local.yaml over its defaults, so the key
 * is written there instead of into the environment.
 */
export class LocalQdrant extends pulumi.ComponentResource {
  readonly endpoint: Extract<VectorDbEndpoint, { kind: "qdrant" }>;
  readonly apiKey: pulumi.Output<string>;

  constructor(name: string, args: LocalQdrantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Qdrant", name, {}, opts);
    const apiKey = new random.RandomPassword(
      `${name}-api-key`,
      { length: 40, special: false },
      { parent: this },
    );
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    const storage = namedVolume(`${name}-storage`, { parent: this });
    const container = createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        files: [
          {
            path: "/qdrant/config/local.yaml",
            content: pulumi.secret(
              pulumi.interpolate`service:\n  api_key: "${apiKey.result}"\ntelemetry_disabled: true\n`,
            ),
          },
        ],
        volumes: [{ volumeName: storage.name, containerPath: "/qdrant/storage" }],
        publish: args.hostPort ? [{ containerPort: REST_PORT, hostPort: args.hostPort }] : [],
        // The image ships no curl; bash's /dev/tcp asks the unauthenticated readiness endpoint.
        healthCheck: {
          test: [
            "CMD-SHELL",
            `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${REST_PORT} && printf "GET /readyz HTTP/1.0\\r\\n\\r\\n" >&3 && grep -q "200 OK" <&3'`,
          ],
        },
      },
      { parent: this },
    );
    this.apiKey = pulumi.secret(apiKey.result);
    this.endpoint = {
      kind: "qdrant",
      url: onceUp(container, `http://${ALIAS}:${REST_PORT}`),
      apiKey: { kind: "generated", value: this.apiKey },
      collection: args.collection ?? "chunks",
    };
    this.registerOutputs({ url: this.endpoint.url });
  }
}
