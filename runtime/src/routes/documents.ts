/** /v1/documents: upload (multipart `file` or JSON text), status, listing, secure deletion. */
import { create as contentDisposition } from "content-disposition";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkGroups, type Classification } from "../auth/access";
import type { Authenticator } from "../auth/auth";
import {
  DeleteIncompleteError,
  type DocumentAccess,
  type DocumentService,
  type DocumentStatus,
} from "../ingest/documents";
import { ParseError } from "../ingest/parse";
import type { AccessChange } from "../search/vector-index";
import { LegalHoldError } from "../retention/holds";
import { noteAudit } from "./audit";
import {
  documentSchema,
  errorSchema,
  filtersSchema,
  groupsSchema,
  labelSchema,
  metadataSchema,
} from "./schemas";
import { findUnstorableText } from "./text";
import { schemaErrorFormatter } from "./validation";

interface JsonUpload {
  name: string;
  text: string;
  contentType?: "text/plain" | "text/markdown" | "text/html";
  metadata?: Record<string, string | number | boolean>;
  classification?: string;
  accessGroups?: string[];
}

const jsonUploadSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "text"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 500 },
    text: { type: "string", minLength: 1 },
    contentType: {
      type: "string",
      enum: ["text/plain", "text/markdown", "text/html"],
      default: "text/plain",
    },
    metadata: metadataSchema,
    classification: {
      ...labelSchema,
      description: "The document's label (CLASSIFICATION_LABELS). Default: CLASSIFICATION_DEFAULT.",
    },
    accessGroups: {
      ...groupsSchema,
      description:
        "Only callers in one of these groups see the document. Default: none (no group restriction).",
    },
  },
} as const;

class BadRequest extends Error {
  readonly statusCode = 400;
  readonly code = "bad_request";
}

/** A JSON `text` over MAX_UPLOAD_BYTES (the request's own limit leaves room for the JSON around it). */
class PayloadTooLarge extends Error {
  readonly statusCode = 413;
  readonly code = "payload_too_large";
}

/**
 * A multipart upload's name and metadata, under the JSON upload's limits: one schema for both, so
 * neither way in takes more than the other.
 */
const multipartUploadSchema = {
  type: "object",
  additionalProperties: false,
  required: ["filename"],
  properties: {
    filename: jsonUploadSchema.properties.name,
    metadata: metadataSchema,
    classification: labelSchema,
    accessGroups: groupsSchema,
  },
} as const;

/** The multipart fields besides `file`. */
const MULTIPART_FIELDS = ["metadata", "classification", "accessGroups"] as const;
type MultipartField = (typeof MULTIPART_FIELDS)[number];

function parseJsonField(
  field: MultipartField | "querystring.metadata",
  raw: string | undefined,
  shape: "object" | "array",
): unknown {
  if (raw === undefined || raw === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new BadRequest(`the ${field} field is not valid JSON`);
  }
  if (shape === "object" && (typeof value !== "object" || value === null || Array.isArray(value)))
    throw new BadRequest(`${field} must be a JSON object`);
  if (shape === "array" && !Array.isArray(value))
    throw new BadRequest(`${field} must be a JSON array of group names`);
  return value;
}

/**
 * The parts of a multipart upload: exactly one file in `file`, optionally `metadata`,
 * `classification` and `accessGroups` (a JSON array), nothing else.
 */
async function readParts(request: FastifyRequest, maxBytes: number) {
  let file: { filename: string; mimetype: string; bytes: Buffer } | undefined;
  const fields: Partial<Record<MultipartField, string>> = {};
  try {
    // One more file and field than allowed, so the extra one can be named rather than dropped.
    for await (const part of request.parts({
      limits: { fileSize: maxBytes, files: 2, fields: MULTIPART_FIELDS.length + 1 },
    })) {
      if (part.type === "file") {
        if (part.fieldname !== "file")
          throw new BadRequest(
            `send the document in the multipart field \`file\` (not "${part.fieldname}")`,
          );
        if (file)
          throw new BadRequest(`one file per upload: a second file ("${part.filename}") was sent`);
        file = { filename: part.filename, mimetype: part.mimetype, bytes: await part.toBuffer() };
      } else if (
        (MULTIPART_FIELDS as readonly string[]).includes(part.fieldname) &&
        fields[part.fieldname as MultipartField] === undefined
      ) {
        fields[part.fieldname as MultipartField] = String(part.value);
      } else {
        throw new BadRequest(
          `multipart has an unknown or repeated field "${part.fieldname}": send \`file\` and optionally \`metadata\`, \`classification\`, \`accessGroups\``,
        );
      }
    }
  } catch (error) {
    if (error instanceof BadRequest) throw error;
    // Limit errors carry their own 4xx status; a body that does not parse is the client's fault too.
    if ((error as { statusCode?: number }).statusCode) throw error;
    throw new BadRequest(`the multipart body is malformed (${(error as Error).message})`);
  }
  if (!file) throw new BadRequest("send the document in the multipart field `file`");
  return { ...file, fields };
}

