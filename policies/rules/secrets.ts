/**
 * No secret as a plain value: environment variables of every runtime we deploy to, ConfigMaps,
 * Helm values and stack outputs. Secrets come from a secret manager or a Kubernetes Secret.
 */
import {
  describeValue,
  get,
  isObject,
  isSecretName,
  list,
  looksLikeSecretValue,
  records,
  secretInPlainValue,
  SECRET_PLACEHOLDER,
  shown,
  unreadableEntries,
} from "./helpers";
import type { ResourceView, Rule } from "./types";
import { secretsInFile } from "./config-files";
import { eachObject, kubernetesTypes } from "./kubernetes";
import { eachContainer, WORKLOAD_TYPES } from "./workloads";

function envProblems(owner: string, vars: { name: string; value: unknown }[]): string[] {
  return vars.flatMap((v) => {
    const problem = secretInPlainValue(v.name, v.value);
    return problem ? [`${owner}: ${problem}`] : [];
  });
}

function ecsEnvironment(r: ResourceView): string[] {
  let definitions: unknown;
  try {
    definitions =
      typeof r.props.containerDefinitions === "string"
        ? JSON.parse(r.props.containerDefinitions)
        : undefined;
  } catch {
    return ["containerDefinitions is not valid JSON"];
  }
  if (!Array.isArray(definitions))
    return ["containerDefinitions is unknown: cannot show that no secret is a plain value"];
  return containersEnv(definitions, "containerDefinitions", "environment");
}

/** A container's env list: a secret-like plain value fails, and so does an entry that cannot be read. */
function envListProblems(env: unknown, what: string): string[] {
  if (env === undefined || env === null) return [];
  if (!Array.isArray(env)) return [`${what} cannot be read (it is ${describeValue(env)})`];
  return Array.from(env as unknown[]).flatMap((e, i) => {
    if (!isObject(e)) return [`${what}[${i}] cannot be read (it is ${describeValue(e)})`];
    return e.value === undefined ? [] : [secretInPlainValue(shown(e.name), e.value) ?? []].flat();
  });
}

/** Each container's env problems, named by container; containers that cannot be read fail. */
function containersEnv(containers: unknown, what: string, envKey: string): string[] {
  return [
    ...unreadableEntries(containers, what),
    ...records(containers).flatMap((c) =>
      envListProblems(c[envKey], envKey).map((m) => `container ${shown(c.name)}: ${m}`),
    ),
  ];
}

/** A ConfigMap's secrets: its keys, the files it carries, and any binaryData. */
function configMapSecrets(configMap: Record<string, unknown>): string[] {
  const { data, binaryData } = configMap;
  const unreadable = (what: string, value: unknown) =>
    `${what} cannot be read (it is ${describeValue(value)}), so it cannot be shown free of secrets`;
  const problems: string[] = [];
  if (isObject(data))
    for (const [name, value] of Object.entries(data)) {
      const plain = secretInPlainValue(name, value);
      if (plain) problems.push(`data: ${plain}`);
      else if (typeof value === "string")
        problems.push(
          ...secretsInFile(value).map((key) => `data["${name}"]: ${key} holds a literal secret`),
        );
    }
  else if (data !== undefined && data !== null) problems.push(unreadable("data", data));
  if (isObject(binaryData))
    problems.push(
      ...Object.keys(binaryData).map(
        (name) =>
          `binaryData["${name}"] cannot be read as text, so it cannot be shown free of secrets`,
      ),
    );
  else if (binaryData !== undefined && binaryData !== null)
    problems.push(unreadable("binaryData", binaryData));
  return problems;
}

/** Walks Helm values for secret-named keys holding literal strings. */
function literalSecrets(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => literalSecrets(v, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = path ? `${path}.${k}` : k;
    if (
      typeof v === "string" &&
      v !== "" &&
      (isSecretName(k) || looksLikeSecretValue(v)) &&
      !v.startsWith("${env:")
    )
      return [`${here} holds a literal secret`];
    return literalSecrets(v, here);
  });
}

/** Outputs that read like a credential (not a command that fetches one). */
function secretOutputs(outputs: Record<string, unknown>, path = ""): string[] {
  return Object.entries(outputs).flatMap(([k, v]) => {
    const here = path ? `${path}.${k}` : k;
    if (typeof v === "object" && v !== null)
      return secretOutputs(v as Record<string, unknown>, here);
    if (typeof v !== "string" || v === SECRET_PLACEHOLDER) return [];
    const credentialShaped = isSecretName(k) && !/\s/.test(v) && v.length >= 12;
    return credentialShaped || (looksLikeSecretValue(v) && v !== SECRET_PLACEHOLDER)
      ? [`stack output ${here} is a secret that is not marked secret`]
      : [];
  });
}

