/**
 * The PII scan's own detectors, with no server: IBANs and national identifiers are findings only
 * when their checksum holds (a look-alike with one character changed is none), in every written
 * form they take, whole or in groups; a US SSN only with a word for it just before; findings are
 * types and counts, redaction replaces the whole value, and what the validators found is not
 * counted again by Arcjet's detectors.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NATIONAL_IDS, PII_ENTITIES, scanPii } from "../../src/ingest/pii";

const ALL = { entities: PII_ENTITIES, redact: true };

/**
 * One true value per identifier (each validator's own test vectors), and a look-alike of it (the
 * check digit or letter changed), written whole and in groups.
 */
const NATIONAL = [
  {
    country: "BE",
    value: "85.07.30-033.28",
    lookalike: "85.07.30-033.29",
    grouped: "85 07 30 033 28",
    groupedLookalike: "85 07 30 033 29",
  },
  {
    country: "CH",
    value: "756.9217.0769.85",
    lookalike: "756.9217.0769.86",
    grouped: "756 9217 0769 85",
    groupedLookalike: "756 9217 0769 86",
  },
  {
    country: "DE",
    value: "36574261809",
    lookalike: "36574261808",
    grouped: "36 574 261 809",
    groupedLookalike: "36 574 261 808",
  },
  {
    country: "ES",
    value: "12345678Z",
    lookalike: "12345678A",
    grouped: "12345678 Z",
    groupedLookalike: "12345678 A",
  },
  {
    country: "ES",
    value: "X1234567L",
    lookalike: "X1234567M",
    grouped: "X 1234567 L",
    groupedLookalike: "X 1234567 M",
  },
  {
    country: "FR",
    value: "295109912611193",
    lookalike: "295109912611194",
    grouped: "2 95 10 99 126 111 93",
    groupedLookalike: "2 95 10 99 126 111 94",
  },
  {
    country: "GB",
    value: "AB123456C",
    lookalike: "QQ123456C",
    grouped: "AB 12 34 56 C",
    groupedLookalike: "QQ 12 34 56 C",
  },
  {
    country: "IT",
    value: "RCCMNL83S18D969H",
    lookalike: "RCCMNL83S18D969A",
    grouped: "RCC MNL 83S18 D969H",
    groupedLookalike: "RCC MNL 83S18 D969A",
  },
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

  it.each(NATIONAL)(
    "finds a $country identifier in groups ($grouped), and not its look-alike",
    async (id) => {
      expect(await scanPii(`Holder: ${id.grouped}, as on file.`, ALL)).toEqual({
        text: "Holder: [national-id], as on file.",
        findings: { "national-id": 1 },
      });
      expect(await scanPii(`Holder: ${id.groupedLookalike}, as on file.`, ALL)).toEqual({
        text: `Holder: ${id.groupedLookalike}, as on file.`,
        findings: {},
      });
    },
  );

  it("redacts grouped identifiers whole: no digit of them is left, and the counts hold none", async () => {
    const values = [...NATIONAL.map((id) => id.grouped), "1 84 12 76 451 089 46"];
    const text = values.map((value, i) => `Person ${"ABCDEFGHI"[i]} has ${value}.`).join("\n");
    const { text: redacted, findings } = await scanPii(text, ALL);
    expect(findings).toEqual({ "national-id": values.length });
    expect(redacted).toBe(
      values.map((_, i) => `Person ${"ABCDEFGHI"[i]} has [national-id].`).join("\n"),
    );
    expect(redacted).not.toMatch(/\d/);
  });

  it("a join inside a run of numbers is none: the groups must stand alone", async () => {
    const options = { entities: ["national-id"], redact: true } as const;
    // 36 574 261 809 alone is a DE IdNr; here it is four of six figures of a table row.
    expect((await scanPii("Row 7: 12 36 574 261 809 45", options)).findings).toEqual({});
    expect((await scanPii("Row 7: 36 574 261 809 45", options)).findings).toEqual({});
    expect((await scanPii("Row 7: 12 36 574 261 809", options)).findings).toEqual({});
    // Words without digits, or other punctuation, end the run.
    expect(await scanPii("Row 7: 12, IdNr 36 574 261 809 (DE), 45", options)).toEqual({
      text: "Row 7: 12, IdNr [national-id] (DE), 45",
      findings: { "national-id": 1 },
    });
    // Lower-case words are no groups: "at 123 456" is no NINO AT123456.
    expect((await scanPii("costs at 123 456 per unit", options)).findings).toEqual({});
    // Decimals one space apart are no groups (133.768 705.06 would join to 11 digits).
    expect((await scanPii("/XYZ 133.768 705.06 null", options)).findings).toEqual({});
  });

  it("a number-heavy text: only the identifiers in it are found, and the scan stays linear", async () => {
    // A fixed pseudo-random sequence: tables of figures one space apart, an identifier in each row.
    let seed = 7;
    const figure = () => {
      seed = (seed * 48271) % 2147483647;
      return String(seed % 10 ** (1 + (seed % 4)));
    };
    const row = () => Array.from({ length: 30 }, figure).join(" ");
    const rows = Array.from(
      { length: 3000 },
      (_, i) => `${i}: ${row()} | NIR 1 84 12 76 451 089 46 | ${row()}`,
    );
    // One run of 50 000 figures with no break: joined from every word, it would take minutes.
    const text = [...rows, Array.from({ length: 50_000 }, figure).join(" ")].join("\n");
    const { text: redacted, findings } = await scanPii(text, {
      entities: ["iban", "national-id", "us-ssn"],
      redact: true,
    });
    expect(findings).toEqual({ "national-id": rows.length });
    expect(redacted.split("[national-id]").length - 1).toBe(rows.length);
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

describe("US Social Security numbers: stdnum's rules and a word for them", () => {
  const SSN_ONLY = { entities: ["us-ssn"], redact: true } as const;

  it("finds an SSN written with dashes or spaces after SSN, SS# or social security", async () => {
    for (const text of [
      "SSN: 536-22-1234.",
      "Employee ss# 536-22-1234.",
      "Her Social Security number is 536 22 1234.",
      "social-security no. (536-22-1234)",
    ]) {
      const { text: redacted, findings } = await scanPii(text, SSN_ONLY);
      expect(findings, text).toEqual({ "us-ssn": 1 });
      expect(redacted, text).toContain("[us-ssn]");
      expect(redacted, text).not.toMatch(/\d/);
    }
  });

  it("an SSN-shaped number with no word for it, or too far from one, is none", async () => {
    for (const text of [
      "Order 536-22-1234 shipped.",
      "Ticket 536 22 1234.",
      `SSN policy: see the handbook, section four, for details. Ref 536-22-1234.`,
    ])
      expect((await scanPii(text, SSN_ONLY)).findings, text).toEqual({});
  });

  it("a number stdnum rejects, or with serial 0000, or not in the 3-2-4 form, is none", async () => {
    for (const value of [
      "000-22-1234", // area 000
      "666-22-1234", // area 666
      "936-22-1234", // area 9xx
      "536-00-1234", // group 00
      "078-05-1120", // void: printed on a wallet insert
      "536-22-0000", // serial 0000: stdnum lets it pass
      "536-22 1234", // separators mixed
      "53-622-1234",
      "536221234",
    ])
      expect((await scanPii(`SSN ${value}.`, SSN_ONLY)).findings, value).toEqual({});
    // Spaced, its groups must stand alone as an identifier's do.
    expect((await scanPii("SSN 536 22 1234 77", SSN_ONLY)).findings).toEqual({});
  });

  it("an SSN is counted once, not again as a phone number", async () => {
    const text = "SSN 536-22-1234, call +1 (415) 555-0132.";
    expect(
      (await scanPii("SSN 536-22-1234.", { entities: ["phone-number"], redact: false })).findings,
    ).toEqual({ "phone-number": 1 });
    expect(await scanPii(text, ALL)).toEqual({
      text: "SSN [us-ssn], call [phone-number].",
      findings: { "us-ssn": 1, "phone-number": 1 },
    });
    expect((await scanPii(text, { entities: ALL.entities, redact: false })).text).toBe(text);
  });
});
