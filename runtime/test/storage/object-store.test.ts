import { linkSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AzureBlobObjectStore,
  createObjectStore,
  GcsObjectStore,
  LocalObjectStore,
  ObjectStoreUrlError,
  S3ObjectStore,
  type ObjectStore,
} from "../../src/storage/object-store";
import { ReplicatedObjectStore } from "../../src/storage/replicated-store";
import { silentServer } from "../support";
import {
  pointS3At,
  versionedBlobStandIn,
  versionedGcsStandIn,
  versionedS3StandIn,
} from "./stand-ins";

/** What `list` gives, by key: each object's age in whole minutes. */
async function ages(store: ObjectStore, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const object of store.list(prefix))
    out[object.key] = Math.round((Date.now() - object.modifiedAt.getTime()) / 60_000);
  return out;
}
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

describe("the local object store", () => {
  it("stores, reads and securely deletes", async () => {
    const root = mkdtempSync(join(tmpdir(), "objects-"));
    const store = new LocalObjectStore(root);
    await store.put("documents/abc", new TextEncoder().encode("secret contents"), "text/plain");
    expect(new TextDecoder().decode(await store.get("documents/abc"))).toBe("secret contents");
    expect(readFileSync(join(root, "documents/abc"), "utf8")).toBe("secret contents");
    // A second name for the same file shows what happened to the bytes themselves.
    linkSync(join(root, "documents/abc"), join(root, "witness"));
    await store.delete("documents/abc");
    await expect(store.get("documents/abc")).rejects.toThrow(/ENOENT/);
    expect(readFileSync(join(root, "witness"))).toEqual(Buffer.alloc("secret contents".length));
    await store.delete("documents/abc");
  });

  it("lists the files under a prefix with their age, a write's temporary file included", async () => {
    const root = mkdtempSync(join(tmpdir(), "objects-"));
    const store = new LocalObjectStore(root);
    await store.put("documents/a", new TextEncoder().encode("a"), "text/plain");
    await store.put("elsewhere/b", new TextEncoder().encode("b"), "text/plain");
    // What a process killed mid-write leaves: the temporary file, never renamed into place.
    writeFileSync(join(root, "documents", "c.0b1e.tmp"), "half");
    utimesSync(join(root, "documents", "c.0b1e.tmp"), minutesAgo(90), minutesAgo(90));
    mkdirSync(join(root, "documents", "nested"));
    writeFileSync(join(root, "documents", "nested", "d"), "d");
    expect(await ages(store, "documents/")).toEqual({
      "documents/a": 0,
      "documents/c.0b1e.tmp": 90,
      "documents/nested/d": 0,
    });
    expect(await ages(new LocalObjectStore(join(root, "missing")), "documents/")).toEqual({});
  });

  it("deletes a key already gone, or going in another process at the same time, without error", async () => {
    const store = new LocalObjectStore(mkdtempSync(join(tmpdir(), "objects-")));
    await store.put("documents/twice", new TextEncoder().encode("x".repeat(4096)), "text/plain");
    await Promise.all([store.delete("documents/twice"), store.delete("documents/twice")]);
    await store.delete("documents/twice");
    expect(await ages(store, "documents/")).toEqual({});
  });

  it("refuses keys that escape its folder", async () => {
    const store = new LocalObjectStore(mkdtempSync(join(tmpdir(), "objects-")));
    await expect(store.put("../outside", new Uint8Array([1]), "text/plain")).rejects.toThrow(
      "object key ../outside escapes the store",
    );
  });
});

