import { randomUUID } from "node:crypto";
import type { StandInResponse } from "./server";

/**
 * One injected fault. `path` is a regular expression matched against the request path, `method`
 * an HTTP method (any when absent). `count` is how many matching requests it affects (default 1;
 * `Infinity` is not JSON, so use a large number for "until cleared").
 * - `latency`: delays the request by `ms`, then serves it normally;
 * - `status`: answers `status` (5xx by default 500) with `body` instead of serving it;
 * - `rate_limit`: answers 429 with `retry-after: retryAfterSeconds` in the vendor's shape (body given by the stand-in);
 * - `drop`: destroys the connection without an answer.
 */
export interface FaultSpec {
  kind: "latency" | "status" | "rate_limit" | "drop";
  method?: string;
  path?: string;
  count?: number;
  ms?: number;
  status?: number;
  body?: unknown;
  retryAfterSeconds?: number;
}

export interface ActiveFault extends FaultSpec {
  id: string;
  remaining: number;
  hits: number;
}

export interface TakenFault {
  kind: FaultSpec["kind"];
  latencyMs?: number;
  response?: StandInResponse;
}

/** A vendor-specific body for injected 429s and 5xx, so clients see the same shape as the real service. */
export type FaultBodyShaper = (status: number) => unknown;

/** A fault spec that cannot work; the message names the field. */
export class FaultSpecError extends Error {
  override name = "FaultSpecError";
}

/**
 * Rejects a spec up front: a bad `path` would otherwise throw on every later request, and a `count`
 * below 1 would leave a fault that never fires and is never removed.
 */
export function checkFaultSpec(spec: FaultSpec): void {
  if (typeof spec !== "object" || spec === null)
    throw new FaultSpecError("fault must be an object {kind, ...}");
  if (!["latency", "status", "rate_limit", "drop"].includes(spec.kind)) {
    throw new FaultSpecError(
      `fault kind must be latency, status, rate_limit or drop (got ${String(spec.kind)})`,
    );
  }
  if (spec.path !== undefined) {
    try {
      new RegExp(spec.path);
    } catch {
      throw new FaultSpecError(
        `fault path must be a valid regular expression (got ${JSON.stringify(spec.path)})`,
      );
    }
  }
  const count = spec.count;
  if (count !== undefined && count !== Number.POSITIVE_INFINITY && !(Number.isInteger(count) && count >= 1)) {
    throw new FaultSpecError(
      `fault count must be a whole number of requests, 1 or more (got ${String(count)})`,
    );
  }
}

export class FaultInjector {
  private readonly active: ActiveFault[] = [];
  shapeBody: FaultBodyShaper = (status) => ({ status });

  add(spec: FaultSpec): ActiveFault {
    checkFaultSpec(spec);
    const fault: ActiveFault = { ...spec, id: randomUUID(), remaining: spec.count ?? 1, hits: 0 };
    this.active.push(fault);
    return fault;
  }

  clear(): void {
    this.active.length = 0;
  }

  list(): readonly ActiveFault[] {
    return this.active;
  }

  /** Consumes the first fault that matches this request, if any. */
  take(method: string, path: string): TakenFault | undefined {
    const index = this.active.findIndex(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (!f.path || new RegExp(f.path).test(path)),
    );
    if (index < 0) return undefined;
    const fault = this.active[index]!;
    fault.remaining -= 1;
    fault.hits += 1;
    if (fault.remaining <= 0) this.active.splice(index, 1);
    switch (fault.kind) {
      case "latency":
        return { kind: "latency", latencyMs: fault.ms ?? 100 };
      case "drop":
        return { kind: "drop" };
      case "rate_limit": {
        const retryAfter = String(fault.retryAfterSeconds ?? 1);
        return {
          kind: "rate_limit",
          response: {
            status: 429,
            body: fault.body ?? this.shapeBody(429),
            headers: { "retry-after": retryAfter },
          },
        };
      }
      case "status": {
        const status = fault.status ?? 500;
        return { kind: "status", response: { status, body: fault.body ?? this.shapeBody(status) } };
      }
    }
  }
}
