/**
 * Knowledge-base backups through the API: export from an embedded service, import into one on
 * the real PostgreSQL and Redis (moving a corpus from a laptop to a server), idempotent re-import,
 * and every way an archive or a call can be wrong; then the command itself (files, exit codes).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, BackupError, exportArchive, importArchive } from "../src/backup/archive";
import { freePort } from "./oidc-provider";
import { ADMIN_KEY, auth, paper, runEntry, startRuntime, type Runtime } from "./support";

interface Entry {
  name: string;
  content: Buffer;
}

async function entriesOf(archive: Buffer): Promise<Entry[]> {
  const extract = tar.extract();
  Readable.from([gunzipSync(archive)]).pipe(extract);
  const out: Entry[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ name: entry.header.name, content: Buffer.concat(chunks) });
  }
  return out;
}

async function archiveOf(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, size: e.content.length }, e.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

async function exported(
  client: ApiClient,
): Promise<{ archive: Buffer; result: Awaited<ReturnType<typeof exportArchive>> }> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  const result = await exportArchive(client, sink);
  return { archive: Buffer.concat(chunks), result };
}

const importing = (client: ApiClient, archive: Buffer) =>
  importArchive(client, Readable.from([archive]), { wait: true, pollMs: 100 });

async function listen(rt: Runtime): Promise<string> {
  return rt.app.listen({ port: 0, host: "127.0.0.1" });
}

describe("knowledge-base backups through the API", () => {
  let source: Runtime;
  let target: Runtime;
  let sourceUrl: string;
  let targetUrl: string;
  let from: ApiClient;
  let to: ApiClient;
  let archive: Buffer;

  beforeAll(async () => {
    source = await startRuntime("embedded");
    target = await startRuntime("server");
    sourceUrl = await listen(source);
    targetUrl = await listen(target);
    from = new ApiClient(sourceUrl, ADMIN_KEY);
    to = new ApiClient(`${targetUrl}/`, ADMIN_KEY);
    const form = new FormData();
    form.append("metadata", JSON.stringify({ team: "nlp", year: 2019, reviewed: true }));
    form.append("file", new Blob([paper("bert.pdf")], { type: "application/pdf" }), "bert.pdf");
    const uploads = [
      await source.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: {
          name: "lighthouses.md",
          text: "# Lighthouses\n\nKeepers trimmed the wicks every night.",
          contentType: "text/markdown",
          metadata: { team: "history" },
        },
      }),
      await from.call("POST", "/v1/documents", form).then(async (r) => ({
        statusCode: r.status,
        json: async () => (await r.json()) as { id: string },
      })),
      await source.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: { name: "notes.txt", text: "Reciprocal rank fusion merges ranked lists." },
      }),
    ];
    for (const u of uploads) await source.waitReady((await u.json()).id);
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  it("exports every document's original, name, type and metadata, oldest first, after a manifest", async () => {
    const out = await exported(from);
    archive = out.archive;
    expect(out.result).toMatchObject({ documents: 3, skipped: [] });
    const entries = await entriesOf(archive);
    expect(entries[0]!.name).toBe("manifest.json");
    expect(JSON.parse(entries[0]!.content.toString())).toMatchObject({
      format: "rag-platform-backup",
      version: 1,
      documents: 3,
    });
    const docs = entries
      .filter((e) => e.name.endsWith(".json") && e.name !== "manifest.json")
      .map(
        (e) =>
          JSON.parse(e.content.toString()) as {
            id: string;
            name: string;
            metadata: object;
            contentHash: string;
          },
      );
    expect(docs.map((d) => d.name)).toEqual(["lighthouses.md", "bert.pdf", "notes.txt"]);
    expect(docs[1]!.metadata).toEqual({ team: "nlp", year: 2019, reviewed: true });
    const pdf = entries.find((e) => e.name === `documents/${docs[1]!.id}.bin`)!;
    expect(pdf.content.equals(Buffer.from(paper("bert.pdf")))).toBe(true);
    expect(createHash("sha256").update(pdf.content).digest("hex")).toBe(docs[1]!.contentHash);
    expect(out.result.bytes).toBe(
      entries.filter((e) => e.name.endsWith(".bin")).reduce((n, e) => n + e.content.length, 0),
    );
  });

  it("imports into another deployment, which indexes the documents with their metadata and answers from them", async () => {
    expect(await importing(to, archive)).toEqual({
      created: 3,
      existing: 0,
      refused: [],
      ready: 3,
      failed: [],
    });
    const listed = (
      await target.app.inject({ method: "GET", url: "/v1/documents", headers: auth() })
    ).json().items as { name: string; metadata: object; status: string }[];
    expect(listed.map((d) => d.name).sort()).toEqual(["bert.pdf", "lighthouses.md", "notes.txt"]);
    expect(listed.find((d) => d.name === "bert.pdf")).toMatchObject({
      status: "ready",
      metadata: { team: "nlp", year: 2019, reviewed: true },
    });
    const answer = await target.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: {
        question: "masked language model pre-training",
        topK: 1,
        filters: { metadata: { team: "nlp" } },
      },
    });
    expect(answer.json().retrieved[0].documentName).toBe("bert.pdf");
  });

  it("imports the same backup again without creating anything", async () => {
    expect(await importing(to, archive)).toEqual({
      created: 0,
      existing: 3,
      refused: [],
      ready: 0,
      failed: [],
    });
    expect(
      (await target.app.inject({ method: "GET", url: "/v1/documents", headers: auth() })).json()
        .total,
    ).toBe(3);
  });

  it("refuses a document whose bytes were altered in the archive, and imports the rest", async () => {
    const fresh = await startRuntime("embedded");
    try {
      const entries = await entriesOf(archive);
      const note = entries.find((e) => e.content.toString().includes('"name": "notes.txt"'))!;
      const id = (JSON.parse(note.content.toString()) as { id: string }).id;
      const altered = entries.map((e) =>
        e.name === `documents/${id}.bin`
          ? { ...e, content: Buffer.from("Reciprocal rank fusion merges ranked lists!") }
          : e,
      );
      const result = await importing(
        new ApiClient(await listen(fresh), ADMIN_KEY),
        await archiveOf(altered),
      );
      expect(result).toMatchObject({
        created: 2,
        ready: 2,
        refused: [{ name: "notes.txt", reason: expect.stringMatching(/do not match the SHA-256/) }],
      });
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it("names what is wrong with an input that is not a backup, and imports nothing from it", async () => {
    const before = (
      await target.app.inject({ method: "GET", url: "/v1/documents", headers: auth() })
    ).json().total;
    const manifest = (over: object) => ({
      name: "manifest.json",
      content: Buffer.from(
        JSON.stringify({ format: "rag-platform-backup", version: 1, documents: 0, ...over }),
      ),
    });
    const cases: [Buffer, RegExp][] = [
      [Buffer.from("%PDF-1.7 not a backup"), /not a gzip'd backup/],
      [archive.subarray(0, Math.floor(archive.length / 2)), /cut short/],
      [
        await archiveOf([{ name: "documents/x.bin", content: Buffer.from("x") }]),
        /starts with documents\/x.bin, not manifest.json/,
      ],
      [await archiveOf([manifest({ version: 2 })]), /version 2; this runtime reads version 1/],
      [await archiveOf([manifest({ format: "tarball" })]), /names format "tarball"/],
      [await archiveOf([]), /empty/],
    ];
    for (const [input, message] of cases) {
      await expect(importing(to, input), String(message)).rejects.toThrow(message);
    }
    expect(
      (await target.app.inject({ method: "GET", url: "/v1/documents", headers: auth() })).json()
        .total,
    ).toBe(before);
  });

  it("says when the API refuses the key, or cannot be reached", async () => {
    await expect(exported(new ApiClient(sourceUrl, "rag_wrong"))).rejects.toThrow(
      /refused the credentials \(401\): set RAG_API_KEY/,
    );
    const reader = (
      await source.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "backup-reader", role: "reader" },
      })
    ).json().key as string;
    const readerImport = importing(new ApiClient(sourceUrl, reader), archive);
    await expect(readerImport).rejects.toThrow(/403.*role is too weak/);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    await expect(exported(new ApiClient(nobody, ADMIN_KEY))).rejects.toThrow(BackupError);
    await expect(exported(new ApiClient(nobody, ADMIN_KEY))).rejects.toThrow(
      `cannot reach the API at ${nobody} (ECONNREFUSED): is RAG_API_URL right?`,
    );
  });

  it("leaves out (and names) a document whose stored original changed", async () => {
    const [row] = await source.services.db.query<{ object_key: string }>(
      "SELECT object_key FROM documents WHERE name = 'notes.txt'",
    );
    await source.services.store.put(
      row!.object_key,
      new TextEncoder().encode("something else entirely"),
      "text/plain",
    );
    const out = await exported(from);
    expect(out.result).toMatchObject({
      documents: 2,
      skipped: [{ name: "notes.txt", reason: expect.stringMatching(/does not match its SHA-256/) }],
    });
    expect((await entriesOf(out.archive)).filter((e) => e.name.endsWith(".bin"))).toHaveLength(2);
  });

  it("runs as a command: a file never overwritten, stdin for import, exit codes that tell", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rag-backup-"));
    const file = join(dir, "kb.tar.gz");
    const env = { RAG_API_URL: targetUrl, RAG_API_KEY: ADMIN_KEY };
    const out = await runEntry("backup", ["export", "--out", file], env);
    expect(out).toMatchObject({ code: 0, stdout: "" });
    expect(out.stderr).toMatch(/backup: exported 3 document\(s\), [\d.]+ KiB to .*kb.tar.gz/);
    const written = readFileSync(file);
    const again = await runEntry("backup", ["export", "--out", file], env);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/already exists/) });
    expect(readFileSync(file).equals(written), "the existing backup is untouched").toBe(true);

    const imported = await runEntry("backup", ["import"], env, written);
    expect(imported).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(
        /imported 3 document\(s\): 0 new \(0 indexed, 0 failed\), 3 already there, 0 refused/,
      ),
    });
    writeFileSync(join(dir, "bad.tar.gz"), "not a backup");
    expect(
      await runEntry("backup", ["import", "--in", join(dir, "bad.tar.gz")], env),
    ).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^backup: the input is not a gzip'd backup/),
    });
    const noKey = await runEntry("backup", ["export", "--out", join(dir, "nokey.tar.gz")], {
      RAG_API_URL: env.RAG_API_URL,
    });
    expect(noKey).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/refused the credentials \(401\)/),
    });
    expect(existsSync(join(dir, "nokey.tar.gz")), "a failed export leaves no partial file").toBe(
      false,
    );
    expect(await runEntry("backup", [], env)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/give export or import\nusage: backup export/),
    });
    const underNpm = await runEntry("backup", ["export"], {
      ...env,
      npm_lifecycle_event: "backup",
    });
    expect(underNpm, "npm's banner would land in the archive").toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/give --out FILE, or run npm silently/),
    });
    expect(await runEntry("backup", ["import", "--out", file], env)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--out is for export/),
    });
  }, 60_000);
});
