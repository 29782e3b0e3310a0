/** Audit events on a Kafka topic of their own (AUDIT_KAFKA_TOPIC), beside the audit log stream. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, type Runtime, startRuntime } from "../support";
import { readTopic } from "./support";

describe("the Kafka audit sink", () => {
  const topic = `audit-${randomUUID().slice(0, 8)}`;
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("kafka", { AUDIT_KAFKA_TOPIC: topic });
  });
  afterAll(async () => rt?.close());

  it("writes each audit event to the topic, keyed by its target, in order", async () => {
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "audited.md", text: "# Audited\n\nA document whose upload is audited." },
    });
    const id = up.json().id as string;
    const deleted = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${id}`,
      headers: auth(),
    });
    expect(deleted.statusCode).toBe(204);
    await rt.services.audit.close(); // waits for the sends in flight
    const events = (await readTopic(topic)).map((r) => ({ key: r.key, ...JSON.parse(r.value!) }));
    expect(events).toContainEqual(
      expect.objectContaining({
        key: id,
        action: "document.upload",
        outcome: "success",
        target: expect.objectContaining({ type: "document", id }),
      }),
    );
    // One target's events share a partition: in order.
    expect(events.filter((e) => e.key === id).map((e) => e.action)).toEqual([
      "document.upload",
      "document.delete",
    ]);
    // No document text travels with an event.
    expect(JSON.stringify(events)).not.toContain("whose upload is audited");
  });
});
