/**
 * Identity and access: no identity the stack creates can do everything. IAM policies grant no
 * administrator wildcard and no role carries AWS's administrator policies; Azure role assignments
 * grant no owner-like role and nothing subscription-wide, custom roles name their actions, Key
 * Vault and the registry take Entra ID only. Kubernetes RBAC is in rbac.ts.
 */
import { get, isTrue, list, records, strings, text, unreadableEntries } from "./helpers";
import type { Rule } from "./types";

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const POLICY = "aws:iam/policy:Policy";
const USER_POLICY = "aws:iam/userPolicy:UserPolicy";
const GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy";
const ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment";

/** Azure built-in roles that let their holder do everything, or grant itself anything. */
export const AZURE_PRIVILEGED_ROLES: Readonly<Record<string, string>> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
  "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
};

/** A scope that is a whole subscription or resource group, not one resource. */
function broadAzureScope(scope: unknown): string | undefined {
  const s = String(scope);
  if (/^\/subscriptions\/[^/]+\/?$/i.test(s)) return "a whole subscription";
  if (/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/?$/i.test(s))
    return "a whole resource group";
  if (s === "/" || /^\/providers\/Microsoft\.Management\/managementGroups\//i.test(s))
    return "a management group or the tenant";
  return undefined;
}

/** GCP's IAM grants on projects and on the resources the platform grants on. */
const GCP_IAM_GRANTS = [
  "gcp:projects/iAMMember:IAMMember",
  "gcp:projects/iAMBinding:IAMBinding",
  "gcp:storage/bucketIAMMember:BucketIAMMember",
  "gcp:secretmanager/secretIamMember:SecretIamMember",
  "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
];

/** Basic roles, and roles that administer IAM (which can grant the rest). */
const GCP_BROAD_ROLES = [
  "roles/owner",
  "roles/editor",
  "roles/viewer",
  "roles/resourcemanager.projectIamAdmin",
  "roles/iam.securityAdmin",
  "roles/iam.serviceAccountTokenCreator",
  "roles/iam.serviceAccountUser",
];

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
  if (statement === undefined) return [];
  if (Array.isArray(statement)) return statement as Statement[];
  return typeof statement === "object" && statement !== null ? [statement] : undefined;
}

/** What is wrong with one policy document; `where` names it in the message. */
function adminGrants(policy: unknown, where: string): string[] {
  const statements = statementsOf(policy);
  if (statements === undefined) return [`${where}: the policy document cannot be read`];
  return Array.from(statements).flatMap((s: Statement | undefined, i) => {
    if (typeof s !== "object" || s === null || Array.isArray(s))
      return [`${where}: statement ${i + 1} cannot be read`];
    if (s.Effect !== "Allow" || !strings(s.Resource).includes("*") || s.Condition !== undefined)
      return [];
    // Action names are case-insensitive.
    const admin = strings(s.Action).filter((a) => ADMIN_ACTIONS.includes(a.toLowerCase()));
    if (admin.length > 0)
      return [`${where}: statement ${i + 1} allows ${admin.join(", ")} on every resource`];
    if (s.NotAction !== undefined)
      return [
        `${where}: statement ${i + 1} allows everything but ${strings(s.NotAction).join(", ")} on every resource`,
      ];
    return [];
  });
}

/** The AWS managed administrator policy an ARN names, if it names one. */
function adminManagedPolicy(arn: unknown): string | undefined {
  const name = /^arn:aws[\w-]*:iam::aws:policy\/(.+)$/.exec(text(arn) ?? "")?.[1];
  return name && ADMIN_MANAGED_POLICIES.includes(name) ? name : undefined;
}

