import * as pulumi from "@pulumi/pulumi";

export interface DomainVerificationArgs {
  domainId: pulumi.Input<string>;
  timeoutSeconds: pulumi.Input<number>;
  pollIntervalSeconds: pulumi.Input<number>;
  /** The DNS records as written, so a DNS change re-runs the gate. */
  recordsFingerprint: pulumi.Input<string>;
}

const domainVerificationProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("DomainVerification provider is not implemented yet");
  },
};

/** Waits until Resend reports the domain verified. */
export class DomainVerification extends pulumi.dynamic.Resource {
  declare readonly status: pulumi.Output<string>;
  declare readonly verifiedAt: pulumi.Output<string>;

  constructor(name: string, args: DomainVerificationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      domainVerificationProvider,
      name,
      { status: undefined, verifiedAt: undefined, ...args },
      opts,
      "resend",
      "DomainVerification",
    );
  }
}
