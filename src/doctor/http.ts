import { type CallFailure, type Fetched, thrownFailure } from "./types";

/** A JSON answer: the status and the parsed body (`undefined` when the body was not JSON). */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/**
 * One HTTP call with a deadline that covers the answer's body too, so a dependency that hangs costs at most
 * `timeoutMs`. Never throws: no answer becomes a transient {@link CallFailure}.
 */
export async function callJson(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
  timeoutMs: number,
): Promise<Fetched<JsonAnswer>> {
  try {
    const res = await fetch(url, {
      method: init.method ?? "GET",
      headers: {
        accept: "application/json",
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { ok: true, value: { status: res.status, body: parseJsonBody(await res.text()) } };
  } catch (err) {
    return { ok: false, failure: thrownFailure(err, timeoutMs) };
  }
}

/** 429 and 5xx may pass on a later run; any other 4xx is the setup's fault. */
export function statusFailure(status: number, code: string | undefined, message: string): CallFailure {
  return { transient: status === 429 || status >= 500, status, code, message };
}

/** A response body as JSON, or `undefined` when it is empty or not JSON (an HTML error page). */
export function parseJsonBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
