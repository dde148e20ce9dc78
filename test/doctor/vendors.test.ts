import { describe, expect, it } from "vitest";
import { RESEND_EVENTS } from "../../src/bridge/events";
import { startLocalBridge } from "../../src/bridge/local";
import { exitCode } from "../../src/doctor/report";
import { runDoctor } from "../../src/doctor/run";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { useDoctorWorld } from "./use-world";
import {
  beforeCutover,
  closedPortUrl,
  DLQ_NAME,
  DOMAIN,
  type DoctorWorld,
  find,
  LOST,
  startCredulousBridge,
  withFault,
} from "./world";

let world: DoctorWorld;
useDoctorWorld((started) => {
  world = started;
});

const DKIM_NAME = `resend._domainkey.${DOMAIN}`;

describe("doctor: the Resend domain", () => {
  it("a pending domain fails once templates are cut over, and only warns before", async () => {
    await world.createDomain("pending.example.com", { publish: false });
    const settings = world.settings({ sendingDomain: "pending.example.com" });
    const cutOver = await runDoctor(world.inputs({ settings }));
    const status = find(cutOver.results, "resend.domain");
    expect(status).toMatchObject({ status: "fail", code: "pending" });
    expect(status.message).toBe(
      `pending.example.com is pending; waiting for: DKIM TXT resend._domainkey.pending.example.com (pending); SPF MX send.pending.example.com (pending); SPF TXT send.pending.example.com (pending); Resend refuses to send from it, so ${LOST}`,
    );
    expect(status.fix).toContain("publish the listed records");

    const before = await beforeCutover(world, () => runDoctor(world.inputs({ settings })));
    expect(find(before.results, "resend.domain")).toMatchObject({ status: "warn", code: "pending" });
  });

  it("a not_started domain fails once templates are cut over", async () => {
    await world.createDomain("idle.example.com", { publish: false, verify: false });
    const report = await runDoctor(
      world.inputs({ settings: world.settings({ sendingDomain: "idle.example.com" }) }),
    );
    expect(find(report.results, "resend.domain")).toMatchObject({ status: "fail", code: "not_started" });
    expect(exitCode(report)).toBe(1);
  });

  it("a failed domain fails naming the records", async () => {
    await world.createDomain("failed.example.com", { publish: false });
    await world.sandbox.resend.settle(); // the verification window (1.5 s here) runs out
    const failed = await runDoctor(
      world.inputs({ settings: world.settings({ sendingDomain: "failed.example.com" }) }),
    );
    const result = find(failed.results, "resend.domain");
    expect(result).toMatchObject({ status: "fail", code: "failed" });
    expect(result.message).toContain(
      "failed.example.com is failed: DKIM TXT resend._domainkey.failed.example.com (failed)",
    );
    expect(result.message).toContain("SPF MX send.failed.example.com (failed)");
    expect(find(failed.results, "dns.dkim-txt").status).toBe("fail");
  });

  it("a verified domain whose record vanished (temporary_failure) fails", async () => {
    const dkim = world.sandbox.dns.records().find((r) => r.name === DKIM_NAME && r.type === "TXT")!;
    const report = await withFault(
      async () => {
        world.sandbox.dns.remove(DKIM_NAME, "TXT");
        await world.sandbox.resend.recheckVerifiedDomains();
      },
      async () => {
        world.sandbox.dns.upsert({ name: DKIM_NAME, type: "TXT", values: dkim.values });
        await world.sandbox.resend.recheckVerifiedDomains();
      },
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "resend.domain")).toMatchObject({
      status: "fail",
      code: "temporary_failure",
      message: `${DOMAIN} is verified but records vanished from DNS: DKIM TXT ${DKIM_NAME} (temporary_failure); Resend fails the domain after 72 h`,
    });
  });

  it("a domain missing from Resend fails and DNS is not compared", async () => {
    const report = await runDoctor(
      world.inputs({ settings: world.settings({ sendingDomain: "absent.example.com" }) }),
    );
    expect(find(report.results, "resend.domain")).toMatchObject({
      status: "fail",
      code: "missing",
      message: "absent.example.com is not a domain of this Resend team",
    });
    expect(find(report.results, "dns.records").status).toBe("warn");
  });
});