describe("choosing a store by URL", () => {
  it("maps schemes to stores", () => {
    expect(createObjectStore(undefined, "/tmp/x").kind).toBe("local");
    expect(createObjectStore("file:///srv/docs", "/tmp").kind).toBe("local");
    expect(createObjectStore("s3://bucket/prefix", "/tmp").kind).toBe("s3");
    expect(createObjectStore("azblob://account/container/prefix", "/tmp").kind).toBe("azblob");
    expect(createObjectStore("gs://bucket/documents", "/tmp").kind).toBe("gs");
  });

  it("reaches an S3 bucket of another region by the URL's region", () => {
    const store = createObjectStore("s3://bucket/prefix?region=eu-west-1", "/tmp");
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect((store as S3ObjectStore).region).toBe("eu-west-1");
    expect((createObjectStore("s3://bucket/prefix", "/tmp") as S3ObjectStore).region).toBe(
      undefined,
    );
    expect(() => createObjectStore("s3://bucket/prefix?region=west", "/tmp")).toThrow(
      new ObjectStoreUrlError(
        'OBJECT_STORE_URL: got region "west"; expected an AWS region (s3://bucket/prefix?region=eu-west-1)',
      ),
    );
  });

  it("names what is wrong with a bad URL", () => {
    expect(() => createObjectStore("ftp://host/x", "/tmp")).toThrow(
      new ObjectStoreUrlError(
        'OBJECT_STORE_URL: got scheme "ftp:"; allowed: file:, s3:, azblob:, gs:',
      ),
    );
    expect(() => createObjectStore("azblob://account", "/tmp")).toThrow(
      /azblob URLs name a container/,
    );
    expect(() => createObjectStore("not a url", "/tmp")).toThrow(
      /expected file:\/\/\/path, s3:\/\/bucket\/prefix/,
    );
  });
});

describe("the S3 store, speaking the S3 API with the AWS SDK to a local stand-in", () => {
  let restoreEnv: () => void;
  let standIn: Awaited<ReturnType<typeof versionedS3StandIn>>;
  beforeAll(async () => {
    standIn = await versionedS3StandIn("docs", 2);
    restoreEnv = pointS3At(standIn.url);
  });
  afterAll(async () => {
    restoreEnv();
    await standIn.close();
  });

  it("stores under its prefix, reads the latest version, and deletes every version of exactly that key", async () => {
    const store = createObjectStore("s3://docs/rag", "/tmp");
    await store.check();
    await store.put("documents/abc", new TextEncoder().encode("first"), "text/plain");
    await store.put("documents/abc", new TextEncoder().encode("second"), "text/plain");
    await store.put("documents/abcd", new TextEncoder().encode("neighbour"), "text/plain");
    expect(new TextDecoder().decode(await store.get("documents/abc"))).toBe("second");
    // A delete marker left by someone else's plain DELETE is removed too.
    standIn.objects.get("rag/documents/abc")!.push({ versionId: "marker", deleteMarker: true });

    await store.delete("documents/abc");
    expect(standIn.objects.get("rag/documents/abc")).toEqual([]);
    expect(new TextDecoder().decode(await store.get("documents/abcd"))).toBe("neighbour");
    await expect(store.get("documents/abc")).rejects.toThrow(/no such key/);
    await store.delete("documents/abc");
    for (let i = 0; i < 10; i++) await store.get("documents/abcd");
    // One client for the store's life, whose connections are kept and reused (a client per call
    // would open one per request: 19 here).
    expect(standIn.connections()).toBeLessThanOrEqual(3);
  });

  it("as a region's replica: reads it first, falls back to the store, and removes its copies' every version", async () => {
    const enc = (t: string) => new TextEncoder().encode(t);
    const primary = createObjectStore("s3://docs/primary?region=eu-west-1", "/tmp");
    const replica = createObjectStore("s3://docs/replica?region=eu-central-1", "/tmp");
    const store = new ReplicatedObjectStore(primary, replica);
    await store.put("documents/d1", enc("original"), "text/plain");
    expect(standIn.objects.get("primary/documents/d1")).toHaveLength(1);
    expect(standIn.objects.has("replica/documents/d1")).toBe(false);
    // Not copied yet: read from the store.
    expect(new TextDecoder().decode(await store.get("documents/d1"))).toBe("original");
    // Copied (twice, as a rewrite leaves a version behind), and a neighbour's copy.
    await replica.put("documents/d1", enc("copy 1"), "text/plain");
    await replica.put("documents/d1", enc("copy"), "text/plain");
    await replica.put("ingest/d1/h/chunks.json", enc("[]"), "application/json");
    await replica.put("ingest/d2/h/chunks.json", enc("[]"), "application/json");
    standIn.objects.get("replica/ingest/d1/h/chunks.json")!.push({
      versionId: "marker",
      deleteMarker: true,
    });
    expect(new TextDecoder().decode(await store.get("documents/d1"))).toBe("copy");

    await store.removeFromReplica(["documents/d1"], ["ingest/d1/"]);
    expect(standIn.objects.get("replica/documents/d1")).toEqual([]);
    expect(standIn.objects.get("replica/ingest/d1/h/chunks.json")).toEqual([]);
    expect(standIn.objects.get("replica/ingest/d2/h/chunks.json")).toHaveLength(1);
    expect(standIn.objects.get("primary/documents/d1")).toHaveLength(1);
    // Again, with nothing left: no error.
    await store.removeFromReplica(["documents/d1"], ["ingest/d1/"]);
  });

  it("fails its check on a bucket that is not there", async () => {
    await expect(createObjectStore("s3://missing/rag", "/tmp").check()).rejects.toThrow();
  });

  it("lists the current objects under its prefix with their age, page after page", async () => {
    const store = createObjectStore("s3://docs/rag", "/tmp");
    for (const key of ["listed/a", "listed/b", "listed/c", "elsewhere/x", "listed/gone"])
      await store.put(key, new TextEncoder().encode(key), "text/plain");
    standIn.objects.get("rag/listed/b")!.at(-1)!.modifiedAt = minutesAgo(90);
    standIn.objects.get("rag/listed/gone")!.push({ versionId: "marker", deleteMarker: true });
    expect(await ages(store, "listed/")).toEqual({ "listed/a": 0, "listed/b": 90, "listed/c": 0 });
  });

  it("fails a delete that S3 refused in its answer, leaving the caller to try again", async () => {
    const store = createObjectStore("s3://docs/rag", "/tmp");
    await store.put("refused/a", new TextEncoder().encode("kept"), "text/plain");
    standIn.refuse.add("rag/refused/a");
    await expect(store.delete("refused/a")).rejects.toThrow(
      "S3 refused to delete 1 version(s) of rag/refused/a: AccessDenied Access Denied",
    );
    expect(standIn.objects.get("rag/refused/a")).toHaveLength(1);
    standIn.refuse.delete("rag/refused/a");
    await store.delete("refused/a");
    expect(standIn.objects.get("rag/refused/a")).toEqual([]);
  });
});

