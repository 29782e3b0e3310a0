/**
 * The rag-platform UI: sign in (single sign-on, an API key or an access token), upload documents
 * with metadata and watch them index, download originals, ask questions (optionally only of some
 * documents or metadata) and read the streamed answer with its sources; admins issue and revoke
 * API keys. Text from documents and answers is only ever set as text (never parsed as HTML), and
 * the server's CSP allows no inline code, so a document cannot script the page.
 */
import "./style.css";
import {
  Api,
  type ApiKey,
  ApiError,
  can,
  type DocumentStatus,
  type DocumentView,
  type Me,
  type Passage,
  type Role,
} from "./api";
import {
  answerSegments,
  formatBytes,
  formatMetadata,
  type Metadata,
  pageOf,
  parseMetadata,
} from "./format";

const CREDENTIAL_KEY = "rag-platform.credential";
const PAGE_SIZE = 20;
const POLL_MS = 1500;

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const ui = {
  health: byId<HTMLSpanElement>("health"),
  credentials: byId<HTMLFormElement>("credentials"),
  credential: byId<HTMLInputElement>("credential"),
  forget: byId<HTMLButtonElement>("forget"),
  sso: byId<HTMLAnchorElement>("sso"),
  whoami: byId<HTMLSpanElement>("whoami"),
  alert: byId<HTMLDivElement>("alert"),
  alertText: byId<HTMLSpanElement>("alert-text"),
  alertClose: byId<HTMLButtonElement>("alert-close"),
  workspace: byId<HTMLElement>("workspace"),
  ask: byId<HTMLFormElement>("ask"),
  question: byId<HTMLTextAreaElement>("question"),
  topK: byId<HTMLInputElement>("topk"),
  onlySelected: byId<HTMLInputElement>("only-selected"),
  filterMetadata: byId<HTMLInputElement>("filter-metadata"),
  uploadMetadata: byId<HTMLInputElement>("upload-metadata"),
  askButton: byId<HTMLButtonElement>("ask-button"),
  answerBox: byId<HTMLElement>("answer-box"),
  answer: byId<HTMLParagraphElement>("answer"),
  citations: byId<HTMLOListElement>("citations"),
  retrieved: byId<HTMLOListElement>("retrieved"),
  retrievedCount: byId<HTMLSpanElement>("retrieved-count"),
  upload: byId<HTMLFormElement>("upload"),
  file: byId<HTMLInputElement>("file"),
  uploads: byId<HTMLUListElement>("uploads"),
  statusFilter: byId<HTMLSelectElement>("status-filter"),
  refresh: byId<HTMLButtonElement>("refresh"),
  rows: byId<HTMLTableElement>("documents").tBodies[0]!,
  empty: byId<HTMLParagraphElement>("empty"),
  total: byId<HTMLSpanElement>("doc-total"),
  prev: byId<HTMLButtonElement>("prev"),
  next: byId<HTMLButtonElement>("next"),
  page: byId<HTMLSpanElement>("page"),
  keysPanel: byId<HTMLElement>("keys-panel"),
  newKey: byId<HTMLFormElement>("new-key"),
  keyName: byId<HTMLInputElement>("key-name"),
  keyRole: byId<HTMLSelectElement>("key-role"),
  issued: byId<HTMLDivElement>("issued"),
  issuedName: byId<HTMLElement>("issued-name"),
  issuedKey: byId<HTMLInputElement>("issued-key"),
  keyRows: byId<HTMLTableElement>("keys").tBodies[0]!,
};

const state = {
  me: undefined as Me | undefined,
  offset: 0,
  total: 0,
  selected: new Set<string>(),
  poll: undefined as number | undefined,
};

const api = new Api(() => sessionStorage.getItem(CREDENTIAL_KEY) ?? undefined);

function showError(error: unknown): void {
  // Credentials that stopped working (an expired session, a revoked key): back to signing in.
  if (error instanceof ApiError && error.status === 401 && state.me) {
    state.me = undefined;
    void signIn();
    return;
  }
  ui.alertText.textContent = error instanceof Error ? error.message : String(error);
  ui.alert.hidden = false;
}

function clearError(): void {
  ui.alert.hidden = true;
  ui.alertText.textContent = "";
}

async function checkHealth(): Promise<void> {
  try {
    const { ok, failing } = await api.ready();
    ui.health.textContent = ok ? "ready" : `degraded: ${failing.join(", ") || "not ready"}`;
    ui.health.className = `pill ${ok ? "ok" : "bad"}`;
  } catch {
    ui.health.textContent = "unreachable";
    ui.health.className = "pill bad";
  }
}

