/**
 * Browser tests of the UI (`npm run test:browser`): the built UI (dist/web) served by the real
 * runtime in embedded mode, driven in headless Chromium through playwright-core. Chromium comes
 * from the machine (Debian's `chromium` package, or CHROMIUM_PATH); .ci/run installs it.
 */
import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEB_DIR } from "../../src/routes/web";
import {
  freePort,
  SSO_CLIENT,
  startIdentityProvider,
  type TestIdentityProvider,
} from "../oidc-provider";
import { ADMIN_KEY, auth, blankPdf, startRuntime, type Runtime } from "../support";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  if (!existsSync(`${WEB_DIR}/index.html`))
    throw new Error(`the UI is not built in ${WEB_DIR}: run npm run build:web -w runtime`);
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
async function open(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
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
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(url);
  return { page, problems };
}

const rowsWithStatus = (page: Page, status: string) =>
  page.locator(`#documents tbody tr[data-status="${status}"]`);

const LIGHTHOUSE = `# The Skerry Light

The Skerry lighthouse was first lit in 1871 by keeper Ewan MacAulay. Its lamp burned colza oil
until 1904, when paraffin vapour burners replaced it.

## Fog signal

A fog horn powered by compressed air was added in 1911 and sounded every ninety seconds.
`;
const HOSTILE_NAME = "notes<img src=x onerror=window.__xss=1>.md";
const HOSTILE_TEXT = `Harbour notes. <script>window.__xss = 2</script> The lighthouse keeper moors his boat at the north buoy.`;

