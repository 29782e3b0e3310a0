/** The audit log and its sinks: events reach every sink; a failing sink loses no other's event. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog, type AuditEvent, pinoAuditSink, systemActor } from "../src/audit";

const dir = mkdtempSync(join(tmpdir(), "rag-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("AuditLog", () => {
  it("writes each event to every sink, stamped with the time", () => {
    const seen: AuditEvent[][] = [[], []];
    const log = new AuditLog([{ write: (e) => seen[0]!.push(e) }]);
    log.addSink({ write: (e) => seen[1]!.push(e) });
    log.record({
      action: "retention.purge",
      outcome: "success",
      actor: systemActor("retention"),
    });
    for (const events of seen) {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: "retention.purge",
        actor: { kind: "system", subject: "retention" },
      });
      expect(Number.isNaN(Date.parse(events[0]!.time))).toBe(false);
    }
  });

  it("counts and reports a sink that throws, and the other sinks still get the event", () => {
    const errors: unknown[] = [];
    const kept: AuditEvent[] = [];
    const log = new AuditLog(
      [
        {
          write: () => {
            throw new Error("broker away");
          },
        },
        { write: (e) => kept.push(e) },
      ],
      false,
      (error) => errors.push(error),
    );
    log.record({ action: "key.revoke", outcome: "success", actor: { kind: "local" } });
    expect(kept).toHaveLength(1);
    expect(log.failures).toBe(1);
    expect((errors[0] as Error).message).toBe("broker away");
  });
});

describe("pinoAuditSink", () => {
  it("appends one JSON line per event to its file, marked stream audit", async () => {
    const file = join(dir, "nested", "audit.log");
    const sink = pinoAuditSink({ file, service: "rag-test" });
    const log = new AuditLog([sink]);
    log.record({
      action: "document.delete",
      outcome: "refused",
      actor: { kind: "api-key", keyId: "k1", role: "admin" },
      target: { type: "document", id: "d1" },
      requestId: "r1",
      status: 409,
      details: { reason: "legal_hold" },
    });
    // Written synchronously: on disk before close.
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      stream: "audit",
      service: "rag-test",
      action: "document.delete",
      outcome: "refused",
      actor: { keyId: "k1" },
      target: { id: "d1" },
      requestId: "r1",
      status: 409,
      details: { reason: "legal_hold" },
    });
    await log.close();
  });
});
