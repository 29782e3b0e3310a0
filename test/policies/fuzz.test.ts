/**
 * No input crashes a rule: every path of the real synthesized resources (and of the hand-built
 * cases), JSON held in strings included, is set to null, a wrong type or removed, and every rule
 * that could read it must return its findings or nothing, never throw. The rules are called
 * directly, without the engine's net (which turns a throw into a finding).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { context, subjectsOf } from "../../policies/engine";
import { ALL_RULES } from "../../policies/rules/all";
import type { ResourceView, Tier } from "../../policies/rules/types";
import type { SynthResult } from "../../tools/harness";
import { toViews } from "../../tools/policy-run";
import { synth } from "../helpers";
import { CASES } from "./cases";

/** A step into JSON held in a string (an IAM policy, ECS container definitions). */
const IN_JSON = Symbol("in JSON");
type Step = string | number | typeof IN_JSON;
const MISSING = Symbol("missing");

const MUTATIONS: Readonly<Record<string, unknown>> = {
  null: null,
  missing: MISSING,
  zero: 0,
  "empty text": "",
  text: "x",
  "a secret": "[secret]",
  true: true,
  "empty list": [],
  "list of null": [null],
  "empty object": {},
};

function parsedJson(value: string): unknown {
  if (!/^\s*[[{]/.test(value)) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** Every path into a value, JSON inside strings included. */
function pathsOf(value: unknown, prefix: Step[] = []): Step[][] {
  if (typeof value === "string") {
    const json = parsedJson(value);
    return json === undefined ? [] : pathsOf(json, [...prefix, IN_JSON]);
  }
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = [...prefix, Array.isArray(value) ? Number(key) : key];
    return [here, ...pathsOf(child, here)];
  });
}

/** A copy of `node` with the value at `path` replaced (or removed, for MISSING). */
function mutated(node: unknown, path: Step[], value: unknown): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return value;
  if (step === IN_JSON) return JSON.stringify(mutated(JSON.parse(node as string), rest, value));
  const copy = (Array.isArray(node) ? [...node] : { ...(node as object) }) as Record<
    string | number,
    unknown
  >;
  if (rest.length === 0 && value === MISSING) delete copy[step];
  else copy[step] = mutated(copy[step], rest, value);
  return copy;
}

const show = (path: Step[]) => path.map((s) => (s === IN_JSON ? "<json>" : String(s))).join(".");

interface Base {
  readonly resources: ResourceView[];
  readonly tier: Tier | undefined;
  readonly outputs?: Record<string, unknown>;
}

/** Runs rules over every resource they judge; what a rule threw, or returned that is not a list of messages. */
function crashes(base: Base, resources: ResourceView[], rules = ALL_RULES): string[] {
  const ctx = context(resources, base.tier, base.outputs);
  return rules.flatMap((rule) =>
    subjectsOf(rule, resources).flatMap((r) => {
      try {
        const found: unknown = rule.check(r, ctx);
        return Array.isArray(found) && found.every((m) => typeof m === "string" && m.length > 0)
          ? []
          : [`${rule.name} on ${r.name} returned ${JSON.stringify(found)}`];
      } catch (error) {
        return [`${rule.name} threw on ${r.name}: ${String(error)}`];
      }
    }),
  );
}

const replaced = (resources: ResourceView[], index: number, props: unknown) =>
  resources.map((r, i) => (i === index ? { ...r, props: props as Record<string, unknown> } : r));

/**
 * Every path of every resource type once (on the first resource that has it), with every
 * mutation, judged by the rules of that type over the rest of its base (its stack or case).
 */
function everyPathOnce(bases: readonly Base[]): string[] {
  const seen = new Set<string>();
  const failures: string[] = [];
  for (const base of bases)
    base.resources.forEach((resource, index) => {
      const rules = ALL_RULES.filter((rule) => rule.resourceTypes.includes(resource.type));
      if (rules.length === 0) return;
      for (const path of pathsOf(resource.props)) {
        const key = `${resource.type} ${show(path)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        for (const [label, value] of Object.entries(MUTATIONS)) {
          const resources = replaced(base.resources, index, mutated(resource.props, path, value));
          failures.push(...crashes(base, resources, rules).map((c) => `${key} = ${label}: ${c}`));
        }
      }
    });
  return failures;
}

const STACKS = ["dev", "staging", "staging-azure", "staging-gcp", "sme", "sme-azure", "sme-gcp"];
const stacks: Record<string, Base> = {};
beforeAll(async () => {
  for (const name of STACKS) {
    const s: SynthResult = await synth(name);
    stacks[name] = { resources: toViews(s.resources), tier: s.tier, outputs: s.outputs };
  }
}, 240_000);

/** The hand-built cases: the types the stacks do not create (Pods, ConfigMaps, ClusterRoles...). */
const cases: Base[] = Object.values(CASES).flatMap((c) =>
  [c.compliant, ...Object.values(c.violating)].map((resources) => ({
    resources,
    tier: c.tier ?? "enterprise",
    outputs: c.outputs,
  })),
);

describe("no rule throws on a malformed resource", () => {
  it.each(STACKS)("%s: every path of every type, set to null, a wrong type or removed", (name) => {
    expect(everyPathOnce([stacks[name]!]).slice(0, 20)).toEqual([]);
  });

  it("the hand-built cases: every path of every type, set to null, a wrong type or removed", () => {
    expect(everyPathOnce(cases).slice(0, 20)).toEqual([]);
  });

  it("any stack with several paths changed at once, judged by every rule", () => {
    const mutation = fc.constantFrom(...Object.keys(MUTATIONS));
    const change = fc.record({ resource: fc.nat(), path: fc.nat(), mutation });
    fc.assert(
      fc.property(
        fc.constantFrom(...STACKS),
        fc.array(change, { minLength: 1, maxLength: 4 }),
        (name, changes) => {
          const base = stacks[name]!;
          let resources = base.resources;
          for (const c of changes) {
            const index = c.resource % resources.length;
            const paths = pathsOf(resources[index]!.props);
            if (paths.length === 0) continue;
            const path = paths[c.path % paths.length]!;
            resources = replaced(
              resources,
              index,
              mutated(resources[index]!.props, path, MUTATIONS[c.mutation]),
            );
          }
          expect(crashes(base, resources)).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
