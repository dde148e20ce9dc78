import * as pulumi from "@pulumi/pulumi";
import {
  callVendor,
  callVendorOk,
  isUnknown,
  readVendorObject,
  resendCall,
  vendorError,
  vendorMessage,
} from "./vendor-http";

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

/** Inputs after `check` filled in Resend's defaults. */
export interface ResendDomainInputs {
  name: string;
  region: string;
  customReturnPath: string;
  tls: string;
  openTracking: boolean;
  clickTracking: boolean;
  adoptExisting: boolean;
}

export interface ResendDomainOutputs extends ResendDomainInputs {
  domainId: string;
  status: string;
  records: ResendDnsRecord[];
  /** True when create found the domain already registered and took it over. */
  adopted: boolean;
}

/** Resend's sending regions and TLS modes; the stack config schema accepts exactly these. */
export const RESEND_REGIONS = ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"] as const;
export const TLS_MODES = ["opportunistic", "enforced"] as const;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
// Resend: ≤63 letters, digits or hyphens, starting with a letter, ending with a letter or digit.
const RETURN_PATH = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i;
// Fields only settable at creation: changing one means a new domain.
const CREATE_ONLY = ["name", "region", "customReturnPath"] as const;
const UPDATABLE = ["tls", "openTracking", "clickTracking"] as const;

type Failure = { property: string; reason: string };

function validateDomainInputs(news: Record<string, unknown>): {
  inputs: ResendDomainInputs;
  failures: Failure[];
} {
  const failures: Failure[] = [];
  const rawName = news.name;
  const name = typeof rawName === "string" ? rawName.trim().toLowerCase().replace(/\.$/, "") : rawName;
  const inputs = {
    name,
    region: news.region ?? "us-east-1",
    customReturnPath: news.customReturnPath ?? "send",
    tls: news.tls ?? "opportunistic",
    openTracking: news.openTracking ?? false,
    clickTracking: news.clickTracking ?? false,
    adoptExisting: news.adoptExisting ?? false,
  } as ResendDomainInputs;
  if (!isUnknown(name) && (typeof name !== "string" || !HOSTNAME.test(name))) {
    failures.push({
      property: "name",
      reason: `name must be a domain such as "mail.example.com" (got ${JSON.stringify(rawName)})`,
    });
  }
  if (!isUnknown(inputs.region) && !(RESEND_REGIONS as readonly string[]).includes(inputs.region)) {
    failures.push({
      property: "region",
      reason: `region must be one of ${RESEND_REGIONS.join(", ")} (got ${JSON.stringify(inputs.region)})`,
    });
  }
  const rp = inputs.customReturnPath;
  if (!isUnknown(rp) && (typeof rp !== "string" || !RETURN_PATH.test(rp))) {
    failures.push({
      property: "customReturnPath",
      reason:
        "customReturnPath must be 1-63 letters, digits or hyphens, start with a letter and end with a letter " +
        `or digit, e.g. "send" (got ${JSON.stringify(rp)})`,
    });
  }
  if (!isUnknown(inputs.tls) && !(TLS_MODES as readonly string[]).includes(inputs.tls)) {
    failures.push({
      property: "tls",
      reason: `tls must be "opportunistic" or "enforced" (got ${JSON.stringify(inputs.tls)})`,
    });
  }
  for (const flag of ["openTracking", "clickTracking", "adoptExisting"] as const) {
    const value = inputs[flag];
    if (!isUnknown(value) && typeof value !== "boolean") {
      failures.push({
        property: flag,
        reason: `${flag} must be true or false (got ${JSON.stringify(value)})`,
      });
    }
  }
  return { inputs, failures };
}

// TXT values come back quoted from GET but unquoted from create, a long one possibly as several quoted
// strings (`"p=…" "…"`); one spelling keeps the DNS records built on them stable.
function unquote(type: string, value: string): string {
  const trimmed = value.trim();
  return type === "TXT" && trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1).replace(/"\s*"/g, "")
    : value;
}