describe("the S3 store, when S3 goes silent", () => {
  let restoreEnv: () => void;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    silent = await silentServer();
    restoreEnv = pointS3At(silent.url);
  });
  afterAll(async () => {
    restoreEnv();
    await silent.close();
  });

  it(
    "gives up on a connection that carries nothing for the idle timeout, instead of waiting forever",
    { timeout: 15_000 },
    async () => {
      const store = createObjectStore("s3://docs/rag", "/tmp", { connectMs: 1_000, idleMs: 300 });
      await expect(store.get("documents/abc")).rejects.toThrow();
      await expect(
        store.put("documents/abc", new TextEncoder().encode("x"), "text/plain"),
      ).rejects.toThrow();
      expect(silent.connections(), "the requests did reach the endpoint").toBeGreaterThan(0);
    },
  );
});

describe("the Azure Blob store, speaking the Blob API with the Azure SDK to a local stand-in", () => {
  let standIn: Awaited<ReturnType<typeof versionedBlobStandIn>>;
  let store: AzureBlobObjectStore;
  beforeAll(async () => {
    standIn = await versionedBlobStandIn("account", "docs");
    const { BlobServiceClient, StorageSharedKeyCredential } = await import("@azure/storage-blob");
    const credential = new StorageSharedKeyCredential(
      "account",
      Buffer.from("stand-in key").toString("base64"),
    );
    store = new AzureBlobObjectStore(
      async () => new BlobServiceClient(standIn.url, credential).getContainerClient("docs"),
      "rag/",
    );
  });
  afterAll(async () => standIn.close());

  it("stores under its prefix, reads the current version, and deletes every version of exactly that key", async () => {
    await store.check();
    await store.put("documents/abc", new TextEncoder().encode("first"), "text/plain");
    await store.put("documents/abc", new TextEncoder().encode("second"), "text/plain");
    await store.put("documents/abcd", new TextEncoder().encode("neighbour"), "text/plain");
    expect(new TextDecoder().decode(await store.get("documents/abc"))).toBe("second");
    expect(standIn.blobs.get("rag/documents/abc")).toHaveLength(2);

    await store.delete("documents/abc");
    expect(standIn.blobs.get("rag/documents/abc")).toEqual([]);
    expect(new TextDecoder().decode(await store.get("documents/abcd"))).toBe("neighbour");
    await expect(store.get("documents/abc")).rejects.toThrow();
    await store.delete("documents/abc");
  });

  it("removes what a delete earlier left behind: previous versions with no current one", async () => {
    await store.put("documents/left", new TextEncoder().encode("old"), "text/plain");
    for (const v of standIn.blobs.get("rag/documents/left")!) v.current = false;
    await store.delete("documents/left");
    expect(standIn.blobs.get("rag/documents/left")).toEqual([]);
  });

  it("fails when the service refuses a delete, leaving the caller to try again", async () => {
    await store.put("documents/kept", new TextEncoder().encode("kept"), "text/plain");
    standIn.refuse.add("rag/documents/kept");
    await expect(store.delete("documents/kept")).rejects.toThrow(/AuthorizationPermissionMismatch/);
    standIn.refuse.delete("rag/documents/kept");
    await store.delete("documents/kept");
    expect(standIn.blobs.get("rag/documents/kept")).toEqual([]);
  });

  it("lists the current blobs under its prefix with their age", async () => {
    for (const key of ["listed/a", "listed/b", "listed/b", "elsewhere/x", "listed/gone"])
      await store.put(key, new TextEncoder().encode(key), "text/plain");
    standIn.blobs.get("rag/listed/b")!.at(-1)!.modifiedAt = minutesAgo(90);
    for (const v of standIn.blobs.get("rag/listed/gone")!) v.current = false;
    expect(await ages(store, "listed/")).toEqual({ "listed/a": 0, "listed/b": 90 });
  });
});