/** The listing's `metadata` filter: JSON in the query string, under retrieval's filter schema. */
function listMetadataFilter(
  request: FastifyRequest<{ Querystring: { metadata?: string } }>,
): Record<string, string | number | boolean> | undefined {
  const where = "querystring.metadata";
  const metadata = parseJsonField(where, request.query.metadata, "object");
  if (metadata === undefined) return undefined;
  const problem = findUnstorableText(metadata, where);
  if (problem) throw new BadRequest(problem);
  // The body's validator: the query string's coerces types, and would turn 2025 into "2025".
  const valid = request.compileValidationSchema(filtersSchema.properties.metadata, "body");
  if (!valid(metadata))
    throw new BadRequest(schemaErrorFormatter(valid.errors ?? [], where).message);
  return metadata as Record<string, string | number | boolean>;
}

async function readUpload(request: FastifyRequest, maxBytes: number) {
  if (request.isMultipart()) {
    const parts = await readParts(request, maxBytes);
    const fields: Record<string, unknown> = {
      filename: parts.filename || "upload",
      metadata: parseJsonField("metadata", parts.fields.metadata, "object"),
      classification: parts.fields.classification || undefined,
      accessGroups: parseJsonField("accessGroups", parts.fields.accessGroups, "array"),
    };
    for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
    const problem = findUnstorableText(fields, "multipart");
    if (problem) throw new BadRequest(problem);
    const valid = request.compileValidationSchema(multipartUploadSchema, "body");
    if (!valid(fields))
      throw new BadRequest(schemaErrorFormatter(valid.errors ?? [], "multipart").message);
    return {
      name: fields.filename as string,
      contentType: parts.mimetype,
      bytes: new Uint8Array(parts.bytes),
      metadata: fields.metadata as Record<string, string | number | boolean> | undefined,
      classification: fields.classification as string | undefined,
      accessGroups: fields.accessGroups as string[] | undefined,
    };
  }
  if (request.validationError) throw new BadRequest(request.validationError.message);
  const body = request.body as JsonUpload;
  const bytes = new TextEncoder().encode(body.text);
  if (bytes.length > maxBytes)
    throw new PayloadTooLarge(`the upload exceeds the limit of ${maxBytes} bytes`);
  return {
    name: body.name,
    contentType: body.contentType ?? "text/plain",
    bytes,
    metadata: body.metadata,
    classification: body.classification,
    accessGroups: body.accessGroups,
  };
}

/**
 * An upload's label and groups, checked against the configuration (a 400 naming the labels) and
 * the uploader's clearance (a 403 naming the labels it may assign).
 */
function accessOfUpload(
  classification: Classification,
  upload: { classification?: string; accessGroups?: string[] },
  access: DocumentAccess,
) {
  return {
    classification: classification.checkAssignable(
      upload.classification ?? classification.defaultLabel,
      access,
    ),
    accessGroups: checkGroups(upload.accessGroups ?? []),
  };
}

/** The 404 for a document that is absent or that the caller may not see (the same answer). */
function noDocument(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
  return reply.status(404).send({
    error: "not_found",
    message: `no document ${request.params.id}`,
    requestId: request.id,
  });
}

