import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsJsonClient } from "../../src/bridge/aws/client";
import { BridgeConfigError } from "../../src/bridge/config";
import {
  cachedSecretSource,
  readSecretCachePolicy,
  SecretsError,
  type SecretValues,
  ssmSecretSource,
  withCurrentKey,
} from "../../src/bridge/secrets";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { StandInServer } from "../../src/sandbox/core/server";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";

const A = newSigningSecret();
const B = newSigningSecret();
const keyOf = (secret: string) => Buffer.from(secret.slice("whsec_".length), "base64");

/** A loopback SSM that speaks the AWS JSON 1.1 protocol for GetParameters, called by the bridge's SSM client. */
describe("ssmSecretSource through the signed-fetch SSM client", () => {
  const params: Record<string, string> = {
    "/bridge/resend": "re_live_secret",
    "/bridge/clerk": "sk_live_secret",
    "/bridge/clerk-wh": `${A} ${B}`,
    "/bridge/resend-wh": `${A}\n`,
  };
  const calls: Array<{ names: string[]; decrypt: boolean }> = [];
  const ssm = new StandInServer("ssm", {
    notFound: () => ({ status: 400, body: { __type: "UnknownOperationException" } }),
    badJson: () => ({ status: 400, body: { __type: "SerializationException" } }),
    contentType: "application/x-amz-json-1.1",
  });
  let client: AwsJsonClient;
  const names = {
    resendApiKey: "/bridge/resend",
    clerkSecretKey: "/bridge/clerk",
    clerkWebhookSecret: "/bridge/clerk-wh",
    resendWebhookSecret: "/bridge/resend-wh",
  };

  beforeAll(async () => {
    ssm.route("POST", "/", (req) => {
      const input = req.json() as { Names: string[]; WithDecryption: boolean };
      calls.push({ names: input.Names, decrypt: input.WithDecryption });
      return {
        status: 200,
        body: {
          Parameters: input.Names.filter((n) => n in params).map((n) => ({
            Name: n,
            Type: "SecureString",
            Value: params[n],
          })),
          InvalidParameters: input.Names.filter((n) => !(n in params)),
        },
      };
    });
    client = new AwsJsonClient("ssm", {
      endpoint: await ssm.listen(),
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  });
  afterAll(() => ssm.close());
  beforeEach(() => {
    calls.length = 0;
  });

  it("reads all parameters in one decrypted call, parses the webhook secrets into keys, and caches", async () => {
    const source = ssmSecretSource(client, names);
    const first = await source.current();
    const second = await source.current();
    expect(first.secrets.resendApiKey).toBe("re_live_secret");
    expect(first.secrets.clerkSecretKey).toBe("sk_live_secret");
    expect(first.secrets.webhooks.clerk).toEqual({
      state: "ready",
      keys: [keyOf(A), keyOf(B)],
      parameter: "/bridge/clerk-wh",
    });
    expect(first.secrets.webhooks.resend).toEqual({
      state: "ready",
      keys: [keyOf(A)],
      parameter: "/bridge/resend-wh",
    });
    expect(second).toBe(first);
    expect(calls).toEqual([{ names: Object.values(names), decrypt: true }]);
  });

  it("reads the unset marker as unset and placeholders or weak secrets as invalid, naming the parameter only", async () => {
    for (const [value, expected] of [
      [WEBHOOK_SECRET_UNSET, { state: "unset" }],
      ["unregistered", { state: "invalid", problems: ['must start with "whsec_"'] }],
      ["whsec_", { state: "invalid", problems: ["must hold a key of at least 24 bytes (it holds 0)"] }],
      ["whsec_AAAA", { state: "invalid", problems: ["must hold a key of at least 24 bytes (it holds 3)"] }],
      ["whsec_!!!!", { state: "invalid" }],
    ] as const) {
      params["/bridge/clerk-wh"] = value;
      const { secrets } = await ssmSecretSource(client, names).current();
      expect(secrets.webhooks.clerk, value).toMatchObject({ ...expected, parameter: "/bridge/clerk-wh" });
      expect(JSON.stringify(secrets.webhooks.clerk)).not.toContain(value);
      expect(secrets.webhooks.resend.state).toBe("ready");
    }
    params["/bridge/clerk-wh"] = `${A} ${B}`;
  });

  it("names a missing parameter without revealing any value, and retries on the next call", async () => {
    const source = ssmSecretSource(client, { ...names, resendApiKey: "/bridge/missing" });
    const err = await source.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsError);
    expect(String(err)).toContain("/bridge/missing");
    expect(String(err)).not.toContain("sk_live_secret");
    params["/bridge/missing"] = "re_late";
    expect((await source.current()).secrets.resendApiKey).toBe("re_late");
  });
});

describe("cachedSecretSource", () => {
  let values: SecretValues;
  let reads: number;
  let failReads: boolean;
  let clock: number;
  let staleErrors: unknown[];
  const read = async () => {
    reads++;
    await new Promise((resolve) => setImmediate(resolve));
    if (failReads) throw new SecretsError("SSM throttled");
    return { ...values };
  };
  const source = () =>
    cachedSecretSource(read, {
      policy: { maxAgeMs: 60_000, minReloadIntervalMs: 5_000 },
      now: () => clock,
      onStaleReadError: (err) => staleErrors.push(err),
    });

  beforeEach(() => {
    values = { clerkWebhookSecret: A };
    reads = 0;
    failReads = false;
    clock = 1_000_000;
    staleErrors = [];
  });

  it("re-reads once the max age has passed, and keeps the version when nothing changed", async () => {
    const s = source();
    const first = await s.current();
    clock += 59_999;
    expect(await s.current()).toBe(first);
    expect(reads).toBe(1);
    clock += 1;
    expect(await s.current()).toBe(first);
    expect(reads).toBe(2);
    values = { clerkWebhookSecret: B };
    clock += 60_000;
    const changed = await s.current();
    expect(changed.version).toBe(first.version + 1);
    expect(changed.secrets.webhooks.clerk).toMatchObject({ state: "ready", keys: [keyOf(B)] });
  });

  it("reloads after a refusal at most once per interval, shared by concurrent callers", async () => {
    const s = source();
    const first = await s.current();
    values = { clerkWebhookSecret: B };
    // Read a moment ago: a refusal now does not re-read.
    clock += 4_999;
    expect(await s.reloadAfter(first.version)).toBeUndefined();
    expect(reads).toBe(1);
    // A flood of refusals once the interval has passed: one read, every caller gets its result.
    clock += 1;
    const results = await Promise.all(Array.from({ length: 50 }, () => s.reloadAfter(first.version)));
    expect(reads).toBe(2);
    expect(new Set(results).size).toBe(1);
    expect(results[0]?.version).toBe(first.version + 1);
    // Those callers' next refusal finds nothing newer and no read is allowed yet.
    expect(await s.reloadAfter(first.version + 1)).toBeUndefined();
    expect(reads).toBe(2);
  });

  it("a reload that finds the same values gives nothing newer to retry with", async () => {
    const s = source();
    const first = await s.current();
    clock += 5_000;
    expect(await s.reloadAfter(first.version)).toBeUndefined();
    expect(reads).toBe(2);
  });

  it("a failed re-read keeps the secrets already held and is not retried before the interval", async () => {
    const s = source();
    const first = await s.current();
    failReads = true;
    clock += 60_000;
    expect(await s.current()).toBe(first);
    expect(staleErrors.map((e) => (e as Error).message)).toEqual(["SSM throttled"]);
    expect(await s.current()).toBe(first);
    expect(reads).toBe(2);
    failReads = false;
    clock += 5_000;
    expect(await s.current()).toBe(first);
    expect(reads).toBe(3);
  });

  it("a failed first read is not cached", async () => {
    failReads = true;
    const s = source();
    await expect(s.current()).rejects.toThrow("SSM throttled");
    failReads = false;
    expect((await s.current()).secrets.webhooks.clerk.state).toBe("ready");
  });
});

describe("withCurrentKey", () => {
  it("retries once with a key rotated in the store after a refusal, and not when the key is unchanged", async () => {
    let values: SecretValues = { resendApiKey: "re_old" };
    let clock = 0;
    const s = cachedSecretSource(async () => ({ ...values }), {
      policy: { maxAgeMs: 60_000, minReloadIntervalMs: 5_000 },
      now: () => clock,
    });
    const used: string[] = [];
    const call = async (key: string) => {
      used.push(key);
      return key === "re_new" ? 200 : 401;
    };
    const refused = (o: PromiseSettledResult<number>) => o.status === "fulfilled" && o.value === 401;
    expect(await withCurrentKey(s, (x) => x.resendApiKey, call, refused)).toBe(401);
    clock += 5_000;
    expect(await withCurrentKey(s, (x) => x.resendApiKey, call, refused)).toBe(401);
    values = { resendApiKey: "re_new" };
    clock += 5_000;
    expect(await withCurrentKey(s, (x) => x.resendApiKey, call, refused)).toBe(200);
    expect(used).toEqual(["re_old", "re_old", "re_old", "re_new"]);
  });
});

describe("readSecretCachePolicy", () => {
  it("reads BRIDGE_SECRETS_MAX_AGE_SECONDS and names it when it is not a number of seconds", () => {
    expect(readSecretCachePolicy({}).maxAgeMs).toBe(60_000);
    expect(readSecretCachePolicy({ BRIDGE_SECRETS_MAX_AGE_SECONDS: "15" }).maxAgeMs).toBe(15_000);
    for (const bad of ["0", "-5", "1e3", "ten", "1.5"]) {
      expect(() => readSecretCachePolicy({ BRIDGE_SECRETS_MAX_AGE_SECONDS: bad })).toThrow(BridgeConfigError);
      expect(() => readSecretCachePolicy({ BRIDGE_SECRETS_MAX_AGE_SECONDS: bad })).toThrow(
        "BRIDGE_SECRETS_MAX_AGE_SECONDS",
      );
    }
  });
});