describe("the GCS store, speaking the JSON API with the Cloud Storage SDK to a local stand-in", () => {
  let standIn: Awaited<ReturnType<typeof versionedGcsStandIn>>;
  let store: GcsObjectStore;
  beforeAll(async () => {
    standIn = await versionedGcsStandIn("docs", 2);
    const { Storage } = await import("@google-cloud/storage");
    store = new GcsObjectStore(
      async () => new Storage({ apiEndpoint: standIn.url, projectId: "stand-in" }).bucket("docs"),
      "rag/",
    );
  });
  afterAll(async () => standIn.close());

  it("lists the live objects under its prefix with their age, page after page", async () => {
    await store.check();
    standIn.write("rag/listed/a", "a");
    standIn.write("rag/listed/b", "b", minutesAgo(90));
    standIn.write("rag/listed/c", "old c", minutesAgo(300));
    standIn.write("rag/listed/c", "c");
    standIn.write("rag/elsewhere/x", "x");
    standIn.write("rag/listed/gone", "gone");
    standIn.objects.get("rag/listed/gone")![0]!.live = false;
    expect(await ages(store, "listed/")).toEqual({ "listed/a": 0, "listed/b": 90, "listed/c": 0 });
  });

  it("deletes every generation of exactly that key, and again, or at once twice, without error", async () => {
    standIn.write("rag/documents/abc", "first");
    standIn.write("rag/documents/abc", "second");
    standIn.write("rag/documents/abcd", "neighbour");
    await store.delete("documents/abc");
    expect(standIn.objects.get("rag/documents/abc")).toEqual([]);
    expect(standIn.objects.get("rag/documents/abcd")).toHaveLength(1);
    await store.delete("documents/abc");
    standIn.write("rag/documents/raced", "one");
    standIn.write("rag/documents/raced", "two");
    await Promise.all([store.delete("documents/raced"), store.delete("documents/raced")]);
    expect(standIn.objects.get("rag/documents/raced")).toEqual([]);
  });
});
