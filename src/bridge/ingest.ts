import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { decide, type QueueMessage, type WebhookSource } from "./events";
import type { JobQueue } from "./queue";
import { BRIDGE_PATHS, type BridgeHealth, type RouteReadiness } from "./routes";
import {
  isValidSvixId,
  MAX_SVIX_ID_LENGTH,
  type RouteAuth,
  type RouteAuthSet,
  unreadyReason,
  type WebhookAuth,
} from "./signature";
import type { BridgeStore, DeliveryClaim } from "./store";
import { METRICS, type Telemetry } from "./telemetry";

export interface IngestDeps {
  store: Pick<BridgeStore, "claimDelivery" | "confirmDelivery" | "releaseDelivery">;
  queue: JobQueue;
  /** The routes' verifiers, from secrets read at the first request and re-read as they age or are refused. */
  auth: WebhookAuth;
  telemetry: Telemetry;
  maxBodyBytes: number;
}

/** The part of Lambda's context ingest reads: how long until the function is stopped. */
export interface IngestInvocation {
  getRemainingTimeInMillis?: () => number;
}

export type IngestHandler = (
  event: APIGatewayProxyEventV2,
  invocation?: IngestInvocation,
) => Promise<APIGatewayProxyStructuredResultV2>;

const ROUTES: Record<string, WebhookSource> = {
  [BRIDGE_PATHS.clerk]: "clerk",
  [BRIDGE_PATHS.resend]: "resend",
};

/** Kept free at the end of an invocation to return the answer and write the logs. */
const ANSWER_MARGIN_MS = 250;
/** Kept free after the enqueue's deadline, so a failed enqueue can still release its claim. */
const RELEASE_RESERVE_MS = 1_500;

/**
 * The Function URL handler. It does as little as possible before answering, because Svix wants a 2xx within
 * 15 s: verify the signature over the raw body, validate, claim the svix-id, enqueue, confirm the claim.
 * Rejections have no side effect. Every AWS call ends before the function's timeout; a failed enqueue
 * releases its claim so the sender's retry is processed, and a claim orphaned by a crash expires in minutes.
 */
export function createIngestHandler(deps: IngestDeps): IngestHandler {
  const { logger } = deps.telemetry;
  return async (event, invocation) => {
    const startedAt = Date.now();
    const remaining = invocation?.getRemainingTimeInMillis?.();
    const endAt =
      remaining === undefined ? Number.POSITIVE_INFINITY : startedAt + remaining - ANSWER_MARGIN_MS;
    const method = event.requestContext?.http?.method ?? "GET";
    const path = event.rawPath ?? "/";
    if (path === BRIDGE_PATHS.health) {
      return method === "GET" ? health(deps) : json(405, { error: `use GET ${BRIDGE_PATHS.health}` });
    }
    const source = ROUTES[path];
    if (!source)
      return json(404, {
        error: `no route ${path}; webhooks go to ${BRIDGE_PATHS.clerk} or ${BRIDGE_PATHS.resend}`,
      });
    if (method !== "POST") return json(405, { error: `use POST ${path}` });

    const ready = await readyRoute(deps, source);
    if (!ready.ok) return ready.answer;
    const { auth, route } = ready;

    const raw = event.body ?? "";
    // Cheap lower bound on the decoded size first, so a huge body is refused before it is decoded.
    const minBytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) - 2 : raw.length;
    if (minBytes > deps.maxBodyBytes) return tooLarge(deps.maxBodyBytes);
    const body = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
    if (body.length > deps.maxBodyBytes) return tooLarge(deps.maxBodyBytes);

    const headers = event.headers ?? {};
    const svixId = headers["svix-id"];
    if (svixId !== undefined && !isValidSvixId(svixId)) {
      deps.telemetry.count(METRICS.rejected);
      logger.warn("webhook refused: malformed svix-id", { source, svixIdLength: svixId.length });
      return json(400, {
        error: `svix-id must be 1 to ${MAX_SVIX_ID_LENGTH} printable ASCII characters without spaces`,
      });
    }
    const signed = { id: svixId, timestamp: headers["svix-timestamp"], signature: headers["svix-signature"] };
    let failure = route.verifier.verify(body, signed);
    if (failure === "bad_signature") {
      // The secret may have been rotated since it was read: re-read once (rate-limited) and check again.
      const fresh = await deps.auth.reloadAfter(auth).catch(() => undefined);
      const next = fresh?.routes[source];
      if (next?.state === "ready") failure = next.verifier.verify(body, signed);
    }
    if (failure) {
      deps.telemetry.count(METRICS.rejected);
      logger.warn("webhook signature rejected", { source, svixId, reason: failure });
      return json(401, { error: "webhook signature verification failed", reason: failure });
    }

    let payload: unknown;
    try {
      payload = JSON.parse(body.toString("utf8"));
    } catch {
      deps.telemetry.count(METRICS.rejected);
      return json(400, { error: "body is not valid JSON" });
    }
    const decision = decide(source, payload);
    if (decision.action === "reject") {
      deps.telemetry.count(METRICS.rejected);
      logger.warn("webhook payload rejected", { source, svixId, problem: decision.problem });
      return json(400, { error: `malformed payload: ${decision.problem}` });
    }
    if (decision.action === "ignore") {
      const level = decision.warn ? "warn" : "info";
      logger[level]("webhook ignored", { source, svixId, type: decision.type, reason: decision.reason });
      return json(200, { status: "ignored", reason: decision.reason });
    }

    const message: QueueMessage = {
      source,
      svixId: svixId as string, // present: verification requires it
      type: decision.type,
      receivedAt: new Date().toISOString(),
      job: decision.job,
    };
    return queueOnce(deps, message, endAt);
  };
}

