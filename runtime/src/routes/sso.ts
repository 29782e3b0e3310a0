/** How to sign in (/v1/auth), and browser single sign-on: /auth/login, /auth/callback, /auth/logout. */
import type { FastifyInstance } from "fastify";
import type { Authenticator } from "../auth/auth";
import { fromUi, UI_HEADER } from "../auth/sso";
import { errorSchema } from "./schemas";

export function ssoRoutes(app: FastifyInstance, auth: Authenticator): void {
  const sso = auth.sso;
  app.get(
    "/v1/auth",
    {
      schema: {
        summary:
          "How to sign in: whether credentials are needed, and whether single sign-on is offered (at /auth/login)",
        tags: ["auth"],
        security: [],
        response: {
          200: {
            type: "object",
            properties: { required: { type: "boolean" }, sso: { type: "boolean" } },
            required: ["required", "sso"],
          },
        },
      },
    },
    async () => ({ required: auth.required, sso: sso !== undefined }),
  );
  if (!sso) return;

  app.get(
    "/auth/login",
    {
      schema: {
        summary: "Start single sign-on: redirects to the identity provider",
        tags: ["auth"],
        security: [],
      },
    },
    (request, reply) => sso.login(request, reply),
  );
  app.get(
    "/auth/callback",
    {
      config: { audit: "session.start" },
      schema: {
        summary:
          "Where the identity provider returns: sets the session cookie, then redirects to the UI (with ?sso_error= on failure)",
        tags: ["auth"],
        security: [],
        querystring: {
          type: "object",
          properties: {
            code: { type: "string" },
            state: { type: "string" },
            error: { type: "string" },
            error_description: { type: "string" },
          },
        },
      },
    },
    (request, reply) => sso.callback(request, reply),
  );
  app.post(
    "/auth/logout",
    {
      config: { audit: "session.end" },
      schema: {
        summary: `End the browser session (send ${UI_HEADER.name}: ${UI_HEADER.value}); endSessionUrl is where the browser ends the provider's session too`,
        tags: ["auth"],
        security: [],
        response: {
          200: {
            type: "object",
            properties: { endSessionUrl: { type: ["string", "null"] } },
            required: ["endSessionUrl"],
          },
          403: errorSchema,
        },
      },
    },
    async (request, reply) => {
      if (!fromUi(request)) {
        return reply.status(403).send({
          error: "forbidden",
          message: `sign out from the UI: the header ${UI_HEADER.name}: ${UI_HEADER.value} is missing`,
          requestId: request.id,
        });
      }
      return sso.logout(request, reply);
    },
  );
}
