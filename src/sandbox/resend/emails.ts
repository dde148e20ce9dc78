import { uuid } from "../core/ids";
import { sleep } from "../core/server";
import type { ApiKeyState } from "./api-keys";
import { pgTimestamp } from "./clock";
import { apiRoute, type ResendContext } from "./context";
import { canSend } from "./domain-model";
import { type EmailRequest, parseEmailRequest } from "./email-request";
import { invalidField, notFound, ResendHttpError } from "./errors";
import { IdempotencyStore, idempotencyKey } from "./idempotency";
import { type ForcedOutcome, type Outcome, outcomeFor } from "./outcomes";
import { paginate } from "./pagination";
import type { SuppressionList, SuppressionOrigin } from "./suppressions";

/** OAS `Email.last_event` values this stand-in produces. */
export type LastEvent =
  | "queued"
  | "scheduled"
  | "sent"
  | "delivered"
  | "delivery_delayed"
  | "bounced"
  | "complained"
  | "failed"
  | "suppressed";

/** An accepted email as the inspection API shows it. */
export interface SentEmail
  extends Pick<
    EmailRequest,
    "from" | "to" | "cc" | "bcc" | "replyTo" | "subject" | "html" | "text" | "headers" | "tags"
  > {
  id: string;
  idempotencyKey?: string;
  batch: boolean;
  createdAt: string;
  scheduledAt?: string;
  messageId: string;
  lastEvent: LastEvent;
  events: { type: string; at: string; to: string[] }[];
}

/** Vendor-time gaps between the events of one email (scaled by `timeScale`). */
const SENT_TO_OUTCOME_MS = 2_000;
const DELIVERED_TO_COMPLAINT_MS = 3_000;
const MAX_BATCH = 100;

/** `POST /emails`, `POST /emails/batch`, `GET /emails[/:id]` and the event sequence after each send. */
export class EmailService {
  readonly sent: SentEmail[] = [];
  readonly forced = new Map<string, ForcedOutcome>();
  /** Real ms each send spends "in flight" (idempotency key held) before it is answered. */
  sendLatencyMs = 0;
  private readonly idempotency = new IdempotencyStore();

  constructor(
    private readonly ctx: ResendContext,
    private readonly suppressions: SuppressionList,
  ) {}

  register(): void {
    const ctx = this.ctx;
    apiRoute(
      ctx,
      "POST",
      "/emails",
      (req) =>
        this.idempotency.run(req, async () => {
          if (this.sendLatencyMs > 0) await sleep(this.sendLatencyMs);
          const request = parseEmailRequest(req.json(), { batch: false });
          this.authorizeSender(request, ctx.gate.callerOf(req));
          const email = this.accept(request, idempotencyKey(req), false);
          return { status: 200, body: { id: email.id } };
        }),
      "send",
    );

    apiRoute(
      ctx,
      "POST",
      "/emails/batch",
      (req) =>
        this.idempotency.run(req, async () => {
          if (this.sendLatencyMs > 0) await sleep(this.sendLatencyMs);
          const body = req.json();
          if (!Array.isArray(body)) throw invalidField("The request body must be an array of emails.");
          if (body.length === 0 || body.length > MAX_BATCH) {
            throw invalidField(`A batch holds between 1 and ${MAX_BATCH} emails (got ${body.length}).`);
          }
          // The SDK sends `x-batch-validation: strict` by default: one invalid email fails the batch.
          const permissive = req.headers["x-batch-validation"] === "permissive";
          const valid: EmailRequest[] = [];
          const errors: { index: number; message: string }[] = [];
          body.forEach((item, index) => {
            try {
              const request = parseEmailRequest(item, { batch: true });
              this.authorizeSender(request, ctx.gate.callerOf(req));
              valid.push(request);
            } catch (err) {
              if (!(err instanceof ResendHttpError)) throw err;
              if (!permissive)
                throw new ResendHttpError(err.status, err.errorName, `emails[${index}]: ${err.message}`);
              errors.push({ index, message: err.message });
            }
          });
          const key = idempotencyKey(req);
          const data = valid.map((request) => ({ id: this.accept(request, key, true).id }));
          return { status: 200, body: permissive ? { data, errors } : { data } };
        }),
      "send",
    );

    apiRoute(ctx, "GET", "/emails", (req) => {
      const newestFirst = [...this.sent].reverse().map(emailBody);
      return { status: 200, body: paginate(newestFirst, req.query) };
    });

    apiRoute(ctx, "GET", "/emails/:id", (req) => {
      const email = this.sent.find((e) => e.id === req.params.id);
      if (!email) throw notFound("Email");
      return { status: 200, body: emailBody(email) };
    });
  }

  /**
   * Resend only sends from a verified domain; `@resend.dev` may only reach its own test inboxes; a key
   * restricted to one domain sends only from that domain.
   */
  private authorizeSender(request: EmailRequest, caller: ApiKeyState): void {
    const domainName = request.fromAddress.split("@")[1]!.toLowerCase();
    const allowed = caller.domainId ? this.ctx.domains.get(caller.domainId) : undefined;
    if (caller.domainId && allowed?.name !== domainName) {
      throw new ResendHttpError(
        403,
        "validation_error",
        `This API key is restricted to send from the \`${allowed?.name ?? caller.domainId}\` domain only, not from \`${domainName}\`.`,
      );
    }
    if (domainName === "resend.dev") {
      const recipients = [...request.to, ...request.cc, ...request.bcc];
      if (recipients.every((r) => r.toLowerCase().endsWith("@resend.dev"))) return;
      throw new ResendHttpError(
        403,
        "validation_error",
        "You can only send testing emails to your own email address. To send emails to other recipients, please verify a domain at resend.com/domains, and change the `from` address to an email using this domain.",
      );
    }
    const domain = [...this.ctx.domains.values()].find((d) => d.name === domainName);
    if (!domain || !canSend(domain)) {
      throw new ResendHttpError(
        403,
        "validation_error",
        `The \`${domainName}\` domain is not verified. Please, add and verify your domain on https://resend.com/domains`,
      );
    }
  }

