/**
 * Where a self-hosted model's weights come from, when not Hugging Face's public hub under the
 * model's id: the organisation's own store. `s3://bucket/prefix` (read with the model server's
 * own AWS role) or `hf://org/repo@<commit>` (a private repository, its token from the secret
 * store, its revision pinned to a commit).
 */
export type ModelSource =
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string }
  | { readonly kind: "huggingface"; readonly repo: string; readonly revision: string };

const S3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(\S+?)\/?$/;
const HF = /^hf:\/\/([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)@([0-9a-f]{40})$/;

/** The source `text` names, or what is wrong with it (one line). */
export function parseModelSource(text: string): ModelSource | { readonly error: string } {
  const s3 = S3.exec(text);
  if (s3) return { kind: "s3", bucket: s3[1]!, prefix: s3[2]! };
  const hf = HF.exec(text);
  if (hf) return { kind: "huggingface", repo: hf[1]!, revision: hf[2]! };
  if (text.startsWith("hf://"))
    return {
      error:
        "must be hf://<org>/<repo>@<commit>, the revision pinned to a 40-character commit hash",
    };
  return {
    error: "must be s3://<bucket>/<prefix> or hf://<org>/<repo>@<40-character commit hash>",
  };
}