describe("the UI in embedded mode without credentials", () => {
  let rt: Runtime;
  let base: string;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    ({ rt, base } = await serve({ ADMIN_API_KEY: "" }));
    ({ page, problems } = await open(base));
  });
  afterAll(async () => {
    await page?.close();
    await rt?.close();
  });

  it("is served with a strict Content-Security-Policy and asks for no credentials", async () => {
    const response = await fetch(base);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    await expect.poll(() => page.locator("#health").textContent()).toBe("ready");
    await expect.poll(() => page.locator("#workspace").isVisible()).toBe(true);
    await expect.poll(() => page.locator("#empty").isVisible()).toBe(true);
    expect(await page.locator("#credentials").isHidden()).toBe(true);
    expect(await page.locator("#sso").isHidden()).toBe(true);
  });

  it("uploads files, shows them indexing and then ready", async () => {
    await page.locator("#file").setInputFiles([
      { name: "skerry.md", mimeType: "text/markdown", buffer: Buffer.from(LIGHTHOUSE) },
      { name: HOSTILE_NAME, mimeType: "text/markdown", buffer: Buffer.from(HOSTILE_TEXT) },
    ]);
    await expect.poll(() => page.locator("#uploads li.ok").count()).toBe(2);
    await expect.poll(() => rowsWithStatus(page, "ready").count(), { timeout: 30_000 }).toBe(2);
    expect(await page.locator("#doc-total").textContent()).toBe("(2)");
    const skerry = page.locator("#documents tbody tr", { hasText: "skerry.md" });
    expect(Number(await skerry.locator("td.num").first().textContent())).toBeGreaterThan(0);
  });

  it("shows document names and text as text: a hostile name or body cannot script the page", async () => {
    expect(
      await page.locator("#documents tbody td.name span", { hasText: "onerror" }).textContent(),
    ).toBe(HOSTILE_NAME);
    expect(await page.locator("#documents img").count()).toBe(0);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
  });

  it("downloads a document's original from its name, as a file (a hostile HTML name too)", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator("#documents tbody button.link", { hasText: "skerry.md" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("skerry.md");
    expect(readFileSync(await download.path(), "utf8")).toBe(LIGHTHOUSE);
    const [hostile] = await Promise.all([
      page.waitForEvent("download"),
      page.locator("#documents tbody button.link", { hasText: "onerror" }).click(),
    ]);
    expect(readFileSync(await hostile.path(), "utf8")).toBe(HOSTILE_TEXT);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
  });

  it("re-uploading the same bytes says so and adds nothing", async () => {
    await page.locator("#file").setInputFiles({
      name: "skerry-copy.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(LIGHTHOUSE),
    });
    await expect
      .poll(() => page.locator("#uploads li").first().textContent())
      .toBe("skerry-copy.md: already indexed (same content)");
    expect(await page.locator("#documents tbody tr").count()).toBe(2);
  });

  it("answers a question with the streamed answer, linked citations and the cited document", async () => {
    await page.locator("#question").fill("When was the fog horn added to the Skerry lighthouse?");
    await page.locator("#ask-button").click();
    await expect.poll(() => page.locator("#citations li").count()).toBeGreaterThan(0);
    expect(await page.locator("#answer").textContent()).toContain("1911");
    const link = page.locator("#answer a.cite").first();
    const target = (await link.getAttribute("href"))!;
    expect(target).toMatch(/^#source-\d+$/);
    expect(await page.locator(`#citations ${target} strong`).textContent()).toBe("skerry.md");
    const [source] = await Promise.all([
      page.waitForEvent("download"),
      page.locator(`#citations ${target} button.link`).click(),
    ]);
    expect(source.suggestedFilename(), "a cited source downloads its document").toBe("skerry.md");
    expect(Number(await page.locator("#retrieved-count").textContent())).toBeGreaterThan(0);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
  });

  it("asks only the selected documents when told to", async () => {
    const retrievedFrom = async () =>
      new Set(
        await Promise.all(
          (await page.locator("#retrieved li").all()).map((li) =>
            li.getAttribute("data-document-id"),
          ),
        ),
      );
    const askAndWait = async () => {
      await page.locator("#ask-button").click();
      await expect.poll(() => page.locator("#ask-button").isEnabled()).toBe(true);
      await expect.poll(() => page.locator("#retrieved li").count()).toBeGreaterThan(0);
    };
    await page.locator("#question").fill("Who was the lighthouse keeper?");
    await askAndWait();
    expect((await retrievedFrom()).size).toBe(2);
    const hostile = page.locator("#documents tbody tr", { hasText: "onerror" });
    await hostile.locator("input[type=checkbox]").check();
    await page.locator("#only-selected").check();
    await askAndWait();
    expect(await retrievedFrom()).toEqual(new Set([await hostile.getAttribute("data-id")]));
    await page.locator("#only-selected").uncheck();
  });

  it("refuses a bad upload with the server's reason and keeps what is stored", async () => {
    await page
      .locator("#file")
      .setInputFiles({ name: "empty.txt", mimeType: "text/plain", buffer: Buffer.alloc(0) });
    await expect.poll(() => page.locator("#uploads li.error").count()).toBe(1);
    expect(await page.locator("#uploads li.error").textContent()).toMatch(/^empty\.txt: .*empty/);
    await page.locator("#file").setInputFiles({
      name: "broken.pdf",
      mimeType: "application/pdf",
      buffer: Buffer.from("%PDF-1.7 this is not a pdf"),
    });
    await expect.poll(() => page.locator("#uploads li.error").count()).toBe(2);
    expect(await page.locator("#documents tbody tr").count()).toBe(2);
  });

  it("deletes a document everywhere after confirmation", async () => {
    await page
      .locator("#documents tbody tr", { hasText: "skerry.md" })
      .getByRole("button", { name: "delete skerry.md" })
      .click();
    await expect.poll(() => page.locator("#documents tbody tr").count()).toBe(1);
    const listed = (await rt.app.inject({ method: "GET", url: "/v1/documents" })).json();
    expect(listed.items.map((d: { name: string }) => d.name)).toEqual([HOSTILE_NAME]);
    expect(problems).toEqual([]);
  });

  it("uploads with metadata, shows it, and asks only where the metadata matches", async () => {
    await page.locator("#upload-metadata").fill("team");
    await page.locator("#file").setInputFiles({
      name: "tide.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(
        "Tide tables for the harbour entrance are posted weekly by the lighthouse keeper.",
      ),
    });
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toBe('Metadata: "team" is not key=value (write key=value pairs separated by commas)');
    expect(
      (await rt.app.inject({ method: "GET", url: "/v1/documents" })).json().total,
      "nothing uploaded",
    ).toBe(1);

    await page.locator("#upload-metadata").fill("team=harbour, year=2024");
    await page.locator("#file").setInputFiles({
      name: "tide.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(
        "Tide tables for the harbour entrance are posted weekly by the lighthouse keeper.",
      ),
    });
    await expect.poll(() => rowsWithStatus(page, "ready").count(), { timeout: 30_000 }).toBe(2);
    const tide = page.locator("#documents tbody tr", { hasText: "tide.md" });
    expect(await tide.locator(".tags").textContent()).toBe("team=harbour, year=2024");
    const tideId = await tide.getAttribute("data-id");
    expect(
      (await rt.app.inject({ method: "GET", url: `/v1/documents/${tideId}` })).json().metadata,
    ).toEqual({ team: "harbour", year: 2024 });

    // Both documents mention the lighthouse keeper; the filter keeps only the one from team harbour.
    await page.locator("#question").fill("What does the lighthouse keeper do?");
    await page.locator("#filter-metadata").fill("team=harbour");
    await page.locator("#ask-button").click();
    await expect.poll(() => page.locator("#ask-button").isEnabled()).toBe(true);
    await expect.poll(() => page.locator("#retrieved li").count()).toBeGreaterThan(0);
    const from = await Promise.all(
      (await page.locator("#retrieved li").all()).map((li) => li.getAttribute("data-document-id")),
    );
    expect(new Set(from)).toEqual(new Set([tideId]));
    await page.locator("#filter-metadata").fill("team=nobody");
    await page.locator("#ask-button").click();
    await expect
      .poll(() => page.locator("#answer").textContent())
      .toBe("No indexed passage answers this question.");
    expect(problems).toEqual([]);
  });
});

