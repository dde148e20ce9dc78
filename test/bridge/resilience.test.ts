import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../src/bridge/events";
import { createIngestHandler } from "../../src/bridge/ingest";
import { staticSecretSource } from "../../src/bridge/secrets";
import { webhookAuthFrom } from "../../src/bridge/signature";
import { BridgeStore, PENDING_CLAIM_TTL_SECONDS } from "../../src/bridge/store";
import { createTelemetry, METRICS } from "../../src/bridge/telemetry";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { eventually } from "../support/eventually";
import { clerkEmailCreated, clerkUserDeleted, functionUrlEvent, signed, signedWithKey } from "./fixtures";
import { type Pipeline, startPipeline } from "./harness";

describe("resilience against duplicates, rate limits, outages, stale codes, forgeries and poison", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(() => p.close());
  afterEach(() => {
    p.resend.server.faults.clear();
    p.clerk.server.faults.clear();
  });

  const sentTo = (address: string) => p.resend.emails().filter((e) => e.to.includes(address));
  const metadataWrites = (userId: string) =>
    p.clerk.server.requests.filter(
      (r) => r.method === "PATCH" && r.path === `/v1/users/${userId}/metadata` && r.status === 200,
    );
  const post = (source: "clerk" | "resend", req: { body: string; headers: Record<string, string> }) =>
    fetch(p.bridge.webhookUrl(source), { method: "POST", headers: req.headers, body: req.body });

  it("duplicate webhook deliveries and redelivered queue messages send once and write metadata once", async () => {
    const address = "bounced+dup@resend.dev";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(sentTo(address)).toHaveLength(1);
    expect(metadataWrites(user!.id)).toHaveLength(1);

    // Svix redelivers with the same svix-id: replay every Clerk delivery the bridge already accepted.
    const clerkSecret = p.clerk.svix.endpoints(p.clerk.instance.svixAppId as string)[0]!.secrets[0]!.key;
    for (const d of p.clerk.svix.deliveries().filter((x) => x.body.includes(address))) {
      const res = await post("clerk", signed(d.body, [clerkSecret], { msgId: d.msgId }));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "duplicate" });
    }
    // SQS delivers at least once: push the already-processed jobs through the worker again.
    const replay: QueueMessage[] = [];
    const email = p.clerk.emails().find((e) => e.email.to_email_address === address)!.email;
    replay.push({
      source: "clerk",
      svixId: "msg_replay_1",
      type: "email.created",
      receivedAt: new Date().toISOString(),
      job: {
        kind: "send",
        clerkEmailId: email.id,
        to: address,
        subject: email.subject,
        html: email.body,
        createdAtMs: Date.now(),
      },
    });
    replay.push({
      source: "resend",
      svixId: "msg_replay_2",
      type: "email.bounced",
      receivedAt: new Date().toISOString(),
      job: {
        kind: "delivery",
        type: "email.bounced",
        addresses: [address],
        tags: { stack: "e2e" },
        subtype: "Permanent",
        occurredAt: "now",
      },
    });
    for (const m of replay) await p.bridge.queue.send(m);
    await p.settle();
    expect(sentTo(address)).toHaveLength(1);
    expect(metadataWrites(user!.id)).toHaveLength(1);
  });

  it("rides out a Resend 429 storm, 5xx and dropped connections: every email is sent exactly once", async () => {
    p.resend.server.faults.add({
      kind: "rate_limit",
      method: "POST",
      path: "^/emails$",
      count: 8,
      retryAfterSeconds: 1,
    });
    p.resend.server.faults.add({ kind: "status", status: 502, method: "POST", path: "^/emails$", count: 2 });
    p.resend.server.faults.add({ kind: "drop", method: "POST", path: "^/emails$", count: 2 });
    const addresses = Array.from({ length: 6 }, (_, i) => `delivered+storm${i}@resend.dev`);
    const retriedBefore = p.bridge.telemetry.totals[METRICS.retried] ?? 0;
    for (const a of addresses) p.clerk.instance.signUp(a, { verify: true });
    await p.settle();
    for (const a of addresses) expect(sentTo(a), a).toHaveLength(1);
    expect(p.bridge.queue.deadLetters).toHaveLength(0);
    expect((p.bridge.telemetry.totals[METRICS.retried] ?? 0) - retriedBefore).toBeGreaterThanOrEqual(12);
  });

  it("rides out Clerk 5xx and 429 while flagging a user", async () => {
    p.clerk.server.faults.add({ kind: "status", status: 503, path: "^/v1/users$", count: 3 });
    p.clerk.server.faults.add({
      kind: "rate_limit",
      method: "PATCH",
      path: "/metadata$",
      count: 3,
      retryAfterSeconds: 1,
    });
    const address = "complained+outage@resend.dev";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(p.clerk.instance.user(user!.id).publicMetadata).toMatchObject({ email_status: "undeliverable" });
    expect(metadataWrites(user!.id)).toHaveLength(1);
    expect(p.bridge.queue.deadLetters).toHaveLength(0);
  });

  it("records a permanent Resend refusal without retrying it", async () => {
    p.resend.server.faults.add({
      kind: "status",
      status: 422,
      path: "^/emails$",
      body: { statusCode: 422, name: "invalid_parameter", message: "Invalid `to` field." },
    });
    const { email } = p.clerk.instance.signUp("delivered+refused@resend.dev", { verify: true });
    await p.settle();
    expect(sentTo("delivered+refused@resend.dev")).toHaveLength(0);
    expect(await p.bridge.store.getSend(email.email.id)).toMatchObject({
      status: "failed",
      detail: "invalid_parameter",
    });
    expect(p.resend.server.requests.filter((r) => r.path === "/emails" && r.status === 422)).toHaveLength(1);
  });

  it("returns an email Resend refused for its key to the queue, and sends it once the key works again", async () => {
    // A rotation done in the wrong order: the old key revoked before SSM held the new one.
    p.resend.server.faults.add({
      kind: "status",
      status: 403,
      path: "^/emails$",
      count: 2,
      body: { statusCode: 403, name: "invalid_api_key", message: "API key is invalid" },
    });
    const { email } = p.clerk.instance.signUp("delivered+revoked@resend.dev", { verify: true });
    await p.settle();
    expect(p.resend.server.requests.filter((r) => r.path === "/emails" && r.status === 403)).toHaveLength(2);
    expect(sentTo("delivered+revoked@resend.dev")).toHaveLength(1);
    expect(await p.bridge.store.getSend(email.email.id)).toMatchObject({ status: "sent" });
  });

  it("drops a code older than its lifetime instead of sending it", async () => {
    const clerkSecret = p.clerk.svix.endpoints(p.clerk.instance.svixAppId as string)[0]!.secrets[0]!.key;
    const event = clerkEmailCreated("delivered+stale@resend.dev", { timestampMs: Date.now() - 11 * 60_000 });
    const before = p.bridge.telemetry.totals[METRICS.droppedStale] ?? 0;
    expect((await post("clerk", signed(event, [clerkSecret]))).status).toBe(202);
    await p.settle();
    expect(sentTo("delivered+stale@resend.dev")).toHaveLength(0);
    expect((await p.bridge.store.getSend((event.data as { id: string }).id))?.status).toBe("dropped_stale");
    expect(p.bridge.telemetry.totals[METRICS.droppedStale]).toBe(before + 1);
  });

  it("answers tampered, absent and old signatures with 401 and does nothing", async () => {
    const clerkSecret = p.clerk.svix.endpoints(p.clerk.instance.svixAppId as string)[0]!.secrets[0]!.key;
    const event = clerkEmailCreated("delivered+forged@resend.dev");
    const good = signed(event, [clerkSecret]);
    const attempts = [
      { ...good, body: good.body.replace("Acme", "Evil") },
      { body: good.body, headers: { "content-type": "application/json" } },
      signed(event, [clerkSecret], { at: new Date(Date.now() - 10 * 60_000) }),
      signed(event, [newSigningSecret()]),
    ];
    for (const req of attempts) expect((await post("clerk", req)).status).toBe(401);
    await p.settle();
    expect(sentTo("delivered+forged@resend.dev")).toHaveLength(0);
    expect(await p.bridge.store.getSend((event.data as { id: string }).id)).toBeUndefined();
  });

  it("an ingest invocation killed between its claim and its enqueue: the redelivery after the pending TTL is sent exactly once", async () => {
    const clerkSecret = p.clerk.svix.endpoints(p.clerk.instance.svixAppId as string)[0]!.secrets[0]!.key;
    let enqueues = 0;
    // Another ingest invocation on the same table whose enqueue never returns: the function was killed.
    const killedAt = (msAgo: number) =>
      createIngestHandler({
        store: new BridgeStore(p.dynamo.client, p.tableName, () => Date.now() - msAgo),
        queue: {
          send: () => {
            enqueues++;
            return new Promise<void>(() => undefined);
          },
        },
        auth: webhookAuthFrom(staticSecretSource({ clerkWebhookSecret: clerkSecret })),
        telemetry: createTelemetry({ logLevel: "SILENT", emitMetrics: false }),
        maxBodyBytes: 64 * 1024,
      });

    // Killed just now: Svix's retry finds the claim pending and is told to come back (not "duplicate").
    const recent = signed(clerkEmailCreated("delivered+killed-now@resend.dev"), [clerkSecret]);
    void killedAt(0)(functionUrlEvent("POST", "/webhooks/clerk", recent));
    await eventually(() => (enqueues === 1 ? true : undefined));
    const early = await post("clerk", recent);
    expect(early.status).toBe(409);

    // Killed longer ago than the pending TTL: the retry is queued and sent, once.
    const old = signed(clerkEmailCreated("delivered+killed@resend.dev"), [clerkSecret]);
    void killedAt((PENDING_CLAIM_TTL_SECONDS + 1) * 1000)(functionUrlEvent("POST", "/webhooks/clerk", old));
    await eventually(() => (enqueues === 2 ? true : undefined));
    expect((await post("clerk", old)).status).toBe(202);
    await p.settle();
    expect((await post("clerk", old)).status).toBe(200);
    await p.settle();
    expect(sentTo("delivered+killed@resend.dev")).toHaveLength(1);
    expect(sentTo("delivered+killed-now@resend.dev")).toHaveLength(0);
  });

  it("a Clerk secret parameter holding the old placeholder: forged sends and user deletions are refused, nothing happens", async () => {
    const clerkSecret = p.clerk.svix.endpoints(p.clerk.instance.svixAppId as string)[0]!.secrets[0]!.key;
    const address = "bounced+forged-delete@resend.dev";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(await p.bridge.store.getSuppression(address)).toBeDefined();
    p.bridge.setWebhookSecrets({ clerk: ["unregistered"] });
    try {
      // What main derived from "unregistered": its lenient base64 decoding, a key anyone can compute.
      const key = Buffer.from("unregistered", "base64");
      const sendForged = await post(
        "clerk",
        signedWithKey(clerkEmailCreated("delivered+phish@resend.dev"), key),
      );
      const deleteForged = await post("clerk", signedWithKey(clerkUserDeleted(user!.id), key));
      expect([sendForged.status, deleteForged.status]).toEqual([503, 503]);
      // The Resend route still verifies with its own secret.
      const health = await fetch(`${p.bridge.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        routes: { clerk: { ready: false }, resend: { ready: true } },
      });
      await p.settle();
      expect(sentTo("delivered+phish@resend.dev")).toHaveLength(0);
      expect(await p.bridge.store.getSuppression(address)).toBeDefined();
    } finally {
      p.bridge.setWebhookSecrets({ clerk: [clerkSecret] });
    }
  });

  it("moves a poison message to the dead-letter list after maxReceiveCount attempts", async () => {
    const id = p.bridge.queue.sendRaw('{"job":{"kind":"send"'); // truncated JSON
    await p.settle();
    expect(p.bridge.queue.deadLetters.map((d) => d.messageId)).toContain(id);
    expect(p.bridge.queue.deadLetters.find((d) => d.messageId === id)?.receiveCount).toBe(5);
  });
});
