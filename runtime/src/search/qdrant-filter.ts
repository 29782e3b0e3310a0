/**
 * Retrieval filters as a Qdrant payload filter, applied by Qdrant while it searches (never after):
 * the tenant, metadata pairs, document ids, and a caller's clearance (labels, groups).
 */
import type { Schemas } from "@qdrant/js-client-rest" with { "resolution-mode": "import" };
import type { Filters } from "./filters";

/** What a caller may read: documents of these labels, open to everyone or to one of its groups. */
export interface Clearance {
  readonly classifications?: readonly string[];
  readonly accessGroups?: readonly string[];
}

type Condition = Schemas["Filter"]["must"] & unknown[];

/** The filter; without a tenant, none when nothing restricts. */
export function qdrantFilter(
  filters: (Filters & Clearance) | undefined,
  tenant: string,
): Schemas["Filter"];
export function qdrantFilter(
  filters: (Filters & Clearance) | undefined,
): Schemas["Filter"] | undefined;
export function qdrantFilter(
  filters: (Filters & Clearance) | undefined,
  tenant?: string,
): Schemas["Filter"] | undefined {
  const must: Condition = [];
  if (tenant !== undefined) must.push({ key: "tenant", match: { value: tenant } });
  for (const [key, value] of Object.entries(filters?.metadata ?? {}))
    must.push({ key: `metadata.${key}`, match: { value } });
  if (filters?.documentIds)
    must.push({ key: "document_id", match: { any: [...filters.documentIds] } });
  if (filters?.classifications)
    must.push({ key: "classification", match: { any: [...filters.classifications] } });
  // The caller's groups: Filters.groups (auth/access.ts), or Clearance.accessGroups.
  const groups = filters?.groups ?? filters?.accessGroups;
  if (groups)
    must.push({
      should: [
        { is_empty: { key: "access_groups" } },
        { key: "access_groups", match: { any: [...groups] } },
      ],
    });
  return must.length > 0 ? { must } : undefined;
}
