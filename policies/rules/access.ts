/**
 * Identity and access: no identity the stack creates can do everything. IAM policies grant no
 * administrator wildcard and no role carries AWS's administrator policies; Kubernetes roles name
 * the verbs and resources they allow, and nothing is bound to cluster-admin.
 */
import { get, list, text } from "./helpers";
import type { ResourceView, Rule } from "./types";

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const POLICY = "aws:iam/policy:Policy";
const USER_POLICY = "aws:iam/userPolicy:UserPolicy";
const GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy";
const ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment";
const K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const K8S_CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const K8S_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const K8S_CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";

/** Actions that amount to the whole account: everything, or every IAM action (which can grant everything). */
const ADMIN_ACTIONS = ["*", "*:*", "iam:*"];

/** AWS managed policies that make their holder an administrator (IAMFullAccess can grant itself the rest). */
const ADMIN_MANAGED_POLICIES = ["AdministratorAccess", "IAMFullAccess"];

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  Condition?: unknown;
}

/** A policy document as the provider takes it: a JSON string or an object. */
function statementsOf(policy: unknown): Statement[] | undefined {
  let doc = policy;
  if (typeof policy === "string") {
    try {
      doc = JSON.parse(policy);
    } catch {
      return undefined;
    }
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const statement = (doc as { Statement?: unknown }).Statement;
  if (Array.isArray(statement)) return statement as Statement[];
  return typeof statement === "object" && statement !== null ? [statement] : [];
}

const strings = (value: unknown): string[] => (typeof value === "string" ? [value] : list(value).map(String));

/** What is wrong with one policy document; `where` names it in the message. */
function adminGrants(policy: unknown, where: string): string[] {
  const statements = statementsOf(policy);
  if (statements === undefined) return [`${where}: the policy document cannot be read`];
  return statements.flatMap((s, i) => {
    if (s.Effect !== "Allow" || !strings(s.Resource).includes("*") || s.Condition !== undefined) return [];
    // Action names are case-insensitive.
    const admin = strings(s.Action).filter((a) => ADMIN_ACTIONS.includes(a.toLowerCase()));
    if (admin.length > 0) return [`${where}: statement ${i + 1} allows ${admin.join(", ")} on every resource`];
    if (s.NotAction !== undefined) return [`${where}: statement ${i + 1} allows everything but ${strings(s.NotAction).join(", ")} on every resource`];
    return [];
  });
}

/** The AWS managed administrator policy an ARN names, if it names one. */
function adminManagedPolicy(arn: unknown): string | undefined {
  const name = /^arn:aws[\w-]*:iam::aws:policy\/(.+)$/.exec(text(arn) ?? "")?.[1];
  return name && ADMIN_MANAGED_POLICIES.includes(name) ? name : undefined;
}

/** A Role rule's fields, and what a "*" in each allows. */
const RBAC_FIELDS = { verbs: "verb", resources: "resource", apiGroups: "API group" } as const;

function k8sRoleWildcards(r: ResourceView): string[] {
  return list(r.props.rules).flatMap((rule, i) =>
    Object.entries(RBAC_FIELDS)
      .filter(([field]) => strings(get(rule, field)).includes("*"))
      .map(([, what]) => `rule ${i + 1} allows every ${what} ("*")`),
  );
}

export const accessRules: Rule[] = [
  {
    name: "aws-iam-no-admin-policy",
    area: "access",
    description: 'No IAM policy the stack writes allows "*", "*:*" or "iam:*" (or Allow with NotAction) on every resource without a condition.',
    severity: "critical",
    remediation: "Name the actions and resources the workload needs (least privilege); scope any wildcard with resource ARNs or a Condition.",
    checkov: "CKV_AWS_62",
    tfsec: "aws-iam-no-policy-wildcards",
    resourceTypes: [ROLE, ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY],
    check: (r) => {
      if (r.type === ROLE) return list(r.props.inlinePolicies).flatMap((p, i) => adminGrants(get(p, "policy"), `inline policy ${text(get(p, "name")) ?? i + 1}`));
      return adminGrants(r.props.policy, "policy");
    },
  },
  {
    name: "aws-iam-no-admin-attachment",
    area: "access",
    description: "No role, user or group gets AWS's AdministratorAccess or IAMFullAccess managed policy.",
    severity: "critical",
    remediation: "Attach a policy that names the actions and resources needed instead of an administrator policy.",
    checkov: "CKV_AWS_274",
    resourceTypes: [ROLE, ROLE_ATTACHMENT, POLICY_ATTACHMENT],
    check: (r) => {
      const arns = r.type === ROLE ? strings(r.props.managedPolicyArns) : [r.props.policyArn];
      return arns.flatMap((arn) => {
        const admin = adminManagedPolicy(arn);
        return admin ? [`the ${admin} managed policy is attached`] : [];
      });
    },
  },
  {
    name: "k8s-rbac-no-wildcards",
    area: "access",
    description: 'Kubernetes Roles and ClusterRoles name their verbs, resources and API groups: no "*".',
    severity: "medium",
    remediation: 'List the verbs, resources and apiGroups the subject needs instead of "*".',
    checkov: "CKV_K8S_49",
    resourceTypes: [K8S_ROLE, K8S_CLUSTER_ROLE],
    check: k8sRoleWildcards,
  },
  {
    name: "k8s-rbac-no-cluster-admin",
    area: "access",
    description: "No RoleBinding or ClusterRoleBinding the stack creates grants the cluster-admin ClusterRole.",
    severity: "high",
    remediation: "Bind a Role that lists what the subject needs instead of cluster-admin.",
    resourceTypes: [K8S_ROLE_BINDING, K8S_CLUSTER_ROLE_BINDING],
    check: (r) => (get(r.props, "roleRef.kind") === "ClusterRole" && get(r.props, "roleRef.name") === "cluster-admin" ? ["binds the cluster-admin ClusterRole"] : []),
  },
];