  private accept(request: EmailRequest, key: string | undefined, batch: boolean): SentEmail {
    const { from, to, cc, bcc, replyTo, subject, html, text, headers, tags } = request;
    const email: SentEmail = {
      id: uuid(),
      ...{ from, to, cc, bcc, replyTo, subject, html, text, headers, tags },
      idempotencyKey: key,
      batch,
      createdAt: new Date().toISOString(),
      scheduledAt: request.scheduledAt?.toISOString(),
      messageId: `<${uuid()}@email.amazonses.com>`,
      lastEvent: "queued",
      events: [],
    };
    this.sent.push(email);
    // The fate of each recipient is fixed at acceptance: a later suppression does not recall mail in flight.
    const recipients = [...email.to, ...email.cc, ...email.bcc];
    const outcomes = recipients.map((r) => [r, outcomeFor(r, this.suppressions, this.forced)] as const);
    void this.ctx.work.track(this.deliver(email, outcomes));
    return email;
  }

  private async deliver(email: SentEmail, outcomes: readonly (readonly [string, Outcome])[]): Promise<void> {
    const clock = this.ctx.clock;
    if (email.scheduledAt) {
      this.event(email, "email.scheduled", email.to);
      await clock.sleep(Math.max(0, Date.parse(email.scheduledAt) - Date.parse(email.createdAt)));
      if (clock.closed) return;
    }
    const going: (readonly [string, Outcome])[] = [];
    for (const [address, outcome] of outcomes) {
      if (outcome.kind === "suppressed") {
        this.event(email, "email.suppressed", [address], {
          suppressed: {
            type: "OnAccountSuppressionList",
            reason: outcome.reason,
            message: outcome.message,
            diagnosticCode: [],
          },
        });
      } else if (outcome.kind === "failed") {
        this.event(email, "email.failed", [address], { failed: { reason: outcome.reason } });
      } else {
        going.push([address, outcome]);
      }
    }
    if (going.length === 0) return;
    this.event(email, "email.sent", email.to);

    await clock.sleep(SENT_TO_OUTCOME_MS);
    if (clock.closed) return;
    for (const [address, outcome] of going) {
      if (outcome.kind === "bounced") {
        this.event(email, "email.bounced", [address], { bounce: outcome.bounce });
        if (outcome.bounce.type === "Permanent") this.suppress(address, "bounce", email.id);
      } else if (outcome.kind === "delivery_delayed") {
        this.event(email, "email.delivery_delayed", [address]);
      } else {
        this.event(email, "email.delivered", [address]);
      }
    }

    const complainers = going.filter(([, outcome]) => outcome.kind === "complained");
    if (complainers.length === 0) return;
    await clock.sleep(DELIVERED_TO_COMPLAINT_MS);
    if (clock.closed) return;
    for (const [address] of complainers) {
      this.event(email, "email.complained", [address]);
      this.suppress(address, "complaint", email.id);
    }
  }

  /** Adds to the suppression list and announces it with `suppression.added` (only the first time). */
  suppress(address: string, origin: SuppressionOrigin, sourceId: string | null): void {
    const entry = this.suppressions.add(address, origin, sourceId);
    if (entry) this.ctx.emit("suppression.added", { ...entry });
  }

  private event(email: SentEmail, type: string, to: string[], extra: Record<string, unknown> = {}): void {
    email.events.push({ type, at: new Date().toISOString(), to });
    email.lastEvent = type.slice("email.".length) as LastEvent;
    this.ctx.emit(type, { ...eventBase(email, to), ...extra });
  }
}

/** OAS `OutboundEmailEventData` (+ `message_id`, which the SDK types as required). */
function eventBase(email: SentEmail, to: string[]) {
  const headers = Object.entries(email.headers).map(([name, value]) => ({ name, value }));
  return {
    email_id: email.id,
    created_at: email.createdAt,
    from: email.from,
    to,
    subject: email.subject,
    message_id: email.messageId,
    ...(email.tags.length > 0 ? { tags: Object.fromEntries(email.tags.map((t) => [t.name, t.value])) } : {}),
    ...(headers.length > 0 ? { headers } : {}),
  };
}

/** OAS `Email` (`GET /emails/{id}`). */
function emailBody(email: SentEmail) {
  return {
    object: "email",
    id: email.id,
    message_id: email.messageId,
    to: email.to,
    from: email.from,
    created_at: pgTimestamp(new Date(email.createdAt)),
    subject: email.subject,
    ...(email.html === undefined ? {} : { html: email.html }),
    ...(email.text === undefined ? {} : { text: email.text }),
    bcc: email.bcc,
    cc: email.cc,
    reply_to: email.replyTo,
    last_event: email.lastEvent,
  };
}