/** Offers single sign-on when the server has it, and shows why the last attempt failed, if it did. */
async function offerSingleSignOn(): Promise<void> {
  const failure = new URLSearchParams(location.search).get("sso_error");
  if (failure) {
    history.replaceState(null, "", location.pathname);
    showError(`Single sign-on failed: ${failure}`);
  }
  try {
    // The link (index.html) starts single sign-on with a full-page navigation to the provider.
    ui.sso.hidden = !(await api.methods()).sso;
  } catch {
    ui.sso.hidden = true;
  }
}

/** Checks the stored credential (or the SSO session, or none) against the server and shows what it may do. */
async function signIn(): Promise<void> {
  try {
    state.me = await api.me();
  } catch (error) {
    state.me = undefined;
    window.clearTimeout(state.poll);
    ui.workspace.hidden = true;
    ui.credentials.hidden = false;
    ui.whoami.textContent = "";
    ui.forget.hidden = sessionStorage.getItem(CREDENTIAL_KEY) === null;
    if (error instanceof ApiError && error.status === 401) {
      if (sessionStorage.getItem(CREDENTIAL_KEY)) showError(`Signing in failed: ${error.message}`);
      else if (ui.alert.hidden)
        showError(
          `This server needs an API key or access token${ui.sso.hidden ? "" : ", or single sign-on"}: sign in above.`,
        );
      ui.credential.focus();
    } else showError(error);
    return;
  }
  const me = state.me;
  clearError();
  ui.workspace.hidden = false;
  ui.credentials.hidden = !me.authRequired;
  ui.forget.hidden = !me.authRequired;
  ui.sso.hidden ||= me.kind === "session";
  const who = me.name ?? me.subject;
  ui.whoami.textContent =
    me.kind === "local" ? "" : `signed in: ${me.role}${who ? ` (${who})` : ""}`;
  if (me.kind === "local")
    ui.health.title = "embedded mode without credentials: listening on 127.0.0.1 only";
  document.body.dataset.role = me.role;
  ui.upload.hidden = !can(me.role, "ingester");
  ui.keysPanel.hidden = !can(me.role, "admin") || me.kind === "local";
  ui.issued.hidden = true;
  await Promise.all([loadDocuments(), ui.keysPanel.hidden ? Promise.resolve() : loadKeys()]);
}

/** Saves a document's original: fetched with the credentials, then handed to the browser as a file. */
async function download(documentId: string, name: string): Promise<void> {
  try {
    const url = URL.createObjectURL(await api.original(documentId));
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showError(error);
  }
}

/** A document's name that downloads its original when clicked. */
function documentLink(documentId: string, name: Node): HTMLButtonElement {
  const button = el(
    "button",
    { type: "button", className: "link", title: "Download the original" },
    name,
  );
  button.addEventListener("click", () => void download(documentId, button.textContent));
  return button;
}

function statusBadge(status: DocumentStatus): HTMLSpanElement {
  return el("span", { className: `status status-${status}`, textContent: status });
}

function documentRow(doc: DocumentView): HTMLTableRowElement {
  const select = el("input", {
    type: "checkbox",
    checked: state.selected.has(doc.id),
    title: "Ask only the selected documents",
  });
  select.setAttribute("aria-label", `select ${doc.name}`);
  select.addEventListener("change", () =>
    select.checked ? state.selected.add(doc.id) : state.selected.delete(doc.id),
  );
  const name = el(
    "td",
    { className: "name" },
    documentLink(doc.id, el("span", { textContent: doc.name })),
  );
  const tags = formatMetadata(doc.metadata);
  if (tags) name.append(el("div", { className: "tags", textContent: tags }));
  if (doc.status === "failed" && doc.error)
    name.append(el("div", { className: "reason", textContent: doc.error }));
  const actions = el("td");
  if (can(state.me?.role, "admin")) {
    const remove = el("button", { type: "button", className: "danger", textContent: "Delete" });
    remove.setAttribute("aria-label", `delete ${doc.name}`);
    remove.addEventListener("click", () => void deleteDocument(doc));
    actions.append(remove);
  }
  const row = el(
    "tr",
    {},
    el("td", {}, select),
    name,
    el("td", {}, statusBadge(doc.status)),
    el("td", { className: "num", textContent: String(doc.chunkCount) }),
    el("td", { className: "num", textContent: formatBytes(doc.sizeBytes) }),
    el("td", { textContent: doc.updatedAt ? new Date(doc.updatedAt).toLocaleString() : "" }),
    actions,
  );
  row.dataset.id = doc.id;
  row.dataset.status = doc.status;
  return row;
}

