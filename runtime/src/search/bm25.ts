/**
 * Okapi BM25 computed in SQL from the postings (term, chunk, tf, chunk length) kept in Postgres,
 * exact top-k at a cost that grows with the answer rather than with the corpus (MaxScore, as
 * Turtle and Flood's, in three statements):
 *
 * 1. Statistics. Each term's document frequency and score bounds (largest tf, shortest chunk)
 *    come from `bm25_terms` plus the not yet folded `bm25_term_changes` rows, which triggers on
 *    `postings` write in the same transaction as the postings themselves, so deletes and new
 *    documents count at once, on every path (cascades included). The corpus size and average
 *    chunk length come from the per-document totals.
 * 2. A threshold. The rarest terms' postings (a few thousand at most) give candidates; the best
 *    of them, scored over every query term, give θ, a score at least k chunks reach.
 * 3. The answer. Terms are ordered by their score bound; the frequent ones whose bounds together
 *    stay below θ cannot by themselves lift a chunk into the top k, so only the other
 *    ("essential") terms' postings are read. A candidate whose partial score plus the remaining
 *    bound stays below θ is dropped; the rest are scored exactly over every term.
 *
 * Every chunk that could reach the top k is scored with the very expression the exhaustive
 * query uses (`bm25SearchExact`, kept as the reference and the benchmark's baseline), so scores
 * and order are the same. Filters are applied in SQL wherever candidates are drawn.
 */
import type { Db, Queryable } from "../db/db";
import { chunkScope, type Filters } from "./filters";
import { termFrequencies } from "./tokenize";

/**
 * k1 as usual; b lowered from the customary 0.75 because chunks are already of similar length,
 * so length normalisation mostly penalises the fuller chunks (measured on ARAGOG dev: 0.735 vs
 * 0.676 hit rate).
 */
export const BM25 = { k1: 1.2, b: 0.5 } as const;

export interface Scored {
  readonly chunkId: string;
  readonly score: number;
}

export interface Bm25Plan {
  /**
   * Below this many postings over all query terms, one exhaustive statement (with the
   * statistics already read) costs less than the three of the pruned plan.
   */
  readonly exhaustiveBelow: number;
  /** The threshold's candidates come from the rarest terms, read until this many postings at least. */
  readonly seedPostings: number;
  /**
   * The frequent terms left unread may together bound at most this share of θ: the smaller,
   * the more postings are read and the fewer candidates probed for the terms left.
   */
  readonly skippedShare: number;
  /** Hears which terms' postings the answer read, of how many (tests and the benchmark). */
  readonly observe?: (read: { terms: number; of: number; postings: number }) => void;
}

export const BM25_PLAN: Bm25Plan = {
  exhaustiveBelow: 50_000,
  seedPostings: 2_000,
  skippedShare: 1,
};
/**
 * How long `bm25_log` keeps a row (bm25-memory.ts): a copy that has not caught up for half of
 * this loads afresh.
 */
export const BM25_LOG_KEEP_MINUTES = 60;
/** Bounds and thresholds compare with this relative slack, so float rounding never prunes a winner. */
const SLACK = 1e-9;

const { k1, b } = BM25;
// float8 literals throughout: a bare 1.2 is numeric in Postgres, and numeric arithmetic over
// every matching posting costs more than the rest of the query.
const TERM_SCORE = `w.idf * (p.tf * ${k1 + 1}::float8) / (p.tf + ${k1}::float8 * (${1 - b}::float8 + ${b}::float8 * p.dl / $2::float8))`;
/** Query terms with their IDF, from bound statistics: $1 corpus size, $3 terms, $4 qtf, $5 df. */
const WEIGHTS = `w AS (
  SELECT u.term, u.qtf * ln(1 + ($1::float8 - u.df + 0.5) / (u.df + 0.5)) AS idf
  FROM unnest($3::text[], $4::float8[], $5::float8[]) WITH ORDINALITY AS u(term, qtf, df, i))`;
