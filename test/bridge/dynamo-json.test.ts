import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import {
  type AttributeValue,
  marshallItem,
  marshallValue,
  unmarshallItem,
} from "../../src/bridge/aws/dynamo-json";

/** The shapes the store writes: keys, counters, ISO times, optional members, a timeline list of maps. */
const record = {
  pk: "email#ema_1",
  sk: "send",
  status: "sent",
  hits: 3,
  ratio: 0.25,
  negative: -7,
  expiresAt: 1_795_000_000,
  ok: true,
  nothing: null,
  skipped: undefined,
  empty: "",
  timeline: [
    { type: "email.sent", at: "2026-11-25T10:00:00.000Z" },
    { type: "email.bounced", at: "2026-11-25T10:00:01.000Z", detail: "Permanent", extra: undefined },
  ],
  nested: { list: [], map: {}, deep: { n: 1, s: "x", b: false } },
};

describe("DynamoDB attribute values", () => {
  it("marshalls the store's shapes exactly as the AWS SDK does (undefined members removed)", () => {
    expect(marshallItem(record)).toEqual(marshall(record, { removeUndefinedValues: true }));
  });

  it("unmarshalls what the SDK marshalls back to the same plain object", () => {
    const wire = marshall(record, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
    expect(unmarshallItem(wire)).toEqual(unmarshall(wire as Parameters<typeof unmarshall>[0]));
    expect(unmarshallItem(marshallItem(record))).toEqual(JSON.parse(JSON.stringify(record)));
  });

  it("reads string and number sets back as arrays", () => {
    expect(unmarshallItem({ tags: { SS: ["a", "b"] }, ns: { NS: ["1", "2.5"] } })).toEqual({
      tags: ["a", "b"],
      ns: [1, 2.5],
    });
  });

  it("refuses values DynamoDB cannot hold as the store means them, naming where they are", () => {
    expect(() => marshallItem({ timeline: [{ at: Number.NaN }] })).toThrow("item.timeline[0].at");
    expect(() => marshallValue(new Date(0), "values.:t")).toThrow("values.:t: cannot be stored");
    expect(() => marshallValue(10n)).toThrow("bigint");
    expect(() => marshallValue(new Set(["a"]))).toThrow("Set");
  });
});
