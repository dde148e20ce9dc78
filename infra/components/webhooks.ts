import * as pulumi from "@pulumi/pulumi";
import type { SecretParameterNames } from "../../src/bridge/config";
import { CLERK_EVENTS as BRIDGE_CLERK_EVENTS, RESEND_EVENTS } from "../../src/bridge/events";
import { BRIDGE_PATHS, bridgeEndpoint } from "../../src/bridge/routes";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";
import type { ClerkWebhookMode } from "../config";
import { ClerkWebhookEndpoint } from "../providers/clerk-webhook";
import { ResendWebhook } from "../providers/resend-webhook";
import { secureParameter } from "./bounce-bridge";

/** Every Resend event the bridge acts on (src/bridge/events.ts decides what each one does). */
const RESEND_WEBHOOK_EVENTS = [...RESEND_EVENTS];

/** Clerk events the bridge handles: the email to send, and user changes that clear or purge its records. */
const CLERK_EVENTS = [...BRIDGE_CLERK_EVENTS];

export interface WebhooksArgs {
  project: string;
  stack: string;
  /** The bridge's Function URL. */
  bridgeUrl: pulumi.Input<string>;
  parameterNames: Pick<SecretParameterNames, "clerkWebhookSecret" | "resendWebhookSecret">;
  clerkMode: ClerkWebhookMode;
  /** Manual mode: the secret copied from the Clerk Dashboard, once the endpoint is registered. */
  clerkSigningSecret?: pulumi.Input<string>;
}

/**
 * Both webhook endpoints pointed at the bridge, and their signing secrets written to the SSM parameters the
 * bridge reads. The bridge functions hold only the parameter names, so there is no cycle: the endpoints need
 * the bridge URL, the parameters need the endpoints, and the functions need neither.
 */
export class Webhooks extends pulumi.ComponentResource {
  readonly resendWebhookId: pulumi.Output<string>;
  readonly resendEndpoint: pulumi.Output<string>;
  readonly clerkEndpoint: pulumi.Output<string>;
  /** Portal mode only. */
  readonly clerkEndpointId?: pulumi.Output<string>;
  /**
   * The Clerk endpoint's signing secret (secret) once Clerk will deliver `email.created` to the bridge: always
   * in portal mode, in manual mode once registered. The delivery canary signs with it.
   */
  readonly clerkSigningSecret?: pulumi.Output<string>;
  /** Manual mode: the steps that register the Clerk endpoint by hand. */
  readonly clerkRegistrationSteps?: pulumi.Output<string[]>;
  /** SSM versions of the webhook secrets (`clerkWebhookSecret`, `resendWebhookSecret`); each grows with its value. */
  readonly secretVersions: pulumi.Output<Record<string, number>>;

  constructor(name: string, args: WebhooksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auth-email-pipeline:email:Webhooks", name, {}, opts);
    const parent = { parent: this };
    const bridgeUrl = pulumi.output(args.bridgeUrl);
    this.resendEndpoint = bridgeUrl.apply((url) => bridgeEndpoint(url, BRIDGE_PATHS.resend));
    this.clerkEndpoint = bridgeUrl.apply((url) => bridgeEndpoint(url, BRIDGE_PATHS.clerk));

    const resend = new ResendWebhook(
      `${name}-resend`,
      { endpoint: this.resendEndpoint, events: RESEND_WEBHOOK_EVENTS },
      parent,
    );
    const resendParameter = secureParameter(
      `${name}-resend-secret`,
      args.parameterNames.resendWebhookSecret,
      resend.signingSecret,
      parent,
    );
    this.resendWebhookId = resend.webhookId;

    let clerkSecret: pulumi.Input<string>;
    if (args.clerkMode === "portal") {
      const endpoint = new ClerkWebhookEndpoint(
        `${name}-clerk`,
        {
          url: this.clerkEndpoint,
          eventTypes: CLERK_EVENTS,
          description: `${args.project} ${args.stack}: auth email bridge`,
        },
        parent,
      );
      this.clerkEndpointId = endpoint.endpointId;
      clerkSecret = endpoint.signingSecret;
      this.clerkSigningSecret = pulumi.secret(endpoint.signingSecret);
    } else {
      // Until the endpoint is registered the parameter holds the marker the bridge reads as "no secret yet"
      // (SSM refuses an empty value); it verifies nothing, and nothing is cut over.
      clerkSecret = args.clerkSigningSecret ?? WEBHOOK_SECRET_UNSET;
      if (args.clerkSigningSecret !== undefined)
        this.clerkSigningSecret = pulumi.secret(args.clerkSigningSecret);
      this.clerkRegistrationSteps = this.clerkEndpoint.apply((url) =>
        manualRegistrationSteps(url, args.stack),
      );
    }
    const clerkParameter = secureParameter(
      `${name}-clerk-secret`,
      args.parameterNames.clerkWebhookSecret,
      clerkSecret,
      parent,
    );
    this.secretVersions = pulumi.all({
      clerkWebhookSecret: clerkParameter.version,
      resendWebhookSecret: resendParameter.version,
    });

    this.registerOutputs({
      resendWebhookId: this.resendWebhookId,
      resendEndpoint: this.resendEndpoint,
      clerkEndpoint: this.clerkEndpoint,
      clerkEndpointId: this.clerkEndpointId,
      clerkRegistrationSteps: this.clerkRegistrationSteps,
      secretVersions: this.secretVersions,
    });
  }
}

/** The Dashboard steps for manual mode, exact enough to follow without reading the code. */
function manualRegistrationSteps(endpointUrl: string, stack: string): string[] {
  return [
    "1. Clerk Dashboard -> Configure -> Webhooks -> Add Endpoint.",
    `2. Endpoint URL: ${endpointUrl}`,
    `3. Subscribe to events: ${CLERK_EVENTS.join(", ")}. Create.`,
    "4. Open the endpoint and copy its Signing Secret (whsec_...).",
    `5. pulumi config set --secret clerkWebhookSigningSecret <whsec_...> --stack ${stack}`,
    `6. pulumi up --stack ${stack}: stores the secret and moves the templates' delivery to the bridge.`,
  ];
}