/** Each candidate's score over every query term, by primary-key probes, in query-term order. */
const fullScore = (of: string) =>
  `(SELECT sum(${TERM_SCORE}) FROM w JOIN postings p ON p.term = w.term AND p.chunk_id = ${of}.chunk_id)`;

export interface TermStats {
  readonly term: string;
  readonly qtf: number;
  readonly df: number;
  /** Query tf times the term's IDF: its weight in every chunk's score. */
  readonly idf: number;
  /** Upper bound of the term's contribution to any chunk's score. */
  readonly bound: number;
}

/** The corpus size and mean chunk length BM25 uses: sums over the ready documents. */
const CORPUS = `SELECT greatest(sum(chunk_count), 1)::float8 AS n, coalesce(sum(token_count)::float8 / nullif(sum(chunk_count), 0), 1)::float8 AS avgdl
       FROM documents WHERE status = 'ready'`;

export interface Corpus {
  readonly n: number;
  readonly avgdl: number;
}

/** Reads the corpus size and mean chunk length alone (bm25-memory.ts keeps them between writes). */
export async function corpusTotals(db: Queryable): Promise<Corpus> {
  const [row] = await db.query<Corpus>(CORPUS);
  return { n: Number(row?.n ?? 1), avgdl: Number(row?.avgdl ?? 1) };
}

/**
 * Reads the corpus totals (unless `known` gives them) and each query term's statistics (terms no
 * chunk has are left out).
 */
export async function corpusStatistics(
  db: Queryable,
  tf: Map<string, number>,
  known?: Corpus,
): Promise<{ n: number; avgdl: number; terms: TermStats[] }> {
  const rows = await db.query<{
    term: string;
    qtf: number;
    df: string;
    max_tf: number;
    min_dl: number;
    n: number;
    avgdl: number;
  }>(
    `WITH corpus AS (${known ? "SELECT $3::float8 AS n, $4::float8 AS avgdl" : CORPUS})
     SELECT u.term, u.qtf, (coalesce(t.df, 0) + coalesce(c.df, 0))::bigint AS df,
            greatest(t.max_tf, c.max_tf) AS max_tf, least(t.min_dl, c.min_dl) AS min_dl, corpus.n, corpus.avgdl
     FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u(term, qtf, i)
     CROSS JOIN corpus
     LEFT JOIN bm25_terms t ON t.term = u.term
     LEFT JOIN LATERAL (SELECT sum(df) AS df, max(max_tf) AS max_tf, min(min_dl) AS min_dl FROM bm25_term_changes c WHERE c.term = u.term) c ON true
     ORDER BY u.i`,
    [[...tf.keys()], [...tf.values()], ...(known ? [known.n, known.avgdl] : [])],
  );
  const n = known?.n ?? Number(rows[0]?.n ?? 1);
  const avgdl = known?.avgdl ?? Number(rows[0]?.avgdl ?? 1);
  const terms = rows
    .filter((r) => Number(r.df) > 0)
    .map((r) => {
      const df = Number(r.df);
      const idf = r.qtf * Math.log(1 + (n - df + 0.5) / (df + 0.5));
      // The term score rises with tf and falls with the chunk's length: its largest tf over its
      // shortest chunk bounds every posting (deletes leave the bounds loose, never too low).
      const maxTf = Number(r.max_tf);
      const tfPart = (maxTf * (k1 + 1)) / (maxTf + k1 * (1 - b + (b * Number(r.min_dl)) / avgdl));
      return { term: r.term, qtf: r.qtf, df, idf, bound: idf * tfPart * (1 + SLACK) };
    });
  return { n, avgdl, terms };
}

/**
 * Postings of the terms in $6 grouped by chunk, with their partial score, keeping those whose
 * partial score plus $7 (the bound of the terms not read) reaches $8; filters from $10.
 */
