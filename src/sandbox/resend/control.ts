import type { StandInServer } from "../core/server";
import { RECORD_SHAPES, type RecordShape } from "./domain-model";
import type { ResendStandIn } from "./index";
import { type ForcedOutcome, OUTCOME_KINDS } from "./outcomes";
import { SUPPRESSION_ORIGINS, type SuppressionOrigin } from "./suppressions";

const bad = (message: string) => ({ status: 400, body: { error: message } });

/**
 * Sandbox-only routes under `/_sandbox/resend/`: inspect what was sent and delivered, preload state,
 * and steer outcomes. They bypass auth and the rate limit, and never appear on the real API.
 */
export function registerControlRoutes(server: StandInServer, standIn: ResendStandIn): void {
  server.control("GET", "/resend/emails", () => ({ status: 200, body: { data: standIn.emails() } }));
  server.control("GET", "/resend/events", () => ({ status: 200, body: { data: standIn.events() } }));
  server.control("GET", "/resend/api-keys", () => ({ status: 200, body: { data: standIn.apiKeys() } }));
  server.control("GET", "/resend/webhook-deliveries", () => ({
    status: 200,
    body: { data: standIn.dispatcher.deliveries },
  }));

  server.control("GET", "/resend/suppressions", () => ({
    status: 200,
    body: { data: standIn.suppressions() },
  }));
  server.control("POST", "/resend/suppressions", (req) => {
    const { email, origin = "manual" } = (req.json() ?? {}) as {
      email?: unknown;
      origin?: SuppressionOrigin;
    };
    if (typeof email !== "string" || !email.includes("@")) return bad("`email` must be an email address");
    if (!SUPPRESSION_ORIGINS.includes(origin))
      return bad(`\`origin\` must be one of ${SUPPRESSION_ORIGINS.join(", ")}`);
    return { status: 201, body: standIn.suppress(email, origin) };
  });
  server.control("DELETE", "/resend/suppressions", () => {
    standIn.clearSuppressions();
    return { status: 200, body: { cleared: true } };
  });

  server.control("POST", "/resend/outcomes", (req) => {
    const { address, ...force } = (req.json() ?? {}) as { address?: unknown } & ForcedOutcome;
    if (typeof address !== "string" || !address.includes("@"))
      return bad("`address` must be an email address");
    if (!OUTCOME_KINDS.includes(force.outcome))
      return bad(`\`outcome\` must be one of ${OUTCOME_KINDS.join(", ")}`);
    standIn.forceOutcome(address, force);
    return { status: 201, body: { address: address.toLowerCase(), ...force } };
  });
  server.control("DELETE", "/resend/outcomes", () => {
    standIn.clearForcedOutcomes();
    return { status: 200, body: { cleared: true } };
  });

  server.control("GET", "/resend/rate-limit", () => ({
    status: 200,
    body: { perSecond: standIn.rateLimitPerSecond },
  }));
  server.control("PUT", "/resend/rate-limit", (req) => {
    const { perSecond } = (req.json() ?? {}) as { perSecond?: unknown };
    if (typeof perSecond !== "number" || !Number.isInteger(perSecond) || perSecond < 1) {
      return bad("`perSecond` must be a whole number ≥ 1");
    }
    standIn.rateLimitPerSecond = perSecond;
    return { status: 200, body: { perSecond } };
  });

  server.control("PUT", "/resend/send-latency", (req) => {
    const { ms } = (req.json() ?? {}) as { ms?: unknown };
    if (typeof ms !== "number" || ms < 0) return bad("`ms` must be a number ≥ 0");
    standIn.sendLatencyMs = ms;
    return { status: 200, body: { ms } };
  });

  server.control("GET", "/resend/record-shape", () => ({
    status: 200,
    body: { shape: standIn.recordShape },
  }));
  server.control("PUT", "/resend/record-shape", (req) => {
    const { shape } = (req.json() ?? {}) as { shape?: unknown };
    if (!RECORD_SHAPES.includes(shape as RecordShape)) {
      return bad(`\`shape\` must be one of ${RECORD_SHAPES.join(", ")}`);
    }
    standIn.recordShape = shape as RecordShape;
    return { status: 200, body: { shape } };
  });

  server.control("POST", "/resend/domains", (req) => {
    const { name } = (req.json() ?? {}) as { name?: unknown };
    if (typeof name !== "string" || !name.includes(".")) return bad("`name` must be a domain name");
    return { status: 201, body: standIn.addVerifiedDomain(name) };
  });
  server.control("POST", "/resend/domains/recheck", async () => {
    await standIn.recheckVerifiedDomains();
    return { status: 200, body: { rechecked: true } };
  });
}
