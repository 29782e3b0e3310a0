/**
 * Audit events of the API, end to end in both modes: each action's event, its actor by key id,
 * its targets by id, its outcome; and never a key, a question or a document's text by default.
 */
import { readFileSync } from "node:fs";
import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/audit";
import { ADMIN_KEY, auditEvents, auth, MODES, startRuntime, type Runtime } from "../support";

const QUESTION = "Which pump did the quartermaster recalibrate on Tuesday?";
const TEXT =
  "# Maintenance log\n\nThe quartermaster recalibrated the bilge pump on Tuesday after the storm.\n";

/** The events of one request, by the id its answer carried. */
function eventsOf(rt: Runtime, requestId: unknown): AuditEvent[] {
  return auditEvents(rt).filter((e) => e.requestId === requestId);
}

function only(rt: Runtime, requestId: unknown): AuditEvent {
  const events = eventsOf(rt, requestId);
  expect(events).toHaveLength(1);
  return events[0]!;
}

describe.each(MODES)("audit events (%s)", (mode) => {
  let rt: Runtime;
  let adminKeyId: string;
  let reader: { id: string; key: string };
  let documentId: string;

  beforeAll(async () => {
    rt = await startRuntime(mode);
    const keys = await rt.app.inject({ method: "GET", url: "/v1/keys", headers: auth() });
    adminKeyId = keys.json().items[0].id;
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("records an upload with the uploader's key id and the document's id", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "log.md", text: TEXT, contentType: "text/markdown" },
    });
    expect(res.statusCode).toBe(202);
    documentId = res.json().id;
    const event = only(rt, res.headers["x-request-id"]);
    expect(event).toMatchObject({
      action: "document.upload",
      outcome: "success",
      status: 202,
      actor: { kind: "api-key", keyId: adminKeyId, role: "admin" },
      target: { type: "document", id: documentId },
      details: { created: true, contentType: "text/markdown" },
    });
    expect(Date.parse(event.time)).toBeGreaterThan(Date.now() - 60_000);
    await rt.waitReady(documentId);
  });

  it("records a key's creation by id and role, never the key", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: auth(),
      payload: { name: "analyst", role: "reader" },
    });
    expect(res.statusCode).toBe(201);
    reader = { id: res.json().id, key: res.json().key };
    expect(only(rt, res.headers["x-request-id"])).toMatchObject({
      action: "key.create",
      outcome: "success",
      actor: { keyId: adminKeyId },
      target: { type: "key", id: reader.id },
      details: { name: "analyst", role: "reader" },
    });
  });

  it("records reads, downloads and listings under the reader's key id", async () => {
    const cases = [
      [`/v1/documents/${documentId}`, "document.read"],
      [`/v1/documents/${documentId}/content`, "document.download"],
    ] as const;
    for (const [url, action] of cases) {
      const res = await rt.app.inject({ method: "GET", url, headers: auth(reader.key) });
      expect(res.statusCode).toBe(200);
      expect(only(rt, res.headers["x-request-id"])).toMatchObject({
        action,
        outcome: "success",
        actor: { kind: "api-key", keyId: reader.id, role: "reader" },
        target: { type: "document", id: documentId },
      });
    }
    const list = await rt.app.inject({
      method: "GET",
      url: "/v1/documents",
      headers: auth(reader.key),
    });
    expect(only(rt, list.headers["x-request-id"])).toMatchObject({
      action: "document.list",
      target: { type: "document", ids: [documentId] },
    });
    const missing = await rt.app.inject({
      method: "GET",
      url: "/v1/documents/00000000-0000-4000-8000-000000000000",
      headers: auth(reader.key),
    });
    expect(only(rt, missing.headers["x-request-id"]).outcome).toBe("not_found");
  });

  it("records refusals as denied: a weak role by its key id, no credentials as anonymous", async () => {
    const weak = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${documentId}`,
      headers: auth(reader.key),
    });
    expect(weak.statusCode).toBe(403);
    expect(only(rt, weak.headers["x-request-id"])).toMatchObject({
      action: "document.delete",
      outcome: "denied",
      status: 403,
      actor: { keyId: reader.id },
    });
    const none = await rt.app.inject({ method: "GET", url: `/v1/documents/${documentId}` });
    expect(none.statusCode).toBe(401);
    expect(only(rt, none.headers["x-request-id"])).toMatchObject({
      action: "document.read",
      outcome: "denied",
      actor: { kind: "anonymous" },
    });
  });

  it("records which documents and chunks a retrieval returned, without the question", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(reader.key),
      payload: { question: QUESTION },
    });
    expect(res.statusCode).toBe(200);
    const chunkIds = res.json().retrieved.map((r: { chunkId: string }) => r.chunkId);
    expect(chunkIds.length).toBeGreaterThan(0);
    const event = only(rt, res.headers["x-request-id"]);
    expect(event).toMatchObject({
      action: "retrieval",
      outcome: "success",
      actor: { keyId: reader.id },
      target: { type: "document", ids: [documentId] },
      details: { chunkIds },
    });
    expect(event.details).not.toHaveProperty("question");
  });

  it("records a streamed query once it ends, with the chunks it cited", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: auth(reader.key),
      payload: { question: QUESTION, stream: true },
    });
    expect(res.statusCode).toBe(200);
    let citations: { chunkId: string }[] = [];
    const parser = createParser({
      onEvent: (e) => {
        if (e.event === "done") citations = JSON.parse(e.data).citations;
      },
    });
    parser.feed(res.body);
    expect(citations.length).toBeGreaterThan(0);
    expect(only(rt, res.headers["x-request-id"])).toMatchObject({
      action: "query",
      outcome: "success",
      target: { ids: [documentId] },
      details: { citedChunkIds: citations.map((c) => c.chunkId) },
    });
  });

  it("records a delete and a key's revocation, then a second delete as not found", async () => {
    const del = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${documentId}`,
      headers: auth(),
    });
    expect(del.statusCode).toBe(204);
    expect(only(rt, del.headers["x-request-id"])).toMatchObject({
      action: "document.delete",
      outcome: "success",
      target: { id: documentId },
    });
    const again = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${documentId}`,
      headers: auth(),
    });
    expect(only(rt, again.headers["x-request-id"]).outcome).toBe("not_found");
    const revoke = await rt.app.inject({
      method: "DELETE",
      url: `/v1/keys/${reader.id}`,
      headers: auth(),
    });
    expect(revoke.statusCode).toBe(204);
    expect(only(rt, revoke.headers["x-request-id"])).toMatchObject({
      action: "key.revoke",
      outcome: "success",
      target: { type: "key", id: reader.id },
    });
  });

  it("holds no key, no question and no document text, each line marked as the audit stream", () => {
    const raw = readFileSync(rt.env.AUDIT_LOG_FILE!, "utf8");
    for (const secret of [ADMIN_KEY, reader.key, QUESTION, "quartermaster", "bilge"])
      expect(raw).not.toContain(secret);
    const lines = raw.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ stream: "audit" });
  });
});

describe("audit events with AUDIT_INCLUDE_QUESTION=true", () => {
  let rt: Runtime;

  beforeAll(async () => {
    rt = await startRuntime("embedded", { AUDIT_INCLUDE_QUESTION: "true" });
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("carries the question, and still no answer or passage text", async () => {
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "log.md", text: TEXT, contentType: "text/markdown" },
    });
    await rt.waitReady(up.json().id);
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: auth(),
      payload: { question: QUESTION },
    });
    expect(res.statusCode).toBe(200);
    const event = only(rt, res.headers["x-request-id"]);
    expect(event.details).toMatchObject({ question: QUESTION });
    expect(JSON.stringify(event)).not.toContain("bilge");
  });
});
