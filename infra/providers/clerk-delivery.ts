import * as pulumi from "@pulumi/pulumi";
import { callVendorOk, clerkCall, isUnknown, readVendorObject, sameSet } from "./vendor-http";

export interface ClerkEmailDeliveryArgs {
  /** Email template slugs whose delivery moves from Clerk to the bridge. */
  templates: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The Resend domain the bridge sends from. A new id replaces this resource delete-first, so Clerk delivers
   * again before the old domain goes (see `diff`); pass the ResendDomain's own output so the engine sees
   * the dependency.
   */
  domainId?: pulumi.Input<string>;
  /** The Clerk email id of the delivery canary that proved the pipeline; a newer one re-applies the cutover. */
  canaryEmailId?: pulumi.Input<string>;
}

export interface ClerkEmailDeliveryInputs {
  templates: string[];
  domainId?: string;
  canaryEmailId?: string;
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

/** `delivered_by_clerk` of one template; `undefined` when the template no longer exists. */
export async function clerkDelivers(
  clerkKey: string | undefined,
  slug: string,
): Promise<boolean | undefined> {
  const res = await readVendorObject(
    clerkCall(clerkKey, "GET", `/templates/email/${slug}`, `read email template "${slug}"`),
  );
  return res === undefined ? undefined : res.body?.delivered_by_clerk === true;
}

/** `toggle_delivery`, the only (deprecated) Backend API route that switches a template's delivery. */
export async function setClerkDelivery(
  clerkKey: string | undefined,
  slug: string,
  byClerk: boolean,
): Promise<void> {
  const action = `${byClerk ? "restore" : "turn off"} Clerk delivery of email template "${slug}"`;
  await callVendorOk(
    clerkCall(clerkKey, "POST", `/templates/email/${slug}/toggle_delivery`, action, {
      delivered_by_clerk: byClerk,
    }),
  );
}

/** Why a `templates` input is unusable, or undefined when it is a non-empty list of slugs (or not known yet). */
export function templatesProblem(templates: unknown): string | undefined {
  if (isUnknown(templates)) return undefined;
  const list = Array.isArray(templates) ? templates : [];
  if (list.length === 0) return 'templates must list at least one slug, e.g. ["verification_code"]';
  const bad = list.filter((t) => !isUnknown(t) && (typeof t !== "string" || !SLUG.test(t)));
  if (bad.length > 0) {
    return `templates has invalid slugs ${JSON.stringify(bad)}; slugs are lowercase, e.g. "reset_password_code"`;
  }
  return undefined;
}

/** The optional inputs that tie the cutover to the domain and the canary, as given. */
function linksOf(inputs: Partial<Record<"domainId" | "canaryEmailId", unknown>>) {
  return {
    ...(inputs.domainId === undefined ? {} : { domainId: inputs.domainId as string }),
    ...(inputs.canaryEmailId === undefined ? {} : { canaryEmailId: inputs.canaryEmailId as string }),
  };
}

class ClerkEmailDeliveryProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("clerkSecretKey");
  }

  async deliveredByClerk(slug: string): Promise<boolean | undefined> {
    return clerkDelivers(this.configuredKey, slug);
  }

  async setDelivery(slug: string, byClerk: boolean): Promise<void> {
    await setClerkDelivery(this.configuredKey, slug, byClerk);
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
    const links = linksOf(news);
    if (isUnknown(templates)) return { inputs: { templates, ...links } };
    const problem = templatesProblem(templates);
    const list = Array.isArray(templates) ? templates : [];
    return {
      inputs: { templates: [...new Set(list)], ...links },
      failures: problem ? [{ property: "templates", reason: problem }] : [],
    };
  }

  /**
   * A new `domainId` replaces the cutover, delete first: its delete hands delivery back to Clerk. When the
   * Resend domain is replaced (delete-before-replace), the engine first deletes every dependent whose diff,
   * with the domain's outputs unknown, asks for a replacement; this is how Clerk is delivering again before
   * the old domain is deleted. The new cutover is created only after the new domain's gate and canary.
   * A state without `domainId` (written before it existed) adopts the new one in place.
   */
  async diff(
    _id: string,
    olds: ClerkEmailDeliveryOutputs,
    news: ClerkEmailDeliveryInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.domainId !== undefined && olds.domainId !== news.domainId ? ["domainId"] : [];
    // A template switched back to Clerk delivery (Dashboard, revert, a failed canary) is switched off again.
    const drifted = Object.values(olds.current ?? {}).some((v) => v);
    const changes =
      olds.domainId !== news.domainId ||
      !sameSet(olds.templates, news.templates) ||
      drifted ||
      olds.canaryEmailId !== news.canaryEmailId;
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
  }

  async create(inputs: ClerkEmailDeliveryInputs): Promise<pulumi.dynamic.CreateResult> {
    const previous = await this.cutOver(inputs.templates);
    const current = Object.fromEntries(inputs.templates.map((t) => [t, false]));
    return { id: DELIVERY_ID, outs: { templates: inputs.templates, ...linksOf(inputs), previous, current } };
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
    return { outs: { templates: news.templates, ...linksOf(news), previous, current } };
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