function candidates(filters: Filters | undefined): { sql: string; params: unknown[] } {
  // Access alone joins only chunks (they carry their document's label and groups).
  const scope = chunkScope(filters, "p.chunk_id", 10);
  return {
    sql: `SELECT p.chunk_id, sum(${TERM_SCORE}) AS partial
      FROM w CROSS JOIN LATERAL (SELECT chunk_id, tf, dl FROM postings WHERE postings.term = w.term OFFSET 0) p
      ${scope.sql ? `${scope.sql} AND` : "WHERE"} w.term = ANY($6::text[])
      GROUP BY p.chunk_id HAVING sum(${TERM_SCORE}) + $7::float8 >= $8::float8`,
    params: scope.params,
  };
}

/** No threshold: every candidate is kept. */
const NO_THRESHOLD = -1e300;

export async function bm25Search(
  db: Queryable,
  queryTokens: readonly string[],
  limit: number,
  filters?: Filters,
  plan: Bm25Plan = BM25_PLAN,
): Promise<Scored[]> {
  const tf = termFrequencies(queryTokens);
  if (tf.size === 0 || limit <= 0) return [];
  const { n, avgdl, terms } = await corpusStatistics(db, tf);
  if (terms.length === 0) return [];
  const cand = candidates(filters);
  const bind = (read: readonly string[], slack: number, theta: number): unknown[] => [
    n,
    avgdl,
    terms.map((t) => t.term),
    terms.map((t) => t.qtf),
    terms.map((t) => t.df),
    read,
    slack,
    theta,
    limit,
    ...cand.params,
  ];
  const all = terms.map((t) => t.term);
  const postings = terms.reduce((s, t) => s + t.df, 0);
  if (postings < plan.exhaustiveBelow || terms.length === 1) {
    plan.observe?.({ terms: terms.length, of: terms.length, postings });
    const rows = await db.query<{ chunk_id: string; score: number }>(
      `WITH ${WEIGHTS}, cand AS (${cand.sql})
       SELECT chunk_id, partial AS score FROM cand ORDER BY score DESC, chunk_id LIMIT $9`,
      bind(all, 0, NO_THRESHOLD),
    );
    return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
  }
  // 2. θ: the k-th best full score among the best candidates of the rarest terms.
  // A filter may leave fewer than k of the seed's candidates: then the seed grows (a budget eight
  // times larger each round) until k pass it, or every term is read.
  const byRarity = [...terms].sort((x, y) => x.df - y.df);
  const seed: string[] = [];
  let theta = NO_THRESHOLD;
  for (let read = 0, budget = plan.seedPostings; seed.length < byRarity.length; budget *= 8) {
    while (seed.length < byRarity.length) {
      const next = byRarity[seed.length]!;
      // At least k postings; beyond that, only while the seed stays within the budget.
      if (seed.length > 0 && read >= limit && read + next.df > budget) break;
      seed.push(next.term);
      read += next.df;
    }
    const [kth] = await db.query<{ score: number }>(
      `WITH ${WEIGHTS}, cand AS (${cand.sql} ORDER BY partial DESC, p.chunk_id LIMIT $9)
       SELECT ${fullScore("cand")} AS score FROM cand ORDER BY score DESC LIMIT 1 OFFSET $9 - 1`,
      bind(seed, 0, NO_THRESHOLD),
    );
    if (kth) {
      theta = Number(kth.score) * (1 - SLACK);
      break;
    }
  }
  // 3. The frequent terms whose bounds sum below θ need not be read: a chunk only they match
  // scores below k others.
  const byBound = [...terms].sort((x, y) => x.bound - y.bound);
  let skipped = 0;
  let slack = 0;
  while (
    skipped < byBound.length - 1 &&
    slack + byBound[skipped]!.bound < theta * plan.skippedShare
  )
    slack += byBound[skipped++]!.bound;
  const read = byBound.slice(skipped);
  plan.observe?.({
    terms: read.length,
    of: terms.length,
    postings: read.reduce((s, t) => s + t.df, 0),
  });
  // The skipped terms, largest bound first, each probed by primary key for the candidates still
  // in the running: a candidate leaves once its score so far plus the bounds of the terms left
  // to probe falls below θ.
  const probes: string[] = [];
  let left = slack;
  for (const t of byBound.slice(0, skipped).reverse()) {
    left -= t.bound;
    const i = terms.indexOf(t) + 1;
    const n = probes.length;
    const from = n === 0 ? "cand" : `probe${n}`;
    // θ rises as scores fill in: the k-th best partial score is one that k chunks reach.
    probes.push(
      `theta${n + 1} AS (SELECT greatest((SELECT t FROM ${n === 0 ? "theta" : `theta${n}`}),
        coalesce((SELECT partial FROM ${from} ORDER BY partial DESC LIMIT 1 OFFSET $9 - 1) * ${1 - SLACK}::float8, $8::float8)) AS t),
      probe${n + 1} AS (
        SELECT c.chunk_id, c.partial + coalesce(x.s, 0) AS partial FROM ${from} c
        LEFT JOIN LATERAL (
          SELECT ${TERM_SCORE} AS s FROM w JOIN postings p ON p.term = w.term
          WHERE w.term = ($3::text[])[${i}] AND p.chunk_id = c.chunk_id) x ON true
        WHERE c.partial + ${Math.max(left, 0) + t.bound}::float8 >= (SELECT t FROM theta${n + 1})
          AND c.partial + coalesce(x.s, 0) + ${Math.max(left, 0)}::float8 >= (SELECT t FROM theta${n + 1}))`,
    );
  }
  const last = probes.length === 0 ? "cand" : `probe${probes.length}`;
  // θ raised first: the k best candidates by the terms read, scored over every term, reach it.
  const rows = await db.query<{ chunk_id: string; score: number }>(
    `WITH ${WEIGHTS}, read AS MATERIALIZED (${cand.sql}),
     best AS (SELECT chunk_id FROM read ORDER BY partial DESC LIMIT $9),
     theta AS (SELECT greatest($8::float8, coalesce(
       (SELECT ${fullScore("best")} AS score FROM best ORDER BY score DESC LIMIT 1 OFFSET $9 - 1) * ${1 - SLACK}::float8, $8::float8)) AS t),
     cand AS (SELECT chunk_id, partial FROM read WHERE partial + $7::float8 >= (SELECT t FROM theta))${probes.map((p) => `, ${p}`).join("")}
     SELECT chunk_id, partial AS score FROM ${last} ORDER BY score DESC, chunk_id LIMIT $9`,
    bind(
      read.map((t) => t.term),
      slack,
      theta,
    ),
  );
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
}

