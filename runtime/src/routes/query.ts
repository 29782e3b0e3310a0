/** /v1/retrieve and /v1/query (with citations, optionally streamed as server-sent events). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authenticator } from "../auth/auth";
import { ROUTE_NAME } from "../config";
import { citedNumbers, type Context, type Generator, type ModelRoutes } from "../models/generator";
import type { Filters } from "../search/filters";
import type { Degraded, Retrieved, Retriever } from "../search/retrieve";
import { noteAudit } from "./audit";
import { errorSchema, questionSchema, retrievedSchema } from "./schemas";

interface QuestionBody {
  question: string;
  topK: number;
  filters?: Filters;
  stream?: boolean;
  route?: string;
}

export function contextsOf(retrieved: readonly Retrieved[]): Context[] {
  return retrieved.map((r, i) => ({
    n: i + 1,
    chunkId: r.chunkId,
    documentName: r.documentName,
    text: r.text,
  }));
}

/** The chunks an answer cites; an answer citing nothing is attributed to what it was given. */
export function citationsFor(answer: string, retrieved: readonly Retrieved[]): Retrieved[] {
  const cited = citedNumbers(answer).filter((n) => n >= 1 && n <= retrieved.length);
  return cited.length > 0 ? cited.map((n) => retrieved[n - 1]!) : [...retrieved];
}

/** What a client is told when the model does not answer (the log has the cause; the client needs no internals). */
const GENERATION_FAILED =
  "the language model failed to answer; try again shortly, or POST /v1/retrieve for the passages alone";

/** Logs, with the request, each optional retrieval stage that failed and was done without. */
function logDegraded(request: FastifyRequest): Degraded {
  return (stage, error) =>
    request.log.warn(
      { stage, err: error },
      `retrieval went on without its ${stage} stage, which failed`,
    );
}

/**
 * What the audit event of a retrieval or query tells: the documents and chunks returned (ids, never
 * their text), and the question only when AUDIT_INCLUDE_QUESTION asks for it.
 */
function noteReturned(
  request: FastifyRequest,
  retrieved: readonly Retrieved[],
  /** The question, when AUDIT_INCLUDE_QUESTION asks for it. */
  question: string | undefined,
  cited?: readonly Retrieved[],
): void {
  const documentIds = [...new Set(retrieved.map((r) => r.documentId))];
  noteAudit(request, {
    target: { type: "document", ids: documentIds },
    details: {
      chunkIds: retrieved.map((r) => r.chunkId),
      ...(cited ? { citedChunkIds: cited.map((r) => r.chunkId) } : {}),
      ...(question !== undefined ? { question } : {}),
    },
  });
}

/**
 * The generator of the request's `route` (none: "default"); an unknown route is answered here
 * with a 400 `unknown_route` naming the routes there are, and undefined returned.
 */
export function pickRoute(
  routes: ModelRoutes,
  request: FastifyRequest<{ Body: { route?: string } }>,
  reply: FastifyReply,
): Generator | undefined {
  const generator = routes.pick(request.body?.route);
  if (!generator)
    void reply.status(400).send({
      error: "unknown_route",
      message: `no model route "${request.body?.route}"; the routes are: ${routes.names.join(", ")}`,
      requestId: request.id,
    });
  return generator;
}

export interface Answered {
  readonly answer: string;
  readonly citations: Retrieved[];
  readonly retrieved: Retrieved[];
}

export interface AnswerInput {
  /** What the model is asked. */
  readonly question: string;
  /** What retrieval searches for (a follow-up's standalone form). */
  readonly search: string;
  readonly topK: number;
  /**
   * The filters retrieval applies, already narrowed to what the caller may see
   * (`auth.access(request)`): nothing above its clearance or outside its groups is retrieved.
   */
  readonly filters: Filters;
  /** Fields the `retrieved` event (and the JSON answer) carry besides the passages. */
  readonly extra?: Record<string, unknown>;
  /** Called once the answer is complete (not when the client left or the model failed): fields added to `done`. */
  readonly onDone?: (answered: Answered) => Promise<Record<string, unknown>>;
}

/**
 * Retrieves, generates, answers: JSON, or server-sent events when the request asks for a stream
 * (`stream: true` or `Accept: text/event-stream`): `retrieved`, `token`s, then `done` (or `error`).
 * A client that hangs up stops the model (its "stop" button). The audit event names what was
 * returned (noteReturned).
 */