async function loadDocuments(): Promise<void> {
  window.clearTimeout(state.poll);
  const status = (ui.statusFilter.value || undefined) as DocumentStatus | undefined;
  let page;
  try {
    page = await api.documents({ limit: PAGE_SIZE, offset: state.offset, status });
  } catch (error) {
    showError(error);
    return;
  }
  if (page.items.length === 0 && state.offset > 0) {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    return loadDocuments();
  }
  state.total = page.total;
  ui.rows.replaceChildren(...page.items.map(documentRow));
  ui.empty.hidden = page.items.length > 0;
  ui.total.textContent = `(${page.total})`;
  const { page: n, pages } = pageOf(state.offset, PAGE_SIZE, page.total);
  ui.page.textContent = `page ${n} of ${pages}`;
  ui.prev.disabled = state.offset === 0;
  ui.next.disabled = state.offset + PAGE_SIZE >= page.total;
  // While anything on the page is still indexing, watch it finish.
  if (page.items.some((d) => d.status === "queued" || d.status === "indexing"))
    state.poll = window.setTimeout(() => void loadDocuments(), POLL_MS);
}

async function deleteDocument(doc: DocumentView): Promise<void> {
  if (
    !window.confirm(
      `Delete "${doc.name}" everywhere (original, chunks, vectors)? This cannot be undone.`,
    )
  )
    return;
  try {
    await api.remove(doc.id);
    state.selected.delete(doc.id);
  } catch (error) {
    showError(error);
  }
  await loadDocuments();
}

/** A key=value list from a field, or undefined after saying what is wrong with it. */
function metadataFrom(field: HTMLInputElement, what: string): Metadata | undefined {
  try {
    return parseMetadata(field.value);
  } catch (error) {
    showError(`${what}: ${(error as Error).message} (write key=value pairs separated by commas)`);
    field.focus();
    return undefined;
  }
}

async function uploadFiles(files: readonly File[]): Promise<void> {
  const metadata = metadataFrom(ui.uploadMetadata, "Metadata");
  if (!metadata) return;
  for (const file of files) {
    const line = el("li", { textContent: `${file.name}: uploading…` });
    ui.uploads.prepend(line);
    try {
      const { created } = await api.upload(file, metadata);
      line.textContent = `${file.name}: ${created ? "queued for indexing" : "already indexed (same content)"}`;
      line.className = "ok";
    } catch (error) {
      line.textContent = `${file.name}: ${error instanceof Error ? error.message : String(error)}`;
      line.className = "error";
    }
  }
  state.offset = 0;
  await loadDocuments();
}

function keyRow(key: ApiKey): HTMLTableRowElement {
  const revoke = el("button", { type: "button", className: "danger", textContent: "Revoke" });
  revoke.setAttribute("aria-label", `revoke ${key.name}`);
  revoke.addEventListener("click", () => void revokeKey(key));
  const row = el(
    "tr",
    {},
    el("td", { textContent: key.name }),
    el("td", { textContent: key.role }),
    el("td", { textContent: key.createdAt ? new Date(key.createdAt).toLocaleString() : "" }),
    el("td", {}, revoke),
  );
  row.dataset.id = key.id;
  return row;
}

async function loadKeys(): Promise<void> {
  try {
    ui.keyRows.replaceChildren(...(await api.keys()).map(keyRow));
  } catch (error) {
    showError(error);
  }
}

async function issueKey(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const name = ui.keyName.value.trim();
  if (!name) return showError("Give the key a name (who or what will use it).");
  try {
    const issued = await api.issueKey(name, ui.keyRole.value as Role);
    ui.issuedName.textContent = `${issued.name} (${issued.role})`;
    ui.issuedKey.value = issued.key;
    ui.issued.hidden = false;
    ui.issuedKey.select();
    ui.keyName.value = "";
    clearError();
  } catch (error) {
    showError(error);
  }
  await loadKeys();
}

async function revokeKey(key: ApiKey): Promise<void> {
  if (!window.confirm(`Revoke the key "${key.name}"? Anything using it loses access at once.`))
    return;
  try {
    await api.revokeKey(key.id);
  } catch (error) {
    showError(error);
  }
  ui.issued.hidden = true;
  // Revoking the key this tab signed in with signs it out.
  await signIn();
}