/**
 * The route's verifier, or the 503 answer when its secret is unset or invalid (or unreadable). A route
 * without a usable secret may just have been given one, so the secrets are looked at again (rate-limited).
 */
async function readyRoute(
  deps: IngestDeps,
  source: WebhookSource,
): Promise<
  | { ok: true; auth: RouteAuthSet; route: Extract<RouteAuth, { state: "ready" }> }
  | { ok: false; answer: APIGatewayProxyStructuredResultV2 }
> {
  let auth: RouteAuthSet;
  try {
    auth = await deps.auth.current();
    if (auth.routes[source].state !== "ready") auth = (await deps.auth.reloadAfter(auth)) ?? auth;
  } catch (err) {
    return { ok: false, answer: secretsUnreadable(deps, err) };
  }
  const route = auth.routes[source];
  if (route.state === "ready") return { ok: true, auth, route };
  const { problem, fix } = unreadyReason(source, route);
  if (route.state === "invalid") {
    deps.telemetry.count(METRICS.secretInvalid);
    deps.telemetry.logger.error("webhook refused: the route's signing secret parameter is invalid", {
      source,
      parameter: route.parameter,
      problems: route.problems,
    });
  } else {
    deps.telemetry.logger.warn("webhook refused: the route has no signing secret yet", { source });
  }
  return { ok: false, answer: json(503, { error: `${problem}: ${fix}`, reason: `secret_${route.state}` }) };
}

/**
 * Claims the svix-id, enqueues, confirms the claim, each within the invocation: the claim and the enqueue
 * by `endAt` less the time a release needs, the confirm or release by `endAt`.
 */
