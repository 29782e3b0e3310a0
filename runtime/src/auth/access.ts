/**
 * Classification and access: every document has a label (CLASSIFICATION_LABELS, lowest first)
 * and may be restricted to groups; every caller has a clearance (a label) and groups. A caller
 * sees a document when its clearance is at or above the document's label and, if the document
 * names groups, it is in one of them. Searches, listings, reads and deletes apply this in SQL
 * (search/filters.ts): what a caller cannot see is absent (404), never forbidden (403).
 *
 * Admins (any credentials with the admin role) and embedded mode without credentials are
 * unrestricted: they see and manage every document.
 */
import { ENV, type RuntimeConfig } from "../config";
import type { Filters } from "../search/filters";

/** A label, group or claim a caller sent that cannot be used: a 400 naming it. */
export class AccessInputError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly code: "bad_classification" | "bad_groups" | "bad_claims",
    message: string,
  ) {
    super(message);
  }
}

/** A label above the caller's clearance: it may not give a document a label it could not see. */
export class AboveClearanceError extends Error {
  readonly statusCode = 403;
  readonly code = "above_clearance";
}

/** At most this many groups on a document, key or token (more is a 400, or ignored past it for a token). */
export const MAX_GROUPS = 100;
/** A group name: 1 to 200 characters, no control characters (IdPs send names, paths or ids). */
const GROUP_PATTERN = /^[^\p{Cc}]{1,200}$/u;

export class Classification {
  constructor(
    /** Lowest first. */
    readonly labels: readonly string[],
    /** For uploads that name none, rows made before labels, and keys or tokens without a clearance. */
    readonly defaultLabel: string,
  ) {}

  static of(config: Pick<RuntimeConfig, "CLASSIFICATION_LABELS" | "CLASSIFICATION_DEFAULT">) {
    const labels = config.CLASSIFICATION_LABELS;
    return new Classification(
      labels,
      config.CLASSIFICATION_DEFAULT ?? (labels.includes("internal") ? "internal" : labels[0]!),
    );
  }

  get highest(): string {
    return this.labels[this.labels.length - 1]!;
  }

  rank(label: string): number {
    return this.labels.indexOf(label);
  }

  /** The higher of two labels (an unknown one counts as the lowest). */
  max(a: string, b: string): string {
    return this.rank(b) > this.rank(a) ? b : a;
  }

  /** The labels a clearance sees: it and every one below; none for a label not configured. */
  visibleTo(clearance: string): string[] {
    const rank = this.rank(clearance);
    return rank < 0 ? [] : this.labels.slice(0, rank + 1);
  }

  /**
   * The labels `access` may give a document: those it sees (every label for an unrestricted
   * caller), so an uploader never labels a document out of its own sight.
   */
  assignableBy(access: Pick<Filters, "classifications">): string[] {
    const visible = access.classifications;
    return visible === undefined
      ? [...this.labels]
      : this.labels.filter((l) => visible.includes(l));
  }

  /** `label` (configured) if `access` may assign it, else an AboveClearanceError naming the labels it may. */
  checkAssignable(label: string, access: Pick<Filters, "classifications">): string {
    this.check(label);
    const assignable = this.assignableBy(access);
    if (!assignable.includes(label))
      throw new AboveClearanceError(
        assignable.length > 0
          ? `classification: "${label}" is above these credentials' clearance; use one of ${assignable.join(", ")}`
          : `classification: these credentials may not label documents (their clearance reaches no label)`,
      );
    return label;
  }

  /** `label` if configured, else an AccessInputError naming the labels (`what` says where it came from). */
  check(label: string, what = "classification"): string {
    if (this.rank(label) < 0)
      throw new AccessInputError(
        "bad_classification",
        `${what}: "${label}" is not a classification label; use one of ${this.labels.join(", ")} (${ENV.classificationLabels})`,
      );
    return label;
  }
}

/** Checks a list of group names given by a caller (a document's or a key's). */
export function checkGroups(groups: readonly unknown[], what = "accessGroups"): string[] {
  if (groups.length > MAX_GROUPS)
    throw new AccessInputError("bad_groups", `${what}: at most ${MAX_GROUPS} groups`);
  const bad = groups.filter((g) => typeof g !== "string" || !GROUP_PATTERN.test(g));
  if (bad.length > 0)
    throw new AccessInputError(
      "bad_groups",
      `${what}: ${JSON.stringify(bad[0])} is not a group name (1 to 200 characters, no control characters)`,
    );
  return [...new Set(groups as string[])].sort();
}

/** What a caller may see. Undefined fields are unrestricted (admins, embedded mode without credentials). */
export interface Access {
  /** The caller's clearance: it sees this label and every one below. */
  readonly clearance?: string;
  /** The caller's groups. */
  readonly groups?: readonly string[];
}

/** The filters that restrict a search, listing or read to what `access` may see. */
export function accessFilters(
  classification: Classification,
  access: Access | undefined,
): Pick<Filters, "classifications" | "groups"> {
  return {
    ...(access?.clearance !== undefined
      ? { classifications: classification.visibleTo(access.clearance) }
      : {}),
    ...(access?.groups !== undefined ? { groups: access.groups } : {}),
  };
}

/** The strings a claim holds: a list of strings, or one string. */
function claimValues(claims: Record<string, unknown>, name: string): string[] | undefined {
  const value = claims[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  throw new AccessInputError(
    "bad_claims",
    `the token's "${name}" claim must be a string or a list of strings`,
  );
}

/**
 * A token's clearance and groups, from the claims OIDC_CLEARANCE_CLAIM and OIDC_GROUPS_CLAIM.
 * Without a clearance claim: CLASSIFICATION_DEFAULT; with several labels, the highest. A
 * clearance that is not a configured label is an AccessInputError (the identity provider and
 * CLASSIFICATION_LABELS disagree: nobody should be guessed into a clearance).
 */
export function accessFromClaims(
  classification: Classification,
  claims: Record<string, unknown>,
  names: { clearance: string; groups: string },
): { clearance: string; groups: string[] } {
  const labels = claimValues(claims, names.clearance);
  let clearance = classification.defaultLabel;
  if (labels && labels.length > 0) {
    const unknown = labels.filter((l) => classification.rank(l) < 0);
    if (unknown.length > 0)
      throw new AccessInputError(
        "bad_claims",
        `the token's "${names.clearance}" claim holds "${unknown[0]}", which is not a classification label (${classification.labels.join(", ")}): ask the identity provider's administrator to map it, or set ${ENV.oidcClearanceClaim}`,
      );
    clearance = labels.reduce((a, b) => classification.max(a, b));
  }
  const groups = (claimValues(claims, names.groups) ?? []).filter((g) => GROUP_PATTERN.test(g));
  return { clearance, groups: [...new Set(groups)].sort() };
}
