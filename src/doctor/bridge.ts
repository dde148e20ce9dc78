import { BRIDGE_PATHS, type BridgeHealth, bridgeEndpoint } from "../bridge/routes";
import { parseJsonBody } from "./http";
import { type CheckResult, resultsFor } from "./types";

/** One HTTP exchange with the bridge: the status, or why there was none. */
export interface Probe {
  status?: number;
  ms: number;
  /** Set when no answer came: connection refused, timeout, DNS failure. */
  error?: string;
  /** The answer's JSON body, when it had one. */
  body?: unknown;
}

export interface BridgeFacts {
  url: string;
  health: Probe;
  /** Absent when the health probe got no answer: a bridge that is down proves nothing more. */
  unsignedWebhook?: Probe;
}

/** Svix wants a 2xx within 15 s; a health answer slower than this leaves little room for real work. */
const SLOW_HEALTH_MS = 3_000;

async function probe(url: string, init: RequestInit, timeoutMs: number): Promise<Probe> {
  const started = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, ms: Date.now() - started, body: parseJsonBody(await res.text()) };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const name = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : undefined;
    return {
      ms: Date.now() - started,
      error: name ?? cause?.code ?? cause?.message ?? (err as Error).message,
    };
  }
}

/** The routes `/health` reports unready, with the bridge's own words for problem and fix. */
function unreadyRoutes(health: Probe): Array<{ route: string; problem: string; fix: string }> {
  const routes = (health.body as BridgeHealth | undefined)?.routes;
  if (!routes || typeof routes !== "object") return [];
  return Object.entries(routes).flatMap(([route, readiness]) =>
    readiness && readiness.ready === false ? [{ route, problem: readiness.problem, fix: readiness.fix }] : [],
  );
}

/**
 * `GET /health`, then a POST to `/webhooks/clerk` without Svix headers. The probe body is an event type the
 * bridge ignores, so even a bridge that skips verification does nothing with it.
 */
export async function fetchBridgeFacts(bridgeUrl: string, timeoutMs = 10_000): Promise<BridgeFacts> {
  const base = bridgeUrl.replace(/\/+$/, "");
  // Both at once: a slow bridge costs one timeout, not two.
  const [health, unsignedWebhook] = await Promise.all([
    probe(bridgeEndpoint(base, BRIDGE_PATHS.health), { method: "GET" }, timeoutMs),
    probe(
      bridgeEndpoint(base, BRIDGE_PATHS.clerk),
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "doctor.probe", object: "event", data: {} }),
      },
      timeoutMs,
    ),
  ]);
  if (health.status === undefined) return { url: base, health };
  return { url: base, health, unsignedWebhook };
}

const bridge = resultsFor("bridge");

const DEPLOY_FIX =
  "check the ingest function's CloudWatch logs, then pulumi up (the bridgeUrl output is the Function URL)";

/** Words a health body may use for "fine"; anything else it reports is passed on as a warning. */
const HEALTHY = new Set(["ok", "healthy", "pass", "up", "ready"]);

/** `status` (or `state`) of a health body, whatever else its shape carries. */
function reportedStatus(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as { status?: unknown; state?: unknown };
  const value = typeof b.status === "string" ? b.status : typeof b.state === "string" ? b.state : undefined;
  return value?.toLowerCase();
}

export function checkBridgeHealth(facts: BridgeFacts | undefined): CheckResult {
  const id = "bridge.health";
  if (!facts) {
    return bridge.warn(
      id,
      "the bridge URL is unknown, so the bridge was not probed",
      "pass --bridge-url <Function URL> or --outputs <file from pulumi stack output --json>",
      { code: "not-checked" },
    );
  }
  const { health } = facts;
  const details = { url: `${facts.url}/health`, status: health.status, ms: health.ms, body: health.body };
  if (health.status === undefined) {
    return bridge.fail(
      id,
      `${facts.url}/health did not answer (${health.error}): the bridge is down`,
      DEPLOY_FIX,
      { code: "down", details },
    );
  }
  const unready = unreadyRoutes(health);
  if (unready.length > 0) {
    return bridge.fail(
      id,
      `${facts.url}/health: ${unready.map((u) => `the ${u.route} webhook route refuses every webhook: ${u.problem}`).join("; ")}`,
      unready.map((u) => u.fix).join("; "),
      { code: "route-unready", details },
    );
  }
  if (health.status < 200 || health.status > 299) {
    const error = (health.body as BridgeHealth | undefined)?.error;
    return bridge.fail(
      id,
      `${facts.url}/health answered HTTP ${health.status}${typeof error === "string" ? `: ${error}` : ""}`,
      DEPLOY_FIX,
      { code: "unhealthy", details },
    );
  }
  const reported = reportedStatus(health.body);
  if (reported && !HEALTHY.has(reported)) {
    return bridge.warn(
      id,
      `${facts.url}/health answered ${health.status} but reports "${reported}"`,
      DEPLOY_FIX,
      {
        code: "degraded",
        details,
      },
    );
  }
  if (health.ms > SLOW_HEALTH_MS) {
    return bridge.warn(
      id,
      `${facts.url}/health answered slower than ${SLOW_HEALTH_MS / 1000} s (Svix gives up after 15 s)`,
      "raise bridgeMemoryMb (more CPU, faster cold starts) and pulumi up",
      { code: "slow", details },
    );
  }
  return bridge.pass(id, `${facts.url}/health answered ${health.status}`, details);
}

/** Whether the bridge answers at all, which decides if Clerk still delivering a template is a failure. */
export const bridgeIsUp = (facts: BridgeFacts | undefined) =>
  facts?.health.status !== undefined && facts.health.status >= 200 && facts.health.status < 300;

export function checkSignatureEnforced(facts: BridgeFacts | undefined): CheckResult[] {
  const probe = facts?.unsignedWebhook;
  if (!facts || !probe) return [];
  const id = "bridge.signature";
  const url = bridgeEndpoint(facts.url, BRIDGE_PATHS.clerk);
  if (probe.status === 401) return [bridge.pass(id, `${url} rejects unsigned webhooks (401)`)];
  // A route without a usable secret refuses everything (bridge.health names why): it fails closed.
  if (probe.status === 503 && unreadyRoutes(facts.health).some((u) => u.route === "clerk")) {
    return [bridge.pass(id, `${url} refuses every webhook until its signing secret is set (503)`)];
  }
  const code = { code: probe.status === undefined ? "down" : "unverified" };
  const fix =
    "deploy the current bridge (pulumi up): ingest must verify svix-signature with the secret in the clerk webhook parameter before anything else";
  if (probe.status === undefined)
    return [bridge.fail(id, `${url} did not answer (${probe.error})`, DEPLOY_FIX, code)];
  const what =
    probe.status >= 200 && probe.status < 300
      ? "accepted an unsigned webhook: anyone can make it send mail or flag users"
      : "did not reject an unsigned webhook as unauthenticated";
  return [bridge.fail(id, `${url} ${what} (HTTP ${probe.status}, expected 401)`, fix, code)];
}
