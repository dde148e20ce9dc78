import * as pulumi from "@pulumi/pulumi";
import { callVendorOk, delay, isUnknown, resendCall } from "./vendor-http";

export interface ResendApiKeyArgs {
  name: pulumi.Input<string>;
  /** `sending_access` for a key that may only send; `full_access` for everything. */
  permission: pulumi.Input<string>;
  /** A sending key restricted to this Resend domain may send only from it. */
  domainId?: pulumi.Input<string>;
  /**
   * How long a replaced (or destroyed) key keeps working before it is deleted: the longest invocation
   * that may still hold it, so a send that started with the old key does not fail half-way. Default 0.
   */
  retireAfterSeconds?: pulumi.Input<number>;
}

export interface ResendApiKeyInputs {
  name: string;
  permission: string;
  domainId?: string;
  retireAfterSeconds?: number;
}

export interface ResendApiKeyOutputs extends ResendApiKeyInputs {
  keyId: string;
  /** The bearer token: Resend shows it once, in the create answer, so state is its only copy. */
  token: string;
}

export const API_KEY_PERMISSIONS = ["full_access", "sending_access"] as const;
// Resend's dashboard refuses longer names.
const MAX_NAME_LENGTH = 50;
// Longer than any Lambda invocation (15 min): a longer wait only holds up the deployment.
const MAX_RETIRE_SECONDS = 900;
// A key's permission and domain cannot be changed through the API: a new key replaces it.
const CREATE_ONLY = ["permission", "domainId"] as const;

type Failure = { property: string; reason: string };

function inputProblems(news: Record<string, unknown>): Failure[] {
  const failures: Failure[] = [];
  const { name, permission, domainId, retireAfterSeconds } = news;
  if (!isUnknown(name) && (typeof name !== "string" || name.length < 1 || name.length > MAX_NAME_LENGTH)) {
    failures.push({
      property: "name",
      reason: `name must be 1-${MAX_NAME_LENGTH} characters (got ${JSON.stringify(name)})`,
    });
  }
  if (!isUnknown(permission) && !(API_KEY_PERMISSIONS as readonly unknown[]).includes(permission)) {
    failures.push({
      property: "permission",
      reason: `permission must be one of ${API_KEY_PERMISSIONS.join(", ")} (got ${JSON.stringify(permission)})`,
    });
  }
  if (domainId !== undefined && !isUnknown(domainId)) {
    if (typeof domainId !== "string" || domainId === "") {
      failures.push({ property: "domainId", reason: "domainId must be a Resend domain id" });
    } else if (permission === "full_access") {
      // Resend ignores the domain of a full-access key; accepting it would promise a restriction that is not there.
      failures.push({
        property: "domainId",
        reason: "domainId restricts only sending_access keys; remove it or use permission sending_access",
      });
    }
  }
  if (
    retireAfterSeconds !== undefined &&
    !isUnknown(retireAfterSeconds) &&
    !(
      typeof retireAfterSeconds === "number" &&
      retireAfterSeconds >= 0 &&
      retireAfterSeconds <= MAX_RETIRE_SECONDS
    )
  ) {
    failures.push({
      property: "retireAfterSeconds",
      reason: `retireAfterSeconds must be 0-${MAX_RETIRE_SECONDS} seconds (got ${JSON.stringify(retireAfterSeconds)})`,
    });
  }
  return failures;
}

class ResendApiKeyProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("resendApiKey");
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const inputs = {
      name: news.name,
      permission: news.permission,
      ...(news.domainId === undefined ? {} : { domainId: news.domainId }),
      ...(news.retireAfterSeconds === undefined ? {} : { retireAfterSeconds: news.retireAfterSeconds }),
    };
    return { inputs, failures: inputProblems(news) };
  }

  async diff(
    _id: string,
    olds: ResendApiKeyOutputs,
    news: ResendApiKeyInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces = CREATE_ONLY.filter((field) => (olds[field] ?? "") !== (news[field] ?? ""));
    const changes =
      replaces.length > 0 ||
      olds.name !== news.name ||
      (olds.retireAfterSeconds ?? 0) !== (news.retireAfterSeconds ?? 0);
    // Not deleteBeforeReplace: the new key exists (and reaches its users) before the old one is deleted.
    return { changes, replaces: [...replaces] };
  }

  async create(inputs: ResendApiKeyInputs): Promise<pulumi.dynamic.CreateResult> {
    // Resend cannot deduplicate key creation, and the token of a key made by a lost request is gone for good.
    const res = await callVendorOk({
      ...resendCall(this.configuredKey, "POST", "/api-keys", `create API key "${inputs.name}"`, {
        name: inputs.name,
        permission: inputs.permission,
        ...(inputs.domainId ? { domain_id: inputs.domainId } : {}),
      }),
      retryAmbiguous: false,
    });
    const id = res.body?.id;
    const token = res.body?.token;
    if (typeof id !== "string" || typeof token !== "string" || token === "") {
      throw new Error(
        `Resend answered the creation of API key "${inputs.name}" without an id and token; ` +
          "delete the key of that name in the Resend dashboard (API Keys) and run again.",
      );
    }
    const outs: ResendApiKeyOutputs = { ...inputs, keyId: id, token };
    return { id, outs };
  }

  /** The key as `GET /api-keys` lists it (there is no route for one key), or undefined when it is gone. */
  async find(id: string, name: string): Promise<{ id: string; name: string } | undefined> {
    let after: string | undefined;
    for (;;) {
      const query = `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const res = await callVendorOk(
        resendCall(this.configuredKey, "GET", `/api-keys${query}`, `list API keys to find "${name}"`),
      );
      const page = (res.body?.data ?? []) as { id: string; name: string }[];
      const found = page.find((key) => key.id === id);
      if (found) return found;
      if (!res.body?.has_more || page.length === 0) return undefined;
      after = page.at(-1)?.id;
    }
  }

  async read(id: string, props: ResendApiKeyOutputs): Promise<pulumi.dynamic.ReadResult> {
    const found = await this.find(id, props?.name ?? id);
    // Deleted outside Pulumi: refresh drops it, and the next `up` creates a new key and stores its token.
    if (!found) return {};
    return { id, props: { ...props, keyId: id, name: found.name } };
  }

  async update(
    id: string,
    olds: ResendApiKeyOutputs,
    news: ResendApiKeyInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    if (news.name !== olds.name) {
      await callVendorOk(
        resendCall(this.configuredKey, "PATCH", `/api-keys/${id}`, `rename API key "${olds.name}"`, {
          name: news.name,
        }),
      );
    }
    const { retireAfterSeconds: _previous, ...kept } = olds;
    const retire =
      news.retireAfterSeconds === undefined ? {} : { retireAfterSeconds: news.retireAfterSeconds };
    return { outs: { ...kept, name: news.name, ...retire } };
  }

  async delete(id: string, props: ResendApiKeyOutputs): Promise<void> {
    // A replacement deletes the old key after its users were switched to the new one, but an invocation
    // that started before the switch may still be sending with it.
    const retireAfterSeconds = props?.retireAfterSeconds ?? 0;
    if (retireAfterSeconds > 0) await delay(retireAfterSeconds * 1000);
    await callVendorOk(
      resendCall(this.configuredKey, "DELETE", `/api-keys/${id}`, `delete API key "${props?.name ?? id}"`),
      [404],
    );
  }
}

/**
 * A Resend API key. Its token exists only in the create answer, so it is kept in state as a secret output;
 * the key is deleted on destroy, and a replacement creates the new key before the old one is deleted (after
 * `retireAfterSeconds`, so work that started with the old key can finish).
 */
export class ResendApiKey extends pulumi.dynamic.Resource {
  declare readonly keyId: pulumi.Output<string>;
  declare readonly token: pulumi.Output<string>;

  constructor(name: string, args: ResendApiKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new ResendApiKeyProvider(),
      name,
      { keyId: undefined, token: undefined, ...args },
      { ...opts, additionalSecretOutputs: ["token"] },
      "resend",
      "ApiKey",
    );
  }
}
