/**
 * PII detection at ingest. It runs in the parsing thread (parse-worker.ts), over the whole text
 * before chunking, so a redacted value reaches no chunk, heading, posting or vector.
 *
 * Two kinds of detector, each a maintained library:
 * - Arcjet's redaction library (@arcjet/redact: Apache-2.0, compiled to WebAssembly, in-process and
 *   offline) finds e-mail addresses, phone numbers, card numbers and IP addresses.
 * - Identifiers with a check digit are found by their checksum, not by their shape: ibantools for
 *   IBANs (ISO 13616 mod 97, the country's length and BBAN format), stdnum for national
 *   identifiers (each country's own check). A candidate is a word (756.9217.0769.85), or a run of
 *   groups one space apart joined (an IBAN's groups of four, a NIR's 1 84 12 76 451 089 46), and
 *   the validator decides. A number that only looks like one is no finding.
 * A US SSN has no checksum: it is one only in its 3-2-4 form, passing stdnum's rules, with a word
 * such as "SSN" just before it.
 * The validated ones run first, and what they find is out of Arcjet's sight: an IBAN's digits are
 * not counted again as a phone number.
 *
 * What is kept of a finding is its type and how often it occurs, never the value.
 *
 * Chosen over the other npm options (see docs/changes/2026-12-governance-access.md): openredaction
 * flags ordinary technical text by the thousand under its default patterns; redact-pii pulls the
 * Google DLP client and has not been released in years; @redactpii/node knows only US formats;
 * Google's DLP and Microsoft Presidio are a remote service and a Python one.
 */
import { stdnum, type Validator } from "stdnum";

/** Arcjet's detectors, as the library names them. */
const ARCJET_ENTITIES = ["email", "phone-number", "credit-card-number", "ip-address"] as const;
type ArcjetEntity = (typeof ARCJET_ENTITIES)[number];
/** The types found word by word and handed to a validator. */
const VALIDATED_ENTITIES = ["iban", "national-id", "us-ssn"] as const;
type ValidatedEntity = (typeof VALIDATED_ENTITIES)[number];

export const PII_ENTITIES = [...ARCJET_ENTITIES, ...VALIDATED_ENTITIES] as const;
export type PiiEntity = (typeof PII_ENTITIES)[number];

/** stdnum's validator of a country's number (a missing one is a change of stdnum's, found at load). */
function validator(country: string, number: string): Validator {
  const found = stdnum[country]?.[number];
  if (!found) throw new Error(`stdnum has no validator ${country}.${number}`);
  return found;
}

/**
 * The national identifiers `national-id` finds: each has a check digit (or letter) its validator
 * verifies, and a form unlike an ordinary number. `lengths`, separators aside, are the ones its
 * validator takes: only a candidate of such a length is handed to it (a number-heavy text has
 * many). Left out: those without a checksum (a US SSN is `us-ssn`, found by its context) and
 * those a random number of their length passes too often (a Dutch BSN: 1 in 11).
 */
export const NATIONAL_IDS = [
  {
    country: "BE",
    name: "Rijksregisternummer / numéro national",
    validator: validator("BE", "nn"),
    lengths: [11],
  },
  { country: "CH", name: "AHV / AVS number", validator: validator("CH", "ssn"), lengths: [13] },
  {
    country: "DE",
    name: "Steuerliche Identifikationsnummer",
    validator: validator("DE", "idnr"),
    lengths: [11],
  },
  { country: "ES", name: "DNI", validator: validator("ES", "dni"), lengths: [9] },
  { country: "ES", name: "NIE", validator: validator("ES", "nie"), lengths: [9] },
  {
    country: "FR",
    name: "NIR (numéro de sécurité sociale)",
    validator: validator("FR", "nir"),
    lengths: [15],
  },
  {
    country: "GB",
    name: "National Insurance number",
    validator: validator("GB", "nino"),
    lengths: [8, 9],
  },
  {
    country: "IT",
    name: "Codice fiscale",
    validator: validator("IT", "codicefiscale"),
    lengths: [16],
  },
] as const;

/** What to look for, and whether to replace what is found before indexing. */
export interface PiiOptions {
  readonly entities: readonly PiiEntity[];
  readonly redact: boolean;
}

/** How many of each type were found (types with none are absent). */
export type PiiFindings = Partial<Record<PiiEntity, number>>;

/** What a redacted value becomes in the indexed text: its type, never a part of it. */
export const redactedAs = (entity: string): string => `[${entity}]`;

// The library is an ES module: loaded with import() from this CommonJS build.
const loadRedact = () => import("@arcjet/redact");

/**
 * Lines are scanned in blocks of about this many characters: a value never spans lines, and the
 * library copies its input into WebAssembly memory, so a block bounds what one call holds.
 */
const BLOCK_CHARS = 256 * 1024;

