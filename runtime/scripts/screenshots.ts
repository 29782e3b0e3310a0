/**
 * npm run screenshots -w runtime: the web app's main screens as PNG files in docs/screenshots/,
 * taken from the built app (npm run build:web) served by the embedded runtime with two sample
 * documents, in headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { buildApp } from "../src/app";
import { loadRuntimeConfig } from "../src/config";
import { waitFor } from "../src/queue/queue";
import { createServices } from "../src/services";

const OUT = join(__dirname, "..", "..", "docs", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const DOCUMENTS = {
  "skerry-light.md": `# The Skerry Light

The Skerry Light is a lighthouse on a rock north of the harbour. It was first lit in 1871 by keeper Ewan MacAulay.

## The lamp

The lamp of the Skerry Light burned colza oil until 1904, when paraffin vapour burners replaced it.

## Fog signal

A fog horn powered by compressed air was added in 1911 and sounded every ninety seconds.`,
  "harbour-rules.md": `# Harbour rules

Visitors sign in at the harbour office and wear a badge at all times. Boats moor at the north buoy only with the harbour master's leave.`,
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-shots-"));
  const services = await createServices(
    loadRuntimeConfig({ DATA_DIR: dataDir, LOG_LEVEL: "error" }),
  );
  await services.startWorker();
  const { app } = await buildApp({ services, fastify: { logger: false } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  for (const [name, text] of Object.entries(DOCUMENTS)) {
    const { document } = await services.documents.create({
      name,
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(text),
      metadata: { team: "harbour" },
    });
    await waitFor(
      async () => (await services.documents.get(document.id))?.status === "ready",
      60_000,
      `${name} to be indexed`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  mkdirSync(OUT, { recursive: true });
  const shot = async (page: Page, name: string) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png`);
  };
  try {
    for (const theme of ["light", "dark"] as const) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(base);
      await page.evaluate(`localStorage.setItem("rag-theme", "${theme}")`);
      await page.reload();
      for (const question of ["What is the Skerry Light?", "When was it first lit?"]) {
        await page.locator("#question").fill(question);
        await page.locator("#question").press("Enter");
        await page.locator('[data-testid=answer][data-streaming="false"]').last().waitFor();
        await page.waitForTimeout(500);
      }
      await shot(page, `chat-${theme}`);
      if (theme === "light") {
        await page.locator("button.cite").last().click();
        await shot(page, "citation");
        await page.keyboard.press("Escape");
        await page.goto(`${base}/#documents`);
        await page.locator('tr[data-status="ready"]').first().waitFor();
        await page.getByTestId("upload-label").waitFor();
        await shot(page, "documents");
        await page.goto(`${base}/#admin`);
        await page.getByLabel("Models").waitFor();
        await shot(page, "admin");
        const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
        await phone.goto(`${base}/#chat`);
        await phone.locator("#question").waitFor();
        await shot(phone, "phone");
        await phone.close();
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
