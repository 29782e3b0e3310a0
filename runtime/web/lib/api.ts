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
  /** Who may see it: a label of CLASSIFICATION_LABELS. */
  readonly classification?: string;
  readonly updatedAt?: string;
}

/** The classification labels (lowest first), the default, and those the caller may assign. */
export interface Labels {
  readonly labels: string[];
  readonly default: string;
  readonly assignable: string[];
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
  readonly heading?: string;
  readonly chunkId: string;
  readonly text: string;
  readonly score: number;
}

export interface Answer {
  readonly answer: string;
  readonly citations: Passage[];
  readonly messageId?: string;
}

export interface Conversation {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Message {
  readonly id: string;
  readonly role: "user" | "assistant";
  readonly content: string;
  readonly standalone?: string | null;
  readonly retrieved?: Passage[] | null;
  readonly citations?: Passage[] | null;
  readonly model?: string | null;
  readonly feedback?: { rating: "up" | "down"; comment: string | null } | null;
}

export interface AdminUser {
  readonly owner: string;
  readonly subject: string | null;
  readonly name: string | null;
  readonly role: Role | null;
  readonly lastSeen: string | null;
  readonly activeSessions: number;
  readonly conversations: number;
}

export interface Models {
  readonly generator: string;
  readonly embeddings: string;
  readonly rewriter: "model" | "rule";
}

export interface QueryRequest {
  readonly question: string;
  readonly topK: number;
  readonly documentIds?: string[];
  /** Only documents whose metadata holds these pairs. */
  readonly metadata?: Record<string, string | number | boolean>;
}

export interface QueryHandlers {
  onRetrieved(retrieved: Passage[], standalone?: string): void;
  onToken(text: string): void;
}

export interface AskOptions {
  readonly topK: number;
  readonly filters?: {
    documentIds?: string[];
    metadata?: Record<string, string | number | boolean>;
  };
  /** Aborting it stops the answer (the server stops the model). */
  readonly signal?: AbortSignal;
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

  /** Each backend's readiness (GET /readyz): `{database: "ok", queue: "failing", ...}`. */
  async ready(): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const response = await fetch("/readyz");
    const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, string> };
    return { ok: response.ok, checks: body.checks ?? {} };
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

  /**
   * A page of the documents that match every filter given (`name`: contained, ignoring case;
   * `metadata`: a JSON object of key/value pairs the document's metadata holds).
   */
  documents(page: {
    limit: number;
    offset: number;
    status?: DocumentStatus;
    classification?: string;
    name?: string;
    metadata?: string;
  }): Promise<DocumentPage> {
    const query = new URLSearchParams({ limit: String(page.limit), offset: String(page.offset) });
    if (page.status) query.set("status", page.status);
    if (page.classification) query.set("classification", page.classification);
    if (page.name) query.set("name", page.name);
    if (page.metadata) query.set("metadata", page.metadata);
    return this.call(`/v1/documents?${query.toString()}`);
  }

  labels(): Promise<Labels> {
    return this.call("/v1/classification");
  }

  /**
   * Uploads one file (with metadata and a label, if given), reporting the bytes sent
   * (XMLHttpRequest: fetch has no upload progress); `created` is false when the same bytes were
   * already there.
   */
  upload(
    file: File,
    fields: { metadata?: Record<string, string | number | boolean>; classification?: string },
    onProgress?: (fraction: number) => void,
  ): Promise<{ document: DocumentView; created: boolean }> {
    const form = new FormData();
    // The API reads fields before the file.
    if (fields.metadata && Object.keys(fields.metadata).length > 0)
      form.append("metadata", JSON.stringify(fields.metadata));
    if (fields.classification) form.append("classification", fields.classification);
    form.append("file", file, file.name);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/documents");
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress?.(event.loaded / event.total);
      };
      xhr.onerror = () => reject(new ApiError(0, "the upload did not reach the server"));
      xhr.onload = () => {
        let body: { message?: string } & DocumentView;
        try {
          body = JSON.parse(xhr.responseText) as typeof body;
        } catch {
          return reject(new ApiError(xhr.status, `${xhr.status} ${xhr.statusText}`.trim()));
        }
        if (xhr.status >= 400)
          return reject(new ApiError(xhr.status, body.message ?? `${xhr.status}`));
        resolve({ document: body, created: xhr.status === 202 });
      };
      xhr.send(form);
    });
  }

  document(id: string): Promise<DocumentView> {
    return this.call(`/v1/documents/${encodeURIComponent(id)}`);
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

  conversations(): Promise<{ conversations: Conversation[] }> {
    return this.call("/v1/conversations");
  }

  conversation(id: string): Promise<{ conversation: Conversation; messages: Message[] }> {
    return this.call(`/v1/conversations/${encodeURIComponent(id)}`);
  }

  createConversation(): Promise<Conversation> {
    return this.json("POST", "/v1/conversations", {});
  }

  renameConversation(id: string, title: string): Promise<Conversation> {
    return this.json("PATCH", `/v1/conversations/${encodeURIComponent(id)}`, { title });
  }

  deleteConversation(id: string): Promise<void> {
    return this.call(`/v1/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  rate(messageId: string, rating: "up" | "down", comment?: string): Promise<void> {
    return this.json("POST", "/v1/feedback", {
      messageId,
      rating,
      ...(comment ? { comment } : {}),
    });
  }

  users(): Promise<{ users: AdminUser[] }> {
    return this.call("/v1/admin/users");
  }

  models(): Promise<Models> {
    return this.call("/v1/admin/models");
  }

  /** The feedback as an evaluation set (JSON Lines). */
  async feedbackExport(): Promise<Blob> {
    const response = await fetch("/v1/admin/feedback/export", { headers: this.headers() });
    if (!response.ok) throw await failure(response);
    return response.blob();
  }

  private json<T>(method: string, path: string, body: unknown): Promise<T> {
    return this.call(path, {
      method,
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
  }

  /** Asks in a conversation, the answer streamed: retrieved (with the standalone question), token..., done. */
  ask(
    conversationId: string,
    question: string,
    options: AskOptions,
    handlers: QueryHandlers,
  ): Promise<Answer> {
    return this.stream(
      `/v1/conversations/${encodeURIComponent(conversationId)}/messages`,
      { question, topK: options.topK, ...(options.filters ? { filters: options.filters } : {}) },
      options.signal,
      handlers,
    );
  }

  /** Answers the conversation's last question again, streamed. */
  regenerate(
    conversationId: string,
    options: AskOptions,
    handlers: QueryHandlers,
  ): Promise<Answer> {
    return this.stream(
      `/v1/conversations/${encodeURIComponent(conversationId)}/regenerate`,
      { topK: options.topK, ...(options.filters ? { filters: options.filters } : {}) },
      options.signal,
      handlers,
    );
  }

  private async stream(
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
    handlers: QueryHandlers,
  ): Promise<Answer> {
    const response = await fetch(path, {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true }),
      headers: this.headers({ "content-type": "application/json", accept: "text/event-stream" }),
      signal,
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
      if (value.event === "retrieved")
        handlers.onRetrieved(data.retrieved as Passage[], data.standalone as string | undefined);
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
