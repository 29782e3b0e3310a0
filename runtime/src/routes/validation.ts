/**
 * Validation messages that name what is wrong. Ajv's own text for two common mistakes leaves out
 * the one thing the caller needs ("must NOT have additional properties" does not say which one;
 * "must be equal to one of the allowed values" does not say which values), so those two are
 * rewritten from the error's parameters; every other message is Fastify's, prefixed with where.
 */
import type { FastifySchemaValidationError } from "fastify";

function describe(error: FastifySchemaValidationError, dataVar: string): string {
  const where = `${dataVar}${error.instancePath}`;
  const params = error.params;
  if (error.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
    return `${where} has an unknown property "${params.additionalProperty}"`;
  }
  if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
    return `${where} must be one of: ${params.allowedValues.map((value) => JSON.stringify(value)).join(", ")}`;
  }
  return `${where} ${error.message ?? "is invalid"}`;
}

/** Fastify's `schemaErrorFormatter`: one message per problem, joined with "; ". */
export function schemaErrorFormatter(
  errors: FastifySchemaValidationError[],
  dataVar: string,
): Error {
  return new Error(errors.map((error) => describe(error, dataVar)).join("; "));
}
