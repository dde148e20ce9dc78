/**
 * DynamoDB's typed JSON ("attribute values") for the plain shapes the bridge stores: strings, finite
 * numbers, booleans, null, lists and maps. `undefined` members are left out, as the SDK's document client
 * does with `removeUndefinedValues`. Anything else (sets, binary, NaN, bigint) is refused with the path
 * of the offending value, because silently storing it differently would corrupt the record.
 */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> }
  | { SS: string[] }
  | { NS: string[] };

export type DynamoItem = Record<string, AttributeValue>;

export function marshallValue(value: unknown, path = "value"): AttributeValue {
  switch (typeof value) {
    case "string":
      return { S: value };
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: DynamoDB cannot store ${value}`);
      return { N: String(value) };
    case "boolean":
      return { BOOL: value };
    case "object":
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) return { L: value.map((v, i) => marshallValue(v, `${path}[${i}]`)) };
      if (Object.getPrototypeOf(value) === Object.prototype) return { M: marshallItem(value, path) };
      break;
  }
  throw new TypeError(`${path}: cannot be stored as a DynamoDB attribute (${describe(value)})`);
}

/** Marshalls an object's members; `undefined` members are dropped. */
export function marshallItem(item: object, path = "item"): DynamoItem {
  const out: DynamoItem = {};
  for (const [key, value] of Object.entries(item)) {
    if (value !== undefined) out[key] = marshallValue(value, `${path}.${key}`);
  }
  return out;
}

function unmarshallValue(attribute: AttributeValue): unknown {
  if ("S" in attribute) return attribute.S;
  if ("N" in attribute) return Number(attribute.N);
  if ("BOOL" in attribute) return attribute.BOOL;
  if ("NULL" in attribute) return null;
  if ("L" in attribute) return attribute.L.map(unmarshallValue);
  if ("M" in attribute) return unmarshallItem(attribute.M);
  // Sets are never written by the bridge; read back as arrays so a hand-edited item still loads.
  if ("SS" in attribute) return [...attribute.SS];
  if ("NS" in attribute) return attribute.NS.map(Number);
  throw new TypeError(`unsupported DynamoDB attribute type ${Object.keys(attribute).join(",")}`);
}

export function unmarshallItem(item: DynamoItem): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) out[key] = unmarshallValue(value);
  return out;
}

function describe(value: unknown): string {
  if (typeof value === "object") return value?.constructor?.name ?? "object";
  return typeof value;
}
