/**
 * What text the API accepts, decided once for every route: well-formed Unicode without NUL.
 * PostgreSQL cannot store a NUL in `text` or `jsonb`, and an unpaired UTF-16 surrogate is not a
 * character at all (it cannot be encoded as UTF-8), so either would fail deep inside a query as a
 * 500. Every string of a request's body, query string and path parameters, object keys included,
 * is checked before the schema, and the first offender is named in a 400.
 */
import type { FastifyInstance } from "fastify";

export const ACCEPTED_TEXT =
  "text may not contain NUL (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)";

/** In a `u` pattern a string is read by code points, so only a surrogate without its pair matches. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** Why `text` cannot be stored, or undefined when it can. */
export function unstorable(text: string): string | undefined {
  if (text.includes("\u0000")) return "contains a NUL character";
  if (UNPAIRED_SURROGATE.test(text)) return "contains an unpaired surrogate";
  return undefined;
}

/**
 * The first string in `value` (a parsed JSON value) that cannot be stored, as a message naming
 * where it is: `body/metadata/team contains a NUL character` or `body/metadata has a property
 * name that contains ...`.
 */
export function findUnstorableText(value: unknown, where: string): string | undefined {
  if (typeof value === "string") {
    const why = unstorable(value);
    return why && `${where} ${why}: ${ACCEPTED_TEXT}`;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorableText(item, `${where}/${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const why = unstorable(key);
      if (why) return `${where} has a property name that ${why}: ${ACCEPTED_TEXT}`;
      const found = findUnstorableText(item, `${where}/${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/** The preValidation hook that applies the rule to every route's body, query string and params. */
export function refuseUnstorableText(app: FastifyInstance): void {
  app.addHook("preValidation", async (request, reply) => {
    const found =
      findUnstorableText(request.params, "params") ??
      findUnstorableText(request.query, "querystring") ??
      findUnstorableText(request.body, "body");
    if (found)
      return reply
        .status(400)
        .send({ error: "bad_request", message: found, requestId: request.id });
  });
}
