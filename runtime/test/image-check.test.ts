import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildStages,
  dependencyProblems,
  parseDockerfile,
  splitFlags,
} from "../scripts/image-check";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "image-check-test-"));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe("the image check's Dockerfile reader", () => {
  it("joins continued lines and drops comments and the syntax directive", () => {
    const ins = parseDockerfile(
      '# syntax=docker/dockerfile:1\nFROM node:24 AS build\n# a comment\nRUN npm ci \\\n  && mkdir -p x\n\nCMD ["node", "a.js"]\n',
    );
    expect(ins).toEqual([
      { op: "FROM", args: "node:24 AS build", line: 2 },
      { op: "RUN", args: "npm ci  && mkdir -p x", line: 4 },
      { op: "CMD", args: '["node", "a.js"]', line: 7 },
    ]);
    expect(splitFlags("--mount=type=cache,target=/root/.npm npm ci")).toEqual({
      flags: { mount: "type" },
      rest: ["npm", "ci"],
    });
  });

  it("plays the stages: COPY as Docker copies (directory contents, .dockerignore), COPY --from, RUN, ENV, CMD; an ADDed URL is reported, not fetched", () => {
    const context = tree({
      ".dockerignore": "**/node_modules\n",
      "app/a.txt": "a",
      "app/node_modules/x/index.js": "x",
      "pkg.json": "{}",
    });
    const dockerfile = [
      "ARG BASE=node:24",
      "FROM ${BASE} AS one",
      "WORKDIR /w",
      "COPY app app",
      "COPY pkg.json sub/",
      "RUN echo built > out.txt",
      "FROM ${BASE}",
      "WORKDIR /final",
      "COPY --from=one /w/out.txt ./",
      "COPY --from=one /w/app ./app",
      "COPY --from=one /w/sub/pkg.json ./pkg.json",
      "ADD --chmod=0444 https://example.com/ca.pem /etc/ca.pem",
      "ENV CA=/etc/ca.pem",
      "USER node",
      'CMD ["node", "x.js"]',
      'HEALTHCHECK --interval=10s CMD ["node", "health.js"]',
    ].join("\n");
    const work = tree({});
    const logs: string[] = [];
    const image = buildStages(parseDockerfile(dockerfile), context, work, (s) => logs.push(s));
    const at = (p: string) => join(image.root, "final", p);
    expect(readFileSync(at("out.txt"), "utf8")).toBe("built\n");
    expect(readFileSync(at("app/a.txt"), "utf8")).toBe("a");
    expect(existsSync(at("app/node_modules")), ".dockerignore keeps node_modules out").toBe(false);
    expect(readFileSync(at("pkg.json"), "utf8")).toBe("{}");
    expect(image).toMatchObject({
      workdir: "/final",
      env: { CA: "/etc/ca.pem" },
      cmd: ["node", "x.js"],
      healthcheck: ["node", "health.js"],
      skipped: ["/etc/ca.pem"],
    });
    expect(logs.join("\n")).toContain("ADD https://example.com/ca.pem: not fetched");
  });

  it("stops at what it cannot play, naming the line", () => {
    const context = tree({});
    const play = (text: string) => () =>
      buildStages(parseDockerfile(text), context, tree({}), () => {});
    expect(play("FROM node:24\nCOPY missing.txt ./")).toThrow(
      "Dockerfile line 2: COPY missing.txt: no such file or directory",
    );
    expect(play("FROM node:24\nCOPY --from=nowhere /a ./")).toThrow(
      "Dockerfile line 2: no stage named nowhere",
    );
    expect(play("FROM node:24\nVOLUME /data")).toThrow(
      "Dockerfile line 2: VOLUME is not supported by this check",
    );
    expect(play("FROM node:24\nRUN exit 3")).toThrow(/exit 3/);
    expect(play("WORKDIR /x")).toThrow("Dockerfile line 1: WORKDIR before FROM");
  });
});

describe("the image check's dependency resolution", () => {
  it("finds each dependency the way Node does from the code's folder and checks its version against the range", () => {
    const root = tree({
      "app/node_modules/ok/package.json": JSON.stringify({
        name: "ok",
        version: "2.1.0",
        main: "index.js",
      }),
      "app/node_modules/ok/index.js": "",
      "app/node_modules/old/package.json": JSON.stringify({
        name: "old",
        version: "3.0.0",
        main: "index.js",
      }),
      "app/node_modules/old/index.js": "",
      "app/runtime/node_modules/near/package.json": JSON.stringify({
        name: "near",
        version: "1.0.0",
        main: "index.js",
      }),
      "app/runtime/node_modules/near/index.js": "",
      "app/runtime/dist/server.js": "",
    });
    const dist = join(root, "app", "runtime", "dist");
    expect(dependencyProblems(dist, { ok: "^2.0.0", near: "^1.0.0" })).toEqual([]);
    const problems = dependencyProblems(dist, { old: "^2.0.1", gone: "^1.0.0" });
    expect(problems[0]).toMatch(
      /^old: resolves to 3\.0\.0 \(.*app\/node_modules\/old\), but runtime\/package\.json asks for \^2\.0\.1$/,
    );
    expect(problems[1]).toBe(`gone: not found from ${dist}`);
  });
});
