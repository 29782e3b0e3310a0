/** The rule table of docs/policies.md, generated from the rules so the two cannot drift (npm run docs). */
import { gradeFor } from "./engine";
import { ALL_RULES } from "./rules/all";
import { TIERS } from "./rules/types";

const SHORT = { mandatory: "M", advisory: "A", disabled: "-" } as const;

export function rulesMarkdownTable(): string {
  const rows = ALL_RULES.map((r) => {
    const grades = TIERS.map((t) => SHORT[gradeFor(r, t)]).join(" / ");
    const ids = [r.checkov, r.tfsec].filter(Boolean).join(", ") || "-";
    return `| \`${r.name}\` | ${r.area} | ${r.severity} | ${grades} | ${r.remediation.replace(/\|/g, "\\|")} | ${ids} |`;
  });
  return [
    "| rule | area | severity | dev / staging / sme / enterprise | remediation | Checkov / tfsec |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
