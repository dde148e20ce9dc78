import { describe, expect, it } from "vitest";
import { parseStackName, stackTagValue } from "../../src/settings/fields";

/** Resend's tag alphabet (OAS `Tag`): ASCII letters, digits, `_` and `-`, at most 256 characters. */
const TAG_VALUE = /^[A-Za-z0-9_-]{1,256}$/;

describe("stackTagValue", () => {
  it("leaves names of letters, digits and '-' as they are", () => {
    for (const stack of ["dev", "prod", "team-a-staging", "Prod2"]) expect(stackTagValue(stack)).toBe(stack);
  });

  it("escapes '_' and '.' so names that differ only there keep distinct tags", () => {
    const stacks = [
      "prod.eu",
      "prod_eu",
      "prod__eu",
      "prod_deu",
      "prod-eu",
      "prod._eu",
      "prod_.eu",
      "._",
      "_d",
    ];
    const tags = stacks.map(stackTagValue);
    expect(tags.slice(0, 4)).toEqual(["prod_deu", "prod__eu", "prod____eu", "prod__deu"]);
    expect(new Set(tags).size).toBe(stacks.length);
    for (const tag of tags) expect(tag).toMatch(TAG_VALUE);
  });

  it("fits the longest stack names Pulumi accepts, even all dots", () => {
    for (const stack of [".".repeat(100), "_".repeat(100), "a.".repeat(50)]) {
      expect(parseStackName(stack).ok).toBe(true);
      expect(stackTagValue(stack)).toMatch(TAG_VALUE);
    }
  });
});
