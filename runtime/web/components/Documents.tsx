"use client";
/**
 * The document library: drag-and-drop upload of many files with per-file progress and status
 * (followed until ready or failed), metadata and classification set in a form, the ingest queue's
 * state, filters by status, label and metadata and a search by name (all on the server, across
 * every page), delete with confirmation. Upload is offered to ingesters, with the labels their clearance
 * allows, and delete to admins only (the server refuses the others anyway).
 */
import { PlusIcon, TrashIcon } from "@radix-ui/react-icons";
import {
  Badge,
  Box,
  Button,
  Card,
  Flex,
  Heading,
  IconButton,
  Progress,
  SegmentedControl,
  Select,
  Table,
  Text,
  TextField,
} from "@radix-ui/themes";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  can,
  type DocumentPage,
  type DocumentStatus,
  type DocumentView,
  type Labels,
} from "../lib/api";
import { formatBytes, formatMetadata, type Metadata, pageOf, parseMetadata } from "../lib/format";
import { messageOf, useSession } from "./App";
import ConfirmDialog from "./ConfirmDialog";
import { downloadOriginal } from "./Passage";

const PAGE = 25;
/** How long typing in the name search pauses before the server is asked. */
const SEARCH_DEBOUNCE_MS = 300;
/** The label filter's "every label": labels are trimmed, so none starts with a space. */
const ANY_LABEL = " any";
const STATUS_COLOR = { queued: "gray", indexing: "blue", ready: "green", failed: "red" } as const;
const ACCEPT =
  ".pdf,.html,.htm,.md,.markdown,.txt,application/pdf,text/html,text/markdown,text/plain";

interface Upload {
  readonly key: string;
  readonly name: string;
  progress: number;
  status: "uploading" | DocumentStatus | "refused";
  message?: string;
  id?: string;
}

/** A metadata value as typed: a number or a boolean when it reads as one. */
const typed = (raw: string): string | number | boolean =>
  /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === "true" ? true : raw === "false" ? false : raw;

/**
 * A typed filter as the server is asked for it: `typed` once typing has paused for
 * SEARCH_DEBOUNCE_MS while it is `valid`; the list goes back to its first page then.
 */
