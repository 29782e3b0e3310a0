/**
 * Legal holds (admin): on a document, /v1/documents/:id/legal-hold; on a collection (the documents
 * whose metadata.collection is its name), /v1/collections/:name/legal-hold; all of them, /v1/legal-holds.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authenticator } from "../auth/auth";
import { type HoldScope, HOLD_SCOPES, type LegalHolds } from "../retention/holds";
import { actorOf, noteAudit } from "./audit";
import { errorSchema } from "./schemas";

const holdSchema = {
  type: "object",
  properties: {
    scope: { type: "string", enum: [...HOLD_SCOPES] },
    target: { type: "string", description: "The document's id, or the collection's name." },
    reason: { type: "string" },
    setBy: { type: "string", description: "The API key id or subject that set it." },
    setAt: { type: "string", format: "date-time" },
  },
  required: ["scope", "target", "reason", "setBy", "setAt"],
} as const;

const bodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["reason"],
  properties: { reason: { type: "string", minLength: 1, maxLength: 500 } },
} as const;

const paths = {
  document: {
    url: "/v1/documents/:id/legal-hold",
    params: {
      type: "object",
      properties: { id: { type: "string", format: "uuid" } },
      required: ["id"],
    },
  },
  collection: {
    url: "/v1/collections/:name/legal-hold",
    params: {
      type: "object",
      properties: { name: { type: "string", minLength: 1, maxLength: 500 } },
      required: ["name"],
    },
  },
} as const;

type Params = { id?: string; name?: string };

const targetOf = (scope: HoldScope, params: Params) =>
  scope === "document" ? params.id! : params.name!;

/** Who set a hold, as stored: a key's id or a subject, never a secret. */
function setterOf(request: FastifyRequest): string {
  const actor = actorOf(request);
  return actor.keyId ?? actor.subject ?? actor.kind;
}

export function holdRoutes(
  app: FastifyInstance,
  deps: { holds: LegalHolds; auth: Authenticator },
): void {
  const admin = deps.auth.require("admin");
  const notFound = (request: FastifyRequest, reply: FastifyReply, message: string) =>
    reply.status(404).send({ error: "not_found", message, requestId: request.id });

  for (const scope of HOLD_SCOPES) {
    const { url, params } = paths[scope];
    const tags = ["legal holds"];
    app.put<{ Params: Params; Body: { reason: string } }>(
      url,
      {
        onRequest: admin,
        config: { audit: "legal_hold.set" },
        schema: {
          summary: `Put a ${scope} under legal hold: delete and the retention purge keep ${scope === "document" ? "it" : "its documents"}`,
          description:
            "Refused with 409 `delete_in_progress` while a delete of the document (or of one of the collection's documents) is under way: the delete began first and finishes. A hold set first makes the delete 409 `legal_hold`.",
          tags,
          params,
          body: bodySchema,
          response: { 200: holdSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        const target = targetOf(scope, request.params);
        noteAudit(request, {
          target: { type: scope, id: target },
          details: { reason: request.body.reason },
        });
        const hold = await deps.holds.set(scope, target, request.body.reason, setterOf(request));
        return hold ?? notFound(request, reply, `no document ${target}`);
      },
    );
    app.delete<{ Params: Params }>(
      url,
      {
        onRequest: admin,
        config: { audit: "legal_hold.clear" },
        schema: {
          summary: `Clear a ${scope}'s legal hold`,
          tags,
          params,
          response: { 204: { type: "null" }, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const target = targetOf(scope, request.params);
        noteAudit(request, { target: { type: scope, id: target } });
        return (await deps.holds.clear(scope, target))
          ? reply.status(204).send()
          : notFound(request, reply, `no legal hold on ${scope} ${target}`);
      },
    );
    app.get<{ Params: Params }>(
      url,
      {
        onRequest: admin,
        schema: {
          summary: `A ${scope}'s own legal hold`,
          tags,
          params,
          response: { 200: holdSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const target = targetOf(scope, request.params);
        return (
          (await deps.holds.get(scope, target)) ??
          notFound(request, reply, `no legal hold on ${scope} ${target}`)
        );
      },
    );
  }

  app.get(
    "/v1/legal-holds",
    {
      onRequest: admin,
      schema: {
        summary: "Every legal hold, oldest first",
        tags: ["legal holds"],
        response: {
          200: { type: "object", properties: { items: { type: "array", items: holdSchema } } },
        },
      },
    },
    async () => ({ items: await deps.holds.list() }),
  );
}
