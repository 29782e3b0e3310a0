/**
 * The HTTP application over the services. Route schemas give validation and the OpenAPI
 * document (/docs); one error handler: 4xx keep their message, 5xx never leak internals.
 */
import { STATUS_CODES } from "node:http";
import cookie from "@fastify/cookie";
import { trace } from "@opentelemetry/api";
import multipart from "@fastify/multipart";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { AjvCompiler } from "@fastify/ajv-compiler";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifySchemaCompiler,
  type FastifyServerOptions,
} from "fastify";
import { Authenticator } from "./auth/auth";
import { KeyStore } from "./auth/keys";
import { BrowserSso } from "./auth/sso";
import { ENV } from "./config";
import { closeConnectionsOnceAnswered } from "./lifecycle";
import { loggerOptions } from "./logger";
import { registerAudit } from "./routes/audit";
import { ConversationStore } from "./conversations";
import { conversationRoutes } from "./routes/conversations";
import { classificationRoutes, documentRoutes } from "./routes/documents";
import { healthRoutes } from "./routes/health";
import { holdRoutes } from "./routes/holds";
import { keyRoutes } from "./routes/keys";
import { queryRoutes } from "./routes/query";
import { ssoRoutes } from "./routes/sso";
import { DOCS_CONTENT_SECURITY_POLICY, registerBrowserGuard } from "./routes/browser-guard";
import { refuseUnstorableText } from "./routes/text";
import { schemaErrorFormatter } from "./routes/validation";
import { webRoutes, type WebUiState } from "./routes/web";
import { registerRateLimit } from "./rate-limit";
import { LegalHolds } from "./retention/holds";
import type { Services } from "./services";

export interface AppOptions {
  readonly services: Services;
  /** Overrides for tests (e.g. `logger: false`). */
  readonly fastify?: FastifyServerOptions;
  /** Where the built UI is (default dist/web). */
  readonly webRoot?: string;
}

export interface App {
  readonly app: FastifyInstance;
  readonly auth: Authenticator;
  /** Whether the browser UI is served at `/`. */
  readonly webUi: WebUiState;
}

/** TRUST_PROXY as Fastify takes it: the addresses and CIDRs, or "the first n hops". */
function trustProxy(
  setting: number | string[],
): string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === "number" ? (_address, hop) => hop < setting : setting;
}

/**
 * The `error` of a 4xx answer: our own errors' codes, and for what Fastify and its plugins refuse
 * (codes like FST_ERR_VALIDATION, which name their internals and change between releases) the
 * status's name: `bad_request`, `payload_too_large`, `unsupported_media_type`...
 */
export function errorCode(error: { code?: string }, status: number): string {
  if (error.code && !error.code.startsWith("FST_")) return error.code.toLowerCase();
  return (STATUS_CODES[status] ?? "bad request").toLowerCase().replace(/[^a-z]+/g, "_");
}

/** How much of a client's own X-Request-Id is kept (as `clientRequestId`, in its log lines). */
export const CLIENT_REQUEST_ID_MAX = 128;

/** A client's X-Request-Id fit for a log field: visible ASCII only, cut to length; else none. */
export function clientRequestId(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const printable = value.replace(/[^\x21-\x7e]/g, "").slice(0, CLIENT_REQUEST_ID_MAX);
  return printable || undefined;
}

/**
 * Schema validation: a JSON body must hold the types its schema says (`"5"` is not a number, `[x]`
 * not a string); a query string or path is text by nature, so there numbers and booleans are read
 * from it. Both use Fastify's own Ajv setup (its formats and defaults); neither drops properties.
 */
function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const pool = AjvCompiler();
  const strict = pool({}, { customOptions: { coerceTypes: false, removeAdditional: false } });
  const converting = pool({}, { customOptions: { coerceTypes: "array", removeAdditional: false } });
  return (route) => {
    const definition = route as Parameters<typeof strict>[0]; // our schemas are JSON Schema
    return route.httpPart === "body" ? strict(definition) : converting(definition);
  };
}