function blocks(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  while (from < text.length) {
    let to = Math.min(from + BLOCK_CHARS, text.length);
    if (to < text.length) {
      const newline = text.lastIndexOf("\n", to);
      if (newline > from) to = newline + 1;
    }
    out.push(text.slice(from, to));
    from = to;
  }
  return out;
}

/** Characters around a word that are not part of it (a sentence's punctuation, brackets, quotes). */
const AROUND = "([{<\"'`";
const AFTER = ")]}>\"'`.,;:!?";

interface Word {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The text's whitespace-separated words, less the punctuation around them. */
function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    let start = match.index;
    let end = start + match[0].length;
    while (start < end && AROUND.includes(text[start]!)) start++;
    while (end > start && AFTER.includes(text[end - 1]!)) end--;
    if (end > start) words.push({ start, end, text: text.slice(start, end) });
  }
  return words;
}

const hasDigit = (word: string) => /\d/.test(word);
/** A word less the separators an identifier may be written with (756.9217.0769.85, 12345678-Z). */
const compactOf = (word: string) => word.replace(/[\s./-]/g, "");
/**
 * A group of an identifier written in groups one space apart: capitals and digits only. A word
 * with dots or dashes (85.07.30-033.28) is checked whole; joining such words would join decimals
 * (133.768 705.06), a PDF's coordinates or a table's figures.
 */
const isGroup = (word: string) => /^[A-Z0-9]+$/.test(word);

/** Whether word `j` continues a run of groups: it and the word before are groups, one space apart. */
function continuesRun(text: string, words: readonly Word[], j: number): boolean {
  const word = words[j];
  const before = words[j - 1];
  return (
    word !== undefined &&
    before !== undefined &&
    word.start === before.end + 1 &&
    text[before.end] === " " &&
    isGroup(word.text) &&
    isGroup(before.text)
  );
}

/**
 * Whether words `i` to `last`, joined, stand alone in their run: no group with a digit touches
 * either end. In a table of numbers one space apart, a few of them joined pass a check about 1
 * time in 100, but they are no identifier: a join is one only at the run's edges, or between
 * words without digits (AB 12 34 56 C, IdNr 36 574 261 809).
 */
const standsAlone = (text: string, words: readonly Word[], i: number, last: number) =>
  !(continuesRun(text, words, i) && hasDigit(words[i - 1]!.text)) &&
  !(continuesRun(text, words, last + 1) && hasDigit(words[last + 1]!.text));

// An ES module, as @arcjet/redact: loaded with import() from this CommonJS build.
const loadIbantools = () => import("ibantools");
type Ibantools = Awaited<ReturnType<typeof loadIbantools>>;
/** What the IBAN check takes from ibantools, its registry read once (each call builds it anew). */
interface IbanCheck {
  readonly lib: Ibantools;
  readonly countries: ReturnType<Ibantools["getCountrySpecifications"]>;
}
let ibanCheck: Promise<IbanCheck> | undefined;
const loadIbanCheck = () =>
  (ibanCheck ??= loadIbantools().then((lib) => ({
    lib,
    countries: lib.getCountrySpecifications(),
  })));

/**
 * The IBAN starting at word `i`, written whole or in groups of four: its last word's index, or
 * undefined. The country's IBAN length (ibantools' registry) says how many groups to join.
 */
function ibanAt(iban: IbanCheck, words: readonly Word[], i: number): number | undefined {
  const { isValidIBAN, electronicFormatIBAN } = iban.lib;
  const first = words[i]!.text;
  if (first.length > 4 && isValidIBAN(electronicFormatIBAN(first) ?? "")) return i;
  const spec = iban.countries[first.slice(0, 2).toUpperCase()];
  if (first.length !== 4 || !spec?.chars) return undefined;
  let joined = first;
  for (let j = i + 1; j < words.length && joined.length < spec.chars; j++) {
    // Groups are adjacent words of at most four characters, separated by one space.
    if (words[j]!.text.length > 4 || words[j]!.start !== words[j - 1]!.end + 1) return undefined;
    joined += words[j]!.text;
    if (joined.length === spec.chars) return isValidIBAN(joined.toUpperCase()) ? j : undefined;
  }
  return undefined;
}

function isNationalId(candidate: string): boolean {
  const length = compactOf(candidate).length;
  return NATIONAL_IDS.some(
    (id) =>
      (id.lengths as readonly number[]).includes(length) &&
      id.validator.validate(candidate).isValid,
  );
}

const LONGEST_ID = Math.max(...NATIONAL_IDS.flatMap((id) => id.lengths));

/**
 * The national identifier starting at word `i`, written whole or in groups: its last word's index,
 * or undefined. Groups are joined, separators kept for the validator to judge, up to the longest
 * identifier's length (so a word starts at most that many joins), and the longest join that stands
 * alone and passes wins: AB 12 34 56 C, not AB 12 34 56.
 */
