import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type Statement } from "./account";

export interface PodIdentityRoleArgs {
  readonly clusterName: pulumi.Input<string>;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Inline permissions. @default - none */
  readonly statements?: readonly Statement[];
  /** AWS managed policies to attach. @default - none */
  readonly managedPolicyArns?: readonly pulumi.Input<string>[];
}

/** The trust policy of EKS Pod Identity (the agent assumes the role and tags the session). */
export const POD_IDENTITY_TRUST = policyDocument([
  {
    Effect: "Allow",
    Principal: { Service: "pods.eks.amazonaws.com" },
    Action: ["sts:AssumeRole", "sts:TagSession"],
  },
]);

/**
 * An IAM role for one Kubernetes service account through EKS Pod Identity: no node credentials,
 * no long-lived keys; the role holds only what that workload calls.
 */
export function podIdentityRole(
  name: string,
  args: PodIdentityRoleArgs,
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  const role = new aws.iam.Role(name, { assumeRolePolicy: POD_IDENTITY_TRUST }, opts);
  if (args.statements && args.statements.length > 0) {
    new aws.iam.RolePolicy(name, { role: role.id, policy: policyDocument(args.statements) }, opts);
  }
  (args.managedPolicyArns ?? []).forEach((policyArn, i) => {
    new aws.iam.RolePolicyAttachment(`${name}-${i}`, { role: role.name, policyArn }, opts);
  });
  new aws.eks.PodIdentityAssociation(
    name,
    {
      clusterName: args.clusterName,
      namespace: args.namespace,
      serviceAccount: args.serviceAccount,
      roleArn: role.arn,
    },
    opts,
  );
  return role;
}
