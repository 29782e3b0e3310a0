/**
 * Kubernetes RBAC: roles name the verbs, resources and API groups they allow and grant no way
 * to more (escalate, bind, impersonate, approving certificates, changing admission webhooks);
 * nothing is bound to the built-in cluster-admin, admin or edit roles. Argo CD's projects, which
 * decide what its Applications may deploy where, are held to the same standard.
 */
import { describeValue, isObject, SECRET_PLACEHOLDER } from "./helpers";
import { eachObject, isPatchType, kubernetesTypes } from "./kubernetes";
import type { Rule } from "./types";

const RBAC_VERSIONS = [
  "rbac.authorization.k8s.io/v1",
  "rbac.authorization.k8s.io/v1beta1",
  "rbac.authorization.k8s.io/v1alpha1",
];
const ROLES = [
  ...kubernetesTypes("Role", RBAC_VERSIONS),
  ...kubernetesTypes("ClusterRole", RBAC_VERSIONS),
];
const BINDINGS = [
  ...kubernetesTypes("RoleBinding", RBAC_VERSIONS),
  ...kubernetesTypes("ClusterRoleBinding", RBAC_VERSIONS),
];

/** One rule of a role, its fields read as lists of names. */
interface PolicyRule {
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
  readonly apiGroups: readonly string[];
}

const FIELDS = ["verbs", "resources", "apiGroups"] as const;
/** What a "*" in each field allows. */
const WILDCARD_MEANS = { verbs: "verb", resources: "resource", apiGroups: "API group" } as const;

/** A field of a role's rule as a list of names, or why it cannot be read. */
function names(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  const all = typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
  return all?.every((v) => typeof v === "string" && v !== SECRET_PLACEHOLDER) ? all : undefined;
}

/** A rule over each rule of each role a resource holds; an unreadable list or rule fails. */
function eachPolicyRule(check: (rule: PolicyRule, n: number) => string[]): Rule["check"] {
  const cannotRead = (what: string, value: unknown) =>
    `${what} cannot be read (it is ${describeValue(value)}), so the role cannot be shown safe`;
  return eachObject((role) => {
    const rules = role.rules;
    if (rules === undefined || rules === null) return [];
    if (!Array.isArray(rules)) return [cannotRead("rules", rules)];
    return rules.flatMap((rule: unknown, i) => {
      if (!isObject(rule)) return [cannotRead(`rule ${i + 1}`, rule)];
      const fields = FIELDS.map((f) => [f, names(rule[f])] as const);
      const unreadable = fields.find(([, v]) => v === undefined);
      if (unreadable) return [cannotRead(`rule ${i + 1}'s ${unreadable[0]}`, rule[unreadable[0]])];
      return check(Object.fromEntries(fields) as unknown as PolicyRule, i + 1);
    });
  });
}

/**
 * Does a name in a rule cover the one wanted? "*" covers all, a "*" before a subresource covers
 * it on every resource, and a wanted "userextras/*" stands for the whole family.
 */
function covers(have: string, want: string): boolean {
  return (
    have === "*" ||
    have === want ||
    (have.startsWith("*/") && want.endsWith(have.slice(1))) ||
    (want.endsWith("/*") && have.startsWith(want.slice(0, -1)))
  );
}

/** What a rule must allow, all three at once, to grant the power. */
interface Power {
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
  readonly apiGroups: readonly string[];
}

function grants(rule: PolicyRule, powers: readonly Power[]): boolean {
  const any = (have: readonly string[], want: readonly string[]) =>
    have.some((h) => want.some((w) => covers(h, w)));
  return powers.some(
    (p) =>
      any(rule.verbs, p.verbs) &&
      any(rule.resources, p.resources) &&
      any(rule.apiGroups, p.apiGroups),
  );
}

/** A rule that flags each role rule granting one of `powers`, saying what that lets it do. */
function noRoleGranting(powers: readonly Power[], what: string): Rule["check"] {
  return eachPolicyRule((rule, n) =>
    grants(rule, powers)
      ? [
          `rule ${n} (${rule.verbs.join(", ")} on ${rule.resources.join(", ")}) lets its holder ${what}`,
        ]
      : [],
  );
}

const RBAC_GROUP = ["rbac.authorization.k8s.io"];
const ROLE_KINDS = ["roles", "clusterroles"];
const WRITES = ["create", "update", "patch", "delete", "deletecollection"];