function useSettled(typed: string, valid: boolean, setOffset: (offset: number) => void): string {
  const [settled, setSettled] = useState(typed);
  useEffect(() => {
    if (!valid || typed === settled) return;
    const timer = setTimeout(() => {
      setOffset(0);
      setSettled(typed);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [typed, valid, settled, setOffset]);
  return settled;
}

export default function Documents() {
  const { api, me, notify } = useSession();
  const [page, setPage] = useState<DocumentPage>();
  const [offset, setOffset] = useState(0);
  const [status, setStatus] = useState<DocumentStatus | "all">("all");
  const [search, setSearch] = useState("");
  const [label, setLabel] = useState(ANY_LABEL);
  const [labels, setLabels] = useState<Labels>();
  const [where, setWhere] = useState("");
  const [queue, setQueue] = useState<Record<DocumentStatus, number>>();
  const [uploads, setUploads] = useState<Upload[]>([]);
  const uploadsNow = useRef(uploads);
  uploadsNow.current = uploads;

  useEffect(() => {
    api.labels().then(setLabels, notify);
  }, [api, notify]);

  const name = useSettled(search.trim(), true, setOffset);

  let metadataFilter: Metadata | undefined;
  let filterError: string | undefined;
  try {
    metadataFilter = where.trim() ? parseMetadata(where) : undefined;
  } catch (error) {
    filterError = messageOf(error);
  }
  // The metadata filter the list asks for (JSON, or "" for none), once it reads.
  const metadata = useSettled(
    metadataFilter ? JSON.stringify(metadataFilter) : "",
    !filterError,
    setOffset,
  );

  const refresh = useCallback(async () => {
    try {
      setPage(
        await api.documents({
          limit: PAGE,
          offset,
          ...(status !== "all" ? { status } : {}),
          ...(label !== ANY_LABEL ? { classification: label } : {}),
          ...(name ? { name } : {}),
          ...(metadata ? { metadata } : {}),
        }),
      );
      const counts = await Promise.all(
        (["queued", "indexing", "ready", "failed"] as const).map(
          async (s) =>
            [s, (await api.documents({ limit: 1, offset: 0, status: s })).total] as const,
        ),
      );
      setQueue(Object.fromEntries(counts) as Record<DocumentStatus, number>);
    } catch (error) {
      notify(error);
    }
  }, [api, offset, status, label, name, metadata, notify]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // While anything indexes (in the list or among this page's uploads), look again every 1.5 s.
  const pending =
    (queue?.queued ?? 0) + (queue?.indexing ?? 0) > 0 ||
    uploads.some((u) => u.status === "queued" || u.status === "indexing");
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => {
      void refresh();
      for (const u of uploadsNow.current)
        if (u.id && (u.status === "queued" || u.status === "indexing"))
          void api.document(u.id).then(
            (doc) =>
              setUploads((now) =>
                now.map((x) =>
                  x.key === u.key
                    ? { ...x, status: doc.status, message: doc.error ?? undefined }
                    : x,
                ),
              ),
            () => undefined,
          );
    }, 1500);
    return () => clearInterval(timer);
  }, [pending, refresh, api]);

  const shown = page?.items ?? [];
  const filtered = name !== "" || metadata !== "" || status !== "all" || label !== ANY_LABEL;
  const { page: pageNumber, pages } = pageOf(offset, PAGE, page?.total ?? 0);

  return (
    <Flex direction="column" gap="4">
      <Flex align="center" gap="3" wrap="wrap">
        <Heading as="h2" size="5">
          Documents
        </Heading>
        <Text size="2" color="gray">
          {page?.total ?? 0} in all
        </Text>
        {queue && (
          <Flex gap="2" aria-label="Ingest queue" role="group" data-testid="queue">
            <Badge highContrast color="gray">
              {queue.queued} queued
            </Badge>
            <Badge highContrast color="blue">
              {queue.indexing} indexing
            </Badge>
            <Badge highContrast color="green">
              {queue.ready} ready
            </Badge>
            <Badge highContrast color="red">
              {queue.failed} failed
            </Badge>
          </Flex>
        )}
      </Flex>
      {can(me.role, "ingester") && (
        <UploadForm
          uploads={uploads}
          labels={labels}
          onFiles={(files, fields) => {
            for (const file of files) {
              const key = `${file.name}-${Math.random()}`;
              setUploads((u) => [{ key, name: file.name, progress: 0, status: "uploading" }, ...u]);
              const set = (change: Partial<Upload>) =>
                setUploads((u) => u.map((x) => (x.key === key ? { ...x, ...change } : x)));
              api
                .upload(file, fields, (progress) => set({ progress }))
                .then(
                  ({ document, created }) =>
                    set({
                      progress: 1,
                      id: document.id,
                      status: document.status,
                      message: created ? undefined : "already indexed (the same bytes)",
                    }),
                  (error) => set({ status: "refused", message: messageOf(error) }),
                )
                .finally(() => void refresh());
            }
          }}
        />
      )}
      <Flex gap="3" wrap="wrap" align="end">
        <Flex direction="column" gap="1">
          <Text as="label" size="1" color="gray" htmlFor="doc-search">
            Search by name
          </Text>
          <TextField.Root
            id="doc-search"
            placeholder="report.pdf"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </Flex>
        <Flex direction="column" gap="1">
          <Text as="label" size="1" color="gray" id="status-label">
            Status
          </Text>
          <SegmentedControl.Root
            aria-labelledby="status-label"
            value={status}
            onValueChange={(v) => {
              setOffset(0);
              setStatus(v as DocumentStatus | "all");
            }}
          >
            {(["all", "queued", "indexing", "ready", "failed"] as const).map((v) => (
              <SegmentedControl.Item key={v} value={v}>
                {v}
              </SegmentedControl.Item>
            ))}
          </SegmentedControl.Root>
        </Flex>
        {labels && (
          <Flex direction="column" gap="1">
            <Text size="1" color="gray" id="label-filter">
              Label
            </Text>
            <LabelSelect
              labelledBy="label-filter"
              labels={labels.labels}
              anyLabel
              value={label}
              onValueChange={(v) => {
                setOffset(0);
                setLabel(v);
              }}
            />
          </Flex>
        )}
        <Flex direction="column" gap="1">
          <Text as="label" size="1" color="gray" htmlFor="doc-where">
            Metadata (key=value, …)
          </Text>
          <TextField.Root
            id="doc-where"
            placeholder="team=search"
            spellCheck={false}
            value={where}
            onChange={(e) => setWhere(e.target.value)}
          />
        </Flex>
        <Button variant="soft" onClick={() => void refresh()}>
          Refresh
        </Button>
      </Flex>
      {filterError && (
        <Text size="2" color="red" role="status">
          Metadata filter: {filterError}
        </Text>
      )}
      <Box style={{ overflowX: "auto" }}>
        <Table.Root variant="surface" aria-label="Documents">
          <Table.Header>
            <Table.Row>
              <Table.ColumnHeaderCell>Name</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Status</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Label</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Metadata</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell justify="end">Chunks</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell justify="end">Size</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>
                <span className="visually-hidden">Actions</span>
              </Table.ColumnHeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {shown.map((d) => (
              <DocumentRow key={d.id} document={d} onDeleted={() => void refresh()} />
            ))}
          </Table.Body>
        </Table.Root>
      </Box>
      {shown.length === 0 && (
        <Text size="2" color="gray">
          {filtered ? "No document matches." : "No documents yet."}
        </Text>
      )}
      <Flex gap="3" align="center" asChild>
        <nav aria-label="Pages">
          <Button
            variant="soft"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            Previous
          </Button>
          <Text size="2">
            page {pageNumber} of {pages}
          </Text>
          <Button
            variant="soft"
            disabled={pageNumber >= pages}
            onClick={() => setOffset(offset + PAGE)}
          >
            Next
          </Button>
        </nav>
      </Flex>
    </Flex>
  );
}

/**
 * A choice among classification labels (and "any label" first, with `anyLabel`), named by the
 * element `labelledBy`; tests find its trigger by that id too.
 */
function LabelSelect({
  labelledBy,
  labels,
  anyLabel = false,
  value,
  onValueChange,
}: {
  labelledBy: string;
  labels: readonly string[];
  /** @default false */
  anyLabel?: boolean;
  value: string;
  onValueChange: (label: string) => void;
}) {
  return (
    <Select.Root value={value} onValueChange={onValueChange}>
      <Select.Trigger aria-labelledby={labelledBy} data-testid={labelledBy} />
      <Select.Content>
        {anyLabel && <Select.Item value={ANY_LABEL}>any label</Select.Item>}
        {labels.map((l) => (
          <Select.Item key={l} value={l}>
            {l}
          </Select.Item>
        ))}
      </Select.Content>
    </Select.Root>
  );
}

/** The label an upload form starts with: the default, or the highest the caller may assign below it. */
function initialLabel(labels: Labels): string | undefined {
  if (labels.assignable.includes(labels.default)) return labels.default;
  const rank = labels.labels.indexOf(labels.default);
  return labels.assignable.filter((l) => labels.labels.indexOf(l) < rank).at(-1);
}

function UploadForm({
  uploads,
  labels,
  onFiles,
}: {
  uploads: Upload[];
  /** Undefined until loaded: uploads then take the server's default. */
  labels: Labels | undefined;
  onFiles: (files: File[], fields: { metadata?: Metadata; classification?: string }) => void;
}) {
  const [over, setOver] = useState(false);
  const [chosen, setChosen] = useState<string>();
  const classification = chosen ?? (labels && initialLabel(labels));
  const [rows, setRows] = useState<{ key: string; value: string }[]>([{ key: "", value: "" }]);
  const input = useRef<HTMLInputElement>(null);
  const metadata = () => {
    const entries = rows
      .filter((r) => r.key.trim() && r.value.trim())
      .map((r) => [r.key.trim(), typed(r.value.trim())] as const);
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  };
  return (
    <Card>
      <Flex direction="column" gap="3">
        <Heading as="h3" size="3">
          Upload
        </Heading>
        <div
          className="dropzone"
          data-over={over}
          data-testid="dropzone"
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            onFiles([...e.dataTransfer.files], { metadata: metadata(), classification });
          }}
        >
          <Text as="p" size="2" mb="2">
            Drop PDF, HTML, Markdown or text files here, or
          </Text>
          <Button variant="soft" onClick={() => input.current?.click()}>
            Choose files
          </Button>
          <input
            ref={input}
            id="files"
            type="file"
            multiple
            accept={ACCEPT}
            aria-label="Files to upload"
            className="visually-hidden"
            tabIndex={-1}
            onChange={(e) => {
              onFiles([...(e.target.files ?? [])], { metadata: metadata(), classification });
              e.target.value = "";
            }}
          />
        </div>
        {labels && classification && (
          <Flex direction="column" gap="1" align="start">
            <Text size="2" weight="medium" id="upload-label">
              Classification for these uploads
            </Text>
            <LabelSelect
              labelledBy="upload-label"
              labels={labels.assignable}
              value={classification}
              onValueChange={setChosen}
            />
          </Flex>
        )}
        <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
          <legend>
            <Text size="2" weight="medium">
              Metadata for these uploads
            </Text>
          </legend>
          <Flex direction="column" gap="2" mt="1">
            {rows.map((row, i) => (
              <Flex gap="2" key={i}>
                <TextField.Root
                  aria-label={`Metadata key ${i + 1}`}
                  placeholder="team"
                  value={row.key}
                  onChange={(e) =>
                    setRows(rows.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))
                  }
                />
                <TextField.Root
                  aria-label={`Metadata value ${i + 1}`}
                  placeholder="search"
                  value={row.value}
                  onChange={(e) =>
                    setRows(rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))
                  }
                />
                {rows.length > 1 && (
                  <IconButton
                    variant="ghost"
                    color="gray"
                    aria-label={`Remove metadata row ${i + 1}`}
                    onClick={() => setRows(rows.filter((_, j) => j !== i))}
                  >
                    <TrashIcon />
                  </IconButton>
                )}
              </Flex>
            ))}
            <Box>
              <Button
                variant="ghost"
                size="1"
                onClick={() => setRows([...rows, { key: "", value: "" }])}
              >
                <PlusIcon /> Add a field
              </Button>
            </Box>
          </Flex>
        </fieldset>
        {uploads.length > 0 && (
          <ul aria-label="Uploads" className="uploads">
            {uploads.map((u) => (
              <li key={u.key} data-testid="upload" data-status={u.status}>
                <Flex gap="3" align="center" wrap="wrap">
                  <Text size="2" style={{ minWidth: "10rem" }}>
                    {u.name}
                  </Text>
                  <Box width="8rem">
                    <Progress
                      value={Math.round(u.progress * 100)}
                      aria-label={`${u.name} uploaded`}
                    />
                  </Box>
                  <Badge
                    highContrast
                    color={
                      u.status === "refused"
                        ? "red"
                        : u.status === "uploading"
                          ? "gray"
                          : STATUS_COLOR[u.status]
                    }
                  >
                    {u.status}
                  </Badge>
                  {u.message && (
                    <Text
                      size="1"
                      color={u.status === "refused" || u.status === "failed" ? "red" : "gray"}
                    >
                      {u.message}
                    </Text>
                  )}
                </Flex>
              </li>
            ))}
          </ul>
        )}
      </Flex>
    </Card>
  );
}