export function documentRoutes(
  app: FastifyInstance,
  deps: { documents: DocumentService; auth: Authenticator; maxUploadBytes: number },
): void {
  const { documents, auth } = deps;

  app.post(
    "/v1/documents",
    {
      onRequest: auth.require("ingester"),
      config: { audit: "document.upload" },
      attachValidation: true,
      schema: {
        summary:
          "Upload a document (PDF, HTML, Markdown, text, DOCX, PPTX, XLSX, ODT or EML) for indexing",
        description:
          "multipart/form-data with the file in field `file` (and optional fields before it: JSON `metadata`, `classification`, JSON array `accessGroups`), or JSON `{name, text, contentType, metadata, classification, accessGroups}`. " +
          "Uploading the same bytes again returns the existing document (200) instead of creating one (202); a failed document is queued again. " +
          "When the same bytes are stored under a label or groups the caller cannot see: 409 `duplicate_document`. " +
          "A label above the caller's clearance (GET /v1/classification lists those it may assign) is 403 `above_clearance`.",
        tags: ["documents"],
        consumes: ["multipart/form-data", "application/json"],
        body: jsonUploadSchema,
        response: {
          200: documentSchema,
          202: documentSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          409: errorSchema,
          413: errorSchema,
          415: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const upload = await readUpload(request, deps.maxUploadBytes);
      const access = auth.access(request);
      const labelled = accessOfUpload(auth.classification, upload, access);
      try {
        const { document, created, queued } = await documents.create(
          { ...upload, ...labelled, requestId: request.id },
          access,
        );
        noteAudit(request, {
          target: { type: "document", id: document.id },
          details: { created, contentType: document.contentType, sizeBytes: document.sizeBytes },
        });
        if (!queued)
          request.log.warn(
            { documentId: document.id },
            "the ingest queue is out of reach: the document is stored and stays queued until the worker's sweep queues it",
          );
        return reply.status(created ? 202 : 200).send(document);
      } catch (error) {
        if (error instanceof ParseError) {
          const status = /unsupported content type/.test(error.message)
            ? 415
            : /empty|no text/.test(error.message)
              ? 400
              : 422;
          const code = {
            400: "bad_request",
            415: "unsupported_media_type",
            422: "unprocessable_document",
          }[status];
          return reply
            .status(status)
            .send({ error: code, message: error.message, requestId: request.id });
        }
        throw error;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/documents/:id",
    {
      onRequest: auth.require("reader"),
      config: { audit: "document.read" },
      schema: {
        summary: "A document and its indexing status",
        description:
          "A document the caller's clearance or groups do not reach is 404, as if absent (so are its content and its delete).",
        tags: ["documents"],
        params: {
          type: "object",
          properties: { id: { type: "string", format: "uuid" } },
          required: ["id"],
        },
        response: { 200: documentSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      noteAudit(request, { target: { type: "document", id: request.params.id } });
      const doc = await documents.get(request.params.id, auth.access(request));
      return doc ? doc : noDocument(request, reply);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/documents/:id/content",
    {
      onRequest: auth.require("reader"),
      config: { audit: "document.download" },
      schema: {
        summary: "The uploaded original, as a download",
        description:
          "Always `Content-Disposition: attachment` under a sandboxing CSP: an uploaded HTML page is never rendered on this origin.",
        tags: ["documents"],
        params: {
          type: "object",
          properties: { id: { type: "string", format: "uuid" } },
          required: ["id"],
        },
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      noteAudit(request, { target: { type: "document", id: request.params.id } });
      const original = await documents.original(request.params.id, auth.access(request));
      if (!original)
        return reply.status(404).send({
          error: "not_found",
          message: `no stored original for document ${request.params.id}`,
          requestId: request.id,
        });
      return reply
        .headers({
          "content-type": original.contentType || "application/octet-stream",
          "content-disposition": contentDisposition(original.name),
          "content-security-policy": "default-src 'none'; sandbox",
          "x-content-type-options": "nosniff",
          "cache-control": "private, no-store",
        })
        .send(Buffer.from(original.bytes));
    },
  );

  app.get<{
    Querystring: {
      limit: number;
      offset: number;
      status?: DocumentStatus;
      classification?: string;
      name?: string;
      metadata?: string;
    };
  }>(
    "/v1/documents",
    {
      onRequest: auth.require("reader"),
      config: { audit: "document.list" },
      schema: {
        summary: "List documents the caller may see, newest first",
        description:
          "The filters combine (all must hold); `total` counts every match, `limit` and `offset` page through them.",
        tags: ["documents"],
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
            // Any larger and PostgreSQL's OFFSET (a bigint) refuses it with a 500.
            offset: { type: "integer", minimum: 0, maximum: 2_147_483_647, default: 0 },
            status: { type: "string", enum: ["queued", "indexing", "ready", "failed"] },
            classification: { ...labelSchema, description: "Only documents with this label." },
            name: {
              ...jsonUploadSchema.properties.name,
              description:
                "Only documents whose name contains this text, ignoring case (`%` and `_` are plain characters).",
            },
            metadata: {
              type: "string",
              minLength: 2,
              maxLength: 4000,
              description:
                'Only documents whose metadata holds every one of these key/value pairs: a JSON object, as retrieval\'s `filters.metadata` (e.g. `{"team":"ops","year":2024}`).',
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              items: { type: "array", items: documentSchema },
              total: { type: "integer" },
              limit: { type: "integer" },
              offset: { type: "integer" },
            },
          },
        },
      },
    },
    async (request) => {
      const { classification } = request.query;
      if (classification !== undefined) auth.classification.check(classification);
      const metadata = listMetadataFilter(request);
      const { items, total } = await documents.list({
        ...request.query,
        metadata,
        access: auth.access(request),
      });
      noteAudit(request, { target: { type: "document", ids: items.map((d) => d.id) } });
      return { items, total, limit: request.query.limit, offset: request.query.offset };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/documents/:id",
    {
      onRequest: auth.require("admin"),
      config: { audit: "document.delete" },
      schema: {
        summary:
          "Delete a document everywhere: original (every version), chunks, postings, vectors",
        description:
          "A document under a legal hold (its own, or its collection's) is refused with 409 `legal_hold`, and nothing is removed.",
        tags: ["documents"],
        params: {
          type: "object",
          properties: { id: { type: "string", format: "uuid" } },
          required: ["id"],
        },
        response: { 204: { type: "null" }, 404: errorSchema, 409: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      noteAudit(request, { target: { type: "document", id: request.params.id } });
      let deleted: boolean;
      try {
        deleted = await documents.delete(request.params.id, auth.access(request));
      } catch (error) {
        if (error instanceof LegalHoldError) {
          noteAudit(request, { details: { reason: "legal_hold" } });
          return reply
            .status(409)
            .send({ error: error.code, message: error.message, requestId: request.id });
        }
        if (!(error instanceof DeleteIncompleteError)) throw error;
        request.log.error(
          { err: error.cause, documentId: error.documentId },
          "the object store refused a delete",
        );
        return reply
          .status(503)
          .header("retry-after", "10")
          .send({ error: "delete_incomplete", message: error.message, requestId: request.id });
      }
      return deleted ? reply.status(204).send() : noDocument(request, reply);
    },
  );
}

/**
 * GET /v1/classification: the labels and those the caller may assign (what an upload form
 * offers). PATCH /v1/documents/:id/classification and /groups: an admin changes a document's
 * label or groups, and its chunks' and vectors'.
 */
export function classificationRoutes(
  app: FastifyInstance,
  deps: { documents: DocumentService; auth: Authenticator },
): void {
  const { documents, auth } = deps;
  const labels = { type: "array", items: { type: "string" } } as const;
  app.get(
    "/v1/classification",
    {
      onRequest: auth.require("reader"),
      schema: {
        summary: "The classification labels, and those the caller may give a document",
        tags: ["documents"],
        response: {
          200: {
            type: "object",
            properties: {
              labels: {
                ...labels,
                description: "Every label, lowest first (CLASSIFICATION_LABELS).",
              },
              default: {
                type: "string",
                description: "The label of an upload that names none (CLASSIFICATION_DEFAULT).",
              },
              assignable: {
                ...labels,
                description:
                  "The labels the caller may give an upload: up to its clearance (every label for an admin), lowest first.",
              },
            },
            required: ["labels", "default", "assignable"],
          },
          401: errorSchema,
        },
      },
    },
    async (request) => ({
      labels: auth.classification.labels,
      default: auth.classification.defaultLabel,
      assignable: auth.classification.assignableBy(auth.access(request)),
    }),
  );
  const idParams = {
    type: "object",
    properties: { id: { type: "string", format: "uuid" } },
    required: ["id"],
  } as const;
  const response = { 200: documentSchema, 400: errorSchema, 404: errorSchema } as const;

  /** Applies a checked change the caller may make to a document it sees; 404 for one it does not. */
  const change = async (
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    access: AccessChange,
  ) => {
    noteAudit(request, {
      target: { type: "document", id: request.params.id },
      details: { ...access },
    });
    const doc = await documents.setAccess(request.params.id, access, auth.access(request));
    return doc ? doc : noDocument(request, reply);
  };

  app.patch<{ Params: { id: string }; Body: { classification: string } }>(
    "/v1/documents/:id/classification",
    {
      onRequest: auth.require("admin"),
      config: { audit: "document.relabel" },
      schema: {
        summary: "Change a document's classification (admin)",
        description:
          "Relabels the document and, in the same transaction, its chunks; then its vectors in an index outside the database. The new label applies to every search at once.",
        tags: ["documents"],
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["classification"],
          properties: { classification: labelSchema },
        },
        response,
      },
    },
    (request, reply) =>
      change(request, reply, {
        classification: auth.classification.check(request.body.classification),
      }),
  );

  app.patch<{ Params: { id: string }; Body: { accessGroups: string[] } }>(
    "/v1/documents/:id/groups",
    {
      onRequest: auth.require("admin"),
      config: { audit: "document.regroup" },
      schema: {
        summary: "Change the groups a document is restricted to (admin)",
        description:
          "Sets the document's groups and, in the same transaction, its chunks'; then its vectors' in an index outside the database. An empty list lifts the restriction. The new groups apply to every search at once.",
        tags: ["documents"],
        params: idParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["accessGroups"],
          properties: {
            accessGroups: {
              ...groupsSchema,
              description:
                "Only callers in one of these groups see the document; empty: anyone whose clearance reaches its label.",
            },
          },
        },
        response,
      },
    },
    (request, reply) =>
      change(request, reply, { accessGroups: checkGroups(request.body.accessGroups) }),
  );
}
