/**
 * Knowledge-base backups through the API, so they work against any deployment a user can reach
 * (the dev tier on 127.0.0.1, staging behind its ALB, sme behind its ingress, an embedded service)
 * with an API key and nothing else: no database credentials, no shell in a container.
 *
 * `exportArchive` writes a gzip'd tar: `manifest.json` first, then for each document (oldest
 * first) `documents/<id>.json` (name, content type, metadata, SHA-256, size, status) and
 * `documents/<id>.bin` (the original as uploaded). Indexes are not in it: `importArchive` uploads
 * the originals to a (possibly other) deployment, which parses, chunks and embeds them with its
 * own settings. Uploads are idempotent by content hash, so importing twice, or again after an
 * interruption, adds nothing twice.
 */
import { createHash } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import * as tar from "tar-stream";

export const BACKUP_FORMAT = "rag-platform-backup";
export const BACKUP_VERSION = 1;
const PAGE = 200;

export interface Manifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly exportedAt: string;
  readonly documents: number;
}

/** What a backup keeps of a document besides its bytes. */
export interface DocumentEntry {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly metadata: Record<string, string | number | boolean>;
  readonly contentHash: string;
  readonly sizeBytes: number;
  readonly status: string;
  readonly createdAt: string;
}

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupError";
  }
}

/** The few API calls a backup makes, with errors that say what the server answered. */
export class ApiClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
  }

  async call(method: string, path: string, body?: FormData): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        body,
        headers: this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {},
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new BackupError(
        `cannot reach the API at ${this.base} (${cause?.code ?? cause?.message ?? (error as Error).message}): is RAG_API_URL right?`,
      );
    }
    if (response.status === 401)
      throw new BackupError(
        `the API at ${this.base} refused the credentials (401): set RAG_API_KEY to a valid API key`,
      );
    if (response.status === 403)
      throw new BackupError(
        `${method} ${path}: ${await messageOf(response)} (403): the API key's role is too weak`,
      );
    return response;
  }

  async json<T>(path: string): Promise<T> {
    const response = await this.call("GET", path);
    if (!response.ok)
      throw new BackupError(`GET ${path}: ${response.status} ${await messageOf(response)}`);
    return (await response.json()) as T;
  }
}

async function messageOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text.slice(0, 200);
  }
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Every document, oldest first (pages of the newest-first list, deduplicated). */
async function allDocuments(client: ApiClient): Promise<DocumentEntry[]> {
  const byId = new Map<string, DocumentEntry>();
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.json<{ items: DocumentEntry[] }>(
      `/v1/documents?limit=${PAGE}&offset=${offset}`,
    );
    for (const d of page.items) byId.set(d.id, d);
    if (page.items.length < PAGE) break;
  }
  return [...byId.values()].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
  );
}

export interface ExportResult {
  readonly documents: number;
  readonly bytes: number;
  /** Documents left out, with why (an original gone from the object store, or not what its hash says). */
  readonly skipped: readonly { name: string; reason: string }[];
}

