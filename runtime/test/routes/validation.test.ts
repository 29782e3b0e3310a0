import { describe, expect, it } from "vitest";
import { schemaErrorFormatter } from "../../src/routes/validation";

describe("schemaErrorFormatter", () => {
  it("names the unknown property and the allowed values, and keeps every other message with its place", () => {
    const error = schemaErrorFormatter(
      [
        {
          keyword: "additionalProperties",
          instancePath: "/filters",
          schemaPath: "#/properties/filters/additionalProperties",
          params: { additionalProperty: "documentId" },
          message: "must NOT have additional properties",
        },
        {
          keyword: "enum",
          instancePath: "/role",
          schemaPath: "#/properties/role/enum",
          params: { allowedValues: ["reader", "admin"] },
          message: "must be equal to one of the allowed values",
        },
        {
          keyword: "maximum",
          instancePath: "/topK",
          schemaPath: "#/properties/topK/maximum",
          params: { comparison: "<=", limit: 50 },
          message: "must be <= 50",
        },
      ],
      "body",
    );
    expect(error.message).toBe(
      'body/filters has an unknown property "documentId"; body/role must be one of: "reader", "admin"; body/topK must be <= 50',
    );
  });

  it("says where, even when the validator gives no message", () => {
    expect(
      schemaErrorFormatter(
        [{ keyword: "custom", instancePath: "", schemaPath: "#", params: {} }],
        "querystring",
      ).message,
    ).toBe("querystring is invalid");
  });
});
