import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface LocalNetworkArgs {
  /** The network's subnet. @default "172.28.0.0/24" */
  readonly subnet?: string;
}

/** The dev tier's one private bridge network; containers reach each other by alias. */
export class LocalNetwork extends pulumi.ComponentResource {
  readonly networkName: pulumi.Output<string>;

  constructor(name: string, args: LocalNetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Network", name, {}, opts);
    const network = new docker.Network(
      name,
      {
        name,
        driver: "bridge",
        ipamConfigs: [{ subnet: args.subnet ?? "172.28.0.0/24" }],
        labels: [{ label: "com.rag-platform.managed-by", value: "pulumi" }],
      },
      { parent: this },
    );
    this.networkName = network.name;
    this.registerOutputs({ networkName: this.networkName });
  }
}
