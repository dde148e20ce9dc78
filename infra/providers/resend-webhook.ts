import * as pulumi from "@pulumi/pulumi";

export interface ResendWebhookArgs {
  endpoint: pulumi.Input<string>;
  events: pulumi.Input<pulumi.Input<string>[]>;
}

const resendWebhookProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("ResendWebhook provider is not implemented yet");
  },
};

/** A Resend webhook endpoint; its signing secret is a secret output. */
export class ResendWebhook extends pulumi.dynamic.Resource {
  declare readonly webhookId: pulumi.Output<string>;
  declare readonly signingSecret: pulumi.Output<string>;

  constructor(name: string, args: ResendWebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      resendWebhookProvider,
      name,
      { webhookId: undefined, signingSecret: undefined, ...args },
      { ...opts, additionalSecretOutputs: ["signingSecret"] },
      "resend",
      "Webhook",
    );
  }
}
