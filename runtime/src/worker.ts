/**
 * Entry point: the ingest worker (liveness and metrics on WORKER_HEALTH_PORT).
 * `worker --role parse|embed|index|all` picks its stage on the Kafka bus (as WORKER_ROLE does).
 */
import { parseArgs } from "node:util";
import { ENV } from "./config";
import { start } from "./main";

const { values } = parseArgs({ options: { role: { type: "string" } }, strict: false });
if (typeof values.role === "string") process.env[ENV.workerRole] = values.role;
start("worker");
