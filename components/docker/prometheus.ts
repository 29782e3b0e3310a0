import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { createLocalContainer, LOOPBACK, pullImage, wgetHealthCheck } from "./local-container";
import type { LocalNetwork } from "./network";

/** One process whose /metrics Prometheus reads. */
export interface ScrapeTarget {
  /** The job label, e.g. "rag-api". */
  readonly job: string;
  /** host:port on the private network. */
  readonly address: string;
}

export interface LocalPrometheusArgs {
  readonly network: LocalNetwork;
  /** A pinned prom/prometheus image. */
  readonly image: string;
  readonly targets: readonly ScrapeTarget[];
  /**
   * The `namespace` label every target's series carry: the label the dashboard selects on
   * (the Kubernetes tiers get it from the pod's namespace).
   */
  readonly namespaceLabel: string;
  /** @default 15 */
  readonly scrapeIntervalSec?: number;
  /** Host port of the UI and API, published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "prometheus";
const PORT = 9090;
/** The image's default --config.file: the uploaded file replaces the sample config. */
export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";

/** prometheus.yml: one job per target, every series labelled with `namespaceLabel`. */
export function prometheusConfig(
  targets: readonly ScrapeTarget[],
  namespaceLabel: string,
  scrapeIntervalSec = 15,
): string {
  const jobs = targets.map((t) => t.job);
  const repeated = jobs.find((job, i) => jobs.indexOf(job) !== i);
  if (repeated) throw new Error(`prometheusConfig: job ${repeated} is named twice`);
  return stringify({
    global: { scrape_interval: `${scrapeIntervalSec}s` },
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: "/metrics",
      static_configs: [{ targets: [t.address], labels: { namespace: namespaceLabel } }],
    })),
  });
}

/** Prometheus reading the runtime's /metrics on the private network. */
export class LocalPrometheus extends pulumi.ComponentResource {
  /** The query URL other containers on the network use. */
  readonly internalUrl = `http://${ALIAS}:${PORT}`;
  /** The UI on the host. */
  readonly url: string | undefined;

  constructor(name: string, args: LocalPrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Prometheus", name, {}, opts);
    if (args.targets.length === 0)
      throw new Error(`${name}: targets is empty; Prometheus needs at least one /metrics to read`);
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        files: [
          {
            path: PROMETHEUS_CONFIG_PATH,
            content: prometheusConfig(args.targets, args.namespaceLabel, args.scrapeIntervalSec),
          },
        ],
        publish: args.hostPort ? [{ containerPort: PORT, hostPort: args.hostPort }] : [],
        // The image is busybox-based.
        healthCheck: wgetHealthCheck(PORT, "/-/ready"),
      },
      { parent: this },
    );
    this.url = args.hostPort ? `http://${LOOPBACK}:${args.hostPort}` : undefined;
    this.registerOutputs({ internalUrl: this.internalUrl });
  }
}
