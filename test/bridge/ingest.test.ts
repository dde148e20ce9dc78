import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../src/bridge/events";
import { createIngestHandler, type IngestHandler } from "../../src/bridge/ingest";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { staticSecretSource } from "../../src/bridge/secrets";
import { SvixVerifier, verifiersFrom } from "../../src/bridge/signature";
import { BridgeStore } from "../../src/bridge/store";
import { createTelemetry } from "../../src/bridge/telemetry";
import { newSigningSecret, prefixedId } from "../../src/sandbox/core/ids";
import {
  clerkEmailCreated,
  clerkUserEvent,
  functionUrlEvent,
  resendEmailEvent,
  resendSuppressionEvent,
  signed,
} from "./fixtures";

const clerkSecret = newSigningSecret();
const clerkNextSecret = newSigningSecret();
const resendSecret = newSigningSecret();

describe("ingest handler", () => {
  let dynamo: LocalDynamo;
  let store: BridgeStore;
  let queued: QueueMessage[];
  let failEnqueue: boolean;
  let ingest: IngestHandler;

  beforeAll(async () => {
    dynamo = await startLocalDynamo("ingest-test");
    store = new BridgeStore(dynamo.client, "ingest-test");
    ingest = createIngestHandler({
      store,
      queue: {
        async send(message) {
          if (failEnqueue) throw new Error("SQS unavailable");
          queued.push(message);
        },
      },
      verifiers: verifiersFrom(
        staticSecretSource({
          resendApiKey: "re_test",
          clerkSecretKey: "sk_test",
          clerkWebhookSecrets: [clerkSecret, clerkNextSecret],
          resendWebhookSecrets: [resendSecret],
        }),
      ),
      telemetry: createTelemetry({ logLevel: "SILENT", emitMetrics: false }),
      maxBodyBytes: 64 * 1024,
    });
  });
  afterAll(() => dynamo.close());
  beforeEach(() => {
    queued = [];
    failEnqueue = false;
  });

  const post = (path: string, req: { body: string; headers: Record<string, string> }, base64 = false) =>
    ingest(functionUrlEvent("POST", path, req, { base64 }));

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

  it("refuses tampered, unsigned, wrongly keyed and stale deliveries with 401 and no side effect", async () => {
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
    };
    for (const [name, req] of Object.entries(cases)) {
      const res = await post("/webhooks/clerk", req);
      expect(res.statusCode, name).toBe(401);
    }
    expect(queued).toHaveLength(0);
    // The svix-id was never claimed, so the genuine delivery still goes through.
    expect((await post("/webhooks/clerk", good)).statusCode).toBe(202);
  });

  it("dedupes redeliveries of the same svix-id", async () => {
    const req = signed(resendEmailEvent("email.bounced", "bounced@resend.dev"), [resendSecret]);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("/webhooks/resend", req)).statusCode);
    expect(statuses).toEqual([202, 200, 200]);
    expect(queued).toHaveLength(1);
  });

  it("releases the dedupe claim when enqueueing fails, so the sender's retry is processed", async () => {
    const req = signed(resendEmailEvent("email.complained", "complained@resend.dev"), [resendSecret]);
    failEnqueue = true;
    expect((await post("/webhooks/resend", req)).statusCode).toBe(500);
    failEnqueue = false;
    expect((await post("/webhooks/resend", req)).statusCode).toBe(202);
    expect(queued).toHaveLength(1);
  });

  it("logs the svix-id when neither the enqueue nor the claim's release worked", async () => {
    const lines: string[] = [];
    const stuck = createIngestHandler({
      store: {
        claimDelivery: async () => true,
        releaseDelivery: async () => {
          throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
        },
      },
      queue: {
        async send() {
          throw new Error("SQS unavailable");
        },
      },
      verifiers: async () => ({ clerk: new SvixVerifier([]), resend: new SvixVerifier([resendSecret]) }),
      telemetry: createTelemetry({ env: {}, emitMetrics: false, write: (line) => lines.push(line) }),
      maxBodyBytes: 64 * 1024,
    });
    const req = signed(resendEmailEvent("email.bounced", "bounced@resend.dev"), [resendSecret]);
    const result = await stuck(functionUrlEvent("POST", "/webhooks/resend", req));
    expect(result.statusCode).toBe(500);
    const unreleased = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => String(l.message).includes("dedupe claim not released"));
    expect(unreleased).toMatchObject({
      level: "ERROR",
      svixId: req.headers["svix-id"],
      error: "ThrottlingException",
    });
  });

  it("answers 400 naming the problem for malformed payloads", async () => {
    const notJson = await post("/webhooks/clerk", signed("{not json", [clerkSecret]));
    expect(notJson.statusCode).toBe(400);
    const event = clerkEmailCreated("a@x.test");
    delete (event.data as Record<string, unknown>).to_email_address;
    const missing = await post("/webhooks/clerk", signed(event, [clerkSecret]));
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("data.to_email_address");
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
    expect(JSON.parse(unknown.body ?? "{}")).toMatchObject({ status: "ignored" });
    const byClerk = clerkEmailCreated("a@x.test", { deliveredByClerk: true });
    expect((await post("/webhooks/clerk", signed(byClerk, [clerkSecret]))).statusCode).toBe(200);
    expect(queued).toHaveLength(0);
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
