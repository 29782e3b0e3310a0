"use client";
/**
 * Conversations: the list (new, rename, delete), the thread, the composer. An answer streams in
 * token by token; "Stop" aborts it (the server stops the model), "Regenerate" answers the last
 * question again. Each [n] opens the passage it cites; every answer shows all retrieved passages
 * with their scores, and takes a thumbs up or down with a comment.
 */
import {
  ChatBubbleIcon,
  Pencil1Icon,
  PlusIcon,
  ReloadIcon,
  StopIcon,
  ThickArrowDownIcon,
  ThickArrowUpIcon,
  TrashIcon,
} from "@radix-ui/react-icons";
import {
  Badge,
  Box,
  Button,
  Callout,
  Card,
  Dialog,
  Flex,
  Heading,
  IconButton,
  Text,
  TextArea,
  TextField,
} from "@radix-ui/themes";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Conversation, Message, Passage } from "../lib/api";
import { answerSegments, parseMetadata } from "../lib/format";
import { messageOf, useSession } from "./App";
import ConfirmDialog from "./ConfirmDialog";
import { PassageDialog } from "./Passage";

/** What the extractive generator answers when no passage does (models are told to say so too). */
const NOT_FOUND = "No indexed passage answers this question.";

interface Turn extends Message {
  /** The answer is still streaming in. */
  readonly streaming?: boolean;
  readonly stopped?: boolean;
}

