import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Classification } from "../src/auth/access";
import { ENV, loadRuntimeConfig, RuntimeConfigError, SECRET_ENV } from "../src/config";

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadRuntimeConfig(env);
  } catch (error) {
    if (error instanceof RuntimeConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected RuntimeConfigError");
}

describe("runtime env contract", () => {
  it("runs embedded with no variable at all", () => {
    const cfg = loadRuntimeConfig({});
    expect(cfg.PORT).toBe(8080);
    expect(cfg.HOST).toBeUndefined();
    expect(cfg.DATABASE_URL).toBeUndefined();
    expect(cfg.VECTOR_STORE).toBe("pgvector");
    expect(cfg.EMBEDDING_PROVIDER).toBe("local");
    expect(cfg.LLM_PROVIDER).toBe("extractive");
  });

  it("gives a stopping process 25 s to finish by default, configurable from 1 s to an hour", () => {
    expect(loadRuntimeConfig({}).SHUTDOWN_TIMEOUT_SECONDS).toBe(25);
    expect(loadRuntimeConfig({ SHUTDOWN_TIMEOUT_SECONDS: "110" }).SHUTDOWN_TIMEOUT_SECONDS).toBe(
      110,
    );
    expect(() => loadRuntimeConfig({ SHUTDOWN_TIMEOUT_SECONDS: "0" })).toThrow(
      /SHUTDOWN_TIMEOUT_SECONDS/,
    );
    expect(() => loadRuntimeConfig({ SHUTDOWN_TIMEOUT_SECONDS: "soon" })).toThrow(
      /SHUTDOWN_TIMEOUT_SECONDS/,
    );
  });

  it("takes a CloudWatch namespace for the worker's queue-depth metric, refusing one CloudWatch would", () => {
    expect(loadRuntimeConfig({}).CLOUDWATCH_METRICS_NAMESPACE).toBeUndefined();
    expect(
      loadRuntimeConfig({ CLOUDWATCH_METRICS_NAMESPACE: "RagPlatform" })
        .CLOUDWATCH_METRICS_NAMESPACE,
    ).toBe("RagPlatform");
    expect(() => loadRuntimeConfig({ CLOUDWATCH_METRICS_NAMESPACE: "AWS:Bad" })).toThrow(
      /CLOUDWATCH_METRICS_NAMESPACE.*no colon/,
    );
  });

  it("bounds the SSO idle timeout: off, or two minutes to a week", () => {
    expect(loadRuntimeConfig({}).SESSION_IDLE_SECONDS).toBe(3600);
    expect(loadRuntimeConfig({ SESSION_IDLE_SECONDS: "0" }).SESSION_IDLE_SECONDS).toBe(0);
    expect(problemsOf({ SESSION_IDLE_SECONDS: "30" })).toEqual([
      expect.stringMatching(/^SESSION_IDLE_SECONDS: .*must be 0 \(off\) or 120 to 604800/),
    ]);
  });

  it("takes retention by label for configured labels only", () => {
    expect([
      ...loadRuntimeConfig({ RETENTION_DAYS_BY_LABEL: "restricted=365,public=30" })
        .RETENTION_DAYS_BY_LABEL!,
    ]).toEqual([
      ["restricted", 365],
      ["public", 30],
    ]);
    expect(problemsOf({ RETENTION_DAYS_BY_LABEL: "secret=30,public=7" })).toEqual([
      'RETENTION_DAYS_BY_LABEL: "secret" not in CLASSIFICATION_LABELS (public, internal, confidential, restricted)',
    ]);
    expect([
      ...loadRuntimeConfig({
        CLASSIFICATION_LABELS: "open,secret",
        RETENTION_DAYS_BY_LABEL: "secret=30",
      }).RETENTION_DAYS_BY_LABEL!.keys(),
    ]).toEqual(["secret"]);
  });

  it("reads retention rules as name=days, naming a bad or repeated entry", () => {
    expect(loadRuntimeConfig({}).RETENTION_DAYS_BY_COLLECTION).toBeUndefined();
    expect([
      ...loadRuntimeConfig({ RETENTION_DAYS_BY_COLLECTION: "tickets=90, contracts = 3650" })
        .RETENTION_DAYS_BY_COLLECTION!,
    ]).toEqual([
      ["tickets", 90],
      ["contracts", 3650],
    ]);
    for (const [value, message] of [
      ["tickets", '"tickets" is not name=days'],
      ["tickets=0", '"tickets=0" is not name=days (days from 1 to 36500)'],
      ["tickets=ninety", '"tickets=ninety" is not name=days'],
      ["=90", '"=90" is not name=days'],
      ["tickets=90,tickets=30", '"tickets" is given twice'],
    ])
      expect(problemsOf({ RETENTION_DAYS_BY_COLLECTION: value })).toEqual([
        expect.stringContaining(`RETENTION_DAYS_BY_COLLECTION: got "${value}"; ${message}`),
      ]);
    expect(problemsOf({ PURGE_INTERVAL_MINUTES: "0" })).toEqual([
      expect.stringMatching(/^PURGE_INTERVAL_MINUTES: got "0"/),
    ]);
    expect(loadRuntimeConfig({ AUDIT_INCLUDE_QUESTION: "true" }).AUDIT_INCLUDE_QUESTION).toBe(true);
    expect(problemsOf({ AUDIT_INCLUDE_QUESTION: "yes" })).toEqual([
      expect.stringMatching(/^AUDIT_INCLUDE_QUESTION: got "yes"/),
    ]);
  });

  it("takes classification labels lowest first and a default among them, naming a bad one", () => {
    const defaults = loadRuntimeConfig({});
    expect(defaults.CLASSIFICATION_LABELS).toEqual([
      "public",
      "internal",
      "confidential",
      "restricted",
    ]);
    expect(Classification.of(defaults).defaultLabel).toBe("internal");
    const custom = loadRuntimeConfig({ CLASSIFICATION_LABELS: "open, secret ,top-secret" });
    expect(custom.CLASSIFICATION_LABELS).toEqual(["open", "secret", "top-secret"]);
    expect(Classification.of(custom).defaultLabel).toBe("open");
    expect(Classification.of(custom).visibleTo("secret")).toEqual(["open", "secret"]);
    expect(problemsOf({ CLASSIFICATION_LABELS: "public,Top Secret" })).toEqual([
      'CLASSIFICATION_LABELS: got "public,Top Secret"; not a label: Top Secret (lower-case words separated by commas, lowest first: public,internal,confidential,restricted)',
    ]);
    expect(problemsOf({ CLASSIFICATION_LABELS: "a,b,a" })).toEqual([
      'CLASSIFICATION_LABELS: got "a,b,a"; a label given twice: a',
    ]);
    expect(problemsOf({ CLASSIFICATION_DEFAULT: "secret" })).toEqual([
      'CLASSIFICATION_DEFAULT: got "secret"; must be one of CLASSIFICATION_LABELS (public, internal, confidential, restricted)',
    ]);
  });

  it("reads an empty variable as unset", () => {
    const cfg = loadRuntimeConfig({ ADMIN_API_KEY: "", PORT: "" });
    expect(cfg.ADMIN_API_KEY).toBeUndefined();
    expect(cfg.PORT).toBe(8080);
  });

  it("reads a secret from <NAME>_FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "env-"));
    const file = join(dir, "pgpassword");
    writeFileSync(file, "s3cret-value\n");
    expect(loadRuntimeConfig({ PGPASSWORD_FILE: file }).PGPASSWORD).toBe("s3cret-value");
  });

  it("refuses a secret given both ways, and an unreadable file", () => {
    expect(problemsOf({ PGPASSWORD: "a", PGPASSWORD_FILE: "/x" })).toEqual([
      "PGPASSWORD: given both as PGPASSWORD and PGPASSWORD_FILE; set only one",
    ]);
    expect(problemsOf({ REDIS_PASSWORD_FILE: "/nonexistent/file" })).toEqual([
      'REDIS_PASSWORD_FILE: cannot read "/nonexistent/file" (ENOENT)',
    ]);
  });

  it("names the variable and value of a bad setting, and never echoes a secret", () => {
    const [port] = problemsOf({ PORT: "http" });
    expect(port).toMatch(/^PORT: got "http"; /);
    const [timeout] = problemsOf({ LLM_TIMEOUT_SECONDS: "0" });
    expect(timeout).toMatch(/^LLM_TIMEOUT_SECONDS: got "0"; /);
    expect(loadRuntimeConfig({}).LLM_TIMEOUT_SECONDS).toBe(120);
    const [index] = problemsOf({ VECTOR_INDEX: "ivfflat" });
    expect(index).toMatch(/^VECTOR_INDEX: got "ivfflat"; .*hnsw.*exact/);
    const [adminKey] = problemsOf({ ADMIN_API_KEY: "short" });
    expect(adminKey).toMatch(/^ADMIN_API_KEY: got \[secret\]; /);
    expect(adminKey).not.toContain("short");
  });

  it("requires what a selected backend needs", () => {
    expect(problemsOf({ VECTOR_STORE: "qdrant" })).toEqual([
      "QDRANT_URL: required when VECTOR_STORE=qdrant",
    ]);
    expect(problemsOf({ SEARCH_BACKEND: "qdrant" })).toEqual([
      "QDRANT_URL: required when SEARCH_BACKEND=qdrant",
    ]);
    expect(
      problemsOf({
        SEARCH_BACKEND: "qdrant",
        QDRANT_URL: "http://qdrant:6333",
        QDRANT_REPLICATION_FACTOR: "2",
        QDRANT_WRITE_CONSISTENCY: "3",
      }),
    ).toEqual(["QDRANT_WRITE_CONSISTENCY: got 3; must be at most QDRANT_REPLICATION_FACTOR (2)"]);
    const [backend] = problemsOf({ SEARCH_BACKEND: "elastic" });
    expect(backend).toMatch(/^SEARCH_BACKEND: got "elastic"; .*postgres.*qdrant/);
    const [tenant] = problemsOf({ TENANT_ID: "a b" });
    expect(tenant).toMatch(/^TENANT_ID: got "a b"; 1 to 64 letters/);
    expect(loadRuntimeConfig({}).TENANT_ID).toBe("default");
    expect(problemsOf({ LLM_PROVIDER: "ollama" })).toEqual([
      "LLM_BASE_URL: required when LLM_PROVIDER=ollama",
    ]);
    expect(problemsOf({ CHUNK_SIZE_TOKENS: "100", CHUNK_OVERLAP_TOKENS: "100" })).toEqual([
      "CHUNK_OVERLAP_TOKENS: got 100; must be smaller than CHUNK_SIZE_TOKENS (100)",
    ]);
  });

  it("takes a region's replica store of OBJECT_STORE_URL's kind only, and KAFKA_FORWARD on the Kafka bus only", () => {
    const store = { OBJECT_STORE_URL: "s3://primary/documents?region=eu-west-1" };
    expect(
      loadRuntimeConfig({ ...store, OBJECT_STORE_REPLICA_URL: "s3://replica/documents" })
        .OBJECT_STORE_REPLICA_URL,
    ).toBe("s3://replica/documents");
    expect(problemsOf({ OBJECT_STORE_REPLICA_URL: "s3://replica/documents" })).toEqual([
      "OBJECT_STORE_REPLICA_URL: set without OBJECT_STORE_URL; a replica needs the store it copies",
    ]);
    expect(problemsOf({ ...store, OBJECT_STORE_REPLICA_URL: "gs://replica/documents" })).toEqual([
      'OBJECT_STORE_REPLICA_URL: got "gs://replica/documents"; must use OBJECT_STORE_URL\'s scheme (s3:)',
    ]);
    expect(problemsOf({ ...store, OBJECT_STORE_REPLICA_URL: store.OBJECT_STORE_URL })).toEqual([
      "OBJECT_STORE_REPLICA_URL: the same as OBJECT_STORE_URL; name this region's replica, or leave it unset",
    ]);
    expect(problemsOf({ KAFKA_FORWARD: "true" })).toEqual([
      "KAFKA_FORWARD: true without the Kafka bus; set INGEST_BUS=kafka and its brokers",
    ]);
  });

  it("takes the web UI and single sign-on settings, and refuses a public URL with a path", () => {
    const cfg = loadRuntimeConfig({
      PUBLIC_URL: "https://rag.example.com",
      SESSION_TTL_SECONDS: "3600",
      WEB_UI: "false",
    });
    expect(cfg).toMatchObject({
      PUBLIC_URL: "https://rag.example.com",
      SESSION_TTL_SECONDS: 3600,
      WEB_UI: false,
    });
    expect(loadRuntimeConfig({})).toMatchObject({ SESSION_TTL_SECONDS: 28_800, WEB_UI: true });
    expect(problemsOf({ PUBLIC_URL: "https://rag.example.com/app" })).toEqual([
      'PUBLIC_URL: got "https://rag.example.com/app"; must be an origin without a path (https://rag.example.com)',
    ]);
    expect(problemsOf({ SESSION_TTL_SECONDS: "60" })[0]).toMatch(
      /^SESSION_TTL_SECONDS: got "60"; /,
    );
    expect(problemsOf({ WEB_UI: "yes" })[0]).toMatch(/^WEB_UI: got "yes"; /);
    expect(loadRuntimeConfig({})).toMatchObject({
      SESSION_CHECK_SECONDS: 300,
      OIDC_SCOPES: "openid profile email offline_access",
    });
    expect(
      loadRuntimeConfig({ OIDC_SCOPES: " openid email ", SESSION_CHECK_SECONDS: "60" }),
    ).toMatchObject({ OIDC_SCOPES: "openid email", SESSION_CHECK_SECONDS: 60 });
    expect(problemsOf({ OIDC_SCOPES: "profile email" })).toEqual([
      'OIDC_SCOPES: got "profile email"; must include "openid" (space-separated scopes)',
    ]);
    expect(problemsOf({ SESSION_CHECK_SECONDS: "0" })[0]).toMatch(
      /^SESSION_CHECK_SECONDS: got "0"; /,
    );
  });

  it("reads TRUST_PROXY as a hop count or addresses and CIDRs, and names a bad entry", () => {
    expect(loadRuntimeConfig({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(loadRuntimeConfig({ TRUST_PROXY: "10.0.0.0/16, 192.168.1.1,::1" }).TRUST_PROXY).toEqual([
      "10.0.0.0/16",
      "192.168.1.1",
      "::1",
    ]);
    expect(loadRuntimeConfig({}).TRUST_PROXY).toBeUndefined();
    expect(problemsOf({ TRUST_PROXY: "10.0.0.0/33,proxy.local" })).toEqual([
      'TRUST_PROXY: got "10.0.0.0/33,proxy.local"; not an address or CIDR: 10.0.0.0/33, proxy.local (give a hop count, or addresses and CIDRs separated by commas)',
    ]);
    expect(loadRuntimeConfig({ RATE_LIMIT_PER_MINUTE: "0" }).RATE_LIMIT_PER_MINUTE).toBe(0);
    expect(problemsOf({ RATE_LIMIT_PER_MINUTE: "-1" })[0]).toMatch(
      /^RATE_LIMIT_PER_MINUTE: got "-1"; /,
    );
  });

  describe("DATABASE_AUTH=aws-rds-iam", () => {
    const iam = {
      DATABASE_AUTH: "aws-rds-iam",
      DATABASE_AWS_REGION: "eu-west-1",
      PGHOST: "db.cluster-abc.eu-west-1.rds.amazonaws.com",
      PGUSER: "rag_api",
    };

    it("takes a region, a host and a user, with verified TLS", () => {
      const cfg = loadRuntimeConfig({ ...iam, PGSSLMODE: "verify-full" });
      expect(cfg.DATABASE_AUTH).toBe("aws-rds-iam");
      expect(cfg.DATABASE_AWS_REGION).toBe("eu-west-1");
      expect(loadRuntimeConfig({}).DATABASE_AUTH).toBe("password");
      expect(
        loadRuntimeConfig({
          DATABASE_AUTH: "aws-rds-iam",
          DATABASE_AWS_REGION: "eu-west-1",
          DATABASE_URL: "postgres://rag_api@db.internal:5432/rag",
        }).DATABASE_URL,
      ).toBe("postgres://rag_api@db.internal:5432/rag");
    });

    it("refuses an unknown mode, naming the allowed ones", () => {
      expect(problemsOf({ DATABASE_AUTH: "iam" })).toEqual([
        'DATABASE_AUTH: got "iam"; Invalid option: expected one of "password"|"aws-rds-iam"',
      ]);
    });

    it("needs the region, the user and the server the token is signed for", () => {
      expect(problemsOf({ DATABASE_AUTH: "aws-rds-iam" })).toEqual([
        "DATABASE_AWS_REGION: required when DATABASE_AUTH=aws-rds-iam (the database's region)",
        "PGHOST: required when DATABASE_AUTH=aws-rds-iam (the server the token is signed for)",
        "PGUSER: required when DATABASE_AUTH=aws-rds-iam (the database user the token is signed for)",
      ]);
      expect(problemsOf({ ...iam, DATABASE_AWS_REGION: "Ireland" })[0]).toMatch(
        /^DATABASE_AWS_REGION: got "Ireland"; an AWS region/,
      );
    });

    it("refuses a password given any other way: in the URL, PGPASSWORD, its file, or the secret", () => {
      const file = join(mkdtempSync(join(tmpdir(), "rag-iam-")), "PGPASSWORD");
      writeFileSync(file, "master\n");
      expect(
        problemsOf({
          DATABASE_AUTH: "aws-rds-iam",
          DATABASE_AWS_REGION: "eu-west-1",
          DATABASE_URL: "postgres://rag_api:hunter2@db.internal/rag?sslmode=require",
        }),
      ).toEqual([
        "DATABASE_URL: holds a password with DATABASE_AUTH=aws-rds-iam; the IAM token is the password, remove it from the URL",
        "DATABASE_URL: has parameters (?sslmode=require) with DATABASE_AUTH=aws-rds-iam; give TLS as PGSSLMODE and PGSSLROOTCERT",
      ]);
      expect(problemsOf({ ...iam, PGPASSWORD_FILE: file })).toEqual([
        "PGPASSWORD (or PGPASSWORD_FILE): set with DATABASE_AUTH=aws-rds-iam; the IAM token is the password, remove it",
      ]);
      expect(
        problemsOf({
          ...iam,
          PGPASSWORD_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-db-x",
        }),
      ).toEqual([
        "PGPASSWORD_SECRET_ARN: set with DATABASE_AUTH=aws-rds-iam; the IAM token is the password, remove it",
      ]);
    });

    it("refuses TLS that does not check the server's certificate", () => {
      for (const mode of ["disable", "prefer", "require"])
        expect(problemsOf({ ...iam, PGSSLMODE: mode })).toEqual([
          `PGSSLMODE: got "${mode}" with DATABASE_AUTH=aws-rds-iam; must be verify-full or verify-ca (the token travels only to a server whose certificate is checked)`,
        ]);
      expect(loadRuntimeConfig({ ...iam, PGSSLMODE: "verify-ca" }).PGSSLMODE).toBe("verify-ca");
    });

    it("refuses DATABASE_AWS_REGION with password auth (it would be ignored)", () => {
      expect(problemsOf({ PGHOST: "db.internal", DATABASE_AWS_REGION: "eu-west-1" })).toEqual([
        "DATABASE_AWS_REGION: set with DATABASE_AUTH=password; set DATABASE_AUTH=aws-rds-iam, or leave it unset",
      ]);
    });
  });

  it("declares every secret variable among the contract's names", () => {
    const names = Object.values(ENV) as string[];
    for (const secret of SECRET_ENV) expect(names).toContain(secret);
  });
});
