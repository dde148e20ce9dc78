export type Metadata = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Metadata {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Drops `null`-valued keys at every depth: in a merge patch `null` means "absent". */
function withoutNulls(value: Metadata): Metadata {
  const out: Metadata = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    out[key] = isPlainObject(v) ? withoutNulls(v) : v;
  }
  return out;
}

/**
 * Clerk's `PATCH /v1/users/{id}/metadata` semantics: objects merge recursively, any other value
 * (arrays included) replaces, and `null` deletes the key at whatever depth it appears.
 */
export function mergeMetadata(current: Metadata, patch: Metadata): Metadata {
  const out: Metadata = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key]))
      out[key] = mergeMetadata(out[key] as Metadata, value);
    else out[key] = isPlainObject(value) ? withoutNulls(value) : value;
  }
  return out;
}

/** Clerk caps each metadata object at 8 KB of JSON. */
export const METADATA_LIMIT_BYTES = 8 * 1024;

export function metadataBytes(value: Metadata): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}