export default function Chat() {
  const { api, notify } = useSession();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [active, setActive] = useState<string | undefined>();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [question, setQuestion] = useState("");
  const [topK, setTopK] = useState(5);
  const [where, setWhere] = useState("");
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  const composer = useRef<HTMLTextAreaElement>(null);

  const refreshList = useCallback(async () => {
    try {
      setConversations((await api.conversations()).conversations);
    } catch (error) {
      notify(error);
    }
  }, [api, notify]);

  useEffect(() => {
    void refreshList();
  }, [refreshList]);

  const open = async (id: string) => {
    abort.current?.abort();
    setActive(id);
    try {
      setTurns((await api.conversation(id)).messages);
    } catch (error) {
      notify(error);
    }
  };

  const startNew = () => {
    abort.current?.abort();
    setActive(undefined);
    setTurns([]);
    composer.current?.focus();
  };

  /** Streams an answer into a new assistant turn (from ask or regenerate). */
  const stream = async (
    run: (
      signal: AbortSignal,
      handlers: Parameters<typeof api.ask>[3],
    ) => ReturnType<typeof api.ask>,
  ) => {
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    const placeholder: Turn = {
      id: `pending-${Date.now()}`,
      role: "assistant",
      content: "",
      streaming: true,
      retrieved: [],
      citations: [],
    };
    setTurns((t) => [...t, placeholder]);
    const update = (change: (turn: Turn) => Turn) =>
      setTurns((t) => t.map((turn) => (turn.id === placeholder.id ? change(turn) : turn)));
    try {
      const done = await run(controller.signal, {
        onRetrieved: (retrieved, standalone) => {
          update((turn) => ({ ...turn, retrieved }));
          if (standalone)
            setTurns((t) => {
              const i = t.findLastIndex((turn) => turn.role === "user");
              return t.map((turn, j) => (j === i ? { ...turn, standalone } : turn));
            });
        },
        onToken: (text) => update((turn) => ({ ...turn, content: turn.content + text })),
      });
      update((turn) => ({
        ...turn,
        id: done.messageId ?? turn.id,
        content: done.answer,
        citations: done.citations,
        streaming: false,
      }));
    } catch (error) {
      if (controller.signal.aborted)
        update((turn) => ({ ...turn, streaming: false, stopped: true }));
      else {
        setTurns((t) => t.filter((turn) => turn.id !== placeholder.id));
        notify(error);
      }
    } finally {
      setBusy(false);
      abort.current = undefined;
      void refreshList();
    }
  };

  const options = () => {
    const metadata = where.trim() ? parseMetadata(where) : undefined;
    return { topK, ...(metadata ? { filters: { metadata } } : {}) };
  };

  const send = async () => {
    const text = question.trim();
    if (!text || busy) return;
    let askOptions;
    try {
      askOptions = options();
    } catch (error) {
      notify(`Filter: ${messageOf(error)}`);
      return;
    }
    let id = active;
    try {
      if (!id) {
        id = (await api.createConversation()).id;
        setActive(id);
      }
    } catch (error) {
      notify(error);
      return;
    }
    setQuestion("");
    setTurns((t) => [...t, { id: `user-${Date.now()}`, role: "user", content: text }]);
    const conversationId = id;
    await stream((signal, handlers) =>
      api.ask(conversationId, text, { ...askOptions, signal }, handlers),
    );
  };

  const regenerate = async () => {
    if (!active || busy) return;
    const conversationId = active;
    setTurns((t) => (t.at(-1)?.role === "assistant" ? t.slice(0, -1) : t));
    await stream((signal, handlers) =>
      api.regenerate(conversationId, { ...options(), signal }, handlers),
    );
  };

  const lastAssistant = turns.findLastIndex((t) => t.role === "assistant");

  return (
    <div className="chat-layout">
      <Box asChild>
        <nav aria-label="Conversations">
          <Flex direction="column" gap="2">
            <Button onClick={startNew} variant="soft">
              <PlusIcon /> New conversation
            </Button>
            <Box style={{ maxHeight: "70vh", overflowY: "auto" }}>
              <ul className="conversation-list" aria-label="Your conversations">
                {conversations.map((c) => (
                  <ConversationItem
                    key={c.id}
                    conversation={c}
                    active={c.id === active}
                    onOpen={() => void open(c.id)}
                    onChanged={async (deleted) => {
                      if (deleted && c.id === active) startNew();
                      await refreshList();
                    }}
                  />
                ))}
              </ul>
              {conversations.length === 0 && (
                <Text size="2" color="gray">
                  No conversations yet.
                </Text>
              )}
            </Box>
          </Flex>
        </nav>
      </Box>
      <Flex direction="column" gap="4" minWidth="0">
        <Heading as="h2" size="4" className="visually-hidden">
          Conversation
        </Heading>
        <section className="thread" aria-label="Messages" aria-live="polite" aria-busy={busy}>
          {turns.length === 0 && (
            <Callout.Root color="gray">
              <Callout.Icon>
                <ChatBubbleIcon />
              </Callout.Icon>
              <Callout.Text>
                Ask about the indexed documents. Follow-ups can say &ldquo;it&rdquo; or
                &ldquo;they&rdquo;: each is rewritten into a standalone question before the search.
              </Callout.Text>
            </Callout.Root>
          )}
          {turns.map((turn, i) =>
            turn.role === "user" ? (
              <UserTurn key={turn.id} turn={turn} />
            ) : (
              <AnswerTurn
                key={turn.id}
                turn={turn}
                last={i === lastAssistant}
                busy={busy}
                onRegenerate={() => void regenerate()}
              />
            ),
          )}
        </section>
        <form
          aria-label="Ask"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <Flex direction="column" gap="2">
            <label htmlFor="question" className="visually-hidden">
              Question
            </label>
            <TextArea
              id="question"
              ref={composer}
              placeholder="Ask a question (Enter sends, Shift+Enter for a new line)"
              value={question}
              maxLength={4000}
              rows={3}
              onChange={(e) => setQuestion(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  void send();
                }
              }}
            />
            <Flex gap="3" align="end" wrap="wrap">
              <Flex direction="column" gap="1">
                <Text as="label" htmlFor="topk" size="1" color="gray">
                  Passages
                </Text>
                <TextField.Root
                  id="topk"
                  type="number"
                  min={1}
                  max={50}
                  value={topK}
                  onChange={(e) => setTopK(Math.min(50, Math.max(1, Number(e.target.value) || 5)))}
                  style={{ width: "5rem" }}
                />
              </Flex>
              <Flex direction="column" gap="1" flexGrow="1">
                <Text as="label" htmlFor="where" size="1" color="gray">
                  Only documents where (metadata, e.g. team=search)
                </Text>
                <TextField.Root
                  id="where"
                  placeholder="team=search, year=2024"
                  spellCheck={false}
                  value={where}
                  onChange={(e) => setWhere(e.target.value)}
                />
              </Flex>
              {busy ? (
                <Button
                  type="button"
                  color="red"
                  variant="soft"
                  onClick={() => abort.current?.abort()}
                >
                  <StopIcon /> Stop
                </Button>
              ) : (
                <Button type="submit" disabled={!question.trim()}>
                  Ask
                </Button>
              )}
            </Flex>
          </Flex>
        </form>
      </Flex>
    </div>
  );
}

