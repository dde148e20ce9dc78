import * as pulumi from "@pulumi/pulumi";
import { endpointProblem, eventTypesProblem } from "./validate";
import { callVendorOk, isUnknown, readVendorObject, resendCall, sameSet } from "./vendor-http";

export interface ResendWebhookArgs {
  endpoint: pulumi.Input<string>;
  events: pulumi.Input<pulumi.Input<string>[]>;
}

export interface ResendWebhookInputs {
  endpoint: string;
  events: string[];
}

export interface ResendWebhookOutputs extends ResendWebhookInputs {
  webhookId: string;
  signingSecret: string;
  /** `enabled`, or `disabled` once Resend gave up on a failing endpoint. */
  status: string;
}

class ResendWebhookProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("resendApiKey");
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const failures: { property: string; reason: string }[] = [];
    const endpoint = isUnknown(news.endpoint) ? undefined : endpointProblem(news.endpoint, "endpoint");
    if (endpoint) failures.push({ property: "endpoint", reason: endpoint });
    const events = eventTypesProblem(news.events, "events");
    if (events) failures.push({ property: "events", reason: events });
    return { inputs: { endpoint: news.endpoint, events: news.events }, failures };
  }

  async diff(
    _id: string,
    olds: ResendWebhookOutputs,
    news: ResendWebhookInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    // A webhook Resend disabled after repeated failures is re-enabled by the next deployment.
    const changes =
      olds.endpoint !== news.endpoint || !sameSet(olds.events, news.events) || olds.status === "disabled";
    return { changes, replaces: [] };
  }

  async create(inputs: ResendWebhookInputs): Promise<pulumi.dynamic.CreateResult> {
    // Resend cannot deduplicate webhook creation, so a create whose answer was lost is not repeated.
    const res = await callVendorOk({
      ...resendCall(this.configuredKey, "POST", "/webhooks", `create webhook for ${inputs.endpoint}`, {
        endpoint: inputs.endpoint,
        events: inputs.events,
      }),
      retryAmbiguous: false,
    });
    const id = String(res.body.id);
    let secret = res.body.signing_secret as string | undefined;
    if (!secret) secret = (await this.get(id, inputs.endpoint)).signing_secret;
    if (!secret) {
      throw new Error(
        `Resend created webhook ${id} for ${inputs.endpoint} but returned no signing_secret; ` +
          "rotate its secret in the Resend dashboard and run `pulumi refresh`.",
      );
    }
    const outs: ResendWebhookOutputs = { ...inputs, webhookId: id, signingSecret: secret, status: "enabled" };
    return { id, outs };
  }

  async get(id: string, endpoint: string) {
    const res = await callVendorOk(
      resendCall(this.configuredKey, "GET", `/webhooks/${id}`, `read webhook for ${endpoint}`),
    );
    return res.body as {
      endpoint?: string;
      events?: string[] | null;
      status?: string;
      signing_secret?: string;
    };
  }

  /** GET may omit the signing secret and report `events: null`: both keep their prior values. */
  merge(
    body: { endpoint?: string; events?: string[] | null; status?: string; signing_secret?: string },
    prior: ResendWebhookOutputs,
  ): ResendWebhookOutputs {
    return {
      webhookId: prior.webhookId,
      endpoint: body.endpoint ?? prior.endpoint,
      events: body.events ?? prior.events,
      status: body.status ?? prior.status,
      signingSecret: body.signing_secret || prior.signingSecret,
    };
  }

  async read(id: string, props: ResendWebhookOutputs): Promise<pulumi.dynamic.ReadResult> {
    const res = await readVendorObject(
      resendCall(this.configuredKey, "GET", `/webhooks/${id}`, `read webhook for ${props?.endpoint ?? id}`),
    );
    if (!res) return {};
    return { id, props: this.merge(res.body, { ...props, webhookId: id }) };
  }

  async update(
    id: string,
    olds: ResendWebhookOutputs,
    news: ResendWebhookInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    await callVendorOk(
      resendCall(this.configuredKey, "PATCH", `/webhooks/${id}`, `update webhook for ${news.endpoint}`, {
        endpoint: news.endpoint,
        events: news.events,
        status: "enabled",
      }),
    );
    const body = await this.get(id, news.endpoint);
    return { outs: this.merge(body, { ...olds, ...news, webhookId: id }) };
  }

  async delete(id: string, props: ResendWebhookOutputs): Promise<void> {
    await callVendorOk(
      resendCall(
        this.configuredKey,
        "DELETE",
        `/webhooks/${id}`,
        `delete webhook for ${props?.endpoint ?? id}`,
      ),
      [404],
    );
  }
}

/** A Resend webhook. The signing secret from creation is kept in state as a secret output. */
export class ResendWebhook extends pulumi.dynamic.Resource {
  declare readonly webhookId: pulumi.Output<string>;
  declare readonly signingSecret: pulumi.Output<string>;

  constructor(name: string, args: ResendWebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new ResendWebhookProvider(),
      name,
      { webhookId: undefined, signingSecret: undefined, status: undefined, ...args },
      { ...opts, additionalSecretOutputs: ["signingSecret"] },
      "resend",
      "Webhook",
    );
  }
}
