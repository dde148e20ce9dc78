import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/sandbox";
import { DELIVERED_ADDRESS, isCanary } from "../../src/sandbox/local-cloud/scenario";
import { loadSerializedProvider, unwrapSecrets } from "../../src/sandbox/local-cloud/serialized-provider";
import { checkedInputs } from "../support/serialized-provider";
import { type Deployment, deploy, failedDeployment, resendApi, TYPES } from "./local-cloud-harness";

const TEMPLATES = ["verification_code", "reset_password_code"];

const deliveredByClerk = (sandbox: Sandbox) =>
  Object.fromEntries(
    TEMPLATES.map((slug) => [slug, sandbox.clerk.instance.templates.email(slug).deliveredByClerk]),
  );

/** A sign-up as an end user makes it: whether Clerk delivers its code itself (the bridge then ignores it). */
async function signUpDeliveredByClerk(sandbox: Sandbox, address: string): Promise<boolean> {
  const res = await fetch(`${sandbox.clerk.url}/_sandbox/clerk/sign-ups`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "Mozilla/5.0 Chrome/130" },
    body: JSON.stringify({ email_address: address }),
  });
  const { email } = (await res.json()) as { email: { id: string; delivered_by_clerk: boolean } };
  return email.delivered_by_clerk;
}

/** Waits until the bridge has sent a sign-up code for `address` through Resend. */
async function codeSentThroughResend(sandbox: Sandbox, address: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (sandbox.resend.emails().some((e) => e.to.includes(address) && !isCanary(e))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * The next `pulumi up` of one dynamic resource, as the engine runs it: its provider loaded from the text in
 * its state, `update` from the state it left to the inputs the program now gives.
 */
async function updateFromState(
  deployment: Deployment,
  type: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const state = unwrapSecrets(deployment.cloud.find(type).state) as Record<string, unknown>;
  const provider: pulumi.dynamic.ResourceProvider = loadSerializedProvider(String(state.__provider));
  const inputs = await checkedInputs(provider, news);
  const result = await provider.update!(deployment.cloud.find(type).id, olds as never, inputs as never);
  return result.outs as Record<string, unknown>;
}

/** Presses "Verify" on the domain, then reads its status (once it is `until`, when given). */
async function verifyDomain(sandbox: Sandbox, domainId: string, until?: string): Promise<unknown> {
  await resendApi(sandbox, `/domains/${domainId}/verify`, "POST");
  let { status } = await resendApi(sandbox, `/domains/${domainId}`);
  for (let i = 0; until && status !== until && i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    ({ status } = await resendApi(sandbox, `/domains/${domainId}`));
  }
  return status;
}

describe("the delivery canary in the local cloud", () => {
  it("a misconfigured bridge fails `pulumi up` naming the cause, never cuts over, and hands delivery back", async () => {
    const { error, sandbox, realizedTypes } = await failedDeployment(
      "cloudflare",
      (type, name, inputs) => {
        if (type !== TYPES.function || name !== "bounce-bridge-worker") return inputs;
        const environment = inputs.environment as { variables: Record<string, string> };
        // The worker is pointed at a parameter that does not exist: it cannot read the Resend key.
        environment.variables.BRIDGE_PARAM_RESEND_API_KEY = "/auth-email-pipeline/sandbox/no-such-key";
        return inputs;
      },
      {},
      // As an earlier deployment would have left it: Clerk cut over to the bridge.
      async (standIns) => {
        for (const slug of TEMPLATES) standIns.clerk.instance.templates.email(slug).deliveredByClerk = false;
      },
    );
    try {
      expect(error.message).toMatch(
        /^creating pulumi-nodejs:dynamic\/pipeline:DeliveryCanary clerk-delivery-canary failed: The delivery canary failed: worker could not read its secrets: SSM parameter\(s\) not found or not readable: \/auth-email-pipeline\/sandbox\/no-such-key.*Delivery of verification_code, reset_password_code was handed back to Clerk/,
      );
      expect(realizedTypes).not.toContain(TYPES.delivery);
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: true, reset_password_code: true });
      // Nothing reached Resend: the canary's send never left the worker.
      expect(sandbox.resend.emails()).toEqual([]);
      expect(await signUpDeliveredByClerk(sandbox, "delivered+new-user@resend.dev")).toBe(true);
    } finally {
      await sandbox.close();
    }
  }, 90_000);

  describe("after a deployment that passed", () => {
    let deployment: Deployment;
    beforeAll(async () => {
      deployment = await deploy("cloudflare");
    }, 90_000);
    afterAll(() => deployment?.close());

    const canaryInputs = (fingerprint: string) => {
      const state = unwrapSecrets(deployment.cloud.find(TYPES.canary).state) as Record<string, unknown>;
      const { bridgeUrl, signingSecret, templates } = state;
      return { bridgeUrl, signingSecret, templates, fingerprint };
    };
    let canaryState: Record<string, unknown>;
    let cutoverState: Record<string, unknown>;

    it("an unverified domain fails the next canary with Resend's reason; Clerk delivers until a canary passes", async () => {
      const { sandbox, cloud } = deployment;
      canaryState = unwrapSecrets(cloud.find(TYPES.canary).state) as Record<string, unknown>;
      cutoverState = unwrapSecrets(cloud.find(TYPES.delivery).state) as Record<string, unknown>;
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: false, reset_password_code: false });

      // The DKIM record disappears and someone presses "Verify" in Resend's dashboard: the domain goes back
      // to pending and stays there, so Resend refuses to send from it.
      const dkim = sandbox.dns.records().find((r) => r.name === "resend._domainkey.mail.example.com")!;
      sandbox.dns.remove(dkim.name, dkim.type);
      expect(await verifyDomain(sandbox, String(deployment.outputs.domainId))).toBe("pending");

      const failure = await updateFromState(
        deployment,
        TYPES.canary,
        canaryState,
        canaryInputs("domain-drifted"),
      ).then(
        () => undefined,
        (err: Error & { properties: Record<string, unknown> }) => err,
      );
      expect(failure?.message).toBe(
        "The delivery canary failed: Resend refused: HTTP 403 validation_error: The `mail.example.com` domain " +
          "is not verified. Please, add and verify your domain on https://resend.com/domains. Delivery of " +
          "verification_code, reset_password_code was handed back to Clerk (delivered_by_clerk=true) until a " +
          "canary passes: fix the cause and run `pulumi up` again.",
      );
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: true, reset_password_code: true });
      expect(await signUpDeliveredByClerk(sandbox, "delivered+during-outage@resend.dev")).toBe(true);
      canaryState = failure!.properties;

      // Fixed: the record is back and verified; the canary passes, and only then the cutover's update
      // (its canaryEmailId changed) switches the templates off again.
      sandbox.dns.upsert(dkim);
      expect(await verifyDomain(sandbox, String(deployment.outputs.domainId), "verified")).toBe("verified");
      const passed = await updateFromState(
        deployment,
        TYPES.canary,
        canaryState,
        canaryInputs("domain-fixed"),
      );
      expect(passed).toMatchObject({ status: "passed" });
      expect(sandbox.resend.emails().find((e) => e.id === passed.resendEmailId)?.tags).toContainEqual({
        name: "canary",
        value: "true",
      });
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: true, reset_password_code: true });
      const { templates, domainId } = cutoverState;
      cutoverState = await updateFromState(deployment, TYPES.delivery, cutoverState, {
        templates,
        domainId,
        canaryEmailId: passed.clerkEmailId,
      });
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: false, reset_password_code: false });
      expect(cutoverState.previous).toEqual({ verification_code: true, reset_password_code: true });
      expect(await signUpDeliveredByClerk(sandbox, "delivered+after-fix@resend.dev")).toBe(false);
      expect(await codeSentThroughResend(sandbox, "delivered+after-fix@resend.dev")).toBe(true);
      canaryState = passed;
    }, 60_000);

    it("a revoked sending key fails the next canary naming Resend's refusal, and Clerk delivers again", async () => {
      const { sandbox } = deployment;
      expect(canaryState?.status).toBe("passed");
      // Someone deletes the bridge's own key in Resend's dashboard (the full-access key keeps working).
      const bridgeKey = sandbox.resend.apiKeys().find((k) => k.name === "auth-email-pipeline sandbox bridge");
      expect(bridgeKey?.permission).toBe("sending_access");
      await resendApi(sandbox, `/api-keys/${bridgeKey?.id}`, "DELETE");
      const failure = await updateFromState(
        deployment,
        TYPES.canary,
        canaryState,
        canaryInputs("key-revoked"),
      ).then(
        () => undefined,
        (err: Error & { properties: Record<string, unknown> }) => err,
      );
      expect(failure?.properties).toMatchObject({
        status: "failed",
        reason: "Resend refused: HTTP 403 invalid_api_key: API key is invalid",
        handedBack: TEMPLATES,
      });
      expect(deliveredByClerk(sandbox)).toEqual({ verification_code: true, reset_password_code: true });
      const canaries = sandbox.resend.emails().filter(isCanary);
      expect(canaries.every((e) => e.to.join() === DELIVERED_ADDRESS)).toBe(true);
    }, 60_000);
  });
});
