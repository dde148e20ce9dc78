import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import type { LocalCloud } from "../../src/sandbox/local-cloud";
import { LOCAL_CLOUD_SANDBOX, PROJECT, upIntoLocalCloud } from "../../src/sandbox/local-cloud/up";
import { eventually } from "../support/eventually";
import { bundleDir } from "../support/pulumi-program";
import { sandboxConfig, TYPES } from "./local-cloud-harness";

/**
 * The bug this guards against: the functions hold only parameter NAMES and cache the values, so when a
 * deployment changed only a parameter's value, a warm ingest kept the old secret and refused Clerk's events
 * with 401 until Clerk gave up. Two `pulumi up`s of the real program into one local cloud: the manual Clerk
 * endpoint's secret registered between them must be used by the very next request to the function.
 */
describe("a secret changed between two deployments reaches the warm function", () => {
  let sandbox: Sandbox | undefined;
  let cloud: LocalCloud | undefined;
  afterAll(async () => {
    await cloud?.close();
    await sandbox?.close();
  });

  const manual = () => ({ ...sandboxConfig("cloudflare"), [`${PROJECT}:clerkWebhookMode`]: "manual" });
  const signingSecretKey = `${PROJECT}:clerkWebhookSigningSecret`;
  const up = (config: Record<string, string>) => {
    vi.resetModules(); // the program registers its resources when imported
    return upIntoLocalCloud({
      sandbox: sandbox!,
      config,
      secretKeys: [signingSecretKey],
      cloud,
      timeoutMs: 60_000,
    });
  };
  /** Status of the first delivery attempt of the `email.created` Clerk emitted for `address`. */
  const clerkDeliveryStatus = (address: string) =>
    eventually(() => {
      const delivery = sandbox!.clerk.svix
        .deliveries()
        .find((d) => d.eventType === "email.created" && d.body.includes(address));
      return delivery?.attempts[0]?.status ?? undefined;
    }, 20_000);
  const parameter = async (name: string) => {
    const ssm = new SSMClient(sandboxClientConfig(sandbox!.aws.ssm.endpoint));
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter;
    } finally {
      ssm.destroy();
    }
  };

  it("registering the manual Clerk secret recycles ingest, whose next request verifies with it", async () => {
    bundleDir();
    sandbox = await startSandbox(LOCAL_CLOUD_SANDBOX);
    const first = await up(manual());
    cloud = first.cloud;
    const bridgeUrl = String(first.outputs.bridgeUrl);
    expect(first.outputs.clerkDelivery).toMatchObject({ routedToBridge: [] });
    const ingest = cloud.aws.lambdas.get(cloud.find(TYPES.function, "bounce-bridge-ingest").id)!;
    const worker = cloud.aws.lambdas.get(cloud.find(TYPES.function, "bounce-bridge-worker").id)!;
    expect(ingest.environment.BRIDGE_SECRETS_VERSION).toBe("clerk-webhook-secret@unset");

    // Registered by hand, as the clerkWebhookRegistration output says: Clerk signs with the secret at once,
    // and the ingest function, which has no secret for it yet, refuses (503: nothing can be verified, so
    // Svix retries) and is warm afterwards.
    const { signingSecret } = sandbox.clerk.subscribe(`${bridgeUrl}webhooks/clerk`, [
      "email.created",
      "user.created",
      "user.updated",
      "user.deleted",
    ]);
    sandbox.clerk.instance.signUp("delivered+before@resend.dev");
    expect(await clerkDeliveryStatus("delivered+before@resend.dev")).toBe(503);
    const coldStartsBefore = ingest.coldStarts;
    expect(coldStartsBefore).toBeGreaterThanOrEqual(1);

    const second = await up({ ...manual(), [signingSecretKey]: signingSecret });
    expect(second.cloud).toBe(cloud);
    expect((await parameter("/auth-email-pipeline/sandbox/clerk-webhook-secret"))?.Value).toBe(signingSecret);
    // Only what the secret touches changed: its parameter and ingest's configuration (the worker reads
    // neither); the Clerk cutover, waiting for the secret, was created.
    expect(cloud.log.filter((r) => r.operation === "update").map((r) => `${r.type} ${r.name}`)).toEqual([
      `${TYPES.parameter} webhooks-clerk-secret`,
      `${TYPES.function} bounce-bridge-ingest`,
    ]);
    expect(cloud.log.at(-1)).toMatchObject({ type: TYPES.delivery, operation: "create" });
    expect(ingest.updates).toBe(1);
    expect(worker.updates).toBe(0);
    expect(ingest.environment.BRIDGE_SECRETS_VERSION).toMatch(/^clerk-webhook-secret@sha256:[0-9a-f]{16}$/);
    expect(ingest.environment.BRIDGE_SECRETS_VERSION).not.toContain(signingSecret.slice(6));
    expect(second.outputs.clerkDelivery).toEqual({
      routedToBridge: ["verification_code", "reset_password_code"],
    });

    // The next request: a new execution environment, which reads the registered secret and accepts.
    const signUp = sandbox.clerk.instance.signUp("delivered+after@resend.dev");
    expect(await clerkDeliveryStatus("delivered+after@resend.dev")).toBe(202);
    expect(ingest.coldStarts).toBeGreaterThan(coldStartsBefore);
    const sent = await eventually(
      () => sandbox!.resend.emails().find((e) => e.to.includes("delivered+after@resend.dev")),
      20_000,
    );
    expect(sent.html).toContain(signUp.code);
  }, 150_000);
});
