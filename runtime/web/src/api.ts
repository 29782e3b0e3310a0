/**
 * The UI's client for the runtime API (same origin). Every call carries the credential the user
 * gave, as `Authorization: Bearer` (an API key `rag_...` or an OIDC access token), or else rides
 * on the single sign-on session cookie; and the header that marks it as the UI's own (the server
 * refuses changes made with a cookie without it). A failed call becomes an ApiError holding the
 * server's own message.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";

export type Role = "reader" | "ingester" | "admin";
export type DocumentStatus = "queued" | "indexing" | "ready" | "failed";

export interface Me {
  readonly kind: "api-key" | "oidc" | "session" | "local";
  readonly role: Role;
  readonly subject?: string;
  readonly name?: string;
  readonly authRequired: boolean;
}

export interface AuthMethods {
  readonly required: boolean;
  readonly sso: boolean;
}

export interface DocumentView {
  readonly id: string;
  readonly name: string;
  readonly contentType?: string;
  readonly sizeBytes?: number;
  readonly status: DocumentStatus;
  readonly error?: string | null;
  readonly chunkCount: number;
  readonly metadata?: Record<string, string | number | boolean>;
  readonly updatedAt?: string;
}

export interface DocumentPage {
  readonly items: DocumentView[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt?: string;
}

export interface Passage {
  readonly documentId: string;
  readonly documentName: string;
  readonly chunkId: string;
  readonly text: string;
  readonly score: number;
}

export interface Answer {
  readonly answer: string;
  readonly citations: Passage[];
}

export interface QueryRequest {
  readonly question: string;
  readonly topK: number;
  readonly documentIds?: string[];
  /** Only documents whose metadata holds these pairs. */
  readonly metadata?: Record<string, string | number | boolean>;
}

export interface QueryHandlers {
  onRetrieved(retrieved: Passage[]): void;
  onToken(text: string): void;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A role's powers, as the server grants them (admin > ingester > reader). */
export function can(role: Role | undefined, needed: Role): boolean {
  const order: Role[] = ["reader", "ingester", "admin"];
  return role !== undefined && order.indexOf(role) >= order.indexOf(needed);
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === "string" && body.message) message = body.message;
  } catch {
    // Not JSON (a proxy's error page): the status line is all there is.
  }
  return new ApiError(response.status, message);
}

export class Api {
  constructor(private readonly credential: () => string | undefined) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const credential = this.credential();
    const headers = { ...extra, "x-requested-with": "rag-ui" };
    return credential ? { ...headers, authorization: `Bearer ${credential}` } : headers;
  }

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(path, {
      ...init,
      headers: this.headers(init.headers as Record<string, string> | undefined),
    });
    if (!response.ok) throw await failure(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  async ready(): Promise<{ ok: boolean; failing: string[] }> {
    const response = await fetch("/readyz");
    const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, string> };
    return {
      ok: response.ok,
      failing: Object.entries(body.checks ?? {})
        .filter(([, v]) => v !== "ok")
        .map(([k]) => k),
    };
  }

  me(): Promise<Me> {
    return this.call("/v1/me");
  }

  methods(): Promise<AuthMethods> {
    return this.call("/v1/auth");
  }

  /**
   * Ends the single sign-on session (the cookie is HttpOnly: only the server can clear it); the
   * answer says where to end the provider's session too, when it offers that.
   */
  logout(): Promise<{ endSessionUrl: string | null }> {
    return this.call("/auth/logout", { method: "POST" });
  }

  documents(page: {
    limit: number;
    offset: number;
    status?: DocumentStatus;
  }): Promise<DocumentPage> {
    const query = new URLSearchParams({ limit: String(page.limit), offset: String(page.offset) });
    if (page.status) query.set("status", page.status);
    return this.call(`/v1/documents?${query.toString()}`);
  }

  /** Uploads one file (with metadata, if any); `created` is false when the same bytes were already there. */
  async upload(
    file: File,
    metadata?: Record<string, string | number | boolean>,
  ): Promise<{ document: DocumentView; created: boolean }> {
    const form = new FormData();
    // The API reads fields before the file.
    if (metadata && Object.keys(metadata).length > 0)
      form.append("metadata", JSON.stringify(metadata));
    form.append("file", file, file.name);
    const response = await fetch("/v1/documents", {
      method: "POST",
      body: form,
      headers: this.headers(),
    });
    if (!response.ok) throw await failure(response);
    return { document: (await response.json()) as DocumentView, created: response.status === 202 };
  }

  /** The uploaded original, fetched with the credentials (a plain link could not carry an API key). */
  async original(id: string): Promise<Blob> {
    const response = await fetch(`/v1/documents/${encodeURIComponent(id)}/content`, {
      headers: this.headers(),
    });
    if (!response.ok) throw await failure(response);
    return response.blob();
  }

  remove(id: string): Promise<void> {
    return this.call(`/v1/documents/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  async keys(): Promise<ApiKey[]> {
    return (await this.call<{ items: ApiKey[] }>("/v1/keys")).items;
  }

  /** Issues a key; the plain key is in the answer this once. */
  issueKey(name: string, role: Role): Promise<ApiKey & { key: string }> {
    return this.call("/v1/keys", {
      method: "POST",
      body: JSON.stringify({ name, role }),
      headers: { "content-type": "application/json" },
    });
  }

  revokeKey(id: string): Promise<void> {
    return this.call(`/v1/keys/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  /** Asks a question with the answer streamed (server-sent events): retrieved, token..., done. */
  async query(request: QueryRequest, handlers: QueryHandlers): Promise<Answer> {
    const filters = {
      ...(request.documentIds && request.documentIds.length > 0
        ? { documentIds: request.documentIds }
        : {}),
      ...(request.metadata && Object.keys(request.metadata).length > 0
        ? { metadata: request.metadata }
        : {}),
    };
    const body = {
      question: request.question,
      topK: request.topK,
      stream: true,
      ...(Object.keys(filters).length > 0 ? { filters } : {}),
    };
    const response = await fetch("/v1/query", {
      method: "POST",
      body: JSON.stringify(body),
      headers: this.headers({ "content-type": "application/json", accept: "text/event-stream" }),
    });
    if (!response.ok) throw await failure(response);
    if (!response.body) throw new ApiError(response.status, "the server sent no answer stream");
    const events = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    for (;;) {
      const { value, done } = await events.read();
      if (done) break;
      const data = JSON.parse(value.data) as Record<string, unknown>;
      if (value.event === "retrieved") handlers.onRetrieved(data.retrieved as Passage[]);
      else if (value.event === "token") handlers.onToken(data.text as string);
      else if (value.event === "done") return data as unknown as Answer;
      else if (value.event === "error")
        throw new ApiError(
          502,
          typeof data.message === "string" ? data.message : "the answer failed",
        );
    }
    throw new ApiError(502, "the answer stream ended early");
  }
}
