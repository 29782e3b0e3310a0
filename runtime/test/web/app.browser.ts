/**
 * Browser tests of the web app (`npm run test:browser`): the Next.js export (dist/web) served by
 * the real runtime in embedded mode, driven in headless Chromium through playwright-core.
 * Chromium comes from the machine (Debian's `chromium` package, or CHROMIUM_PATH); .ci/run
 * installs it. Every page records script errors and Content-Security-Policy violations: none may
 * happen.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEB_DIR } from "../../src/routes/web";
import { REWRITE_PROMPT } from "../../src/search/rewrite";
import {
  freePort,
  SSO_CLIENT,
  startIdentityProvider,
  type TestIdentityProvider,
} from "../oidc-provider";
import { ADMIN_KEY, auth, blankPdf, startRuntime, type Runtime } from "../support";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  if (!existsSync(`${WEB_DIR}/index.html`))
    throw new Error(`the app is not built in ${WEB_DIR}: run npm run build:web -w runtime`);
  // Chromium's sandbox refuses to start as root (containers, CI machines).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
});
afterAll(async () => {
  await browser?.close();
});

async function serve(
  overrides: Record<string, string> = {},
  port = 0,
): Promise<{ rt: Runtime; base: string }> {
  const rt = await startRuntime("embedded", overrides);
  await rt.app.listen({ host: "127.0.0.1", port });
  return { rt, base: `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}` };
}

/**
 * A page (in a fresh browser context: no cookies, no storage) that records any script error or
 * Content-Security-Policy violation of ours. Expected 4xx answers are not problems, nor what a
 * third party's page (the identity provider's) logs.
 */
async function open(
  url: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const ours = new URL(url).origin;
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error" || !page.url().startsWith(ours)) return;
    if (
      !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())
    )
      problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** axe-core's violations on the page as it is now (WCAG 2 A and AA rules). */
async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate<string[]>(
    `axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }).then((r) =>
       r.violations.map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ") + " " + n.html + " " + n.failureSummary).join(", ")))`,
  );
  return violations;
}

async function signIn(page: Page, credential: string): Promise<void> {
  await page.locator("#credential").fill(credential);
  await page.getByRole("button", { name: "Sign in with the key" }).click();
}

const answers = (page: Page) => page.getByTestId("answer");
const lastAnswer = (page: Page) => answers(page).last();

async function ask(page: Page, question: string): Promise<void> {
  const before = await answers(page).count();
  await page.locator("#question").fill(question);
  await page.locator("#question").press("Enter");
  await expect.poll(() => answers(page).count()).toBe(before + 1);
  await expect.poll(() => lastAnswer(page).getAttribute("data-streaming")).toBe("false");
}

const SKERRY = `# The Skerry Light

The Skerry Light is a lighthouse on a rock north of the harbour. It was first lit in 1871 by keeper Ewan MacAulay.

## The lamp

The lamp of the Skerry Light burned colza oil until 1904, when paraffin vapour burners replaced it.
`;
const HOSTILE_NAME = "notes<img src=x onerror=window.__xss=1>.md";
const HOSTILE_TEXT = `Harbour notes. <script>window.__xss = 2</script> The harbour master keeps the tide tables at the north buoy.`;

