import { describe, expect, it } from "vitest";
import { TIER_TAG, tierOf, toPolicies } from "../../policies/adapter";
import { enforcementFor, evaluate, gradeFor } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import type { Rule } from "../../policies/rules/types";
import { res } from "./fixtures";
import { runPolicy, stackArgs } from "./policy-args";

const rule = (name: string): Rule => ALL_RULES.find((r) => r.name === name)!;
const publicDb = () => [
  res("aws:rds/instance:Instance", {
    publiclyAccessible: true,
    storageEncrypted: true,
    kmsKeyId: "k",
  }),
];

describe("grading by tier", () => {
  it("is advisory in dev and blocks on high and critical from staging on", () => {
    expect(gradeFor(rule("aws-rds-not-public"), "dev")).toBe("advisory");
    for (const tier of ["staging", "sme", "enterprise"] as const) {
      expect(gradeFor(rule("aws-rds-not-public"), tier)).toBe("mandatory");
      expect(gradeFor(rule("aws-ebs-encrypted"), tier)).toBe("mandatory");
      expect(gradeFor(rule("aws-sns-encrypted"), tier)).toBe("advisory");
      expect(gradeFor(rule("aws-log-group-retention"), tier)).toBe("advisory");
    }
  });

  it("reads an unknown tier as the strictest and disables tier-scoped rules outside their tiers", () => {
    expect(gradeFor(rule("aws-rds-not-public"), undefined)).toBe("mandatory");
    expect(gradeFor(rule("aws-rds-multi-az-protected"), "staging")).toBe("disabled");
    expect(gradeFor(rule("aws-rds-multi-az-protected"), undefined)).toBe("mandatory");
  });

  it("lets a policy-pack config override per rule, then for all", () => {
    const r = rule("aws-rds-not-public");
    expect(enforcementFor(r, "staging", { "aws-rds-not-public": "advisory" })).toBe("advisory");
    expect(
      enforcementFor(r, "staging", { "aws-rds-not-public": { enforcementLevel: "disabled" } }),
    ).toBe("disabled");
    expect(enforcementFor(r, "dev", { all: "mandatory" })).toBe("mandatory");
    expect(enforcementFor(r, "dev", { all: "mandatory", "aws-rds-not-public": "advisory" })).toBe(
      "advisory",
    );
  });

  it("counts mandatory violations and applies overrides in an evaluation", () => {
    const rules = [rule("aws-rds-not-public"), rule("aws-sns-encrypted")];
    const resources = [...publicDb(), res("aws:sns/topic:Topic", {})];
    expect(evaluate(resources, { tier: "staging", rules }).mandatoryViolations).toBe(1);
    expect(
      evaluate(resources, { tier: "staging", rules }).findings.map((f) => [f.rule, f.enforcement]),
    ).toEqual([
      ["aws-rds-not-public", "mandatory"],
      ["aws-sns-encrypted", "advisory"],
    ]);
    expect(evaluate(resources, { tier: "dev", rules }).mandatoryViolations).toBe(0);
    expect(
      evaluate(resources, {
        tier: "staging",
        rules,
        config: { "aws-rds-not-public": "disabled" },
      }).findings.map((f) => f.rule),
    ).toEqual(["aws-sns-encrypted"]);
  });

  it("fails strict when a value a mandatory rule needs is unknown", () => {
    const unknown = [res("aws:rds/instance:Instance", { storageEncrypted: true, kmsKeyId: "k" })];
    const e = evaluate(unknown, { tier: "staging" });
    expect(e.findings.find((f) => f.rule === "aws-rds-not-public")).toMatchObject({
      enforcement: "mandatory",
      message: "publiclyAccessible is not false",
    });
  });
});

