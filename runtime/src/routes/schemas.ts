/** JSON schemas shared by the routes: one source for validation and the OpenAPI document. */
import { MAX_GROUPS } from "../auth/access";

/** Group names as a request body gives them (checked again by checkGroups, for a one-line message). */
export const groupsSchema = {
  type: "array",
  maxItems: MAX_GROUPS,
  items: { type: "string", minLength: 1, maxLength: 200 },
} as const;

/** A classification label (checked against CLASSIFICATION_LABELS by the route, naming them). */
export const labelSchema = { type: "string", minLength: 1, maxLength: 50 } as const;

export const errorSchema = {
  type: "object",
  properties: {
    error: { type: "string" },
    message: { type: "string" },
    requestId: { type: "string" },
  },
  required: ["error", "message"],
} as const;

export const documentSchema = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    name: { type: "string" },
    contentType: { type: "string" },
    sizeBytes: { type: "integer" },
    contentHash: { type: "string" },
    status: { type: "string", enum: ["queued", "indexing", "ready", "failed"] },
    error: { type: ["string", "null"], description: "Why indexing failed (status failed)." },
    chunkCount: { type: "integer" },
    metadata: { type: "object", additionalProperties: true },
    classification: {
      type: "string",
      description: "The document's label (CLASSIFICATION_LABELS): who may see it.",
    },
    accessGroups: {
      type: "array",
      items: { type: "string" },
      description: "The groups the document is restricted to; empty: none.",
    },
    pii: {
      type: ["object", "null"],
      description:
        "What the PII scan at ingest found: the types and how often, never the values, and whether they were redacted before indexing. null: not scanned (yet).",
      properties: {
        findings: { type: "object", additionalProperties: { type: "integer" } },
        redacted: { type: "boolean" },
      },
    },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
  },
  required: ["id", "name", "status", "chunkCount", "classification", "accessGroups"],
} as const;

const scalar = {
  anyOf: [{ type: "string", maxLength: 500 }, { type: "number" }, { type: "boolean" }],
} as const;

const metadataKey = { type: "string", minLength: 1, maxLength: 100 } as const;

export const filtersSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    documentIds: {
      type: "array",
      items: { type: "string", format: "uuid" },
      maxItems: 1000,
      description: "Only these documents.",
    },
    metadata: {
      type: "object",
      additionalProperties: scalar,
      propertyNames: metadataKey,
      maxProperties: 20,
      description: "Only documents whose metadata contains these key/value pairs.",
    },
  },
} as const;

export const questionSchema = {
  type: "object",
  additionalProperties: false,
  required: ["question"],
  properties: {
    question: { type: "string", minLength: 1, maxLength: 4000 },
    topK: { type: "integer", minimum: 1, maximum: 50, default: 5 },
    filters: filtersSchema,
  },
} as const;

export const retrievedSchema = {
  type: "object",
  properties: {
    documentId: { type: "string" },
    documentName: { type: "string" },
    heading: { type: "string", description: "The heading the passage sits under, if any." },
    chunkId: { type: "string" },
    text: { type: "string" },
    score: { type: "number" },
  },
  required: ["documentId", "documentName", "chunkId", "text", "score"],
} as const;

export const metadataSchema = {
  type: "object",
  additionalProperties: scalar,
  propertyNames: metadataKey,
  maxProperties: 50,
} as const;