async function queueOnce(
  deps: IngestDeps,
  message: QueueMessage,
  endAt: number,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { logger } = deps.telemetry;
  const { source, svixId, type } = message;
  const ids = { source, svixId, type };
  const enqueueBy = { deadlineAt: endAt - RELEASE_RESERVE_MS };
  const settleBy = { deadlineAt: endAt };
  let claim: DeliveryClaim;
  try {
    claim = await deps.store.claimDelivery(source, svixId, enqueueBy);
  } catch (err) {
    logger.error("dedupe claim failed; the sender will retry", { ...ids, error: (err as Error).name });
    return json(500, { error: "could not record the event; retry later" });
  }
  if (claim.outcome === "duplicate") {
    deps.telemetry.count(METRICS.duplicate);
    logger.info("duplicate webhook delivery", ids);
    return json(200, { status: "duplicate" });
  }
  if (claim.outcome === "in_flight") {
    // Another delivery holds a pending claim: it may be enqueueing right now or may have died. A non-2xx
    // answer makes the sender retry; once the pending claim expires, the retry is processed.
    logger.info("webhook delivery already being queued; the sender will retry", ids);
    return json(409, {
      status: "in_progress",
      error: "this event is being queued by another delivery; retry later",
    });
  }

  try {
    await deps.queue.send(message, enqueueBy);
  } catch (err) {
    await deps.store.releaseDelivery(source, svixId, claim.token, settleBy).catch((releaseErr: unknown) => {
      // The pending claim expires by itself: the sender's retries are answered 409 until then.
      logger.error("dedupe claim not released; retries are refused until the pending claim expires", {
        ...ids,
        error: (releaseErr as Error).name,
      });
    });
    logger.error("enqueue failed; the sender will retry", { ...ids, error: (err as Error).name });
    return json(500, { error: "could not queue the event; retry later" });
  }
  const confirmed = await deps.store
    .confirmDelivery(source, svixId, claim.token, settleBy)
    .catch((err: unknown) => (err as Error).name);
  if (confirmed !== true) {
    // Queued all the same. Only a redelivery after the pending claim expires is queued again, and the
    // worker skips work already done.
    logger.warn("dedupe claim not confirmed; a late redelivery would be queued again", {
      ...ids,
      error: confirmed === false ? "ClaimTakenOver" : confirmed,
    });
  }
  deps.telemetry.count(METRICS.received);
  logger.info("webhook queued", { ...ids, ...jobIds(message) });
  return json(202, { status: "queued" });
}

/** 200 when both routes can verify; 503 naming what is missing otherwise. Never a secret or parameter. */
async function health(deps: IngestDeps): Promise<APIGatewayProxyStructuredResultV2> {
  let auth: RouteAuthSet;
  try {
    auth = await deps.auth.current();
  } catch (err) {
    return secretsUnreadable(deps, err);
  }
  const readiness = (source: WebhookSource): RouteReadiness => {
    const route = auth.routes[source];
    return route.state === "ready" ? { ready: true } : { ready: false, ...unreadyReason(source, route) };
  };
  const routes = { clerk: readiness("clerk"), resend: readiness("resend") };
  const ok = routes.clerk.ready && routes.resend.ready;
  const body: BridgeHealth = { status: ok ? "ok" : "unready", routes };
  return json(ok ? 200 : 503, body);
}

function secretsUnreadable(deps: IngestDeps, err: unknown): APIGatewayProxyStructuredResultV2 {
  deps.telemetry.logger.error("webhook secrets could not be read", {
    error: (err as Error).name,
    detail: (err as Error).message,
  });
  const body: BridgeHealth = {
    status: "unready",
    error: "the webhook signing secrets could not be read; the ingest function's log says why",
  };
  return json(503, body);
}

/** Correlation ids of a job, for logs: never the body, subject or address. */
export function jobIds(message: QueueMessage): Record<string, string> {
  const job = message.job;
  switch (job.kind) {
    case "send":
      return { clerkEmailId: job.clerkEmailId, ...(job.userId ? { userId: job.userId } : {}) };
    case "user":
    case "user_deleted":
      return { userId: job.userId };
    case "delivery":
      return {
        ...(job.resendEmailId ? { resendEmailId: job.resendEmailId } : {}),
        ...(job.tags.clerk_email_id ? { clerkEmailId: job.tags.clerk_email_id } : {}),
        ...(job.tags.clerk_user_id ? { userId: job.tags.clerk_user_id } : {}),
      };
  }
}

function tooLarge(limit: number): APIGatewayProxyStructuredResultV2 {
  return json(413, { error: `body exceeds ${limit} bytes` });
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}