function ConversationItem({
  conversation,
  active,
  onOpen,
  onChanged,
}: {
  conversation: Conversation;
  active: boolean;
  onOpen: () => void;
  onChanged: (deleted: boolean) => Promise<void>;
}) {
  const { api, notify } = useSession();
  const [title, setTitle] = useState(conversation.title);
  return (
    <li>
      <Flex align="center" gap="1">
        <Button
          variant={active ? "soft" : "ghost"}
          color="gray"
          onClick={onOpen}
          aria-current={active ? "true" : undefined}
          style={{ flex: 1, justifyContent: "flex-start", overflow: "hidden" }}
        >
          <Text truncate>{conversation.title}</Text>
        </Button>
        <Dialog.Root onOpenChange={(open) => open && setTitle(conversation.title)}>
          <Dialog.Trigger>
            <IconButton
              variant="ghost"
              color="gray"
              size="1"
              aria-label={`Rename “${conversation.title}”`}
            >
              <Pencil1Icon />
            </IconButton>
          </Dialog.Trigger>
          <Dialog.Content maxWidth="28rem">
            <Dialog.Title>Rename conversation</Dialog.Title>
            <form
              onSubmit={(event) => {
                event.preventDefault();
                void (async () => {
                  try {
                    await api.renameConversation(conversation.id, title);
                    await onChanged(false);
                  } catch (error) {
                    notify(error);
                  }
                })();
              }}
            >
              <Text as="label" htmlFor={`title-${conversation.id}`} size="2">
                Title
              </Text>
              <TextField.Root
                id={`title-${conversation.id}`}
                value={title}
                maxLength={500}
                onChange={(e) => setTitle(e.target.value)}
              />
              <Flex gap="3" mt="4" justify="end">
                <Dialog.Close>
                  <Button variant="soft" color="gray" type="button">
                    Cancel
                  </Button>
                </Dialog.Close>
                <Dialog.Close>
                  <Button type="submit" disabled={!title.trim()}>
                    Save
                  </Button>
                </Dialog.Close>
              </Flex>
            </form>
          </Dialog.Content>
        </Dialog.Root>
        <ConfirmDialog
          trigger={
            <IconButton
              variant="ghost"
              color="red"
              size="1"
              aria-label={`Delete “${conversation.title}”`}
            >
              <TrashIcon />
            </IconButton>
          }
          title="Delete this conversation?"
          description={`“${conversation.title}” and its messages and feedback go for good.`}
          action="Delete"
          onConfirm={async () => {
            await api.deleteConversation(conversation.id);
            await onChanged(true);
          }}
        />
      </Flex>
    </li>
  );
}

function UserTurn({ turn }: { turn: Turn }) {
  return (
    <Card asChild variant="surface" style={{ alignSelf: "flex-end", maxWidth: "85%" }}>
      <article aria-label="Your question" data-testid="question">
        <Text as="p" className="answer-text">
          {turn.content}
        </Text>
        {turn.standalone && turn.standalone !== turn.content && (
          <Text as="p" size="1" color="gray" mt="1" data-testid="standalone">
            Searched for: {turn.standalone}
          </Text>
        )}
      </article>
    </Card>
  );
}

