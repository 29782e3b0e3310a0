/**
 * E-mail (EML, RFC 822) through mailparser: the subject as a heading, the sender, recipients and
 * date, the body (its text part, or its HTML part as text), then each attachment: parsed when its
 * type is one the service indexes, else named in a list of what was not indexed.
 */
import { ParseError } from "./parse-error";

/** An attachment's text, or undefined when its type is not one the service parses. */
export type AttachmentParser = (
  fileName: string | undefined,
  contentType: string,
  bytes: Uint8Array,
) => Promise<string | undefined>;

export async function parseEmail(bytes: Uint8Array, attachment: AttachmentParser): Promise<string> {
  const { simpleParser } = await import("mailparser");
  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(Buffer.from(bytes), { skipImageLinks: true });
  } catch (error) {
    throw new ParseError(`not a readable e-mail (${(error as Error).message})`);
  }
  // mailparser reads anything as a message; one without a single header is not an e-mail.
  if (mail.headers.size === 0)
    throw new ParseError("not an e-mail (RFC 822): the file has no header lines");
  const addresses = (field: typeof mail.to) =>
    (Array.isArray(field) ? field : field ? [field] : []).map((a) => a.text).join(", ");
  const lines = [`# ${mail.subject?.trim() || "(no subject)"}`, ""];
  for (const [label, value] of [
    ["From", addresses(mail.from)],
    ["To", addresses(mail.to)],
    ["Cc", addresses(mail.cc)],
    ["Date", mail.date?.toISOString() ?? ""],
  ] as const)
    if (value) lines.push(`${label}: ${value}`);
  lines.push("", (mail.text ?? "").trim());
  const notIndexed: string[] = [];
  for (const part of mail.attachments) {
    const name = part.filename ?? "(unnamed)";
    let text: string | undefined;
    try {
      text = await attachment(part.filename, part.contentType, new Uint8Array(part.content));
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      notIndexed.push(`${name} (${part.contentType}): ${error.message}`);
      continue;
    }
    if (text === undefined) notIndexed.push(`${name} (${part.contentType})`);
    else lines.push("", `## Attachment: ${name}`, "", text.trim());
  }
  if (notIndexed.length > 0)
    lines.push("", "## Attachments not indexed", "", ...notIndexed.map((n) => `- ${n}`));
  return lines.join("\n");
}
