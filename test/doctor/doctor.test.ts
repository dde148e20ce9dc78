import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESEND_EVENTS } from "../../src/bridge/events";
import { startLocalBridge } from "../../src/bridge/local";
import { checkSvixApp } from "../../src/doctor/clerk";
import { resolverLookup } from "../../src/doctor/dns-lookup";
import { exitCode, formatJson, formatText } from "../../src/doctor/report";
import { runDoctor } from "../../src/doctor/run";
import type { CheckResult } from "../../src/doctor/types";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import {
  closedPortUrl,
  DOMAIN,
  type DoctorWorld,
  setClerkDelivery,
  startCredulousBridge,
  startDoctorWorld,
} from "./world";

let world: DoctorWorld;
beforeAll(async () => {
  world = await startDoctorWorld();
});
afterAll(async () => {
  await world?.close();
});

const RESEND_SPF = "v=spf1 include:amazonses.com ~all";
const DKIM_NAME = `resend._domainkey.${DOMAIN}`;
const SPF_NAME = `send.${DOMAIN}`;
const DMARC_NAME = `_dmarc.${DOMAIN}`;

function find(results: CheckResult[], check: string): CheckResult {
  const found = results.find((r) => r.check === check);
  if (!found) throw new Error(`no ${check} in:\n${results.map((r) => `${r.check} ${r.status}`).join("\n")}`);
  return found;
}

const problems = (results: CheckResult[]) => results.filter((r) => r.status !== "pass");

/** Applies a fault, runs `fn`, and restores the healthy state whatever happened. */
async function withFault<T>(apply: () => unknown, restore: () => unknown, fn: () => Promise<T>): Promise<T> {
  await apply();
  try {
    return await fn();
  } finally {
    await restore();
  }
}

function republish(name: string, type: "TXT", values: string[]) {
  return () => world.sandbox.dns.upsert({ name, type, values });
}

describe("doctor against a healthy stack", () => {
  it("passes every check and exits 0", async () => {
    const report = await runDoctor(world.inputs());
    expect(problems(report.results)).toEqual([]);
    expect(exitCode(report)).toBe(0);
    expect(report.results.map((r) => r.check)).toEqual(
      expect.arrayContaining([
        "dns.dkim-txt",
        "dns.dkim-key",
        "dns.spf-mx",
        "dns.spf-txt",
        "dns.spf-lookups",
        "dns.dmarc.present",
        "dns.dmarc.policy",
        "resend.api-key",
        "resend.domain",
        "resend.tracking",
        "resend.webhook.events",
        "clerk.secret-key",
        "clerk.template.verification_code",
        "clerk.template.reset_password_code",
        "clerk.svix-app",
        "bridge.health",
        "bridge.signature",
      ]),
    );
    expect(find(report.results, "dns.spf-lookups").message).toContain("needs 1 of 10");
    expect(formatText(report)).toContain("0 failed: healthy");
  });

  it("never prints a credential, in text or JSON", async () => {
    const inputs = world.inputs({ settings: world.settings({}, { RESEND_API_KEY: "re_not_the_key_12345" }) });
    const report = await runDoctor(inputs);
    expect(find(report.results, "resend.api-key").status).toBe("fail");
    for (const output of [formatText(report), formatJson(report)]) {
      expect(output).not.toContain("re_not_the_key_12345");
      expect(output).not.toContain(world.sandbox.clerk.secretKey);
    }
  });
});

