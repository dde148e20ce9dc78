import { describe, expect, it } from "vitest";
import { checkSvixApp } from "../../src/doctor/clerk";
import { exitCode } from "../../src/doctor/report";
import { runDoctor } from "../../src/doctor/run";
import { useDoctorWorld } from "./use-world";
import {
  beforeCutover,
  closedPortUrl,
  type DoctorWorld,
  find,
  LOST,
  setClerkDelivery,
  startHungServer,
  withFault,
} from "./world";

// A world of its own: the Clerk stand-in keeps a development instance's 100 requests / 10 s.
let world: DoctorWorld;
useDoctorWorld((started) => {
  world = started;
});

describe("doctor: Clerk", () => {
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
    expect(failing).toMatchObject({
      status: "fail",
      code: "delivered-by-clerk",
      message: "verification_code is still delivered by Clerk: these emails bypass Resend and the bridge",
    });
    expect(failing.fix).toContain("POST /v1/templates/email/verification_code/toggle_delivery");
    expect(find(up.results, "clerk.template.reset_password_code").status).toBe("pass");
    expect(find(before.results, "clerk.template.verification_code").status).toBe("warn");
  });

  it("an instance without a Svix app fails", async () => {
    const { instance } = world.sandbox.clerk;
    const report = await withFault(
      () => instance.deleteSvixApp(),
      () => {
        const again = world.sandbox.clerk.subscribe(world.bridge.webhookUrl("clerk"));
        world.bridge.setWebhookSecrets({ clerk: [again.signingSecret] });
        world.clerkEndpoint = world.sandbox.clerk.svix.endpoints(again.appId)[0]!;
      },
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "clerk.svix-app")).toMatchObject({
      status: "fail",
      code: "missing",
      fix: "pulumi up --refresh creates it (clerkWebhookMode portal), together with the endpoint",
    });
    expect(report.results.some((r) => r.check === "clerk.webhook-endpoint")).toBe(false);
  });

  describe("the webhook endpoint, read through the Svix app portal", () => {
    const clerkUrl = () => `${world.bridge.url}/webhooks/clerk`;
    async function withEndpoint(change: (e: typeof world.clerkEndpoint) => void) {
      const saved = { ...world.clerkEndpoint };
      return withFault(
        () => change(world.clerkEndpoint),
        () => Object.assign(world.clerkEndpoint, saved),
        () => runDoctor(world.inputs()),
      );
    }

    it("disabled: fails once cut over, naming the endpoint", async () => {
      const report = await withEndpoint((e) => {
        e.disabled = true;
      });
      expect(find(report.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "fail",
        code: "disabled",
        message: `the Clerk webhook endpoint ${world.clerkEndpoint.id} for ${clerkUrl()} is disabled (Svix disables endpoints that keep failing); ${LOST}`,
      });
      expect(exitCode(report)).toBe(1);
    });

    it("filtering out email.created fails", async () => {
      const report = await withEndpoint((e) => {
        e.eventTypes = ["user.created", "user.updated"];
      });
      expect(find(report.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "fail",
        code: "events",
        message: `the Clerk webhook endpoint ${world.clerkEndpoint.id} for ${clerkUrl()} filters out email.created (it subscribes to user.created, user.updated); ${LOST}`,
      });
    });

    it("pointing at another URL fails; the stack's own endpoint (by uid) is named", async () => {
      const other = await withEndpoint((e) => {
        e.url = "https://old-bridge.example.com/webhooks/clerk";
      });
      expect(find(other.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "fail",
        code: "missing",
        message: `no Clerk webhook endpoint sends to ${clerkUrl()} (endpoints: https://old-bridge.example.com/webhooks/clerk): email.created never reaches the bridge; ${LOST}`,
        fix: "pulumi up --refresh, which re-creates the stack's ClerkWebhookEndpoint",
      });
      const ours = await withEndpoint((e) => {
        e.url = "https://old-bridge.example.com/webhooks/clerk";
        e.uid = "auth-email-pipeline-0badc0de";
      });
      expect(find(ours.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "fail",
        code: "wrong-url",
      });
    });

    it("missing: warns only while Clerk still delivers the templates", async () => {
      const report = await beforeCutover(world, () =>
        withEndpoint((e) => {
          e.url = "https://elsewhere.example.com/hook";
        }),
      );
      expect(find(report.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "warn",
        code: "missing",
      });
    });

    it("manual mode says what it cannot check", async () => {
      const report = await runDoctor(
        world.inputs({ settings: world.settings({ clerkWebhookMode: "manual" }) }),
      );
      expect(find(report.results, "clerk.webhook-endpoint")).toMatchObject({
        status: "warn",
        code: "not-checked",
        message:
          "clerkWebhookMode is manual: the doctor does not open the instance's Svix app portal, so the endpoint's URL, its event filter and whether it is enabled are not checked",
        fix: `in Clerk Dashboard → Webhooks check that ${clerkUrl()} is enabled and subscribes to email.created`,
      });
    });
  });

  it("a rejected secret key fails; an unreachable Clerk only warns", async () => {
    const rejected = await runDoctor(
      world.inputs({ settings: world.settings({}, { CLERK_SECRET_KEY: "sk_test_revoked" }) }),
    );
    expect(find(rejected.results, "clerk.secret-key")).toMatchObject({ status: "fail", code: "rejected" });
    expect(find(rejected.results, "clerk.secret-key").message).toContain("HTTP 401 authentication_invalid");

    const offline = await runDoctor(world.inputs({ clerkApiUrl: await closedPortUrl() }));
    expect(find(offline.results, "clerk.secret-key")).toMatchObject({ status: "warn", code: "unreachable" });
  });
});

describe("doctor: the Clerk Svix app in manual mode", () => {
  it("names the events in the missing app's fix, email.created spelled as Clerk sends it", () => {
    const result = checkSvixApp(
      {
        key: { ok: true, value: 0 },
        templates: {},
        svixPortal: {
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
});

describe("doctor: a hung dependency", () => {
  it("costs its own timeout only: the rest of the report is there", async () => {
    const hung = await startHungServer();
    try {
      const started = Date.now();
      const report = await runDoctor(
        world.inputs({ clerkApiUrl: hung.url, bridgeUrl: hung.url, timeoutMs: 400 }),
      );
      const elapsed = Date.now() - started;
      // Clerk and the bridge hang at once, each within its own 400 ms; sequential waits would take 4 × 400.
      expect(elapsed).toBeLessThan(1_500);
      expect(find(report.results, "clerk.secret-key")).toMatchObject({
        status: "warn",
        code: "unreachable",
        message: "checking CLERK_SECRET_KEY: no answer timeout: no answer within 400 ms",
      });
      expect(find(report.results, "bridge.health")).toMatchObject({ status: "fail", code: "down" });
      expect(find(report.results, "resend.domain").status).toBe("pass");
      expect(find(report.results, "dns.dkim-txt").status).toBe("pass");
    } finally {
      await hung.close();
    }
  });
});
