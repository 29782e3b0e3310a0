import { describe, expect, it } from "vitest";
import { resolveConfig, type PlatformConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { parseConfigValue, readStackValues } from "../stacks/stack-values";
import { loadStackConfig } from "../tools/stack-file";
import { PROJECT_DIR } from "../tools/harness";
import { ENTERPRISE_DOMAIN, ENTERPRISE_REQUIRED } from "./helpers";

function stackValues(stack: string, sets: string[] = []): Record<string, unknown> {
  return readStackValues(loadStackConfig(PROJECT_DIR, stack, sets).config);
}

function problems(values: Record<string, unknown>): string[] {
  try {
    resolveConfig(values);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/** The enterprise tier on AWS answers under a name in a Route 53 zone (required there). */

describe("stack files resolve against the schema", () => {
  it.each(["dev", "staging", "sme", "enterprise"])("Pulumi.%s.yaml is valid", (stack) => {
    const cfg = resolveConfig(stackValues(stack));
    expect(cfg.tier).toBe(stack);
  });

  it("dev defaults to docker with the light models of TIERS.md", () => {
    const cfg = resolveConfig(stackValues("dev"));
    expect(cfg.cloud).toBe("docker");
    expect(cfg.llm.model).toBe("llama3.2:1b");
    expect(cfg.llm.embeddingModel).toBe("nomic-embed-text:v1.5");
    expect(cfg.regions).toEqual([]);
  });

  it("staging, sme and enterprise default to aws; enterprise names two regions", () => {
    const byTier = Object.fromEntries(
      ["staging", "sme", "enterprise"].map((t) => [t, resolveConfig(stackValues(t))]),
    ) as Record<string, PlatformConfig>;
    expect(byTier.staging!.cloud).toBe("aws");
    expect(byTier.sme!.cloud).toBe("aws");
    expect(byTier.enterprise!.cloud).toBe("aws");
    expect(byTier.enterprise!.regions.length).toBeGreaterThanOrEqual(2);
  });

  it("takes tier presets for keys the stack file leaves out, and the stack file wins", () => {
    const sme = resolveConfig({ tier: "sme", regions: ["eu-west-1"] });
    expect(sme.postgres.highAvailability).toBe(true);
    expect(sme.postgres.size).toBe("db.r6g.large");
    expect(sme.network.zoneCount).toBe(3);
    const overridden = resolveConfig({
      tier: "sme",
      regions: ["eu-west-1"],
      postgres: { highAvailability: false },
    });
    expect(overridden.postgres.highAvailability).toBe(false);
    expect(overridden.postgres.deletionProtection).toBe(true);
  });

  it("picks cloud-native size names for the chosen cloud", () => {
    const azure = resolveConfig({ tier: "staging", cloud: "azure", regions: ["westeurope"] });
    expect(azure.postgres.size).toBe("Standard_B2s");
  });

  it("applies --set overrides with nested paths", () => {
    const cfg = resolveConfig(
      stackValues("dev", ["rag-platform:llm.model=llama3.1:8b", "rag-platform:dev.gpu=true"]),
    );
    expect(cfg.llm.model).toBe("llama3.1:8b");
    expect(cfg.dev.gpu).toBe(true);
  });
});

describe("bad config: one line per problem naming key, value and what is allowed", () => {
  it("an unknown tier", () => {
    expect(problems({ tier: "gold" })).toEqual([
      'rag-platform:tier: got "gold"; allowed: dev, staging, sme, enterprise',
    ]);
  });

  it("a missing tier", () => {
    expect(problems({})).toEqual([
      "rag-platform:tier: got nothing; allowed: dev, staging, sme, enterprise",
    ]);
  });

  it("an unsupported tier x cloud pair", () => {
    expect(problems({ tier: "dev", cloud: "gcp" })).toEqual([
      'rag-platform:cloud: got "gcp"; the dev tier runs on docker (allowed: docker)',
    ]);
    expect(problems({ tier: "sme", cloud: "docker" })).toEqual([
      'rag-platform:cloud: got "docker"; the sme tier runs on aws, azure, gcp (allowed: aws, azure, gcp)',
    ]);
  });

  it("an unknown cloud", () => {
    expect(problems({ tier: "staging", cloud: "oracle", regions: ["eu-west-1"] })).toEqual([
      'rag-platform:cloud: got "oracle"; allowed: docker, aws, azure, gcp',
    ]);
  });

  it("an unknown key, with the keys that exist there", () => {
    const [line] = problems({ tier: "dev", llm: { modle: "x" } });
    expect(line).toMatch(/^rag-platform:llm\.modle: unknown key; known keys here: .*\bmodel\b/);
  });

  it("a bad enum value nested in an object", () => {
    expect(problems({ tier: "staging", regions: ["eu-west-1"], llm: { gpuType: "h100" } })).toEqual(
      ['rag-platform:llm.gpuType: got "h100"; allowed: t4, a10g, l4, a100'],
    );
  });

  it("a wrong type", () => {
    expect(problems({ tier: "dev", api: { replicas: "two" } })).toEqual([
      'rag-platform:api.replicas: got "two"; expected number',
    ]);
  });

  it("a malformed CIDR", () => {
    expect(
      problems({ tier: "staging", regions: ["eu-west-1"], network: { cidr: "10.0.0.300/16" } }),
    ).toEqual([
      'rag-platform:network.cidr: got "10.0.0.300/16"; must be an IPv4 CIDR such as 10.40.0.0/16',
    ]);
  });

  it("region rules: format per cloud and count per tier", () => {
    expect(problems({ tier: "staging", regions: ["westeurope"] })).toEqual([
      'rag-platform:regions[0]: got "westeurope"; must be a region name on aws, such as eu-west-1',
    ]);
    expect(
      problems({ tier: "enterprise", regions: ["eu-west-1"], ...ENTERPRISE_REQUIRED }),
    ).toEqual([
      'rag-platform:regions: got ["eu-west-1"]; the enterprise tier needs at least 2 regions, e.g. [eu-west-1]',
    ]);
  });

  it("replica bounds", () => {
    expect(problems({ tier: "sme", regions: ["eu-west-1"], api: { replicas: 20 } })).toEqual([
      "rag-platform:api.replicas: got 20; must lie between api.minReplicas (3) and api.maxReplicas (10)",
    ]);
  });

  it("qdrant-cloud needs its URL; managed LLMs need a provider", () => {
    expect(
      problems({ tier: "staging", regions: ["eu-west-1"], vectorDb: { mode: "qdrant-cloud" } }),
    ).toEqual([
      "rag-platform:vectorDb.qdrantCloudUrl: got nothing; required when vectorDb.mode is qdrant-cloud (the cluster URL from the Qdrant Cloud console)",
    ]);
    expect(problems({ tier: "staging", regions: ["eu-west-1"], llm: { mode: "managed" } })).toEqual(
      [
        "rag-platform:llm.managedProvider: got nothing; required when llm.mode is managed (allowed: openai, anthropic, azure-openai, openai-compatible)",
      ],
    );
  });

  it("a telemetry vendor's site, region or auth header: a valid one, and only beside that exporter", () => {
    const sme = { tier: "sme", regions: ["eu-west-1"] };
    expect(
      problems({ ...sme, observability: { exporter: "datadog", datadogSite: "datadoghq.de" } }),
    ).toEqual([
      'rag-platform:observability.datadogSite: got "datadoghq.de"; allowed: datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, ddog-gov.com',
    ]);
    expect(
      problems({ ...sme, observability: { exporter: "datadog", newRelicRegion: "eu" } }),
    ).toEqual([
      'rag-platform:observability.newRelicRegion: got "eu"; only used with observability.exporter newrelic (the exporter is datadog)',
    ]);
    expect(
      resolveConfig({ ...sme, observability: { exporter: "newrelic", newRelicRegion: "eu" } })
        .observability.newRelicRegion,
    ).toBe("eu");
    expect(
      problems({
        ...sme,
        observability: {
          exporter: "otlp",
          otlpEndpoint: "https://otlp.example.com",
          otlpAuthHeader: "x api key",
        },
      }),
    ).toEqual([
      'rag-platform:observability.otlpAuthHeader: got "x api key"; must be an HTTP header name such as authorization or x-honeycomb-team',
    ]);
    expect(
      problems({ ...sme, observability: { exporter: "datadog", otlpAuthHeader: "authorization" } }),
    ).toEqual([
      'rag-platform:observability.otlpAuthHeader: got "authorization"; only used with observability.exporter otlp (the exporter is datadog)',
    ]);
  });

  it("the mesh, releases and in-cluster stack need a cluster; the audit AWS; tickets an SMTP server", () => {
    expect(
      problems({
        tier: "staging",
        regions: ["eu-west-1"],
        security: { mesh: "istio-ambient", releases: "rollouts" },
      }),
    ).toEqual([
      'rag-platform:security.mesh: got "istio-ambient"; needs a Kubernetes tier (sme, enterprise); staging runs none',
      'rag-platform:security.releases: got "rollouts"; needs a Kubernetes tier (sme, enterprise); staging runs none',
      'rag-platform:security.releases: got "rollouts"; rollouts measure their canaries on the region\'s Prometheus: needs observability.stack in-cluster',
    ]);
    expect(
      problems({
        tier: "enterprise",
        ...ENTERPRISE_REQUIRED,
        observability: { exporter: "datadog", alertEmails: ["ops@example.com"] },
        security: {
          audit: { siem: { kind: "splunk", endpoint: "https://splunk:8088", name: "x" } },
        },
      }),
    ).toEqual([
      'rag-platform:security.audit.siem.name: got "x"; only used with kind http',
      "rag-platform:observability.smtp: got nothing; required to e-mail tickets to alertEmails with observability.stack in-cluster",
    ]);
    expect(
      problems({
        tier: "enterprise",
        ...ENTERPRISE_REQUIRED,
        security: { audit: { siem: { kind: "http", endpoint: "http://x" } } },
      }),
    ).toEqual([
      'rag-platform:security.audit.siem.endpoint: got "http://x"; must be an https:// URL',
    ]);
    expect(
      problems({
        tier: "enterprise",
        ...ENTERPRISE_REQUIRED,
        security: {
          audit: {
            siem: { kind: "splunk", endpoint: "https://splunk.example.com", authHeader: "x-key" },
          },
        },
      }),
    ).toEqual([
      'rag-platform:security.audit.siem.authHeader: got "x-key"; only used with kind otlp',
    ]);
    // The enterprise audit (CloudTrail, EKS audit, findings) reaches an OTLP SIEM too.
    expect(
      resolveConfig({
        tier: "enterprise",
        ...ENTERPRISE_REQUIRED,
        security: { audit: { siem: { kind: "otlp", endpoint: "https://otlp.example.com" } } },
      }).security.audit,
    ).toMatchObject({ enabled: true, siem: { kind: "otlp" } });
    expect(
      problems({
        tier: "enterprise",
        ...ENTERPRISE_REQUIRED,
        observability: { stack: "none" },
        security: {
          releases: "deployments",
          audit: { siem: { kind: "otlp", endpoint: "https://otlp.example.com" } },
        },
      }),
    ).toEqual([
      'rag-platform:security.audit.siem.kind: got "otlp"; otlp is reached from the cluster (the log agent and the SIEM forwarder of the in-cluster stack): needs observability.stack in-cluster',
    ]);
  });

  it("enterprise turns on the mesh, Rollouts, the in-cluster stack and a seven-year audit on AWS", () => {
    const cfg = resolveConfig({ tier: "enterprise", ...ENTERPRISE_REQUIRED });
    expect(cfg.security).toEqual({
      mesh: "istio-ambient",
      releases: "rollouts",
      audit: { enabled: true, retentionDays: 2555 },
    });
    expect(cfg.observability.stack).toBe("in-cluster");
    expect(resolveConfig({ tier: "sme", regions: ["eu-west-1"] }).security.mesh).toBe("none");
  });

  it("enterprise syncs its manifests with Argo CD: the repository is required, unless GitOps is turned off", () => {
    expect(problems({ tier: "enterprise", domain: ENTERPRISE_DOMAIN })).toEqual([
      "rag-platform:gitops.repoUrl: got nothing; required at the enterprise tier, which syncs each region's manifests with Argo CD (or set gitops.enabled: false)",
    ]);
    expect(resolveConfig({ tier: "enterprise", ...ENTERPRISE_REQUIRED }).gitops).toEqual({
      enabled: true,
      repoUrl: "https://github.com/example-org/rag-platform-environments",
      path: "deploy",
      targetRevision: "main",
    });
    const off = resolveConfig({
      tier: "enterprise",
      domain: ENTERPRISE_DOMAIN,
      gitops: { enabled: false },
    });
    expect(off.gitops.enabled).toBe(false);
    // sme keeps it optional.
    expect(resolveConfig({ tier: "sme", regions: ["eu-west-1"] }).gitops.enabled).toBe(false);
  });

  it("SSO scopes must include openid", () => {
    expect(
      problems({
        tier: "sme",
        regions: ["eu-west-1"],
        auth: {
          oidcIssuerUrl: "https://idp.example.com",
          oidcClientId: "c",
          oidcScopes: "profile email",
        },
      }),
    ).toEqual([
      'rag-platform:auth.oidcScopes: got "profile email"; must include "openid" (space-separated scopes)',
    ]);
    expect(
      resolveConfig({
        tier: "sme",
        regions: ["eu-west-1"],
        auth: {
          oidcIssuerUrl: "https://idp.example.com",
          oidcClientId: "c",
          oidcScopes: "openid email",
        },
      }).auth.oidcScopes,
    ).toBe("openid email");
  });

  it("existing subnets without an existing VPC", () => {
    expect(
      problems({
        tier: "staging",
        regions: ["eu-west-1"],
        network: { existingPrivateSubnetIds: ["subnet-1"] },
      }),
    ).toEqual([
      'rag-platform:network.existingPrivateSubnetIds: got ["subnet-1"]; only used together with network.existingNetworkId',
    ]);
  });

  it("refuses two dev services on one host port, counting only the containers that run", () => {
    expect(problems({ tier: "dev", dev: { hostPorts: { grafana: 8080 } } })).toEqual([
      "rag-platform:dev.hostPorts.grafana: got 8080; must differ from dev.hostPorts.api (both would bind 127.0.0.1:8080)",
    ]);
    // Without the tools, and without Qdrant, their ports bind nothing.
    expect(
      resolveConfig({ tier: "dev", dev: { tools: false, hostPorts: { grafana: 8080 } } }).dev
        .hostPorts.grafana,
    ).toBe(8080);
    expect(
      resolveConfig({
        tier: "dev",
        vectorDb: { mode: "pgvector" },
        dev: { hostPorts: { qdrant: 5432 } },
      }).dev.hostPorts.qdrant,
    ).toBe(5432);
  });

  it("takes dev.tools as a boolean, on by default", () => {
    expect(resolveConfig({ tier: "dev" }).dev.tools).toBe(true);
    expect(problems({ tier: "dev", dev: { tools: "yes" } })).toEqual([
      'rag-platform:dev.tools: got "yes"; expected boolean',
    ]);
  });

  it("reports every problem at once, one line each", () => {
    const lines = problems({
      tier: "dev",
      api: { cpuMillicores: 10 },
      dev: { hostPorts: { api: 70000 } },
    });
    expect(lines).toEqual([
      "rag-platform:api.cpuMillicores: got 10; must be at least 100",
      "rag-platform:dev.hostPorts.api: got 70000; must be at most 65535",
    ]);
  });

  it("the error message is the lines under one heading", () => {
    try {
      resolveConfig({ tier: "gold" });
    } catch (error) {
      expect((error as Error).message).toBe(
        'invalid rag-platform configuration:\n  rag-platform:tier: got "gold"; allowed: dev, staging, sme, enterprise',
      );
    }
    expect.assertions(1);
  });
});

describe("config values as Pulumi passes them", () => {
  it("parses objects and lists from JSON and leaves scalars as strings", () => {
    expect(parseConfigValue('{"a":1}')).toEqual({ a: 1 });
    expect(parseConfigValue('["x"]')).toEqual(["x"]);
    expect(parseConfigValue("dev")).toBe("dev");
    expect(parseConfigValue("8080")).toBe("8080");
  });

  it("reads only the rag-platform namespace", () => {
    expect(readStackValues({ "aws:region": "eu-west-1", "rag-platform:tier": "dev" })).toEqual({
      tier: "dev",
    });
  });
});

describe("renamed keys keep working, with a warning", () => {
  const resolve = (values: Record<string, unknown>) => {
    const warnings: string[] = [];
    return { cfg: resolveConfig(values, (w) => warnings.push(w)), warnings };
  };

  it("reads each old name as its new one, one warning line per old name used", () => {
    const old = resolve({
      tier: "sme",
      network: { vpcCidr: "10.70.0.0/16", azCount: 2, natGateways: "per-az" },
      postgres: { instanceClass: "db.r6g.xlarge", multiAz: false },
      redis: { nodeType: "cache.r6g.xlarge", multiAz: false, replicas: 0 },
      kubernetes: { adminPrincipalArns: ["arn:aws:iam::123456789012:role/admins"] },
    });
    const current = resolve({
      tier: "sme",
      network: { cidr: "10.70.0.0/16", zoneCount: 2, natGateways: "per-zone" },
      postgres: { size: "db.r6g.xlarge", highAvailability: false },
      redis: { size: "cache.r6g.xlarge", highAvailability: false, replicas: 0 },
      kubernetes: { adminPrincipals: ["arn:aws:iam::123456789012:role/admins"] },
    });
    expect(old.cfg).toEqual(current.cfg);
    expect(current.warnings).toEqual([]);
    expect(old.warnings).toEqual([
      "rag-platform:network.vpcCidr is deprecated: it is now rag-platform:network.cidr (same meaning)",
      "rag-platform:network.azCount is deprecated: it is now rag-platform:network.zoneCount (same meaning)",
      "rag-platform:postgres.instanceClass is deprecated: it is now rag-platform:postgres.size (same meaning)",
      "rag-platform:postgres.multiAz is deprecated: it is now rag-platform:postgres.highAvailability (same meaning)",
      "rag-platform:redis.nodeType is deprecated: it is now rag-platform:redis.size (same meaning)",
      "rag-platform:redis.multiAz is deprecated: it is now rag-platform:redis.highAvailability (same meaning)",
      "rag-platform:kubernetes.adminPrincipalArns is deprecated: it is now rag-platform:kubernetes.adminPrincipals (same meaning)",
      'rag-platform:network.natGateways "per-az" is deprecated: it is now "per-zone" (same meaning)',
    ]);
  });

  it("refuses a key set under both names", () => {
    expect(
      problems({ tier: "staging", postgres: { multiAz: true, highAvailability: false } }),
    ).toEqual([
      "rag-platform:postgres.multiAz: renamed rag-platform:postgres.highAvailability, which is set too; keep rag-platform:postgres.highAvailability only",
    ]);
  });

  it("checks admin principals in the cloud's own form", () => {
    expect(
      problems({ tier: "sme", kubernetes: { adminPrincipals: ["alice@example.com"] } }),
    ).toEqual([
      'rag-platform:kubernetes.adminPrincipals[0]: got "alice@example.com"; must be an IAM role or user ARN on aws',
    ]);
    expect(
      problems({
        tier: "sme",
        cloud: "gcp",
        gcpProject: "rag-project-1",
        kubernetes: { adminPrincipals: ["user:alice@example.com", "alice"] },
      }),
    ).toEqual([
      'rag-platform:kubernetes.adminPrincipals[1]: got "alice"; must be an IAM member on gcp (user:<email>, group:<email>, serviceAccount:<email> or domain:<domain>)',
    ]);
    expect(
      problems({
        tier: "sme",
        cloud: "azure",
        kubernetes: {
          adminPrincipals: [
            "group:0f1e2d3c-aaaa-bbbb-cccc-111122223333",
            "admins",
            "0f1e2d3c-aaaa-bbbb-cccc-111122223333",
          ],
        },
      }),
    ).toEqual([
      'rag-platform:kubernetes.adminPrincipals[1]: got "admins"; must be a Microsoft Entra principal on azure (user:<object id>, group:<object id> or servicePrincipal:<object id>)',
      'rag-platform:kubernetes.adminPrincipals[2]: got "0f1e2d3c-aaaa-bbbb-cccc-111122223333"; must be a Microsoft Entra principal on azure (user:<object id>, group:<object id> or servicePrincipal:<object id>)',
    ]);
  });
});
