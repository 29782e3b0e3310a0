/**
 * Where uploaded originals live, chosen by OBJECT_STORE_URL's scheme: a local folder
 * (file://, the default under DATA_DIR), S3 (s3://bucket/prefix, `?region=` for a bucket of
 * another region than the process's), Azure Blob
 * (azblob://account/container/prefix) or GCS (gs://bucket/prefix). Cloud clients authenticate
 * with their platform identity (task role, workload identity), never with keys in config.
 * `delete` is secure: every stored version goes, not only the current one. It is idempotent: a
 * key already gone, or going at the same time through another process, is no error.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** An object as listed: its key in the store, and when it was last written. */
export interface StoredObject {
  readonly key: string;
  readonly modifiedAt: Date;
}

export interface ObjectStore {
  readonly kind: "local" | "s3" | "azblob" | "gs";
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  delete(key: string): Promise<void>;
  /**
   * The objects whose keys start with `prefix`, as they are now (a local store's temporary files
   * of unfinished writes included); versions a delete or a replacement left behind are the
   * bucket's lifecycle rules' to expire.
   */
  list(prefix: string): AsyncIterable<StoredObject>;
  /**
   * Every key under `prefix` that has any version left, a key whose latest version is a delete
   * marker included (what a secure delete of a prefix must reach). @default - list()'s keys
   */
  listAnyVersion?(prefix: string): AsyncIterable<string>;
  check(): Promise<void>;
}

const isMissing = (error: unknown) => (error as { code?: string }).code === "ENOENT";

/** An object the store does not have, on any backend. */
export function isMissingObject(error: unknown): boolean {
  const e = error as {
    code?: string | number;
    name?: string;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  return (
    e?.code === "ENOENT" ||
    e?.name === "NoSuchKey" ||
    e?.statusCode === 404 ||
    e?.code === 404 ||
    e?.$metadata?.httpStatusCode === 404
  );
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
    // Written whole, then renamed into place: a reader never sees part of an original. A process
    // killed meanwhile leaves this file, for the orphan sweep (storage/sweeper.ts).
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
    let handle;
    try {
      handle = await open(target, "r+");
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      await handle.write(Buffer.alloc(size), 0, size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await unlink(target).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const from = this.path(prefix.slice(0, prefix.lastIndexOf("/") + 1) || ".");
    const names = await readdir(from, { recursive: true }).catch((error: unknown) => {
      if (isMissing(error)) return [];
      throw error;
    });
    for (const name of names) {
      const path = join(from, name);
      const key = relative(this.root, path).split(sep).join("/");
      if (!key.startsWith(prefix)) continue;
      const info = await stat(path).catch(() => undefined); // gone meanwhile
      if (info?.isFile()) yield { key, modifiedAt: info.mtime };
    }
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

async function s3Client(timeouts: { connectMs: number; idleMs: number }, region?: string) {
  const s3 = await import("@aws-sdk/client-s3");
  return {
    s3,
    client: new s3.S3Client({
      ...(region ? { region } : {}),
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

export class S3ObjectStore implements ObjectStore {
  readonly kind = "s3" as const;
  /**
   * @param region the bucket's region, when it is not the process's (AWS_REGION): a bucket of
   * another region, reached without a redirect on every call
   */
  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly timeouts: { connectMs: number; idleMs: number },
    readonly region?: string,
  ) {}

  private connected?: ReturnType<typeof s3Client>;

  private client() {
    this.connected ??= s3Client(this.timeouts, this.region);
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
    // A refusal comes back in the answer's Errors, not as an error of the call.
    const { Errors: refused = [] } = await client.send(
      new s3.DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: versions.map((v) => ({ Key: v.Key!, VersionId: v.VersionId })) },
      }),
    );
    if (refused.length > 0)
      throw new Error(
        `S3 refused to delete ${refused.length} version(s) of ${this.prefix + key}: ${refused[0]!.Code} ${refused[0]!.Message}`,
      );
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const { s3, client } = await this.client();
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(
        new s3.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken,
        }),
      );
      for (const object of page.Contents ?? [])
        yield { key: object.Key!.slice(this.prefix.length), modifiedAt: object.LastModified! };
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async *listAnyVersion(prefix: string): AsyncIterable<string> {
    const { s3, client } = await this.client();
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    const seen = new Set<string>();
    do {
      const page = await client.send(
        new s3.ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          KeyMarker,
          VersionIdMarker,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        const key = v.Key!.slice(this.prefix.length);
        if (!seen.has(key)) yield key;
        seen.add(key);
      }
      [KeyMarker, VersionIdMarker] = page.IsTruncated
        ? [page.NextKeyMarker, page.NextVersionIdMarker]
        : [undefined, undefined];
    } while (KeyMarker);
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

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const container = await this.containerClient();
    for await (const blob of container.listBlobsFlat({ prefix: this.prefix + prefix }))
      yield { key: blob.name.slice(this.prefix.length), modifiedAt: blob.properties.lastModified };
  }

  async check(): Promise<void> {
    await (await this.containerClient()).getProperties();
  }
}

/** A bucket's handle, on first use; createObjectStore's signs in with the platform identity. */
export type GcsBucketConnect = () => ReturnType<typeof gcsBucket>;

export class GcsObjectStore implements ObjectStore {
  readonly kind = "gs" as const;
  constructor(
    private readonly connect: GcsBucketConnect,
    private readonly prefix: string,
  ) {}

  private connected?: ReturnType<GcsBucketConnect>;

  private bucketHandle() {
    this.connected ??= this.connect();
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
    await Promise.all(
      files
        .filter((f) => f.name === this.prefix + key)
        .map((f) => f.delete({ ignoreNotFound: true })),
    );
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const bucket = await this.bucketHandle();
    let pageToken: string | undefined;
    do {
      const [files, next] = await bucket.getFiles({
        prefix: this.prefix + prefix,
        autoPaginate: false,
        pageToken,
      });
      for (const file of files)
        yield {
          key: file.name.slice(this.prefix.length),
          modifiedAt: new Date(file.metadata.updated!),
        };
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
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
    case "s3:": {
      const region = parsed.searchParams.get("region") ?? undefined;
      if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
        throw new ObjectStoreUrlError(
          `OBJECT_STORE_URL: got region "${region}"; expected an AWS region (s3://bucket/prefix?region=eu-west-1)`,
        );
      return new S3ObjectStore(parsed.hostname, withSlash(path), timeouts, region);
    }
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
      return new GcsObjectStore(() => gcsBucket(parsed.hostname), withSlash(path));
    default:
      throw new ObjectStoreUrlError(
        `OBJECT_STORE_URL: got scheme "${parsed.protocol}"; allowed: file:, s3:, azblob:, gs:`,
      );
  }
}
