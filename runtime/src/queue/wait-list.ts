/**
 * Where BullMQ keeps a queue's jobs that wait for a worker: a Redis list under BullMQ's default
 * key prefix. The Kubernetes tiers scale the workers on its length (KEDA's Redis list scaler),
 * so the name is part of the contract between the runtime and the IaC; a test holds BullMQ to it.
 */
export function bullmqWaitList(queueName: string): string {
  return `bull:${queueName}:wait`;
}
