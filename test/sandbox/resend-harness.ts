import { Resend } from "resend";
import { expect } from "vitest";
import { type ResendStandIn, type ResendStandInOptions, startResendStandIn } from "../../src/sandbox/resend";
import { contract, SPECS } from "../support/openapi";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

type Json = Record<string, unknown>;

export const resendSpec = contract(SPECS.resend);

export interface ResendHarness {
  standIn: ResendStandIn;
  resend: Resend;
  receiver: WebhookReceiver;
  close(): Promise<void>;
}

/**
 * A Resend stand-in, an SDK client pointed at it and a webhook receiver. Time runs 100 000× faster
 * (a 5 s webhook retry takes 0.05 ms) and the rate limit is lifted unless a test sets one.
 * `dnsServer` defaults to a closed port: verification then sees every record missing.
 */
export async function startResendHarness(opts: Partial<ResendStandInOptions> = {}): Promise<ResendHarness> {
  const standIn = await startResendStandIn({
    dnsServer: "127.0.0.1:9",
    rateLimitPerSecond: 10_000,
    timeScale: 0.00001,
    ...opts,
  });
  const receiver = await startWebhookReceiver();
  return {
    standIn,
    resend: new Resend(standIn.apiKey, { baseUrl: standIn.url }),
    receiver,
    async close() {
      await standIn.close();
      await receiver.close();
    },
  };
}

/** An SDK result that must be a success matching the OAS response for `method path` → `status`. */
export function expectSpecSuccess<T>(
  result: { data: T | null; error: unknown },
  method: string,
  path: string,
  status = 200,
): T {
  expect(result.error).toBeNull();
  resendSpec.assertResponse(method, path, status, result.data);
  assertDeclaredProperties(resendSpec.responseSchema(method, path, status), result.data, `${method} ${path}`);
  return result.data as T;
}

/** An SDK error result with Resend's `{statusCode, name, message}` body. */
export function expectResendError(
  result: { data: unknown; error: unknown },
  statusCode: number,
  name: string,
  message?: RegExp,
): void {
  expect(result.data).toBeNull();
  expect(result.error).toMatchObject({ statusCode, name });
  expect(Object.keys(result.error as Json).sort()).toEqual(["message", "name", "statusCode"]);
  if (message) expect((result.error as { message: string }).message).toMatch(message);
}

/** Parses a delivered webhook body and validates it against the OAS webhook schema of its type. */
export function expectSpecWebhook(body: string): { type: string; created_at: string; data: Json } {
  const event = JSON.parse(body) as { type: string; created_at: string; data: Json };
  const schema = resendSpec.webhookSchema(event.type);
  resendSpec.assertSchema(schema, event, `webhook ${event.type}`);
  assertDeclaredProperties(schema, event, `webhook ${event.type}`, ["message_id"]);
  return event;
}

/**
 * The OAS schemas allow extra properties, so a misspelt field (`createdAt`) would pass validation.
 * This walks the body and fails on any property the schema does not declare; `allowed` lists the
 * few the vendor sends beyond its own spec (e.g. `message_id`, required by the SDK types).
 */
export function assertDeclaredProperties(
  schema: Json,
  value: unknown,
  label: string,
  allowed: string[] = [],
): void {
  const resolved = resolve(schema);
  if (Array.isArray(value)) {
    const items = resolved.items as Json | undefined;
    if (items) for (const item of value) assertDeclaredProperties(items, item, label, allowed);
    return;
  }
  if (!value || typeof value !== "object") return;
  const properties = collectProperties(resolved);
  if (!properties) return;
  for (const [key, child] of Object.entries(value as Json)) {
    if (!(key in properties)) {
      if (allowed.includes(key)) continue;
      throw new Error(`${label}: property \`${key}\` is not declared by the vendor spec`);
    }
    assertDeclaredProperties(properties[key] as Json, child, `${label}.${key}`, allowed);
  }
}

function resolve(schema: Json): Json {
  return resendSpec.deref(schema);
}

function collectProperties(schema: Json): Json | undefined {
  const parts = [schema, ...((schema.allOf as Json[] | undefined) ?? []).map(resolve)];
  const merged: Json = {};
  let found = false;
  for (const part of parts) {
    if (part.properties) {
      Object.assign(merged, part.properties);
      found = true;
    }
    if (part.additionalProperties && typeof part.additionalProperties === "object") return undefined;
  }
  return found ? merged : undefined;
}

/**
 * A request the SDK cannot make (a body it would never send, a header it would never set), with the
 * API key and a User-Agent; `body` is sent as is when it is a string, else as JSON.
 */
export function rawApi(
  h: ResendHarness,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.standIn.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${h.standIn.apiKey}`,
      "user-agent": "resend-stand-in-test",
      "content-type": "application/json",
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}
