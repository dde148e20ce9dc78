import * as pulumi from "@pulumi/pulumi";

export interface ClerkWebhookEndpointArgs {
  url: pulumi.Input<string>;
  eventTypes: pulumi.Input<pulumi.Input<string>[]>;
  description: pulumi.Input<string>;
}

const clerkWebhookProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("ClerkWebhookEndpoint provider is not implemented yet");
  },
};

/** A Clerk webhook endpoint, managed through Clerk's Svix app portal. */
export class ClerkWebhookEndpoint extends pulumi.dynamic.Resource {
  declare readonly endpointId: pulumi.Output<string>;
  declare readonly signingSecret: pulumi.Output<string>;

  constructor(name: string, args: ClerkWebhookEndpointArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      clerkWebhookProvider,
      name,
      { endpointId: undefined, signingSecret: undefined, ...args },
      { ...opts, additionalSecretOutputs: ["signingSecret"] },
      "clerk",
      "WebhookEndpoint",
    );
  }
}
