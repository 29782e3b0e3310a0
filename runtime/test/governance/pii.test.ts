/**
 * PII detection at ingest (@arcjet/redact, in the parsing thread): findings per document as
 * types and counts only, optional redaction before indexing, and the label raised, in embedded
 * and server modes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../../src/config";
import { tokenize } from "../../src/search/tokenize";
import { auth, MODES, startRuntime, type Runtime } from "../support";

const WITH_PII =
  "Escalations go to Jane Quimby at jquimby@example.org or +1 (415) 555-0132.\n\nThe card 4111 1111 1111 1111 was refunded on Tuesday.";
const CLEAN = "The quarterly report covers revenue, churn and the hiring plan.";
/** The values, and the words only they hold: none may reach a chunk, a posting or a record. */
const VALUES = ["jquimby@example.org", "555-0132", "4111 1111 1111 1111"];
const valueTerms = () => tokenize("jquimby example.org 4111 0132");

async function upload(rt: Runtime, name: string, text: string, extra: object = {}) {
  const res = await rt.app.inject({
    method: "POST",
    url: "/v1/documents",
    headers: auth(),
    payload: { name, text, ...extra },
  });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json<{ id: string }>().id;
  await rt.waitReady(id);
  return id;
}

describe.each(MODES)("PII at ingest, redacted and raising the label (%s)", (mode) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(mode, { PII_REDACT: "true", PII_RAISE_TO: "confidential" });
  }, 120_000);
  afterAll(async () => rt?.close());

  it("records the types and counts found, never a value, and raises the label", async () => {
    const id = await upload(rt, "escalations.txt", WITH_PII);
    const doc = await rt.app.inject({ method: "GET", url: `/v1/documents/${id}`, headers: auth() });
    expect(doc.json()).toMatchObject({
      classification: "confidential",
      pii: { findings: { email: 1, "phone-number": 1, "credit-card-number": 1 }, redacted: true },
    });
    const [row] = await rt.services.db.query<{ row: string }>(
      "SELECT row_to_json(d)::text AS row FROM documents d WHERE id = $1",
      [id],
    );
    for (const value of VALUES) expect(row!.row).not.toContain(value);
  });

  it("indexes the redacted text: no chunk or posting holds a value", async () => {
    const id = await upload(rt, "escalations-2.txt", `${WITH_PII}\n\nSecond copy.`);
    const chunks = await rt.services.db.query<{ text: string; classification: string }>(
      "SELECT text, classification FROM chunks WHERE document_id = $1",
      [id],
    );
    const text = chunks.map((c) => c.text).join("\n");
    for (const value of VALUES) expect(text).not.toContain(value);
    expect(text).toContain("[email]");
    expect(text).toContain("Jane Quimby");
    expect(new Set(chunks.map((c) => c.classification))).toEqual(new Set(["confidential"]));
    const postings = await rt.services.db.query<{ term: string }>(
      "SELECT p.term FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = $1 AND p.term = ANY($2::text[])",
      [id, valueTerms()],
    );
    expect(valueTerms().length).toBeGreaterThan(0);
    expect(postings).toEqual([]);
    const quimby = await rt.services.db.query(
      "SELECT 1 FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = $1 AND p.term = ANY($2::text[])",
      [id, tokenize("Quimby")],
    );
    expect(quimby.length).toBeGreaterThan(0);
  });

  it("an IBAN, national identifiers and an SSN alone raise the label, and are redacted whole", async () => {
    const id = await upload(
      rt,
      "payroll.txt",
      "Salary goes to DE89 3704 0044 0532 0130 00 for the employee with AHV 756.9217.0769.85, NIR 1 84 12 76 451 089 46 and SSN 536-22-1234.\n\nA look-alike, DE89 3704 0044 0532 0130 01, is none.",
    );
    expect(await rt.services.documents.get(id)).toMatchObject({
      classification: "confidential",
      pii: { findings: { iban: 1, "national-id": 2, "us-ssn": 1 }, redacted: true },
    });
    const chunks = await rt.services.db.query<{ text: string; classification: string }>(
      "SELECT text, classification FROM chunks WHERE document_id = $1",
      [id],
    );
    const text = chunks.map((c) => c.text).join("\n");
    expect(text).toContain(
      "Salary goes to [iban] for the employee with AHV [national-id], NIR [national-id] and SSN [us-ssn].",
    );
    for (const value of ["DE89 3704 0044 0532 0130 00", "756.9217.0769.85", "451 089", "536-22"])
      expect(text).not.toContain(value);
    const postings = await rt.services.db.query(
      "SELECT p.term FROM postings p JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = $1 AND p.term = ANY($2::text[])",
      [id, tokenize("451 089 536 1234")],
    );
    expect(postings).toEqual([]);
    expect(text).toContain("DE89 3704 0044 0532 0130 01");
    expect(new Set(chunks.map((c) => c.classification))).toEqual(new Set(["confidential"]));
  });

  it("never lowers a label, and leaves a clean document's alone", async () => {
    const restricted = await upload(rt, "r.txt", `${WITH_PII} Restricted copy.`, {
      classification: "restricted",
    });
    const clean = await upload(rt, "clean.txt", CLEAN);
    const get = (id: string) => rt.services.documents.get(id);
    expect(await get(restricted)).toMatchObject({ classification: "restricted" });
    expect(await get(clean)).toMatchObject({
      classification: "internal",
      pii: { findings: {}, redacted: false },
    });
  });

  it("a reader below the raised label does not see the document", async () => {
    const id = await upload(rt, "hidden.txt", `${WITH_PII} Hidden copy.`);
    const key = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "r", role: "reader" },
      })
    ).json<{ key: string }>().key;
    const res = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${id}`,
      headers: auth(key),
    });
    expect(res.statusCode).toBe(404);
  });
});

describe("PII found but not redacted (embedded)", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded");
  }, 120_000);
  afterAll(async () => rt?.close());

  it("records findings, keeps the text and the label as they were", async () => {
    const id = await upload(rt, "kept.txt", WITH_PII);
    expect(await rt.services.documents.get(id)).toMatchObject({
      classification: "internal",
      pii: { findings: { email: 1 }, redacted: false },
    });
    const chunks = await rt.services.db.query<{ text: string }>(
      "SELECT text FROM chunks WHERE document_id = $1",
      [id],
    );
    expect(chunks.map((c) => c.text).join("\n")).toContain("jquimby@example.org");
  });
});

describe("PII settings", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadRuntimeConfig(env);
    } catch (error) {
      if (error instanceof RuntimeConfigError) return error.problems;
      throw error;
    }
    return [];
  };
  it("name a bad type, a label not configured, or redaction without detection", () => {
    expect(loadRuntimeConfig({}).PII_ENTITIES).toEqual([
      "email",
      "phone-number",
      "credit-card-number",
      "iban",
      "national-id",
      "us-ssn",
    ]);
    expect(problems({ PII_ENTITIES: "email,ssn" })).toEqual([
      'PII_ENTITIES: got "email,ssn"; not a PII type: ssn (types separated by commas, of email, phone-number, credit-card-number, ip-address, iban, national-id, us-ssn)',
    ]);
    expect(problems({ PII_RAISE_TO: "secret" })).toEqual([
      'PII_RAISE_TO: got "secret"; must be one of CLASSIFICATION_LABELS (public, internal, confidential, restricted)',
    ]);
    expect(problems({ PII_DETECT: "false", PII_REDACT: "true" })).toEqual([
      "PII_DETECT: false, but PII_REDACT needs detection; set PII_DETECT=true",
    ]);
  });
});
