import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { DeliveryCanary } from "../providers/canary";
import { ClerkEmailDelivery } from "../providers/clerk-delivery";

export interface ClerkDeliveryArgs {
  templates: string[];
  /**
   * The ResendDomain's id output (not a copy): the cutover depends on the domain through it, so replacing the
   * domain hands delivery back to Clerk before the old domain is deleted.
   */
  domainId: pulumi.Input<string>;
  canary: {
    /** The bridge's Function URL. */
    bridgeUrl: pulumi.Input<string>;
    /** The Clerk webhook signing secret the bridge verifies with. */
    signingSecret: pulumi.Input<string>;
    /** From {@link canaryFingerprint}: a new value runs the canary again. */
    fingerprint: pulumi.Input<string>;
    timeoutSeconds?: number;
  };
  /**
   * What must exist before the canary runs and Clerk stops delivering: the verification gate (Resend will
   * accept the mail), the webhooks (Clerk will tell the bridge), and the bridge (something will send it).
   */
  after: pulumi.Resource[];
}

/**
 * The delivery canary, then the templates switched to `delivered_by_clerk=false`. The cutover is the one
 * step that can lose a verification email, so it runs last, only after a canary proved the deployed pipeline,
 * and its delete restores Clerk's delivery first on `pulumi destroy`.
 *
 * Order under the engine, and who hands delivery back:
 * - an update: the canary (its inputs changed) runs before the cutover is updated; a failing canary turns
 *   Clerk's delivery back on itself, inside its own failed create/update, and the failed canary stops the
 *   cutover's update. The next passing canary gives the cutover a new `canaryEmailId`, and its update
 *   switches the templates off again.
 * - a replaced Resend domain: the domain is replaced delete-first (SendingDomain), and the engine then deletes
 *   each dependent whose diff asks for a replacement before deleting the domain; the cutover asks for one when
 *   its `domainId` changes, so its delete gives Clerk its delivery back before the old domain goes. It is
 *   created again after the new domain's gate and a passing canary.
 */
export class ClerkDelivery extends pulumi.ComponentResource {
  readonly templates: pulumi.Output<string[]>;
  readonly previous: pulumi.Output<Record<string, boolean>>;
  readonly canary: pulumi.Output<{ clerkEmailId: string; resendEmailId: string; passedAt: string }>;

  constructor(name: string, args: ClerkDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auth-email-pipeline:email:ClerkDelivery", name, {}, opts);
    const canary = new DeliveryCanary(
      `${name}-canary`,
      {
        bridgeUrl: args.canary.bridgeUrl,
        signingSecret: args.canary.signingSecret,
        templates: args.templates,
        fingerprint: args.canary.fingerprint,
        ...(args.canary.timeoutSeconds ? { timeoutSeconds: args.canary.timeoutSeconds } : {}),
      },
      { parent: this, dependsOn: args.after },
    );
    const delivery = new ClerkEmailDelivery(
      `${name}-templates`,
      { templates: args.templates, domainId: args.domainId, canaryEmailId: canary.clerkEmailId },
      { parent: this, dependsOn: [...args.after, canary] },
    );
    this.templates = delivery.templates;
    this.previous = delivery.previous;
    this.canary = pulumi
      .all([canary.clerkEmailId, canary.resendEmailId, canary.passedAt])
      .apply(([clerkEmailId, resendEmailId, passedAt]) => ({ clerkEmailId, resendEmailId, passedAt }));
    this.registerOutputs({ templates: this.templates, previous: this.previous, canary: this.canary });
  }
}

export interface CanaryFingerprintParts {
  /** The bridge bundle's SHA-256. */
  bridgeCode: pulumi.Input<string>;
  /** Everything the bridge is configured with besides its code and secrets. */
  bridgeSettings: Record<string, unknown>;
  /**
   * The bridge's own Resend sending key (its id): a replaced key is a new identity the canary must send with.
   * The full-access key of the stack config is not part of it: the bridge never sends with that one.
   */
  sendingKeyId: pulumi.Input<string>;
  /**
   * The SSM version of each secret parameter the bridge reads: SSM raises it whenever the value changes, so
   * a rotated secret runs the canary again without the fingerprint touching any secret value.
   */
  secretVersions: pulumi.Input<Record<string, number>>;
  /** The domain the bridge sends from: its id, published records and verification. */
  domain: pulumi.Input<unknown>;
}

/**
 * One SHA-256 over everything the canary proves. It holds no secret (versions and ids only), so it is
 * readable in a preview, which can then show that the canary will run again.
 */
export function canaryFingerprint(parts: CanaryFingerprintParts): pulumi.Output<string> {
  const fingerprint = pulumi
    .all([parts.bridgeCode, parts.sendingKeyId, parts.secretVersions, parts.domain])
    .apply(([bridgeCode, sendingKeyId, secretVersions, domain]) =>
      createHash("sha256")
        .update(
          JSON.stringify({
            bridgeCode,
            bridgeSettings: parts.bridgeSettings,
            sendingKeyId,
            // Sorted, so the order the parts were assembled in does not matter.
            secretVersions: Object.fromEntries(Object.entries(secretVersions).sort()),
            domain,
          }),
        )
        .digest("hex"),
    );
  return pulumi.unsecret(fingerprint);
}
