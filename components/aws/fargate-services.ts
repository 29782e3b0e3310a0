import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../runtime/src/config";
import type { RuntimeEnvironment } from "../contracts";
import { QUEUE_DEPTH_METRIC } from "../../runtime/src/emf";
import {
  API_READINESS_PATH,
  API_STARTUP_GRACE_SECONDS,
  QUEUE_DEPTH_PER_WORKER,
  REEMBED_COMMAND,
  RUNTIME_PROCESSES,
  processEnv,
} from "../shared/runtime-image";
import { assumedBy, policyDocument, type AwsAccount, type Statement } from "./account";
import { documentAccessStatements, type LoadBalancerLogs } from "./document-store";
import { containerDefinition, secretArns } from "./ecs-container";
import type { KmsKey } from "./kms-key";
import { ApiLoadBalancer } from "./load-balancer";
import type { Network } from "./network";
import { RUNTIME_METRIC_NAMESPACE } from "./observability";
import { databasePasswordStatements, passwordReadAtConnect } from "./postgres";

export interface FargateServiceSize {
  readonly replicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
}

export interface FargateRuntimeServicesArgs {
  readonly account: AwsAccount;
  readonly network: Network;
  /** The workloads' security group (tasks run in it). */
  readonly securityGroupId: pulumi.Input<string>;
  /** The runtime image reference (pinned by digest or immutable tag). */
  readonly image: pulumi.Input<string>;
  readonly env: RuntimeEnvironment;
  readonly api: FargateServiceSize;
  readonly worker: FargateServiceSize;
  /** The document bucket the tasks read and write. */
  readonly documentsBucketArn: pulumi.Input<string>;
  /** Encrypts the bucket and the secrets: tasks may use it, nothing more. */
  readonly dataKey: KmsKey;
  /** Encrypts the log groups. */
  readonly logsKey: KmsKey;
  readonly logRetentionDays: number;
  /** ACM certificate for a public HTTPS endpoint. @default - internal load balancer */
  readonly certificateArn?: pulumi.Input<string>;
  /** The load balancer's access logs. @default - none */
  readonly loadBalancerLogs?: LoadBalancerLogs;
}

const range = (from: number, to: number, step: number) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/** Fargate's valid task sizes: CPU units and the memory (MiB) each allows. */
const FARGATE_SIZES: readonly [number, readonly number[]][] = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

/** The smallest valid Fargate size with at least the CPU and memory asked for. */
export function fargateSize(
  cpuMillicores: number,
  memoryMiB: number,
): { cpu: number; memory: number } {
  const cpuUnits = Math.ceil(cpuMillicores * 1.024);
  for (const [cpu, memories] of FARGATE_SIZES) {
    if (cpu < cpuUnits) continue;
    const memory = memories.find((m) => m >= memoryMiB);
    if (memory !== undefined) return { cpu, memory };
  }
  throw new Error(
    `no Fargate task size has ${cpuMillicores} millicores and ${memoryMiB} MiB (at most 16 vCPU and 120 GiB)`,
  );
}

const API_PORT = RUNTIME_PROCESSES.api.port;
const WORKER_HEALTH_PORT = RUNTIME_PROCESSES.worker.port;

/**
 * The runtime on ECS Fargate: a cluster with Container Insights, the API behind an ALB, the
 * ingest worker without one, target-tracking autoscaling for both, least-privilege roles, and
 * every secret injected through `secrets.valueFrom`.
 */
