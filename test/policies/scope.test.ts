/**
 * The pack judges every resource type the program creates, or says why not (policies/scope.ts):
 * checked over the stacks as shipped and in the configurations that add resource types
 * (certificate and alert subscribers, a managed LLM and Qdrant Cloud, GitOps, Ollama with
 * pgvector and an OTLP backend, a GPU on dev, staging on Azure and on GCP public or with hosted services,
 * sme on Azure and on GCP public or with Ollama, pgvector and OTLP),
 * each of which must also pass its tier.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import { NOT_JUDGED, NOT_JUDGED_PREFIXES } from "../../policies/scope";
import type { SynthResult } from "../../tools/harness";
import { toViews } from "../../tools/policy-run";
import { synth } from "../helpers";

const CERT =
  "rag-platform:domain.certificate=arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7";
const VARIANTS: Record<string, [stack: string, sets: string[]]> = {
  dev: ["dev", []],
  "dev with a GPU": ["dev", ["rag-platform:dev.gpu=true"]],
  staging: ["staging", []],
  "staging, public with alert e-mails": [
    "staging",
    [
      CERT,
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ],
  ],
  "staging, managed LLM and Qdrant Cloud": [
    "staging",
    [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=openai",
      "rag-platform:llm.model=gpt-4o-mini",
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://abc.eu-central-1-0.aws.cloud.qdrant.io:6333",
    ],
  ],
  "staging on Azure": ["staging-azure", []],
  "staging on Azure, public with alert e-mails": [
    "staging-azure",
    [
      "rag-platform:domain.certificate=https://certs-vault.vault.azure.net/secrets/rag-staging",
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ],
  ],
  "staging on Azure, Azure OpenAI, Qdrant Cloud and SSO": [
    "staging-azure",
    [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=azure-openai",
      "rag-platform:llm.managedBaseUrl=https://acme.openai.azure.com/openai/v1",
      "rag-platform:llm.model=gpt-4o-mini",
      "rag-platform:llm.embeddingModel=text-embedding-3-small",
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://abc.westeurope-0.azure.cloud.qdrant.io:6333",
      "rag-platform:auth.oidcIssuerUrl=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
      "rag-platform:auth.oidcClientId=11111111-1111-1111-1111-111111111111",
    ],
  ],
  "staging on GCP": ["staging-gcp", []],
  "staging on GCP, public with alert e-mails": [
    "staging-gcp",
    [
      "rag-platform:domain.certificate=google-managed",
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ],
  ],
  "staging on GCP, a hosted LLM, Qdrant Cloud and SSO": [
    "staging-gcp",
    [
      "rag-platform:llm.mode=managed",
      "rag-platform:llm.managedProvider=anthropic",
      "rag-platform:llm.model=claude-sonnet-4-5",
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://abc.europe-west3-0.gcp.cloud.qdrant.io:6333",
      "rag-platform:auth.oidcIssuerUrl=https://acme.okta.com/oauth2/default",
      "rag-platform:auth.oidcClientId=0oa1b2c3d4",
    ],
  ],
  sme: ["sme", []],
  "sme, public with GitOps": [
    "sme",
    [
      CERT,
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/acme/rag-gitops",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
    ],
  ],
  "sme, Ollama, pgvector, OTLP": [
    "sme",
    [
      "rag-platform:llm.server=ollama",
      "rag-platform:llm.model=llama3.1:8b",
      "rag-platform:vectorDb.mode=pgvector",
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://otlp.example.com:4318",
    ],
  ],
  "sme on Azure": ["sme-azure", []],
  "sme on Azure, public with alert e-mails, PagerDuty and admins": [
    "sme-azure",
    [
      "rag-platform:domain.certificate=https://certs-vault.vault.azure.net/secrets/rag-sme",
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:network.clusterApiAllowedCidrs[0]=203.0.113.10/32",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
      "rag-platform:observability.azureActionGroupIds[0]=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/microsoft.insights/actionGroups/pagerduty",
      "rag-platform:kubernetes.adminPrincipals[0]=group:22222222-2222-2222-2222-222222222222",
    ],
  ],
  "sme on Azure, Ollama, pgvector, OTLP, GitOps": [
    "sme-azure",
    [
      "rag-platform:llm.server=ollama",
      "rag-platform:llm.model=llama3.1:8b",
      "rag-platform:llm.gpuType=t4",
      "rag-platform:vectorDb.mode=pgvector",
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://otlp.example.com:4318",
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/acme/rag-gitops",
    ],
  ],
  "sme on GCP": ["sme-gcp", []],
  "sme on GCP, public with alert e-mails, PagerDuty and admins": [
    "sme-gcp",
    [
      "rag-platform:domain.certificate=google-managed",
      "rag-platform:domain.hostname=rag.example.com",
      "rag-platform:network.clusterApiAllowedCidrs[0]=203.0.113.10/32",
      "rag-platform:observability.alertEmails[0]=oncall@example.com",
      "rag-platform:observability.gcpNotificationChannels[0]=projects/my-rag-sme/notificationChannels/4242",
      "rag-platform:kubernetes.adminPrincipals[0]=group:platform@example.com",
    ],
  ],
  "sme on GCP, Ollama on a T4, pgvector, OTLP, GitOps, a pushed image": [
    "sme-gcp",
    [
      "rag-platform:llm.server=ollama",
      "rag-platform:llm.model=llama3.1:8b",
      "rag-platform:llm.gpuType=t4",
      "rag-platform:kubernetes.gpuZones[0]=europe-west1-b",
      "rag-platform:vectorDb.mode=pgvector",
      "rag-platform:observability.exporter=otlp",
      "rag-platform:observability.otlpEndpoint=https://otlp.example.com:4318",
      "rag-platform:gitops.enabled=true",
      "rag-platform:gitops.repoUrl=https://github.com/acme/rag-gitops",
      "rag-platform:runtimeImage=europe-west1-docker.pkg.dev/my-rag-sme/rag/rag-runtime:1.0.0",
    ],
  ],
};

const results: Record<string, SynthResult> = {};
beforeAll(async () => {
  for (const [name, [stack, sets]] of Object.entries(VARIANTS))
    results[name] = await synth(stack, sets);
}, 240_000);

const judged = new Set(ALL_RULES.flatMap((r) => r.resourceTypes));
const explained = (type: string) =>
  type in NOT_JUDGED || Object.keys(NOT_JUDGED_PREFIXES).some((p) => type.startsWith(p));

describe("the policy pack's scope", () => {
  it.each(Object.keys(VARIANTS))(
    "%s: every resource type is judged by a rule or explained in policies/scope.ts",
    (name) => {
      const types = [...new Set(results[name]!.resources.map((r) => r.type))];
      expect(types.filter((t) => !judged.has(t) && !explained(t))).toEqual([]);
    },
  );

  it.each(Object.keys(VARIANTS))("%s: passes its tier with no mandatory violation", (name) => {
    const r = results[name]!;
    const e = evaluate(toViews(r.resources), { tier: r.tier, outputs: r.outputs });
    expect(
      e.findings
        .filter((f) => f.enforcement === "mandatory")
        .map((f) => `${f.rule} ${f.resource.name}: ${f.message}`),
    ).toEqual([]);
  });

  it("explains only types the program creates and no rule judges", () => {
    const created = new Set(Object.values(results).flatMap((r) => r.resources.map((x) => x.type)));
    for (const [type, why] of Object.entries(NOT_JUDGED)) {
      expect(
        created.has(type),
        `${type} is not created by any variant: drop it from NOT_JUDGED`,
      ).toBe(true);
      expect(judged.has(type), `${type} is judged by a rule: drop it from NOT_JUDGED`).toBe(false);
      expect(why.length, type).toBeGreaterThan(15);
    }
  });
});
