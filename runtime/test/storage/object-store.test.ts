import { linkSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AzureBlobObjectStore,
  createObjectStore,
  LocalObjectStore,
  ObjectStoreUrlError,
} from "../../src/storage/object-store";
import { silentServer } from "../support";

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

/**
 * A local stand-in for the few S3 calls the store makes (PUT, GET, HEAD bucket, ListObjectVersions,
 * DeleteObjects), keeping every version as a versioned bucket does. It is not S3: it checks what
 * our store asks of the real SDK over real HTTP, not how S3 answers.
 */
async function versionedS3StandIn(bucket: string) {
  const objects = new Map<string, { versionId: string; body?: Buffer; deleteMarker?: boolean }[]>();
  let counter = 0;
  let connections = 0;
  const xml = (res: ServerResponse, status: number, body: string) => {
    res
      .writeHead(status, { "content-type": "application/xml" })
      .end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://stand-in");
      const [, name, ...rest] = url.pathname.split("/");
      const key = decodeURIComponent(rest.join("/"));
      if (name !== bucket)
        return xml(
          res,
          404,
          "<Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>",
        );
      const versions = objects.get(key) ?? [];
      if (req.method === "HEAD" && !key) return res.writeHead(200).end();
      if (req.method === "PUT" && key) {
        const versionId = `v${++counter}`;
        objects.set(key, [...versions, { versionId, body: Buffer.concat(chunks) }]);
        return res.writeHead(200, { "x-amz-version-id": versionId, etag: `"${versionId}"` }).end();
      }
      if (req.method === "GET" && key) {
        const latest = versions.at(-1);
        if (!latest || latest.deleteMarker)
          return xml(
            res,
            404,
            "<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>",
          );
        return res.writeHead(200, { "content-length": latest.body!.length }).end(latest.body);
      }
      if (req.method === "GET" && url.searchParams.has("versions")) {
        const prefix = url.searchParams.get("prefix") ?? "";
        const entries = [...objects]
          .filter(([k]) => k.startsWith(prefix))
          .flatMap(([k, vs]) =>
            vs.map((v, i) => {
              const tag = v.deleteMarker ? "DeleteMarker" : "Version";
              return `<${tag}><Key>${k}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${i === vs.length - 1}</IsLatest></${tag}>`;
            }),
          );
        return xml(
          res,
          200,
          `<ListVersionsResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><IsTruncated>false</IsTruncated>${entries.join("")}</ListVersionsResult>`,
        );
      }
      if (req.method === "POST" && url.searchParams.has("delete")) {
        const deleted = [
          ...Buffer.concat(chunks)
            .toString()
            .matchAll(/<Object><Key>(.*?)<\/Key><VersionId>(.*?)<\/VersionId><\/Object>/g),
        ].map(([, k, v]) => {
          objects.set(
            k!,
            (objects.get(k!) ?? []).filter((x) => x.versionId !== v),
          );
          return `<Deleted><Key>${k}</Key><VersionId>${v}</VersionId></Deleted>`;
        });
        return xml(res, 200, `<DeleteResult>${deleted.join("")}</DeleteResult>`);
      }
      return xml(
        res,
        501,
        "<Error><Code>NotImplemented</Code><Message>not in the stand-in</Message></Error>",
      );
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    connections: () => connections,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const S3_ENV = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;

/** Points the AWS SDK at a local endpoint through its environment; returns what puts the environment back. */
function pointS3At(url: string): () => void {
  const saved = Object.fromEntries(S3_ENV.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: url,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "stand-in",
    AWS_SECRET_ACCESS_KEY: "stand-in",
  });
  return () => {
    for (const name of S3_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

describe("the S3 store, speaking the S3 API with the AWS SDK to a local stand-in", () => {
  let restoreEnv: () => void;
  let standIn: Awaited<ReturnType<typeof versionedS3StandIn>>;
  beforeAll(async () => {
    standIn = await versionedS3StandIn("docs");
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

  it("fails its check on a bucket that is not there", async () => {
    await expect(createObjectStore("s3://missing/rag", "/tmp").check()).rejects.toThrow();
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

/**
 * A local stand-in for the Blob service calls the Azure store makes (Put Blob, Get Blob and its
 * properties, Delete Blob with or without a version id, List Blobs with versions, container
 * properties), keeping versions as a storage account with blob versioning does: deleting the
 * current version turns it into a previous one. Blobs named in `refuse` are not deleted (403), as
 * a role without delete rights would be answered. It is not Azure: it checks what our store asks
 * of the real SDK over real HTTP.
 */
async function versionedBlobStandIn(account: string, container: string) {
  const blobs = new Map<string, { versionId: string; body: Buffer; current: boolean }[]>();
  const refuse = new Set<string>();
  let counter = 0;
  const error = (res: ServerResponse, status: number, code: string) =>
    res
      .writeHead(status, { "x-ms-error-code": code, "content-type": "application/xml" })
      .end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://stand-in");
      const [, acct, cont, ...rest] = url.pathname.split("/");
      const name = decodeURIComponent(rest.join("/"));
      if (acct !== account || cont !== container) return error(res, 404, "ContainerNotFound");
      if (!name && url.searchParams.get("comp") === "list") {
        const prefix = url.searchParams.get("prefix") ?? "";
        const versions = url.searchParams.get("include")?.includes("versions");
        const items = [...blobs]
          .filter(([n]) => n.startsWith(prefix))
          .flatMap(([n, vs]) =>
            vs
              .filter((v) => versions || v.current)
              .map(
                (v) =>
                  `<Blob><Name>${n}</Name>${versions ? `<VersionId>${v.versionId}</VersionId>${v.current ? "<IsCurrentVersion>true</IsCurrentVersion>" : ""}` : ""}<Properties><Last-Modified>Tue, 24 Nov 2026 10:00:00 GMT</Last-Modified><Etag>"${v.versionId}"</Etag><Content-Length>${v.body.length}</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`,
              ),
          );
        res.writeHead(200, { "content-type": "application/xml" });
        return res.end(
          `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://stand-in/${account}/" ContainerName="${container}"><Prefix>${prefix}</Prefix><Blobs>${items.join("")}</Blobs><NextMarker /></EnumerationResults>`,
        );
      }
      if (!name)
        return res
          .writeHead(200, { etag: '"container"', "last-modified": "Tue, 24 Nov 2026 10:00:00 GMT" })
          .end();
      const versions = blobs.get(name) ?? [];
      const versionId = url.searchParams.get("versionid");
      const target = versionId
        ? versions.find((v) => v.versionId === versionId)
        : versions.find((v) => v.current);
      if (req.method === "PUT") {
        const id = `2026-11-24T10:00:00.${String(++counter).padStart(7, "0")}Z`;
        for (const v of versions) v.current = false;
        blobs.set(name, [
          ...versions,
          { versionId: id, body: Buffer.concat(chunks), current: true },
        ]);
        return res
          .writeHead(201, {
            etag: `"${id}"`,
            "last-modified": "Tue, 24 Nov 2026 10:00:00 GMT",
            "x-ms-version-id": id,
            "x-ms-request-server-encrypted": "true",
          })
          .end();
      }
      if (!target) return error(res, 404, "BlobNotFound");
      if (req.method === "HEAD" || req.method === "GET") {
        const headers = {
          etag: `"${target.versionId}"`,
          "last-modified": "Tue, 24 Nov 2026 10:00:00 GMT",
          "x-ms-blob-type": "BlockBlob",
          "content-length": target.body.length,
        };
        return req.method === "HEAD"
          ? res.writeHead(200, headers).end()
          : res.writeHead(200, headers).end(target.body);
      }
      if (req.method === "DELETE") {
        if (refuse.has(name)) return error(res, 403, "AuthorizationPermissionMismatch");
        if (versionId)
          blobs.set(
            name,
            versions.filter((v) => v !== target),
          );
        else target.current = false;
        return res.writeHead(202).end();
      }
      return error(res, 501, "NotImplemented");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${account}`,
    blobs,
    refuse,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

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
});