export class FargateRuntimeServices extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly apiServiceName: pulumi.Output<string>;
  readonly workerServiceName: pulumi.Output<string>;
  /** The `Service` dimension of the queue depth the worker publishes (RUNTIME_METRIC_NAMESPACE / IngestQueueDepth). */
  readonly metricService: string;
  readonly loadBalancer: ApiLoadBalancer;
  /** `aws ecs run-task` for a re-embedding run: the worker's task (its environment and secrets) running dist/reembed.js. */
  readonly reembedCommand: pulumi.Output<string>;
  /**
   * What tools/verify-rollout.sh checks after an update: each service and the task definition it
   * should run (ECS rolls a deployment whose tasks fail back to the previous one on its own).
   */
  readonly rollout: pulumi.Output<{
    region: string;
    cluster: string;
    services: { name: string; taskDefinition: string }[];
  }>;

  constructor(
    name: string,
    args: FargateRuntimeServicesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:aws:FargateServices", name, {}, opts);
    const parent = { parent: this };
    const { env, databaseSecretArn } = passwordReadAtConnect(args.env);
    // One name per stack for logs, traces and the queue-depth metric's dimension.
    this.metricService = name;
    args = { ...args, env: { ...env, plain: { ...env.plain, [ENV.serviceName]: name } } };
    const cluster = new aws.ecs.Cluster(
      name,
      { settings: [{ name: "containerInsights", value: "enhanced" }] },
      parent,
    );
    const { executionRole, taskRole, policies } = this.createRoles(name, args, databaseSecretArn);
    this.loadBalancer = new ApiLoadBalancer(
      `${name}-api`,
      {
        network: args.network,
        targetSecurityGroupId: args.securityGroupId,
        targetPort: API_PORT,
        healthCheckPath: API_READINESS_PATH,
        certificateArn: args.certificateArn,
        accessLogs: args.loadBalancerLogs,
      },
      parent,
    );
    const network = {
      subnets: args.network.privateSubnetIds,
      securityGroups: [args.securityGroupId],
      assignPublicIp: false,
    };

    const api = this.createService(`${name}-api`, {
      args,
      cluster,
      executionRole,
      taskRole,
      size: args.api,
      process: "api",
      port: API_PORT,
      // /metrics on its own port, which the load balancer does not forward to.
      extraEnv: {
        [ENV.host]: "0.0.0.0",
        [ENV.port]: String(API_PORT),
        [ENV.metricsPort]: String(RUNTIME_PROCESSES.api.metricsPort),
      },
      network,
      loadBalancers: [
        {
          targetGroupArn: this.loadBalancer.targetGroupArn,
          containerName: "api",
          containerPort: API_PORT,
        },
      ],
      dependsOn: [...policies, this.loadBalancer.listener],
    });
    const worker = this.createService(`${name}-worker`, {
      args,
      cluster,
      executionRole,
      taskRole,
      size: args.worker,
      process: "worker",
      port: WORKER_HEALTH_PORT,
      // The worker publishes the queue depth (CloudWatch embedded metric format, through its logs).
      extraEnv: {
        [ENV.host]: "0.0.0.0",
        [ENV.workerHealthPort]: String(WORKER_HEALTH_PORT),
        [ENV.cloudwatchMetricsNamespace]: RUNTIME_METRIC_NAMESPACE,
      },
      network,
      dependsOn: policies,
    });

    this.autoscale(`${name}-api`, cluster, api, args.api, [
      { name: "cpu", metric: "ECSServiceAverageCPUUtilization", target: 60 },
      {
        name: "requests",
        metric: "ALBRequestCountPerTarget",
        target: 500,
        resourceLabel: pulumi.interpolate`${this.loadBalancer.arnSuffix}/${this.loadBalancer.targetGroupArnSuffix}`,
      },
    ]);
    // The worker mostly waits on the embedding server: its CPU says little. It scales on the
    // backlog per running task (queue depth / RunningTaskCount), CPU as a backstop.
    this.autoscale(`${name}-worker`, cluster, worker, args.worker, [
      { name: "cpu", metric: "ECSServiceAverageCPUUtilization", target: 60 },
      {
        name: "queue",
        target: QUEUE_DEPTH_PER_WORKER,
        metrics: [
          {
            id: "depth",
            metricStat: {
              metric: {
                namespace: RUNTIME_METRIC_NAMESPACE,
                metricName: QUEUE_DEPTH_METRIC,
                dimensions: [{ name: "Service", value: this.metricService }],
              },
              stat: "Maximum",
            },
            returnData: false,
          },
          {
            id: "tasks",
            metricStat: {
              metric: {
                namespace: "ECS/ContainerInsights",
                metricName: "RunningTaskCount",
                dimensions: [
                  { name: "ClusterName", value: cluster.name },
                  { name: "ServiceName", value: worker.name },
                ],
              },
              stat: "Average",
            },
            returnData: false,
          },
          {
            id: "backlog",
            expression: "depth / tasks",
            label: "Waiting documents per worker task",
            returnData: true,
          },
        ],
      },
    ]);

    this.clusterName = cluster.name;
    this.rollout = pulumi.output({
      region: args.account.region,
      cluster: cluster.name,
      services: [api, worker].map((service) => ({
        name: service.name,
        taskDefinition: service.taskDefinition.apply((arn) => arn ?? ""),
      })),
    });
    this.apiServiceName = api.name;
    this.workerServiceName = worker.name;
    const subnets = pulumi.all(args.network.privateSubnetIds).apply((ids) => ids.join(","));
    const overrides = JSON.stringify({
      containerOverrides: [{ name: "worker", command: REEMBED_COMMAND }],
    });
    this.reembedCommand = pulumi.interpolate`aws ecs run-task --region ${args.account.region} --cluster ${cluster.name} --launch-type FARGATE --task-definition ${worker.taskDefinition} --network-configuration 'awsvpcConfiguration={subnets=[${subnets}],securityGroups=[${args.securityGroupId}],assignPublicIp=DISABLED}' --overrides '${overrides}'`;
    this.registerOutputs({ clusterName: this.clusterName, apiUrl: this.loadBalancer.url });
  }

  private createRoles(
    name: string,
    args: FargateRuntimeServicesArgs,
    databaseSecretArn: pulumi.Output<string> | undefined,
  ) {
    const parent = { parent: this };
    const { partition } = args.account;
    const executionRole = new aws.iam.Role(
      `${name}-execution`,
      { assumeRolePolicy: assumedBy("ecs-tasks.amazonaws.com") },
      parent,
    );
    const executionBase = new aws.iam.RolePolicyAttachment(
      `${name}-execution-base`,
      {
        role: executionRole.name,
        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy`,
      },
      parent,
    );
    const arns = secretArns(args.env);
    const readSecrets: Statement[] = [
      {
        Sid: "ReadTheRuntimeSecrets",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: arns,
      },
      {
        Sid: "DecryptTheRuntimeSecrets",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: args.dataKey.arn,
      },
    ];
    const executionSecrets = new aws.iam.RolePolicy(
      `${name}-execution-secrets`,
      {
        role: executionRole.id,
        policy: policyDocument(arns.length > 0 ? readSecrets : readSecrets.slice(1)),
      },
      parent,
    );

    const taskRole = new aws.iam.Role(
      `${name}-task`,
      { assumeRolePolicy: assumedBy("ecs-tasks.amazonaws.com") },
      parent,
    );
    const policies: pulumi.Resource[] = [executionBase, executionSecrets];
    const taskDocuments = new aws.iam.RolePolicy(
      `${name}-task-documents`,
      {
        role: taskRole.id,
        policy: policyDocument(documentAccessStatements(args.documentsBucketArn, args.dataKey.arn)),
      },
      parent,
    );
    policies.push(taskDocuments);
    if (databaseSecretArn) {
      // The runtime reads the database password itself, for new connections (it rotates).
      const taskPassword = new aws.iam.RolePolicy(
        `${name}-task-database-password`,
        {
          role: taskRole.id,
          policy: policyDocument(databasePasswordStatements(databaseSecretArn, args.dataKey.arn)),
        },
        parent,
      );
      policies.push(taskPassword);
    }
    // Services wait for these: tasks start with their permissions, and deletion drains tasks before they go.
    return { executionRole, taskRole, policies };
  }

  private createService(
    name: string,
    o: {
      args: FargateRuntimeServicesArgs;
      cluster: aws.ecs.Cluster;
      executionRole: aws.iam.Role;
      taskRole: aws.iam.Role;
      size: FargateServiceSize;
      process: keyof typeof RUNTIME_PROCESSES;
      port: number;
      extraEnv: Record<string, string>;
      network: aws.types.input.ecs.ServiceNetworkConfiguration;
      loadBalancers?: aws.types.input.ecs.ServiceLoadBalancer[];
      dependsOn: pulumi.Resource[];
    },
  ): aws.ecs.Service {
    const parent = { parent: this };
    const container = o.process;
    const logGroup = new aws.cloudwatch.LogGroup(
      name,
      {
        namePrefix: `/rag/${name}-`,
        kmsKeyId: o.args.logsKey.arn,
        retentionInDays: o.args.logRetentionDays,
      },
      parent,
    );
    const { cpu, memory } = fargateSize(o.size.cpuMillicores, o.size.memoryMiB);
    const definition = containerDefinition({
      name: container,
      image: o.args.image,
      command: [...RUNTIME_PROCESSES[o.process].command],
      port: o.port,
      env: o.args.env,
      extraEnv: { ...o.extraEnv, ...processEnv(o.process) },
      stopTimeout: RUNTIME_PROCESSES[o.process].stopGraceSeconds,
      logGroupName: logGroup.name,
      region: o.args.account.region,
    });
    const task = new aws.ecs.TaskDefinition(
      name,
      {
        family: name,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(cpu),
        memory: String(memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: o.executionRole.arn,
        taskRoleArn: o.taskRole.arn,
        volumes: [{ name: "tmp" }],
        containerDefinitions: pulumi.jsonStringify([definition]),
      },
      parent,
    );
    return new aws.ecs.Service(
      name,
      {
        cluster: o.cluster.arn,
        taskDefinition: task.arn,
        launchType: "FARGATE",
        desiredCount: o.size.replicas,
        networkConfiguration: o.network,
        loadBalancers: o.loadBalancers,
        healthCheckGracePeriodSeconds: o.loadBalancers ? API_STARTUP_GRACE_SECONDS : undefined,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        // No ECS Exec: its agent needs a writable root filesystem, and the tasks' is read-only.
        enableExecuteCommand: false,
        propagateTags: "SERVICE",
        availabilityZoneRebalancing: "ENABLED",
      },
      // The autoscaler owns the running count after creation.
      { parent: this, ignoreChanges: ["desiredCount"], dependsOn: o.dependsOn },
    );
  }

  private autoscale(
    name: string,
    cluster: aws.ecs.Cluster,
    service: aws.ecs.Service,
    size: FargateServiceSize,
    policies: ({ name: string; target: number } & (
      | { metric: string; resourceLabel?: pulumi.Input<string> }
      | {
          metrics: aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetric[];
        }
    ))[],
  ): void {
    const parent = { parent: this };
    const target = new aws.appautoscaling.Target(
      name,
      {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: size.minReplicas,
        maxCapacity: size.maxReplicas,
      },
      parent,
    );
    for (const p of policies) {
      new aws.appautoscaling.Policy(
        `${name}-${p.name}`,
        {
          policyType: "TargetTrackingScaling",
          serviceNamespace: target.serviceNamespace,
          scalableDimension: target.scalableDimension,
          resourceId: target.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            targetValue: p.target,
            ...("metric" in p
              ? {
                  predefinedMetricSpecification: {
                    predefinedMetricType: p.metric,
                    resourceLabel: p.resourceLabel,
                  },
                }
              : { customizedMetricSpecification: { metrics: p.metrics } }),
            scaleInCooldown: 300,
            scaleOutCooldown: 60,
          },
        },
        parent,
      );
    }
  }
}
