import { ClerkAPIResponseError } from "@clerk/backend/errors";

/**
 * The three Backend API calls the worker makes, over global `fetch`. `createClerkClient()` evaluates the
 * whole SDK (every BAPI resource, JWT and request authentication, telemetry: about 110 KB, the largest
 * part of the worker's cold init) to use three `users` methods. Requests match the SDK's own
 * (`Clerk-API-Version`, bearer secret key, snake_case body keys) and failures throw the SDK's
 * `ClerkAPIResponseError`, so `src/lib/clerk-errors.ts` classifies them exactly as before.
 */

/** The BAPI version these requests and `specs/clerk/bapi-2026-05-12.yml` are written for. */
export const CLERK_API_VERSION = "2026-05-12";
export const CLERK_API_URL = "https://api.clerk.com";
/** Per request, answer included. Neither Clerk nor `fetch` bounds a call, and the worker's invocation is waiting. */
export const CLERK_TIMEOUT_MS = 8_000;

/** The part of a BAPI user the bridge reads, in the SDK's camelCase. */
export interface ClerkUserRecord {
  id: string;
  primaryEmailAddressId: string | null;
  emailAddresses: Array<{ id: string; emailAddress: string }>;
  publicMetadata: Record<string, unknown>;
  /** Clerk's `updated_at` (ms), to tell an older copy of the user from a newer one. */
  updatedAt?: number;
}

/** A subset of the SDK's `clerk.users`; the SDK's own client satisfies it too (the local server uses it). */
export interface ClerkUsersApi {
  getUser(userId: string): Promise<ClerkUserRecord>;
  getUserList(params: { emailAddress: string[]; limit: number }): Promise<{ data: ClerkUserRecord[] }>;
  /** Answers the user as written (the SDK's `User` has the same fields). */
  updateUserMetadata(
    userId: string,
    params: { publicMetadata: Record<string, unknown> },
  ): Promise<ClerkUserRecord | unknown>;
}

export interface ClerkUsersOptions {
  secretKey: string;
  apiUrl?: string;
  /** A request still unanswered then rejects with a `TimeoutError`, which the backoff retries. */
  timeoutMs?: number;
}

interface UserJson {
  id: string;
  primary_email_address_id?: string | null;
  email_addresses?: Array<{ id: string; email_address: string }>;
  public_metadata?: Record<string, unknown> | null;
  updated_at?: number;
}

export function clerkUsersClient(options: ClerkUsersOptions): { users: ClerkUsersApi } {
  if (!options.secretKey) {
    throw new Error(
      "Clerk secret key is empty: check the SSM parameter named by BRIDGE_PARAM_CLERK_SECRET_KEY",
    );
  }
  const base = `${(options.apiUrl ?? CLERK_API_URL).replace(/\/+$/, "")}/v1`;
  const timeoutMs = options.timeoutMs ?? CLERK_TIMEOUT_MS;
  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        authorization: `Bearer ${options.secretKey}`,
        "clerk-api-version": CLERK_API_VERSION,
        "content-type": "application/json",
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = response.headers.get("content-type")?.startsWith("application/json");
    const payload: unknown = json ? await response.json() : await response.text();
    if (!response.ok) throw responseError(response, payload);
    return payload as T;
  };
  return {
    users: {
      async getUser(userId) {
        return toRecord(await request<UserJson>("GET", `/users/${encodeURIComponent(userId)}`));
      },
      async getUserList({ emailAddress, limit }) {
        const query = new URLSearchParams(emailAddress.map((a): [string, string] => ["email_address", a]));
        query.set("limit", String(limit));
        const list = await request<UserJson[]>("GET", `/users?${query}`);
        return { data: list.map(toRecord) };
      },
      async updateUserMetadata(userId, { publicMetadata }) {
        return toRecord(
          await request<UserJson>("PATCH", `/users/${encodeURIComponent(userId)}/metadata`, {
            public_metadata: publicMetadata,
          }),
        );
      },
    },
  };
}

function toRecord(user: UserJson): ClerkUserRecord {
  return {
    id: user.id,
    primaryEmailAddressId: user.primary_email_address_id ?? null,
    emailAddresses: (user.email_addresses ?? []).map((e) => ({ id: e.id, emailAddress: e.email_address })),
    publicMetadata: user.public_metadata ?? {},
    ...(typeof user.updated_at === "number" ? { updatedAt: user.updated_at } : {}),
  };
}

/** The SDK's error for a failed call: status, Clerk's error list, trace id and `Retry-After` seconds. */
function responseError(response: Response, payload: unknown): ClerkAPIResponseError {
  const body = (payload && typeof payload === "object" ? payload : {}) as {
    errors?: unknown[];
    clerk_trace_id?: unknown;
  };
  const retryAfter = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  return new ClerkAPIResponseError(response.statusText || `HTTP ${response.status}`, {
    data: Array.isArray(body.errors) ? (body.errors as never[]) : [],
    status: response.status,
    clerkTraceId:
      typeof body.clerk_trace_id === "string" ? body.clerk_trace_id : (response.headers.get("cf-ray") ?? ""),
    ...(Number.isNaN(retryAfter) ? {} : { retryAfter }),
  });
}