export async function buildApp({ services, fastify, webRoot }: AppOptions): Promise<App> {
  const config = services.config;
  const app = Fastify({
    logger: loggerOptions(config),
    // The id is always ours: one a client chose could collide, mislead, or flood the logs.
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    childLoggerFactory: (logger, bindings, options, raw) => {
      const fromClient = clientRequestId(raw.headers["x-request-id"]);
      return logger.child(
        fromClient ? { ...bindings, clientRequestId: fromClient } : bindings,
        options,
      );
    },
    bodyLimit: config.MAX_UPLOAD_BYTES + 64 * 1024,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_SECONDS * 1000,
    schemaErrorFormatter,
    // request.ip, request.protocol and request.host from X-Forwarded-* only behind the named proxies.
    ...(config.TRUST_PROXY !== undefined ? { trustProxy: trustProxy(config.TRUST_PROXY) } : {}),
    ...fastify,
  });
  app.setValidatorCompiler(validatorCompiler());
  closeConnectionsOnceAnswered(app);
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // The request's id on its trace: Tempo finds the trace from the x-request-id a client reports.
  app.addHook("onRequest", async (request) => {
    trace.getActiveSpan()?.setAttribute("rag.request_id", request.id);
  });
  refuseUnstorableText(app);
  const keys = new KeyStore(services.db);
  const auth = await Authenticator.create(
    config,
    keys,
    await BrowserSso.create(config, services.db, (outcome) =>
      services.metrics.ssoSessionChecks.inc({ outcome }),
    ),
  );
  const adminKeyWarning = {
    active: undefined,
    replaced: `${ENV.adminApiKey} holds a value a newer one replaced, which revoked it: it admits nobody; set the current value, or a new one`,
    revoked: `${ENV.adminApiKey} holds a key revoked through the API (DELETE /v1/keys): it admits nobody; administrators use another admin key, or set a new value to bootstrap a fresh one`,
  }[auth.adminKeyState ?? "active"];
  if (adminKeyWarning) app.log.warn(adminKeyWarning);

  await registerBrowserGuard(app, { config, authRequired: auth.required });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "rag-platform runtime",
        version: "0.1.0",
        description: "Ingest documents, retrieve passages, answer questions with citations.",
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: "http",
            scheme: "bearer",
            description: "An API key (rag_...) or an OIDC access token",
          },
        },
      },
      security: auth.required ? [{ apiKey: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: DOCS_CONTENT_SECURITY_POLICY });
  await registerRateLimit(app, config);
  await app.register(cookie);
  await app.register(multipart, {
    limits: { fileSize: config.MAX_UPLOAD_BYTES, files: 1, fields: 5 },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return reply
        .status(status)
        .send({ error: "internal_error", message: "internal error", requestId: request.id });
    }
    const message =
      status === 413
        ? `the upload exceeds the limit of ${config.MAX_UPLOAD_BYTES} bytes`
        : error.message;
    return reply
      .status(status)
      .send({ error: errorCode(error, status), message, requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: "not_found",
      message: `no route ${request.method} ${request.url.split("?")[0]!.slice(0, 200)}: see /docs`,
      requestId: request.id,
    }),
  );
  app.addHook("onResponse", async (request, reply) => {
    services.metrics.httpDuration.observe(
      {
        route: request.routeOptions.url ?? "unmatched",
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  registerAudit(app, services.audit);
  healthRoutes(app, services, { metrics: services.config.METRICS_PORT === undefined });
  documentRoutes(app, {
    documents: services.documents,
    auth,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
  });
  classificationRoutes(app, { documents: services.documents, auth });
  queryRoutes(app, {
    retriever: services.retriever,
    routes: services.routes,
    auth,
    includeQuestion: services.audit.includeQuestion,
  });
  conversationRoutes(app, {
    conversations: new ConversationStore(services.db),
    retriever: services.retriever,
    routes: services.routes,
    embedder: services.embedder,
    db: services.db,
    auth,
    includeQuestion: services.audit.includeQuestion,
  });
  keyRoutes(app, { keys, auth });
  holdRoutes(app, { holds: new LegalHolds(services.db), auth });
  ssoRoutes(app, auth);
  const webUi = await webRoutes(app, { enabled: config.WEB_UI, root: webRoot });
  return { app, auth, webUi };
}
