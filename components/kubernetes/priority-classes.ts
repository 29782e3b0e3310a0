import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * The platform's priorities: serving (the API, the model servers, the vector store) before batch
 * ingest. Under pressure the scheduler evicts ingest pods to place serving ones; ingest never
 * evicts anything (it waits: its lag only grows, and KEDA adds replicas when room returns).
 */
export const PRIORITY_CLASSES = {
  serving: {
    name: "rag-serving",
    value: 100_000,
    preemptionPolicy: "PreemptLowerPriority",
    description: "RAG serving: the API, the model servers and the vector store. Outranks ingest.",
  },
  batch: {
    name: "rag-batch-ingest",
    value: 10_000,
    preemptionPolicy: "Never",
    description: "RAG batch ingest (parse, embed, index): yields to serving, preempts nothing.",
  },
} as const;

export type PriorityTier = keyof typeof PRIORITY_CLASSES;

/** The two PriorityClasses (cluster-scoped); `names` are what pods name once they exist. */
export class PriorityClasses extends pulumi.ComponentResource {
  readonly names: Readonly<Record<PriorityTier, pulumi.Output<string>>>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:PriorityClasses", name, {}, opts);
    const make = (tier: PriorityTier) => {
      const c = PRIORITY_CLASSES[tier];
      return new k8s.scheduling.v1.PriorityClass(
        `${name}-${tier}`,
        {
          metadata: { name: c.name },
          value: c.value,
          preemptionPolicy: c.preemptionPolicy,
          globalDefault: false,
          description: c.description,
        },
        { parent: this },
      ).metadata.name;
    };
    this.names = { serving: make("serving"), batch: make("batch") };
    this.registerOutputs({ names: this.names });
  }
}
