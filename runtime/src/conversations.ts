/**
 * Conversations, their messages, and feedback on answers: stored per owner (auth.ts ownerOf), never
 * visible to another; all of an owner's rows go at once on request (deleteOwner).
 */
import type { Db } from "./db/db";
import type { Retrieved } from "./search/retrieve";

export interface ConversationView {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface MessageView {
  readonly id: string;
  readonly role: "user" | "assistant";
  readonly content: string;
  /** user: the standalone question that was searched for, when it differs from what was asked. */
  readonly standalone: string | null;
  /** assistant: every passage retrieved, with scores. */
  readonly retrieved: Retrieved[] | null;
  /** assistant: the passages the answer cites. */
  readonly citations: Retrieved[] | null;
  readonly model: string | null;
  readonly feedback: { rating: "up" | "down"; comment: string | null } | null;
  readonly createdAt: string;
}

export interface FeedbackRecord {
  readonly question: string;
  readonly answer: string;
  readonly rating: "up" | "down";
  readonly comment: string | null;
  readonly retrievedChunkIds: string[];
  readonly citedChunkIds: string[];
  readonly model: string;
  readonly createdAt: string;
}

/** The longest title a conversation takes (its first question, cut). */
export const TITLE_MAX = 120;

export const titleFrom = (question: string) => {
  const flat = question.replace(/\s+/g, " ").trim();
  return flat.length > TITLE_MAX ? `${flat.slice(0, TITLE_MAX - 1)}…` : flat;
};

const iso = (d: Date | string) => new Date(d).toISOString();

interface ConversationRow {
  id: string;
  title: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const conversationView = (r: ConversationRow): ConversationView => ({
  id: r.id,
  title: r.title,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export class ConversationStore {
  constructor(private readonly db: Db) {}

  async create(owner: string, title: string): Promise<ConversationView> {
    const [row] = await this.db.query<ConversationRow>(
      "INSERT INTO conversations (owner, title) VALUES ($1, $2) RETURNING id, title, created_at, updated_at",
      [owner, titleFrom(title)],
    );
    return conversationView(row!);
  }

  async list(owner: string, limit = 200): Promise<ConversationView[]> {
    return (
      await this.db.query<ConversationRow>(
        "SELECT id, title, created_at, updated_at FROM conversations WHERE owner = $1 ORDER BY updated_at DESC LIMIT $2",
        [owner, limit],
      )
    ).map(conversationView);
  }

  async get(owner: string, id: string): Promise<ConversationView | undefined> {
    const [row] = await this.db.query<ConversationRow>(
      "SELECT id, title, created_at, updated_at FROM conversations WHERE owner = $1 AND id = $2",
      [owner, id],
    );
    return row && conversationView(row);
  }

  async rename(owner: string, id: string, title: string): Promise<ConversationView | undefined> {
    const [row] = await this.db.query<ConversationRow>(
      "UPDATE conversations SET title = $3, updated_at = now() WHERE owner = $1 AND id = $2 RETURNING id, title, created_at, updated_at",
      [owner, id, titleFrom(title)],
    );
    return row && conversationView(row);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    return (
      (
        await this.db.query("DELETE FROM conversations WHERE owner = $1 AND id = $2 RETURNING id", [
          owner,
          id,
        ])
      ).length > 0
    );
  }

  async messages(owner: string, id: string): Promise<MessageView[]> {
    const rows = await this.db.query<{
      id: string;
      role: "user" | "assistant";
      content: string;
      standalone: string | null;
      retrieved: Retrieved[] | null;
      citations: Retrieved[] | null;
      model: string | null;
      rating: "up" | "down" | null;
      comment: string | null;
      created_at: Date | string;
    }>(
      `SELECT m.id, m.role, m.content, m.standalone, m.retrieved, m.citations, m.model,
              f.rating, f.comment, m.created_at
       FROM conversation_messages m
       JOIN conversations c ON c.id = m.conversation_id
       LEFT JOIN feedback f ON f.message_id = m.id
       WHERE c.owner = $1 AND c.id = $2
       ORDER BY m.ordinal`,
      [owner, id],
    );
    return rows.map((r) => ({
      id: r.id,
      role: r.role,
      content: r.content,
      standalone: r.standalone,
      retrieved: r.retrieved,
      citations: r.citations,
      model: r.model,
      feedback: r.rating ? { rating: r.rating, comment: r.comment } : null,
      createdAt: iso(r.created_at),
    }));
  }

  /** Appends a message at the end of a conversation (and marks the conversation as recent). */
  async append(
    conversationId: string,
    message: {
      role: "user" | "assistant";
      content: string;
      standalone?: string;
      retrieved?: readonly Retrieved[];
      citations?: readonly Retrieved[];
      model?: string;
    },
  ): Promise<string> {
    return this.db.transaction(async (tx) => {
      await tx.query("UPDATE conversations SET updated_at = now() WHERE id = $1", [conversationId]);
      const [row] = await tx.query<{ id: string }>(
        `INSERT INTO conversation_messages (conversation_id, ordinal, role, content, standalone, retrieved, citations, model)
         VALUES ($1, (SELECT coalesce(max(ordinal), 0) + 1 FROM conversation_messages WHERE conversation_id = $1),
                 $2, $3, $4, $5, $6, $7)
         RETURNING id`,
        [
          conversationId,
          message.role,
          message.content,
          message.standalone ?? null,
          message.retrieved ? JSON.stringify(message.retrieved) : null,
          message.citations ? JSON.stringify(message.citations) : null,
          message.model ?? null,
        ],
      );
      return row!.id;
    });
  }

  /** Drops the messages after the last question (its answer), so the question can be answered again. */
  async dropLastAnswer(conversationId: string): Promise<void> {
    await this.db.query(
      `DELETE FROM conversation_messages WHERE conversation_id = $1 AND role = 'assistant'
         AND ordinal > (SELECT coalesce(max(ordinal), 0) FROM conversation_messages WHERE conversation_id = $1 AND role = 'user')`,
      [conversationId],
    );
  }

  /**
   * Thumbs up or down (and an optional comment) on an answer of the owner's; stored with the
   * question, the passages retrieved and cited, and the model, as the answer was made. Rating
   * again replaces the earlier rating. False when the owner has no such answer.
   */
  async rate(
    owner: string,
    messageId: string,
    rating: "up" | "down",
    comment: string | undefined,
  ): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO feedback (owner, message_id, rating, comment, question, answer, chunk_ids, cited_chunk_ids, model)
       SELECT c.owner, a.id, $3, $4,
              coalesce(q.standalone, q.content), a.content,
              coalesce((SELECT jsonb_agg(r->>'chunkId') FROM jsonb_array_elements(a.retrieved) r), '[]'),
              coalesce((SELECT jsonb_agg(r->>'chunkId') FROM jsonb_array_elements(a.citations) r), '[]'),
              coalesce(a.model, 'unknown')
       FROM conversation_messages a
       JOIN conversations c ON c.id = a.conversation_id
       JOIN LATERAL (SELECT content, standalone FROM conversation_messages u
                     WHERE u.conversation_id = a.conversation_id AND u.role = 'user' AND u.ordinal < a.ordinal
                     ORDER BY u.ordinal DESC LIMIT 1) q ON true
       WHERE a.id = $2 AND a.role = 'assistant' AND c.owner = $1
       ON CONFLICT (message_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, created_at = now()
       RETURNING id`,
      [owner, messageId, rating, comment ?? null],
    );
    return rows.length > 0;
  }

  /** Every rating, oldest first: the evaluation set (one JSON object a line when exported). */
  async feedback(): Promise<FeedbackRecord[]> {
    const rows = await this.db.query<{
      question: string;
      answer: string;
      rating: "up" | "down";
      comment: string | null;
      chunk_ids: string[];
      cited_chunk_ids: string[];
      model: string;
      created_at: Date | string;
    }>(
      "SELECT question, answer, rating, comment, chunk_ids, cited_chunk_ids, model, created_at FROM feedback ORDER BY created_at, id",
    );
    return rows.map((r) => ({
      question: r.question,
      answer: r.answer,
      rating: r.rating,
      comment: r.comment,
      retrievedChunkIds: r.chunk_ids,
      citedChunkIds: r.cited_chunk_ids,
      model: r.model,
      createdAt: iso(r.created_at),
    }));
  }

  /** Deletes everything an owner has here (conversations, their messages, feedback); the counts. */
  async deleteOwner(owner: string): Promise<{ conversations: number; feedback: number }> {
    return this.db.transaction(async (tx) => {
      const feedback = await tx.query("DELETE FROM feedback WHERE owner = $1 RETURNING id", [
        owner,
      ]);
      const conversations = await tx.query(
        "DELETE FROM conversations WHERE owner = $1 RETURNING id",
        [owner],
      );
      return { conversations: conversations.length, feedback: feedback.length };
    });
  }

  /** How many conversations each owner has (for the admin's list of users). */
  async countsByOwner(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ owner: string; n: number | string }>(
      "SELECT owner, count(*) AS n FROM conversations GROUP BY owner",
    );
    return new Map(rows.map((r) => [r.owner, Number(r.n)]));
  }
}
