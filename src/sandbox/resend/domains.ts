import { apiRoute, type ResendContext } from "./context";
import {
  buildRecords,
  createdBody,
  type DomainState,
  domainBody,
  domainEventData,
  listItemBody,
  newDomain,
  REGIONS,
  type Toggle,
} from "./domain-model";
import { invalidField, notFound, ResendHttpError } from "./errors";
import { objectBody, optionalBoolean, optionalEnum, optionalString, requiredString } from "./fields";
import { paginate } from "./pagination";
import type { DomainVerifier } from "./verifier";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Docs `custom-return-path`: ≤63 letters, digits or `-`, a letter first, a letter or digit last. */
const RETURN_PATH = /^[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const CREATE_ONLY = ["name", "region", "custom_return_path"] as const;
const TOGGLES = ["enabled", "disabled"] as const;
const TLS_MODES = ["opportunistic", "enforced"] as const;

export function registerDomainRoutes(ctx: ResendContext, verifier: DomainVerifier): void {
  const find = (id: string | undefined): DomainState => {
    const domain = id ? ctx.domains.get(id) : undefined;
    if (!domain) throw notFound("Domain");
    return domain;
  };

  apiRoute(ctx, "POST", "/domains", (req) => {
    const body = objectBody(req.json());
    const name = requiredString(body, "name").trim().toLowerCase().replace(/\.$/, "");
    if (!isDomainName(name)) {
      throw invalidField(
        "Invalid `name` field. Use a domain name such as `example.com` or `mail.example.com`.",
      );
    }
    const customReturnPath = optionalString(body, "custom_return_path") ?? "send";
    if (!RETURN_PATH.test(customReturnPath)) {
      throw invalidField(
        "Invalid `custom_return_path` field. Use up to 63 letters, digits or hyphens, starting with a letter and ending with a letter or digit.",
      );
    }
    const fields = {
      name,
      zoneApex: ctx.zoneApex(name),
      region: optionalEnum(body, "region", REGIONS) ?? "us-east-1",
      customReturnPath,
      tls: optionalEnum(body, "tls", TLS_MODES) ?? "opportunistic",
      openTracking: optionalBoolean(body, "open_tracking") ?? false,
      clickTracking: optionalBoolean(body, "click_tracking") ?? false,
      trackingSubdomain: trackingSubdomain(body),
      capabilities: capabilities(body, { sending: "enabled", receiving: "disabled" }),
      recordShape: ctx.recordShape,
    };
    if ([...ctx.domains.values()].some((d) => d.name === name)) {
      throw new ResendHttpError(
        403,
        "validation_error",
        `The \`${name}\` domain has been registered already.`,
      );
    }
    const domain = newDomain(fields);
    ctx.domains.set(domain.id, domain);
    verifier.markPublished(domain);
    ctx.emit("domain.created", domainEventData(domain));
    return { status: 201, body: createdBody(domain) };
  });

  apiRoute(ctx, "GET", "/domains", (req) => {
    const newestFirst = [...ctx.domains.values()].reverse().map(listItemBody);
    return { status: 200, body: paginate(newestFirst, req.query) };
  });

  apiRoute(ctx, "GET", "/domains/:id", (req) => ({ status: 200, body: domainBody(find(req.params.id)) }));

  apiRoute(ctx, "PATCH", "/domains/:id", (req) => {
    const domain = find(req.params.id);
    const body = objectBody(req.json());
    for (const field of CREATE_ONLY) {
      if (field in body) {
        throw invalidField(
          `The \`${field}\` field cannot be updated. Delete the domain and create it again to change it.`,
        );
      }
    }
    if ("tracking_subdomain" in body && !body.tracking_subdomain) {
      throw invalidField("The `tracking_subdomain` field can be changed but not removed.");
    }
    domain.openTracking = optionalBoolean(body, "open_tracking") ?? domain.openTracking;
    domain.clickTracking = optionalBoolean(body, "click_tracking") ?? domain.clickTracking;
    domain.tls = optionalEnum(body, "tls", TLS_MODES) ?? domain.tls;
    domain.trackingSubdomain = trackingSubdomain(body) ?? domain.trackingSubdomain;
    domain.capabilities = capabilities(body, domain.capabilities);
    domain.records = buildRecords(domain, domain.records);
    verifier.markPublished(domain);
    ctx.emit("domain.updated", domainEventData(domain));
    return { status: 200, body: { object: "domain", id: domain.id } };
  });

  apiRoute(ctx, "DELETE", "/domains/:id", (req) => {
    const domain = find(req.params.id);
    ctx.domains.delete(domain.id);
    verifier.forget(domain.id);
    ctx.emit("domain.deleted", domainEventData(domain));
    return { status: 200, body: { object: "domain", id: domain.id, deleted: true } };
  });

  apiRoute(ctx, "POST", "/domains/:id/verify", (req) => {
    const domain = find(req.params.id);
    verifier.start(domain);
    return { status: 200, body: { object: "domain", id: domain.id } };
  });
}

function isDomainName(name: string): boolean {
  const labels = name.split(".");
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && /^[a-z]{2,63}$/.test(labels.at(-1)!);
}

function trackingSubdomain(body: Record<string, unknown>): string | undefined {
  const value = optionalString(body, "tracking_subdomain");
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (!normalized.split(".").every((label) => LABEL.test(label))) {
    throw invalidField("Invalid `tracking_subdomain` field. Use a subdomain label such as `links`.");
  }
  return normalized;
}

function capabilities(
  body: Record<string, unknown>,
  current: { sending: Toggle; receiving: Toggle },
): { sending: Toggle; receiving: Toggle } {
  const raw = body.capabilities;
  if (raw === undefined || raw === null) return { ...current };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw invalidField(
      "The `capabilities` field must be an object like `{ sending: 'enabled', receiving: 'disabled' }`.",
    );
  }
  const fields = raw as Record<string, unknown>;
  const next = {
    sending: optionalEnum(fields, "sending", TOGGLES) ?? current.sending,
    receiving: optionalEnum(fields, "receiving", TOGGLES) ?? current.receiving,
  };
  if (next.sending === "disabled" && next.receiving === "disabled") {
    throw invalidField(
      "At least one of `capabilities.sending` and `capabilities.receiving` must be enabled.",
    );
  }
  return next;
}
