/** The three reports: JSON (machines), SARIF 2.1.0 (code scanning), Markdown (reviewers). */
import type { Evaluation } from "./engine";
import { ALL_RULES } from "./rules/all";
import type { Severity } from "./rules/types";

export function jsonReport(e: Evaluation, stack: string): string {
  return `${JSON.stringify({ stack, tier: e.tier ?? null, mandatoryViolations: e.mandatoryViolations, findings: e.findings, rules: e.rules }, null, 2)}\n`;
}

const SARIF_LEVEL: Record<Severity, "note" | "warning" | "error"> = {
  low: "note",
  medium: "warning",
  high: "error",
  critical: "error",
};
const SECURITY_SEVERITY: Record<Severity, string> = {
  low: "3.0",
  medium: "5.5",
  high: "8.0",
  critical: "9.5",
};

export function sarifReport(e: Evaluation, stackFile: string): string {
  const rules = ALL_RULES.map((r) => ({
    id: r.name,
    name: r.name,
    shortDescription: { text: r.description },
    fullDescription: { text: r.description },
    help: { text: r.remediation, markdown: `**Remediation:** ${r.remediation}` },
    defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
    properties: {
      tags: ["security", r.area, ...(r.checkov ? [r.checkov] : []), ...(r.tfsec ? [r.tfsec] : [])],
      "security-severity": SECURITY_SEVERITY[r.severity],
    },
  }));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = e.findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: index.get(f.rule),
    level:
      f.enforcement === "mandatory"
        ? "error"
        : SARIF_LEVEL[f.severity] === "error"
          ? "warning"
          : SARIF_LEVEL[f.severity],
    message: { text: `${f.resource.name} (${f.resource.type}): ${f.message}. ${f.remediation}` },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: stackFile }, region: { startLine: 1 } },
        logicalLocations: [{ fullyQualifiedName: f.resource.urn, kind: "resource" }],
      },
    ],
    partialFingerprints: { resourceRule: `${f.rule}:${f.resource.urn}:${f.message}` },
    properties: { enforcement: f.enforcement, severity: f.severity },
  }));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "rag-platform-policies",
            informationUri: "https://github.com/rag-platform/rag-platform",
            version: "0.1.0",
            rules,
          },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

const escape = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

export function markdownReport(e: Evaluation, stack: string): string {
  const sorted = [...e.findings].sort(
    (a, b) =>
      Number(b.enforcement === "mandatory") - Number(a.enforcement === "mandatory") ||
      ORDER[a.severity] - ORDER[b.severity] ||
      a.rule.localeCompare(b.rule),
  );
  const verdict =
    e.mandatoryViolations > 0
      ? `**${e.mandatoryViolations} mandatory violation(s): the deployment is blocked.**`
      : "**No mandatory violation.**";
  const lines = [
    `# Policy report: stack \`${stack}\` (tier ${e.tier ?? "unknown: strictest grading"})`,
    "",
    `${verdict} ${e.findings.length} finding(s) in all; ${e.rules.filter((r) => r.enforcement !== "disabled").length} rules applied.`,
    "",
  ];
  if (sorted.length > 0) {
    lines.push(
      "| enforcement | severity | rule | resource | message | remediation |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    for (const f of sorted) {
      lines.push(
        `| ${f.enforcement} | ${f.severity} | \`${f.rule}\` | \`${escape(f.resource.name)}\` (${escape(f.resource.type)}) | ${escape(f.message)} | ${escape(f.remediation)} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    "<details><summary>Rules applied</summary>",
    "",
    "| rule | severity | enforcement | resources checked | violations |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const r of e.rules)
    lines.push(
      `| \`${r.rule}\` | ${r.severity} | ${r.enforcement} | ${r.checked} | ${r.violations} |`,
    );
  lines.push("", "</details>", "");
  return lines.join("\n");
}
