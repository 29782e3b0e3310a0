import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { denyByDefault } from "./network-policy";

export interface RagNamespaceArgs {
  /** @default "rag" */
  readonly name?: string;
  /** More namespace labels, e.g. a load balancer controller's opt-ins. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The platform's namespace: Pod Security Admission `restricted` enforced, and a default-deny
 * NetworkPolicy (ingress and egress) with DNS allowed, so every other flow is opened explicitly.
 */
export class RagNamespace extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: RagNamespaceArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:Namespace", name, {}, opts);
    const nsName = args.name ?? "rag";
    const ns = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: nsName,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            ...args.labels,
          },
        },
      },
      { parent: this },
    );
    denyByDefault(name, ns.metadata.name, { parent: this });
    this.name = ns.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
