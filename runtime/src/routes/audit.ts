/**
 * The audit events of requests: a route names its action (`config: { audit: "document.read" }`),
 * its handler notes the target and details (`noteAudit`), and one hook records the event once the
 * answer is sent, its outcome from the status. A request refused before its handler (401, 403)
 * is recorded too, as denied; a streamed answer, when it ends.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuditAction, AuditActor, AuditLog, AuditOutcome, AuditTarget } from "../audit";

/** What a handler tells the audit event of its request. */
export interface AuditNote {
  target?: AuditTarget;
  details?: Record<string, unknown>;
  /** Overrides the outcome the status implies (a redirect that reports a failed sign-in). */
  outcome?: AuditOutcome;
  /** Overrides the route's action (one route, two actions: a hold set or cleared). */
  action?: AuditAction;
  /** Overrides the caller's credentials as actor (a sign-in, whose user holds none yet). */
  actor?: AuditActor;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The audit action of the route's requests; routes without one record nothing. */
    audit?: AuditAction;
  }
  interface FastifyRequest {
    auditNote?: AuditNote;
  }
}

/** Adds to the audit event of this request. */
export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}

export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return "success";
  if (status === 401 || status === 403) return "denied";
  if (status === 404) return "not_found";
  if (status < 500) return "refused";
  return "failure";
}

/** Who made the request, by id: never the key or token itself. */
export function actorOf(request: FastifyRequest): AuditActor {
  const principal = request.principal;
  if (!principal) return { kind: "anonymous" };
  return {
    kind: principal.kind,
    role: principal.role,
    ...(principal.keyId ? { keyId: principal.keyId } : {}),
    ...(principal.subject ? { subject: principal.subject } : {}),
  };
}

function recordRequest(audit: AuditLog, request: FastifyRequest, status: number): void {
  const action = request.auditNote?.action ?? request.routeOptions.config.audit;
  if (!action) return;
  const note = request.auditNote;
  audit.record({
    action,
    outcome: note?.outcome ?? outcomeOf(status),
    actor: note?.actor ?? actorOf(request),
    ...(note?.target ? { target: note.target } : {}),
    requestId: request.id,
    status,
    ...(note?.details ? { details: note.details } : {}),
  });
}

export function registerAudit(app: FastifyInstance, audit: AuditLog): void {
  app.decorateRequest("auditNote", undefined);
  // Also after a streamed (hijacked) answer ends: the hook follows the raw response's finish.
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    recordRequest(audit, request, reply.statusCode);
  });
}
