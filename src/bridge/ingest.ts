import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { CanaryStatusRoute } from "./canary";
import { decide, type QueueMessage, type WebhookSource } from "./events";
import type { JobQueue } from "./queue";
import { BRIDGE_PATHS } from "./routes";
import type { SvixVerifier } from "./signature";
import type { BridgeStore } from "./store";
import { METRICS, type Telemetry } from "./telemetry";

export interface IngestDeps {
  store: Pick<BridgeStore, "claimDelivery" | "releaseDelivery">;
  queue: JobQueue;
  /** Resolved lazily: the secrets behind them are read at the first request, then cached. */
  verifiers: () => Promise<Record<WebhookSource, SvixVerifier>>;
  telemetry: Telemetry;
  maxBodyBytes: number;
  /** `GET /canary/<id>`, the deployment canary's status (src/bridge/canary.ts); none: 404 like any path. */
  canaryStatus?: CanaryStatusRoute;
}

export type IngestHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const ROUTES: Record<string, WebhookSource> = {
  [BRIDGE_PATHS.clerk]: "clerk",
  [BRIDGE_PATHS.resend]: "resend",
};

/**
 * The Function URL handler. It does as little as possible before answering, because Svix wants a 2xx within
 * 15 s: verify the signature over the raw body, validate, dedupe on svix-id, enqueue. Rejections have no side
 * effect; the dedupe claim is released when enqueueing fails so the sender's retry is processed.
 */
export function createIngestHandler(deps: IngestDeps): IngestHandler {
  const { logger } = deps.telemetry;
  return async (event) => {
    const method = event.requestContext?.http?.method ?? "GET";
    const path = event.rawPath ?? "/";
    if (path === BRIDGE_PATHS.health) {
      return method === "GET"
        ? json(200, { status: "ok" })
        : json(405, { error: `use GET ${BRIDGE_PATHS.health}` });
    }
    if (deps.canaryStatus && path.startsWith(BRIDGE_PATHS.canary)) return deps.canaryStatus(event);
    const source = ROUTES[path];
    if (!source)
      return json(404, {
        error: `no route ${path}; webhooks go to ${BRIDGE_PATHS.clerk} or ${BRIDGE_PATHS.resend}`,
      });
    if (method !== "POST") return json(405, { error: `use POST ${path}` });

    const raw = event.body ?? "";
    // Cheap lower bound on the decoded size first, so a huge body is refused before it is decoded.
    const minBytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) - 2 : raw.length;
    if (minBytes > deps.maxBodyBytes) return tooLarge(deps.maxBodyBytes);
    const body = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
    if (body.length > deps.maxBodyBytes) return tooLarge(deps.maxBodyBytes);

    const headers = event.headers ?? {};
    const svixId = headers["svix-id"];
    const verifier = (await deps.verifiers())[source];
    const failure = verifier.verify(body, {
      id: svixId,
      timestamp: headers["svix-timestamp"],
      signature: headers["svix-signature"],
    });
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
      logger.info("webhook ignored", { source, svixId, type: decision.type, reason: decision.reason });
      return json(200, { status: "ignored", reason: decision.reason });
    }

    const id = svixId as string; // present: verification requires it
    if (!(await deps.store.claimDelivery(source, id))) {
      deps.telemetry.count(METRICS.duplicate);
      logger.info("duplicate webhook delivery", { source, svixId: id, type: decision.type });
      return json(200, { status: "duplicate" });
    }
    const message: QueueMessage = {
      source,
      svixId: id,
      type: decision.type,
      receivedAt: new Date().toISOString(),
      job: decision.job,
    };
    try {
      await deps.queue.send(message);
    } catch (err) {
      await deps.store.releaseDelivery(source, id).catch((releaseErr: unknown) => {
        // The claim outlives this answer, so the sender's retry will be taken for a duplicate and the event
        // lost: name it, so it can be replayed once the claim is deleted.
        logger.error("dedupe claim not released; the sender's retry will be answered as a duplicate", {
          source,
          svixId: id,
          type: decision.type,
          error: (releaseErr as Error).name,
        });
      });
      logger.error("enqueue failed; the sender will retry", {
        source,
        svixId: id,
        error: (err as Error).name,
      });
      return json(500, { error: "could not queue the event; retry later" });
    }
    deps.telemetry.count(METRICS.received);
    logger.info("webhook queued", { source, svixId: id, type: decision.type, ...jobIds(message) });
    return json(202, { status: "queued" });
  };
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
