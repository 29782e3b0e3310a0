/**
 * Where uploaded originals live, chosen by OBJECT_STORE_URL's scheme: a local folder
 * (file://, the default under DATA_DIR), S3 (s3://bucket/prefix), Azure Blob
 * (azblob://account/container/prefix) or GCS (gs://bucket/prefix). Cloud clients authenticate
 * with their platform identity (task role, workload identity), never with keys in config.
 * `delete` is secure: every stored version goes, not only the current one.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ObjectStore {
  readonly kind: "local" | "s3" | "azblob" | "gs";
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  delete(key: string): Promise<void>;
  check(): Promise<void>;
}

export class LocalObjectStore implements ObjectStore {
  readonly kind = "local" as const;
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (!p.startsWith(resolve(this.root))) throw new Error(`object key ${key} escapes the store`);
    return p;
  }

  async put(key: string, bytes: Uint8Array, _contentType?: string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes, { mode: 0o600 });
    await rename(tmp, target);
  }

  async get(key: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(this.path(key)));
  }

  /** Overwrites the bytes before unlinking, so the original is not left in free blocks of the file. */
  async delete(key: string): Promise<void> {
    const target = this.path(key);
    const info = await stat(target).catch(() => undefined);
    if (!info) return;
    const handle = await open(target, "r+");
    try {
      await handle.write(Buffer.alloc(info.size), 0, info.size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await unlink(target);
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = join(this.root, `.probe-${randomUUID()}`);
    await writeFile(probe, "ok");
    await unlink(probe);
  }
}

/*
 * Each cloud store makes its client once, on first use, and keeps it: the client caches its
 * credentials or token and reuses its connections. The SDKs load only when their scheme is used.
 */

/**
 * How long a connection to the object store may take to open, and may then sit without a byte
 * moving (not the whole transfer: a large upload keeps sending). The SDK's default is to wait
 * forever, which would hold an upload, or an ingest job, on a connection that went silent.
 */
export const OBJECT_STORE_TIMEOUTS = { connectMs: 5_000, idleMs: 60_000 } as const;

async function s3Client(timeouts: { connectMs: number; idleMs: number }) {
  const s3 = await import("@aws-sdk/client-s3");
  return {
    s3,
    client: new s3.S3Client({
      requestHandler: {
        connectionTimeout: timeouts.connectMs,
        requestTimeout: timeouts.idleMs,
        throwOnRequestTimeout: true,
      },
    }),
  };
}

async function azureContainer(account: string, container: string) {
  const { BlobServiceClient } = await import("@azure/storage-blob");
  const { DefaultAzureCredential } = await import("@azure/identity");
  return new BlobServiceClient(
    `https://${account}.blob.core.windows.net`,
    new DefaultAzureCredential(),
  ).getContainerClient(container);
}

async function gcsBucket(bucket: string) {
  const { Storage } = await import("@google-cloud/storage");
  return new Storage().bucket(bucket);
}

class S3ObjectStore implements ObjectStore {
  readonly kind = "s3" as const;
  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly timeouts: { connectMs: number; idleMs: number },
  ) {}

  private connected?: ReturnType<typeof s3Client>;

  private client() {
    this.connected ??= s3Client(this.timeouts);
    return this.connected;
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const { s3, client } = await this.client();
    await client.send(
      new s3.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: bytes,
        ContentType: contentType,
      }),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    const { s3, client } = await this.client();
    const out = await client.send(
      new s3.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
    );
    return out.Body!.transformToByteArray();
  }

  async delete(key: string): Promise<void> {
    const { s3, client } = await this.client();
    const listed = await client.send(
      new s3.ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: this.prefix + key }),
    );
    const versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter(
      (v) => v.Key === this.prefix + key,
    );
    if (versions.length === 0) return;
    await client.send(
      new s3.DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: versions.map((v) => ({ Key: v.Key!, VersionId: v.VersionId })) },
      }),
    );
  }

  async check(): Promise<void> {
    const { s3, client } = await this.client();
    await client.send(new s3.HeadBucketCommand({ Bucket: this.bucket }));
  }
}

/** A container's client, on first use; createObjectStore's signs in with the platform identity. */
export type AzureContainerConnect = () => ReturnType<typeof azureContainer>;