/** Records in a fixed order with fixed spellings, so a refresh never reshuffles the DNS records built on them. */
export function normalizeRecords(raw: unknown): ResendDnsRecord[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const records = raw.map((r: Record<string, unknown>) => {
    const type = String(r.type ?? "");
    const record: ResendDnsRecord = {
      record: String(r.record ?? ""),
      name: String(r.name ?? ""),
      type,
      value: unquote(type, String(r.value ?? "")),
      ttl: String(r.ttl ?? "Auto"),
      status: String(r.status ?? "not_started"),
    };
    if (typeof r.priority === "number") record.priority = r.priority;
    return record;
  });
  const key = (r: ResendDnsRecord) => `${r.record}|${r.type}|${r.name}`;
  return records.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * State from a Resend domain body. GET may omit `custom_return_path`, the tracking flags and (in
 * lists) `records`; an omitted field keeps its prior value instead of showing up as drift.
 */
function domainOutputs(
  domain: Record<string, unknown>,
  prior: ResendDomainInputs & Partial<ResendDomainOutputs>,
): ResendDomainOutputs {
  return {
    domainId: String(domain.id ?? prior.domainId),
    name: String(domain.name ?? prior.name),
    region: String(domain.region ?? prior.region),
    customReturnPath: (domain.custom_return_path as string | undefined) ?? prior.customReturnPath,
    tls: (domain.tls as string | undefined) ?? prior.tls,
    openTracking: (domain.open_tracking as boolean | undefined) ?? prior.openTracking,
    clickTracking: (domain.click_tracking as boolean | undefined) ?? prior.clickTracking,
    adoptExisting: prior.adoptExisting,
    adopted: prior.adopted ?? false,
    status: String(domain.status ?? prior.status ?? "not_started"),
    records: normalizeRecords(domain.records) ?? prior.records ?? [],
  };
}

class ResendDomainProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("resendApiKey");
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const { inputs, failures } = validateDomainInputs(news);
    return { inputs, failures };
  }

  async diff(
    _id: string,
    olds: ResendDomainOutputs,
    news: ResendDomainInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces = CREATE_ONLY.filter((k) => olds[k] !== undefined && olds[k] !== news[k]);
    const updates = UPDATABLE.filter((k) => olds[k] !== undefined && olds[k] !== news[k]);
    return {
      changes: replaces.length + updates.length > 0,
      replaces,
      // Same name in the same team: the old domain must go before Resend accepts the new one.
      deleteBeforeReplace: replaces.length > 0 && olds.name === news.name,
    };
  }

  async create(inputs: ResendDomainInputs): Promise<pulumi.dynamic.CreateResult> {
    const call = resendCall(this.configuredKey, "POST", "/domains", `create domain ${inputs.name}`, {
      name: inputs.name,
      region: inputs.region,
      custom_return_path: inputs.customReturnPath,
      tls: inputs.tls,
      open_tracking: inputs.openTracking,
      click_tracking: inputs.clickTracking,
    });
    const res = await callVendor(call);
    if (res.status === 200 || res.status === 201) {
      const outs = domainOutputs(res.body, { ...inputs, adopted: false });
      return { id: outs.domainId, outs };
    }
    if (res.status === 403 && /registered already/i.test(vendorMessage(res.body))) {
      // An earlier attempt went unanswered: the domain that is "registered already" is most likely ours.
      if (!inputs.adoptExisting && !res.ambiguous) {
        throw vendorError(
          call,
          res,
          "Set adoptExisting: true to manage the existing domain from this stack, or delete it in Resend first.",
        );
      }
      const outs = await this.adopt(inputs);
      return { id: outs.domainId, outs };
    }
    throw vendorError(call, res);
  }

  /** Takes over a domain this team already registered, bringing its settings in line with the inputs. */
  async adopt(inputs: ResendDomainInputs): Promise<ResendDomainOutputs> {
    const existing = await this.findByName(inputs.name);
    if (!existing) {
      throw new Error(
        `Resend says ${inputs.name} is registered already, but this API key's team has no domain by that name: ` +
          "it belongs to another Resend team. Claim it in the Resend dashboard, or choose another name.",
      );
    }
    const got = await callVendorOk(
      resendCall(this.configuredKey, "GET", `/domains/${existing}`, `read domain ${inputs.name}`),
    );
    const domain = got.body as Record<string, unknown>;
    for (const [field, apiField] of [
      ["region", "region"],
      ["customReturnPath", "custom_return_path"],
    ] as const) {
      const actual = domain[apiField];
      if (actual !== undefined && actual !== inputs[field]) {
        throw new Error(
          `Cannot adopt ${inputs.name}: it exists with ${field} "${String(actual)}" but ${field} is ` +
            `"${inputs[field]}", and Resend cannot change it. Set ${field} to "${String(actual)}", or delete the domain in Resend first.`,
        );
      }
    }
    const outs = domainOutputs(domain, { ...inputs, adopted: true });
    if (UPDATABLE.some((k) => outs[k] !== inputs[k])) {
      await this.patch(outs.domainId, inputs);
      return this.fetchOutputs(outs.domainId, { ...outs, ...inputs });
    }
    return outs;
  }

  async findByName(name: string): Promise<string | undefined> {
    let after: string | undefined;
    for (let page = 0; page < 50; page++) {
      const query = `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const res = await callVendorOk(
        resendCall(this.configuredKey, "GET", `/domains${query}`, "list domains"),
      );
      const items = (res.body?.data ?? []) as { id: string; name: string }[];
      const hit = items.find((d) => d.name === name);
      if (hit) return hit.id;
      if (!res.body?.has_more || items.length === 0) return undefined;
      after = items[items.length - 1]?.id;
    }
    return undefined;
  }

  async patch(id: string, inputs: ResendDomainInputs): Promise<void> {
    await callVendorOk(
      resendCall(this.configuredKey, "PATCH", `/domains/${id}`, `update domain ${inputs.name}`, {
        tls: inputs.tls,
        open_tracking: inputs.openTracking,
        click_tracking: inputs.clickTracking,
      }),
    );
  }

  async fetchOutputs(
    id: string,
    prior: ResendDomainInputs & Partial<ResendDomainOutputs>,
  ): Promise<ResendDomainOutputs> {
    const res = await callVendorOk(
      resendCall(this.configuredKey, "GET", `/domains/${id}`, `read domain ${prior.name}`),
    );
    return domainOutputs(res.body, prior);
  }

  async read(id: string, props: ResendDomainOutputs): Promise<pulumi.dynamic.ReadResult> {
    const call = resendCall(this.configuredKey, "GET", `/domains/${id}`, `read domain ${props?.name ?? id}`);
    // Gone in Resend: an empty result tells the engine to drop it from state.
    const res = await readVendorObject(call);
    if (!res) return {};
    return { id, props: domainOutputs(res.body, props) };
  }

  async update(
    id: string,
    olds: ResendDomainOutputs,
    news: ResendDomainInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    await this.patch(id, news);
    return { outs: await this.fetchOutputs(id, { ...olds, ...news }) };
  }

  async delete(id: string, props: ResendDomainOutputs): Promise<void> {
    // 404: someone removed it already, which is the outcome delete wants.
    await callVendorOk(
      resendCall(this.configuredKey, "DELETE", `/domains/${id}`, `delete domain ${props?.name ?? id}`),
      [404],
    );
  }
}

/**
 * A Resend sending domain. `name`, `region` and `customReturnPath` are fixed at creation (changing
 * one replaces the domain); TLS and tracking update in place. With `adoptExisting`, a domain this
 * team already registered is taken over instead of failing.
 */
export class ResendDomain extends pulumi.dynamic.Resource {
  declare readonly domainId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly records: pulumi.Output<ResendDnsRecord[]>;

  constructor(name: string, args: ResendDomainArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new ResendDomainProvider(),
      name,
      { domainId: undefined, status: undefined, records: undefined, adopted: undefined, ...args },
      opts,
      "resend",
      "Domain",
    );
  }
}