describe("under the real engine (the pack's policies, driven with @pulumi/policy's validation args)", () => {
  const policies = toPolicies();
  const byName = (name: string) => policies.find((p) => p.name === name)!;

  it("registers high and critical rules twice (mandatory and -advisory), the others once as advisory", () => {
    expect(byName("aws-rds-not-public").enforcementLevel).toBe("mandatory");
    expect(byName("aws-rds-not-public-advisory").enforcementLevel).toBe("advisory");
    expect(byName("aws-sns-encrypted").enforcementLevel).toBe("advisory");
    expect(policies.find((p) => p.name === "aws-sns-encrypted-advisory")).toBeUndefined();
    for (const p of policies) {
      expect(p.severity).toBeDefined();
      expect(p.remediationSteps).toBeDefined();
    }
  });

  it("blocks from the mandatory variant for a staging stack (tier from the stack tag)", async () => {
    const args = stackArgs(publicDb(), { stackTags: { [TIER_TAG]: "staging" } });
    const mandatory = await runPolicy(byName("aws-rds-not-public"), args);
    expect(mandatory.applicable).toBe(true);
    expect(mandatory.violations).toHaveLength(1);
    expect(mandatory.violations[0]!.message).toContain("publiclyAccessible is not false");
    expect(mandatory.violations[0]!.urn).toMatch(
      /^urn:pulumi:test::rag-platform::aws:rds\/instance:Instance::/,
    );
    expect((await runPolicy(byName("aws-rds-not-public-advisory"), args)).applicable).toBe(false);
  });

  it("only advises for a dev stack (tier from the policy config)", async () => {
    const args = stackArgs(publicDb(), { config: { tier: "dev" } });
    const mandatory = await runPolicy(byName("aws-rds-not-public"), args);
    expect(mandatory).toMatchObject({
      applicable: false,
      reason: "aws-rds-not-public is advisory for the dev tier",
    });
    expect((await runPolicy(byName("aws-rds-not-public-advisory"), args)).violations).toHaveLength(
      1,
    );
  });

  it("is strict without a tier, and not applicable where a tier-scoped rule does not apply", async () => {
    expect(
      (await runPolicy(byName("aws-rds-not-public"), stackArgs(publicDb()))).violations,
    ).toHaveLength(1);
    const single = [
      res("aws:rds/instance:Instance", { multiAz: false, deletionProtection: false }),
    ];
    expect(
      await runPolicy(
        byName("aws-rds-multi-az-protected"),
        stackArgs(single, { stackTags: { [TIER_TAG]: "staging" } }),
      ),
    ).toMatchObject({ applicable: false });
    expect(
      (
        await runPolicy(
          byName("aws-rds-multi-az-protected"),
          stackArgs(single, { stackTags: { [TIER_TAG]: "sme" } }),
        )
      ).violations.map((v) => v.message),
    ).toEqual([
      expect.stringContaining("not multi-AZ"),
      expect.stringContaining("deletion protection is off"),
    ]);
  });

  it("prefers the policy config's tier over the stack tag and ignores unknown tier names", () => {
    expect(
      tierOf({
        getConfig: <T>() => ({ tier: "sme" }) as T,
        stackTags: new Map([[TIER_TAG, "dev"]]),
      }),
    ).toBe("sme");
    expect(
      tierOf({ getConfig: <T>() => ({}) as T, stackTags: new Map([[TIER_TAG, "gold"]]) }),
    ).toBeUndefined();
  });

  it("judges every resource whose values are known before saying it cannot finish on one that is not (preview)", async () => {
    // As @pulumi/policy hands props over during a preview: a proxy that throws on an unknown value.
    const { UnknownValueError, unknownCheckingProxy, unknownStringValue } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- proxy.d.ts declares nothing
      require("@pulumi/policy/proxy") as {
        UnknownValueError: new (...args: never[]) => Error;
        unknownCheckingProxy: <T>(props: T) => T;
        unknownStringValue: string;
      };
    const previewed = (props: Record<string, unknown>, name: string) => {
      const view = res("aws:rds/instance:Instance", props, {}, name);
      return { ...view, props: unknownCheckingProxy(view.props) };
    };
    const dbs = [
      previewed(
        { publiclyAccessible: unknownStringValue, storageEncrypted: true, kmsKeyId: "k" },
        "not-known-yet",
      ),
      previewed({ publiclyAccessible: true, storageEncrypted: true, kmsKeyId: "k" }, "public"),
    ];
    const reported: (string | undefined)[] = [];
    const run = async () =>
      byName("aws-rds-not-public").validateStack(
        stackArgs(dbs, { stackTags: { [TIER_TAG]: "staging" } }),
        (_message, urn) => reported.push(urn),
      );
    await expect(run()).rejects.toThrow(UnknownValueError);
    expect(reported).toEqual([dbs[1]!.urn]);
  });

  it("links resources through property dependencies, as the engine passes them", async () => {
    const bucket = res("aws:s3/bucket:Bucket", {});
    const sse = res(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      {
        bucket: undefined,
        rules: [
          { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "k" } },
        ],
      },
      { bucket: [bucket] },
    );
    const run = await runPolicy(
      byName("aws-s3-bucket-encrypted"),
      stackArgs([bucket, sse], { stackTags: { [TIER_TAG]: "staging" } }),
    );
    expect(run.violations).toEqual([]);
    const alone = await runPolicy(
      byName("aws-s3-bucket-encrypted"),
      stackArgs([bucket], { stackTags: { [TIER_TAG]: "staging" } }),
    );
    expect(alone.violations).toHaveLength(1);
  });
});

describe("a rule that throws", () => {
  const brittle: Rule = {
    name: "brittle-rule",
    area: "exposure",
    description: "A rule that reads a field of a value that is not there.",
    severity: "high",
    remediation: "Nothing to remediate.",
    resourceTypes: ["aws:rds/instance:Instance"],
    check: (r) => {
      const nested = r.props.nested as { field: string } | null;
      return nested!.field === "bad" ? ["nested.field is bad"] : [];
    },
  };
  const dbs = [
    res("aws:rds/instance:Instance", { nested: null }, {}, "malformed"),
    res("aws:rds/instance:Instance", { nested: { field: "bad" } }, {}, "judged"),
  ];

  it("becomes a finding naming the rule and the error, and the other resources are still judged", () => {
    const e = evaluate(dbs, { tier: "staging", rules: [brittle] });
    expect(e.findings.map((f) => [f.rule, f.resource.name, f.enforcement])).toEqual([
      ["brittle-rule", "malformed", "mandatory"],
      ["brittle-rule", "judged", "mandatory"],
    ]);
    expect(e.findings[0]!.message).toMatch(
      /^the rule failed on this resource \(TypeError: .+\), so cannot show it compliant$/,
    );
    expect(e.mandatoryViolations).toBe(2);
  });

  it("is reported as the rule's violation under the real engine, not a crash of the pack", async () => {
    const [policy] = toPolicies([brittle]);
    const run = await runPolicy(policy!, stackArgs(dbs, { stackTags: { [TIER_TAG]: "staging" } }));
    expect(run.violations.map((v) => v.urn)).toEqual(dbs.map((d) => d.urn));
    expect(run.violations[0]!.message).toContain("the rule failed on this resource (TypeError:");
  });
});