/**
 * The exhaustive query: every posting of every query term, document frequencies counted from
 * the postings' covering primary key. Kept as the reference the pruned plan is tested against
 * and as the benchmark's baseline; retrieval uses `bm25Search`.
 */
export async function bm25SearchExact(
  db: Queryable,
  queryTokens: readonly string[],
  limit: number,
  filters?: Filters,
): Promise<Scored[]> {
  const tf = termFrequencies(queryTokens);
  if (tf.size === 0) return [];
  const scope = chunkScope(filters, "p.chunk_id", 4);
  // The lateral OFFSET 0 keeps each term's postings a range read of the primary key, whatever
  // the planner's statistics say (without them it would hash the whole postings table).
  const rows = await db.query<{ chunk_id: string; score: number }>(
    `WITH corpus AS (${CORPUS}),
     q AS (
       SELECT u.term, u.qtf * ln(1 + (corpus.n - t.df + 0.5) / (t.df + 0.5)) AS idf, corpus.avgdl
       FROM unnest($1::text[], $2::int[]) AS u(term, qtf)
       CROSS JOIN corpus
       CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM postings p WHERE p.term = u.term) t
       WHERE t.df > 0)
     SELECT p.chunk_id,
            sum(q.idf * (p.tf * ${k1 + 1}::float8) / (p.tf + ${k1}::float8 * (${1 - b}::float8 + ${b}::float8 * p.dl / q.avgdl)))::float8 AS score
     FROM q CROSS JOIN LATERAL (SELECT chunk_id, tf, dl FROM postings WHERE postings.term = q.term OFFSET 0) p
     ${scope.sql}
     GROUP BY p.chunk_id
     ORDER BY score DESC, p.chunk_id
     LIMIT $3`,
    [[...tf.keys()], [...tf.values()], limit, ...scope.params],
  );
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
}

