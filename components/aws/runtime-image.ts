import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { KmsKey } from "./kms-key";

export interface RuntimeImageArgs {
  readonly kmsKey: KmsKey;
  /**
   * The tag to build and push. Tags are immutable in the repository, so derive it from the
   * content (the runtime's source hash) or the commit.
   */
  readonly tag: string;
  /** Build context, relative to the Pulumi project directory. @default "." */
  readonly buildContext?: string;
  /** @default "runtime/Dockerfile" */
  readonly dockerfile?: string;
  /** Untagged images older than this are expired. @default 14 */
  readonly untaggedExpiryDays?: number;
  /** Tagged images beyond the newest this many are expired (one per runtime change). @default 30 */
  readonly keepImages?: number;
}

/**
 * An ECR repository (KMS-encrypted, scan on push, immutable tags) and the runtime image built
 * from runtime/Dockerfile and pushed to it. Needs a Docker engine where `pulumi up` runs.
 */
export class RuntimeImage extends pulumi.ComponentResource {
  /** The pushed image, pinned by digest. */
  readonly imageRef: pulumi.Output<string>;
  readonly repositoryUrl: pulumi.Output<string>;

  constructor(name: string, args: RuntimeImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:RuntimeImage", name, {}, opts);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(args.tag)) {
      throw new Error(`RuntimeImage ${name}: tag "${args.tag}" is not a valid image tag`);
    }
    const parent = { parent: this };
    const repo = new aws.ecr.Repository(
      name,
      {
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: args.kmsKey.arn }],
        // Build output, rebuilt from the source: `pulumi destroy` removes the repository with its images.
        forceDelete: true,
      },
      parent,
    );
    new aws.ecr.LifecyclePolicy(
      name,
      {
        repository: repo.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: "expire untagged images",
              selection: {
                tagStatus: "untagged",
                countType: "sinceImagePushed",
                countUnit: "days",
                countNumber: args.untaggedExpiryDays ?? 14,
              },
              action: { type: "expire" },
            },
            {
              rulePriority: 2,
              description: "keep the newest images",
              selection: {
                tagStatus: "any",
                countType: "imageCountMoreThan",
                countNumber: args.keepImages ?? 30,
              },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );
    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
    const image = new docker.Image(
      name,
      {
        imageName: pulumi.interpolate`${repo.repositoryUrl}:${args.tag}`,
        build: {
          context: args.buildContext ?? ".",
          dockerfile: args.dockerfile ?? "runtime/Dockerfile",
          platform: "linux/amd64",
        },
        registry: {
          server: repo.repositoryUrl,
          username: auth.userName,
          password: pulumi.secret(auth.password),
        },
      },
      parent,
    );
    this.repositoryUrl = repo.repositoryUrl;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
