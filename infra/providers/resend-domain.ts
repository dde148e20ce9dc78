import * as pulumi from "@pulumi/pulumi";

/** One DNS record Resend asks the domain owner to publish, as `GET /domains/{id}` returns it. */
export type ResendDnsRecord = {
  record: string;
  name: string;
  type: string;
  value: string;
  ttl: string;
  priority?: number;
  status: string;
};

export interface ResendDomainArgs {
  name: pulumi.Input<string>;
  region: pulumi.Input<string>;
  customReturnPath: pulumi.Input<string>;
  tls: pulumi.Input<string>;
  openTracking: pulumi.Input<boolean>;
  clickTracking: pulumi.Input<boolean>;
  adoptExisting: pulumi.Input<boolean>;
}

const resendDomainProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("ResendDomain provider is not implemented yet");
  },
};

/** A Resend sending domain. */
export class ResendDomain extends pulumi.dynamic.Resource {
  declare readonly domainId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly records: pulumi.Output<ResendDnsRecord[]>;

  constructor(name: string, args: ResendDomainArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      resendDomainProvider,
      name,
      { domainId: undefined, status: undefined, records: undefined, ...args },
      opts,
      "resend",
      "Domain",
    );
  }
}
