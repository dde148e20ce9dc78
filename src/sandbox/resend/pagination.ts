import type { StandInRequest } from "../core/server";
import { invalidField } from "./errors";

export interface ListPage<T> {
  object: "list";
  has_more: boolean;
  data: T[];
}

/**
 * Resend's cursor pagination (`limit` 1–100, default 20; `after` or `before` an item id, never both)
 * over items already in list order (newest first).
 */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  query: StandInRequest["query"],
): ListPage<T> {
  const after = query.get("after");
  const before = query.get("before");
  if (after && before) {
    throw invalidField("You can only use either `after` or `before` parameter, not both.");
  }
  const rawLimit = query.get("limit");
  const limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw invalidField("The `limit` parameter must be an integer between 1 and 100.");
  }
  if (after) {
    const start = indexOf(items, after, "after") + 1;
    const data = items.slice(start, start + limit);
    return { object: "list", has_more: start + limit < items.length, data };
  }
  if (before) {
    const end = indexOf(items, before, "before");
    const start = Math.max(0, end - limit);
    return { object: "list", has_more: start > 0, data: items.slice(start, end) };
  }
  return { object: "list", has_more: items.length > limit, data: items.slice(0, limit) };
}

function indexOf<T extends { id: string }>(items: readonly T[], id: string, param: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index < 0)
    throw invalidField(`The \`${param}\` cursor \`${id}\` does not match any item in this list.`);
  return index;
}
