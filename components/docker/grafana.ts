import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { stringify } from "yaml";
import { PROMETHEUS_DATASOURCE_UID } from "../shared/rag-dashboard";
import {
  createLocalContainer,
  LOOPBACK,
  pullImage,
  secretFilePath,
  wgetHealthCheck,
} from "./local-container";
import type { LocalNetwork } from "./network";
import type { LocalPrometheus } from "./prometheus";

/** A dashboard's JSON model and the file it is provisioned from. */
export interface GrafanaDashboard {
  readonly fileName: string;
  readonly model: Record<string, unknown>;
}

export interface LocalGrafanaArgs {
  readonly network: LocalNetwork;
  /** A pinned grafana/grafana image. */
  readonly image: string;
  /** The data source every dashboard queries (uid PROMETHEUS_DATASOURCE_UID). */
  readonly prometheus: LocalPrometheus;
  /** Provisioned read-only; the first is the home page. */
  readonly dashboards: readonly GrafanaDashboard[];
  /** Host port of the UI, published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "grafana";
const PORT = 3000;
/** The image's `grafana` user, which must read the password file. */
const GRAFANA_UID = 472;
const PASSWORD_FILE = "grafana_admin_password";
/** The image's GF_PATHS_PROVISIONING. */
const PROVISIONING_DIR = "/etc/grafana/provisioning";
const DASHBOARDS_DIR = "/etc/grafana/dashboards";
export const GRAFANA_ADMIN_USER = "admin";

/**
 * Grafana's provisioning files: the Prometheus data source under the uid the dashboards query,
 * and a file provider serving the dashboards read-only.
 */
export function grafanaProvisioning(
  prometheusUrl: string,
  dashboards: readonly GrafanaDashboard[],
): { path: string; content: string }[] {
  const names = dashboards.map((d) => d.fileName);
  const bad = names.find((n, i) => !/^[\w.-]+\.json$/.test(n) || names.indexOf(n) !== i);
  if (bad !== undefined)
    throw new Error(`grafanaProvisioning: dashboard file ${bad} is repeated or not a NAME.json`);
  const datasources = {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: PROMETHEUS_DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: prometheusUrl,
        isDefault: true,
        editable: false,
      },
    ],
  };
  const providers = {
    apiVersion: 1,
    providers: [
      {
        name: "rag-platform",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: DASHBOARDS_DIR },
      },
    ],
  };
  return [
    { path: `${PROVISIONING_DIR}/datasources/prometheus.yaml`, content: stringify(datasources) },
    { path: `${PROVISIONING_DIR}/dashboards/rag-platform.yaml`, content: stringify(providers) },
    ...dashboards.map((d) => ({
      path: `${DASHBOARDS_DIR}/${d.fileName}`,
      content: JSON.stringify(d.model, null, 2),
    })),
  ];
}

/**
 * Grafana with Prometheus as its data source and the dashboards provisioned. The admin password
 * is generated and reaches Grafana as a file (GF_SECURITY_ADMIN_PASSWORD__FILE); nobody gets in
 * without it (no anonymous access, no sign-up).
 */
export class LocalGrafana extends pulumi.ComponentResource {
  readonly adminPassword: pulumi.Output<string>;
  /** The UI on the host. */
  readonly url: string | undefined;

  constructor(name: string, args: LocalGrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Grafana", name, {}, opts);
    if (args.dashboards.length === 0)
      throw new Error(`${name}: dashboards is empty; provision at least one`);
    const password = new random.RandomPassword(
      `${name}-admin-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        secretFiles: [{ fileName: PASSWORD_FILE, value: password.result, ownerUid: GRAFANA_UID }],
        files: grafanaProvisioning(args.prometheus.internalUrl, args.dashboards),
        env: {
          GF_SECURITY_ADMIN_USER: GRAFANA_ADMIN_USER,
          GF_SECURITY_ADMIN_PASSWORD__FILE: secretFilePath(PASSWORD_FILE),
          GF_AUTH_ANONYMOUS_ENABLED: "false",
          GF_USERS_ALLOW_SIGN_UP: "false",
          GF_ANALYTICS_REPORTING_ENABLED: "false",
          GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
          GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: `${DASHBOARDS_DIR}/${args.dashboards[0]!.fileName}`,
        },
        publish: args.hostPort ? [{ containerPort: PORT, hostPort: args.hostPort }] : [],
        // The default image is Alpine.
        healthCheck: wgetHealthCheck(PORT, "/api/health"),
      },
      // Started once Prometheus is healthy, so the data source answers from the first page.
      { parent: this, dependsOn: [args.prometheus] },
    );
    this.adminPassword = pulumi.secret(password.result);
    this.url = args.hostPort ? `http://${LOOPBACK}:${args.hostPort}` : undefined;
    this.registerOutputs({});
  }
}