export const accessRules: Rule[] = [
  {
    name: "aws-iam-no-admin-policy",
    area: "access",
    description:
      'No IAM policy the stack writes allows "*", "*:*" or "iam:*" (or Allow with NotAction) on every resource without a condition.',
    severity: "critical",
    remediation:
      "Name the actions and resources the workload needs (least privilege); scope any wildcard with resource ARNs or a Condition.",
    checkov: "CKV_AWS_62",
    tfsec: "aws-iam-no-policy-wildcards",
    resourceTypes: [ROLE, ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY],
    check: (r) => {
      if (r.type === ROLE)
        return list(r.props.inlinePolicies).flatMap((p, i) =>
          adminGrants(get(p, "policy"), `inline policy ${text(get(p, "name")) ?? i + 1}`),
        );
      return adminGrants(r.props.policy, "policy");
    },
  },
  {
    name: "aws-iam-no-admin-attachment",
    area: "access",
    description:
      "No role, user or group gets AWS's AdministratorAccess or IAMFullAccess managed policy.",
    severity: "critical",
    remediation:
      "Attach a policy that names the actions and resources needed instead of an administrator policy.",
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
    name: "azure-role-assignment-scoped",
    area: "access",
    description:
      "Azure role assignments grant no owner-like role (Owner, Contributor, User Access Administrator, RBAC Administrator) and cover one resource, never a whole subscription or resource group.",
    severity: "high",
    remediation:
      "Assign the narrowest built-in or custom role on the resource it is needed for (a vault, a container, a registry).",
    resourceTypes: ["azure-native:authorization:RoleAssignment"],
    check: (r) => {
      const role =
        AZURE_PRIVILEGED_ROLES[String(r.props.roleDefinitionId).split("/").pop()!.toLowerCase()];
      const broad = broadAzureScope(r.props.scope);
      return [...(role ? [`grants the ${role} role`] : []), ...(broad ? [`covers ${broad}`] : [])];
    },
  },
  {
    name: "azure-federated-credential-exact",
    area: "access",
    description:
      "A federated identity credential trusts one Kubernetes service account (system:serviceaccount:<namespace>:<name>) of an https issuer, for Entra's token exchange only.",
    severity: "high",
    remediation:
      'Set subject to the exact service account, issuer to the cluster\'s OIDC issuer URL and audiences to ["api://AzureADTokenExchange"].',
    resourceTypes: ["azure-native:managedidentity:FederatedIdentityCredential"],
    check: (r) => {
      const subject = text(r.props.subject);
      const issuer = text(r.props.issuer);
      const audiences = strings(r.props.audiences);
      return [
        ...(subject &&
        /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(
          subject,
        )
          ? []
          : [`subject ${subject ?? "(none)"} is not one service account`]),
        // An issuer not known until the cluster exists (a preview) is left to `pulumi up`.
        ...(issuer === undefined || issuer.startsWith("https://")
          ? []
          : [`issuer ${issuer} is not an https URL`]),
        ...(audiences.length === 1 && audiences[0] === "api://AzureADTokenExchange"
          ? []
          : [`audiences are ${JSON.stringify(audiences)}, not ["api://AzureADTokenExchange"]`]),
      ];
    },
  },
  {
    name: "azure-custom-role-no-wildcards",
    area: "access",
    description:
      'Custom Azure roles list their actions and data actions: no "*", and none assignable subscription-wide.',
    severity: "high",
    remediation:
      "Name each action the role needs and set assignableScopes to the resources it is for.",
    checkov: "CKV_AZURE_39",
    resourceTypes: ["azure-native:authorization:RoleDefinition"],
    check: (r) => {
      const actions = records(r.props.permissions).flatMap((p) => [
        ...strings(p.actions),
        ...strings(p.dataActions),
      ]);
      const wildcards = actions.filter((a) => a === "*" || a.endsWith("/*"));
      const broad = strings(r.props.assignableScopes).flatMap(
        (scope) => broadAzureScope(scope) ?? [],
      );
      return [
        ...unreadableEntries(r.props.permissions, "permissions"),
        ...wildcards.map((a) => `allows "${a}"`),
        ...broad.map((b) => `is assignable on ${b}`),
      ];
    },
  },
  {
    name: "azure-keyvault-rbac",
    area: "access",
    description:
      "Key Vaults authorize with Azure RBAC (roles on the vault, its secrets and keys), not vault access policies.",
    severity: "medium",
    remediation: "Set properties.enableRbacAuthorization: true and drop accessPolicies.",
    resourceTypes: ["azure-native:keyvault:Vault"],
    check: (r) => [
      ...(isTrue(get(r.props, "properties.enableRbacAuthorization"))
        ? []
        : ["authorization by access policies (RBAC off)"]),
      ...(list(get(r.props, "properties.accessPolicies")).length > 0
        ? ["has access policies"]
        : []),
    ],
  },
  {
    name: "azure-acr-hardened",
    area: "access",
    description:
      "Container registries have no admin user and no anonymous pull: pushes and pulls sign in with Entra ID.",
    severity: "high",
    remediation:
      "Set adminUserEnabled: false and anonymousPullEnabled: false; grant AcrPull / AcrPush to identities.",
    checkov: "CKV_AZURE_137",
    resourceTypes: ["azure-native:containerregistry:Registry"],
    check: (r) => [
      ...(r.props.adminUserEnabled === false ? [] : ["the admin user is enabled"]),
      ...(r.props.anonymousPullEnabled === true ? ["anonymous pull is enabled"] : []),
    ],
  },
  {
    name: "azure-vm-no-password-auth",
    area: "access",
    description: "Linux VMs accept no password sign-in.",
    severity: "high",
    remediation:
      "Set osProfile.linuxConfiguration.disablePasswordAuthentication: true (and no adminPassword).",
    checkov: "CKV_AZURE_1",
    resourceTypes: ["azure-native:compute:VirtualMachine"],
    check: (r) => [
      ...(isTrue(get(r.props, "osProfile.linuxConfiguration.disablePasswordAuthentication"))
        ? []
        : ["password sign-in is not disabled"]),
      ...(get(r.props, "osProfile.adminPassword") !== undefined
        ? ["an admin password is set"]
        : []),
    ],
  },
  {
    name: "gcp-iam-no-broad-roles",
    area: "access",
    description:
      "GCP IAM grants no basic role (owner, editor, viewer) or IAM-administering role, and nothing to allUsers or allAuthenticatedUsers.",
    severity: "high",
    remediation:
      "Grant the predefined role the member needs (roles/secretmanager.secretAccessor, roles/storage.objectUser...) on the one resource it needs.",
    resourceTypes: GCP_IAM_GRANTS,
    check: (r) => {
      const members = [r.props.member, ...list(r.props.members)]
        .filter((m) => m !== undefined)
        .map(String);
      const role = String(r.props.role);
      return [
        ...(GCP_BROAD_ROLES.includes(role) ? [`grants ${role}`] : []),
        ...members
          .filter((m) => m === "allUsers" || m === "allAuthenticatedUsers")
          .map((m) => `grants to ${m}`),
      ];
    },
  },
];
