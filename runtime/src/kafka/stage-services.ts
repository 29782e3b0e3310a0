/**
 * A worker running a stage of the Kafka bus that holds no catalogue: parse (the object store and
 * the parser) or embed (the object store and the embedder). It opens no database and no vector
 * store, and embed alone builds an embedder: DATABASE_URL, QDRANT_URL and the index settings are
 * not read. A stage's failure goes downstream as a "failed" record, which the index role records.
 */
import type { RuntimeConfig } from "../config";
import { EmbedStage, ParseStage } from "../ingest/pipeline";
import { Metrics } from "../metrics";
import { createEmbedder } from "../models/embedder";
import { BACKOFF_MS } from "../queue/queue";
import { ingestOptionsOf, objectStoreOf, observeStages, type WorkerServices } from "../services";
import { KafkaBus } from "./bus";
import type { Role } from "./events";
import { startRoles } from "./roles";

/** The stages that hold no catalogue. */
export type StageRole = Exclude<Role, "index">;

export async function createStageServices(
  config: RuntimeConfig,
  role: StageRole,
): Promise<WorkerServices> {
  // The queue's depth is the bus's, once it is open.
  let depth = async () => 0;
  const metrics = new Metrics(() => depth());
  const store = objectStoreOf(config);
  const observe = observeStages(metrics);
  const stage =
    role === "parse"
      ? { parser: new ParseStage(store, ingestOptionsOf(config), observe) }
      : { embedding: new EmbedStage(await createEmbedder(config), observe) };
  const bus = await KafkaBus.open(config, undefined, {
    attempts: config.INGEST_ATTEMPTS,
    backoffMs: BACKOFF_MS,
  });
  depth = () => bus.depth();
  let roles: { close(): Promise<void> } | undefined;
  return {
    config,
    queue: bus,
    metrics,
    warnings: [],
    async startWorker(log) {
      roles = await startRoles([role], { config, bus, store, metrics, log, ...stage });
    },
    async close() {
      await roles?.close();
      await bus.close();
    },
  };
}