function AnswerTurn({
  turn,
  last,
  busy,
  onRegenerate,
}: {
  turn: Turn;
  last: boolean;
  busy: boolean;
  onRegenerate: () => void;
}) {
  const [open, setOpen] = useState<{ passage: Passage; n: number } | undefined>();
  // Where focus goes back to when the passage closes: what opened it.
  const opener = useRef<HTMLElement | null>(null);
  const show = (passage: Passage, n: number) => {
    opener.current = document.activeElement as HTMLElement | null;
    setOpen({ passage, n });
  };
  const close = () => {
    setOpen(undefined);
    setTimeout(() => opener.current?.focus(), 0);
  };
  const retrieved = turn.retrieved ?? [];
  const notFound = !turn.streaming && (retrieved.length === 0 || turn.content.trim() === NOT_FOUND);
  return (
    <Card asChild variant="classic">
      <article
        aria-label="Answer"
        data-testid="answer"
        data-streaming={turn.streaming ? "true" : "false"}
      >
        {notFound ? (
          <Callout.Root color="amber" data-testid="not-found">
            <Callout.Text>
              Not in the documents: no indexed passage answers this question.
            </Callout.Text>
          </Callout.Root>
        ) : (
          <Text as="p" className="answer-text" data-testid="answer-text">
            {answerSegments(turn.content).map((segment, i) =>
              "text" in segment ? (
                <span key={i}>{segment.text}</span>
              ) : retrieved[segment.cite - 1] ? (
                <button
                  key={i}
                  type="button"
                  className="cite"
                  aria-label={`Source ${segment.cite}: ${retrieved[segment.cite - 1]!.documentName}`}
                  onClick={() => show(retrieved[segment.cite - 1]!, segment.cite)}
                >
                  {segment.cite}
                </button>
              ) : (
                <span key={i}>[{segment.cite}]</span>
              ),
            )}
            {turn.streaming && <span aria-hidden="true">▍</span>}
          </Text>
        )}
        {turn.stopped && (
          <Badge highContrast color="orange" mt="2">
            stopped
          </Badge>
        )}
        {!turn.streaming && retrieved.length > 0 && (
          <details>
            <summary>
              <Text size="2">All retrieved passages ({retrieved.length})</Text>
            </summary>
            <ol aria-label="All retrieved passages">
              {retrieved.map((passage, i) => (
                <li key={passage.chunkId}>
                  <Button variant="ghost" size="1" onClick={() => show(passage, i + 1)}>
                    {passage.documentName}
                    {passage.heading ? ` · ${passage.heading}` : ""}
                  </Button>{" "}
                  <Text size="1" color="gray">
                    score {passage.score.toFixed(3)}
                  </Text>
                </li>
              ))}
            </ol>
          </details>
        )}
        {!turn.streaming && (
          <Flex gap="2" mt="2" align="center" wrap="wrap">
            {!turn.id.startsWith("pending-") && <Feedback turn={turn} />}
            {last && (
              <Button variant="ghost" size="1" onClick={onRegenerate} disabled={busy}>
                <ReloadIcon /> Regenerate
              </Button>
            )}
            {turn.model && (
              <Text size="1" color="gray">
                {turn.model}
              </Text>
            )}
          </Flex>
        )}
        {open && <PassageDialog passage={open.passage} n={open.n} onClose={close} />}
      </article>
    </Card>
  );
}

function Feedback({ turn }: { turn: Turn }) {
  const { api, notify } = useSession();
  const [rating, setRating] = useState(turn.feedback?.rating);
  const [comment, setComment] = useState(turn.feedback?.comment ?? "");
  const [commenting, setCommenting] = useState(false);
  const rate = async (value: "up" | "down", text?: string) => {
    try {
      await api.rate(turn.id, value, text);
      setRating(value);
    } catch (error) {
      notify(error);
    }
  };
  return (
    <Flex gap="2" align="center" wrap="wrap">
      <IconButton
        variant={rating === "up" ? "solid" : "ghost"}
        color="green"
        size="1"
        aria-label="Good answer"
        aria-pressed={rating === "up"}
        onClick={() => void rate("up", comment || undefined)}
      >
        <ThickArrowUpIcon />
      </IconButton>
      <IconButton
        variant={rating === "down" ? "solid" : "ghost"}
        color="red"
        size="1"
        aria-label="Bad answer"
        aria-pressed={rating === "down"}
        onClick={() => {
          void rate("down", comment || undefined);
          setCommenting(true);
        }}
      >
        <ThickArrowDownIcon />
      </IconButton>
      {!commenting && (
        <Button variant="ghost" size="1" onClick={() => setCommenting(true)}>
          Comment
        </Button>
      )}
      {commenting && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void rate(rating ?? "down", comment.trim() || undefined).then(() =>
              setCommenting(false),
            );
          }}
        >
          <Flex gap="2" align="center">
            <TextField.Root
              size="1"
              aria-label="Comment on this answer"
              placeholder="What was wrong or right?"
              maxLength={4000}
              value={comment}
              onChange={(e) => setComment(e.target.value)}
            />
            <Button size="1" type="submit">
              Send feedback
            </Button>
          </Flex>
        </form>
      )}
      {rating && (
        <Text size="1" color="gray" data-testid="feedback-state">
          thanks: rated {rating}
        </Text>
      )}
    </Flex>
  );
}