describe("doctor: Resend reputation (GET /emails/metrics)", () => {
  async function withTotals(totals: typeof world.resendFront.totals) {
    world.resendFront.metricsQueries.length = 0;
    return withFault(
      () => {
        world.resendFront.totals = totals;
      },
      () => {
        world.resendFront.totals = {};
      },
      () => runDoctor(world.inputs()),
    );
  }

  it("asks for the domain's counts and passes under the thresholds", async () => {
    const report = await withTotals({ sent: 1000, delivered: 995, bounced: 5, complained: 0 });
    expect(world.resendFront.metricsQueries.map((q) => Object.fromEntries(q))).toEqual([
      { metrics: "sent,delivered,bounced,complained", domain_id: world.domainId },
    ]);
    expect(find(report.results, "resend.reputation")).toMatchObject({
      status: "pass",
      message: `${DOMAIN}: 0.50 % bounced (5 of 1000 sent), 0.00 % complaints (0 of 995 delivered) over 7 days`,
    });
  });

  it("complaints at Gmail's 0.3 % fail, above 0.1 % warn; bounces over 2 % fail", async () => {
    const spam = await withTotals({ sent: 1000, delivered: 1000, bounced: 0, complained: 3 });
    expect(find(spam.results, "resend.reputation")).toMatchObject({ status: "fail", code: "complaints" });
    const rising = await withTotals({ sent: 1000, delivered: 1000, bounced: 0, complained: 2 });
    expect(find(rising.results, "resend.reputation")).toMatchObject({ status: "warn", code: "complaints" });
    const bounces = await withTotals({ sent: 1000, delivered: 979, bounced: 21, complained: 0 });
    expect(find(bounces.results, "resend.reputation")).toMatchObject({
      status: "fail",
      code: "bounces",
      message: `${DOMAIN}: 2.10 % bounced (21 of 1000 sent), 0.00 % complaints (0 of 979 delivered) over 7 days; above 2 % bounces mailbox providers and Resend start distrusting the domain`,
    });
  });

  it("a Resend without the metrics route warns that reputation was not read", async () => {
    const report = await runDoctor(world.inputs({ resendBaseUrl: world.sandbox.resend.url }));
    expect(find(report.results, "resend.reputation")).toMatchObject({ status: "warn", code: "not-checked" });
  });
});

describe("doctor: Resend webhook and key", () => {
  it("a disabled or wrongly subscribed webhook fails, naming what to change", async () => {
    const id = world.webhookId;
    const report = await withFault(
      () => world.resend.webhooks.update(id, { status: "disabled", events: ["email.sent", "email.bounced"] }),
      () => world.resend.webhooks.update(id, { status: "enabled", events: [...RESEND_EVENTS] as never }),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "resend.webhook.enabled")).toMatchObject({
      status: "fail",
      code: "disabled",
    });
    expect(find(report.results, "resend.webhook.enabled").fix).toContain(
      `PATCH /webhooks/${id} {"status":"enabled"}`,
    );
    expect(find(report.results, "resend.webhook.events")).toMatchObject({
      status: "fail",
      code: "missing-events",
      message: `webhook ${id} does not subscribe to email.complained, email.suppressed, email.delivery_delayed`,
    });
  });

  it("no webhook to the bridge fails", async () => {
    await world.resend.webhooks.remove(world.webhookId);
    try {
      const report = await runDoctor(world.inputs());
      expect(find(report.results, "resend.webhook")).toMatchObject({
        status: "fail",
        code: "missing",
        message: `no Resend webhook sends to ${world.bridge.url}/webhooks/resend: bounces and complaints never reach Clerk`,
      });
    } finally {
      world.webhookId = await world.connectResendWebhook();
    }
  });

  it("Resend's 429s are waited out (retry-after), not reported", async () => {
    const { resend } = world.sandbox;
    const before = resend.server.requests.length;
    const report = await withFault(
      () => {
        resend.rateLimitPerSecond = 1;
      },
      () => {
        resend.rateLimitPerSecond = 1_000;
      },
      () => runDoctor(world.inputs()),
    );
    expect(report.results.filter((r) => r.area === "resend" && r.status !== "pass")).toEqual([]);
    const limited = resend.server.requests.slice(before).filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
  });

  it("a rejected API key fails; an unreachable Resend only warns", async () => {
    const rejected = await runDoctor(
      world.inputs({ settings: world.settings({}, { RESEND_API_KEY: "re_revoked_key_000" }) }),
    );
    const key = find(rejected.results, "resend.api-key");
    expect(key).toMatchObject({ status: "fail", code: "rejected" });
    expect(key.message).toContain("HTTP 403 invalid_api_key");
    expect(key.fix).toContain("export RESEND_API_KEY=re_…");
    expect(rejected.results.filter((r) => r.area === "resend")).toEqual([key]);

    const offline = await runDoctor(world.inputs({ resendBaseUrl: await closedPortUrl() }));
    expect(find(offline.results, "resend.api-key")).toMatchObject({ status: "warn", code: "unreachable" });
    expect(find(offline.results, "resend.api-key").message).toContain("no answer");
    expect(offline.results.filter((r) => r.area === "resend" && r.status === "fail")).toEqual([]);
  });
});

