import { randomBytes } from "node:crypto";
import { uuid } from "../core/ids";
import { pgTimestamp } from "./clock";
import { apiRoute, type ResendContext } from "./context";
import { invalidField, notFound } from "./errors";
import { findByUuid, objectBody, optionalEnum, optionalString, requiredString } from "./fields";
import { paginate } from "./pagination";

export const API_KEY_PERMISSIONS = ["full_access", "sending_access"] as const;
export type ApiKeyPermission = (typeof API_KEY_PERMISSIONS)[number];

/** The dashboard refuses longer names (docs `create-an-api-key`: "maximum 50 characters"). */
const MAX_NAME_LENGTH = 50;

export interface ApiKeyState {
  id: string;
  name: string;
  /** The bearer token; Resend shows it once, in the create answer, and never again. */
  token: string;
  permission: ApiKeyPermission;
  /** `sending_access` keys restricted to one domain may send only from that domain. */
  domainId?: string;
  createdAt: Date;
  lastUsedAt?: Date;
}

/** What the sandbox's inspection shows of a key: everything but its token. */
export type ApiKeyView = Omit<ApiKeyState, "token">;

/** Looks like a real key (`re_` + id + `_` + secret) so code that checks the prefix accepts it. */
export function newApiKeyToken(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const pick = (n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
  return `re_${pick(8)}_${pick(24)}`;
}

/**
 * The team's API keys: the ones the stand-in starts with (full access) and those created through
 * `POST /api-keys`. Every request is authenticated against it, so a deleted key stops working at once.
 */
export class ApiKeyRegistry {
  /** By id, in creation order. */
  private readonly keys = new Map<string, ApiKeyState>();
  private readonly byToken = new Map<string, ApiKeyState>();

  constructor(initialTokens: readonly string[]) {
    initialTokens.forEach((token, index) => {
      this.add({ name: `Sandbox key ${index + 1}`, token, permission: "full_access" });
    });
  }

  /** The key a bearer token belongs to (and marks it used), or undefined for an unknown token. */
  authenticate(token: string): ApiKeyState | undefined {
    const key = this.byToken.get(token);
    if (key) key.lastUsedAt = new Date();
    return key;
  }

  list(): ApiKeyView[] {
    return [...this.keys.values()].map(({ token: _token, ...view }) => ({ ...view }));
  }

  register(ctx: ResendContext): void {
    const find = (id: string | undefined) => findByUuid(this.keys, id, "api_key_id", "API key");

    apiRoute(ctx, "POST", "/api-keys", (req) => {
      const body = objectBody(req.json());
      const name = keyName(requiredString(body, "name"));
      const permission = optionalEnum(body, "permission", API_KEY_PERMISSIONS) ?? "full_access";
      const domainId = optionalString(body, "domain_id");
      // `domain_id` only restricts sending keys (OAS: "Only used when the permission is sending_access").
      if (permission === "sending_access" && domainId !== undefined && !ctx.domains.has(domainId)) {
        throw notFound("Domain");
      }
      const key = this.add({
        name,
        token: newApiKeyToken(),
        permission,
        ...(permission === "sending_access" && domainId ? { domainId } : {}),
      });
      return { status: 201, body: { id: key.id, token: key.token } };
    });

    apiRoute(ctx, "GET", "/api-keys", (req) => {
      const items = [...this.keys.values()].reverse().map((key) => ({
        id: key.id,
        name: key.name,
        created_at: pgTimestamp(key.createdAt),
        last_used_at: key.lastUsedAt ? pgTimestamp(key.lastUsedAt) : null,
      }));
      return { status: 200, body: paginate(items, req.query) };
    });

    apiRoute(ctx, "PATCH", "/api-keys/:id", (req) => {
      const key = find(req.params.id);
      key.name = keyName(requiredString(objectBody(req.json()), "name"));
      return { status: 200, body: { object: "api_key", id: key.id } };
    });

    apiRoute(ctx, "DELETE", "/api-keys/:id", (req) => {
      const key = find(req.params.id);
      this.keys.delete(key.id);
      this.byToken.delete(key.token);
      return { status: 200, body: { object: "api_key", id: key.id, deleted: true } };
    });
  }

  private add(fields: Pick<ApiKeyState, "name" | "token" | "permission" | "domainId">): ApiKeyState {
    const key: ApiKeyState = { id: uuid(), createdAt: new Date(), ...fields };
    this.keys.set(key.id, key);
    this.byToken.set(key.token, key);
    return key;
  }
}

function keyName(name: string): string {
  if (name.length > MAX_NAME_LENGTH) {
    throw invalidField(`The \`name\` field must be at most ${MAX_NAME_LENGTH} characters.`);
  }
  return name;
}
