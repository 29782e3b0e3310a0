import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const REPO_ROOT = resolve(__dirname, "..");

/** The image's build context: the repository root, relative to where Pulumi runs (machine-independent). */
export const BUILD_CONTEXT = relative(process.cwd(), REPO_ROOT) || ".";

/** What the runtime image is built from (runtime/Dockerfile's COPY lines). */
const IMAGE_INPUTS = [
  "package.json",
  "package-lock.json",
  "tsconfig.base.json",
  "runtime/package.json",
  "runtime/tsconfig.json",
  "runtime/tsconfig.build.json",
  "runtime/Dockerfile",
  "runtime/src",
];

function files(path: string): string[] {
  return statSync(path).isDirectory()
    ? readdirSync(path)
        .sort()
        .flatMap((entry) => files(join(path, entry)))
    : [path];
}

/**
 * A content hash of the runtime image's inputs: the same sources give the same tag (no rebuild,
 * no push), any change gives a new immutable tag.
 */
export function runtimeSourceTag(root: string = REPO_ROOT): string {
  const hash = createHash("sha256");
  for (const input of IMAGE_INPUTS) {
    for (const file of files(join(root, input))) {
      hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
    }
  }
  return `src-${hash.digest("hex").slice(0, 16)}`;
}
