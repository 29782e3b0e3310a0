/** Retrieval filters: which documents may answer. Always bound as parameters, never spliced. */
export interface Filters {
  /** Only these documents. */
  readonly documentIds?: readonly string[];
  /** Only documents whose metadata contains all these key/value pairs. */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** True when the filters restrict anything (otherwise the documents table need not be joined). */
export function hasFilters(filters: Filters | undefined): boolean {
  return Boolean(
    filters?.documentIds || (filters?.metadata && Object.keys(filters.metadata).length > 0),
  );
}

/** SQL over `d` (documents) with parameters starting at `$from`. */
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
  return { sql: clauses.join(" AND "), params };
}
