/**
 * tools/verify-rollout.sh, which tells a deploy whether ECS kept the task definitions `pulumi up`
 * gave it. It runs here for real (bash, jq) against a stand-in `aws` on its PATH that answers
 * `aws ecs describe-services` with scripted states, one per call, as ECS moves a deployment on.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../tools/harness";
import { synth } from "./helpers";

const SCRIPT = join(PROJECT_DIR, "tools", "verify-rollout.sh");
const NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/rag-staging-svc-api:8";
const OLD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/rag-staging-svc-api:7";

interface Deployment {
  status: "PRIMARY" | "ACTIVE";
  taskDefinition: string;
  rolloutState: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason?: string;
}
const deployment = (d: Deployment) => ({ runningCount: 1, desiredCount: 2, ...d });
const answer = (...deployments: Deployment[]) => ({
  services: [
    {
      deployments: deployments.map(deployment),
      events: [{ createdAt: "2026-11-25T10:00:00Z", message: "(service api) has started 1 tasks" }],
    },
  ],
  failures: [],
});

/** Runs the script with `aws` answering `states` in turn (the last one from then on). */
function run(
  states: unknown[],
  input: unknown = {
    region: "eu-west-1",
    cluster: "rag",
    services: [{ name: "api", taskDefinition: NEW }],
  },
  env: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "verify-rollout-"));
  states.forEach((state, i) => writeFileSync(join(dir, `state-${i}.json`), JSON.stringify(state)));
  writeFileSync(join(dir, "calls"), "");
  const aws = join(dir, "aws");
  writeFileSync(
    aws,
    `#!/usr/bin/env bash
echo "$*" >> "${dir}/calls"
n=$(($(wc -l < "${dir}/calls") - 1))
last=${states.length - 1}
cat "${dir}/state-$((n < last ? n : last)).json"
`,
  );
  chmodSync(aws, 0o755);
  const result = spawnSync("bash", [SCRIPT], {
    input: JSON.stringify(input),
    encoding: "utf8",
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ROLLOUT_POLL_SECONDS: "0", ...env },
  });
  const calls = spawnSync("cat", [join(dir, "calls")], { encoding: "utf8" })
    .stdout.trim()
    .split("\n");
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

describe("verify-rollout", () => {
  it("waits while the new task definition rolls out, and passes once it has", () => {
    const out = run([
      answer(
        { status: "PRIMARY", taskDefinition: NEW, rolloutState: "IN_PROGRESS" },
        { status: "ACTIVE", taskDefinition: OLD, rolloutState: "COMPLETED" },
      ),
      answer({ status: "PRIMARY", taskDefinition: NEW, rolloutState: "IN_PROGRESS" }),
      answer({ status: "PRIMARY", taskDefinition: NEW, rolloutState: "COMPLETED" }),
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.calls).toEqual(
      Array(3).fill(
        "ecs describe-services --region eu-west-1 --cluster rag --services api --output json",
      ),
    );
    expect(out.stdout).toContain(
      "api: rag-staging-svc-api:8 is IN_PROGRESS (1 of 2 tasks running)",
    );
    expect(out.stdout).toContain("api: running rag-staging-svc-api:8");
  });

  it("fails when ECS's circuit breaker rolled the update back, though the service is stable again", () => {
    const out = run([
      answer(
        { status: "PRIMARY", taskDefinition: OLD, rolloutState: "COMPLETED" },
        {
          status: "ACTIVE",
          taskDefinition: NEW,
          rolloutState: "FAILED",
          rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
        },
      ),
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      "api: rolled back to rag-staging-svc-api:7; rag-staging-svc-api:8 did not come up: ECS deployment circuit breaker: tasks failed to start.",
    );
    expect(out.stderr).toContain("(service api) has started 1 tasks");
  });

  it("fails on a deployment that failed without rolling back, and on one still going at the deadline", () => {
    const failed = run([
      answer({
        status: "PRIMARY",
        taskDefinition: NEW,
        rolloutState: "FAILED",
        rolloutStateReason: "tasks failed to start",
      }),
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      "api: the deployment of rag-staging-svc-api:8 failed: tasks failed to start",
    );
    const slow = run(
      [answer({ status: "PRIMARY", taskDefinition: NEW, rolloutState: "IN_PROGRESS" })],
      undefined,
      { ROLLOUT_TIMEOUT_SECONDS: "0" },
    );
    expect(slow.code).toBe(1);
    expect(slow.stderr).toContain(
      "api: the deployment of rag-staging-svc-api:8 is still IN_PROGRESS after 0 s",
    );
  });

  it("checks every service, and fails if any one did not come up", () => {
    const out = run(
      [
        answer({ status: "PRIMARY", taskDefinition: NEW, rolloutState: "COMPLETED" }),
        answer({ status: "PRIMARY", taskDefinition: OLD, rolloutState: "COMPLETED" }),
      ],
      {
        region: "eu-west-1",
        cluster: "rag",
        services: [
          { name: "api", taskDefinition: NEW },
          { name: "worker", taskDefinition: NEW },
        ],
      },
    );
    expect(out.calls.map((c) => c.split(" ")[7])).toEqual(["api", "worker"]);
    expect(out.stdout).toContain("api: running");
    expect(out.stderr).toContain("worker: rolled back to rag-staging-svc-api:7");
    expect(out.code).toBe(1);
  });

  it("refuses input that is not a rollout output, naming what it expected", () => {
    const out = run(
      [answer({ status: "PRIMARY", taskDefinition: NEW, rolloutState: "COMPLETED" })],
      { cluster: "rag" },
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(
      /^verify-rollout: expected \{"region", "cluster", "services": \[\{"name", "taskDefinition"\}\]\} on standard input/,
    );
    expect(out.calls).toEqual([""]);
  });
});

describe("the staging stack's rollout output", () => {
  let outputs: Record<string, unknown>;
  beforeAll(async () => {
    outputs = (await synth("staging")).outputs;
  });

  it("names the cluster and each service with the task definition it was given, in the script's input shape", () => {
    const rollout = outputs.rollout as {
      region: string;
      cluster: string;
      services: { name: string; taskDefinition: string }[];
    };
    expect(rollout).toMatchObject({ region: "eu-west-1", cluster: expect.any(String) });
    expect(rollout.services.map((s) => s.name)).toEqual([
      expect.stringMatching(/-api$/),
      expect.stringMatching(/-worker$/),
    ]);
    for (const s of rollout.services) expect(s.taskDefinition).toMatch(/^arn:aws:ecs:/);
    // What the script reads of it, it finds.
    const out = run(
      [
        answer({
          status: "PRIMARY",
          taskDefinition: rollout.services[0]!.taskDefinition,
          rolloutState: "COMPLETED",
        }),
      ],
      { ...rollout, services: rollout.services.slice(0, 1) },
    );
    expect(out.code).toBe(0);
  });
});
