/**
 * Documents from hostile testing (issue 21), uploaded through the API and indexed by the worker,
 * embedded and against the real PostgreSQL and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DocumentView } from "../../src/ingest/documents";
import { waitFor } from "../../src/queue/queue";
import { auth, MODES, multipart, startRuntime, type Runtime } from "../support";

/** `s` in UTF-16 after its byte-order mark, as Windows tools save text. */
function utf16(s: string, order: "le" | "be"): Uint8Array {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
  return new Uint8Array(order === "le" ? le : Buffer.from(le).swap16());
}

describe.each(MODES)("hostile documents (%s)", (mode) => {
  let rt: Runtime;

  beforeAll(async () => {
    rt = await startRuntime(mode);
  }, 60_000);
  afterAll(async () => rt?.close());

  async function upload(name: string, type: string, bytes: Uint8Array): Promise<string> {
    const form = multipart({ name, type, bytes });
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...form.headers },
      payload: form.payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    return res.json<{ id: string }>().id;
  }

  async function settled(id: string): Promise<DocumentView> {
    let doc: DocumentView | undefined;
    await waitFor(
      async () => {
        doc = await rt.services.documents.get(id);
        return doc?.status === "ready" || doc?.status === "failed";
      },
      60_000,
      `document ${id} to be indexed or to fail`,
    );
    return doc!;
  }

  async function retrieve(question: string, documentId: string): Promise<string[]> {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question, filters: { documentIds: [documentId] } },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ retrieved: { text: string }[] }>().retrieved.map((r) => r.text);
  }

  it("indexes UTF-16 text with a byte-order mark, little- and big-endian", async () => {
    const note = "Die Grubenarbeiter nahmen Kanarienvögel mit: sie warnen vor Kohlenmonoxid.";
    const le = await upload("notiz.txt", "application/octet-stream", utf16(note, "le"));
    const be = await upload("notiz.md", "text/markdown", utf16(`# Notiz\n\n${note} Ja.`, "be"));
    for (const id of [le, be]) {
      expect(await settled(id)).toMatchObject({ status: "ready", error: null });
      expect((await retrieve("Kanarienvögel Kohlenmonoxid", id))[0]).toContain(note);
    }
  });
});
