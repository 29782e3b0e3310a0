/** Retrieval filters: which documents may answer. Always bound as parameters, never spliced. */
export interface Filters {
  /** Only these documents. */
  readonly documentIds?: readonly string[];
  /** Only documents whose metadata contains all these key/value pairs. */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
  /**
   * The classification labels the caller may see (its clearance and every label below); an empty
   * list sees nothing. Undefined: every label (an admin, or embedded mode without credentials).
   */
  readonly classifications?: readonly string[];
  /**
   * The caller's groups: a document restricted to groups (non-empty `access_groups`) needs one of
   * them. Undefined: no group check (an admin, or embedded mode without credentials).
   */
  readonly groups?: readonly string[];
}

/** True when the filters restrict by document (otherwise the documents table need not be joined). */
export function hasFilters(filters: Filters | undefined): boolean {
  return Boolean(
    filters?.documentIds || (filters?.metadata && Object.keys(filters.metadata).length > 0),
  );
}

/** True when the filters restrict by classification or group (columns chunks carry too). */
export function hasAccess(filters: Filters | undefined): boolean {
  return filters?.classifications !== undefined || filters?.groups !== undefined;
}

/**
 * The access clauses over `alias`, a table with `classification` and `access_groups` columns
 * (documents, or chunks, which carry their document's), with parameters from `$from`.
 */
export function accessSql(
  filters: Filters | undefined,
  alias: string,
  from: number,
): { clauses: string[]; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filters?.classifications !== undefined) {
    params.push(filters.classifications);
    clauses.push(`${alias}.classification = ANY($${from + params.length - 1}::text[])`);
  }
  if (filters?.groups !== undefined) {
    params.push(filters.groups);
    clauses.push(
      `(${alias}.access_groups = '{}' OR ${alias}.access_groups && $${from + params.length - 1}::text[])`,
    );
  }
  return { clauses, params };
}

/** SQL over `d` (documents) with parameters starting at `$from`: status, document filters and access. */
export function filterSql(
  filters: Filters | undefined,
  from: number,
): { sql: string; params: unknown[] } {
  const clauses = ["d.status = 'ready'"];
  const params: unknown[] = [];
  if (filters?.metadata && Object.keys(filters.metadata).length > 0) {
    params.push(JSON.stringify(filters.metadata));
    clauses.push(`d.metadata @> $${from + params.length - 1}::jsonb`);
  }
  if (filters?.documentIds) {
    params.push(filters.documentIds);
    clauses.push(`d.id = ANY($${from + params.length - 1}::uuid[])`);
  }
  const access = accessSql(filters, "d", from + params.length);
  return {
    sql: [...clauses, ...access.clauses].join(" AND "),
    params: [...params, ...access.params],
  };
}

/**
 * What restricts candidate chunks named by `chunkId` (an SQL expression): joins and a WHERE
 * clause, or nothing when the filters restrict nothing. Document filters join chunks and
 * documents; access alone joins only chunks, which carry their document's label and groups.
 */
export function chunkScope(
  filters: Filters | undefined,
  chunkId: string,
  from: number,
): { sql: string; params: unknown[] } {
  if (hasFilters(filters)) {
    const where = filterSql(filters, from);
    return {
      sql: `JOIN chunks c ON c.id = ${chunkId} JOIN documents d ON d.id = c.document_id WHERE ${where.sql}`,
      params: where.params,
    };
  }
  if (hasAccess(filters)) {
    const access = accessSql(filters, "c", from);
    return {
      sql: `JOIN chunks c ON c.id = ${chunkId} WHERE ${access.clauses.join(" AND ")}`,
      params: access.params,
    };
  }
  return { sql: "", params: [] };
}
