import { linkSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createObjectStore, LocalObjectStore, ObjectStoreUrlError } from "../../src/storage/object-store";

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

  it("refuses keys that escape its folder", async () => {
    const store = new LocalObjectStore(mkdtempSync(join(tmpdir(), "objects-")));
    await expect(store.put("../outside", new Uint8Array([1]), "text/plain")).rejects.toThrow("object key ../outside escapes the store");
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

  it("names what is wrong with a bad URL", () => {
    expect(() => createObjectStore("ftp://host/x", "/tmp")).toThrow(new ObjectStoreUrlError('OBJECT_STORE_URL: got scheme "ftp:"; allowed: file:, s3:, azblob:, gs:'));
    expect(() => createObjectStore("azblob://account", "/tmp")).toThrow(/azblob URLs name a container/);
    expect(() => createObjectStore("not a url", "/tmp")).toThrow(/expected file:\/\/\/path, s3:\/\/bucket\/prefix/);
  });
});
