import * as pulumi from "@pulumi/pulumi";
import { type RuntimeEnvironment, type SecretRef, secretEntries } from "../contracts";
import { RUNTIME_UID } from "../shared/runtime-image";

/** ECS's `valueFrom` for a Secrets Manager secret, selecting one JSON key when asked. */
export function valueFrom(ref: SecretRef, variable: string): pulumi.Output<string> {
  switch (ref.kind) {
    case "aws-secretsmanager":
      return ref.jsonKey ? pulumi.interpolate`${ref.arn}:${ref.jsonKey}::` : ref.arn;
    case "generated":
    case "azure-keyvault":
    case "gcp-secretmanager":
      throw new Error(
        `${variable}: ECS takes secrets from Secrets Manager only; got a ${ref.kind} secret (store a generated value in a ManagedSecret)`,
      );
    default: {
      const unreachable: never = ref;
      throw new Error(`${variable}: unknown secret reference ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The secret ARNs a task's execution role must be able to read. */
export function secretArns(env: RuntimeEnvironment): pulumi.Output<string>[] {
  return secretEntries(env).flatMap(([, ref]) =>
    ref.kind === "aws-secretsmanager" ? [ref.arn] : [],
  );
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: pulumi.Input<string>;
  readonly command: string[];
  readonly port: number;
  readonly env: RuntimeEnvironment;
  /** Extra plain variables for this container. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly logGroupName: pulumi.Input<string>;
  readonly region: string;
  /** Seconds ECS waits after SIGTERM before it kills the container (Fargate allows 120 at most). @default 30 */
  readonly stopTimeout?: number;
}

/**
 * One container definition: plain values in `environment`, every secret in `secrets` as a
 * reference (ECS fetches it at start; it never appears in the task definition), non-root,
 * read-only root filesystem with a writable /tmp, logs to CloudWatch.
 */
export function containerDefinition(spec: ContainerSpec): pulumi.Output<object> {
  const plain = { ...spec.env.plain, ...spec.extraEnv } as Record<string, pulumi.Input<string>>;
  const environment = pulumi.all(
    Object.entries(plain)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => pulumi.output(value).apply((v) => ({ name, value: v }))),
  );
  const secrets = pulumi.all(
    secretEntries(spec.env).map(([name, ref]) =>
      valueFrom(ref, name).apply((arn) => ({ name, valueFrom: arn })),
    ),
  );
  return pulumi
    .all([environment, secrets, spec.image, spec.logGroupName])
    .apply(([env, sec, image, logGroup]): object => ({
      name: spec.name,
      image,
      essential: true,
      command: spec.command,
      user: `${RUNTIME_UID}:${RUNTIME_UID}`,
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: spec.port, protocol: "tcp" }],
      environment: env,
      secrets: sec,
      mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
      healthCheck: {
        command: ["CMD", "node", "dist/healthcheck.js", String(spec.port)],
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 30,
      },
      linuxParameters: { initProcessEnabled: true, capabilities: { drop: ["ALL"] } },
      stopTimeout: spec.stopTimeout ?? 30,
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": logGroup,
          "awslogs-region": spec.region,
          "awslogs-stream-prefix": spec.name,
        },
      },
    }));
}
