import { createHmac, randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, SQSRecord } from "aws-lambda";
import { prefixedId } from "../../src/sandbox/core/ids";
import { svixHeaders } from "../../src/sandbox/core/svix-dispatcher";
import { contract, SPECS } from "../support/openapi";

type Json = Record<string, unknown>;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Clerk's own `email.created` example, switched to self-delivery and pointed at `to`. */
export function clerkEmailCreated(
  to: string,
  overrides: { id?: string; userId?: string | null; timestampMs?: number; deliveredByClerk?: boolean } = {},
): Json {
  const event = clone(contract(SPECS.clerkWebhooks).webhookExample("email.created")) as Json;
  const data = event.data as Json;
  data.id = overrides.id ?? prefixedId("ema");
  data.to_email_address = to;
  data.user_id = overrides.userId === undefined ? null : overrides.userId;
  data.delivered_by_clerk = overrides.deliveredByClerk ?? false;
  event.timestamp = overrides.timestampMs ?? Date.now();
  return event;
}

/** Clerk's own `user.created`/`user.updated` example with the given addresses (the first is primary). */
export function clerkUserEvent(
  type: "user.created" | "user.updated",
  user: { id: string; addresses: string[]; primary?: string; publicMetadata?: Json },
): Json {
  const event = clone(
    contract(SPECS.clerkWebhooks).webhookExample(type === "user.created" ? "user.created" : "user.updated"),
  ) as Json;
  const data = event.data as Json;
  const template = (data.email_addresses as Json[])[0] ?? {};
  const entries = user.addresses.map((address, i) => ({
    ...template,
    id: `idn_${i}_${user.id}`,
    object: "email_address",
    email_address: address,
  }));
  const primaryIndex = Math.max(0, user.addresses.indexOf(user.primary ?? user.addresses[0] ?? ""));
  data.id = user.id;
  data.email_addresses = entries;
  data.primary_email_address_id = entries[primaryIndex]?.id ?? null;
  data.public_metadata = user.publicMetadata ?? {};
  event.type = type;
  event.timestamp = Date.now();
  return event;
}

export function clerkUserDeleted(userId: string): Json {
  const event = clone(contract(SPECS.clerkWebhooks).webhookExample("user.deleted")) as Json;
  (event.data as Json).id = userId;
  return event;
}

/** A Resend email event shaped by the OpenAPI schema (and checked against it, so fixtures cannot drift). */
export function resendEmailEvent(
  type: string,
  to: string | string[],
  extra: { emailId?: string; tags?: Record<string, string>; bounceType?: string; at?: Date } = {},
): Json {
  const data: Json = {
    email_id: extra.emailId ?? randomUUID(),
    created_at: new Date().toISOString(),
    from: "Acme <auth@mail.example.com>",
    to: Array.isArray(to) ? to : [to],
    subject: "Your code",
    message_id: `<${randomUUID()}@resend.test>`,
    ...(extra.tags ? { tags: extra.tags } : {}),
  };
  if (type === "email.bounced") {
    data.bounce = {
      type: extra.bounceType ?? "Permanent",
      subType: "General",
      message: "The recipient's email provider sent a hard bounce.",
      diagnosticCode: ["smtp; 550 5.1.1 user unknown"],
    };
  }
  if (type === "email.suppressed") {
    data.suppressed = {
      type: "OnAccountSuppressionList",
      reason: "previous_bounce",
      message: "The address is on the account suppression list.",
      diagnosticCode: [],
    };
  }
  const event = { type, created_at: (extra.at ?? new Date()).toISOString(), data };
  const resend = contract(SPECS.resend);
  const schemaFor = type.replace(/^email\./, "").replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  const name = `Email${schemaFor.charAt(0).toUpperCase()}${schemaFor.slice(1)}Event`;
  if ((resend.spec.components as Json & { schemas: Json }).schemas[name]) resend.assertComponent(name, event);
  return event;
}