export async function answer(
  request: FastifyRequest<{ Body: { stream?: boolean } }>,
  reply: FastifyReply,
  deps: { retriever: Retriever; generator: Generator; includeQuestion: boolean },
  input: AnswerInput,
): Promise<unknown> {
  const { retriever, generator } = deps;
  const audited = deps.includeQuestion ? input.question : undefined;
  // A client that hangs up stops the model: nobody would read the rest, and it holds a GPU (or costs tokens).
  const gone = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) gone.abort(new Error("the client closed the connection"));
  });
  const retrieved = await retriever.retrieve(
    { question: input.search, topK: input.topK, filters: input.filters },
    logDegraded(request),
  );
  noteReturned(request, retrieved, audited);
  const streaming = request.body?.stream || request.headers.accept?.includes("text/event-stream");
  if (!streaming) {
    let text: string;
    try {
      text = await generator.generate(
        input.question,
        contextsOf(retrieved),
        undefined,
        gone.signal,
      );
    } catch (error) {
      if (gone.signal.aborted) {
        request.log.info("the client went away: generation stopped");
        return reply.status(499).send();
      }
      request.log.error({ err: error }, "generation failed");
      return reply.status(503).header("retry-after", "10").send({
        error: "generation_failed",
        message: GENERATION_FAILED,
        requestId: request.id,
      });
    }
    const answered = { answer: text, citations: citationsFor(text, retrieved), retrieved };
    noteReturned(request, retrieved, audited, answered.citations);
    return { ...input.extra, ...answered, ...(await input.onDone?.(answered)) };
  }
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-request-id": request.id,
  });
  const send = (event: string, data: unknown) =>
    out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("retrieved", { ...input.extra, retrieved });
  try {
    const text = await generator.generate(
      input.question,
      contextsOf(retrieved),
      (piece) => send("token", { text: piece }),
      gone.signal,
    );
    const answered = { answer: text, citations: citationsFor(text, retrieved), retrieved };
    noteReturned(request, retrieved, audited, answered.citations);
    const more = await input.onDone?.(answered);
    send("done", { answer: text, citations: answered.citations, ...more });
  } catch (error) {
    if (gone.signal.aborted) {
      request.log.info("the client went away: generation stopped");
      out.end();
      return;
    }
    request.log.error({ err: error }, "generation failed");
    // The stream's status is already 200: the event says the answer failed.
    noteAudit(request, { outcome: "failure" });
    send("error", {
      error: "generation_failed",
      message: GENERATION_FAILED,
      requestId: request.id,
    });
  }
  out.end();
}

export function queryRoutes(
  app: FastifyInstance,
  deps: {
    retriever: Retriever;
    /** The model routes a query picks among (`route`; none: "default"). */
    routes: ModelRoutes;
    auth: Authenticator;
    /** Whether audit events carry the question (AUDIT_INCLUDE_QUESTION). */
    includeQuestion: boolean;
  },
): void {
  const { retriever, routes, auth, includeQuestion } = deps;
  /** The question with the caller's filters narrowed to what it may see (applied in the store). */
  const scoped = (request: FastifyRequest<{ Body: QuestionBody }>) => ({
    ...request.body,
    filters: { ...request.body.filters, ...auth.access(request) },
  });

  app.post<{ Body: QuestionBody }>(
    "/v1/retrieve",
    {
      onRequest: auth.require("reader"),
      config: { audit: "retrieval" },
      schema: {
        summary: "Hybrid retrieval (BM25 + vectors, fused) without generation",
        tags: ["query"],
        body: questionSchema,
        response: {
          200: {
            type: "object",
            properties: { retrieved: { type: "array", items: retrievedSchema } },
            required: ["retrieved"],
          },
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const retrieved = await retriever.retrieve(scoped(request), logDegraded(request));
      noteReturned(request, retrieved, includeQuestion ? request.body.question : undefined);
      return { retrieved };
    },
  );

  app.post<{ Body: QuestionBody }>(
    "/v1/query",
    {
      onRequest: auth.require("reader"),
      config: { audit: "query" },
      schema: {
        summary: "Answer a question from the indexed documents, with citations",
        description:
          "With `stream: true` (or `Accept: text/event-stream`) the answer streams as server-sent events: `retrieved`, then `token`s, then `done` with the citations. `route` picks a model route (MODEL_ROUTES); an unknown one is a 400 `unknown_route` naming the routes there are.",
        tags: ["query"],
        body: {
          ...questionSchema,
          properties: {
            ...questionSchema.properties,
            stream: { type: "boolean", default: false },
            route: {
              type: "string",
              pattern: ROUTE_NAME.source,
              description: 'The model route that answers (MODEL_ROUTES). Unset: "default".',
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              answer: { type: "string" },
              citations: { type: "array", items: retrievedSchema },
              retrieved: { type: "array", items: retrievedSchema },
            },
            required: ["answer", "citations", "retrieved"],
          },
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const generator = pickRoute(routes, request, reply);
      if (!generator) return reply;
      return answer(
        request,
        reply,
        { retriever, generator, includeQuestion },
        {
          question: request.body.question,
          search: request.body.question,
          topK: request.body.topK,
          filters: scoped(request).filters,
        },
      );
    },
  );
}