describe("the app in embedded mode without credentials", () => {
  let rt: Runtime;
  let base: string;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    ({ rt, base } = await serve({ ADMIN_API_KEY: "" }));
    ({ page, problems } = await open(`${base}/#documents`));
  });
  afterAll(async () => {
    await page?.close();
    await rt?.close();
  });

  it("is served under a strict Content-Security-Policy and asks for no sign-in", async () => {
    const response = await fetch(base);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;/);
    expect(csp).toMatch(/style-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+ 'nonce-[A-Za-z0-9+/=]+';/);
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    // A fresh nonce with every page.
    expect((await fetch(base)).headers.get("content-security-policy")).not.toBe(csp);
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    await expect.poll(() => page.getByLabel("Service status").textContent()).toBe("ready");
    expect(await page.getByTestId("whoami").textContent()).toBe("embedded mode: no sign-in");
    expect(await page.locator("#credential").count()).toBe(0);
  });

  it("uploads several files with per-file status until ready; names and text stay text", async () => {
    await page.getByLabel("Metadata key 1").fill("team");
    await page.getByLabel("Metadata value 1").fill("harbour");
    await page.locator("#files").setInputFiles([
      { name: "skerry.md", mimeType: "text/markdown", buffer: Buffer.from(SKERRY) },
      { name: HOSTILE_NAME, mimeType: "text/markdown", buffer: Buffer.from(HOSTILE_TEXT) },
    ]);
    await expect.poll(() => page.getByTestId("upload").count()).toBe(2);
    await expect
      .poll(() => page.locator('[data-testid=upload][data-status="ready"]').count(), {
        timeout: 30_000,
      })
      .toBe(2);
    await expect.poll(() => page.locator('tr[data-status="ready"]').count()).toBe(2);
    // The queue's counts refresh on their own timer, after the rows' (a slow machine shows both).
    await expect.poll(() => page.getByTestId("queue").textContent()).toContain("2 ready");
    const row = page.locator("tr", { hasText: "skerry.md" });
    expect(await row.textContent()).toContain("team=harbour");
    expect(await page.locator("tr", { hasText: "notes<img" }).count()).toBe(1);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    // Search by name.
    await page.locator("#doc-search").fill("skerry");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await page.locator("#doc-search").fill("");
    expect(problems).toEqual([]);
  });

  it("says so when the same bytes are uploaded again, and shows a refusal's reason", async () => {
    await page.locator("#files").setInputFiles([
      { name: "skerry-again.md", mimeType: "text/markdown", buffer: Buffer.from(SKERRY) },
      { name: "empty.txt", mimeType: "text/plain", buffer: Buffer.from("") },
    ]);
    await expect
      .poll(() => page.getByTestId("upload").filter({ hasText: "skerry-again.md" }).textContent())
      .toContain("already indexed");
    await expect
      .poll(() => page.getByTestId("upload").filter({ hasText: "empty.txt" }).textContent())
      .toMatch(/refused.*empty/);
    expect(await rt.services.documents.list({ limit: 10, offset: 0 })).toMatchObject({ total: 2 });
  });

  it("answers a three-turn conversation whose follow-ups resolve their pronouns", async () => {
    await page.goto(`${base}/#chat`);
    await ask(page, "What is the Skerry Light?");
    await ask(page, "When was it first lit?");
    expect(await page.getByTestId("standalone").last().textContent()).toBe(
      "Searched for: When was Skerry Light first lit?",
    );
    expect(await page.getByTestId("answer-text").last().textContent()).toContain("1871");
    await ask(page, "What did its lamp burn until 1904?");
    expect(await page.getByTestId("standalone").last().textContent()).toBe(
      "Searched for: What did Skerry Light's lamp burn until 1904?",
    );
    expect(await page.getByTestId("answer-text").last().textContent()).toContain("colza oil");
    // Stored: the conversation is listed under its first question and opens again.
    const list = page.getByRole("list", { name: "Your conversations" });
    await expect.poll(() => list.textContent()).toContain("What is the Skerry Light?");
    await page.reload();
    await list.getByRole("button", { name: "What is the Skerry Light?", exact: true }).click();
    await expect.poll(() => answers(page).count()).toBe(3);
    expect(problems).toEqual([]);
  });

  it("opens a citation's passage with its document, heading and score, and every retrieved passage", async () => {
    const cite = lastAnswer(page).locator("button.cite").first();
    expect(await cite.getAttribute("aria-label")).toMatch(/^Source \d+: skerry\.md$/);
    await cite.click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole("heading").textContent()).toMatch(/^\[\d+\] skerry\.md$/);
    expect(await dialog.textContent()).toContain("The lamp");
    expect(await page.getByTestId("passage-text").textContent()).toContain("colza oil");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
    await lastAnswer(page)
      .getByText(/All retrieved passages/)
      .click();
    expect(
      await lastAnswer(page).getByRole("list", { name: "All retrieved passages" }).textContent(),
    ).toMatch(/score \d\.\d{3}/);
  });

  it("stores thumbs down with a comment, with the question, chunk ids and model", async () => {
    const answer = lastAnswer(page);
    await answer.getByRole("button", { name: "Bad answer" }).click();
    await answer.getByLabel("Comment on this answer").fill("wanted the year of the change too");
    await answer.getByRole("button", { name: "Send feedback" }).click();
    await expect
      .poll(() => answer.getByTestId("feedback-state").textContent())
      .toBe("thanks: rated down");
    const [row] = await rt.services.db.query<{
      question: string;
      rating: string;
      comment: string;
      chunk_ids: string[];
      model: string;
    }>("SELECT question, rating, comment, chunk_ids, model FROM feedback");
    expect(row).toMatchObject({
      question: "What did Skerry Light's lamp burn until 1904?",
      rating: "down",
      comment: "wanted the year of the change too",
      model: "extractive",
    });
    expect(row!.chunk_ids.length).toBeGreaterThan(0);
  });

  it("passes the axe check in light and dark themes, and keeps the theme chosen", async () => {
    expect(await axe(page)).toEqual([]);
    await page.getByRole("button", { name: "Use the dark theme" }).click();
    await expect
      .poll(() => page.locator(".radix-themes").first().getAttribute("class"))
      .toContain("dark");
    const background = await page.evaluate<string>(
      `getComputedStyle(document.querySelector(".radix-themes")).backgroundColor`,
    );
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!, `a dark background, not ${background}`).toBeLessThan(150);
    expect(await axe(page)).toEqual([]);
    await page.reload();
    await expect
      .poll(() => page.getByRole("button", { name: "Use the light theme" }).count())
      .toBe(1);
    await page.goto(`${base}/#documents`);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    expect(await axe(page)).toEqual([]);
    await page.goto(`${base}/#admin`);
    await expect.poll(() => page.getByLabel("Models").textContent()).toContain("extractive");
    expect(await axe(page)).toEqual([]);
    await page.getByRole("button", { name: "Use the light theme" }).click();
    expect(await axe(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("works with the keyboard alone: ask, open a citation, close it", async () => {
    const { page: keys, problems: keyProblems } = await open(`${base}/#chat`);
    await expect.poll(() => keys.locator("#question").count()).toBe(1);
    const focused = () => keys.evaluate<string>(`document.activeElement?.id ?? ""`);
    for (let i = 0; i < 40 && (await focused()) !== "question"; i++)
      await keys.keyboard.press("Tab");
    expect(await focused()).toBe("question");
    await keys.keyboard.type("When was the Skerry Light first lit?");
    await keys.keyboard.press("Enter");
    await expect.poll(() => lastAnswer(keys).getAttribute("data-streaming")).toBe("false");
    const onCitation = () => keys.evaluate<string>(`document.activeElement?.className ?? ""`);
    for (let i = 0; i < 60 && (await onCitation()) !== "cite"; i++)
      await keys.keyboard.press("Shift+Tab");
    expect(await onCitation()).toBe("cite");
    await keys.keyboard.press("Enter");
    await expect.poll(() => keys.getByRole("dialog").isVisible()).toBe(true);
    await keys.keyboard.press("Escape");
    await expect.poll(() => keys.getByRole("dialog").count()).toBe(0);
    expect(await onCitation(), "focus goes back to the citation").toBe("cite");
    expect(keyProblems).toEqual([]);
    await keys.close();
  });

  it("fits a phone's screen", async () => {
    const { page: phone } = await open(`${base}/#chat`, { width: 390, height: 844 });
    await expect.poll(() => phone.locator("#question").isVisible()).toBe(true);
    const overflow = await phone.evaluate<number>(
      `document.documentElement.scrollWidth - document.documentElement.clientWidth`,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.close();
  });

  it("deletes a document after confirmation", async () => {
    await page.goto(`${base}/#documents`);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    await page.getByRole("button", { name: `Delete ${HOSTILE_NAME}` }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Cancel" }).click();
    expect(await page.locator("tbody tr").count()).toBe(2);
    await page.getByRole("button", { name: `Delete ${HOSTILE_NAME}` }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    expect(problems).toEqual([]);
  });
});

/**
 * An OpenAI-compatible stand-in that streams its answer slowly (a token every 150 ms), and
 * rewrites follow-ups when asked to; it records the connections that closed early.
 */
async function slowModel(): Promise<{ url: string; closedEarly: () => number; close: () => void }> {
  let closedEarly = 0;
  const words =
    "The Skerry Light was first lit in 1871 [1] by its first keeper, and it has guided the harbour's boats ever since through fog and storm alike.".split(
      " ",
    );
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = JSON.parse(body);
      if (request.messages[0].content === REWRITE_PROMPT || !request.stream) {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            id: "x",
            object: "chat.completion",
            created: 0,
            model: "slow",
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: "When was the Skerry Light first lit?" },
                finish_reason: "stop",
              },
            ],
          }),
        );
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const timer = setInterval(() => {
        if (i < words.length) {
          const chunk = {
            id: "x",
            object: "chat.completion.chunk",
            created: 0,
            model: "slow",
            choices: [
              { index: 0, delta: { content: `${i ? " " : ""}${words[i]}` }, finish_reason: null },
            ],
          };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          i++;
        } else {
          clearInterval(timer);
          res.end("data: [DONE]\n\n");
        }
      }, 150);
      res.on("close", () => {
        if (i < words.length) closedEarly++;
        clearInterval(timer);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    closedEarly: () => closedEarly,
    close: () => server.close(),
  };
}

