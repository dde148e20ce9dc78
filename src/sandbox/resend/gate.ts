import { WindowRateLimiter } from "../core/rate-limit";
import {
  BadJson,
  bearerToken,
  type RouteHandler,
  type StandInRequest,
  type StandInResponse,
} from "../core/server";
import type { ApiKeyRegistry, ApiKeyState } from "./api-keys";
import { badJsonBody, internalError, ResendHttpError, rateLimitBody, resendError } from "./errors";

/** What a route needs from the key: `send` routes accept sending-only keys, `full` routes do not. */
export type RouteAccess = "full" | "send";

/**
 * What every Resend API request passes before its handler runs, in the order the real edge
 * applies it: Cloudflare's browser check (User-Agent), then the API key, then the team-wide
 * rate limit, which every key of the team shares, then the key's permission.
 */
export class RequestGate {
  readonly limiter: WindowRateLimiter;
  private readonly callers = new WeakMap<StandInRequest, ApiKeyState>();

  constructor(
    private readonly apiKeys: ApiKeyRegistry,
    perSecond: number,
  ) {
    this.limiter = new WindowRateLimiter(perSecond, 1_000);
  }

  /** The key that authenticated a request that passed the gate. */
  callerOf(req: StandInRequest): ApiKeyState {
    const key = this.callers.get(req);
    if (!key) throw new Error("callerOf() asked for a request that did not pass the gate");
    return key;
  }

  get perSecond(): number {
    return this.limiter.limit;
  }

  set perSecond(value: number) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`rate limit must be a whole number of requests per second ≥ 1 (got ${value})`);
    }
    this.limiter.limit = value;
    this.limiter.reset();
  }

  wrap(handler: RouteHandler, access: RouteAccess = "full"): RouteHandler {
    return async (req) => {
      if (!req.headers["user-agent"]) {
        // Cloudflare answers this before Resend sees the request, so it is plain text, not JSON.
        return {
          status: 403,
          body: "error code: 1010",
          headers: { "content-type": "text/plain; charset=UTF-8" },
        };
      }
      const key = bearerToken(req);
      if (!key) {
        return resendError(
          401,
          "missing_api_key",
          "Missing API key in the authorization header. Include the following header `Authorization: Bearer YOUR_API_KEY` in the request.",
        );
      }
      const caller = this.apiKeys.authenticate(key);
      if (!caller) return resendError(403, "invalid_api_key", "API key is invalid");

      const budget = this.limiter.take("team");
      const resetSeconds = Math.max(1, Math.ceil(budget.resetMs / 1_000));
      const rateHeaders: Record<string, string> = {
        "ratelimit-limit": String(this.limiter.limit),
        "ratelimit-remaining": String(budget.remaining),
        "ratelimit-reset": String(resetSeconds),
        "ratelimit-policy": `${this.limiter.limit};w=1`,
      };
      if (!budget.allowed) {
        const limited = rateLimitBody(this.limiter.limit);
        return { ...limited, headers: { ...rateHeaders, "retry-after": String(resetSeconds) } };
      }
      if (caller.permission === "sending_access" && access !== "send") {
        const restricted = resendError(
          401,
          "restricted_api_key",
          "This API key is restricted to only send emails. Make sure the API key has `Full access` to perform actions other than sending emails.",
        );
        return { ...restricted, headers: rateHeaders };
      }
      this.callers.set(req, caller);
      const response = await answer(handler, req);
      return { ...response, headers: { ...rateHeaders, ...response.headers } };
    };
  }
}

async function answer(handler: RouteHandler, req: Parameters<RouteHandler>[0]): Promise<StandInResponse> {
  try {
    return await handler(req);
  } catch (err) {
    if (err instanceof ResendHttpError) return err.toResponse();
    if (err instanceof BadJson) return badJsonBody();
    // A bug in the stand-in must not hang the client: answer like Resend's own 500.
    console.error("resend stand-in handler failed:", err);
    return internalError();
  }
}
