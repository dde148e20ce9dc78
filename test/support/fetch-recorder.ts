import type { OpenApiContract } from "./openapi";

export interface RecordedExchange {
  method: string;
  url: URL;
  status: number;
  contentType: string | null;
  /** Parsed JSON body, `undefined` for an empty body. */
  body: unknown;
}

/**
 * Wraps `globalThis.fetch` to keep a copy of every answer from `baseUrl`, so tests can drive an
 * official SDK and still check the raw JSON it received. `@clerk/backend` reads `globalThis.fetch`
 * per call when `NODE_ENV` is `test`, which vitest sets.
 */
export function recordFetch(baseUrl: string) {
  const original = globalThis.fetch;
  const exchanges: RecordedExchange[] = [];
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const response = await original(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.href.startsWith(baseUrl)) {
      const text = await response.clone().text();
      exchanges.push({
        method: (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase(),
        url,
        status: response.status,
        contentType: response.headers.get("content-type"),
        body: text === "" ? undefined : JSON.parse(text),
      });
    }
    return response;
  };
  return {
    exchanges,
    restore() {
      globalThis.fetch = original;
    },
  };
}

/** The spec path template (`/users/{user_id}`) a concrete path matches; literal segments win over params. */
export function specPathFor(contract: OpenApiContract, path: string): string {
  const candidates = Object.keys(contract.spec.paths as Record<string, unknown>).filter((template) => {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
    return new RegExp(`^${pattern}$`).test(path);
  });
  const best = candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
  if (!best) throw new Error(`no spec path matches ${path}`);
  return best;
}

/**
 * Checks every recorded answer against the response the spec declares for its operation and status.
 * Error statuses an operation does not list (429s the spec omits) are checked against `errorComponent`.
 */
export function assertExchangesMatchSpec(
  contract: OpenApiContract,
  exchanges: RecordedExchange[],
  options: { prefix: string; errorComponent: string },
) {
  for (const exchange of exchanges) {
    if (exchange.body === undefined) continue;
    const path = specPathFor(contract, exchange.url.pathname.slice(options.prefix.length));
    if (exchange.status >= 400 && !contract.declaresResponse(exchange.method, path, exchange.status)) {
      contract.assertComponent(options.errorComponent, exchange.body);
    } else {
      contract.assertResponse(exchange.method, path, exchange.status, exchange.body);
    }
  }
}