describe("the app with a model that streams", () => {
  let rt: Runtime;
  let base: string;
  let model: Awaited<ReturnType<typeof slowModel>>;

  beforeAll(async () => {
    model = await slowModel();
    ({ rt, base } = await serve({
      ADMIN_API_KEY: "",
      LLM_PROVIDER: "openai",
      LLM_BASE_URL: model.url,
      LLM_MODEL: "slow",
    }));
    const { document } = await rt.services.documents.create({
      name: "skerry.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(SKERRY),
    });
    await rt.waitReady(document.id);
  });
  afterAll(async () => {
    await rt?.close();
    model?.close();
  });

  it("shows the answer as it streams, stops it, and regenerates it", async () => {
    const { page, problems } = await open(`${base}/#chat`);
    await page.locator("#question").fill("When was the Skerry Light first lit?");
    await page.locator("#question").press("Enter");
    // Part of the answer is on screen while the rest is still coming.
    await expect
      .poll(() => page.getByTestId("answer-text").last().textContent())
      .toContain("first lit");
    expect(await lastAnswer(page).getAttribute("data-streaming")).toBe("true");
    expect(await page.getByTestId("answer-text").last().textContent()).not.toContain("storm");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => lastAnswer(page).getAttribute("data-streaming")).toBe("false");
    expect(await lastAnswer(page).textContent()).toContain("stopped");
    await expect.poll(model.closedEarly).toBe(1);

    await lastAnswer(page).getByRole("button", { name: "Regenerate" }).click();
    await expect.poll(() => lastAnswer(page).getAttribute("data-streaming")).toBe("true");
    await expect
      .poll(() => lastAnswer(page).getAttribute("data-streaming"), { timeout: 20_000 })
      .toBe("false");
    expect(await page.getByTestId("answer-text").last().textContent()).toContain("storm alike");
    expect(await answers(page).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe("the app when the server needs credentials", () => {
  let rt: Runtime;
  let base: string;
  let readerKey: string;

  beforeAll(async () => {
    ({ rt, base } = await serve());
    readerKey = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "ui-reader", role: "reader" },
      })
    ).json().key;
    const doc = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: {
        name: "policy.txt",
        text: "Visitors sign in at the front desk and wear a badge at all times.",
      },
    });
    await rt.waitReady(doc.json().id);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("shows nothing but the sign-in until a valid key is given, with the server's reason", async () => {
    const { page, problems } = await open(base);
    await expect.poll(() => page.getByTestId("alert").textContent()).toContain("needs an API key");
    expect(await page.getByRole("navigation", { name: "Views" }).count()).toBe(0);
    await signIn(page, "rag_not_a_real_key_000000000000");
    await expect
      .poll(() => page.getByTestId("alert").textContent())
      .toContain("Signing in failed: a valid API key");
    expect(await page.getByRole("navigation", { name: "Views" }).count()).toBe(0);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("offers a reader neither upload nor delete nor admin, and still answers", async () => {
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, readerKey);
    await expect.poll(() => page.getByTestId("whoami").textContent()).toBe("signed in: reader");
    await expect.poll(() => page.locator('tr[data-status="ready"]').count()).toBe(1);
    expect(await page.locator("#files").count()).toBe(0);
    expect(await page.getByTestId("dropzone").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Delete / }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0);
    await page.getByRole("link", { name: "Chat" }).click();
    await ask(page, "Where do visitors sign in?");
    expect(await page.getByTestId("answer-text").last().textContent()).toContain("front desk");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("lets an admin issue a key (shown once) and revoke it, and lists users and models", async () => {
    const { page, problems } = await open(`${base}/#admin`);
    await signIn(page, ADMIN_KEY);
    const keys = page.getByTestId("keys");
    await expect.poll(() => keys.locator("tbody tr").count()).toBe(2);
    await page.locator("#key-name").fill("ci-pipeline");
    await page.getByRole("radio", { name: "ingester" }).click();
    await page.getByRole("button", { name: "Issue key" }).click();
    await expect.poll(() => keys.locator("tbody tr").count()).toBe(3);
    const issued = await page.getByTestId("issued-key").inputValue();
    expect(issued).toMatch(/^rag_/);
    const me = () => rt.app.inject({ method: "GET", url: "/v1/me", headers: auth(issued) });
    expect((await me()).json()).toMatchObject({ kind: "api-key", role: "ingester" });
    await page.getByRole("button", { name: "Revoke ci-pipeline" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => keys.locator("tbody tr").count()).toBe(2);
    expect((await me()).statusCode).toBe(401);
    expect(await page.getByLabel("Backends").textContent()).toMatch(/database\s*ok/);
    expect(await page.getByLabel("Models").textContent()).toContain("the rule");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("goes back to signing in when its key stops working", async () => {
    const issued = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "soon-revoked", role: "reader" },
      })
    ).json();
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, issued.key);
    await expect.poll(() => page.locator('tr[data-status="ready"]').count()).toBe(1);
    await rt.app.inject({ method: "DELETE", url: `/v1/keys/${issued.id}`, headers: auth() });
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => page.locator("#credential").count()).toBe(1);
    expect(await page.getByTestId("alert").textContent()).toContain(
      "Signing in failed: a valid API key",
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps the credential for the tab only and signs out", async () => {
    const { page } = await open(base);
    await signIn(page, ADMIN_KEY);
    await expect.poll(() => page.getByTestId("whoami").textContent()).toBe("signed in: admin");
    expect(await page.evaluate("sessionStorage.length")).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByTestId("whoami").textContent()).toBe("signed in: admin");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator("#credential").count()).toBe(1);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.close();
  });
});

