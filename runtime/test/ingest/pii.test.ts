/**
 * The PII scan's own detectors, with no server: IBANs and national identifiers are findings only
 * when their checksum holds (a look-alike with one character changed is none), in every written
 * form they take; findings are types and counts, redaction replaces the whole value, and what the
 * validators found is not counted again by Arcjet's detectors.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NATIONAL_IDS, PII_ENTITIES, scanPii } from "../../src/ingest/pii";

const ALL = { entities: PII_ENTITIES, redact: true };

/** One true value per identifier (each validator's own test vectors), and a look-alike of it. */
const NATIONAL = [
  { country: "BE", value: "85.07.30-033.28", lookalike: "85.07.30-033.29" },
  { country: "CH", value: "756.9217.0769.85", lookalike: "756.9217.0769.86" },
  { country: "DE", value: "36574261809", lookalike: "36574261808" },
  { country: "ES", value: "12345678Z", lookalike: "12345678A" },
  { country: "ES", value: "X1234567L", lookalike: "X1234567M" },
  { country: "FR", value: "295109912611193", lookalike: "295109912611194" },
  { country: "GB", value: "AB123456C", lookalike: "QQ123456C" },
  { country: "IT", value: "RCCMNL83S18D969H", lookalike: "RCCMNL83S18D969A" },
] as const;

const IBANS = [
  "DE89370400440532013000",
  "GB82 WEST 1234 5698 7654 32",
  "FR14 2004 1010 0505 0001 3M02 606",
];
const WRONG_IBANS = [
  "DE89370400440532013001",
  "GB82 WEST 1234 5698 7654 33",
  "DE89 3704 0044 0532 0130",
];

describe("checksummed PII: IBANs and national identifiers", () => {
  it.each(NATIONAL)("finds a $country identifier ($value), and not its look-alike", async (id) => {
    const found = await scanPii(`Holder: ${id.value}, as on file.`, ALL);
    expect(found).toEqual({
      text: "Holder: [national-id], as on file.",
      findings: { "national-id": 1 },
    });
    expect(await scanPii(`Holder: ${id.lookalike}, as on file.`, ALL)).toEqual({
      text: `Holder: ${id.lookalike}, as on file.`,
      findings: {},
    });
  });

  it("finds an IBAN whole or in groups of four, replacing all of it", async () => {
    const text = IBANS.map((iban, i) => `Account ${i}: ${iban}.`).join("\n");
    const { text: redacted, findings } = await scanPii(text, ALL);
    expect(findings).toEqual({ iban: 3 });
    expect(redacted).toBe("Account 0: [iban].\nAccount 1: [iban].\nAccount 2: [iban].");
  });

  it("an IBAN with a wrong check, or cut short, is no finding (nor a phone number)", async () => {
    for (const iban of WRONG_IBANS) {
      const { findings } = await scanPii(`Account: ${iban}.`, {
        entities: ["iban", "national-id"],
        redact: false,
      });
      expect(findings, iban).toEqual({});
    }
  });

  it("numbers that merely look like identifiers are none", async () => {
    const text =
      "Run 2024-01-15, doi 10.1145/3292500.3330701, v1.2.3-beta4, ISBN 978-3-16-148410-0, 192.168.1.100, table 123456789012, p = 0.00012345.";
    expect(
      (await scanPii(text, { entities: ["iban", "national-id"], redact: true })).findings,
    ).toEqual({});
  });

  it("what a validator found is not counted again as a phone or card number", async () => {
    const { findings } = await scanPii(
      "Pay DE89 3704 0044 0532 0130 00 from 756.9217.0769.85; call +1 (415) 555-0132.",
      ALL,
    );
    expect(findings).toEqual({ iban: 1, "national-id": 1, "phone-number": 1 });
  });

  it("without redaction the text is kept; a type not asked for is not looked for", async () => {
    const text = "IBAN DE89370400440532013000, AHV 756.9217.0769.85, mail a.b@example.org";
    expect(await scanPii(text, { entities: PII_ENTITIES, redact: false })).toEqual({
      text,
      findings: { iban: 1, "national-id": 1, email: 1 },
    });
    expect((await scanPii(text, { entities: ["email"], redact: true })).findings).toEqual({
      email: 1,
    });
  });

  it("every identifier is tested here and listed in the README's table", () => {
    expect(new Set(NATIONAL_IDS.map((id) => id.country))).toEqual(
      new Set(NATIONAL.map((id) => id.country)),
    );
    expect(NATIONAL.length).toBe(NATIONAL_IDS.length);
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    for (const id of NATIONAL_IDS)
      expect(readme).toMatch(new RegExp(`\\| ${id.country} +\\| ${escape(id.name)} +\\|`));
  });
});
