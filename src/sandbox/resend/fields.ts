import { invalidField, missingField, notFound, ResendHttpError } from "./errors";

type Json = Record<string, unknown>;

/** The JSON body as an object; an empty body counts as `{}` so "missing field" errors name the field. */
export function objectBody(body: unknown): Json {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body))
    throw invalidField("The request body must be a JSON object.");
  return body as Json;
}

export function requiredString(body: Json, field: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === "") throw missingField(field);
  if (typeof value !== "string") throw invalidField(`The \`${field}\` field must be a string.`);
  return value;
}

export function optionalString(body: Json, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidField(`The \`${field}\` field must be a string.`);
  return value;
}

export function optionalBoolean(body: Json, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean")
    throw invalidField(`The \`${field}\` field must be a boolean (true or false).`);
  return value;
}

export function optionalEnum<T extends string>(
  body: Json,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw invalidField(`Invalid \`${field}\` field. It must be one of: ${allowed.join(", ")}.`);
  }
  return value as T;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The object a path id names: a malformed id is 422 `invalid_parameter` naming the path parameter
 * (e.g. `webhook_id`), an unknown one 404 `not_found` naming the object.
 */
export function findByUuid<T>(
  objects: ReadonlyMap<string, T>,
  id: string | undefined,
  param: string,
  what: string,
): T {
  if (!id || !UUID.test(id))
    throw new ResendHttpError(422, "invalid_parameter", `The \`${param}\` must be a valid UUID.`);
  const found = objects.get(id);
  if (!found) throw notFound(what);
  return found;
}