describe("the library's labels and name search", () => {
  let rt: Runtime;
  let base: string;
  /** An ingester whose clearance is the lowest label (below the default, internal). */
  let publicIngester: string;
  /** More documents than a page holds (25): the first one uploaded is on the last page. */
  const OLDEST = "ledger-of-the-keeper.txt";

  beforeAll(async () => {
    ({ rt, base } = await serve());
    publicIngester = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "ui-public", role: "ingester", clearance: "public" },
      })
    ).json().key;
    const names = [OLDEST, ...Array.from({ length: 27 }, (_, i) => `note-${i + 1}.txt`)];
    for (const [i, name] of names.entries())
      await rt.services.documents.create({
        name,
        contentType: "text/plain",
        bytes: new TextEncoder().encode(`Note ${i} of the keeper's log.`),
        classification: "public",
        // The oldest is the only one of 1890: the metadata filter must find it past page 1.
        metadata: { year: i === 0 ? 1890 : 1990, shelf: "north" },
      });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const options = (page: Page) => page.getByRole("option");

  it("uploads with the label chosen, shows it, and filters by it", async () => {
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, ADMIN_KEY);
    const select = page.getByTestId("upload-label");
    await expect.poll(() => select.textContent()).toBe("internal");
    await select.click();
    expect(await options(page).allTextContents()).toEqual([
      "public",
      "internal",
      "confidential",
      "restricted",
    ]);
    await options(page).filter({ hasText: "confidential" }).click();
    await expect.poll(() => select.textContent()).toBe("confidential");
    await page.locator("#files").setInputFiles({
      name: "vault.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("The vault's combination changes every quarter."),
    });
    const row = page.locator("tr", { hasText: "vault.txt" });
    await expect.poll(() => row.getByTestId("label").textContent()).toBe("confidential");
    const [stored] = await rt.services.db.query<{ classification: string }>(
      "SELECT classification FROM documents WHERE name = 'vault.txt'",
    );
    expect(stored).toEqual({ classification: "confidential" });

    await page.getByTestId("label-filter").click();
    await options(page)
      .filter({ hasText: /^confidential$/ })
      .click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    expect(await page.locator("tbody tr").textContent()).toContain("vault.txt");
    expect(await axe(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("offers an uploader only the labels its clearance reaches", async () => {
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, publicIngester);
    await expect.poll(() => page.getByTestId("whoami").textContent()).toBe("signed in: ingester");
    const select = page.getByTestId("upload-label");
    // The default (internal) is above its clearance: the form starts at the highest it may set.
    await expect.poll(() => select.textContent()).toBe("public");
    await select.click();
    expect(await options(page).allTextContents()).toEqual(["public"]);
    await page.keyboard.press("Escape");
    await page.locator("#files").setInputFiles({
      name: "tide-table.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("High water at the north buoy is an hour after the harbour's."),
    });
    await expect
      .poll(() =>
        page.locator("tr", { hasText: "tide-table.txt" }).getByTestId("label").textContent(),
      )
      .toBe("public");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("finds a document by name that is not on the first page", async () => {
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, ADMIN_KEY);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(25);
    expect(await page.locator("tr", { hasText: OLDEST }).count()).toBe(0);
    await page.locator("#doc-search").fill("LEDGER");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    expect(await page.locator("tbody tr").textContent()).toContain(OLDEST);
    expect(await page.getByRole("navigation", { name: "Pages" }).textContent()).toContain(
      "page 1 of 1",
    );
    await page.locator("#doc-search").fill("no such name");
    await expect.poll(() => page.getByText("No document matches.").count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("filters by metadata across the library, not the page shown", async () => {
    const { page, problems } = await open(`${base}/#documents`);
    await signIn(page, ADMIN_KEY);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(25);
    await page.locator("#doc-where").fill("shelf=north, year=1890");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    expect(await page.locator("tbody tr").textContent()).toContain(OLDEST);
    // A number is matched as a number: "1990" typed reads as 1990, the other 27.
    await page.locator("#doc-where").fill("year=1990");
    await expect.poll(() => page.getByText("27 in all").count()).toBe(1);
    await page.locator("#doc-where").fill("shelf=south");
    await expect.poll(() => page.getByText("No document matches.").count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe("the app with single sign-on", () => {
  let idp: TestIdentityProvider;
  let rt: Runtime;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    idp = await startIdentityProvider(`${publicUrl}/auth/callback`, {
      alice: ["rag-ingester"],
      bob: ["rag-reader"],
    });
    ({ rt, base } = await serve(
      {
        OIDC_ISSUER_URL: idp.issuer,
        OIDC_CLIENT_ID: SSO_CLIENT.id,
        OIDC_CLIENT_SECRET: SSO_CLIENT.secret,
        PUBLIC_URL: publicUrl,
        SESSION_CHECK_SECONDS: "1",
      },
      port,
    ));
  });
  afterAll(async () => {
    await rt?.close();
    await idp?.close();
  });

  const ssoLink = (page: Page) => page.getByRole("link", { name: "Sign in with single sign-on" });

  /** Through the provider's own login and consent pages. */
  const ssoSignIn = async (page: Page, login: string) => {
    await ssoLink(page).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("any password");
    await page.locator("button[type=submit]").click();
    await page.locator("button[type=submit]", { hasText: "Continue" }).click();
    await page.waitForURL(`${base}/`);
  };

  it("signs in at the identity provider with the role its ID token grants; no token reaches the page", async () => {
    const { page, problems } = await open(base);
    await expect.poll(() => ssoLink(page).isVisible()).toBe(true);
    await ssoSignIn(page, "alice");
    await expect
      .poll(() => page.getByTestId("whoami").textContent())
      .toBe("signed in: ingester (alice (test user))");
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);

    // The session uploads (an ingester may) but is offered no delete (an admin's).
    await page.getByRole("link", { name: "Documents" }).click();
    await page.locator("#files").setInputFiles({
      name: "sso.md",
      mimeType: "text/markdown",
      buffer: Buffer.from("Signed in through single sign-on, this note was uploaded by Alice."),
    });
    await expect
      .poll(() => page.locator('tr[data-status="ready"]').count(), { timeout: 30_000 })
      .toBe(1);
    expect(await page.getByRole("button", { name: /^Delete / }).count()).toBe(0);
    // Her conversations are hers: stored under her subject.
    await page.getByRole("link", { name: "Chat" }).click();
    await ask(page, "Who uploaded this note?");
    const [owner] = await rt.services.db.query<{ owner: string }>(
      "SELECT owner FROM conversations",
    );
    expect(owner!.owner).toMatch(/^user:/);

    // Signing out ends the provider's session too (RP-initiated logout), then comes back here.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL(`${base}/`);
    await expect.poll(() => page.getByTestId("alert").textContent()).toContain("or single sign-on");
    await ssoLink(page).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await expect.poll(() => page.locator("input[name=login]").isVisible()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("goes back to signing in once the provider no longer knows the user", async () => {
    const { page } = await open(base);
    await ssoSignIn(page, "bob");
    await expect
      .poll(() => page.getByTestId("whoami").textContent())
      .toBe("signed in: reader (bob (test user))");
    idp.disabled.add("bob");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await page.reload();
    await expect.poll(() => ssoLink(page).isVisible()).toBe(true);
    expect(await page.getByTestId("whoami").count()).toBe(0);
    await page.close();
  });

  it("shows why a sign-in failed, and does not leave the reason in the address bar", async () => {
    const { page } = await open(base);
    await ssoLink(page).click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.goto(
      `${base}/auth/callback?error=access_denied&error_description=End-User+aborted+interaction`,
    );
    await page.waitForURL((url) => url.pathname === "/");
    await expect
      .poll(() => page.getByTestId("alert").textContent())
      .toContain(
        "Single sign-on failed: the identity provider refused the sign-in: End-User aborted interaction",
      );
    expect(page.url()).toBe(`${base}/`);
    await page.close();
  });

  it("does not show the text of a crafted callback link the user never started a sign-in for", async () => {
    const { page } = await open(
      `${base}/auth/callback?error=x&error_description=Call+0800+to+restore+your+account`,
    );
    await page.waitForURL((url) => url.pathname === "/");
    await expect
      .poll(() => page.getByTestId("alert").textContent())
      .toContain(
        "Single sign-on failed: the sign-in expired or was started in another browser; try again",
      );
    expect(await page.getByTestId("alert").textContent()).not.toContain("0800");
    await page.close();
  });
});

describe("the PDF without a text layer", () => {
  it("shows a failed document's reason in the library", async () => {
    const { rt, base } = await serve({ ADMIN_API_KEY: "" });
    try {
      const { page, problems } = await open(`${base}/#documents`);
      await page.locator("#files").setInputFiles({
        name: "scan.pdf",
        mimeType: "application/pdf",
        buffer: Buffer.from(blankPdf()),
      });
      await expect
        .poll(() => page.locator('tr[data-status="failed"]').count(), { timeout: 30_000 })
        .toBe(1);
      expect(await page.locator('tr[data-status="failed"]').textContent()).toMatch(/no text layer/);
      await page.getByRole("radio", { name: "failed" }).click();
      await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await rt.close();
    }
  });
});
