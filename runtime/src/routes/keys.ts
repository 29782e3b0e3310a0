/** /v1/keys: issue, list and revoke API keys (admin); /v1/me: who the credentials are. */
import type { FastifyInstance } from "fastify";
import { AccessInputError, checkGroups } from "../auth/access";
import type { Authenticator } from "../auth/auth";
import { type KeyStore, type Role, ROLES } from "../auth/keys";
import { noteAudit } from "./audit";
import { errorSchema, groupsSchema } from "./schemas";

const keySchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    role: { type: "string", enum: [...ROLES] },
    clearance: {
      type: "string",
      description:
        "The highest classification label the key sees (and every label below). Admin keys see every label.",
    },
    groups: {
      type: "array",
      items: { type: "string" },
      description:
        "The key's groups: a document restricted to groups needs one of them. Admin keys are in every group.",
    },
    createdAt: { type: "string" },
  },
  required: ["id", "name", "role", "clearance", "groups"],
} as const;

export function keyRoutes(
  app: FastifyInstance,
  deps: { keys: KeyStore; auth: Authenticator },
): void {
  const admin = deps.auth.require("admin");
  app.get(
    "/v1/me",
    {
      onRequest: deps.auth.require("reader"),
      schema: {
        summary:
          "The caller: how it authenticated and its role (clients use it to check credentials and offer only what the role allows)",
        tags: ["keys"],
        response: {
          200: {
            type: "object",
            properties: {
              kind: {
                type: "string",
                enum: ["api-key", "oidc", "session", "local"],
                description:
                  "session: signed in through single sign-on; local: embedded mode without credentials",
              },
              role: { type: "string", enum: [...ROLES] },
              subject: { type: "string" },
              name: { type: "string" },
              clearance: {
                type: "string",
                description:
                  "The highest label the caller sees; absent: every label (admin, local).",
              },
              groups: {
                type: "array",
                items: { type: "string" },
                description: "The caller's groups; absent: every group (admin, local).",
              },
              authRequired: { type: "boolean" },
            },
            required: ["kind", "role", "authRequired"],
          },
          401: errorSchema,
        },
      },
    },
    async (request) => ({ ...request.principal!, authRequired: deps.auth.required }),
  );
  app.post<{ Body: { name: string; role: Role; clearance?: string; groups?: string[] } }>(
    "/v1/keys",
    {
      onRequest: admin,
      config: { audit: "key.create" },
      schema: {
        summary: "Issue an API key (shown once; stored hashed)",
        description:
          "A reader or ingester key sees documents labelled at or below its `clearance` (default: CLASSIFICATION_DEFAULT) and, of those restricted to groups, the ones sharing a group with `groups` (default: none). Admin keys see every document: `clearance` and `groups` are refused for them.",
        tags: ["keys"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["name", "role"],
          properties: {
            name: { type: "string", minLength: 1, maxLength: 200 },
            role: { type: "string", enum: [...ROLES] },
            clearance: { type: "string", minLength: 1, maxLength: 50 },
            groups: groupsSchema,
          },
        },
        response: {
          201: {
            ...keySchema,
            properties: { ...keySchema.properties, key: { type: "string" } },
            required: [...keySchema.required, "key"],
          },
          400: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { name, role, clearance, groups } = request.body;
      const classification = deps.auth.classification;
      if (role === "admin" && (clearance !== undefined || groups !== undefined))
        throw new AccessInputError(
          "bad_classification",
          "admin keys see every document: clearance and groups are for reader and ingester keys",
        );
      const access =
        role === "admin"
          ? { clearance: classification.highest }
          : {
              clearance: classification.check(
                clearance ?? classification.defaultLabel,
                "clearance",
              ),
              groups: checkGroups(groups ?? [], "groups"),
            };
      const key = await deps.keys.create(name, role, access);
      noteAudit(request, {
        target: { type: "key", id: key.id },
        details: { name: key.name, role: key.role, clearance: key.clearance, groups: key.groups },
      });
      return reply.status(201).send(key);
    },
  );
  app.get(
    "/v1/keys",
    {
      onRequest: admin,
      schema: {
        summary: "List active API keys",
        tags: ["keys"],
        response: {
          200: { type: "object", properties: { items: { type: "array", items: keySchema } } },
        },
      },
    },
    async () => ({
      items: await deps.keys.list(),
    }),
  );
  app.delete<{ Params: { id: string } }>(
    "/v1/keys/:id",
    {
      onRequest: admin,
      config: { audit: "key.revoke" },
      schema: {
        summary: "Revoke an API key",
        description:
          "The last active admin key cannot be revoked (409 last_admin_key): issue another admin key first.",
        tags: ["keys"],
        params: {
          type: "object",
          properties: { id: { type: "string", format: "uuid" } },
          required: ["id"],
        },
        response: { 204: { type: "null" }, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      noteAudit(request, { target: { type: "key", id: request.params.id } });
      return (await deps.keys.revoke(request.params.id))
        ? reply.status(204).send()
        : reply.status(404).send({
            error: "not_found",
            message: `no active key ${request.params.id}`,
            requestId: request.id,
          });
    },
  );
}