/** A rule that flags a binding granting one of these built-in ClusterRoles. */
function bindsBuiltIn(roleNames: readonly string[]): Rule["check"] {
  return eachObject((binding, r) => {
    const ref = binding.roleRef;
    // A patch that leaves roleRef out leaves the binding's role as it is (roleRef is immutable).
    if (ref === undefined && isPatchType(r.type)) return [];
    if (!isObject(ref))
      return [
        `roleRef cannot be read (it is ${describeValue(ref)}), so the binding cannot be shown safe`,
      ];
    return ref.kind === "ClusterRole" && roleNames.includes(String(ref.name))
      ? [`binds the built-in ${String(ref.name)} ClusterRole`]
      : [];
  });
}

const ARGO_VERSIONS = ["argoproj.io/v1alpha1"];
const APP_PROJECTS = kubernetesTypes("AppProject", ARGO_VERSIONS);
const APPLICATIONS = kubernetesTypes("Application", ARGO_VERSIONS);

/** What is wrong with an AppProject's scope: any repository, any destination, any cluster-scoped kind. */
function projectScope(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const repos = names(spec.sourceRepos);
  if (repos === undefined) problems.push("spec.sourceRepos cannot be read");
  else if (repos.length === 0 || repos.includes("*"))
    problems.push(
      repos.length === 0
        ? "spec.sourceRepos names no repository"
        : 'spec.sourceRepos allows any repository ("*")',
    );
  const destinations = spec.destinations;
  if (!Array.isArray(destinations) || destinations.length === 0)
    problems.push("spec.destinations names no destination");
  else
    destinations.forEach((d: unknown, i) => {
      if (!isObject(d)) return problems.push(`destination ${i + 1} cannot be read`);
      const { namespace, server, name } = d;
      if (namespace === undefined || namespace === "*" || typeof namespace !== "string")
        problems.push(`destination ${i + 1} allows any namespace`);
      if (server === "*" || name === "*") problems.push(`destination ${i + 1} allows any cluster`);
    });
  const cluster = spec.clusterResourceWhitelist;
  if (Array.isArray(cluster))
    cluster.forEach((k: unknown, i) => {
      if (!isObject(k)) return problems.push(`clusterResourceWhitelist ${i + 1} cannot be read`);
      if (k.kind === "*")
        problems.push(
          `clusterResourceWhitelist ${i + 1} allows every cluster-scoped kind${k.group === "*" ? " of every API group" : ""}`,
        );
    });
  else if (cluster !== undefined && cluster !== null)
    problems.push("spec.clusterResourceWhitelist cannot be read");
  return problems;
}

