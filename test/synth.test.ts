import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../tools/harness";
import { applySet, loadStackConfig, StackFileError, toConfigMap } from "../tools/stack-file";
import { runTool } from "./helpers";

const synthCli = (args: string[]) => runTool("synth", args);

describe("npm run synth", () => {
  it("prints a type/name/parent table and writes resources.json in the documented shape", async () => {
    const out = mkdtempSync(join(tmpdir(), "synth-"));
    const { code, stdout } = await synthCli(["--stack", "dev", "--out", out]);
    expect(code).toBe(0);
    const [header, rule] = stdout.split("\n");
    expect(header).toMatch(/^TYPE\s+NAME\s+PARENT$/);
    expect(rule).toMatch(/^-+\s+-+\s+-+$/);
    expect(stdout).toMatch(
      /^docker:index\/container:Container\s+rag-dev-runtime-api\s+rag-dev-runtime$/m,
    );
    expect(stdout).toMatch(/^rag:docker:Postgres\s+rag-dev-postgres\s+\(stack\)$/m);
    expect(stdout).toMatch(/\d+ resources for stack dev; wrote .*resources\.json/);

    const resources = JSON.parse(
      readFileSync(join(out, "dev", "resources.json"), "utf8"),
    ) as Record<string, unknown>[];
    expect(resources.length).toBeGreaterThan(20);
    for (const r of resources) {
      expect(Object.keys(r).sort()).toEqual([
        "aliases",
        "custom",
        "customTimeouts",
        "dependencies",
        "inputs",
        "name",
        "parent",
        "propertyDependencies",
        "protect",
        "provider",
        "retainOnDelete",
        "type",
        "urn",
      ]);
      expect(r.urn).toBe(
        `${String(r.urn).slice(0, String(r.urn).lastIndexOf("::"))}::${String(r.name)}`,
      );
    }
    const api = resources.find((r) => r.name === "rag-dev-runtime-api")!;
    expect(api.parent).toBe(resources.find((r) => r.type === "rag:docker:RuntimeServices")!.urn);
    const image = resources.find((r) => r.type === "docker:index/image:Image")!;
    expect((api.propertyDependencies as Record<string, string[]>).image).toEqual([image.urn]);
    expect(api.dependencies).toContain(image.urn);
    const text = readFileSync(join(out, "dev", "resources.json"), "utf8");
    expect(text).toContain('"[secret]"');
    const outputs = JSON.parse(readFileSync(join(out, "dev", "outputs.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(outputs.apiUrl).toBe("http://127.0.0.1:8080");
  });

  it("refuses a bad config with the schema's one-line message and no stack trace", async () => {
    const { code, stdout, stderr } = await synthCli([
      "--stack",
      "dev",
      "--set",
      "rag-platform:tier=gold",
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      "synth: invalid rag-platform configuration:",
      '  rag-platform:tier: got "gold"; allowed: dev, staging, sme, enterprise',
    ]);
  });

  it("warns once for a key under its old name, and synthesizes as with the new one", async () => {
    const out = mkdtempSync(join(tmpdir(), "synth-"));
    const { code, stderr } = await synthCli([
      "--stack",
      "dev",
      "--set",
      "rag-platform:network.vpcCidr=10.41.0.0/16",
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    const warnings = stderr.split("\n").filter((l) => l.includes("deprecated"));
    expect(warnings).toEqual([
      expect.stringContaining(
        "rag-platform:network.vpcCidr is deprecated: it is now rag-platform:network.cidr (same meaning)",
      ),
    ]);
  });

  it("names an unknown stack's missing file", async () => {
    const { code, stderr } = await synthCli(["--stack", "prod"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no stack file for stack "prod": .*Pulumi\.prod\.yaml does not exist/);
  });

  it("requires --stack", async () => {
    const { code, stderr } = await synthCli([]);
    expect(code).toBe(2);
    expect(stderr).toContain("--stack is required");
  });
});

describe("--set follows `pulumi config set --path`", () => {
  it("sets nested keys, typing booleans and integers", () => {
    const tree = applySet(
      applySet({ "rag-platform:llm": { model: "a" } }, "rag-platform:llm.gpuCount=2"),
      "rag-platform:dev.gpu=true",
    );
    expect(tree).toEqual({
      "rag-platform:llm": { model: "a", gpuCount: 2 },
      "rag-platform:dev": { gpu: true },
    });
  });

  it("keeps a top-level value as a string and indexes lists", () => {
    expect(applySet({}, "rag-platform:tier=gold")).toEqual({ "rag-platform:tier": "gold" });
    expect(applySet({}, "rag-platform:regions[1]=eu-central-1")).toEqual({
      "rag-platform:regions": [undefined, "eu-central-1"],
    });
    expect(applySet({}, "rag-platform:llm.model=meta-llama/Llama-3.1-8B-Instruct")).toEqual({
      "rag-platform:llm": { model: "meta-llama/Llama-3.1-8B-Instruct" },
    });
  });

  it("rejects malformed assignments with a clear message", () => {
    expect(() => applySet({}, "rag-platform:tier")).toThrow(
      new StackFileError("--set rag-platform:tier: expected key=value"),
    );
    expect(() => applySet({}, "tier=dev")).toThrow(/expected <namespace>:<key>/);
  });

  it("flattens objects to JSON as Pulumi hands them to programs and keeps secure values out", () => {
    expect(toConfigMap({ "a:b": { c: 1 }, "a:d": "x", "a:s": { secure: "v1:abc" } })).toEqual({
      config: { "a:b": '{"c":1}', "a:d": "x", "a:s": "[secret]" },
      secretKeys: ["a:s"],
    });
  });

  it("reads the real stack files", () => {
    const { config } = loadStackConfig(PROJECT_DIR, "enterprise");
    expect(JSON.parse(config["rag-platform:regions"]!)).toHaveLength(2);
  });
});
