/**
 * What hostile testing found at the API's edge (issue 21), in both modes: text PostgreSQL cannot
 * store, loose typing, multipart uploads outside the JSON limits, authentication after parsing,
 * client-chosen request ids, the last admin key, the rate limit side-stepped by the path's
 * spelling. Each answer is a 4xx naming what is wrong, and nothing already stored changes.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app";
import { ADMIN_KEY, auth, MODES, multipart, startRuntime, type Runtime } from "./support";

const NUL = "\u0000";
const LONE_HIGH = "\ud800";
const LONE_LOW = "\udc00";

describe.each(MODES)("the API's edge under hostile input (%s)", (mode) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(mode, { MAX_UPLOAD_BYTES: String(1024 * 1024) });
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
  });

  const counts = async () => {
    const [row] = await rt.services.db.query<{ docs: number; keys: number }>(
      "SELECT (SELECT count(*) FROM documents)::int AS docs, (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL)::int AS keys",
    );
    return row!;
  };

  const post = (url: string, payload: unknown, headers: Record<string, string> = auth()) =>
    rt.app.inject({ method: "POST", url, headers, payload: payload as object });

  /** A 400 `bad_request` whose message matches, and nothing stored changed. */
  const refusedAsBadRequest = async (
    _label: string,
    send: () => ReturnType<typeof post>,
    message: RegExp,
  ) => {
    const before = await counts();
    const res = await send();
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      error: "bad_request",
      message: expect.stringMatching(message),
    });
    expect(await counts()).toEqual(before);
  };

  describe("text PostgreSQL cannot store is a 400 naming the field", () => {
    const cases: [string, () => ReturnType<typeof post>, RegExp][] = [
      [
        "a NUL in a name",
        () => post("/v1/documents", { name: `a${NUL}b`, text: "hello" }),
        /^body\/name /,
      ],
      [
        "a lone high surrogate in a name",
        () => post("/v1/documents", { name: `a${LONE_HIGH}`, text: "hello" }),
        /^body\/name /,
      ],
      [
        "a lone low surrogate in the text",
        () => post("/v1/documents", { name: "a.txt", text: `x${LONE_LOW}y` }),
        /^body\/text /,
      ],
      [
        "a NUL in a metadata key",
        () =>
          post("/v1/documents", { name: "a.txt", text: "hello", metadata: { [`k${NUL}`]: "v" } }),
        /^body\/metadata has a property name /,
      ],
      [
        "a NUL in a metadata value",
        () =>
          post("/v1/documents", { name: "a.txt", text: "hello", metadata: { team: `v${NUL}` } }),
        /^body\/metadata\/team /,
      ],
      [
        "a lone surrogate in a filter key",
        () =>
          post("/v1/retrieve", { question: "x", filters: { metadata: { [`k${LONE_LOW}`]: "v" } } }),
        /^body\/filters\/metadata has a property name /,
      ],
      [
        "a NUL in a filter value",
        () => post("/v1/retrieve", { question: "x", filters: { metadata: { team: NUL } } }),
        /^body\/filters\/metadata\/team /,
      ],
      [
        "a NUL in an API key's name",
        () => post("/v1/keys", { name: `ci${NUL}`, role: "reader" }),
        /^body\/name /,
      ],
      [
        "a NUL in a multipart metadata value",
        () => {
          const m = multipart(
            { name: "a.txt", type: "text/plain", bytes: new TextEncoder().encode("hello") },
            { metadata: JSON.stringify({ team: `v${NUL}` }) },
          );
          return post("/v1/documents", m.payload, { ...auth(), ...m.headers });
        },
        /^multipart\/metadata\/team /,
      ],
      [
        "an offset no database integer holds",
        () =>
          rt.app.inject({
            method: "GET",
            url: "/v1/documents?offset=100000000000000000000",
            headers: auth(),
          }),
        /^querystring\/offset must be <= /,
      ],
    ];
    it.each(cases)("%s", refusedAsBadRequest);

    it("says what text is accepted", async () => {
      const res = await post("/v1/documents", { name: `a${NUL}`, text: "hello" });
      expect(res.json().message).toMatch(/NUL .*unpaired surrogate|unpaired surrogate.*NUL/);
    });
  });

  describe("JSON bodies are typed strictly; query strings still convert", () => {
    const cases: [string, string, unknown, RegExp][] = [
      [
        "a number for a name",
        "/v1/documents",
        { name: 12345, text: "hello" },
        /^body\/name must be string$/,
      ],
      [
        "a list for a text",
        "/v1/documents",
        { name: "a.txt", text: ["hello"] },
        /^body\/text must be string$/,
      ],
      [
        "a string for topK",
        "/v1/retrieve",
        { question: "x", topK: "5" },
        /^body\/topK must be integer$/,
      ],
      [
        "a boolean for topK",
        "/v1/retrieve",
        { question: "x", topK: true },
        /^body\/topK must be integer$/,
      ],
      [
        "a list for a metadata value",
        "/v1/documents",
        { name: "a.txt", text: "hello", metadata: { a: ["x"] } },
        /^body\/metadata\/a must be string, number or boolean$/,
      ],
    ];
    it.each(cases)("%s", async (_label, url, payload, message) => {
      const before = await counts();
      const res = await post(url, payload);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().message).toMatch(message);
      expect(await counts()).toEqual(before);
    });

    it("keeps a boolean metadata value a boolean", async () => {
      const res = await post("/v1/documents", {
        name: "typed.txt",
        text: "metadata types survive",
        metadata: { reviewed: true, year: 2024, team: "nlp" },
      });
      expect(res.statusCode).toBe(202);
      expect(res.json().metadata).toEqual({ reviewed: true, year: 2024, team: "nlp" });
    });

    it("reads numbers from a query string", async () => {
      const res = await rt.app.inject({
        method: "GET",
        url: "/v1/documents?limit=2&offset=0",
        headers: auth(),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().limit).toBe(2);
    });
  });

  describe("multipart uploads obey the JSON upload's limits", () => {
    const hello = new TextEncoder().encode("hello multipart");
    const upload = (file: { name: string }, fields: Record<string, string> = {}) => {
      const m = multipart({ name: file.name, type: "text/plain", bytes: hello }, fields);
      return post("/v1/documents", m.payload, { ...auth(), ...m.headers });
    };
    const cases: [string, () => ReturnType<typeof post>, RegExp][] = [
      [
        "1,000 metadata keys",
        () =>
          upload(
            { name: "a.txt" },
            {
              metadata: JSON.stringify(
                Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
              ),
            },
          ),
        /^multipart\/metadata must NOT have more than 50 properties$/,
      ],
      [
        "a 200 KB metadata value",
        () =>
          upload({ name: "a.txt" }, { metadata: JSON.stringify({ note: "x".repeat(200_000) }) }),
        /^multipart\/metadata\/note must NOT have more than 500 characters$/,
      ],
      [
        "a 20,000-character file name",
        () => upload({ name: `${"n".repeat(20_000)}.txt` }),
        /^multipart\/filename must NOT have more than 500 characters$/,
      ],
      [
        "an unknown field",
        () => upload({ name: "a.txt" }, { owner: "mallory" }),
        /^multipart has an unknown or repeated field "owner": send `file` and optionally `metadata`, `classification`, `accessGroups`$/,
      ],

      [
        "a second file",
        () => {
          const first = multipart({ name: "a.txt", type: "text/plain", bytes: hello });
          const boundary = first.headers["content-type"]!.split("boundary=")[1]!;
          const second = Buffer.from(
            `Content-Disposition: form-data; name="file"; filename="b.txt"\r\nContent-Type: text/plain\r\n\r\nsecond file\r\n--${boundary}--\r\n`,
          );
          const payload = Buffer.concat([
            first.payload.subarray(0, first.payload.length - 4),
            Buffer.from("\r\n"),
            second,
          ]);
          return post("/v1/documents", payload, { ...auth(), ...first.headers });
        },
        /^one file per upload: a second file \("b\.txt"\) was sent$/,
      ],
    ];
    it.each(cases)("%s", refusedAsBadRequest);

    it("still takes metadata sent after the file", async () => {
      const m = multipart({
        name: "after.txt",
        type: "text/plain",
        bytes: new TextEncoder().encode("metadata after the file"),
      });
      const boundary = m.headers["content-type"]!.split("boundary=")[1]!;
      const payload = Buffer.concat([
        m.payload.subarray(0, m.payload.length - 4),
        Buffer.from(
          `\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"team":"late"}\r\n--${boundary}--\r\n`,
        ),
      ]);
      const res = await post("/v1/documents", payload, { ...auth(), ...m.headers });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().metadata).toEqual({ team: "late" });
    });
  });

  describe("credentials are checked before a body is read", () => {
    it("tells an unauthenticated client nothing about the schema", async () => {
      for (const [url, payload] of [
        ["/v1/documents", { name: 12345 }],
        ["/v1/retrieve", "{not json"],
        ["/v1/keys", { name: "x", role: "superuser" }],
      ] as const) {
        const res = await rt.app.inject({
          method: "POST",
          url,
          headers: { "content-type": "application/json" },
          payload: typeof payload === "string" ? payload : JSON.stringify(payload),
        });
        expect(res.statusCode, url).toBe(401);
        expect(res.json().message).not.toMatch(/body|JSON|schema|property/i);
      }
    });

    it("answers 401, not 413, to a body over the limit without credentials", async () => {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ name: "big.txt", text: "a".repeat(3 * 1024 * 1024) }),
      });
      expect(res.statusCode).toBe(401);
    });
  });

  it("generates every request id itself, and logs a client's own id apart, cut to length", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const { app } = await buildApp({
      services: rt.services,
      fastify: { logger: { level: "info", stream } },
    });
    try {
      const clientId = `client-${"x".repeat(300)}`;
      const res = await app.inject({
        method: "GET",
        url: "/v1/documents/not-a-uuid",
        headers: { ...auth(), "x-request-id": clientId },
      });
      const { requestId } = res.json();
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers["x-request-id"]).toBe(requestId);
      const logged = lines.filter((l) => l.reqId === requestId);
      expect(logged.length).toBeGreaterThan(0);
      expect(lines.some((l) => l.reqId === clientId)).toBe(false);
      expect(logged.every((l) => l.clientRequestId === clientId.slice(0, 128))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it("indexes a word longer than PostgreSQL's index row limit, and finds the document by it", async () => {
    // Letters at random: PostgreSQL compresses an index row, so a repetitive word would fit.
    const blob = Array.from(randomBytes(4000), (b) => String.fromCharCode(97 + (b % 26))).join("");
    const res = await post("/v1/documents", {
      name: "blob.txt",
      text: `A lighthouse keeper logged ${blob} as the fog signal's code word.`,
    });
    expect(res.statusCode).toBe(202);
    await rt.waitReady(res.json().id);
    const found = await post("/v1/retrieve", { question: blob, topK: 1 });
    expect(found.json().retrieved[0]).toMatchObject({ documentId: res.json().id });
  });

  // Last among the tests on this runtime: it revokes the key the others use.
  describe("the last admin credential", () => {
    const keyRows = () =>
      rt.services.db.query<{ id: string; name: string; role: string }>(
        "SELECT id, name, role FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at",
      );
    const revoke = (id: string, key = ADMIN_KEY) =>
      rt.app.inject({ method: "DELETE", url: `/v1/keys/${id}`, headers: auth(key) });

    it("cannot be revoked: 409 says why and what to do", async () => {
      const admins = (await keyRows()).filter((k) => k.role === "admin");
      expect(admins).toHaveLength(1);
      const res = await revoke(admins[0]!.id);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        error: "last_admin_key",
        message: expect.stringMatching(/last active admin key.*issue another admin key first/),
      });
      expect(
        (await rt.app.inject({ method: "GET", url: "/v1/keys", headers: auth() })).statusCode,
      ).toBe(200);
    });

    it("can be once another admin key exists, and then that one is the last; the startup message tells the truth", async () => {
      const second = await post("/v1/keys", { name: "second-admin", role: "admin" });
      expect(second.statusCode).toBe(201);
      const bootstrap = (await keyRows()).find((k) => k.name === "bootstrap-admin")!;
      // Both at once: exactly one may go.
      const both = await Promise.all([
        revoke(bootstrap.id, second.json().key),
        revoke(second.json().id, second.json().key),
      ]);
      expect(both.map((r) => r.statusCode).sort()).toEqual([204, 409]);
      expect((await keyRows()).filter((k) => k.role === "admin")).toHaveLength(1);
      if ((await keyRows()).some((k) => k.name === "bootstrap-admin")) {
        const third = await post("/v1/keys", { name: "third-admin", role: "admin" });
        expect((await revoke(bootstrap.id)).statusCode).toBe(204);
        expect((await revoke(third.json().id, third.json().key)).statusCode).toBe(409);
      }
      const restarted = await buildApp({ services: rt.services, fastify: { logger: false } });
      await restarted.app.close();
      expect(restarted.auth.adminKeyState).toBe("revoked");
    });
  });

  it("counts a request by the route it reaches, however its path is spelled", async () => {
    const limited = await startRuntime(mode, { RATE_LIMIT_PER_MINUTE: "3" });
    try {
      const paths = ["/v1/documents", "/%761/documents", "/v1/%64ocuments"];
      const codes: number[] = [];
      for (let i = 0; i < 6; i++)
        codes.push(
          (
            await limited.app.inject({
              method: "GET",
              url: paths[i % paths.length]!,
              headers: auth(),
            })
          ).statusCode,
        );
      expect(codes.slice(0, 3).every((c) => c === 200 || c === 404)).toBe(true);
      expect(codes.slice(3)).toEqual([429, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe("web pages against an embedded knowledge base without a key", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded", { ADMIN_API_KEY: "" });
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
  });
  const documents = async () =>
    (await rt.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM documents"))[0]!.n;
  const upload = (headers: Record<string, string>) =>
    rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers,
      payload: { name: "planted.txt", text: "a page planted this" },
    });

  it("refuses a change sent by another site's page, and takes one from its own", async () => {
    const before = await documents();
    for (const origin of ["https://evil.example", "null", "http://127.0.0.1:9999"]) {
      const res = await upload({ host: "127.0.0.1:8080", origin });
      expect(res.statusCode, origin).toBe(403);
      expect(res.json().error).toBe("forbidden_origin");
    }
    const del = await rt.app.inject({
      method: "DELETE",
      url: "/v1/documents/00000000-0000-4000-8000-000000000000",
      headers: { host: "localhost:8080", origin: "https://evil.example" },
    });
    expect(del.statusCode).toBe(403);
    expect(await documents()).toBe(before);
    expect(
      (await upload({ host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080" })).statusCode,
    ).toBe(202);
    expect((await upload({ host: "127.0.0.1:8080" })).statusCode, "no Origin: not a browser").toBe(
      200,
    );
  });

  it("answers only to its own names, so DNS rebinding reads nothing; probes are exempt", async () => {
    for (const host of ["evil.example", "evil.example:8080", "127.0.0.1.nip.io"]) {
      const res = await rt.app.inject({ method: "GET", url: "/v1/documents", headers: { host } });
      expect(res.statusCode, host).toBe(400);
      expect(res.json()).toMatchObject({
        error: "unknown_host",
        message: expect.stringMatching(/ALLOWED_HOSTS/),
      });
    }
    for (const host of ["localhost:8080", "127.0.0.1", "[::1]:8080", "LOCALHOST"])
      expect(
        (await rt.app.inject({ method: "GET", url: "/v1/documents", headers: { host } }))
          .statusCode,
        host,
      ).toBe(200);
    expect(
      (await rt.app.inject({ method: "GET", url: "/healthz", headers: { host: "10.0.0.5" } }))
        .statusCode,
    ).toBe(200);
  });

  it("sends a browser's security headers with every answer", async () => {
    for (const url of ["/v1/documents", "/nowhere"]) {
      const res = await rt.app.inject({ method: "GET", url });
      expect(res.headers["content-security-policy"], url).toMatch(
        /default-src 'none'.*frame-ancestors 'none'/,
      );
      expect(res.headers["x-content-type-options"], url).toBe("nosniff");
      expect(res.headers["x-frame-options"], url).toBe("DENY");
    }
    const docs = await rt.app.inject({ method: "GET", url: "/docs/static/index.html" });
    expect(docs.headers["content-security-policy"]).toMatch(/style-src 'self' 'unsafe-inline'/);
  });
});

describe("Host names with credentials", () => {
  it("are not checked unless ALLOWED_HOSTS names them, then only those answer; foreign origins still cannot change anything", async () => {
    const open = await startRuntime("server");
    const pinned = await startRuntime("embedded", {
      ALLOWED_HOSTS: "rag.example.com",
      PUBLIC_URL: "https://rag.example.com",
    });
    try {
      const list = (rt: Runtime, host: string) =>
        rt.app.inject({ method: "GET", url: "/v1/documents", headers: { ...auth(), host } });
      expect((await list(open, "10.1.2.3:8080")).statusCode).toBe(200);
      expect((await list(pinned, "rag.example.com")).statusCode).toBe(200);
      expect((await list(pinned, "10.1.2.3:8080")).statusCode).toBe(400);
      const change = await open.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: { ...auth(), host: "10.1.2.3:8080", origin: "https://evil.example" },
        payload: { name: "x", role: "admin" },
      });
      expect(change.statusCode).toBe(403);
      const fromPublicUrl = await pinned.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: { ...auth(), host: "rag.example.com", origin: "https://rag.example.com" },
        payload: { name: "x", role: "reader" },
      });
      expect(fromPublicUrl.statusCode).toBe(201);
    } finally {
      await open.close();
      await pinned.close();
    }
  });
});
