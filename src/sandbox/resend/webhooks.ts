import { newSigningSecret, uuid } from "../core/ids";
import type { DispatchEndpoint } from "../core/svix-dispatcher";
import { pgTimestamp } from "./clock";
import { apiRoute, type ResendContext } from "./context";
import { invalidField, missingField } from "./errors";
import { findByUuid, objectBody, optionalEnum, optionalString, requiredString } from "./fields";
import { paginate } from "./pagination";

/** Event types a Resend webhook can subscribe to (SDK 6.38 `WebhookEvent`, docs `webhooks/event-types`). */
const WEBHOOK_EVENT_TYPES = [
  "email.sent",
  "email.scheduled",
  "email.delivered",
  "email.delivery_delayed",
  "email.complained",
  "email.bounced",
  "email.opened",
  "email.clicked",
  "email.received",
  "email.failed",
  "email.suppressed",
  "contact.created",
  "contact.updated",
  "contact.deleted",
  "contact.topics.updated",
  "domain.created",
  "domain.updated",
  "domain.deleted",
  "suppression.added",
  "suppression.removed",
  "topic.created",
  "topic.updated",
  "topic.deleted",
] as const;

const SECRET_OVERLAP_MS = 24 * 3_600_000;

export interface WebhookState {
  id: string;
  endpoint: string;
  events: string[];
  status: "enabled" | "disabled";
  createdAt: Date;
  secret: string;
  /** After a rotation the old secret keeps signing until `until` (real-time ms). */
  previous?: { secret: string; until: number };
}

/** Webhook endpoints and their management routes; deliveries go through the core `SvixDispatcher`. */
export class WebhookRegistry {
  readonly webhooks = new Map<string, WebhookState>();

  /**
   * Views for the dispatcher, taken when an event is dispatched and again before each retry, so a
   * rotation, a disable or a deletion applies to retries.
   */
  *dispatchEndpoints(): Iterable<DispatchEndpoint> {
    const now = Date.now();
    for (const webhook of this.webhooks.values()) {
      const { secret, previous } = webhook;
      yield {
        id: webhook.id,
        url: webhook.endpoint,
        secrets: previous && now < previous.until ? [secret, previous.secret] : [secret],
        eventTypes: webhook.events,
        disabled: webhook.status === "disabled",
      };
    }
  }

  register(ctx: ResendContext): void {
    const find = (id: string | undefined) => findByUuid(this.webhooks, id, "webhook_id", "Webhook");

    apiRoute(ctx, "POST", "/webhooks", (req) => {
      const body = objectBody(req.json());
      const endpoint = endpointUrl(requiredString(body, "endpoint"));
      if (body.events === undefined || body.events === null) throw missingField("events");
      const webhook: WebhookState = {
        id: uuid(),
        endpoint,
        events: eventTypes(body.events),
        status: "enabled",
        createdAt: new Date(),
        secret: newSigningSecret(),
      };
      this.webhooks.set(webhook.id, webhook);
      return { status: 201, body: { object: "webhook", id: webhook.id, signing_secret: webhook.secret } };
    });

    apiRoute(ctx, "GET", "/webhooks", (req) => {
      const items = [...this.webhooks.values()].reverse().map((w) => ({
        id: w.id,
        endpoint: w.endpoint,
        created_at: pgTimestamp(w.createdAt),
        status: w.status,
        events: [...w.events],
      }));
      return { status: 200, body: paginate(items, req.query) };
    });

    apiRoute(ctx, "GET", "/webhooks/:id", (req) => {
      const w = find(req.params.id);
      return {
        status: 200,
        body: {
          object: "webhook",
          id: w.id,
          created_at: pgTimestamp(w.createdAt),
          status: w.status,
          endpoint: w.endpoint,
          events: [...w.events],
          signing_secret: w.secret,
        },
      };
    });

    apiRoute(ctx, "PATCH", "/webhooks/:id", (req) => {
      const webhook = find(req.params.id);
      const body = objectBody(req.json());
      const endpoint = optionalString(body, "endpoint");
      const events = body.events === undefined ? undefined : eventTypes(body.events);
      const status = optionalEnum(body, "status", ["enabled", "disabled"] as const);
      if (endpoint !== undefined) webhook.endpoint = endpointUrl(endpoint);
      if (events) webhook.events = events;
      if (status) webhook.status = status;
      return { status: 200, body: { object: "webhook", id: webhook.id } };
    });

    apiRoute(ctx, "DELETE", "/webhooks/:id", (req) => {
      const webhook = find(req.params.id);
      this.webhooks.delete(webhook.id);
      return { status: 200, body: { object: "webhook", id: webhook.id, deleted: true } };
    });

    apiRoute(ctx, "POST", "/webhooks/:id/signing-secret/rotate", (req) => {
      const webhook = find(req.params.id);
      webhook.previous = { secret: webhook.secret, until: Date.now() + ctx.clock.scaled(SECRET_OVERLAP_MS) };
      webhook.secret = newSigningSecret();
      return { status: 200, body: { object: "webhook", id: webhook.id, signing_secret: webhook.secret } };
    });
  }
}

function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidField(
      "Invalid `endpoint` field. It must be an absolute URL such as `https://example.com/webhooks`.",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalidField("Invalid `endpoint` field. It must be an http(s) URL.");
  }
  return value;
}

function eventTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidField(
      "The `events` field must be a non-empty array of event types such as `email.bounced`.",
    );
  }
  for (const type of value) {
    if (typeof type !== "string" || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) {
      throw invalidField(
        `Invalid event type \`${String(type)}\` in \`events\`. Use one of: ${WEBHOOK_EVENT_TYPES.join(", ")}.`,
      );
    }
  }
  return [...new Set(value as string[])];
}
