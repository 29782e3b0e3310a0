/**
 * A stand-in for Qdrant's HTTP API, for the calls the runtime makes: it records every request
 * (method, path, api-key, body) so tests check what the runtime asks of Qdrant. It keeps the
 * collections and points it is sent, and answers a query from them well enough to follow a
 * result back: payload filters (must, should, match value/any, is_empty), sparse and dense dot
 * products, and RRF over prefetches. It is no Qdrant (no IDF, no HNSW): no Qdrant server runs here.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SparseVector {
  indices: number[];
  values: number[];
}

export type Payload = Record<string, unknown>;

export interface StoredPoint {
  id: string;
  vector: { dense: number[]; bm25: SparseVector };
  payload: Payload;
}

export interface Filter {
  must?: Condition[];
  should?: Condition[];
}

type Condition =
  | Filter
  | { is_empty: { key: string } }
  | { key: string; match: { value?: unknown; any?: unknown[] } };

/** The fields of the bodies the runtime sends that the stand-in and the tests read. */
export interface Body {
  points?: StoredPoint[];
  filter?: Filter;
  prefetch?: Body[];
  query?: number[] | SparseVector | { fusion: string };
  using?: "dense" | "bm25";
  limit?: number;
  with_payload?: string[];
  field_name?: string;
  field_schema?: unknown;
  [field: string]: unknown;
}

export interface Recorded {
  method: string;
  path: string;
  apiKey?: string;
  body: Body;
}

function valueAt(payload: Payload, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((v, k) => (v == null ? undefined : (v as Payload)[k]), payload);
}

function holds(c: Condition, payload: Payload): boolean {
  if ("must" in c || "should" in c) return passes(c, payload);
  if ("is_empty" in c) {
    const v = valueAt(payload, c.is_empty.key);
    return v == null || (Array.isArray(v) && v.length === 0);
  }
  if (!("key" in c)) throw new Error(`the stand-in cannot read ${JSON.stringify(c)}`);
  const v = valueAt(payload, c.key);
  const values: unknown[] = Array.isArray(v) ? v : [v];
  if ("value" in c.match) return values.includes(c.match.value);
  if (c.match.any) return values.some((x) => c.match.any!.includes(x));
  throw new Error(`the stand-in cannot match ${JSON.stringify(c.match)}`);
}

function passes(filter: Filter | undefined, payload: Payload): boolean {
  if (!filter) return true;
  const should = filter.should ?? [];
  return (
    (filter.must ?? []).every((c) => holds(c, payload)) &&
    (should.length === 0 || should.some((c) => holds(c, payload)))
  );
}

function score(point: StoredPoint, q: Body): number {
  if (Array.isArray(q.query)) {
    const stored = point.vector.dense;
    return q.query.reduce((s, x, i) => s + x * stored[i]!, 0);
  }
  const query = q.query as SparseVector;
  const stored = point.vector.bm25;
  return query.indices.reduce((s, index, i) => {
    const at = stored.indices.indexOf(index);
    return at < 0 ? s : s + query.values[i]! * stored.values[at]!;
  }, 0);
}

function search(points: StoredPoint[], q: Body): { point: StoredPoint; score: number }[] {
  const eligible = points.filter((p) => passes(q.filter, p.payload));
  if (q.prefetch) {
    const fused = new Map<StoredPoint, number>();
    for (const sub of q.prefetch)
      search(eligible, sub).forEach(({ point }, rank) =>
        fused.set(point, (fused.get(point) ?? 0) + 1 / (60 + rank + 1)),
      );
    return [...fused]
      .map(([point, s]) => ({ point, score: s }))
      .sort((a, b) => b.score - a.score)
      .slice(0, q.limit);
  }
  return eligible
    .map((point) => ({ point, score: score(point, q) }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, q.limit);
}

export async function qdrantStandIn(
  options: {
    /** Collections that exist at the start, with their `GET /collections/{name}` config. */
    existing?: Record<string, object>;
    /** Calls that never answer. */
    silent?: ("search" | "query")[];
  } = {},
) {
  const requests: Recorded[] = [];
  const collections = new Map<string, { config: object; points: Map<string, StoredPoint> }>(
    Object.entries(options.existing ?? {}).map(([name, config]) => [
      name,
      { config, points: new Map() },
    ]),
  );
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const path = new URL(req.url!, "http://stand-in").pathname;
      const body = (raw ? JSON.parse(raw) : {}) as Body;
      requests.push({
        method: req.method!,
        path,
        apiKey: req.headers["api-key"] as string | undefined,
        body,
      });
      const ok = (result: unknown) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ result, status: "ok", time: 0 }));
      const completed = () => ok({ operation_id: 1, status: "completed" });
      const [, name, rest] = path.match(/^\/collections\/([^/]+)(\/.*)?$/) ?? [];
      const collection = name ? collections.get(name) : undefined;
      const route = `${req.method} ${rest ?? ""}`;
      if (name && route === "GET /exists") return ok({ exists: collection !== undefined });
      if (name && route === "PUT ") {
        collections.set(name, { config: { params: body }, points: new Map() });
        return ok(true);
      }
      if (name && route === "DELETE ") return ok(collections.delete(name));
      if (collection && route === "GET ")
        return ok({ status: "green", config: collection.config, points_count: 0 });
      if (collection && route === "PUT /index") return completed();
      if (collection && route === "PUT /points") {
        for (const p of body.points!) collection.points.set(p.id, p);
        return completed();
      }
      if (collection && route === "POST /points/delete") {
        for (const [id, p] of collection.points)
          if (passes(body.filter, p.payload)) collection.points.delete(id);
        return completed();
      }
      if (collection && route === "POST /points/payload") {
        for (const p of collection.points.values())
          if (passes(body.filter, p.payload)) Object.assign(p.payload, body.payload as Payload);
        return completed();
      }
      if (route === "POST /points/search" && options.silent?.includes("search")) return;
      if (route === "POST /points/query" && options.silent?.includes("query")) return;
      if (collection && route === "POST /points/query")
        return ok({
          points: search([...collection.points.values()], body).map(({ point, score }) => ({
            id: point.id,
            version: 1,
            score,
            payload: Object.fromEntries(body.with_payload!.map((k) => [k, point.payload[k]])),
          })),
        });
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ status: { error: "not in the stand-in" }, time: 0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    /** The points a collection holds now. */
    points: (name: string) => [...(collections.get(name)?.points.values() ?? [])],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
