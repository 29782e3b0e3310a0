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

/**
 * An `anyOf` (a metadata value: a short string, a number or a boolean) fails with one error per
 * branch and one for itself. When the value had a branch's type and broke its limit, that limit is
 * the whole story; when it had none of the types, the types are.
 */
function collapseAnyOf(errors: FastifySchemaValidationError[]): FastifySchemaValidationError[] {
  const anyOfPaths = new Set(
    errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath),
  );
  if (anyOfPaths.size === 0) return errors;
  const kept = errors.filter((e) => !anyOfPaths.has(e.instancePath));
  for (const path of anyOfPaths) {
    const branches = errors.filter((e) => e.instancePath === path && e.keyword !== "anyOf");
    const limits = branches.filter((e) => e.keyword !== "type");
    if (limits.length > 0) kept.push(...limits);
    else
      kept.push({
        ...branches[0]!,
        keyword: "type",
        message: `must be ${branches
          .map((e) => e.params.type)
          .join(", ")
          .replace(/, ([^,]*)$/, " or $1")}`,
      });
  }
  return kept;
}

/** Fastify's `schemaErrorFormatter`: one message per problem, joined with "; ". */
export function schemaErrorFormatter(
  errors: FastifySchemaValidationError[],
  dataVar: string,
): Error {
  return new Error(
    collapseAnyOf(errors)
      .map((error) => describe(error, dataVar))
      .join("; "),
  );
}
