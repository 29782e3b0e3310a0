/**
 * Audit events: who did what to which document or key, and with what outcome, on a stream of
 * their own that a SIEM reads (a log stream marked `stream: "audit"`, or AUDIT_LOG_FILE). Sinks
 * are pluggable, so another transport (a Kafka topic) adds one without touching the callers.
 *
 * An event names its actor by key id or SSO subject, never by a secret, and its targets by id:
 * no document text, no chunk text, and the question only when AUDIT_INCLUDE_QUESTION is set.
 */
import pino from "pino";
import type { RuntimeConfig } from "./config";

export const AUDIT_ACTIONS = [
  "document.upload",
  "document.read",
  "document.list",
  "document.download",
  "document.delete",
  "document.relabel",
  "document.regroup",
  "retrieval",
  "query",
  "key.create",
  "key.revoke",
  "session.start",
  "session.end",
  "retention.purge",
  "legal_hold.set",
  "legal_hold.clear",
  "conversation.read",
  "conversation.delete",
  "feedback.export",
  "user_data.delete",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * success: done; denied: no or too weak credentials (401/403); not_found: no such target (404);
 * refused: the request was understood and turned down (a legal hold's 409, a bad input's 4xx);
 * failure: the service could not do it (5xx, or a purge's delete that failed).
 */
export type AuditOutcome = "success" | "denied" | "not_found" | "refused" | "failure";

export interface AuditActor {
  /** system: the service itself (the retention purge); anonymous: no valid credentials. */
  readonly kind: "api-key" | "oidc" | "session" | "local" | "system" | "anonymous";
  /** The API key's id (never the key). */
  readonly keyId?: string;
  /** The OIDC or SSO subject, or the system task's name. */
  readonly subject?: string;
  readonly role?: string;
}

export interface AuditTarget {
  readonly type: "document" | "key" | "session" | "collection" | "conversation" | "owner";
  /** One target. */
  readonly id?: string;
  /** Many targets (the documents a retrieval returned chunks of, the documents a purge removed). */
  readonly ids?: readonly string[];
}

export interface AuditEvent {
  /** ISO 8601, when the event was recorded. */
  readonly time: string;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  readonly actor: AuditActor;
  readonly target?: AuditTarget;
  /** The request's id (X-Request-Id of the answer), which the service's own log lines carry too. */
  readonly requestId?: string;
  /** The HTTP status answered, for events of a request. */
  readonly status?: number;
  /** Ids and counts that tell what happened (never text a user wrote, never a secret). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Where events go. `write` must not throw for a reason of its own making: the AuditLog counts failures. */
export interface AuditSink {
  write(event: AuditEvent): void;
  /** Writes out what is buffered; called at shutdown. */
  close?(): Promise<void>;
}

export class AuditLog {
  private readonly sinks: AuditSink[];
  /** Events a sink threw on (each also reported to `onSinkError`). */
  failures = 0;

  constructor(
    sinks: readonly AuditSink[],
    /** Whether query and retrieval events carry the question's text (AUDIT_INCLUDE_QUESTION). */
    readonly includeQuestion = false,
    private readonly onSinkError: (error: unknown) => void = () => undefined,
  ) {
    this.sinks = [...sinks];
  }

  /** Adds a sink (a Kafka topic, a test's memory). */
  addSink(sink: AuditSink): void {
    this.sinks.push(sink);
  }

  record(event: Omit<AuditEvent, "time">): void {
    const full: AuditEvent = { time: new Date().toISOString(), ...event };
    for (const sink of this.sinks) {
      try {
        sink.write(full);
      } catch (error) {
        this.failures++;
        this.onSinkError(error);
      }
    }
  }

  async close(): Promise<void> {
    for (const sink of this.sinks) await sink.close?.();
  }
}

/**
 * One JSON line per event through pino, with `stream: "audit"` beside the event's fields: to a
 * file of its own (written synchronously: an event is on disk before the answer leaves), or to
 * standard output among the service's log lines, from which a log router picks it by that field.
 */
export function pinoAuditSink(options: { file?: string; service: string }): AuditSink {
  const destination = pino.destination({
    dest: options.file ?? 1,
    sync: true,
    ...(options.file ? { mkdir: true } : {}),
  });
  const logger = pino(
    {
      base: { stream: "audit", service: options.service },
      timestamp: false,
      messageKey: "message",
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    write: (event) => logger.info(event, "audit"),
    close: async () => destination.flushSync(),
  };
}

/** The audit log the configuration asks for. */
export function auditLogOf(
  config: RuntimeConfig,
  onSinkError?: (error: unknown) => void,
): AuditLog {
  return new AuditLog(
    [pinoAuditSink({ file: config.AUDIT_LOG_FILE, service: config.SERVICE_NAME })],
    config.AUDIT_INCLUDE_QUESTION,
    onSinkError,
  );
}

/** The service acting on its own (the retention purge). */
export const systemActor = (task: string): AuditActor => ({ kind: "system", subject: task });
