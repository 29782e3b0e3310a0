/**
 * The identity review's reading of a synthesized state: each IAM role with every statement its
 * inline and attached policies grant, and what in them is a wildcard (an `rds-db:connect` on
 * anything but one database user is one).
 */
import type { ResourceRecord } from "../tools/harness";

export interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
}

export interface RolePermissions {
  readonly role: string;
  readonly statements: Statement[];
  /** AWS-managed policies attached (their ARNs), which the review lists but cannot read. */
  readonly managedPolicies: string[];
}

const ROLE = "aws:iam/role:Role";
const INLINE = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const POLICY = "aws:iam/policy:Policy";

function statementsOf(policy: unknown): Statement[] {
  if (typeof policy !== "string") return [];
  const doc = JSON.parse(policy) as { Statement: Statement | Statement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

/** Each role and what it is allowed, read through the resources' property dependencies. */
export function rolePermissions(resources: readonly ResourceRecord[]): RolePermissions[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const roleOf = (r: ResourceRecord) =>
    (r.propertyDependencies.role ?? []).find((u) => byUrn.get(u)?.type === ROLE);
  return resources
    .filter((r) => r.type === ROLE)
    .map((role) => {
      const statements: Statement[] = [];
      const managedPolicies: string[] = [];
      for (const r of resources) {
        if (roleOf(r) !== role.urn) continue;
        if (r.type === INLINE) statements.push(...statementsOf(r.inputs.policy));
        if (r.type === ATTACHMENT) {
          const policy = (r.propertyDependencies.policyArn ?? [])
            .map((u) => byUrn.get(u))
            .find((p) => p?.type === POLICY);
          if (policy) statements.push(...statementsOf(policy.inputs.policy));
          else managedPolicies.push(String(r.inputs.policyArn));
        }
      }
      return { role: role.name, statements, managedPolicies };
    });
}

const list = (v: string | string[] | undefined) =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/**
 * A resource is scoped when it names its service, region, account and resource: "*" anywhere but
 * after a named prefix of the resource part ("bucket/*", "log-group:x:*") is a wildcard.
 */
export function isWildcardResource(resource: string): boolean {
  if (resource === "*") return true;
  const parts = resource.split(":");
  if (parts[0] !== "arn" || parts.length < 6) return true;
  const [, partition, service, region, account] = parts;
  if ([partition, service, region, account].some((p) => p!.includes("*"))) return true;
  const id = parts.slice(5).join(":");
  const star = id.indexOf("*");
  // A wildcard inside a name or before any named part: not scoped.
  return (
    star !== -1 &&
    (star === 0 || star !== id.length - 1 || !/[/:_-]$|[A-Za-z0-9]$/.test(id.slice(0, star)))
  );
}

/** One database user of one RDS instance or cluster: what `rds-db:connect` may name, and only that. */
const ONE_DB_USER =
  /^arn:[a-z-]+:rds-db:[a-z0-9-]+:\d{12}:dbuser:(cluster|db)-[A-Za-z0-9]+\/[a-z_][a-z0-9_]*$/;

/** The database users an Allow lets the role sign in as with IAM tokens (rds-db:connect). */
export function dbUsersOf(p: RolePermissions): string[] {
  return p.statements
    .filter((s) => s.Effect === "Allow" && list(s.Action).some((a) => a.startsWith("rds-db:")))
    .flatMap((s) => list(s.Resource));
}

/** The wildcards an Allow grants: a `*` in an action, NotAction or NotResource, or an unscoped resource. */
export function wildcardsIn(p: RolePermissions): string[] {
  return p.statements
    .filter((s) => s.Effect === "Allow")
    .flatMap((s) => [
      ...list(s.Action)
        .filter((a) => a.includes("*"))
        .map((a) => `action ${a}`),
      ...(s.NotAction ? ["NotAction"] : []),
      ...(s.NotResource ? ["NotResource"] : []),
      ...(s.Resource === undefined ? ["no resource"] : []),
      ...list(s.Resource)
        .filter(isWildcardResource)
        .map((r) => `resource ${r}`),
      // "dbuser:cluster-x/*" names a cluster but lets the role sign in as any of its users.
      ...(list(s.Action).some((a) => a.startsWith("rds-db:"))
        ? list(s.Resource)
            .filter((r) => !isWildcardResource(r) && !ONE_DB_USER.test(r))
            .map((r) => `resource ${r}: not one database user`)
        : []),
    ]);
}
