/** Documents for the retention tests: uploaded and indexed, aged, and what is stored of them. */
import { expect } from "vitest";
import { auth, type Runtime } from "../support";

/**
 * Uploads a text document in `collection` (none: no rule matches it), labelled `classification`
 * (none: the default label), and waits until it is indexed.
 */
export async function upload(
  rt: Runtime,
  name: string,
  collection?: string,
  classification?: string,
): Promise<string> {
  const res = await rt.app.inject({
    method: "POST",
    url: "/v1/documents",
    headers: auth(),
    payload: {
      name,
      text: `# ${name}\n\nThe record ${name} concerns the harbour crane inspection.`,
      ...(classification ? { classification } : {}),
      ...(collection ? { metadata: { collection } } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(202);
  await rt.waitReady(res.json().id);
  return res.json().id;
}

export async function age(rt: Runtime, id: string, days: number): Promise<void> {
  await rt.services.db.query(
    "UPDATE documents SET created_at = now() - $2 * interval '1 day' WHERE id = $1",
    [id, days],
  );
}

/** What is stored of a document: its row, chunks, postings, vectors, and whether its original is there. */
export async function stored(rt: Runtime, id: string) {
  const [row] = await rt.services.db.query<{ object_key: string }>(
    "SELECT object_key FROM documents WHERE id = $1",
    [id],
  );
  const [counts] = await rt.services.db.query<{
    chunks: number;
    postings: number;
    vectors: number;
  }>(
    `SELECT (SELECT count(*) FROM chunks WHERE document_id = $1)::int AS chunks,
            (SELECT count(*) FROM postings WHERE chunk_id LIKE $2)::int AS postings,
            (SELECT count(*) FROM chunk_vectors WHERE chunk_id LIKE $2)::int AS vectors`,
    [id, `${id}:%`],
  );
  return { document: row !== undefined, ...counts! };
}
