import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { globalName, placed, type AzureScope } from "./common";

/** The user name a registry token goes with (`az acr login --expose-token` documents it). */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

export interface AzureRuntimeImageArgs {
  readonly scope: AzureScope;
  /** The tag to build and push: derive it from the content (the runtime's source hash) or the commit. */
  readonly tag: string;
  /** Build context, relative to the Pulumi project directory. @default "." */
  readonly buildContext?: string;
  /** @default "runtime/Dockerfile" */
  readonly dockerfile?: string;
}

/**
 * An Azure Container Registry (no admin user, no anonymous pull: Container Apps pull with their
 * managed identity) and the runtime image built from runtime/Dockerfile and pushed to it.
 *
 * The push authenticates as whoever runs `pulumi up`: `az acr login --expose-token` trades their
 * Entra ID sign-in for a registry token (valid three hours) each time a new tag is pushed, so no
 * registry password exists anywhere. Needs a Docker engine and the Azure CLI where `pulumi up` runs.
 */
export class AzureRuntimeImage extends pulumi.ComponentResource {
  readonly registryId: pulumi.Output<string>;
  readonly loginServer: pulumi.Output<string>;
  /** The pushed image, pinned by digest. */
  readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: AzureRuntimeImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:RuntimeImage", name, {}, opts);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(args.tag)) {
      throw new Error(`AzureRuntimeImage ${name}: tag "${args.tag}" is not a valid image tag`);
    }
    const registry = new containerregistry.Registry(
      name,
      {
        ...placed(args.scope),
        registryName: globalName(name, args.scope.uniqueSuffix, {
          maxLength: 50,
          alphanumericOnly: true,
        }),
        sku: { name: "Standard" },
        adminUserEnabled: false,
        anonymousPullEnabled: false,
        // The deployer pushes from their machine or CI; pulls come from Container Apps' identity.
        publicNetworkAccess: "Enabled",
      },
      { parent: this },
    );
    const token = new command.local.Command(
      `${name}-push-token`,
      {
        create: pulumi.interpolate`az acr login --name ${registry.name} --expose-token --output tsv --query accessToken`,
        // A fresh token for each new tag: that is when the image is pushed.
        triggers: [args.tag],
        logging: "none",
      },
      { parent: this, additionalSecretOutputs: ["stdout"] },
    );
    const image = new docker.Image(
      name,
      {
        imageName: pulumi.interpolate`${registry.loginServer}/rag-runtime:${args.tag}`,
        build: {
          context: args.buildContext ?? ".",
          dockerfile: args.dockerfile ?? "runtime/Dockerfile",
          platform: "linux/amd64",
        },
        registry: {
          server: registry.loginServer,
          username: ACR_TOKEN_USER,
          password: pulumi.secret(token.stdout),
        },
      },
      { parent: this },
    );
    this.registryId = registry.id;
    this.loginServer = registry.loginServer;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
