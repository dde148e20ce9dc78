import * as pulumi from "@pulumi/pulumi";
import { callVendorOk, clerkCall, isUnknown, readVendorObject, sameSet } from "./vendor-http";

export interface ClerkEmailDeliveryArgs {
  /** Email template slugs whose delivery moves from Clerk to the bridge. */
  templates: pulumi.Input<pulumi.Input<string>[]>;
}

export interface ClerkEmailDeliveryInputs {
  templates: string[];
}

export interface ClerkEmailDeliveryOutputs extends ClerkEmailDeliveryInputs {
  /** `delivered_by_clerk` of each template before the cutover; delete puts these back. */
  previous: Record<string, boolean>;
  /** `delivered_by_clerk` as last seen; a template switched back on in the Dashboard shows up here. */
  current: Record<string, boolean>;
}

const SLUG = /^[a-z0-9_]+$/;
// One cutover per Clerk instance: the id names the thing, not a Clerk object.
const DELIVERY_ID = "clerk-email-delivery";

class ClerkEmailDeliveryProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("clerkSecretKey");
  }

  /** `delivered_by_clerk` of one template; `undefined` when the template no longer exists. */
  async deliveredByClerk(slug: string): Promise<boolean | undefined> {
    const res = await readVendorObject(
      clerkCall(this.configuredKey, "GET", `/templates/email/${slug}`, `read email template "${slug}"`),
    );
    return res === undefined ? undefined : res.body?.delivered_by_clerk === true;
  }

  async setDelivery(slug: string, deliveredByClerk: boolean): Promise<void> {
    const action = `${deliveredByClerk ? "restore" : "turn off"} Clerk delivery of email template "${slug}"`;
    await callVendorOk(
      clerkCall(this.configuredKey, "POST", `/templates/email/${slug}/toggle_delivery`, action, {
        delivered_by_clerk: deliveredByClerk,
      }),
    );
  }

  /** Records each template's current setting, then turns Clerk delivery off; undoes its own work on failure. */
  async cutOver(slugs: string[]): Promise<Record<string, boolean>> {
    const previous: Record<string, boolean> = {};
    const toggled: string[] = [];
    try {
      for (const slug of slugs) {
        const delivered = await this.deliveredByClerk(slug);
        if (delivered === undefined) {
          throw new Error(
            `Clerk has no email template "${slug}": check the slug in templates (GET /v1/templates/email lists them).`,
          );
        }
        previous[slug] = delivered;
        if (delivered) {
          await this.setDelivery(slug, false);
          toggled.push(slug);
        }
      }
    } catch (err) {
      for (const slug of toggled) await this.setDelivery(slug, true).catch(() => undefined);
      throw err;
    }
    return previous;
  }

  async restore(slug: string, previous: boolean | undefined): Promise<void> {
    if (previous !== true) return;
    const now = await this.deliveredByClerk(slug);
    if (now === false) await this.setDelivery(slug, true);
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const templates = news.templates;
    if (isUnknown(templates)) return { inputs: { templates } };
    const list = Array.isArray(templates) ? templates : [];
    const bad = list.filter((t) => !isUnknown(t) && (typeof t !== "string" || !SLUG.test(t)));
    const failures: { property: string; reason: string }[] = [];
    if (list.length === 0) {
      failures.push({
        property: "templates",
        reason: 'templates must list at least one slug, e.g. ["verification_code"]',
      });
    } else if (bad.length > 0) {
      failures.push({
        property: "templates",
        reason: `templates has invalid slugs ${JSON.stringify(bad)}; slugs are lowercase, e.g. "reset_password_code"`,
      });
    }
    return { inputs: { templates: [...new Set(list)] }, failures };
  }

  async diff(
    _id: string,
    olds: ClerkEmailDeliveryOutputs,
    news: ClerkEmailDeliveryInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    // A template switched back to Clerk delivery (Dashboard, revert) is switched off again.
    const drifted = Object.values(olds.current ?? {}).some((v) => v);
    return { changes: !sameSet(olds.templates, news.templates) || drifted, replaces: [] };
  }

  async create(inputs: ClerkEmailDeliveryInputs): Promise<pulumi.dynamic.CreateResult> {
    const previous = await this.cutOver(inputs.templates);
    const current = Object.fromEntries(inputs.templates.map((t) => [t, false]));
    return { id: DELIVERY_ID, outs: { templates: inputs.templates, previous, current } };
  }

  async read(id: string, props: ClerkEmailDeliveryOutputs): Promise<pulumi.dynamic.ReadResult> {
    const current: Record<string, boolean> = {};
    for (const slug of props.templates) {
      const delivered = await this.deliveredByClerk(slug);
      if (delivered !== undefined) current[slug] = delivered;
    }
    return { id, props: { ...props, current } };
  }

  async update(
    _id: string,
    olds: ClerkEmailDeliveryOutputs,
    news: ClerkEmailDeliveryInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const removed = olds.templates.filter((t) => !news.templates.includes(t));
    const added = news.templates.filter((t) => !olds.templates.includes(t));
    const kept = news.templates.filter((t) => olds.templates.includes(t));
    // A failed update leaves the old state in place, so only the last step may switch templates whose
    // previous value is not in that state yet; the cutover of added templates undoes itself when it fails.
    for (const slug of kept) {
      if ((await this.deliveredByClerk(slug)) === true) await this.setDelivery(slug, false);
    }
    const previous: Record<string, boolean> = { ...olds.previous };
    for (const slug of removed) {
      await this.restore(slug, olds.previous[slug]);
      delete previous[slug];
    }
    Object.assign(previous, await this.cutOver(added));
    const current = Object.fromEntries(news.templates.map((t) => [t, false]));
    return { outs: { templates: news.templates, previous, current } };
  }

  async delete(_id: string, props: ClerkEmailDeliveryOutputs): Promise<void> {
    for (const slug of props.templates) await this.restore(slug, props.previous?.[slug]);
  }
}

/**
 * Turns "Delivered by Clerk" off for the given templates so their `email.created` events are sent
 * by the bridge instead. Each template's previous setting is kept and restored on delete (or when
 * the template leaves the list).
 */
export class ClerkEmailDelivery extends pulumi.dynamic.Resource {
  declare readonly templates: pulumi.Output<string[]>;
  declare readonly previous: pulumi.Output<Record<string, boolean>>;

  constructor(name: string, args: ClerkEmailDeliveryArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new ClerkEmailDeliveryProvider(),
      name,
      { previous: undefined, current: undefined, ...args },
      opts,
      "clerk",
      "EmailDelivery",
    );
  }
}