function passageItem(passage: Passage, n: number): HTMLLIElement {
  const item = el(
    "li",
    { value: n, id: `source-${n}` },
    el(
      "div",
      { className: "source" },
      documentLink(passage.documentId, el("strong", { textContent: passage.documentName })),
      el("span", { className: "muted", textContent: ` score ${passage.score.toFixed(3)}` }),
    ),
    el("blockquote", { textContent: passage.text }),
  );
  item.dataset.documentId = passage.documentId;
  return item;
}

function renderAnswer(answer: string, retrieved: readonly Passage[]): void {
  ui.answer.replaceChildren(
    ...answerSegments(answer).map((s) => {
      if ("text" in s) return document.createTextNode(s.text);
      const cited = retrieved[s.cite - 1];
      if (!cited) return document.createTextNode(`[${s.cite}]`);
      return el("a", {
        href: `#source-${s.cite}`,
        className: "cite",
        textContent: `[${s.cite}]`,
        title: cited.documentName,
      });
    }),
  );
}

async function ask(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const question = ui.question.value.trim();
  if (!question) return;
  const topK = Number(ui.topK.value);
  if (!Number.isInteger(topK) || topK < 1 || topK > 50)
    return showError("Passages must be a whole number from 1 to 50.");
  const documentIds = ui.onlySelected.checked ? [...state.selected] : undefined;
  const metadata = metadataFrom(ui.filterMetadata, "Filter");
  if (!metadata) return;
  if (documentIds?.length === 0)
    return showError('Select at least one document, or untick "only the selected documents".');
  clearError();
  ui.askButton.disabled = true;
  ui.answerBox.hidden = false;
  ui.answerBox.setAttribute("aria-busy", "true");
  ui.answer.textContent = "";
  ui.citations.replaceChildren();
  ui.retrieved.replaceChildren();
  let retrieved: Passage[] = [];
  try {
    const result = await api.query(
      { question, topK, documentIds, metadata },
      {
        onRetrieved: (passages) => {
          retrieved = passages;
          ui.retrievedCount.textContent = String(passages.length);
          ui.retrieved.replaceChildren(...passages.map((p, i) => passageItem(p, i + 1)));
        },
        onToken: (text) => ui.answer.append(text),
      },
    );
    renderAnswer(result.answer, retrieved);
    // Sources keep the numbers the answer uses: [n] is the n-th retrieved passage.
    ui.citations.replaceChildren(
      ...result.citations.map((c) =>
        passageItem(c, retrieved.findIndex((r) => r.chunkId === c.chunkId) + 1),
      ),
    );
  } catch (error) {
    ui.answerBox.hidden = ui.answer.textContent === "";
    showError(error);
  } finally {
    ui.askButton.disabled = false;
    ui.answerBox.removeAttribute("aria-busy");
  }
}

ui.credentials.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = ui.credential.value.trim();
  if (value) sessionStorage.setItem(CREDENTIAL_KEY, value);
  ui.credential.value = "";
  void signIn();
});
ui.forget.addEventListener("click", () => {
  const wasSession =
    state.me?.kind === "session" && sessionStorage.getItem(CREDENTIAL_KEY) === null;
  sessionStorage.removeItem(CREDENTIAL_KEY);
  void (async () => {
    if (wasSession) {
      try {
        const { endSessionUrl } = await api.logout();
        // Off to the provider to end its session too; it sends the browser back here.
        if (endSessionUrl) return location.assign(endSessionUrl);
      } catch (error) {
        showError(error);
      }
    }
    await offerSingleSignOn();
    await signIn();
  })();
});
ui.alertClose.addEventListener("click", clearError);
ui.ask.addEventListener("submit", (event) => void ask(event));
ui.newKey.addEventListener("submit", (event) => void issueKey(event));
ui.file.addEventListener("change", () => {
  const files = [...(ui.file.files ?? [])];
  ui.file.value = "";
  void uploadFiles(files);
});
ui.upload.addEventListener("dragover", (event) => {
  event.preventDefault();
  ui.upload.classList.add("over");
});
ui.upload.addEventListener("dragleave", () => ui.upload.classList.remove("over"));
ui.upload.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.upload.classList.remove("over");
  void uploadFiles([...(event.dataTransfer?.files ?? [])]);
});
ui.statusFilter.addEventListener("change", () => {
  state.offset = 0;
  void loadDocuments();
});
ui.refresh.addEventListener("click", () => void loadDocuments());
ui.prev.addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  void loadDocuments();
});
ui.next.addEventListener("click", () => {
  state.offset += PAGE_SIZE;
  void loadDocuments();
});

void checkHealth();
void offerSingleSignOn().then(signIn);
