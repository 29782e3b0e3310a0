/** A document that cannot be indexed, with a reason a client can act on (never a library's internals). */
export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}