export class AzureBlobObjectStore implements ObjectStore {
  readonly kind = "azblob" as const;
  constructor(
    private readonly connect: AzureContainerConnect,
    private readonly prefix: string,
  ) {}

  private connected?: ReturnType<AzureContainerConnect>;

  private containerClient() {
    this.connected ??= this.connect();
    return this.connected;
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await (
      await this.containerClient()
    )
      .getBlockBlobClient(this.prefix + key)
      .uploadData(bytes, { blobHTTPHeaders: { blobContentType: contentType } });
  }

  async get(key: string): Promise<Uint8Array> {
    return new Uint8Array(
      await (await this.containerClient()).getBlobClient(this.prefix + key).downloadToBuffer(),
    );
  }

  /**
   * The current version with its snapshots first (where versioning is on, it becomes a previous
   * version), then every previous version by its id. One already gone is no error; any other
   * refusal is, so the caller keeps the document to delete again.
   */
  async delete(key: string): Promise<void> {
    const container = await this.containerClient();
    const name = this.prefix + key;
    await container.getBlobClient(name).deleteIfExists({ deleteSnapshots: "include" });
    for await (const blob of container.listBlobsFlat({ prefix: name, includeVersions: true })) {
      if (blob.name === name && blob.versionId)
        await container.getBlobClient(name).withVersion(blob.versionId).deleteIfExists();
    }
  }

  async check(): Promise<void> {
    await (await this.containerClient()).getProperties();
  }
}

class GcsObjectStore implements ObjectStore {
  readonly kind = "gs" as const;
  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  private connected?: ReturnType<typeof gcsBucket>;

  private bucketHandle() {
    this.connected ??= gcsBucket(this.bucket);
    return this.connected;
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await (
      await this.bucketHandle()
    )
      .file(this.prefix + key)
      .save(Buffer.from(bytes), { contentType, resumable: false });
  }

  async get(key: string): Promise<Uint8Array> {
    const [data] = await (await this.bucketHandle()).file(this.prefix + key).download();
    return new Uint8Array(data);
  }

  async delete(key: string): Promise<void> {
    const bucket = await this.bucketHandle();
    const [files] = await bucket.getFiles({ prefix: this.prefix + key, versions: true });
    await Promise.all(files.filter((f) => f.name === this.prefix + key).map((f) => f.delete()));
  }

  async check(): Promise<void> {
    await (await this.bucketHandle()).getMetadata();
  }
}

export class ObjectStoreUrlError extends Error {}

const withSlash = (p: string) => (p === "" || p.endsWith("/") ? p : `${p}/`);

/** The store for a URL; without one, a folder under DATA_DIR. `timeouts` apply to S3. */
export function createObjectStore(
  url: string | undefined,
  dataDir: string,
  timeouts: { connectMs: number; idleMs: number } = OBJECT_STORE_TIMEOUTS,
): ObjectStore {
  if (!url) return new LocalObjectStore(resolve(dataDir, "objects"));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ObjectStoreUrlError(
      `OBJECT_STORE_URL: got "${url}"; expected file:///path, s3://bucket/prefix, azblob://account/container/prefix or gs://bucket/prefix`,
    );
  }
  const path = parsed.pathname.replace(/^\//, "");
  switch (parsed.protocol) {
    case "file:":
      return new LocalObjectStore(fileURLToPath(parsed));
    case "s3:":
      return new S3ObjectStore(parsed.hostname, withSlash(path), timeouts);
    case "azblob:": {
      const [container, ...rest] = path.split("/");
      if (!container)
        throw new ObjectStoreUrlError(
          `OBJECT_STORE_URL: got "${url}"; azblob URLs name a container: azblob://account/container/prefix`,
        );
      return new AzureBlobObjectStore(
        () => azureContainer(parsed.hostname, container),
        withSlash(rest.join("/")),
      );
    }
    case "gs:":
      return new GcsObjectStore(parsed.hostname, withSlash(path));
    default:
      throw new ObjectStoreUrlError(
        `OBJECT_STORE_URL: got scheme "${parsed.protocol}"; allowed: file:, s3:, azblob:, gs:`,
      );
  }
}