describe("doctor: DNS faults", () => {
  it("missing DKIM fails with the record to publish", async () => {
    const dkim = world.sandbox.dns.records().find((r) => r.name === DKIM_NAME && r.type === "TXT");
    const report = await withFault(
      () => world.sandbox.dns.remove(DKIM_NAME, "TXT"),
      republish(DKIM_NAME, "TXT", dkim!.values as string[]),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.dkim-txt");
    expect(result).toMatchObject({ status: "fail", message: `DKIM TXT ${DKIM_NAME} is missing` });
    expect(result.fix).toMatch(new RegExp(`^publish TXT ${DKIM_NAME.replace(/\./g, "\\.")} = p=`));
    expect(exitCode(report)).toBe(1);
  });

  it("a DNS server failure on one name is a warning, not a failure", async () => {
    const report = await withFault(
      () => world.sandbox.dns.fault(DKIM_NAME, "servfail"),
      () => world.sandbox.dns.fault(DKIM_NAME, null),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.dkim-txt")).toMatchObject({ status: "warn" });
    expect(find(report.results, "dns.dkim-txt").message).toContain("ESERVFAIL");
  });

  it("an unreachable resolver turns every DNS check into a warning", async () => {
    const port = new URL(await closedPortUrl()).port;
    const report = await runDoctor(
      world.inputs({ dns: resolverLookup({ server: `127.0.0.1:${port}`, timeoutMs: 200 }) }),
    );
    const dns = report.results.filter((r) => r.area === "dns");
    expect(dns.map((r) => r.check)).toEqual([
      "dns.dkim-txt",
      "dns.spf-mx",
      "dns.spf-txt",
      "dns.dmarc.present",
    ]);
    expect(dns.every((r) => r.status === "warn")).toBe(true);
    expect(exitCode(report)).toBe(0);
  });

  it("a wrong SPF value fails with Resend's value", async () => {
    const report = await withFault(
      republish(SPF_NAME, "TXT", ["v=spf1 ip4:192.0.2.1 -all"]),
      republish(SPF_NAME, "TXT", [RESEND_SPF]),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.spf-txt");
    expect(result.status).toBe("fail");
    expect(result.message).toContain('is "v=spf1 ip4:192.0.2.1 -all" but Resend expects');
    expect(result.fix).toContain(`publish TXT ${SPF_NAME} = ${RESEND_SPF}`);
  });

  it("an SPF record needing more than 10 lookups fails, even though it holds Resend's include", async () => {
    const includes = Array.from({ length: 10 }, (_, i) => `s${i}.example.com`);
    for (const [i, name] of includes.entries()) {
      world.sandbox.dns.upsert({ name, type: "TXT", values: [`v=spf1 ip4:192.0.2.${i} -all`] });
    }
    const merged = `v=spf1 include:amazonses.com ${includes.map((n) => `include:${n}`).join(" ")} ~all`;
    const report = await withFault(
      republish(SPF_NAME, "TXT", [merged]),
      republish(SPF_NAME, "TXT", [RESEND_SPF]),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.spf-txt").status).toBe("pass");
    const limit = find(report.results, "dns.spf-lookups");
    expect(limit.status).toBe("fail");
    expect(limit.message).toContain(`SPF at ${SPF_NAME} needs 11 DNS lookups (limit 10)`);
    expect(limit.fix).toContain(`remove includes from the TXT at ${SPF_NAME}`);
  });

  it("two SPF records on one name fail and say to merge them", async () => {
    const report = await withFault(
      republish(SPF_NAME, "TXT", [RESEND_SPF, "v=spf1 include:amazonses.com ip4:192.0.2.9 ~all"]),
      republish(SPF_NAME, "TXT", [RESEND_SPF]),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.spf-txt.duplicate");
    expect(result.status).toBe("fail");
    expect(result.message).toContain("has 2 v=spf1 records");
    expect(result.fix).toBe(`merge them into one TXT at ${SPF_NAME} (keep ${RESEND_SPF})`);
  });

  it("missing DMARC fails with the record the stack's stage needs", async () => {
    const dmarc = world.sandbox.dns.records().find((r) => r.name === DMARC_NAME);
    const report = await withFault(
      () => world.sandbox.dns.remove(DMARC_NAME),
      republish(DMARC_NAME, "TXT", dmarc!.values as string[]),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.dmarc.present");
    expect(result.status).toBe("fail");
    expect(result.fix).toBe(
      `publish TXT ${DMARC_NAME} = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com;" (pulumi up publishes it)`,
    );
  });

  it("a DMARC policy other than the stack's stage fails; p=none in prod warns", async () => {
    const staged = await runDoctor(world.inputs({ settings: world.settings({ dmarcPolicy: "quarantine" }) }));
    const policy = find(staged.results, "dns.dmarc.policy");
    expect(policy.status).toBe("fail");
    expect(policy.message).toBe(`DMARC policy is p=none but the stack's dmarcPolicy stage is "quarantine"`);
    expect(policy.fix).toContain("pulumi config set dmarcPolicy none");

    const prod = await runDoctor(world.inputs({ stack: "prod" }));
    expect(find(prod.results, "dns.dmarc.enforcement")).toMatchObject({ status: "warn" });
    expect(exitCode(prod)).toBe(0);
  });
});

describe("doctor: Resend faults", () => {
  it("a pending domain warns with the records still pending; a failed one fails naming them", async () => {
    await world.createDomain("pending.example.com", { publish: false });
    const pendingSettings = world.settings({ sendingDomain: "pending.example.com" });
    const pending = await runDoctor(world.inputs({ settings: pendingSettings }));
    const status = find(pending.results, "resend.domain");
    expect(status.status).toBe("warn");
    expect(status.message).toContain(
      "pending.example.com is pending; waiting for: DKIM TXT resend._domainkey.pending.example.com (pending)",
    );
    expect(status.fix).toContain("publish the listed records");

    await world.createDomain("failed.example.com", { publish: false });
    await world.sandbox.resend.settle(); // the verification window (1.5 s here) runs out
    const failed = await runDoctor(
      world.inputs({ settings: world.settings({ sendingDomain: "failed.example.com" }) }),
    );
    const result = find(failed.results, "resend.domain");
    expect(result.status).toBe("fail");
    expect(result.message).toContain(
      "failed.example.com is failed: DKIM TXT resend._domainkey.failed.example.com (failed)",
    );
    expect(result.message).toContain("SPF MX send.failed.example.com (failed)");
    expect(find(failed.results, "dns.dkim-txt").status).toBe("fail");
  });

  it("a domain missing from Resend fails and DNS is not compared", async () => {
    const report = await runDoctor(
      world.inputs({ settings: world.settings({ sendingDomain: "absent.example.com" }) }),
    );
    expect(find(report.results, "resend.domain")).toMatchObject({
      status: "fail",
      message: "absent.example.com is not a domain of this Resend team",
    });
    expect(find(report.results, "dns.records").status).toBe("warn");
  });

  it("tracking on the auth domain warns with the settings to turn off", async () => {
    const report = await withFault(
      () => world.resend.domains.update({ id: world.domainId, openTracking: true, clickTracking: true }),
      () => world.resend.domains.update({ id: world.domainId, openTracking: false, clickTracking: false }),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "resend.tracking");
    expect(result.status).toBe("warn");
    expect(result.fix).toBe(
      "pulumi config set openTracking false && pulumi config set clickTracking false && pulumi up",
    );
    expect(exitCode(report)).toBe(0);
  });

  it("a disabled or wrongly subscribed webhook fails, naming what to change", async () => {
    const id = world.webhookId;
    const report = await withFault(
      () => world.resend.webhooks.update(id, { status: "disabled", events: ["email.sent", "email.bounced"] }),
      () => world.resend.webhooks.update(id, { status: "enabled", events: [...RESEND_EVENTS] as never }),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "resend.webhook.enabled")).toMatchObject({ status: "fail" });
    expect(find(report.results, "resend.webhook.enabled").fix).toContain(
      `PATCH /webhooks/${id} {"status":"enabled"}`,
    );
    const events = find(report.results, "resend.webhook.events");
    expect(events.status).toBe("fail");
    expect(events.message).toBe(
      `webhook ${id} does not subscribe to email.complained, email.suppressed, email.delivery_delayed`,
    );
  });

  it("no webhook to the bridge fails", async () => {
    await world.resend.webhooks.remove(world.webhookId);
    try {
      const report = await runDoctor(world.inputs());
      const result = find(report.results, "resend.webhook");
      expect(result.status).toBe("fail");
      expect(result.message).toBe(
        `no Resend webhook sends to ${world.bridge.url}/webhooks/resend: bounces and complaints never reach Clerk`,
      );
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
    expect(key).toMatchObject({ status: "fail" });
    expect(key.message).toContain("HTTP 403 invalid_api_key");
    expect(key.fix).toContain("export RESEND_API_KEY=re_…");
    expect(rejected.results.filter((r) => r.area === "resend")).toEqual([key]);

    const offline = await runDoctor(world.inputs({ resendBaseUrl: await closedPortUrl() }));
    expect(find(offline.results, "resend.api-key")).toMatchObject({ status: "warn" });
    expect(find(offline.results, "resend.api-key").message).toContain("no answer");
    expect(offline.results.filter((r) => r.area === "resend" && r.status === "fail")).toEqual([]);
  });
});

describe("doctor: Clerk faults", () => {
  it("a template still delivered by Clerk fails once the bridge is up, and only warns before", async () => {
    const [up, before] = await withFault(
      () => setClerkDelivery(world.sandbox, "verification_code", true),
      () => setClerkDelivery(world.sandbox, "verification_code", false),
      async () => [
        await runDoctor(world.inputs()),
        await runDoctor(world.inputs({ bridgeUrl: await closedPortUrl() })),
      ],
    );
    const failing = find(up.results, "clerk.template.verification_code");
    expect(failing.status).toBe("fail");
    expect(failing.message).toBe(
      "verification_code is still delivered by Clerk: these emails bypass Resend and the bridge",
    );
    expect(failing.fix).toContain("POST /v1/templates/email/verification_code/toggle_delivery");
    expect(find(up.results, "clerk.template.reset_password_code").status).toBe("pass");
    expect(find(before.results, "clerk.template.verification_code").status).toBe("warn");
  });

  it("an instance without a Svix app fails", async () => {
    const { instance } = world.sandbox.clerk;
    const report = await withFault(
      () => instance.deleteSvixApp(),
      () => world.sandbox.clerk.subscribe(world.bridge.webhookUrl("clerk")),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "clerk.svix-app");
    expect(result.status).toBe("fail");
    expect(result.fix).toBe("pulumi up creates it (clerkWebhookMode portal), together with the endpoint");
  });

  it("in manual mode, the missing Svix app's fix names the events, spelled as Clerk sends them", () => {
    const result = checkSvixApp(
      {
        key: { ok: true, value: 0 },
        templates: {},
        svixApp: {
          ok: false,
          failure: { transient: false, status: 400, code: "svix_app_missing", message: "" },
        },
      },
      "manual",
      "https://bridge.example.com/",
    );
    expect(result).toMatchObject({ status: "fail", check: "clerk.svix-app" });
    expect(result.fix).toBe(
      "open Clerk Dashboard → Webhooks (that creates the app) and add the endpoint " +
        "https://bridge.example.com/webhooks/clerk subscribed to email.created, user.created, user.updated, " +
        "user.deleted (email.created, not the emails.created of Clerk's email template guide)",
    );
  });

  it("a rejected secret key fails; an unreachable Clerk only warns", async () => {
    const rejected = await runDoctor(
      world.inputs({ settings: world.settings({}, { CLERK_SECRET_KEY: "sk_test_revoked" }) }),
    );
    expect(find(rejected.results, "clerk.secret-key")).toMatchObject({ status: "fail" });
    expect(find(rejected.results, "clerk.secret-key").message).toContain("HTTP 401 authentication_invalid");

    const offline = await runDoctor(world.inputs({ clerkApiUrl: await closedPortUrl() }));
    expect(find(offline.results, "clerk.secret-key")).toMatchObject({ status: "warn" });
  });
});

describe("doctor: bridge faults", () => {
  it("a bridge that does not answer fails", async () => {
    const url = await closedPortUrl();
    const report = await runDoctor(world.inputs({ bridgeUrl: url }));
    const result = find(report.results, "bridge.health");
    expect(result.status).toBe("fail");
    expect(result.message).toBe(`${url}/health did not answer (ECONNREFUSED): the bridge is down`);
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
      expect(result.status).toBe("fail");
      expect(result.message).toContain("accepted an unsigned webhook");
      expect(result.message).toContain("(HTTP 200, expected 401)");
    } finally {
      fake.server.close();
    }
  });
});
