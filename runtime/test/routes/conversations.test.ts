/**
 * Conversations, feedback and the admin's views (routes/conversations.ts), in both modes: a
 * three-turn conversation whose follow-ups are rewritten before retrieval, stored per owner and
 * invisible to another; regenerate; feedback stored with what the answer was made from and
 * exported as JSON Lines; a user's data deleted on request; users as sign-on reports them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REWRITE_PROMPT } from "../../src/search/rewrite";
import { auth, MODES, type Runtime, startRuntime } from "../support";

const FUSION =
  "# Reciprocal rank fusion\n\nReciprocal rank fusion merges the BM25 ranking and the vector ranking into one list. " +
  "Reciprocal rank fusion was proposed by Cormack, Clarke and Buettcher in 2009.\n\n" +
  "# Chunking\n\nDocuments are cut into chunks of about three hundred tokens along headings.";

describe.each(MODES)("conversations (%s)", (mode) => {
  let rt: Runtime;
  let reader: string;
  let other: string;
  beforeAll(async () => {
    rt = await startRuntime(mode);
    const { document } = await rt.services.documents.create({
      name: "fusion.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(FUSION),
    });
    await rt.waitReady(document.id);
    const key = async (name: string) =>
      (
        await rt.app.inject({
          method: "POST",
          url: "/v1/keys",
          headers: auth(),
          payload: { name, role: "reader" },
        })
      ).json().key as string;
    reader = await key("alice");
    other = await key("bob");
  });
  afterAll(async () => rt?.close());

  const call = (
    key: string,
    method: "GET" | "POST" | "PATCH" | "DELETE",
    url: string,
    payload?: object,
  ) => rt.app.inject({ method, url, headers: auth(key), ...(payload ? { payload } : {}) });

  it("answers three turns, resolving each follow-up's pronoun before retrieval, and keeps them", async () => {
    const created = await call(reader, "POST", "/v1/conversations", {});
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;

    const first = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "What is reciprocal rank fusion?",
      topK: 2,
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      standalone: "What is reciprocal rank fusion?",
      rewrittenBy: "none",
    });

    const second = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "What does it merge?",
      topK: 2,
    });
    expect(second.json().standalone).toBe("What does reciprocal rank fusion merge?");
    expect(second.json().rewrittenBy).toBe("rule");
    expect(second.json().answer).toContain("merges the BM25 ranking");

    const third = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "Who proposed it?",
      topK: 2,
    });
    expect(third.json().standalone).toBe("Who proposed reciprocal rank fusion?");
    expect(third.json().answer).toContain("Cormack");
    expect(third.json().citations[0]).toMatchObject({
      documentName: "fusion.md",
      heading: "Reciprocal rank fusion",
    });

    const stored = (await call(reader, "GET", `/v1/conversations/${id}`)).json();
    // The first question names the conversation.
    expect(stored.conversation.title).toBe("What is reciprocal rank fusion?");
    expect(stored.messages.map((m: { role: string }) => m.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
    expect(stored.messages[4].standalone).toBe("Who proposed reciprocal rank fusion?");
    expect(stored.messages[5]).toMatchObject({ model: "extractive", id: third.json().messageId });
    expect(stored.messages[5].retrieved.length).toBeGreaterThan(0);
  });

  it("streams a conversation's answer with the standalone question first and the message id last", async () => {
    const id = (await call(reader, "POST", "/v1/conversations", { title: "Streamed" })).json().id;
    const res = await rt.app.inject({
      method: "POST",
      url: `/v1/conversations/${id}/messages`,
      headers: { ...auth(reader), accept: "text/event-stream" },
      payload: { question: "What does reciprocal rank fusion merge?", topK: 2 },
    });
    const events = res.body
      .split("\n\n")
      .filter(Boolean)
      .map((block) => ({
        event: block.split("\n")[0]!.replace("event: ", ""),
        data: JSON.parse(block.split("\n")[1]!.replace("data: ", "")),
      }));
    expect(events[0]!.event).toBe("retrieved");
    expect(events[0]!.data.standalone).toBe("What does reciprocal rank fusion merge?");
    expect(events.some((e) => e.event === "token")).toBe(true);
    expect(events.at(-1)!.event).toBe("done");
    expect(events.at(-1)!.data.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("never retrieves or cites a chunk above the caller's clearance or outside its groups, streamed or not", async () => {
    // Two documents the reader may not see, each answering the question with a marker word.
    const uploaded: string[] = [];
    for (const [name, text, access] of [
      [
        "restricted.txt",
        "The aurora borealis was seen over Svalbard in January. Marker word: ocelot.",
        { classification: "restricted" },
      ],
      [
        "finance.txt",
        "The aurora borealis was seen over Kiruna in February. Marker word: pangolin.",
        { accessGroups: ["finance"] },
      ],
    ] as const) {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: { name, text, ...access },
      });
      expect(res.statusCode, res.body).toBe(202);
      uploaded.push(res.json().id as string);
    }
    for (const id of uploaded) await rt.waitReady(id);
    const cleared = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "cleared", role: "reader", clearance: "restricted", groups: ["finance"] },
      })
    ).json().key as string;
    const question = "Where was the aurora borealis seen?";
    const leaks = (body: string) =>
      [...uploaded, "ocelot", "pangolin", "Svalbard", "Kiruna"].filter((w) => body.includes(w));

    // The reader (clearance internal, no groups): neither document, answered or streamed, and
    // not when it asks again (regenerate) or filters for them by name.
    const id = (await call(reader, "POST", "/v1/conversations", {})).json().id as string;
    const asked = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question,
      topK: 10,
      filters: { documentIds: uploaded },
    });
    expect(asked.statusCode, asked.body).toBe(200);
    expect(leaks(asked.body)).toEqual([]);
    const streamed = await rt.app.inject({
      method: "POST",
      url: `/v1/conversations/${id}/messages`,
      headers: { ...auth(reader), accept: "text/event-stream" },
      payload: { question, topK: 10 },
    });
    expect(streamed.body).toContain("event: done");
    expect(leaks(streamed.body)).toEqual([]);
    const again = await call(reader, "POST", `/v1/conversations/${id}/regenerate`, { topK: 10 });
    expect(again.statusCode, again.body).toBe(200);
    expect(leaks(again.body)).toEqual([]);
    expect(leaks((await call(reader, "GET", `/v1/conversations/${id}`)).body)).toEqual([]);

    // A reader cleared for both sees both through the same kind of turn (the test can fail).
    const theirs = (await call(cleared, "POST", "/v1/conversations", {})).json().id as string;
    const seen = await rt.app.inject({
      method: "POST",
      url: `/v1/conversations/${theirs}/messages`,
      headers: { ...auth(cleared), accept: "text/event-stream" },
      payload: { question, topK: 10 },
    });
    expect(leaks(seen.body)).toEqual(expect.arrayContaining([...uploaded, "ocelot", "pangolin"]));
    expect((await call(cleared, "DELETE", `/v1/conversations/${theirs}`)).statusCode).toBe(204);

    // An unknown model route is a 400 naming the routes, before anything is stored.
    const unknown = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question,
      route: "nonesuch",
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: "unknown_route" });
    expect(unknown.json().message).toContain("default");
  });

  it("lists, renames and deletes conversations, each owner seeing only theirs", async () => {
    const id = (await call(reader, "POST", "/v1/conversations", { title: "Mine" })).json().id;
    expect(
      (await call(reader, "PATCH", `/v1/conversations/${id}`, { title: "Renamed" })).json().title,
    ).toBe("Renamed");
    const titles = (await call(reader, "GET", "/v1/conversations"))
      .json()
      .conversations.map((c: { title: string }) => c.title);
    expect(titles).toContain("Renamed");
    // Bob sees none of Alice's, and cannot read, rename, ask in or delete hers.
    expect((await call(other, "GET", "/v1/conversations")).json().conversations).toEqual([]);
    expect((await call(other, "GET", `/v1/conversations/${id}`)).statusCode).toBe(404);
    expect((await call(other, "PATCH", `/v1/conversations/${id}`, { title: "x" })).statusCode).toBe(
      404,
    );
    expect(
      (await call(other, "POST", `/v1/conversations/${id}/messages`, { question: "What is it?" }))
        .statusCode,
    ).toBe(404);
    expect((await call(other, "DELETE", `/v1/conversations/${id}`)).statusCode).toBe(404);
    expect((await call(reader, "DELETE", `/v1/conversations/${id}`)).statusCode).toBe(204);
    expect((await call(reader, "GET", `/v1/conversations/${id}`)).statusCode).toBe(404);
  });

  it("refuses a bad title and a bad id with one-line errors", async () => {
    const empty = await call(reader, "POST", "/v1/conversations", { title: "" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/title/);
    expect((await call(reader, "GET", "/v1/conversations/not-a-uuid")).statusCode).toBe(400);
  });

  it("regenerates the last answer, replacing it", async () => {
    const id = (await call(reader, "POST", "/v1/conversations", {})).json().id;
    const asked = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "What does reciprocal rank fusion merge?",
    });
    const again = await call(reader, "POST", `/v1/conversations/${id}/regenerate`, {});
    expect(again.statusCode).toBe(200);
    expect(again.json().messageId).not.toBe(asked.json().messageId);
    const messages = (await call(reader, "GET", `/v1/conversations/${id}`)).json().messages;
    expect(messages.map((m: { id: string }) => m.id)).toEqual([
      messages[0].id,
      again.json().messageId,
    ]);
    const empty = (await call(reader, "POST", "/v1/conversations", {})).json().id;
    expect(
      (await call(reader, "POST", `/v1/conversations/${empty}/regenerate`, {})).json().message,
    ).toBe("this conversation has no question to answer again");
  });

  it("stores feedback with the question, chunk ids and model, and exports it for the admin only", async () => {
    const id = (await call(reader, "POST", "/v1/conversations", {})).json().id;
    await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "What is reciprocal rank fusion?",
    });
    const answered = await call(reader, "POST", `/v1/conversations/${id}/messages`, {
      question: "Who proposed it?",
    });
    const messageId = answered.json().messageId;
    // Bob cannot rate Alice's answer.
    expect(
      (await call(other, "POST", "/v1/feedback", { messageId, rating: "up" })).statusCode,
    ).toBe(404);
    expect(
      (await call(reader, "POST", "/v1/feedback", { messageId, rating: "up" })).statusCode,
    ).toBe(204);
    // Rating again replaces the rating.
    expect(
      (
        await call(reader, "POST", "/v1/feedback", {
          messageId,
          rating: "down",
          comment: "wrong year",
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (await call(reader, "POST", "/v1/feedback", { messageId, rating: "meh" })).statusCode,
    ).toBe(400);
    expect((await call(reader, "GET", "/v1/admin/feedback/export")).statusCode).toBe(403);

    const exported = await rt.app.inject({
      method: "GET",
      url: "/v1/admin/feedback/export",
      headers: auth(),
    });
    expect(exported.headers["content-type"]).toMatch(/application\/x-ndjson/);
    const lines = exported.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.question === "Who proposed reciprocal rank fusion?");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      answer: answered.json().answer,
      rating: "down",
      comment: "wrong year",
      model: "extractive",
      retrievedChunkIds: answered.json().retrieved.map((r: { chunkId: string }) => r.chunkId),
      citedChunkIds: answered.json().citations.map((r: { chunkId: string }) => r.chunkId),
    });
    const stored = (await call(reader, "GET", `/v1/conversations/${id}`)).json().messages;
    expect(stored[3].feedback).toEqual({ rating: "down", comment: "wrong year" });
  });

  it("lists users as sign-on reports them, and the configured models, to the admin", async () => {
    await rt.services.db.query(
      "INSERT INTO browser_sessions (id_hash, sub, role, name, expires_at) VALUES ('h1', 'sub-carol', 'ingester', 'Carol', now() + interval '1 hour')",
    );
    const users = (
      await rt.app.inject({ method: "GET", url: "/v1/admin/users", headers: auth() })
    ).json().users;
    expect(users).toContainEqual(
      expect.objectContaining({
        owner: "user:sub-carol",
        name: "Carol",
        role: "ingester",
        activeSessions: 1,
      }),
    );
    expect(users.some((u: { owner: string }) => u.owner.startsWith("key:"))).toBe(true);
    expect((await call(reader, "GET", "/v1/admin/users")).statusCode).toBe(403);
    expect(
      (await rt.app.inject({ method: "GET", url: "/v1/admin/models", headers: auth() })).json(),
    ).toEqual({
      generator: "extractive",
      embeddings: rt.services.embedder.id,
      rewriter: "rule",
      routes: { default: "extractive" },
    });
  });

  it("deletes a user's conversations and feedback on request, and nobody else's", async () => {
    const id = (await call(other, "POST", "/v1/conversations", {})).json().id;
    const answered = await call(other, "POST", `/v1/conversations/${id}/messages`, {
      question: "What does reciprocal rank fusion merge?",
    });
    await call(other, "POST", "/v1/feedback", {
      messageId: answered.json().messageId,
      rating: "up",
    });
    const aliceBefore = (await call(reader, "GET", "/v1/conversations")).json().conversations
      .length;
    const deleted = await call(other, "DELETE", "/v1/me/data");
    expect(deleted.json()).toEqual({ conversations: 1, feedback: 1 });
    expect((await call(other, "GET", "/v1/conversations")).json().conversations).toEqual([]);
    expect((await call(reader, "GET", "/v1/conversations")).json().conversations).toHaveLength(
      aliceBefore,
    );
    // The admin deletes on a user's behalf, by the owner the users list names.
    const owner = (await rt.app.inject({ method: "GET", url: "/v1/admin/users", headers: auth() }))
      .json()
      .users.find(
        (u: { conversations: number; owner: string }) =>
          u.owner.startsWith("key:") && u.conversations > 0,
      ).owner;
    const byAdmin = await rt.app.inject({
      method: "DELETE",
      url: `/v1/admin/users/${encodeURIComponent(owner)}/data`,
      headers: auth(),
    });
    expect(byAdmin.json().conversations).toBe(aliceBefore);
    expect((await call(reader, "GET", "/v1/conversations")).json().conversations).toEqual([]);
  });
});

describe("a follow-up rewritten by the configured model", () => {
  let rt: Runtime;
  let model: Server;
  const prompts: string[] = [];
  beforeAll(async () => {
    // An OpenAI-compatible stand-in: it rewrites when asked to, and answers citing [1] otherwise.
    model = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const request = JSON.parse(body);
        const system = request.messages[0].content as string;
        prompts.push(system);
        const content =
          system === REWRITE_PROMPT
            ? "When was reciprocal rank fusion proposed?"
            : "It was proposed in 2009 [1].";
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            id: "x",
            object: "chat.completion",
            created: 0,
            model: "stand-in",
            choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          }),
        );
      });
    });
    await new Promise<void>((r) => model.listen(0, "127.0.0.1", r));
    rt = await startRuntime("embedded", {
      LLM_PROVIDER: "openai",
      LLM_BASE_URL: `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`,
      LLM_MODEL: "stand-in",
    });
    const { document } = await rt.services.documents.create({
      name: "fusion.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(FUSION),
    });
    await rt.waitReady(document.id);
  });
  afterAll(async () => {
    await rt?.close();
    model?.close();
  });

  it("asks the model for the standalone question and searches for it", async () => {
    const id = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/conversations",
        headers: auth(),
        payload: {},
      })
    ).json().id;
    const ask = (question: string) =>
      rt.app.inject({
        method: "POST",
        url: `/v1/conversations/${id}/messages`,
        headers: auth(),
        payload: { question },
      });
    await ask("What is reciprocal rank fusion?");
    expect(prompts).not.toContain(REWRITE_PROMPT); // the first question needs no rewriting
    const followUp = (await ask("When was it proposed?")).json();
    expect(prompts).toContain(REWRITE_PROMPT);
    expect(followUp).toMatchObject({
      standalone: "When was reciprocal rank fusion proposed?",
      rewrittenBy: "model",
    });
    expect(followUp.citations[0].documentName).toBe("fusion.md");
    const models = (
      await rt.app.inject({ method: "GET", url: "/v1/admin/models", headers: auth() })
    ).json();
    expect(models).toMatchObject({ generator: "openai:stand-in", rewriter: "model" });
  });
});