/**
 * Folds the pending per-term changes (rows the postings triggers add with every write) into
 * `bm25_terms`, so a query reads one row per term. The totals are the same before and after:
 * this only keeps them cheap to read. One caller folds at a time; the others return at once.
 * Terms no chunk has any more are removed, which also resets their bounds.
 */
export async function foldTermStats(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_xact_lock(727276) AS ok",
    );
    if (!lock?.ok) return;
    const emptied = await tx.query<{ term: string }>(
      `WITH moved AS (DELETE FROM bm25_term_changes RETURNING term, df, max_tf, min_dl),
       folded AS (
         INSERT INTO bm25_terms AS t (term, df, max_tf, min_dl)
         SELECT term, sum(df), max(max_tf), min(min_dl) FROM moved GROUP BY term ORDER BY term
         ON CONFLICT (term) DO UPDATE SET df = t.df + excluded.df,
           max_tf = greatest(t.max_tf, excluded.max_tf), min_dl = least(t.min_dl, excluded.min_dl)
         RETURNING term, df)
       SELECT term FROM folded WHERE df <= 0`,
    );
    if (emptied.length > 0)
      await tx.query("DELETE FROM bm25_terms WHERE term = ANY($1::text[]) AND df <= 0", [
        emptied.map((r) => r.term),
      ]);
    await tx.query(
      `DELETE FROM bm25_log WHERE at < now() - make_interval(mins => ${BM25_LOG_KEEP_MINUTES})`,
    );
  });
}

/** Recomputes the per-term statistics from the postings (after a bulk load that bypassed the triggers). */
export async function rebuildTermStats(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(727276)");
    await tx.query("DELETE FROM bm25_term_changes");
    await tx.query("DELETE FROM bm25_terms");
    await tx.query(
      "INSERT INTO bm25_terms SELECT term, count(*), max(tf), min(dl) FROM postings GROUP BY term",
    );
  });
}

/** Writes (documents indexed or deleted) between folds: a fold then sums many writes' changes at once. */
export const FOLD_EVERY_WRITES = 10;
const writesSinceFold = new WeakMap<Db, number>();

/**
 * After a write: folds once every FOLD_EVERY_WRITES writes. Until then, and if the fold fails,
 * the pending changes still count in every query (they cost a few more rows to read), and the
 * next fold takes them: a failed fold is not the write's failure.
 */
export async function foldPendingTermStats(db: Db): Promise<void> {
  const writes = (writesSinceFold.get(db) ?? 0) + 1;
  writesSinceFold.set(db, writes % FOLD_EVERY_WRITES);
  if (writes < FOLD_EVERY_WRITES) return;
  await foldTermStats(db).catch(() => undefined);
}

/** Rows for the postings of one chunk: each term, its frequency and the chunk's length. */
export function postingsOf(
  chunkId: string,
  tokens: readonly string[],
): { terms: string[]; chunkIds: string[]; tfs: number[]; lengths: number[] } {
  const tf = termFrequencies(tokens);
  const terms = [...tf.keys()];
  return {
    terms,
    chunkIds: terms.map(() => chunkId),
    tfs: [...tf.values()],
    lengths: terms.map(() => tokens.length),
  };
}

/**
 * Writes chunks' postings (as `postingsOf` gives them) in one statement: the path every writer
 * takes, so the change log carries each chunk's whole postings (`p` rows, bm25-memory.ts).
 */
export async function insertPostings(
  db: Queryable,
  rows: readonly ReturnType<typeof postingsOf>[],
): Promise<void> {
  await db.query(
    "INSERT INTO postings (term, chunk_id, tf, dl) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[])",
    [
      rows.flatMap((p) => p.terms),
      rows.flatMap((p) => p.chunkIds),
      rows.flatMap((p) => p.tfs),
      rows.flatMap((p) => p.lengths),
    ],
  );
}