export const secretRules: Rule[] = [
  {
    name: "no-secret-in-ecs-environment",
    area: "secrets",
    description:
      "ECS task definitions pass secrets through `secrets` (valueFrom), never as `environment` values.",
    severity: "critical",
    remediation:
      "Move the value to Secrets Manager and reference it in the container's secrets[].valueFrom.",
    resourceTypes: ["aws:ecs/taskDefinition:TaskDefinition"],
    check: (r) => ecsEnvironment(r),
  },
  {
    name: "no-secret-in-k8s-env",
    area: "secrets",
    description:
      "Kubernetes containers take secrets from a Secret (secretKeyRef or a mounted Secret volume), never as plain env values.",
    severity: "critical",
    remediation:
      "Put the value in a Secret (synced by External Secrets); mount it as a volume (or use env[].valueFrom.secretKeyRef).",
    resourceTypes: [...WORKLOAD_TYPES],
    check: eachContainer(({ container: c }) => envListProblems(c.env, "env")),
  },
  {
    name: "no-secret-in-configmap",
    area: "secrets",
    description:
      "ConfigMaps hold no secret: not under a secret-named key, not inside the files they carry (application.properties, .env, JSON, YAML), and no binaryData, which cannot be read as text.",
    severity: "high",
    remediation:
      "Move the value to a Secret (mounted as a file) and reference it from the configuration (${ENV}, *_FILE); keep binary files out of ConfigMaps.",
    resourceTypes: kubernetesTypes("ConfigMap", ["core/v1"]),
    check: eachObject((configMap) => configMapSecrets(configMap)),
  },
  {
    name: "no-secret-in-helm-values",
    area: "secrets",
    description:
      "Helm release values carry no literal secret (they are stored in the release); charts read Secrets instead.",
    severity: "high",
    remediation:
      "Reference an existing Secret (valueFrom.secretKeyRef / existingSecret) instead of a literal.",
    resourceTypes: ["kubernetes:helm.sh/v3:Release"],
    check: (r) => literalSecrets(r.props.values, "values"),
  },
  {
    name: "no-secret-in-docker-env",
    area: "secrets",
    description:
      "Local containers get secrets as files (uploads under /run/secrets and *_FILE variables), never as env values.",
    severity: "high",
    remediation: "Upload the secret to /run/secrets/<name> and pass <NAME>_FILE instead.",
    resourceTypes: ["docker:index/container:Container"],
    check: (r) =>
      envProblems(
        "envs",
        list<string>(r.props.envs).map((e) => ({
          name: String(e).slice(0, String(e).indexOf("=")),
          value: String(e).slice(String(e).indexOf("=") + 1),
        })),
      ),
  },
  {
    name: "no-secret-in-container-app-env",
    area: "secrets",
    description:
      "Azure Container Apps and their jobs take secrets as secret references (env secretRef or a secret volume), never as env values.",
    severity: "critical",
    remediation:
      "Declare the secret in configuration.secrets (Key Vault reference) and use env[].secretRef or a Secret volume.",
    resourceTypes: ["azure-native:app:ContainerApp", "azure-native:app:Job"],
    check: (r) => containersEnv(get(r.props, "template.containers"), "template.containers", "env"),
  },
  {
    name: "no-secret-in-cloud-run-env",
    area: "secrets",
    description:
      "Cloud Run services and jobs take secrets from Secret Manager (a secret volume or valueSource.secretKeyRef), never as env values.",
    severity: "critical",
    remediation:
      "Mount the Secret Manager secret as a volume (or use envs[].valueSource.secretKeyRef).",
    resourceTypes: ["gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/job:Job"],
    check: (r) => {
      const path =
        r.type === "gcp:cloudrunv2/job:Job"
          ? "template.template.containers"
          : "template.containers";
      return containersEnv(get(r.props, path), path, "envs");
    },
  },
  {
    name: "stack-outputs-secret",
    area: "secrets",
    description:
      "Stack outputs that hold a credential are marked secret (offline check: the outputs are known there).",
    severity: "high",
    remediation:
      "Wrap the output in pulumi.secret(), or export where to read the secret instead of its value.",
    resourceTypes: ["pulumi:pulumi:Stack"],
    check: (r, ctx) =>
      r.type === "pulumi:pulumi:Stack" && ctx.outputs ? secretOutputs(ctx.outputs) : [],
  },
];
