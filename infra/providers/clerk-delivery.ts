import * as pulumi from "@pulumi/pulumi";

export interface ClerkEmailDeliveryArgs {
  /** Email template slugs whose delivery moves from Clerk to the bridge. */
  templates: pulumi.Input<pulumi.Input<string>[]>;
}

const clerkDeliveryProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("ClerkEmailDelivery provider is not implemented yet");
  },
};

/** Turns "Delivered by Clerk" off for the given templates; deleting restores the previous values. */
export class ClerkEmailDelivery extends pulumi.dynamic.Resource {
  declare readonly templates: pulumi.Output<string[]>;
  declare readonly previous: pulumi.Output<Record<string, boolean>>;

  constructor(name: string, args: ClerkEmailDeliveryArgs, opts?: pulumi.CustomResourceOptions) {
    super(clerkDeliveryProvider, name, { previous: undefined, ...args }, opts, "clerk", "EmailDelivery");
  }
}
