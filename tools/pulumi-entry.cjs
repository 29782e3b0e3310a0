/**
 * Loads the program the way `pulumi up` does, without the CLI: the Pulumi Node.js language host
 * (@pulumi/pulumi/cmd/run) registers ts-node (the project's, else the copy @pulumi/pulumi
 * vendors) with the project's TypeScript and tsconfig.json, then requires Pulumi.yaml's `main`.
 * This repeats that registration with @pulumi/pulumi's own helpers and options, then runs each
 * stack named on the command line through the synth harness (compiled the same way), under the
 * runtime mocks. Our other tools run on tsx, which accepts code ts-node would not.
 *
 *   node tools/pulumi-entry.cjs dev staging sme
 */
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const project = path.resolve(__dirname, "..");
process.chdir(project);
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const tsutils = require(path.join(pulumiDir, "tsutils"));
const semver = require(require.resolve("semver", { paths: [pulumiDir] }));

const main = /^main:\s*(\S+)/m.exec(
  fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8"),
)?.[1];
if (!main) throw new Error("Pulumi.yaml has no main");

// As cmd/run/run.js does for a TypeScript project that is not an ES module.
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const fromPulumi = (id) => require.resolve(id, { paths: [pulumiDir] });
const ts = require(fromPulumi(typescriptRequire));
const nodeNext = semver.gte(ts.version, "4.7.0");
require(fromPulumi(tsnodeRequire)).register({
  compiler: fromPulumi(typescriptRequire),
  transpileOnly: process.env.PULUMI_NODEJS_TRANSPILE_ONLY
    ? process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true"
    : compilerOptions.noCheck,
  project: "tsconfig.json",
  skipProject: !fs.existsSync("tsconfig.json"),
  compilerOptions: {
    target: "ES2020",
    module: nodeNext ? "nodenext" : "commonjs",
    moduleResolution: nodeNext ? "nodenext" : "node",
    sourceMap: "true",
    ...compilerOptions,
  },
});
console.log(
  `ts-node ${path.relative(project, fromPulumi(tsnodeRequire))}, typescript ${ts.version}`,
);

(async () => {
  const entry = require(path.join(project, main));
  if (typeof entry !== "function")
    throw new Error(
      `${main} must export the program's function (export = main), got ${typeof entry}`,
    );
  const { synthesize } = require(path.join(project, "tools", "harness.ts"));
  for (const stack of process.argv.slice(2)) {
    const result = await synthesize({ stack });
    console.log(
      `${stack}: ${result.resources.length} resources, ${Object.keys(result.outputs).length} outputs`,
    );
  }
})().catch((error) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
