import * as gcp from "@pulumi/gcp";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { GcpScope } from "./common";
import type { GcpKms } from "./kms";

/** The user name an OAuth access token goes with for Artifact Registry. */
export const ARTIFACT_REGISTRY_TOKEN_USER = "oauth2accesstoken";

export interface GcpRuntimeImageArgs {
  readonly scope: GcpScope;
  /** Its key encrypts the repository. */
  readonly kms: GcpKms;
  /** The tag to build and push: derive it from the content (the runtime's source hash) or the commit. */
  readonly tag: string;
  /** Build context, relative to the Pulumi project directory. @default "." */
  readonly buildContext?: string;
  /** @default "runtime/Dockerfile" */
  readonly dockerfile?: string;
  /** Tagged images beyond the newest this many are deleted. @default 30 */
  readonly keepImages?: number;
}

/**
 * An Artifact Registry Docker repository (the stack's key, immutable tags, the newest images kept
 * and untagged ones deleted after 14 days) and the runtime image built from runtime/Dockerfile and
 * pushed to it as whoever runs `pulumi up` (`gcloud auth print-access-token`, fetched for each new
 * tag: no registry key exists). Cloud Run pulls through its own service agent. Needs a Docker engine
 * and the gcloud CLI where `pulumi up` runs.
 */
export class GcpRuntimeImage extends pulumi.ComponentResource {
  /** The pushed image, pinned by digest. */
  readonly imageRef: pulumi.Output<string>;
  readonly repositoryId: pulumi.Output<string>;

  constructor(name: string, args: GcpRuntimeImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:RuntimeImage", name, {}, opts);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(args.tag)) {
      throw new Error(`GcpRuntimeImage ${name}: tag "${args.tag}" is not a valid image tag`);
    }
    const { project, region } = args.scope;
    const repository = new gcp.artifactregistry.Repository(
      name,
      {
        project,
        location: region,
        repositoryId: name,
        format: "DOCKER",
        kmsKeyName: args.kms.keyId,
        dockerConfig: { immutableTags: true },
        cleanupPolicies: [
          {
            id: "keep-newest",
            action: "KEEP",
            mostRecentVersions: { keepCount: args.keepImages ?? 30 },
          },
          {
            id: "delete-untagged",
            action: "DELETE",
            condition: { tagState: "UNTAGGED", olderThan: "1209600s" },
          },
        ],
        labels: { ...args.scope.labels },
      },
      { parent: this, dependsOn: [...args.scope.apis, ...args.kms.keyReady] },
    );
    const host = `${region}-docker.pkg.dev`;
    const token = new command.local.Command(
      `${name}-push-token`,
      { create: "gcloud auth print-access-token", triggers: [args.tag], logging: "none" },
      { parent: this, additionalSecretOutputs: ["stdout"] },
    );
    const image = new docker.Image(
      name,
      {
        imageName: pulumi.interpolate`${host}/${project}/${repository.repositoryId}/rag-runtime:${args.tag}`,
        build: {
          context: args.buildContext ?? ".",
          dockerfile: args.dockerfile ?? "runtime/Dockerfile",
          platform: "linux/amd64",
        },
        registry: {
          server: host,
          username: ARTIFACT_REGISTRY_TOKEN_USER,
          password: pulumi.secret(token.stdout),
        },
      },
      { parent: this },
    );
    this.repositoryId = repository.repositoryId;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
