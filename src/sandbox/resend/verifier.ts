import type { VendorClock } from "../core/vendor-clock";
import type { BackgroundWork } from "./clock";
import type { DnsChecker } from "./dns-check";
import { type DomainState, domainStatus } from "./domain-model";

/** Vendor-time durations of verification; each is multiplied by the stand-in's `timeScale`. */
export interface VerificationTiming {
  /** Delay between `POST /domains/{id}/verify` and the first DNS lookup. */
  firstCheckMs: number;
  /** Delay between lookups while records are still pending. */
  intervalMs: number;
  /** How long a missing record stays pending (or temporary_failure) before it is failed: 72 h. */
  failAfterMs: number;
  /** How often verified domains are re-checked, so a record removed later shows temporary_failure. */
  monitorIntervalMs: number;
}

export const DEFAULT_VERIFICATION_TIMING: VerificationTiming = {
  firstCheckMs: 10_000,
  intervalMs: 3_600_000,
  failAfterMs: 72 * 3_600_000,
  monitorIntervalMs: 3_600_000,
};

/**
 * Resend's asynchronous domain verification against real DNS answers. `start` puts the domain and
 * its records in `pending` at once (even a verified domain), then checks until every record is
 * verified or the failure window ends. Verified domains keep being re-checked by one shared loop.
 * `onChange` runs after every change of the domain's or a record's status (→ `domain.updated`).
 */
export class DomainVerifier {
  private readonly generations = new Map<string, number>();
  private readonly published = new Map<string, string>();
  private readonly running = new Set<string>();
  private monitoring = false;

  constructor(
    private readonly checker: DnsChecker,
    private readonly clock: VendorClock,
    private readonly work: BackgroundWork,
    private readonly timing: VerificationTiming,
    private readonly domains: () => Iterable<DomainState>,
    private readonly onChange: (domain: DomainState) => void,
  ) {}

  start(domain: DomainState): void {
    const generation = (this.generations.get(domain.id) ?? 0) + 1;
    this.generations.set(domain.id, generation);
    domain.verifiedWithoutDns = undefined;
    for (const record of domain.records) {
      record.status = "pending";
      record.missingSince = undefined;
    }
    this.publish(domain);
    void this.work.track(this.run(domain, generation));
    this.startMonitor();
  }

  /** Stops any verification of a deleted domain. */
  forget(domainId: string): void {
    this.generations.delete(domainId);
    this.published.delete(domainId);
  }

  /** Records the domain's current state as already announced (for changes made without an event). */
  markPublished(domain: DomainState): void {
    domain.status = domainStatus(domain.records);
    this.published.set(domain.id, fingerprint(domain));
  }

  /** One pass of the re-check that verified domains get periodically; exposed so tests need not wait. */
  async recheckVerified(): Promise<void> {
    const now = Date.now();
    const failAfter = this.clock.scaled(this.timing.failAfterMs);
    for (const domain of [...this.domains()]) {
      if (this.isVerifying(domain.id) || domain.verifiedWithoutDns) continue;
      const watched = domain.records.filter(
        (r) => r.status === "verified" || r.status === "temporary_failure",
      );
      if (watched.length === 0) continue;
      const present = await Promise.all(watched.map((r) => this.checker.isPresent(r)));
      watched.forEach((record, i) => {
        if (present[i]) {
          record.status = "verified";
          record.missingSince = undefined;
        } else if (record.status === "verified") {
          record.status = "temporary_failure";
          record.missingSince = now;
        } else if (now - (record.missingSince ?? now) >= failAfter) {
          record.status = "failed";
          record.missingSince = undefined;
        }
      });
      if (this.published.has(domain.id)) this.publish(domain);
    }
  }

  private isVerifying(domainId: string): boolean {
    return this.running.has(domainId);
  }

  private async run(domain: DomainState, generation: number): Promise<void> {
    const current = () => !this.clock.closed && this.generations.get(domain.id) === generation;
    this.running.add(domain.id);
    try {
      const deadline = Date.now() + this.clock.scaled(this.timing.failAfterMs);
      await this.clock.sleep(this.timing.firstCheckMs);
      while (current()) {
        const expired = Date.now() >= deadline;
        const pending = domain.records.filter((r) => r.status === "pending");
        const present = await Promise.all(pending.map((r) => this.checker.isPresent(r)));
        if (!current()) return;
        pending.forEach((record, i) => {
          if (present[i]) record.status = "verified";
          else if (expired) record.status = "failed";
        });
        this.publish(domain);
        if (!domain.records.some((r) => r.status === "pending")) return;
        // Never sleep past the deadline: the last lookup happens when the window closes.
        const untilDeadline =
          Math.max(0, deadline - Date.now()) / Math.max(this.clock.timeScale, Number.MIN_VALUE);
        await this.clock.sleep(Math.min(this.timing.intervalMs, untilDeadline));
      }
    } finally {
      if (this.generations.get(domain.id) === generation) this.running.delete(domain.id);
    }
  }

  private publish(domain: DomainState): void {
    domain.status = domainStatus(domain.records);
    const print = fingerprint(domain);
    if (this.published.get(domain.id) === print) return;
    this.published.set(domain.id, print);
    this.onChange(domain);
  }

  private startMonitor(): void {
    if (this.monitoring) return;
    this.monitoring = true;
    void (async () => {
      while (!this.clock.closed) {
        await this.clock.sleep(this.timing.monitorIntervalMs, true);
        if (this.clock.closed) break;
        await this.recheckVerified();
      }
    })();
  }
}

function fingerprint(domain: DomainState): string {
  return [domain.status, ...domain.records.map((r) => `${r.record}/${r.type}/${r.fqdn}=${r.status}`)].join(
    "|",
  );
}
