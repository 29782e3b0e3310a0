/** Entry point: the ingest worker (liveness and metrics on WORKER_HEALTH_PORT). */
import { start } from "./main";

start("worker");