/**
 * `suppression.added` / `suppression.removed`: not in the OpenAPI document, shaped as the SDK's
 * `SuppressionAddedEvent` / `SuppressionRemovedEvent` (`data` is the suppression list entry).
 */
export function resendSuppressionEvent(
  type: "suppression.added" | "suppression.removed",
  email: string,
  origin: "bounce" | "complaint" | "manual",
  at: Date = new Date(),
): Json {
  return {
    type,
    created_at: at.toISOString(),
    data: { id: randomUUID(), email, origin, source_id: null, created_at: at.toISOString() },
  };
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export function signed(
  payload: unknown,
  secrets: string[],
  options: { msgId?: string; at?: Date } = {},
): SignedRequest {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return {
    body,
    headers: {
      "content-type": "application/json",
      ...svixHeaders(options.msgId ?? prefixedId("msg"), secrets, body, options.at),
    },
  };
}

/** Signs with a raw HMAC key, the way anyone can once a "secret" decodes to a few known bytes. */
export function signedWithKey(payload: unknown, key: Buffer, msgId = prefixedId("msg")): SignedRequest {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const mac = createHmac("sha256", key).update(`${msgId}.${timestamp}.${body}`).digest("base64");
  return {
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": msgId,
      "svix-timestamp": timestamp,
      "svix-signature": `v1,${mac}`,
    },
  };
}

/**
 * The variables the Pulumi program gives both bridge functions, the SSM parameters named under `prefix`,
 * then `extra` (endpoints, queue URL, API base URLs).
 */
export function bridgeEnvironment(prefix: string, extra: Record<string, string>): Record<string, string> {
  return {
    BRIDGE_TABLE_NAME: "bridge",
    BRIDGE_PARAM_RESEND_API_KEY: `${prefix}/resend-api-key`,
    BRIDGE_PARAM_CLERK_SECRET_KEY: `${prefix}/clerk-secret-key`,
    BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: `${prefix}/clerk-webhook-secret`,
    BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: `${prefix}/resend-webhook-secret`,
    BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
    BRIDGE_FROM_NAME: "Acme",
    POWERTOOLS_LOG_LEVEL: "ERROR",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...extra,
  };
}

/** A Lambda Function URL (payload 2.0) event, optionally base64-encoding the body as the URL does. */
export function functionUrlEvent(
  method: string,
  path: string,
  request: Partial<SignedRequest> = {},
  options: { base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const body = request.body ?? "";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: request.headers ?? {},
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName: "local",
      domainPrefix: "local",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: options.base64 ? Buffer.from(body).toString("base64") : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

/** One SQS record as Lambda's event source mapping delivers it to the worker. */
export function sqsRecord(
  messageId: string,
  body: string,
  options: { receiptHandle?: string; md5OfBody?: string; eventSourceARN?: string } = {},
): SQSRecord {
  return {
    messageId,
    receiptHandle: options.receiptHandle ?? messageId,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "0",
      SenderId: "x",
      ApproximateFirstReceiveTimestamp: "0",
    },
    messageAttributes: {},
    md5OfBody: options.md5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.eventSourceARN ?? "arn:aws:sqs:us-east-1:000000000000:bridge",
    awsRegion: "us-east-1",
  };
}

export interface CapturedStdout {
  /** Every line that is a JSON object (log lines and EMF documents), parsed, in order. */
  lines: Array<Record<string, unknown>>;
  /** Everything written, to check what must never appear. */
  text(): string;
  restore(): void;
}

/** Swallows stdout, where the bridge's logger and EMF writer print, until `restore()`. */
export function captureStdout(): CapturedStdout {
  const lines: Array<Record<string, unknown>> = [];
  let raw = "";
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    raw += text;
    for (const line of text.split("\n")) {
      if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  }) as typeof process.stdout.write;
  return {
    lines,
    text: () => raw,
    restore: () => {
      process.stdout.write = write;
    },
  };
}