describe("the UI when the server needs credentials", () => {
  let rt: Runtime;
  let base: string;
  let readerKey: string;

  beforeAll(async () => {
    ({ rt, base } = await serve());
    const created = await rt.app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: auth(),
      payload: { name: "ui-reader", role: "reader" },
    });
    readerKey = created.json().key;
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

  async function signIn(page: Page, credential: string): Promise<void> {
    await page.locator("#credential").fill(credential);
    await page.locator("#credentials button[type=submit]").click();
  }

  it("shows nothing but the sign-in until a valid key is given, with the server's reason", async () => {
    const { page, problems } = await open(base);
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toContain("needs an API key");
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    await signIn(page, "rag_not_a_real_key_000000000000");
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toContain("Signing in failed: a valid API key");
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    expect(await page.locator("#credential").inputValue()).toBe("");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("offers a reader neither upload nor delete, and still answers", async () => {
    const { page, problems } = await open(base);
    await signIn(page, readerKey);
    await expect.poll(() => page.locator("#whoami").textContent()).toBe("signed in: reader");
    await expect.poll(() => rowsWithStatus(page, "ready").count()).toBe(1);
    expect(await page.locator("#upload").isHidden()).toBe(true);
    expect(await page.locator("#keys-panel").isHidden()).toBe(true);
    expect(await page.locator("#documents tbody button.danger").count()).toBe(0);
    await page.locator("#question").fill("Where do visitors sign in?");
    await page.locator("#ask-button").click();
    await expect.poll(() => page.locator("#answer").textContent()).toContain("front desk");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("lets an admin issue a key (shown once) and revoke it", async () => {
    const { page, problems } = await open(base);
    await signIn(page, ADMIN_KEY);
    await expect.poll(() => page.locator("#keys tbody tr").count()).toBe(2);
    expect(await page.locator("#keys tbody td:first-child").allTextContents()).toEqual([
      "bootstrap-admin",
      "ui-reader",
    ]);
    await page.locator("#key-name").fill("ci-pipeline");
    await page.locator("#key-role").selectOption("ingester");
    await page.locator("#new-key button[type=submit]").click();
    await expect.poll(() => page.locator("#keys tbody tr").count()).toBe(3);
    expect(await page.locator("#issued-name").textContent()).toBe("ci-pipeline (ingester)");
    const issued = await page.locator("#issued-key").inputValue();
    expect(issued).toMatch(/^rag_/);
    const me = async () => rt.app.inject({ method: "GET", url: "/v1/me", headers: auth(issued) });
    expect((await me()).json()).toMatchObject({ kind: "api-key", role: "ingester" });
    expect(
      JSON.stringify(
        (await rt.app.inject({ method: "GET", url: "/v1/keys", headers: auth() })).json(),
      ),
    ).not.toContain(issued);

    await page
      .locator("#keys tbody tr", { hasText: "ci-pipeline" })
      .getByRole("button", { name: "revoke ci-pipeline" })
      .click();
    await expect.poll(() => page.locator("#keys tbody tr").count()).toBe(2);
    expect(await page.locator("#issued").isHidden()).toBe(true);
    expect((await me()).statusCode).toBe(401);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("pages through a long list and filters it by status", async () => {
    // 24 more documents (one of which fails to index: a PDF with no text layer) beside policy.txt.
    for (let i = 0; i < 23; i++) {
      const doc = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: {
          name: `note-${String(i).padStart(2, "0")}.txt`,
          text: `Note number ${i} about the harbour.`,
        },
      });
      await rt.waitReady(doc.json().id);
    }
    const { page, problems } = await open(base);
    await signIn(page, ADMIN_KEY);
    await page.locator("#file").setInputFiles({
      name: "scan.pdf",
      mimeType: "application/pdf",
      buffer: Buffer.from(blankPdf()),
    });
    await expect
      .poll(() => page.locator("#documents tbody tr[data-status=failed]").count(), {
        timeout: 30_000,
      })
      .toBe(1);
    expect(
      await page.locator("#documents tbody tr[data-status=failed] .reason").textContent(),
    ).toMatch(/no text layer/);
    expect(await page.locator("#doc-total").textContent()).toBe("(25)");
    expect(await page.locator("#documents tbody tr").count()).toBe(20);
    expect(await page.locator("#page").textContent()).toBe("page 1 of 2");
    expect(await page.locator("#prev").isDisabled()).toBe(true);
    await page.locator("#next").click();
    await expect.poll(() => page.locator("#page").textContent()).toBe("page 2 of 2");
    expect(await page.locator("#documents tbody tr").count()).toBe(5);
    expect(await page.locator("#next").isDisabled()).toBe(true);
    expect(
      await page.locator("#documents tbody td.name span").last().textContent(),
      "newest first: the oldest last",
    ).toBe("policy.txt");
    await page.locator("#status-filter").selectOption("failed");
    await expect.poll(() => page.locator("#doc-total").textContent()).toBe("(1)");
    expect(await page.locator("#documents tbody td.name span").allTextContents()).toEqual([
      "scan.pdf",
    ]);
    expect(await page.locator("#page").textContent()).toBe("page 1 of 1");
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
    const { page, problems } = await open(base);
    await signIn(page, issued.key);
    await expect.poll(() => page.locator("#workspace").isVisible()).toBe(true);
    expect(
      (await rt.app.inject({ method: "DELETE", url: `/v1/keys/${issued.id}`, headers: auth() }))
        .statusCode,
    ).toBe(204);
    await page.locator("#refresh").click();
    await expect.poll(() => page.locator("#workspace").isHidden()).toBe(true);
    expect(await page.locator("#alert-text").textContent()).toContain(
      "Signing in failed: a valid API key",
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps the credential for the tab only and signs out", async () => {
    const { page } = await open(base);
    await signIn(page, ADMIN_KEY);
    await expect.poll(() => page.locator("#whoami").textContent()).toBe("signed in: admin");
    expect(await page.locator("#upload").isVisible()).toBe(true);
    await expect.poll(() => page.locator("#documents tbody tr").count()).toBeGreaterThan(0);
    expect(await page.locator("#documents tbody button", { hasText: "Delete" }).count()).toBe(
      await page.locator("#documents tbody tr").count(),
    );
    expect(await page.evaluate("localStorage.length")).toBe(0);
    await page.reload();
    await expect.poll(() => page.locator("#whoami").textContent()).toBe("signed in: admin");
    await page.locator("#forget").click();
    await expect.poll(() => page.locator("#workspace").isHidden()).toBe(true);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.close();
  });
});

describe("the UI with single sign-on", () => {
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

  /** Through the provider's own login and consent pages. */
  const ssoSignIn = async (page: Page, login: string) => {
    await page.locator("#sso").click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("any password");
    await page.locator("button[type=submit]").click();
    await page.locator("button[type=submit]", { hasText: "Continue" }).click();
    await page.waitForURL(`${base}/`);
  };
  afterAll(async () => {
    await rt?.close();
    await idp?.close();
  });

  it("signs in at the identity provider and comes back with the role its ID token grants; no token reaches the page", async () => {
    const { page, problems } = await open(base);
    await expect.poll(() => page.locator("#sso").isVisible()).toBe(true);
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    await ssoSignIn(page, "alice");
    await expect
      .poll(() => page.locator("#whoami").textContent())
      .toBe("signed in: ingester (alice (test user))");
    expect(await page.locator("#sso").isHidden()).toBe(true);
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.evaluate("sessionStorage.length")).toBe(0);

    // The session uploads (an ingester may) but is offered no delete (an admin's).
    await page.locator("#file").setInputFiles({
      name: "sso.md",
      mimeType: "text/markdown",
      buffer: Buffer.from("Signed in through single sign-on, this note was uploaded by Alice."),
    });
    await expect.poll(() => rowsWithStatus(page, "ready").count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator("#documents tbody button.danger").count()).toBe(0);

    // Signing out ends the provider's session too (RP-initiated logout), then comes back here.
    await page.locator("#forget").click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL(`${base}/`);
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toContain("or single sign-on");
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    expect(await page.locator("#sso").isVisible()).toBe(true);
    // The provider asks for the login again: its session is gone as well as ours.
    await page.locator("#sso").click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await expect.poll(() => page.locator("input[name=login]").isVisible()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("goes back to signing in once the provider no longer knows the user (at the session's next check)", async () => {
    const { page } = await open(base);
    await ssoSignIn(page, "bob");
    await expect
      .poll(() => page.locator("#whoami").textContent())
      .toBe("signed in: reader (bob (test user))");
    idp.disabled.add("bob");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await page.reload();
    await expect.poll(() => page.locator("#sso").isVisible()).toBe(true);
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    await page.close();
  });

  it("shows why a sign-in failed when the provider sends the user back without one", async () => {
    const { page } = await open(base);
    await page.locator("#sso").click();
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    // What the provider does when the user cancels: back to the callback with an error.
    await page.goto(
      `${base}/auth/callback?error=access_denied&error_description=End-User+aborted+interaction`,
    );
    await page.waitForURL(`${base}/`);
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toBe(
        "Single sign-on failed: the identity provider refused the sign-in: End-User aborted interaction",
      );
    expect(page.url(), "the reason is not left in the address bar").toBe(`${base}/`);
    await expect.poll(() => page.locator("#sso").isVisible()).toBe(true);
    expect(await page.locator("#workspace").isHidden()).toBe(true);
    await page.close();
  });

  it("does not show the text of a crafted callback link the user never started a sign-in for", async () => {
    const { page } = await open(
      `${base}/auth/callback?error=x&error_description=Call+0800+to+restore+your+account`,
    );
    await page.waitForURL(`${base}/`);
    await expect
      .poll(() => page.locator("#alert-text").textContent())
      .toBe(
        "Single sign-on failed: the sign-in expired or was started in another browser; try again",
      );
    await page.close();
  });
});
