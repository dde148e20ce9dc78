import * as pulumi from "@pulumi/pulumi";
import { ClerkEmailDelivery } from "../providers/clerk-delivery";

export interface ClerkDeliveryArgs {
  templates: string[];
  /**
   * What must exist before Clerk stops delivering: the verification gate (Resend will accept the mail),
   * the webhooks (Clerk will tell the bridge), and the bridge (something will send it).
   */
  after: pulumi.Resource[];
}

/**
 * Switches the templates to `delivered_by_clerk=false`. This is the one step that can lose a verification
 * email, so it runs last and its delete restores Clerk's delivery first on `pulumi destroy`.
 */
export class ClerkDelivery extends pulumi.ComponentResource {
  readonly templates: pulumi.Output<string[]>;
  readonly previous: pulumi.Output<Record<string, boolean>>;

  constructor(name: string, args: ClerkDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auth-email-pipeline:email:ClerkDelivery", name, {}, opts);
    const delivery = new ClerkEmailDelivery(
      `${name}-templates`,
      { templates: args.templates },
      { parent: this, dependsOn: args.after },
    );
    this.templates = delivery.templates;
    this.previous = delivery.previous;
    this.registerOutputs({ templates: this.templates, previous: this.previous });
  }
}
