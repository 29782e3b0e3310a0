/**
 * Retention and legal hold, in both modes: the purge deletes securely what its collection's period
 * has passed (original, chunks, postings, vectors), keeps what a legal hold holds and says so, and
 * a dry run removes nothing; a held document's delete is a 409 `legal_hold` that removes nothing;
 * a worker purges at start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { waitFor } from "../../src/queue/queue";
import { purgeExpired } from "../../src/retention/purge";
import { createServices } from "../../src/services";
import { auditEvents, auth, MODES, modeEnv, startRuntime, type Runtime } from "../support";
import { age, stored, upload } from "./support";

const RULES = "tickets=30, contracts=3650,legal=30";

describe.each(MODES)("retention and legal hold (%s)", (mode) => {
  let rt: Runtime;
  const ids: Record<string, string> = {};
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    rt = await startRuntime(mode, { RETENTION_DAYS_BY_COLLECTION: RULES });
    const plan: [string, string | undefined, number][] = [
      ["oldTicket", "tickets", 40],
      ["newTicket", "tickets", 10],
      ["contract", "contracts", 400],
      ["loose", undefined, 9000],
      ["heldTicket", "tickets", 50],
      ["legalMemo", "legal", 60],
    ];
    for (const [name, collection, days] of plan) {
      ids[name] = await upload(rt, name, collection);
      await age(rt, ids[name], days);
    }
    for (const { id, object_key } of await rt.services.db.query<{ id: string; object_key: string }>(
      "SELECT id, object_key FROM documents",
    ))
      keys[id] = object_key;
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("sets holds on a document and on a collection (admin only), and lists them", async () => {
    const reader = await rt.app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: auth(),
      payload: { name: "r", role: "reader" },
    });
    const weak = await rt.app.inject({
      method: "PUT",
      url: `/v1/documents/${ids.heldTicket}/legal-hold`,
      headers: auth(reader.json().key),
      payload: { reason: "litigation 2026-17" },
    });
    expect(weak.statusCode).toBe(403);

    const doc = await rt.app.inject({
      method: "PUT",
      url: `/v1/documents/${ids.heldTicket}/legal-hold`,
      headers: auth(),
      payload: { reason: "litigation 2026-17" },
    });
    expect(doc.statusCode).toBe(200);
    expect(doc.json()).toMatchObject({
      scope: "document",
      target: ids.heldTicket,
      reason: "litigation 2026-17",
    });
    const collection = await rt.app.inject({
      method: "PUT",
      url: "/v1/collections/legal/legal-hold",
      headers: auth(),
      payload: { reason: "regulator's request" },
    });
    expect(collection.statusCode).toBe(200);
    const event = auditEvents(rt).find((e) => e.requestId === collection.headers["x-request-id"]);
    expect(event).toMatchObject({
      action: "legal_hold.set",
      outcome: "success",
      target: { type: "collection", id: "legal" },
    });

    const unknown = await rt.app.inject({
      method: "PUT",
      url: "/v1/documents/00000000-0000-4000-8000-000000000000/legal-hold",
      headers: auth(),
      payload: { reason: "x" },
    });
    expect(unknown.statusCode).toBe(404);
    const noReason = await rt.app.inject({
      method: "PUT",
      url: `/v1/documents/${ids.heldTicket}/legal-hold`,
      headers: auth(),
      payload: {},
    });
    expect(noReason.statusCode).toBe(400);

    const list = await rt.app.inject({ method: "GET", url: "/v1/legal-holds", headers: auth() });
    expect(list.json().items.map((h: { target: string }) => h.target)).toEqual([
      ids.heldTicket,
      "legal",
    ]);
  });

  it("refuses to delete a held document with 409 legal_hold, removing nothing", async () => {
    for (const [name, hint] of [
      ["heldTicket", `DELETE /v1/documents/${ids.heldTicket}/legal-hold`],
      ["legalMemo", 'on its collection "legal"'],
    ] as const) {
      const res = await rt.app.inject({
        method: "DELETE",
        url: `/v1/documents/${ids[name]}`,
        headers: auth(),
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toBe("legal_hold");
      expect(res.json().message).toContain(hint);
      expect(await stored(rt, ids[name]!)).toMatchObject({ document: true });
      expect((await stored(rt, ids[name]!)).chunks).toBeGreaterThan(0);
      await expect(rt.services.store.get(keys[ids[name]!]!)).resolves.toBeDefined();
      expect(
        auditEvents(rt).find((e) => e.requestId === res.headers["x-request-id"]),
      ).toMatchObject({
        action: "document.delete",
        outcome: "refused",
        status: 409,
        details: { reason: "legal_hold" },
      });
    }
  });

  it("a dry run lists the expired documents and removes nothing", async () => {
    const report = await purgeExpired(
      rt.services.db,
      rt.services.documents,
      rt.services.retention,
      {
        dryRun: true,
      },
    );
    expect(report).toEqual({
      dryRun: true,
      removed: [ids.oldTicket],
      held: [ids.legalMemo, ids.heldTicket],
      failed: [],
    });
    expect((await stored(rt, ids.oldTicket!)).document).toBe(true);
  });

  it("purges the expired, unheld documents everywhere, and reports ids in an audit event", async () => {
    const before = await stored(rt, ids.oldTicket!);
    expect(before.chunks).toBeGreaterThan(0);
    expect(before.postings).toBeGreaterThan(0);
    expect(before.vectors).toBeGreaterThan(0);
    const report = await purgeExpired(
      rt.services.db,
      rt.services.documents,
      rt.services.retention,
      {
        audit: rt.services.audit,
      },
    );
    expect(report).toEqual({
      dryRun: false,
      removed: [ids.oldTicket],
      held: [ids.legalMemo, ids.heldTicket],
      failed: [],
    });
    expect(await stored(rt, ids.oldTicket!)).toEqual({
      document: false,
      chunks: 0,
      postings: 0,
      vectors: 0,
    });
    await expect(rt.services.store.get(keys[ids.oldTicket!]!)).rejects.toThrow();
    for (const kept of ["newTicket", "contract", "loose", "heldTicket", "legalMemo"])
      expect((await stored(rt, ids[kept]!)).document, kept).toBe(true);
    const purge = auditEvents(rt).filter((e) => e.action === "retention.purge");
    expect(purge.at(-1)).toMatchObject({
      outcome: "success",
      actor: { kind: "system", subject: "retention" },
      target: { type: "document", ids: [ids.oldTicket] },
      details: { dryRun: false, removed: 1, held: [ids.legalMemo, ids.heldTicket], failed: [] },
    });
  });

  it("once the holds are cleared, the purge and delete go ahead", async () => {
    for (const url of [
      `/v1/documents/${ids.heldTicket}/legal-hold`,
      "/v1/collections/legal/legal-hold",
    ]) {
      const res = await rt.app.inject({ method: "DELETE", url, headers: auth() });
      expect(res.statusCode).toBe(204);
      expect(auditEvents(rt).find((e) => e.requestId === res.headers["x-request-id"])?.action).toBe(
        "legal_hold.clear",
      );
      const again = await rt.app.inject({ method: "DELETE", url, headers: auth() });
      expect(again.statusCode).toBe(404);
    }
    const report = await purgeExpired(rt.services.db, rt.services.documents, rt.services.retention);
    expect(report.removed).toEqual([ids.legalMemo, ids.heldTicket]);
    expect(report.held).toEqual([]);
  });
});

describe.each(MODES)("a worker's retention purge (%s)", (mode) => {
  it("purges expired documents when it starts", { timeout: 90_000 }, async () => {
    const { env, cleanup } = await modeEnv(mode);
    try {
      const first = await createServices(loadRuntimeConfig(env));
      await first.startWorker();
      const { document } = await first.documents.create({
        name: "t.txt",
        contentType: "text/plain",
        bytes: new TextEncoder().encode("a ticket about the harbour crane"),
        metadata: { collection: "tickets" },
      });
      await waitFor(
        async () => (await first.documents.get(document.id))?.status === "ready",
        30_000,
        "the document to be indexed",
      );
      await first.db.query(
        "UPDATE documents SET created_at = now() - interval '31 days' WHERE id = $1",
        [document.id],
      );
      await first.close();

      const services = await createServices(
        loadRuntimeConfig({ ...env, RETENTION_DAYS_BY_COLLECTION: "tickets=30" }),
      );
      try {
        const lines: string[] = [];
        const log = {
          info: (_: object, message: string) => lines.push(message),
          warn: (_: object, message: string) => lines.push(message),
          error: (_: object, message: string) => lines.push(message),
        };
        await services.startWorker(log);
        await waitFor(
          async () => (await services.documents.get(document.id)) === undefined,
          30_000,
          "the purge to remove the expired document",
        );
        await waitFor(
          async () => lines.includes("retention purge removed expired documents"),
          5_000,
          "the purge's log line",
        );
      } finally {
        await services.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe.each(MODES)("retention by classification label (%s)", (mode) => {
  let rt: Runtime;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    rt = await startRuntime(mode, {
      RETENTION_DAYS_BY_LABEL: "restricted=30",
      RETENTION_DAYS_BY_COLLECTION: "tickets=365",
    });
    const plan: [string, string, string | undefined][] = [
      ["restrictedOld", "restricted", undefined],
      ["restrictedTicket", "restricted", "tickets"],
      ["internalOld", "internal", undefined],
    ];
    for (const [name, classification, collection] of plan) {
      const id = await upload(rt, name, collection, classification);
      ids[name] = id;
      await age(rt, id, 40);
    }
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("expires a label's documents after its period, unless a longer collection rule keeps them", async () => {
    const report = await purgeExpired(rt.services.db, rt.services.documents, rt.services.retention);
    expect(report).toEqual({ dryRun: false, removed: [ids.restrictedOld], held: [], failed: [] });
    expect(await stored(rt, ids.restrictedOld!)).toEqual({
      document: false,
      chunks: 0,
      postings: 0,
      vectors: 0,
    });
    for (const kept of ["restrictedTicket", "internalOld"])
      expect((await stored(rt, ids[kept]!)).document, kept).toBe(true);
  });
});
