/**
 * CloudWatch embedded metric format (EMF): a JSON log line that CloudWatch Logs turns into
 * metrics by itself, with no agent and no cloudwatch:PutMetricData permission. With
 * CLOUDWATCH_METRICS_NAMESPACE set, the worker writes the ingest queue's depth this way once a
 * minute (on ECS its standard output goes to CloudWatch Logs); the ECS tier alarms on it and
 * scales the worker on the backlog per task.
 */

export const QUEUE_DEPTH_METRIC = "IngestQueueDepth";

/** One EMF record: the metrics' values at the top level, described under `_aws`. */
export function emfRecord(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  values: Readonly<Record<string, number>>,
  timestamp = Date.now(),
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: "Count" })),
        },
      ],
    },
    ...dimensions,
    ...values,
  });
}

export interface QueueDepthReporter {
  stop(): void;
}

/**
 * Writes the queue depth now and every `intervalMs`, dimensioned by `service`. A depth that
 * cannot be read (Redis unreachable) writes nothing: a missing point, not a false zero that
 * would scale the workers in.
 */
export function reportQueueDepth(o: {
  namespace: string;
  service: string;
  depth: () => Promise<number>;
  write?: (line: string) => void;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}): QueueDepthReporter {
  const write = o.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const tick = async () => {
    try {
      write(
        emfRecord(o.namespace, { Service: o.service }, { [QUEUE_DEPTH_METRIC]: await o.depth() }),
      );
    } catch (error) {
      o.onError?.(error);
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), o.intervalMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
