import { describe, expect, it } from "vitest";
import { context, runRule } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import { CASES, VIOLATING_OUTPUTS } from "./cases";

describe("every rule", () => {
  it("has a compliant and a violating case", () => {
    expect(Object.keys(CASES).sort()).toEqual(ALL_RULES.map((r) => r.name).sort());
    for (const c of Object.values(CASES))
      expect(Object.keys(c.violating).length).toBeGreaterThan(0);
  });

  it("has unique names, a description, a remediation and a severity", () => {
    expect(new Set(ALL_RULES.map((r) => r.name)).size).toBe(ALL_RULES.length);
    for (const r of ALL_RULES) {
      expect(r.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(r.description.length, r.name).toBeGreaterThan(20);
      expect(r.remediation.length, r.name).toBeGreaterThan(10);
      expect(r.remediation, r.name).not.toContain("\n");
      expect(["low", "medium", "high", "critical"]).toContain(r.severity);
      if (r.checkov) expect(r.checkov).toMatch(/^CKV2?_[A-Z0-9]+_\d+$/);
    }
  });
});

describe.each(ALL_RULES.map((r) => [r.name, r] as const))("%s", (name, rule) => {
  const c = CASES[name]!;
  it("passes the compliant case", () => {
    expect(
      runRule(rule, context(c.compliant, c.tier ?? "enterprise", c.outputs)).map((v) => v.message),
    ).toEqual([]);
  });
  it.each(Object.entries(c.compliantAlso ?? {}))("passes when %s", (_label, resources) => {
    expect(
      runRule(rule, context(resources, c.tier ?? "enterprise", c.outputs)).map((v) => v.message),
    ).toEqual([]);
  });
  it.each(Object.entries(c.violating))("flags %s", (_label, resources) => {
    const found = runRule(
      rule,
      context(resources, c.tier ?? "enterprise", VIOLATING_OUTPUTS[name] ?? c.outputs),
    );
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(f.message.length).toBeGreaterThan(5);
  });
});