describe("doctor: the bridge", () => {
  it("a bridge that does not answer fails", async () => {
    const url = await closedPortUrl();
    const report = await runDoctor(world.inputs({ bridgeUrl: url }));
    expect(find(report.results, "bridge.health")).toMatchObject({
      status: "fail",
      code: "down",
      message: `${url}/health did not answer (ECONNREFUSED): the bridge is down`,
    });
    expect(report.results.some((r) => r.check === "bridge.signature")).toBe(false);
  });

  it("a bridge whose Clerk route has no signing secret yet fails health with the bridge's reason and fix", async () => {
    const unset = await startLocalBridge({
      resendBaseUrl: world.sandbox.resend.url,
      clerkApiUrl: world.sandbox.clerk.url,
      resendApiKey: world.sandbox.resend.apiKey,
      clerkSecretKey: world.sandbox.clerk.secretKey,
      resendWebhookSecrets: [newSigningSecret()],
      logLevel: "SILENT",
    });
    try {
      const report = await runDoctor(world.inputs({ bridgeUrl: unset.url }));
      const health = find(report.results, "bridge.health");
      expect(health).toMatchObject({
        status: "fail",
        code: "route-unready",
        message: `${unset.url}/health: the clerk webhook route refuses every webhook: the Clerk webhook signing secret is not set yet`,
      });
      expect(health.fix).toContain("pulumi config set --secret clerkWebhookSigningSecret");
      // It fails closed: an unsigned probe is refused too.
      expect(find(report.results, "bridge.signature")).toMatchObject({ status: "pass" });
    } finally {
      await unset.close();
    }
  });

  it("a bridge that accepts unsigned webhooks fails", async () => {
    const fake = await startCredulousBridge();
    try {
      const report = await runDoctor(world.inputs({ bridgeUrl: fake.url }));
      expect(find(report.results, "bridge.health").status).toBe("pass");
      const result = find(report.results, "bridge.signature");
      expect(result).toMatchObject({ status: "fail", code: "unverified" });
      expect(result.message).toContain("accepted an unsigned webhook");
      expect(result.message).toContain("(HTTP 200, expected 401)");
    } finally {
      fake.server.close();
    }
  });

  it("a health answer of another shape passes; one reporting a problem warns with it", async () => {
    for (const [body, status, code] of [
      ['{"ok":true,"version":"2","checks":{"dynamodb":"ok"}}', "pass", undefined],
      ["healthy", "pass", undefined],
      ['{"status":"degraded","checks":{"ssm":"timeout"}}', "warn", "degraded"],
    ] as const) {
      const fake = await startCredulousBridge(body);
      try {
        const result = find(
          (await runDoctor(world.inputs({ bridgeUrl: fake.url }))).results,
          "bridge.health",
        );
        expect([result.status, result.code]).toEqual([status, code]);
        if (code) expect(result.message).toBe(`${fake.url}/health answered 200 but reports "degraded"`);
      } finally {
        fake.server.close();
      }
    }
  });

  it("messages in the dead-letter queue fail, with the queue and how to move them back", async () => {
    const { QueueArn } = (
      await world.sqs.call<{ Attributes: { QueueArn: string } }>("GetQueueAttributes", {
        QueueUrl: world.dlqUrl,
        AttributeNames: ["QueueArn"],
      })
    ).Attributes;
    const report = await withFault(
      async () => {
        for (const n of [1, 2])
          await world.sqs.call("SendMessage", { QueueUrl: world.dlqUrl, MessageBody: `{"n":${n}}` });
      },
      () => world.sqs.call("PurgeQueue", { QueueUrl: world.dlqUrl }),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "bridge.dead-letters")).toMatchObject({
      status: "fail",
      code: "messages",
      message: `2 messages in the dead-letter queue ${DLQ_NAME}: emails or bounce events the bridge gave up on (codes not sent, or bounces that never reached Clerk)`,
      fix: `find the cause in the worker's CloudWatch logs, fix it, then move them back: aws sqs start-message-move-task --source-arn ${QueueArn}`,
      details: { queueName: DLQ_NAME, queueArn: QueueArn, visible: 2, inFlight: 0 },
    });
    expect(exitCode(report)).toBe(1);
  });

  it("a dead-letter queue that does not exist fails; no credentials only warn", async () => {
    const gone = await runDoctor(world.inputs({ deadLetterQueueName: "auth-email-pipeline-gone-dlq" }));
    expect(find(gone.results, "bridge.dead-letters")).toMatchObject({ status: "fail", code: "missing" });
    const anonymous = await runDoctor(world.inputs({ awsEnv: { AWS_REGION: "us-east-1" } }));
    expect(find(anonymous.results, "bridge.dead-letters")).toMatchObject({
      status: "warn",
      code: "not-checked",
    });
  });
});
