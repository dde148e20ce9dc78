import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../src/bridge/events";
import { createIngestHandler, type IngestDeps, type IngestHandler } from "../../src/bridge/ingest";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { cachedSecretSource, type SecretValues, staticSecretSource } from "../../src/bridge/secrets";
import { webhookAuthFrom } from "../../src/bridge/signature";
import { BridgeStore, PENDING_CLAIM_TTL_SECONDS } from "../../src/bridge/store";
import { createTelemetry, METRICS } from "../../src/bridge/telemetry";
import { newSigningSecret, prefixedId } from "../../src/sandbox/core/ids";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";
import {
  clerkEmailCreated,
  clerkUserDeleted,
  clerkUserEvent,
  functionUrlEvent,
  resendEmailEvent,
  resendSuppressionEvent,
  type SignedRequest,
  signed,
  signedWithKey,
} from "./fixtures";

const clerkSecret = newSigningSecret();
const clerkNextSecret = newSigningSecret();
const resendSecret = newSigningSecret();
const TABLE = "ingest-test";

type Request = SignedRequest;

describe("ingest handler", () => {
  let dynamo: LocalDynamo;
  let clock: number;
  let store: BridgeStore;
  let queued: QueueMessage[];
  let failEnqueue: boolean;
  let lines: Array<Record<string, unknown>>;
  let telemetry: ReturnType<typeof createTelemetry>;
  const queue: IngestDeps["queue"] = {
    async send(message) {
      if (failEnqueue) throw new Error("SQS unavailable");
      queued.push(message);
    },
  };
  const handler = (auth: IngestDeps["auth"], overrides: Partial<IngestDeps> = {}) =>
    createIngestHandler({ store, queue, auth, telemetry, maxBodyBytes: 64 * 1024, ...overrides });
  let ingest: IngestHandler;
  const claimOf = (source: string, svixId: string) =>
    dynamo.client.get(TABLE, { pk: `delivery#${source}#${svixId}`, sk: "delivery" });

  beforeAll(async () => {
    dynamo = await startLocalDynamo(TABLE);
    store = new BridgeStore(dynamo.client, TABLE, () => clock);
    telemetry = createTelemetry({
      env: {},
      emitMetrics: false,
      write: (line) => lines.push(JSON.parse(line)),
    });
    ingest = handler(
      webhookAuthFrom(
        staticSecretSource({
          clerkWebhookSecret: `${clerkSecret} ${clerkNextSecret}`,
          resendWebhookSecret: resendSecret,
        }),
      ),
    );
  });
  afterAll(() => dynamo.close());
  beforeEach(() => {
    queued = [];
    failEnqueue = false;
    lines = [];
    clock = Date.now();
  });

  const post = (path: string, req: Request, base64 = false, on = ingest) =>
    on(functionUrlEvent("POST", path, req, { base64 }));
  const bodyOf = (res: { body?: string }) => JSON.parse(res.body ?? "{}") as Record<string, unknown>;

  it("queues a self-delivered email.created as a send job, from a base64-encoded body", async () => {
    const event = clerkEmailCreated("delivered@resend.dev", { userId: "user_1" });
    const res = await post("/webhooks/clerk", signed(event, [clerkSecret]), true);
    expect(res.statusCode).toBe(202);
    expect(queued).toHaveLength(1);
    const job = queued[0]?.job;
    expect(job?.kind).toBe("send");
    if (job?.kind !== "send") return;
    expect(job.to).toBe("delivered@resend.dev");
    expect(job.clerkEmailId).toBe((event.data as { id: string }).id);
    expect(job.userId).toBe("user_1");
    expect(job.html).toContain("<html");
  });

  it("accepts either secret during a rotation", async () => {
    const res = await post("/webhooks/clerk", signed(clerkEmailCreated("a@x.test"), [clerkNextSecret]));
    expect(res.statusCode).toBe(202);
  });

  it("refuses tampered, unsigned, wrongly keyed, stale and malformed deliveries with 401 and no side effect", async () => {
    const msgId = prefixedId("msg");
    const good = signed(clerkEmailCreated("a@x.test"), [clerkSecret], { msgId });
    const cases = {
      tampered: { ...good, body: good.body.replace("a@x.test", "b@x.test") },
      absent: { body: good.body, headers: { "content-type": "application/json" } },
      wrongKey: signed(clerkEmailCreated("a@x.test"), [resendSecret], { msgId }),
      stale: signed(clerkEmailCreated("a@x.test"), [clerkSecret], {
        msgId,
        at: new Date(Date.now() - 6 * 60_000),
      }),
      signatureJunk: {
        ...good,
        headers: { ...good.headers, "svix-signature": `${good.headers["svix-signature"]}junk` },
      },
      signatureTrailingEntry: {
        ...good,
        headers: { ...good.headers, "svix-signature": `${good.headers["svix-signature"]} junk` },
      },
      timestampJunk: {
        ...good,
        headers: { ...good.headers, "svix-timestamp": `${good.headers["svix-timestamp"]} ` },
      },
      timestampHex: {
        ...good,
        headers: {
          ...good.headers,
          "svix-timestamp": `0x${Number(good.headers["svix-timestamp"]).toString(16)}`,
        },
      },
    };
    for (const [name, req] of Object.entries(cases)) {
      const res = await post("/webhooks/clerk", req);
      expect(res.statusCode, name).toBe(401);
    }
    expect(queued).toHaveLength(0);
    expect(await claimOf("clerk", msgId)).toBeUndefined();
    // The svix-id was never claimed, so the genuine delivery still goes through.
    expect((await post("/webhooks/clerk", good)).statusCode).toBe(202);
  });

  it("refuses everything signed with what a placeholder or weak secret decodes to: 503, nothing claimed or queued", async () => {
    for (const placeholder of ["unregistered", "whsec_", "whsec_AAAA", "whsec_!!!!"]) {
      const weak = handler(
        webhookAuthFrom(
          staticSecretSource({ clerkWebhookSecret: placeholder, resendWebhookSecret: resendSecret }),
        ),
      );
      // The key main's verifier derived from this value: the secret minus `whsec_`, base64-decoded leniently.
      const key = Buffer.from(placeholder.replace(/^whsec_/, ""), "base64");
      const forgeries = [
        signedWithKey(clerkEmailCreated("victim@example.com"), key),
        signedWithKey(clerkUserDeleted("user_victim"), key),
      ];
      for (const forged of forgeries) {
        const res = await post("/webhooks/clerk", forged, false, weak);
        expect(res.statusCode, placeholder).toBe(503);
        expect(bodyOf(res).error).toContain("the Clerk webhook signing secret is not a valid whsec_ secret");
        expect(await claimOf("clerk", forged.headers["svix-id"] as string)).toBeUndefined();
      }
      // The other route keeps working.
      const resend = signed(resendEmailEvent("email.delivered", "a@x.test"), [resendSecret]);
      expect((await post("/webhooks/resend", resend, false, weak)).statusCode).toBe(202);
    }
    expect(queued.map((m) => m.source)).toEqual(["resend", "resend", "resend", "resend"]);
    // Logged as a configuration error naming the parameter's role, counted, never the value.
    const errors = lines.filter(
      (l) => l.message === "webhook refused: the route's signing secret parameter is invalid",
    );
    expect(errors).toHaveLength(8);
    expect(errors[0]).toMatchObject({ level: "ERROR", source: "clerk", parameter: "clerkWebhookSecret" });
    expect(JSON.stringify(lines)).not.toContain("unregistered");
    expect(JSON.stringify(lines)).not.toContain("whsec_AAAA");
    expect(telemetry.totals[METRICS.secretInvalid]).toBeGreaterThanOrEqual(8);
  });

  it("an unset secret closes that route only, with the reason and the fix; /health says which", async () => {
    const half = handler(
      webhookAuthFrom(
        staticSecretSource({ clerkWebhookSecret: WEBHOOK_SECRET_UNSET, resendWebhookSecret: resendSecret }),
      ),
    );
    const forged = signed(clerkEmailCreated("a@x.test"), [clerkSecret]);
    const refused = await post("/webhooks/clerk", forged, false, half);
    expect(refused.statusCode).toBe(503);
    expect(bodyOf(refused)).toEqual({
      error: expect.stringMatching(
        /^the Clerk webhook signing secret is not set yet: register the endpoint in the Clerk Dashboard.*clerkWebhookSigningSecret/,
      ),
      reason: "secret_unset",
    });
    expect(await claimOf("clerk", forged.headers["svix-id"] as string)).toBeUndefined();
    const resend = signed(resendEmailEvent("email.delivered", "a@x.test"), [resendSecret]);
    expect((await post("/webhooks/resend", resend, false, half)).statusCode).toBe(202);
    expect(queued.map((m) => m.source)).toEqual(["resend"]);

    const health = await half(functionUrlEvent("GET", "/health"));
    expect(health.statusCode).toBe(503);
    expect(bodyOf(health)).toEqual({
      status: "unready",
      routes: {
        clerk: {
          ready: false,
          problem: "the Clerk webhook signing secret is not set yet",
          fix: expect.stringContaining("clerkWebhookSigningSecret"),
        },
        resend: { ready: true },
      },
    });
    const ok = await ingest(functionUrlEvent("GET", "/health"));
    expect(ok.statusCode).toBe(200);
    expect(bodyOf(ok)).toEqual({ status: "ok", routes: { clerk: { ready: true }, resend: { ready: true } } });
  });

  it("answers 400 to an over-long or malformed svix-id before any DynamoDB call", async () => {
    const calls: string[] = [];
    const recording = handler(authOf(), {
      store: {
        claimDelivery(...args) {
          calls.push("claim");
          return store.claimDelivery(...args);
        },
        confirmDelivery(...args) {
          calls.push("confirm");
          return store.confirmDelivery(...args);
        },
        releaseDelivery(...args) {
          calls.push("release");
          return store.releaseDelivery(...args);
        },
      },
    });
    for (const msgId of ["m".repeat(257), "msg with spaces", "msg_\u00e9t\u00e9", "m".repeat(5_000)]) {
      const res = await post(
        "/webhooks/clerk",
        signed(clerkEmailCreated("a@x.test"), [clerkSecret], { msgId }),
        false,
        recording,
      );
      expect(res.statusCode, msgId.slice(0, 20)).toBe(400);
      expect(bodyOf(res).error).toBe("svix-id must be 1 to 256 printable ASCII characters without spaces");
    }
    expect(calls).toEqual([]);
    expect(queued).toHaveLength(0);
    const longest = signed(clerkEmailCreated("a@x.test"), [clerkSecret], { msgId: "m".repeat(256) });
    expect((await post("/webhooks/clerk", longest, false, recording)).statusCode).toBe(202);
    expect(calls).toEqual(["claim", "confirm"]);
  });

  it("dedupes redeliveries of the same svix-id", async () => {
    const req = signed(resendEmailEvent("email.bounced", "bounced@resend.dev"), [resendSecret]);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("/webhooks/resend", req)).statusCode);
    expect(statuses).toEqual([202, 200, 200]);
    expect(queued).toHaveLength(1);
  });

  it("deliveries of one svix-id at once: exactly one is queued, the others are asked to retry", async () => {
    // The winner's enqueue is held until every other delivery has been answered.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated = handler(authOf(), {
      queue: {
        async send(message) {
          await gate;
          queued.push(message);
        },
      },
    });
    const req = signed(resendEmailEvent("email.bounced", "race@resend.dev"), [resendSecret]);
    const answered: number[] = [];
    const all = Array.from({ length: 6 }, () =>
      post("/webhooks/resend", req, false, gated).then((r) => {
        answered.push(r.statusCode ?? 0);
        if (answered.length === 5) open();
      }),
    );
    await Promise.all(all);
    expect(answered).toEqual([409, 409, 409, 409, 409, 202]);
    expect(queued).toHaveLength(1);
    expect((await post("/webhooks/resend", req, false, gated)).statusCode).toBe(200);
  });

  it("releases the dedupe claim when enqueueing fails, so the sender's retry is processed", async () => {
    const req = signed(resendEmailEvent("email.complained", "complained@resend.dev"), [resendSecret]);
    failEnqueue = true;
    expect((await post("/webhooks/resend", req)).statusCode).toBe(500);
    expect(await claimOf("resend", req.headers["svix-id"] as string)).toBeUndefined();
    failEnqueue = false;
    expect((await post("/webhooks/resend", req)).statusCode).toBe(202);
    expect(queued).toHaveLength(1);
  });

  it("a claim left pending by a dead invocation answers retries 409 until it expires, then the retry is queued once", async () => {
    const req = signed(clerkEmailCreated("delivered+orphan@resend.dev"), [clerkSecret]);
    const svixId = req.headers["svix-id"] as string;
    // The invocation died between its claim and its enqueue: the claim is all that is left.
    expect((await store.claimDelivery("clerk", svixId)).outcome).toBe("claimed");
    const early = await post("/webhooks/clerk", req);
    expect(early.statusCode).toBe(409);
    expect(bodyOf(early)).toMatchObject({ status: "in_progress" });
    expect(queued).toHaveLength(0);
    clock += (PENDING_CLAIM_TTL_SECONDS + 1) * 1000;
    expect((await post("/webhooks/clerk", req)).statusCode).toBe(202);
    expect((await post("/webhooks/clerk", req)).statusCode).toBe(200);
    expect(queued.map((m) => m.svixId)).toEqual([svixId]);
  });

  it("gives the enqueue a deadline inside the invocation, and releases the claim before the function ends", async () => {
    let sendDeadline: number | undefined;
    const hanging = handler(authOf(), {
      queue: {
        send: (_message, options) =>
          new Promise((_, reject) => {
            sendDeadline = options?.deadlineAt;
            // Like the SQS client: gives up at the deadline it was given.
            setTimeout(
              () => reject(new Error("TimeoutError")),
              Math.max(0, (options?.deadlineAt ?? 0) - Date.now()),
            );
          }),
      },
    });
    const req = signed(resendEmailEvent("email.bounced", "slow@resend.dev"), [resendSecret]);
    const started = Date.now();
    const res = await hanging(functionUrlEvent("POST", "/webhooks/resend", req), {
      getRemainingTimeInMillis: () => 2_500,
    });
    const took = Date.now() - started;
    expect(res.statusCode).toBe(500);
    // 2.5 s left, less the margin for the answer and the reserve for the release.
    expect(sendDeadline).toBeGreaterThanOrEqual(started + 2_500 - 250 - 1_500);
    expect(sendDeadline).toBeLessThanOrEqual(started + 2_500 - 250 - 1_500 + took);
    expect(took).toBeLessThan(2_500);
    expect(await claimOf("resend", req.headers["svix-id"] as string)).toBeUndefined();
    expect((await post("/webhooks/resend", req)).statusCode).toBe(202);
  });

  it("logs the svix-id when neither the enqueue nor the claim's release worked", async () => {
    const stuck = handler(authOf(), {
      store: {
        claimDelivery: async () => ({ outcome: "claimed", token: "t" }),
        confirmDelivery: async () => true,
        releaseDelivery: async () => {
          throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
        },
      },
      queue: {
        async send() {
          throw new Error("SQS unavailable");
        },
      },
    });
    const req = signed(resendEmailEvent("email.bounced", "bounced@resend.dev"), [resendSecret]);
    const result = await stuck(functionUrlEvent("POST", "/webhooks/resend", req));
    expect(result.statusCode).toBe(500);
    const unreleased = lines.find((l) => String(l.message).includes("dedupe claim not released"));
    expect(unreleased).toMatchObject({
      level: "ERROR",
      svixId: req.headers["svix-id"],
      error: "ThrottlingException",
    });
  });

  it("uses a secret rotated in the store at the next request: reloads after a refusal, at most once per interval", async () => {
    const A = newSigningSecret();
    const B = newSigningSecret();
    let values: SecretValues = { clerkWebhookSecret: A, resendWebhookSecret: resendSecret };
    let reads = 0;
    const rotating = handler(
      webhookAuthFrom(
        cachedSecretSource(
          async () => {
            reads++;
            return { ...values };
          },
          { policy: { maxAgeMs: 60_000, minReloadIntervalMs: 5_000 }, now: () => clock },
        ),
      ),
    );
    const send = (secret: string) =>
      post("/webhooks/clerk", signed(clerkEmailCreated("a@x.test"), [secret]), false, rotating).then(
        (r) => r.statusCode,
      );
    expect(await send(A)).toBe(202);
    // The rotation's overlap starts: both verify, B at its first use once the last read is 5 s old.
    values = { ...values, clerkWebhookSecret: `${A} ${B}` };
    expect(await send(B)).toBe(401);
    clock += 5_000;
    expect(await send(B)).toBe(202);
    expect(await send(A)).toBe(202);
    expect(reads).toBe(2);
    // The overlap ends: A is refused once the cache has expired, without a read per refusal.
    values = { ...values, clerkWebhookSecret: B };
    clock += 60_000;
    const forged = await Promise.all(Array.from({ length: 20 }, () => send(A)));
    expect(forged).toEqual(Array(20).fill(401));
    expect(reads).toBe(3);
    expect(await send(B)).toBe(202);
    expect(reads).toBe(3);
  });

  it("answers 400 naming the problem for malformed payloads", async () => {
    const notJson = await post("/webhooks/clerk", signed("{not json", [clerkSecret]));
    expect(notJson.statusCode).toBe(400);
    const event = clerkEmailCreated("a@x.test");
    delete (event.data as Record<string, unknown>).subject;
    const missing = await post("/webhooks/clerk", signed(event, [clerkSecret]));
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("data.subject");
    const bounce = resendEmailEvent("email.bounced", "x@y.test");
    delete (bounce.data as Record<string, unknown>).bounce;
    expect((await post("/webhooks/resend", signed(bounce, [resendSecret]))).body).toContain("data.bounce");
    expect(queued).toHaveLength(0);
  });

  it("acknowledges but ignores unknown events and emails Clerk delivers itself", async () => {
    const unknown = await post(
      "/webhooks/clerk",
      signed({ type: "session.created", data: {} }, [clerkSecret]),
    );
    expect(unknown.statusCode).toBe(200);
    expect(bodyOf(unknown)).toMatchObject({ status: "ignored" });
    const byClerk = clerkEmailCreated("a@x.test", { deliveredByClerk: true });
    expect((await post("/webhooks/clerk", signed(byClerk, [clerkSecret]))).statusCode).toBe(200);
    expect(queued).toHaveLength(0);
  });

  it("acknowledges a self-delivered email.created without to_email_address (optional in Clerk's spec) and logs it", async () => {
    for (const absent of [undefined, null]) {
      const event = clerkEmailCreated("a@x.test");
      const data = event.data as Record<string, unknown>;
      if (absent === undefined) delete data.to_email_address;
      else data.to_email_address = absent;
      const svixId = prefixedId("msg");
      const res = await post("/webhooks/clerk", signed(event, [clerkSecret], { msgId: svixId }));
      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toMatchObject({ status: "ignored" });
      expect(String(bodyOf(res).reason)).toContain(`email ${data.id} (template verification_code)`);
      expect(lines.filter((l) => l.svixId === svixId)).toEqual([
        expect.objectContaining({ level: "WARN", message: "webhook ignored", type: "email.created" }),
      ]);
      expect(await claimOf("clerk", svixId)).toBeUndefined();
    }
    // A value that is there but is not one bare address is still refused.
    const empty = clerkEmailCreated("");
    expect((await post("/webhooks/clerk", signed(empty, [clerkSecret]))).statusCode).toBe(400);
    expect(queued).toHaveLength(0);
  });

  it("refuses the misspelled emails.created with 400 naming email.created", async () => {
    const event = { ...clerkEmailCreated("a@x.test"), type: "emails.created" };
    const svixId = prefixedId("msg");
    const res = await post("/webhooks/clerk", signed(event, [clerkSecret], { msgId: svixId }));
    expect(res.statusCode).toBe(400);
    expect(String(bodyOf(res).error)).toContain('Clerk sends "email.created"');
    expect(lines.find((l) => l.svixId === svixId)).toMatchObject({
      level: "WARN",
      message: "webhook payload rejected",
      problem: expect.stringContaining('"emails.created" is not a Clerk event'),
    });
    expect(queued).toHaveLength(0);
    expect(await claimOf("clerk", svixId)).toBeUndefined();
  });

  it("marks Clerk test-mode emails and carries an invitation's own expiry on the send job", async () => {
    const sendJob = async (event: Record<string, unknown>) => {
      queued = [];
      expect((await post("/webhooks/clerk", signed(event, [clerkSecret]))).statusCode).toBe(202);
      const job = queued[0]?.job;
      if (job?.kind !== "send") throw new Error("no send job queued");
      return job;
    };
    const withCode = (to: string, code: string | undefined) => {
      const event = clerkEmailCreated(to);
      const data = (event.data as { data: Record<string, unknown> }).data;
      if (code === undefined) delete data.otp_code;
      else data.otp_code = code;
      return event;
    };
    expect((await sendJob(withCode("jane+clerk_test@example.com", "424242"))).clerkTestMode).toBe(true);
    expect((await sendJob(withCode("Jane+Clerk_Test@Example.com", "424242"))).clerkTestMode).toBe(true);
    expect((await sendJob(withCode("jane+clerk_test@example.com", undefined))).clerkTestMode).toBe(true);
    // Test mode off (a production instance): the code is real and the email is sent.
    expect(await sendJob(withCode("jane+clerk_test@example.com", "123456"))).not.toHaveProperty(
      "clerkTestMode",
    );
    expect(await sendJob(withCode("jane+clerk_testing@example.com", "424242"))).not.toHaveProperty(
      "clerkTestMode",
    );
    expect(await sendJob(withCode("jane@example.com", "424242"))).not.toHaveProperty("clerkTestMode");

    const invitation = clerkEmailCreated("invitee@x.test");
    const data = invitation.data as Record<string, unknown>;
    data.slug = "invitation";
    data.data = { ...(data.data as object), invitation: { expires_in_days: 7, public_metadata: {} } };
    expect(await sendJob(invitation)).toMatchObject({ slug: "invitation", validForSeconds: 7 * 86_400 });
    expect(await sendJob(clerkEmailCreated("a@x.test"))).not.toHaveProperty("validForSeconds");
  });

  it("slims user events to the addresses and metadata the worker needs", async () => {
    const event = clerkUserEvent("user.updated", {
      id: "user_9",
      addresses: ["old@x.test", "new@x.test"],
      primary: "new@x.test",
      publicMetadata: { plan: "pro" },
    });
    await post("/webhooks/clerk", signed(event, [clerkSecret]));
    expect(queued[0]?.job).toEqual({
      kind: "user",
      event: "user.updated",
      userId: "user_9",
      addresses: ["old@x.test", "new@x.test"],
      primaryAddress: "new@x.test",
      publicMetadata: { plan: "pro" },
    });
    await post(
      "/webhooks/resend",
      signed(resendSuppressionEvent("suppression.added", "s@x.test", "complaint"), [resendSecret]),
    );
    expect(queued[1]?.job).toMatchObject({ kind: "delivery", addresses: ["s@x.test"], subtype: "complaint" });
  });

  it("names every recipient of a Resend event, bare and once, and queues suppression.removed", async () => {
    const bounce = resendEmailEvent("email.bounced", ["one@x.test", "Two Person <two@x.test>", "ONE@x.test"]);
    await post("/webhooks/resend", signed(bounce, [resendSecret]));
    expect(queued[0]?.job).toMatchObject({ kind: "delivery", addresses: ["one@x.test", "two@x.test"] });
    const removed = resendSuppressionEvent("suppression.removed", "one@x.test", "bounce");
    expect((await post("/webhooks/resend", signed(removed, [resendSecret]))).statusCode).toBe(202);
    expect(queued[1]?.job).toMatchObject({
      kind: "delivery",
      type: "suppression.removed",
      addresses: ["one@x.test"],
      subtype: "bounce",
    });
  });

  it("refuses a recipient that is not one bare address, with no side effect", async () => {
    const notAnAddress = resendEmailEvent("email.complained", ["ok@x.test", "nobody"]);
    const refused = await post("/webhooks/resend", signed(notAnAddress, [resendSecret]));
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain("data.to[1]");
    const injected = clerkEmailCreated("a@x.test\r\nBcc: spy@evil.test");
    const refusedClerk = await post("/webhooks/clerk", signed(injected, [clerkSecret]));
    expect(refusedClerk.statusCode).toBe(400);
    expect(refusedClerk.body).toContain("data.to_email_address");
    expect(queued).toHaveLength(0);
  });

  it("refuses oversized bodies with 413 and routes only known paths", async () => {
    const big = clerkEmailCreated("a@x.test");
    (big.data as Record<string, unknown>).body = "x".repeat(70 * 1024);
    expect((await post("/webhooks/clerk", signed(big, [clerkSecret]))).statusCode).toBe(413);
    expect((await post("/webhooks/clerk", signed(big, [clerkSecret]), true)).statusCode).toBe(413);
    expect((await ingest(functionUrlEvent("GET", "/health"))).statusCode).toBe(200);
    expect((await ingest(functionUrlEvent("GET", "/webhooks/clerk"))).statusCode).toBe(405);
    expect((await ingest(functionUrlEvent("POST", "/nope"))).statusCode).toBe(404);
    expect(queued).toHaveLength(0);
  });
});

function authOf() {
  return webhookAuthFrom(
    staticSecretSource({ clerkWebhookSecret: clerkSecret, resendWebhookSecret: resendSecret }),
  );
}