function DocumentRow({
  document: d,
  onDeleted,
}: {
  document: DocumentView;
  onDeleted: () => void;
}) {
  const { api, me, notify } = useSession();
  return (
    <Table.Row data-status={d.status}>
      <Table.RowHeaderCell>
        <Button
          variant="ghost"
          onClick={() => void downloadOriginal(api, d.id, d.name).catch((error) => notify(error))}
          aria-label={`Download ${d.name}`}
        >
          {d.name}
        </Button>
      </Table.RowHeaderCell>
      <Table.Cell>
        <Badge highContrast color={STATUS_COLOR[d.status]}>
          {d.status}
        </Badge>
        {d.error && (
          <Text as="p" size="1" color="red">
            {d.error}
          </Text>
        )}
      </Table.Cell>
      <Table.Cell>
        {d.classification && (
          <Badge variant="outline" data-testid="label">
            {d.classification}
          </Badge>
        )}
      </Table.Cell>
      <Table.Cell>
        <Text size="1">{formatMetadata(d.metadata)}</Text>
      </Table.Cell>
      <Table.Cell justify="end">{d.chunkCount}</Table.Cell>
      <Table.Cell justify="end">{formatBytes(d.sizeBytes)}</Table.Cell>
      <Table.Cell>
        {can(me.role, "admin") && (
          <ConfirmDialog
            trigger={
              <IconButton variant="ghost" color="red" aria-label={`Delete ${d.name}`}>
                <TrashIcon />
              </IconButton>
            }
            title={`Delete ${d.name}?`}
            description="Its passages, vectors and every stored version of the original are deleted. This cannot be undone."
            action="Delete"
            onConfirm={async () => {
              await api.remove(d.id);
              onDeleted();
            }}
          />
        )}
      </Table.Cell>
    </Table.Row>
  );
}
