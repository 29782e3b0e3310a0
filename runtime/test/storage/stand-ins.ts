/**
 * Local stand-ins for the few calls the cloud object stores make, over real HTTP, each keeping
 * every version of an object as a bucket with versioning does. They are not S3, Azure or GCS:
 * they check what our stores ask of the real SDKs, not how the services answer. Each object's
 * `modifiedAt` is set at its write, and a test may age it.
 */
import { createHash } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CRC32C } from "@google-cloud/storage";

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return (server.address() as AddressInfo).port;
}

const closing = (server: ReturnType<typeof createServer>) => () =>
  new Promise<void>((done) => server.close(() => done()));

function readBody(req: import("node:http").IncomingMessage): Promise<Buffer> {
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => done(Buffer.concat(chunks)));
  });
}

export interface S3Version {
  versionId: string;
  body?: Buffer;
  deleteMarker?: boolean;
  modifiedAt?: Date;
}

/**
 * S3: PUT, GET, HEAD bucket, ListObjectsV2 (`pageSize` keys a page), ListObjectVersions,
 * DeleteObjects. Keys in `refuse` are not deleted: DeleteObjects answers 200 and names them under
 * Errors, as S3 does for a key the role may not delete.
 */
export async function versionedS3StandIn(bucket: string, pageSize = 1000) {
  const objects = new Map<string, S3Version[]>();
  const refuse = new Set<string>();
  let counter = 0;
  let connections = 0;
  const xml = (res: ServerResponse, status: number, body: string) => {
    res
      .writeHead(status, { "content-type": "application/xml" })
      .end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
  };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
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
        objects.set(key, [...versions, { versionId, body, modifiedAt: new Date() }]);
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
      if (req.method === "GET" && url.searchParams.get("list-type") === "2") {
        const prefix = url.searchParams.get("prefix") ?? "";
        const current = [...objects]
          .filter(([k, vs]) => k.startsWith(prefix) && vs.length > 0 && !vs.at(-1)!.deleteMarker)
          .sort(([a], [b]) => (a < b ? -1 : 1));
        const from = Number(url.searchParams.get("continuation-token") ?? 0);
        const page = current.slice(from, from + pageSize);
        const more = from + pageSize < current.length;
        const contents = page.map(([k, vs]) => {
          const v = vs.at(-1)!;
          return `<Contents><Key>${k}</Key><LastModified>${v.modifiedAt!.toISOString()}</LastModified><ETag>"${v.versionId}"</ETag><Size>${v.body!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
        });
        return xml(
          res,
          200,
          `<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${more}</IsTruncated>${more ? `<NextContinuationToken>${from + pageSize}</NextContinuationToken>` : ""}${contents.join("")}</ListBucketResult>`,
        );
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
        const results = [
          ...body
            .toString()
            .matchAll(/<Object><Key>(.*?)<\/Key><VersionId>(.*?)<\/VersionId><\/Object>/g),
        ].map(([, k, v]) => {
          if (refuse.has(k!))
            return `<Error><Key>${k}</Key><VersionId>${v}</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`;
          objects.set(
            k!,
            (objects.get(k!) ?? []).filter((x) => x.versionId !== v),
          );
          return `<Deleted><Key>${k}</Key><VersionId>${v}</VersionId></Deleted>`;
        });
        return xml(res, 200, `<DeleteResult>${results.join("")}</DeleteResult>`);
      }
      return xml(
        res,
        501,
        "<Error><Code>NotImplemented</Code><Message>not in the stand-in</Message></Error>",
      );
    });
  });
  server.on("connection", () => connections++);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    refuse,
    connections: () => connections,
    close: closing(server),
  };
}

const S3_ENV = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;

/** Points the AWS SDK at a local endpoint through its environment; returns what puts the environment back. */
export function pointS3At(url: string): () => void {
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

export interface BlobVersion {
  versionId: string;
  body: Buffer;
  current: boolean;
  modifiedAt: Date;
}

/**
 * Azure Blob: Put Blob, Get Blob and its properties, Delete Blob with or without a version id,
 * List Blobs with or without versions, container properties. Deleting the current version turns
 * it into a previous one, as with blob versioning. Blobs named in `refuse` are not deleted (403),
 * as a role without delete rights would be answered.
 */
export async function versionedBlobStandIn(account: string, container: string) {
  const blobs = new Map<string, BlobVersion[]>();
  const refuse = new Set<string>();
  let counter = 0;
  const error = (res: ServerResponse, status: number, code: string) =>
    res
      .writeHead(status, { "x-ms-error-code": code, "content-type": "application/xml" })
      .end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
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
                  `<Blob><Name>${n}</Name>${versions ? `<VersionId>${v.versionId}</VersionId>${v.current ? "<IsCurrentVersion>true</IsCurrentVersion>" : ""}` : ""}<Properties><Last-Modified>${v.modifiedAt.toUTCString()}</Last-Modified><Etag>"${v.versionId}"</Etag><Content-Length>${v.body.length}</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`,
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
        const modifiedAt = new Date();
        blobs.set(name, [...versions, { versionId: id, body, current: true, modifiedAt }]);
        return res
          .writeHead(201, {
            etag: `"${id}"`,
            "last-modified": modifiedAt.toUTCString(),
            "x-ms-version-id": id,
            "x-ms-request-server-encrypted": "true",
          })
          .end();
      }
      if (!target) return error(res, 404, "BlobNotFound");
      if (req.method === "HEAD" || req.method === "GET") {
        const headers = {
          etag: `"${target.versionId}"`,
          "last-modified": target.modifiedAt.toUTCString(),
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
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/${account}`,
    blobs,
    refuse,
    close: closing(server),
  };
}

export interface GcsGeneration {
  generation: string;
  body: Buffer;
  live: boolean;
  modifiedAt: Date;
}

/**
 * GCS's JSON API: the bucket's metadata, a multipart upload, objects.list (with or without
 * `versions`, `pageSize` names a page) and objects.delete (of one generation, or of the live
 * one). An object with versioning keeps its noncurrent generations.
 */
export async function versionedGcsStandIn(bucket: string, pageSize = 1000) {
  const objects = new Map<string, GcsGeneration[]>();
  let counter = 0;
  const json = (res: ServerResponse, status: number, body?: unknown) =>
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(body === undefined ? "" : JSON.stringify(body));
  const notFound = (res: ServerResponse) =>
    json(res, 404, { error: { code: 404, message: "No such object" } });
  const write = (name: string, body: Buffer, modifiedAt = new Date()) => {
    const gens = objects.get(name) ?? [];
    for (const g of gens) g.live = false;
    const generation = String(++counter);
    gens.push({ generation, body, live: true, modifiedAt });
    objects.set(name, gens);
    // The SDK checks an upload against the hashes the service answers with.
    const crc32c = new CRC32C();
    crc32c.update(body);
    return {
      kind: "storage#object",
      bucket,
      name,
      generation,
      size: String(body.length),
      crc32c: crc32c.toString(),
      md5Hash: createHash("md5").update(body).digest("base64"),
    };
  };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url!, "http://stand-in");
      if (req.method === "POST" && url.pathname === `/upload/storage/v1/b/${bucket}/o`) {
        // multipart/related: the object's JSON metadata, then its bytes.
        const boundary = /boundary="?([^";]+)"?/.exec(req.headers["content-type"] ?? "")![1]!;
        const [meta, content] = body
          .toString("latin1")
          .split(`--${boundary}`)
          .slice(1, 3)
          .map((part) => part.slice(part.indexOf("\r\n\r\n") + 4, -2));
        const name = url.searchParams.get("name") ?? (JSON.parse(meta!) as { name: string }).name;
        return json(res, 200, write(name, Buffer.from(content!, "latin1")));
      }
      const match = /^\/storage\/v1\/b\/([^/]+)(\/o(?:\/(.+))?)?$/.exec(url.pathname);
      if (!match || match[1] !== bucket)
        return json(res, 404, { error: { code: 404, message: "No such bucket" } });
      const [, , objectsPath, encodedName] = match;
      if (!objectsPath && req.method === "GET")
        return json(res, 200, { kind: "storage#bucket", name: bucket });
      if (objectsPath && !encodedName && req.method === "GET") {
        const prefix = url.searchParams.get("prefix") ?? "";
        const versions = url.searchParams.get("versions") === "true";
        const items = [...objects]
          .filter(([n]) => n.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .flatMap(([name, gens]) =>
            gens
              .filter((g) => versions || g.live)
              .map((g) => ({
                kind: "storage#object",
                bucket,
                name,
                generation: g.generation,
                size: String(g.body.length),
                updated: g.modifiedAt.toISOString(),
              })),
          );
        const from = Number(url.searchParams.get("pageToken") ?? 0);
        const more = from + pageSize < items.length;
        return json(res, 200, {
          kind: "storage#objects",
          items: items.slice(from, from + pageSize),
          ...(more ? { nextPageToken: String(from + pageSize) } : {}),
        });
      }
      if (encodedName && req.method === "DELETE") {
        const name = decodeURIComponent(encodedName);
        const gens = objects.get(name) ?? [];
        const generation = url.searchParams.get("generation");
        const target = generation
          ? gens.find((g) => g.generation === generation)
          : gens.find((g) => g.live);
        if (!target) return notFound(res);
        if (generation)
          objects.set(
            name,
            gens.filter((g) => g !== target),
          );
        else target.live = false;
        return json(res, 204);
      }
      return json(res, 501, { error: { code: 501, message: "not in the stand-in" } });
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    /** Writes a new live generation of `name` (the previous one stays, noncurrent). */
    write: (name: string, body: string, modifiedAt?: Date) =>
      write(name, Buffer.from(body), modifiedAt),
    close: closing(server),
  };
}