function nationalIdAt(text: string, words: readonly Word[], i: number): number | undefined {
  let last = isNationalId(words[i]!.text) ? i : undefined;
  let length = compactOf(words[i]!.text).length;
  for (let j = i + 1; continuesRun(text, words, j); j++) {
    length += compactOf(words[j]!.text).length;
    if (length > LONGEST_ID) break;
    if (standsAlone(text, words, i, j) && isNationalId(text.slice(words[i]!.start, words[j]!.end)))
      last = j;
  }
  return last;
}

/** A US SSN as written: 3-2-4 digits, with dashes or spaces. */
const SSN_FORM = /^\d{3}([- ])\d{2}\1\d{4}$/;
/** A word that says an SSN follows (SSN, SS#, Social Security), within this many characters. */
const SSN_CONTEXT = /\b(?:ssn|ss#|social[\s-]+security)/i;
const SSN_CONTEXT_CHARS = 48;
const ssnValidator = validator("US", "ssn");

/**
 * The US SSN starting at word `i` (123-45-6789, or 123 45 6789 as three words): its last word's
 * index, or undefined. An SSN has no checksum, so its form and stdnum's rules (no area 000, 666 or
 * 9xx, no group 00, none of the numbers known to be void) are not enough: a word naming it must
 * come shortly before. stdnum lets serial 0000 pass, which the SSA never issues: it is no SSN here.
 */
function ssnAt(text: string, words: readonly Word[], i: number): number | undefined {
  let last: number;
  if (SSN_FORM.test(words[i]!.text)) last = i;
  else if (
    continuesRun(text, words, i + 1) &&
    continuesRun(text, words, i + 2) &&
    standsAlone(text, words, i, i + 2)
  )
    last = i + 2;
  else return undefined;
  const start = words[i]!.start;
  const candidate = text.slice(start, words[last]!.end);
  const isSsn =
    SSN_FORM.test(candidate) &&
    !candidate.endsWith("0000") &&
    ssnValidator.validate(candidate).isValid &&
    SSN_CONTEXT.test(text.slice(Math.max(0, start - SSN_CONTEXT_CHARS), start));
  return isSsn ? last : undefined;
}

/** The spans of the validated types in `text`, in order, none overlapping. */
function validatedSpans(
  text: string,
  entities: readonly ValidatedEntity[],
  iban: IbanCheck,
): { start: number; end: number; entity: ValidatedEntity }[] {
  const spans: { start: number; end: number; entity: ValidatedEntity }[] = [];
  const words = wordsOf(text);
  const detectors = (
    [
      { entity: "iban", lastAt: (i: number) => ibanAt(iban, words, i) },
      { entity: "us-ssn", lastAt: (i: number) => ssnAt(text, words, i) },
      { entity: "national-id", lastAt: (i: number) => nationalIdAt(text, words, i) },
    ] as const
  ).filter((detector) => entities.includes(detector.entity));
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!.text;
    // A value holds a digit; a word without one may start its groups (AB 12 34 56 C).
    if (!hasDigit(word) && !isGroup(word)) continue;
    for (const { entity, lastAt } of detectors) {
      const last = lastAt(i);
      if (last === undefined) continue;
      spans.push({ start: words[i]!.start, end: words[last]!.end, entity });
      i = last;
      break;
    }
  }
  return spans;
}

const isArcjet = (entity: PiiEntity): entity is ArcjetEntity =>
  (ARCJET_ENTITIES as readonly string[]).includes(entity);
const isValidated = (entity: PiiEntity): entity is ValidatedEntity =>
  (VALIDATED_ENTITIES as readonly string[]).includes(entity);

/** Finds the configured types of PII in `text`; with `redact`, returns the text with each replaced. */
export async function scanPii(
  text: string,
  options: PiiOptions,
): Promise<{ text: string; findings: PiiFindings }> {
  const findings: PiiFindings = {};
  const found = (entity: PiiEntity) => {
    findings[entity] = (findings[entity] ?? 0) + 1;
    return redactedAs(entity);
  };
  const arcjet = options.entities.filter(isArcjet);
  const validated = options.entities.filter(isValidated);
  if (arcjet.length === 0 && validated.length === 0) return { text, findings };
  const { redact } = await loadRedact();
  const iban = await loadIbanCheck();
  const parts: string[] = [];
  for (const block of blocks(text)) {
    // Right to left, so the earlier spans' offsets hold.
    let masked = block;
    for (const span of validatedSpans(block, validated, iban).reverse())
      masked = masked.slice(0, span.start) + found(span.entity) + masked.slice(span.end);
    if (arcjet.length > 0)
      [masked] = await redact(masked, { entities: arcjet, replace: (entity) => found(entity) });
    parts.push(options.redact ? masked : block);
  }
  return { text: parts.join(""), findings };
}

/** The number of values found, of every type. */
export const piiCount = (findings: PiiFindings | undefined): number =>
  Object.values(findings ?? {}).reduce((a, b) => a + (b ?? 0), 0);
