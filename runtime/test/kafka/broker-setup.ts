/** Starts one real Kafka broker for the Kafka suite (scripts/kafka-broker.ts) and stops it after. */
import type { TestProject } from "vitest/node";
import { fetchKafka, KAFKA_VERSION, startKafkaBroker } from "../../scripts/kafka-broker";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

export default async function setup(project: TestProject) {
  const fetched = await fetchKafka();
  console.log(
    fetched.cached
      ? `Kafka ${KAFKA_VERSION}: jars cached in ${fetched.libs}`
      : `Kafka ${KAFKA_VERSION}: fetched with Maven in ${fetched.seconds.toFixed(1)} s`,
  );
  const started = performance.now();
  const broker = await startKafkaBroker();
  console.log(
    `Kafka ${KAFKA_VERSION} broker on ${broker.bootstrap} (up in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  project.provide("kafkaBrokers", broker.bootstrap);
  return () => broker.stop();
}
