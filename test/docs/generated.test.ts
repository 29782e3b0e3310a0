/**
 * The reference tables of the docs are generated from the code they describe (tools/docs.ts):
 * a key, variable, rule or tier x cloud added without `npm run docs` fails here.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RENAMED_KEYS } from "../../stacks/config-renames";
import { PLATFORMS, builtPairs } from "../../stacks/registry";
import { ENV } from "../../runtime/src/config";
import { BURN_RATE_WINDOWS, ragSlos } from "../../components/kubernetes/slo";
import {
  burnRateReference,
  configReference,
  envReference,
  GENERATED,
  replaceSection,
  sloReference,
  staleDocs,
  tierCloudTable,
} from "../../tools/docs";
import { PROJECT_DIR } from "../../tools/harness";

describe("generated docs", () => {
  it("are what the code gives now (run npm run docs after changing it)", async () => {
    expect(await staleDocs()).toEqual([]);
  });

  it("list every config key, every runtime variable and every renamed key", () => {
    const config = configReference();
    for (const key of [
      "tier",
      "network.cidr",
      "postgres.highAvailability",
      "kubernetes.adminPrincipals",
      "dev.hostPorts.ollama",
    ])
      expect(config).toContain(`| \`${key}\` |`);
    const env = envReference();
    for (const name of Object.values(ENV))
      expect(env).toMatch(new RegExp(`\\| \`${name}\`(\\\\\\*)? \\|`));
    const doc = readFileSync(join(PROJECT_DIR, "docs", "configuration.md"), "utf8");
    for (const r of RENAMED_KEYS) expect(doc).toContain(`\`${r.from.join(".")}\``);
  });

  it("list every SLO with its objective, and every burn-rate window with whom it reaches", () => {
    const slos = sloReference();
    for (const replicaRegion of [false, true])
      for (const s of ragSlos("rag", { selfHostedModel: true, replicaRegion }))
        expect(slos).toMatch(
          new RegExp(
            `\\| \`${s.name}\` \\| \`${s.service}\` \\| [a-z ]+ \\| ${s.objectivePercent}% \\|`,
          ),
        );
    expect(slos).toContain("| `query-availability` | `rag-api` | every region |");
    expect(slos).toContain("| `cross-region-index-lag` | `rag-ingest-index` | the other regions |");
    const burns = burnRateReference();
    for (const w of BURN_RATE_WINDOWS)
      expect(burns).toContain(
        `| ${w.severity} | ${w.burnRate}x over ${w.long}, confirmed over ${w.short} |`,
      );
    expect(burns).toContain("| 2% of the 30-day budget | PagerDuty");
    expect(burns).toContain("| 10% of the 30-day budget | e-mail");
  });

  it("link every built tier x cloud to a page that exists, and name the planned ones", () => {
    const table = tierCloudTable();
    const links = [...table.matchAll(/\]\((docs\/tiers\/[a-z-]+\.md)\)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(builtPairs().length);
    for (const link of links) expect(existsSync(join(PROJECT_DIR, link)), link).toBe(true);
    expect(table).toContain(`${PLATFORMS.enterprise.gcp!.label} (planned)`);
  });

  it("replace only what lies between a section's markers, and refuse a file without them", () => {
    const text = "a\n<!-- generated:x (npm run docs) -->\nold\n<!-- end:x -->\nb\n";
    expect(replaceSection(text, "x", "new")).toBe(
      "a\n<!-- generated:x (npm run docs) -->\n\nnew\n\n<!-- end:x -->\nb\n",
    );
    expect(() => replaceSection("no markers", "x", "new")).toThrow(
      "no <!-- generated:x (npm run docs) --> ... <!-- end:x --> section",
    );
    expect(GENERATED.map((g) => g.file)).toContain("docs/policies.md");
  });
});
