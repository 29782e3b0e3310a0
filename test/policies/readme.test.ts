import { readFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "prettier";
import { describe, expect, it } from "vitest";
import { rulesMarkdownTable } from "../../policies/rule-table";
import { PROJECT_DIR } from "../../tools/harness";

describe("README rule table", () => {
  it("is the one generated from the rules", async () => {
    const table = await format(rulesMarkdownTable(), { parser: "markdown", printWidth: 100 });
    expect(readFileSync(join(PROJECT_DIR, "README.md"), "utf8")).toContain(table.trim());
  });
});
