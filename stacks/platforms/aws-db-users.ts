/**
 * The workloads sign in to the database with IAM tokens, each as a user of its own; a Job in the
 * writer's region makes those users once (runtime/src/bootstrap-db-users.ts), the one workload
 * that reads the master password. Its role reads that secret and nothing else; its pod reaches
 * the database, the VPC's endpoints and the Pod Identity agent, nothing else.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../runtime/src/config";
import type { Statement } from "../../components/aws/account";
import { podIdentityRole } from "../../components/aws/pod-identity";
import { flowPolicy, type CidrEgress } from "../../components/kubernetes/network-policy";
import { resources, restrictedPod } from "../../components/kubernetes/pod-security";
import { runtimeEnvVars } from "../../components/kubernetes/runtime-workloads";
import { BOOTSTRAP_DB_USERS_COMMAND, RUNTIME_UID } from "../../components/shared/runtime-image";
import type { RuntimeEnvironment } from "../../components/contracts";
import type { IngestRole } from "../ingest-log";

/** The database user of the runtime's identity: the API (and on sme the worker, which shares it). */
export const RUNTIME_DB_USER = "rag_runtime";
/** The database user of an ingest role that opens the database. */
export const ingestDbUser = (role: IngestRole): string => `rag_ingest_${role}`;

export const DB_USERS_SERVICE_ACCOUNT = "rag-db-users";
const LABELS = {
  "app.kubernetes.io/name": "rag-db-users",
  "app.kubernetes.io/part-of": "rag-platform",
};
/** What the Job passes on of the runtime's environment: the server and the master's sign-in. */
const CONNECTION_ENV = [
  ENV.pgHost,
  ENV.pgPort,
  ENV.pgDatabase,
  ENV.pgUser,
  ENV.pgSslMode,
  ENV.pgPasswordSecretArn,
] as const;

export interface DatabaseUsersJobArgs {
  readonly clusterName: pulumi.Input<string>;
  readonly namespace: string;
  readonly image: pulumi.Input<string>;
  /** The runtime's environment with the master's password read at connect (passwordReadAtConnect). */
  readonly masterEnv: RuntimeEnvironment;
  /** What reading the master password takes (databasePasswordStatements). */
  readonly masterStatements: readonly Statement[];
  readonly users: readonly string[];
  readonly egress: readonly CidrEgress[];
  /** What must exist first: the namespace. */
  readonly after: readonly pulumi.Resource[];
  /** The Job's PriorityClass. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

/** The Job, its service account, its Pod Identity role and its network policy. */
export function databaseUsersJob(
  name: string,
  args: DatabaseUsersJobArgs,
  opts: { aws: pulumi.CustomResourceOptions; k8s: pulumi.CustomResourceOptions },
): k8s.batch.v1.Job {
  const k8sOpts = { ...opts.k8s, dependsOn: [...args.after] };
  podIdentityRole(
    name,
    {
      clusterName: args.clusterName,
      namespace: args.namespace,
      serviceAccount: DB_USERS_SERVICE_ACCOUNT,
      statements: args.masterStatements,
    },
    opts.aws,
  );
  const sa = new k8s.core.v1.ServiceAccount(
    name,
    {
      metadata: { name: DB_USERS_SERVICE_ACCOUNT, namespace: args.namespace },
      automountServiceAccountToken: false,
    },
    k8sOpts,
  );
  flowPolicy(
    name,
    { namespace: args.namespace, podLabels: LABELS, egressToCidrs: args.egress },
    k8sOpts,
  );
  const plain = Object.fromEntries(
    CONNECTION_ENV.flatMap((v) =>
      args.masterEnv.plain[v] === undefined ? [] : [[v, args.masterEnv.plain[v]]],
    ),
  );
  return new k8s.batch.v1.Job(
    name,
    {
      metadata: { name: "rag-db-users", namespace: args.namespace, labels: LABELS },
      spec: {
        // The database may still be starting on a first deploy; the deploy waits for success.
        backoffLimit: 6,
        template: {
          metadata: { labels: LABELS },
          spec: restrictedPod({
            uid: RUNTIME_UID,
            labels: LABELS,
            serviceAccountName: sa.metadata.name as unknown as string,
            containers: [
              {
                name: "db-users",
                image: args.image,
                command: [...BOOTSTRAP_DB_USERS_COMMAND, ...args.users],
                env: runtimeEnvVars({ plain, secrets: {} }, {}),
                resources: resources({ cpuMillicores: 100, memoryMiB: 256 }),
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              },
            ],
            extra: {
              restartPolicy: "Never",
              ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
            },
          }),
        },
      },
    },
    { ...k8sOpts, deleteBeforeReplace: true },
  );
}
