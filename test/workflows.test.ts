/**
 * The GitHub workflows cannot run here, so their contract is checked as data: they call only
 * scripts and stacks that exist, preview and deploy with the policy pack, reach AWS through
 * OIDC rather than stored keys, and pin what they pull.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { IMAGES, RUNTIME_BASE_IMAGE } from "../stacks/versions";
import { PROJECT_DIR } from "../tools/harness";

interface Step {
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  if?: string;
  "runs-on": string;
  "timeout-minutes"?: number;
  environment?: string;
  permissions?: Record<string, string>;
  services?: Record<string, { image: string }>;
  strategy?: { matrix?: { stack?: string[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const DIR = join(PROJECT_DIR, ".github", "workflows");
const workflows = Object.fromEntries(
  readdirSync(DIR).map((f) => [f, parse(readFileSync(join(DIR, f), "utf8")) as Workflow]),
);
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);
const scripts = Object.keys(
  (
    JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts,
);
const pulumiSteps = (w: Workflow) => steps(w).filter((s) => s.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows", () => {
  it("are the three the README describes", () => {
    expect(Object.keys(workflows).sort()).toEqual(["ci.yml", "deploy-staging.yml", "preview.yml"]);
  });

  it.each(Object.keys(workflows))(
    "%s: pins every action to a release and every service image to a version",
    (file) => {
      const w = workflows[file]!;
      for (const s of steps(w).filter((x) => x.uses))
        expect(s.uses, file).toMatch(/^[\w.-]+\/[\w./-]+@v\d+$/);
      for (const job of Object.values(w.jobs)) {
        // An image taken from the matrix is checked in every matrix entry.
        const include =
          (job.strategy?.matrix as { include?: Record<string, string>[] } | undefined)?.include ??
          [];
        const images = Object.values(job.services ?? {}).flatMap((service) => {
          const fromMatrix = service.image.match(/^\$\{\{ matrix\.(\w+) \}\}$/);
          return fromMatrix ? include.map((entry) => entry[fromMatrix[1]!]!) : [service.image];
        });
        for (const image of images) expect(image, file).toMatch(/:\d+\.\d+(\.\d+)?-[\w.]+$/);
        expect(job["timeout-minutes"], `${file}: every job has a timeout`).toBeGreaterThan(0);
      }
    },
  );

  it.each(Object.keys(workflows))("%s: runs only npm scripts and stacks that exist", (file) => {
    const w = workflows[file]!;
    for (const s of steps(w).filter((x) => x.run)) {
      for (const m of s.run!.matchAll(/npm run (?:--[\w-]+ )*([\w:-]+)/g))
        expect(scripts, `${file}: ${s.run}`).toContain(m[1]);
      for (const m of s.run!.matchAll(/bash (\S+)/g))
        expect(existsSync(join(PROJECT_DIR, m[1]!)), m[1]).toBe(true);
    }
    for (const job of Object.values(w.jobs)) {
      for (const stack of job.strategy?.matrix?.stack ?? [])
        expect(existsSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`)), stack).toBe(true);
    }
  });

  it.each(Object.keys(workflows))(
    "%s: holds no credential and never uses long-lived AWS keys",
    (file) => {
      const text = readFileSync(join(DIR, file), "utf8");
      expect(text).not.toMatch(
        /AKIA[0-9A-Z]{16}|aws-access-key-id|aws-secret-access-key|pul-[0-9a-f]{40}/,
      );
      for (const s of steps(workflows[file]!)) {
        for (const [key, value] of Object.entries({ ...s.env, ...s.with })) {
          if (/token|secret|password|key/i.test(key) && !/^role-to-assume$/.test(key))
            expect(String(value), `${file}: ${key}`).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
        }
      }
    },
  );

  it("CI runs .ci/run against a real PostgreSQL and Redis, and sends every tier's policy SARIF to code scanning", () => {
    const ci = workflows["ci.yml"]!;
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    const test = ci.jobs.test!;
    expect(test.steps.map((s) => s.run)).toContain("bash .ci/run");
    const imageNode = RUNTIME_BASE_IMAGE.match(/^node:(\d+)\./)![1];
    const include =
      (
        test.strategy?.matrix as
          { include?: { node: string; postgres: string; pgvector: string }[] } | undefined
      )?.include ?? [];
    expect(
      include.map((m) => m.node),
      "tests run on the runtime image's Node.js too",
    ).toEqual(["20", imageNode]);
    expect(
      include.find((m) => m.pgvector === "true")?.postgres,
      "the server-mode suite runs on the dev tier's pgvector image",
    ).toBe(IMAGES.postgres);
    expect(
      include.find((m) => m.pgvector === "false")?.postgres,
      "and on a PostgreSQL without pgvector",
    ).toMatch(/^postgres:16\.\d+/);
    expect(test.services!.postgres!.image).toBe("${{ matrix.postgres }}");
    expect(Object.keys(test.services ?? {})).toEqual(["postgres", "redis"]);
    expect(test.steps.find((s) => s.run === "bash .ci/run")?.env?.TEST_PG_EXPECT_PGVECTOR).toBe(
      "${{ matrix.pgvector }}",
    );
    expect(test.services!.redis!.image, "the Redis the platform deploys").toBe(IMAGES.redis);
    const policies = ci.jobs.policies!;
    expect(policies.strategy?.matrix?.stack).toEqual([
      "dev",
      "staging",
      "staging-azure",
      "staging-gcp",
      "sme",
      "sme-azure",
      "sme-gcp",
    ]);
    expect(policies.permissions).toMatchObject({ "security-events": "write" });
    expect(
      policies.steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"))?.with
        ?.sarif_file,
    ).toBe("out/${{ matrix.stack }}/policy-report.sarif");
  });

  it("CI needs nothing a pull request from a fork does not get (variables, secrets) and takes the shared data from a value in the file", () => {
    const text = readFileSync(join(DIR, "ci.yml"), "utf8");
    expect(text).not.toMatch(/\$\{\{[^}]*\b(vars|secrets)\./);
    const ci = workflows["ci.yml"]! as Workflow & { env?: Record<string, string> };
    expect(ci.env?.SHARED_DATA_REPOSITORY).toMatch(/\S+\/\S+/);
    const test = ci.jobs.test!.steps;
    const checkout = test.findIndex((s) => s.with?.path === "shared");
    expect(test[checkout]?.with?.repository).toBe("${{ env.SHARED_DATA_REPOSITORY }}");
    // Missing data is named at once, before the suite fails on it.
    expect(test[checkout + 1]?.run).toContain("data/aragog/dev.json");
  });

  it("a pull request shows what it changes in every tier, offline, against its base", () => {
    const step = workflows["ci.yml"]!.jobs.policies!.steps.find((s) =>
      s.run?.includes("synth -- --diff"),
    );
    expect(step?.if).toBe("github.event_name == 'pull_request'");
    expect(step!.run).toContain('git fetch --no-tags --depth=1 origin "${{ github.base_ref }}"');
    expect(step!.run).toContain("npm run synth -- --stack ${{ matrix.stack }} --out out");
    expect(step!.run).toMatch(
      /synth -- --diff \.\.\/base\/out\/\$\{\{ matrix\.stack \}\} out\/\$\{\{ matrix\.stack \}\} --markdown >> "\$GITHUB_STEP_SUMMARY"/,
    );
  });

  it("CI runs the browser tests, with a browser the runner has", () => {
    const run = readFileSync(join(PROJECT_DIR, ".ci", "run"), "utf8");
    expect(run).toMatch(/^\s*npm run test:browser$/m);
    expect(scripts).toContain("test:browser");
    const step = workflows["ci.yml"]!.jobs.test!.steps.find((s) => s.run === "bash .ci/run")!;
    expect(step.env?.CHROMIUM_PATH).toBe("/usr/bin/google-chrome");
  });

  it("pull requests preview the cloud stacks with the policy pack and comment the diff", () => {
    const preview = workflows["preview.yml"]!;
    expect(Object.keys(preview.on)).toEqual(["pull_request"]);
    expect(preview.permissions).toEqual({
      contents: "read",
      "id-token": "write",
      "pull-requests": "write",
    });
    const [step] = pulumiSteps(preview);
    expect(step?.with).toMatchObject({
      command: "preview",
      policyPacks: "policies",
      "comment-on-pr": true,
    });
    expect(existsSync(join(PROJECT_DIR, "policies", "PulumiPolicy.yaml"))).toBe(true);
    expect(preview.jobs.preview!.strategy?.matrix?.stack).toEqual(["staging", "sme"]);
    // Not for pull requests from forks, which get no OIDC token, variables or secrets.
    expect(preview.jobs.preview!.if).toBe(
      "github.event.pull_request.head.repo.full_name == github.repository",
    );
  });

  it("previews sme only on the runner configured to reach its private Kubernetes API, and says so when there is none", () => {
    const job = workflows["preview.yml"]!.jobs.preview!;
    expect(job["runs-on"]).toBe(
      "${{ matrix.stack == 'sme' && vars.SME_PREVIEW_RUNNER || 'ubuntu-24.04' }}",
    );
    const [check, ...rest] = job.steps;
    expect(check).toMatchObject({
      id: "reach",
      if: "matrix.stack == 'sme' && vars.SME_PREVIEW_RUNNER == ''",
    });
    expect(check?.run).toContain("::warning title=sme preview skipped::");
    expect(check?.run).toContain('echo "skip=true" >> "$GITHUB_OUTPUT"');
    // Every later step, the preview itself included, is skipped with it.
    expect(rest.length).toBeGreaterThan(0);
    for (const step of rest)
      expect(step.if, step.uses ?? step.run).toBe("steps.reach.outputs.skip != 'true'");
  });

  it("merges to main deploy staging through a protected environment, one update at a time, after the offline gate", () => {
    const deploy = workflows["deploy-staging.yml"]!;
    // Only a commit CI passed: the run that ci finished on a push to main, checked out by its sha.
    expect(deploy.on).toHaveProperty("workflow_run", {
      workflows: ["ci"],
      types: ["completed"],
      branches: ["main"],
    });
    expect(parse(readFileSync(join(DIR, "ci.yml"), "utf8")).name).toBe("ci");
    expect(deploy.jobs.deploy!.if).toBe(
      "github.event_name == 'workflow_dispatch' || (github.event.workflow_run.conclusion == 'success' && github.event.workflow_run.event == 'push')",
    );
    expect(deploy.jobs.deploy!.steps[0]).toMatchObject({
      uses: "actions/checkout@v4",
      with: { ref: "${{ github.event.workflow_run.head_sha || github.sha }}" },
    });
    expect(deploy.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
    const job = deploy.jobs.deploy!;
    expect(job.environment).toBe("staging");
    const runs = job.steps.map((s) => s.run ?? s.uses);
    const gate = runs.indexOf("npm run synth -- --stack staging --out out");
    const credentials = runs.findIndex((r) =>
      r?.startsWith("aws-actions/configure-aws-credentials@"),
    );
    expect(gate).toBeGreaterThan(-1);
    expect(gate).toBeLessThan(credentials);
    expect(pulumiSteps(deploy)[0]?.with).toMatchObject({
      command: "up",
      "stack-name": "${{ vars.PULUMI_ORG }}/staging",
      policyPacks: "policies",
    });
    // The update's message names the commit deployed, the one checked out.
    expect(pulumiSteps(deploy)[0]?.with?.message).toBe(
      `deploy ${String(deploy.jobs.deploy!.steps[0]!.with!.ref)}`,
    );
    // Then waits for ECS to run what the update gave it (a rollback by ECS fails the deploy).
    const verify = runs.findIndex((r) => r?.includes("tools/verify-rollout.sh"));
    expect(verify).toBeGreaterThan(runs.findIndex((r) => r?.startsWith("pulumi/actions@")));
    expect(runs[verify]).toBe(
      'pulumi stack output rollout --json --stack "${{ vars.PULUMI_ORG }}/staging" | tools/verify-rollout.sh',
    );
    expect(existsSync(join(PROJECT_DIR, "tools", "verify-rollout.sh"))).toBe(true);
  });
});