export const rbacRules: Rule[] = [
  {
    name: "k8s-rbac-no-wildcards",
    area: "access",
    description:
      'Kubernetes Roles and ClusterRoles name their verbs, resources and API groups: no "*".',
    severity: "medium",
    remediation: 'List the verbs, resources and apiGroups the subject needs instead of "*".',
    checkov: "CKV_K8S_49",
    resourceTypes: ROLES,
    check: eachPolicyRule((rule, n) =>
      FIELDS.filter((f) => rule[f].includes("*")).map(
        (f) => `rule ${n} allows every ${WILDCARD_MEANS[f]} ("*")`,
      ),
    ),
  },
  {
    name: "k8s-rbac-no-escalate",
    area: "access",
    description:
      "No Role or ClusterRole grants `escalate` on roles: it lets its holder write a role with permissions it does not have.",
    severity: "high",
    remediation: 'Remove the escalate verb (and "*") on roles and clusterroles from the role.',
    checkov: "CKV_K8S_158",
    resourceTypes: ROLES,
    check: noRoleGranting(
      [{ verbs: ["escalate"], resources: ROLE_KINDS, apiGroups: RBAC_GROUP }],
      "grant roles more than it holds (escalate)",
    ),
  },
  {
    name: "k8s-rbac-no-bind",
    area: "access",
    description:
      "No Role or ClusterRole grants `bind` on roles: it lets its holder bind any role, cluster-admin included, to anyone.",
    severity: "high",
    remediation: 'Remove the bind verb (and "*") on roles and clusterroles from the role.',
    checkov: "CKV_K8S_157",
    resourceTypes: ROLES,
    check: noRoleGranting(
      [{ verbs: ["bind"], resources: ROLE_KINDS, apiGroups: RBAC_GROUP }],
      "bind any role to anyone (bind)",
    ),
  },
  {
    name: "k8s-rbac-no-impersonate",
    area: "access",
    description:
      "No Role or ClusterRole grants `impersonate` on users, groups, service accounts or their attributes: its holder would act as them.",
    severity: "high",
    remediation: 'Remove the impersonate verb (and "*") on users, groups and serviceaccounts.',
    checkov: "CKV2_K8S_3",
    resourceTypes: ROLES,
    check: noRoleGranting(
      [
        {
          verbs: ["impersonate"],
          resources: ["users", "groups", "serviceaccounts", "uids", "userextras/*"],
          apiGroups: ["", "authentication.k8s.io"],
        },
      ],
      "act as other users, groups or service accounts (impersonate)",
    ),
  },
  {
    name: "k8s-rbac-no-csr-approval",
    area: "access",
    description:
      "No Role or ClusterRole can approve certificate signing requests (approve on signers, or writing certificatesigningrequests/approval): its holder could issue itself a client certificate of any identity.",
    severity: "high",
    remediation:
      "Remove approve on signers and update/patch on certificatesigningrequests/approval from the role.",
    checkov: "CKV_K8S_156",
    resourceTypes: ROLES,
    check: noRoleGranting(
      [
        { verbs: ["approve"], resources: ["signers"], apiGroups: ["certificates.k8s.io"] },
        {
          verbs: ["update", "patch"],
          resources: ["certificatesigningrequests/approval"],
          apiGroups: ["certificates.k8s.io"],
        },
      ],
      "approve certificate signing requests",
    ),
  },
  {
    name: "k8s-rbac-no-webhook-writes",
    area: "access",
    description:
      "No Role or ClusterRole can create, change or delete mutating or validating webhook configurations: its holder could rewrite or wave through every object the cluster admits.",
    severity: "high",
    remediation:
      "Allow only get, list and watch on mutatingwebhookconfigurations and validatingwebhookconfigurations.",
    checkov: "CKV_K8S_155",
    resourceTypes: ROLES,
    check: noRoleGranting(
      [
        {
          verbs: WRITES,
          resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
          apiGroups: ["admissionregistration.k8s.io"],
        },
      ],
      "change the admission webhooks",
    ),
  },
  {
    name: "k8s-rbac-no-cluster-admin",
    area: "access",
    description:
      "No RoleBinding or ClusterRoleBinding the stack creates grants the cluster-admin ClusterRole.",
    severity: "high",
    remediation: "Bind a Role that lists what the subject needs instead of cluster-admin.",
    resourceTypes: BINDINGS,
    check: bindsBuiltIn(["cluster-admin"]),
  },
  {
    name: "k8s-rbac-no-admin-edit-binding",
    area: "access",
    description:
      "No RoleBinding or ClusterRoleBinding grants the built-in admin or edit ClusterRole: both read every Secret and run any pod in their namespace, admin also writes its RBAC.",
    severity: "high",
    remediation:
      "Bind a Role that lists the verbs and resources the subject needs instead of admin or edit.",
    resourceTypes: BINDINGS,
    check: bindsBuiltIn(["admin", "edit"]),
  },
  {
    name: "k8s-argocd-project-scoped",
    area: "access",
    description:
      "Argo CD deploys with its own cluster-wide rights, so its AppProject is the boundary: each names the repositories it takes, the namespaces it deploys to and no wildcard cluster-scoped kind, and no Application uses the built-in `default` project, which allows anything anywhere.",
    severity: "high",
    remediation:
      "Give the Application an AppProject with sourceRepos, destinations (namespace and server named) and no clusterResourceWhitelist wildcard (components/kubernetes/cluster-addons.ts).",
    resourceTypes: [...APP_PROJECTS, ...APPLICATIONS],
    check: eachObject((o, r) => {
      const spec = isObject(o.spec) ? o.spec : undefined;
      if (!spec) return ["spec cannot be read, so its scope cannot be shown"];
      if (APPLICATIONS.includes(r.type)) {
        const project = spec.project;
        return project === "default" || project === undefined || project === ""
          ? ["uses the default project, which lets it deploy anything anywhere"]
          : [];
      }
      return projectScope(spec);
    }),
  },
];
