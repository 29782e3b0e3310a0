/**
 * Conversations (multi-turn chat, stored per user), feedback on answers, a user's data deleted
 * on request, and the admin's views: users as single sign-on reports them, the configured models,
 * the feedback exported as an evaluation set.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authenticator } from "../auth/auth";
import { ROUTE_NAME } from "../config";
import { ownerOf } from "../auth/auth";
import type { ConversationStore } from "../conversations";
import type { Db } from "../db/db";
import type { Embedder } from "../models/embedder";
import type { ModelRoutes } from "../models/generator";
import type { Filters } from "../search/filters";
import type { Retriever } from "../search/retrieve";
import { rewriteFollowUp, type Turn } from "../search/rewrite";
import { noteAudit } from "./audit";
import { answer, pickRoute } from "./query";
import { errorSchema, filtersSchema, retrievedSchema } from "./schemas";

const conversationSchema = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    title: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
  },
  required: ["id", "title", "createdAt", "updatedAt"],
} as const;

const passages = { type: ["array", "null"], items: retrievedSchema } as const;

const messageSchema = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    role: { type: "string", enum: ["user", "assistant"] },
    content: { type: "string" },
    standalone: { type: ["string", "null"], description: "The standalone question searched for." },
    retrieved: passages,
    citations: passages,
    model: { type: ["string", "null"] },
    feedback: {
      type: ["object", "null"],
      properties: {
        rating: { type: "string", enum: ["up", "down"] },
        comment: { type: ["string", "null"] },
      },
    },
    createdAt: { type: "string", format: "date-time" },
  },
  required: ["id", "role", "content"],
} as const;

const idParams = {
  type: "object",
  properties: { id: { type: "string", format: "uuid" } },
  required: ["id"],
} as const;

const titleSchema = { type: "string", minLength: 1, maxLength: 500 } as const;

const askOptions = {
  topK: { type: "integer", minimum: 1, maximum: 50, default: 5 },
  filters: filtersSchema,
  stream: { type: "boolean", default: false },
  route: {
    type: "string",
    pattern: ROUTE_NAME.source,
    description: 'The model route that answers and rewrites (MODEL_ROUTES). Unset: "default".',
  },
} as const;

const answeredSchema = {
  type: "object",
  properties: {
    answer: { type: "string" },
    citations: { type: "array", items: retrievedSchema },
    retrieved: { type: "array", items: retrievedSchema },
    standalone: { type: "string" },
    rewrittenBy: { type: "string", enum: ["model", "rule", "none"] },
    messageId: { type: "string", format: "uuid" },
  },
  required: ["answer", "citations", "retrieved", "standalone", "messageId"],
} as const;

interface AskBody {
  question: string;
  topK: number;
  filters?: Filters;
  stream?: boolean;
  route?: string;
}

const notFound = (requestId: string) => ({
  error: "not_found",
  message: "no such conversation among yours",
  requestId,
});

export function conversationRoutes(
  app: FastifyInstance,
  deps: {
    conversations: ConversationStore;
    retriever: Retriever;
    /** The model routes a turn picks among (`route`; none: "default"). */
    routes: ModelRoutes;
    embedder: Pick<Embedder, "id">;
    db: Db;
    auth: Authenticator;
    /** Whether audit events carry the question (AUDIT_INCLUDE_QUESTION). */
    includeQuestion: boolean;
  },
): void {
  const { conversations, auth } = deps;
  const tags = ["conversations"];

  app.post<{ Body: { title?: string } }>(
    "/v1/conversations",
    {
      onRequest: auth.require("reader"),
      schema: {
        summary: "Start a conversation",
        tags,
        body: {
          type: "object",
          additionalProperties: false,
          properties: { title: titleSchema },
        },
        response: { 201: conversationSchema, 400: errorSchema },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await conversations.create(
            ownerOf(request.principal),
            request.body?.title ?? "New conversation",
          ),
        ),
  );

  app.get(
    "/v1/conversations",
    {
      onRequest: auth.require("reader"),
      schema: {
        summary: "Your conversations, most recent first",
        tags,
        response: {
          200: {
            type: "object",
            properties: { conversations: { type: "array", items: conversationSchema } },
            required: ["conversations"],
          },
        },
      },
    },
    async (request) => ({ conversations: await conversations.list(ownerOf(request.principal)) }),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/conversations/:id",
    {
      onRequest: auth.require("reader"),
      config: { audit: "conversation.read" },
      schema: {
        summary: "A conversation of yours with its messages",
        tags,
        params: idParams,
        response: {
          200: {
            type: "object",
            properties: {
              conversation: conversationSchema,
              messages: { type: "array", items: messageSchema },
            },
            required: ["conversation", "messages"],
          },
          404: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const owner = ownerOf(request.principal);
      const conversation = await conversations.get(owner, request.params.id);
      noteAudit(request, { target: { type: "conversation", id: request.params.id } });
      if (!conversation) return reply.status(404).send(notFound(request.id));
      return { conversation, messages: await conversations.messages(owner, conversation.id) };
    },
  );

  app.patch<{ Params: { id: string }; Body: { title: string } }>(
    "/v1/conversations/:id",
    {
      onRequest: auth.require("reader"),
      schema: {
        summary: "Rename a conversation",
        tags,
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["title"],
          properties: { title: titleSchema },
        },
        response: { 200: conversationSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const renamed = await conversations.rename(
        ownerOf(request.principal),
        request.params.id,
        request.body.title,
      );
      return renamed ?? reply.status(404).send(notFound(request.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/conversations/:id",
    {
      onRequest: auth.require("reader"),
      config: { audit: "conversation.delete" },
      schema: {
        summary: "Delete a conversation and its messages",
        tags,
        params: idParams,
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      noteAudit(request, { target: { type: "conversation", id: request.params.id } });
      return (await conversations.delete(ownerOf(request.principal), request.params.id))
        ? reply.status(204).send()
        : reply.status(404).send(notFound(request.id));
    },
  );

  /** Rewrites, retrieves, answers (streamed or not) and stores the answer with what it was made from. */
  const ask = async (
    request: FastifyRequest<{ Body: { stream?: boolean; route?: string } }>,
    reply: FastifyReply,
    options: { conversationId: string; question: string; history: Turn[]; stored?: string },
    body: { topK: number; filters?: Filters; route?: string },
  ) => {
    const generator = pickRoute(deps.routes, request, reply);
    if (!generator) return reply;
    const rewritten = options.stored
      ? { standalone: options.stored, by: "none" as const }
      : await rewriteFollowUp(options.question, options.history, generator, {
          onModelError: (error) =>
            request.log.warn(
              { err: error },
              "the model did not rewrite the follow-up: the rule did",
            ),
        });
    if (!options.stored)
      await conversations.append(options.conversationId, {
        role: "user",
        content: options.question,
        standalone: rewritten.standalone,
      });
    return answer(
      request,
      reply,
      { ...deps, generator },
      {
        question: rewritten.standalone,
        search: rewritten.standalone,
        topK: body.topK,
        // The caller's filters narrowed to what it may see, as /v1/query does: a conversation
        // never retrieves (so never cites) a chunk above its clearance or outside its groups.
        filters: { ...body.filters, ...auth.access(request) },
        extra: { standalone: rewritten.standalone, rewrittenBy: rewritten.by },
        onDone: async ({ answer: text, citations, retrieved }) => ({
          messageId: await conversations.append(options.conversationId, {
            role: "assistant",
            content: text,
            retrieved,
            citations,
            model: generator.id,
          }),
        }),
      },
    );
  };

  /** The turns so far, for rewriting: each question with what was searched for and its answer. */
  const turnsOf = (messages: Awaited<ReturnType<ConversationStore["messages"]>>): Turn[] =>
    messages.flatMap((m, i) =>
      m.role === "user"
        ? [
            {
              question: m.content,
              standalone: m.standalone ?? m.content,
              answer: messages[i + 1]?.role === "assistant" ? messages[i + 1]!.content : undefined,
            },
          ]
        : [],
    );

  app.post<{ Params: { id: string }; Body: AskBody }>(
    "/v1/conversations/:id/messages",
    {
      onRequest: auth.require("reader"),
      config: { audit: "query" },
      schema: {
        summary:
          "Ask in a conversation: the follow-up is rewritten into a standalone question, then answered",
        description:
          "Streams like /v1/query with `stream: true` (or `Accept: text/event-stream`): `retrieved` (with `standalone`), `token`s, `done` (with `messageId`). " +
          "Closing the connection stops the answer; nothing of it is stored.",
        tags,
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["question"],
          properties: {
            question: { type: "string", minLength: 1, maxLength: 4000 },
            ...askOptions,
          },
        },
        response: { 200: answeredSchema, 400: errorSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const owner = ownerOf(request.principal);
      const conversation = await conversations.get(owner, request.params.id);
      if (!conversation) return reply.status(404).send(notFound(request.id));
      const messages = await conversations.messages(owner, conversation.id);
      if (messages.length === 0 && conversation.title === "New conversation")
        await conversations.rename(owner, conversation.id, request.body.question);
      return ask(
        request,
        reply,
        {
          conversationId: conversation.id,
          question: request.body.question,
          history: turnsOf(messages),
        },
        request.body,
      );
    },
  );

  app.post<{ Params: { id: string }; Body: Omit<AskBody, "question"> }>(
    "/v1/conversations/:id/regenerate",
    {
      onRequest: auth.require("reader"),
      config: { audit: "query" },
      schema: {
        summary: "Answer the conversation's last question again (its previous answer is replaced)",
        tags,
        params: idParams,
        body: { type: "object", additionalProperties: false, properties: askOptions },
        response: { 200: answeredSchema, 400: errorSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const owner = ownerOf(request.principal);
      const conversation = await conversations.get(owner, request.params.id);
      if (!conversation) return reply.status(404).send(notFound(request.id));
      const messages = await conversations.messages(owner, conversation.id);
      const last = messages.findLast((m) => m.role === "user");
      if (!last)
        return reply.status(400).send({
          error: "bad_request",
          message: "this conversation has no question to answer again",
          requestId: request.id,
        });
      await conversations.dropLastAnswer(conversation.id);
      return ask(
        request,
        reply,
        {
          conversationId: conversation.id,
          question: last.content,
          history: [],
          stored: last.standalone ?? last.content,
        },
        request.body ?? { topK: 5 },
      );
    },
  );

  app.post<{ Body: { messageId: string; rating: "up" | "down"; comment?: string } }>(
    "/v1/feedback",
    {
      onRequest: auth.require("reader"),
      schema: {
        summary: "Rate an answer (thumbs up or down, with an optional comment)",
        description:
          "Stored with the question, the retrieved and cited chunk ids and the model; rating the same answer again replaces the rating.",
        tags: ["feedback"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["messageId", "rating"],
          properties: {
            messageId: { type: "string", format: "uuid" },
            rating: { type: "string", enum: ["up", "down"] },
            comment: { type: "string", maxLength: 4000 },
          },
        },
        response: { 204: { type: "null" }, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) =>
      (await conversations.rate(
        ownerOf(request.principal),
        request.body.messageId,
        request.body.rating,
        request.body.comment?.trim() || undefined,
      ))
        ? reply.status(204).send()
        : reply.status(404).send({
            error: "not_found",
            message: "no such answer among yours",
            requestId: request.id,
          }),
  );

  const deletedSchema = {
    type: "object",
    properties: { conversations: { type: "integer" }, feedback: { type: "integer" } },
    required: ["conversations", "feedback"],
  } as const;

  /** Deletes an owner's conversations and feedback; the audit event names the owner and the counts. */
  const deleteData = async (request: FastifyRequest, owner: string) => {
    const deleted = await conversations.deleteOwner(owner);
    noteAudit(request, { target: { type: "owner", id: owner }, details: { ...deleted } });
    return deleted;
  };

  app.delete(
    "/v1/me/data",
    {
      onRequest: auth.require("reader"),
      config: { audit: "user_data.delete" },
      schema: {
        summary: "Delete your conversations, messages and feedback",
        tags: ["conversations"],
        response: { 200: deletedSchema },
      },
    },
    async (request) => deleteData(request, ownerOf(request.principal)),
  );

  app.delete<{ Params: { owner: string } }>(
    "/v1/admin/users/:owner/data",
    {
      onRequest: auth.require("admin"),
      config: { audit: "user_data.delete" },
      schema: {
        summary: "Delete a user's conversations, messages and feedback (on their request)",
        description:
          "`owner` as GET /v1/admin/users lists it: `user:<subject>`, `key:<id>` or `local`.",
        tags: ["admin"],
        params: {
          type: "object",
          properties: { owner: { type: "string", minLength: 1, maxLength: 300 } },
          required: ["owner"],
        },
        response: { 200: deletedSchema },
      },
    },
    async (request) => deleteData(request, request.params.owner),
  );

  app.get(
    "/v1/admin/users",
    {
      onRequest: auth.require("admin"),
      schema: {
        summary: "Users and their roles as single sign-on reports them, with their conversations",
        description:
          "One row per subject that signed in (its role and name as the latest session holds them) and per other owner of conversations (API keys, the local user).",
        tags: ["admin"],
        response: {
          200: {
            type: "object",
            properties: {
              users: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    owner: { type: "string" },
                    subject: { type: ["string", "null"] },
                    name: { type: ["string", "null"] },
                    role: { type: ["string", "null"] },
                    lastSeen: { type: ["string", "null"], format: "date-time" },
                    activeSessions: { type: "integer" },
                    conversations: { type: "integer" },
                  },
                  required: ["owner", "conversations", "activeSessions"],
                },
              },
            },
            required: ["users"],
          },
        },
      },
    },
    async () => {
      const sessions = await deps.db.query<{
        sub: string;
        name: string | null;
        role: string;
        seen_at: Date | string;
        active: number | string;
      }>(
        `SELECT DISTINCT ON (sub) sub, name, role, seen_at,
                (SELECT count(*) FROM browser_sessions a WHERE a.sub = s.sub AND a.expires_at > now()) AS active
         FROM browser_sessions s ORDER BY sub, seen_at DESC`,
      );
      const counts = await conversations.countsByOwner();
      interface UserRow {
        owner: string;
        subject: string | null;
        name: string | null;
        role: string | null;
        lastSeen: string | null;
        activeSessions: number;
        conversations: number;
      }
      const users: UserRow[] = sessions.map((s) => ({
        owner: `user:${s.sub}`,
        subject: s.sub,
        name: s.name,
        role: s.role,
        lastSeen: new Date(s.seen_at).toISOString(),
        activeSessions: Number(s.active),
        conversations: counts.get(`user:${s.sub}`) ?? 0,
      }));
      const listed = new Set(users.map((u) => u.owner));
      for (const [owner, n] of counts)
        if (!listed.has(owner))
          users.push({
            owner,
            subject: owner.startsWith("user:") ? owner.slice(5) : null,
            name: null,
            role: null,
            lastSeen: null,
            activeSessions: 0,
            conversations: n,
          });
      return { users };
    },
  );

  app.get(
    "/v1/admin/models",
    {
      onRequest: auth.require("admin"),
      schema: {
        summary: "The configured models: generation, embeddings, and what rewrites follow-ups",
        tags: ["admin"],
        response: {
          200: {
            type: "object",
            properties: {
              generator: { type: "string" },
              embeddings: { type: "string" },
              rewriter: { type: "string", enum: ["model", "rule"] },
              routes: {
                type: "object",
                description: "Each model route's generator (MODEL_ROUTES, and default)",
                additionalProperties: { type: "string" },
              },
            },
            required: ["generator", "embeddings", "rewriter"],
          },
        },
      },
    },
    async () => {
      const generator = deps.routes.pick()!;
      return {
        generator: generator.id,
        embeddings: deps.embedder.id,
        rewriter: generator.complete ? "model" : "rule",
        routes: Object.fromEntries(
          deps.routes.names.map((name) => [name, deps.routes.pick(name)!.id]),
        ),
      };
    },
  );

  app.get(
    "/v1/admin/feedback/export",
    {
      onRequest: auth.require("admin"),
      config: { audit: "feedback.export" },
      schema: {
        summary: "Every rating as an evaluation set: JSON Lines, one rated answer a line",
        description:
          "Each line: `question` (the standalone question), `answer`, `rating` (up/down), `comment`, `retrievedChunkIds`, `citedChunkIds`, `model`, `createdAt`.",
        tags: ["admin", "feedback"],
        produces: ["application/x-ndjson"],
      },
    },
    async (request, reply) => {
      const rows = await conversations.feedback();
      noteAudit(request, { details: { count: rows.length } });
      const lines = rows.map((r) => `${JSON.stringify(r)}\n`).join("");
      return reply
        .header("content-type", "application/x-ndjson; charset=utf-8")
        .header("content-disposition", 'attachment; filename="feedback.jsonl"')
        .send(lines);
    },
  );
}
