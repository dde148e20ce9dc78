import * as pulumi from "@pulumi/pulumi";
import { callVendorOk, delay, isUnknown, readVendorObject, resendCall } from "./vendor-http";

export interface DomainVerificationArgs {
  domainId: pulumi.Input<string>;
  timeoutSeconds: pulumi.Input<number>;
  pollIntervalSeconds: pulumi.Input<number>;
  /** The DNS records as written, so a DNS change re-runs the gate. */
  recordsFingerprint: pulumi.Input<string>;
}

export interface DomainVerificationInputs {
  domainId: string;
  timeoutSeconds: number;
  pollIntervalSeconds: number;
  recordsFingerprint: string;
}

export interface DomainVerificationOutputs extends DomainVerificationInputs {
  status: string;
  verifiedAt: string;
}

interface DomainRecordStatus {
  record?: string;
  type?: string;
  name?: string;
  status?: string;
}

interface DomainState {
  name?: string;
  status?: string;
  records?: DomainRecordStatus[];
}

// Resend keeps re-checking pending domains for 72 h; waiting longer than that is never useful.
const MAX_TIMEOUT_SECONDS = 72 * 3600;
// Polling slows down as the wait drags on, but never beyond this.
const MAX_POLL_MS = 60_000;
const FAILED = ["failed", "partially_failed"];

/**
 * The status the gate goes by. Resend keeps a domain `verified` while a record that vanished from
 * DNS is in `temporary_failure` (it re-checks for 72 h); the gate reports that as
 * `temporary_failure` so a refresh shows the drift and the next deployment verifies again.
 */
export function effectiveStatus(domain: DomainState): string {
  const status = String(domain.status);
  const lapsed = (domain.records ?? []).some(
    (r) => r.status === "temporary_failure" || r.status === "failed",
  );
  return status === "verified" && lapsed ? "temporary_failure" : status;
}

function describeRecords(records: DomainRecordStatus[] | undefined, statuses: string[]): string {
  const matching = (records ?? []).filter((r) => statuses.includes(String(r.status)));
  if (matching.length === 0) return "none reported by Resend";
  return matching.map((r) => `${r.record} ${r.type} ${r.name} (${r.status})`).join(", ");
}

class DomainVerificationProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("resendApiKey");
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const inputs = {
      domainId: news.domainId,
      timeoutSeconds: news.timeoutSeconds ?? 900,
      pollIntervalSeconds: news.pollIntervalSeconds ?? 10,
      recordsFingerprint: news.recordsFingerprint ?? "",
    } as DomainVerificationInputs;
    const failures: { property: string; reason: string }[] = [];
    if (!isUnknown(inputs.domainId) && (typeof inputs.domainId !== "string" || inputs.domainId === "")) {
      failures.push({ property: "domainId", reason: "domainId must be the id of a ResendDomain (got none)" });
    }
    const timeout = inputs.timeoutSeconds;
    if (
      !isUnknown(timeout) &&
      !(typeof timeout === "number" && timeout > 0 && timeout <= MAX_TIMEOUT_SECONDS)
    ) {
      failures.push({
        property: "timeoutSeconds",
        reason: `timeoutSeconds must be a number of seconds between 0 and ${MAX_TIMEOUT_SECONDS} (got ${JSON.stringify(timeout)})`,
      });
    }
    const poll = inputs.pollIntervalSeconds;
    if (!isUnknown(poll) && !(typeof poll === "number" && poll > 0)) {
      failures.push({
        property: "pollIntervalSeconds",
        reason: `pollIntervalSeconds must be a positive number of seconds (got ${JSON.stringify(poll)})`,
      });
    }
    return { inputs, failures };
  }

  async diff(
    _id: string,
    olds: DomainVerificationOutputs,
    news: DomainVerificationInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.domainId !== news.domainId ? ["domainId"] : [];
    const changed = (["recordsFingerprint", "timeoutSeconds", "pollIntervalSeconds"] as const).some(
      (k) => olds[k] !== news[k],
    );
    // A refresh that found the domain no longer verified re-runs the gate on the next deployment.
    return { changes: replaces.length > 0 || changed || olds.status !== "verified", replaces };
  }

  async create(inputs: DomainVerificationInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: inputs.domainId, outs: await this.gate(inputs) };
  }

  async update(
    _id: string,
    olds: DomainVerificationOutputs,
    news: DomainVerificationInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await this.gate(news, olds.status === "verified" ? olds.verifiedAt : undefined) };
  }

  async read(id: string, props: DomainVerificationOutputs): Promise<pulumi.dynamic.ReadResult> {
    const res = await readVendorObject(
      resendCall(this.configuredKey, "GET", `/domains/${id}`, `read domain ${id}`),
    );
    if (!res) return {};
    return { id, props: { ...props, status: effectiveStatus(res.body as DomainState) } };
  }

  async delete(): Promise<void> {
    // Verification is a fact about the domain, not a Resend object: nothing to remove.
  }

  async getDomain(domainId: string): Promise<DomainState> {
    const res = await callVendorOk(
      resendCall(this.configuredKey, "GET", `/domains/${domainId}`, `read domain ${domainId}`),
    );
    return res.body as DomainState;
  }

  /**
   * Triggers verification once (only when the domain is not verified already: verify resets even a
   * verified domain to pending, and a fully verified domain needs nothing), then polls with a growing interval until verified, failed or timed out.
   */
  async gate(inputs: DomainVerificationInputs, verifiedBefore?: string): Promise<DomainVerificationOutputs> {
    const verified = (status: string) => ({ ...inputs, status, verifiedAt: new Date().toISOString() });
    let domain = await this.getDomain(inputs.domainId);
    if (effectiveStatus(domain) === "verified")
      return { ...verified("verified"), verifiedAt: verifiedBefore ?? new Date().toISOString() };
    const name = domain.name ?? inputs.domainId;
    await callVendorOk(
      resendCall(this.configuredKey, "POST", `/domains/${inputs.domainId}/verify`, `verify domain ${name}`),
    );
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let interval = inputs.pollIntervalSeconds * 1000;
    for (;;) {
      await delay(Math.max(0, Math.min(interval, deadline - Date.now())));
      domain = await this.getDomain(inputs.domainId);
      const status = effectiveStatus(domain);
      if (status === "verified") return verified(status);
      if (FAILED.includes(status)) {
        throw new Error(
          `Resend could not verify ${name} (status ${status}). Failing records: ` +
            `${describeRecords(domain.records, ["failed", "temporary_failure"])}. Check that each is published ` +
            "in DNS exactly as ResendDomain.records lists it (CNAMEs DNS-only: not proxied, not flattened), then " +
            "deploy again.",
        );
      }
      if (Date.now() >= deadline) {
        // Resend reads a CNAME-form return path with one of its two CNAMEs found as partially verified.
        const pair = status === "partially_verified" ? " Both return-path CNAMEs are required." : "";
        throw new Error(
          `${name} was not verified within ${inputs.timeoutSeconds} s (status ${status}). Still pending: ` +
            `${describeRecords(domain.records, ["pending", "not_started", "temporary_failure"])}.${pair} Check that ` +
            "these records resolve publicly with the values in ResendDomain.records, or raise timeoutSeconds: " +
            "DNS propagation can take hours.",
        );
      }
      interval = Math.min(interval * 1.5, Math.max(MAX_POLL_MS, inputs.pollIntervalSeconds * 1000));
    }
  }
}

/**
 * A gate that passes once Resend reports the domain verified. It verifies at most once per run and
 * never re-verifies a verified domain; a new `recordsFingerprint` (DNS rewritten) runs it again.
 */
export class DomainVerification extends pulumi.dynamic.Resource {
  declare readonly status: pulumi.Output<string>;
  declare readonly verifiedAt: pulumi.Output<string>;

  constructor(name: string, args: DomainVerificationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new DomainVerificationProvider(),
      name,
      { status: undefined, verifiedAt: undefined, ...args },
      opts,
      "resend",
      "DomainVerification",
    );
  }
}