export async function exportArchive(
  client: ApiClient,
  output: Writable,
  log: (line: string) => void = () => undefined,
): Promise<ExportResult> {
  const documents = await allDocuments(client);
  const pack = tar.pack();
  const gzip = createGzip();
  const written = pipeline(pack, gzip, output);
  const add = (name: string, content: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry(
        { name, size: content.length, mode: 0o600, mtime: new Date() },
        content,
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  const skipped: { name: string; reason: string }[] = [];
  let bytes = 0;
  let count = 0;
  try {
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      exportedAt: new Date().toISOString(),
      documents: documents.length,
    };
    await add("manifest.json", Buffer.from(JSON.stringify(manifest, null, 2)));
    for (const doc of documents) {
      const response = await client.call("GET", `/v1/documents/${doc.id}/content`);
      if (!response.ok) {
        skipped.push({ name: doc.name, reason: `${response.status} ${await messageOf(response)}` });
        continue;
      }
      const content = Buffer.from(await response.arrayBuffer());
      if (sha256(content) !== doc.contentHash) {
        skipped.push({
          name: doc.name,
          reason: "the stored original does not match its SHA-256 (changed in the object store)",
        });
        continue;
      }
      const entry = {
        id: doc.id,
        name: doc.name,
        contentType: doc.contentType,
        metadata: doc.metadata,
        contentHash: doc.contentHash,
        sizeBytes: doc.sizeBytes,
        status: doc.status,
        createdAt: doc.createdAt,
      } satisfies DocumentEntry;
      await add(`documents/${doc.id}.json`, Buffer.from(JSON.stringify(entry, null, 2)));
      await add(`documents/${doc.id}.bin`, content);
      bytes += content.length;
      count++;
      log(`exported ${doc.name} (${count}/${documents.length})`);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await written.catch(() => undefined);
    throw error;
  }
  await written;
  return { documents: count, bytes, skipped };
}

export interface ImportResult {
  readonly created: number;
  readonly existing: number;
  /** Documents the target refused, or whose bytes do not match the backup's hash. */
  readonly refused: readonly { name: string; reason: string }[];
  /** After waiting: how the new documents' indexing ended. */
  readonly ready: number;
  readonly failed: readonly { name: string; reason: string }[];
}

/** An entry's bytes (tar-stream yields Buffers; its streamx types say unknown). */
async function readEntry(entry: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseManifest(content: Buffer): Manifest {
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(content.toString("utf8")) as Partial<Manifest>;
  } catch {
    throw new BackupError("manifest.json is not JSON: not a backup written by `backup export`");
  }
  if (manifest.format !== BACKUP_FORMAT)
    throw new BackupError(
      `manifest.json names format ${JSON.stringify(manifest.format)}, not ${BACKUP_FORMAT}`,
    );
  if (manifest.version !== BACKUP_VERSION)
    throw new BackupError(
      `this backup is version ${String(manifest.version)}; this runtime reads version ${BACKUP_VERSION}`,
    );
  return manifest as Manifest;
}

export interface ImportOptions {
  /** Wait until every new document is indexed (ready or failed). */
  readonly wait: boolean;
  readonly log?: (line: string) => void;
  readonly pollMs?: number;
}

export async function importArchive(
  client: ApiClient,
  input: Readable,
  options: ImportOptions,
): Promise<ImportResult> {
  const log = options.log ?? (() => undefined);
  const extract = tar.extract();
  const reading = pipeline(input, createGunzip(), extract).catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    throw new BackupError(
      code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR"
        ? "the input is not a gzip'd backup, or it is cut short: give a file written by `backup export`"
        : `the backup cannot be read (${(error as Error).message})`,
    );
  });
  const created: { id: string; name: string }[] = [];
  const refused: { name: string; reason: string }[] = [];
  let existing = 0;
  let manifest: Manifest | undefined;
  let pending: DocumentEntry | undefined;
  let seen = 0;
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      const content = await readEntry(entry);
      if (!manifest) {
        if (name !== "manifest.json")
          throw new BackupError(
            `the archive starts with ${name}, not manifest.json: not a backup written by \`backup export\``,
          );
        manifest = parseManifest(content);
        log(`backup of ${manifest.documents} document(s) from ${manifest.exportedAt}`);
        continue;
      }
      if (/^documents\/[^/]+\.json$/.test(name)) {
        try {
          pending = JSON.parse(content.toString("utf8")) as DocumentEntry;
        } catch {
          throw new BackupError(`${name} in the backup is not JSON`);
        }
        continue;
      }
      if (!pending || name !== `documents/${pending.id}.bin`)
        throw new BackupError(`unexpected entry ${name} in the backup`);
      const doc = pending;
      pending = undefined;
      seen++;
      if (sha256(content) !== doc.contentHash) {
        refused.push({
          name: doc.name,
          reason:
            "its bytes do not match the SHA-256 the backup recorded (the archive was altered)",
        });
        continue;
      }
      const form = new FormData();
      form.append("metadata", JSON.stringify(doc.metadata ?? {}));
      form.append("file", new Blob([content], { type: doc.contentType }), doc.name);
      const response = await client.call("POST", "/v1/documents", form);
      if (response.status >= 500)
        throw new BackupError(
          `the API failed on ${doc.name}: ${response.status} ${await messageOf(response)} (importing again skips what is already there)`,
        );
      if (!response.ok) {
        refused.push({ name: doc.name, reason: `${response.status} ${await messageOf(response)}` });
        continue;
      }
      const stored = (await response.json()) as { id: string };
      if (response.status === 202) created.push({ id: stored.id, name: doc.name });
      else existing++;
      log(
        `${response.status === 202 ? "uploaded" : "already there:"} ${doc.name} (${seen}/${manifest.documents})`,
      );
    }
    await reading;
  } catch (error) {
    extract.destroy();
    const readError = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    // Ours first (what was wrong in the archive), then why the stream broke (not gzip, cut short).
    throw error instanceof BackupError || !(readError instanceof BackupError) ? error : readError;
  }
  if (!manifest)
    throw new BackupError("the archive is empty: not a backup written by `backup export`");

  let ready = 0;
  const failed: { name: string; reason: string }[] = [];
  if (options.wait) {
    let waiting = created;
    if (waiting.length > 0) log(`waiting for ${waiting.length} document(s) to be indexed`);
    while (waiting.length > 0) {
      const still: typeof waiting = [];
      for (const doc of waiting) {
        const state = await client.json<{ status: string; error: string | null }>(
          `/v1/documents/${doc.id}`,
        );
        if (state.status === "ready") ready++;
        else if (state.status === "failed")
          failed.push({ name: doc.name, reason: state.error ?? "failed" });
        else still.push(doc);
      }
      waiting = still;
      if (waiting.length > 0)
        await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    }
  }
  return { created: created.length, existing, refused, ready, failed };
}
