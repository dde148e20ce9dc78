import { type BackoffPolicy, defaultSleep } from "../lib/backoff";
import { classifyClerkError, withClerkBackoff } from "../lib/clerk-errors";
import type { ClerkUserRecord, ClerkUsersApi } from "./clerk-users";
import { type BridgeStore, type LedgerEntry, normalizeAddress } from "./store";
import { METRICS, type Telemetry } from "./telemetry";

/** The part of a Clerk user the bridge reasons about, from a webhook snapshot or a BAPI read. */
export interface UserView {
  id: string;
  primaryAddress?: string;
  addresses: string[];
  publicMetadata: Record<string, unknown>;
}

/** The `public_metadata` keys the bridge owns. `null` removes a key (BAPI deep-merge semantics). */
export interface EmailStatusMetadata {
  email_status: "undeliverable" | null;
  email_status_reason: string | null;
  email_status_at: string | null;
  email_status_address: string | null;
}

export interface UserDirectory {
  getUser(userId: string): Promise<UserView | undefined>;
  findByEmail(address: string): Promise<UserView | undefined>;
  setEmailStatus(userId: string, metadata: EmailStatusMetadata): Promise<void>;
}

export interface ClerkDirectoryOptions {
  backoff: BackoffPolicy;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number) => void;
}

/**
 * Clerk's users API (`clerkUsersClient`, or the SDK's `createClerkClient()`), with bounded backoff on 429/5xx
 * honouring `Retry-After` (neither retries by itself). Metadata goes through `updateUserMetadata`
 * (PATCH …/metadata, deep merge) so other keys survive.
 */
export function clerkUserDirectory(
  clerk: { users: ClerkUsersApi },
  options: ClerkDirectoryOptions,
): UserDirectory {
  const retry = <T>(fn: () => Promise<T>) =>
    withClerkBackoff(fn, {
      policy: options.backoff,
      sleep: options.sleep ?? defaultSleep,
      onRetry: (attempt, delay) => options.onRetry?.(attempt, delay),
    });
  return {
    async getUser(userId) {
      try {
        return toView(await retry(() => clerk.users.getUser(userId)));
      } catch (err) {
        if (classifyClerkError(err).kind === "not_found") return undefined;
        throw err;
      }
    },
    async findByEmail(address) {
      const list = await retry(() => clerk.users.getUserList({ emailAddress: [address], limit: 10 }));
      const wanted = normalizeAddress(address);
      // The filter's case handling is undocumented: match exactly here rather than trust it.
      const match = list.data.find((u) =>
        u.emailAddresses.some((e) => normalizeAddress(e.emailAddress) === wanted),
      );
      return match ? toView(match) : undefined;
    },
    async setEmailStatus(userId, metadata) {
      await retry(() => clerk.users.updateUserMetadata(userId, { publicMetadata: { ...metadata } }));
    },
  };
}

function toView(user: ClerkUserRecord): UserView {
  const primary = user.emailAddresses.find((e) => e.id === user.primaryEmailAddressId);
  return {
    id: user.id,
    addresses: user.emailAddresses.map((e) => e.emailAddress),
    publicMetadata: (user.publicMetadata ?? {}) as Record<string, unknown>,
    ...(primary ? { primaryAddress: primary.emailAddress } : {}),
  };
}

export type ReconcileOutcome = "flagged" | "cleared" | "unchanged";

/** How the bridge reads the ledger when deciding a user's status (the plan of an unsuppress swaps it). */
export type LedgerLookup = (address: string) => Promise<LedgerEntry>;

/**
 * Makes `public_metadata.email_status` match the ledger for the user's PRIMARY address:
 * - primary on the ledger and not yet flagged for it → flag it (reason, time, address);
 * - flagged for an address that is no longer primary, and the new primary is clean → clear it;
 * - flagged for the primary and its block was lifted (`suppression.removed`, unsuppress) → clear it.
 * A primary merely missing from the ledger does not clear a flag: only a recorded lift does.
 * Writing only when the state differs is what keeps the `user.updated` echo of our own write from looping.
 * A snapshot from a webhook may be stale (an SQS retry after our write succeeded), so before writing the
 * user is re-read from Clerk and the decision is made again.
 */
export async function reconcileUser(
  snapshot: UserView,
  deps: {
    store: Pick<BridgeStore, "ledgerEntry" | "linkUser">;
    users: UserDirectory;
    telemetry: Telemetry;
  },
  options: { snapshotIsFresh: boolean },
): Promise<ReconcileOutcome> {
  const ledger: LedgerLookup = (address) => deps.store.ledgerEntry(address);
  let user = snapshot;
  let change = await statusChangeFor(user, ledger);
  if (!change) return "unchanged";
  if (!options.snapshotIsFresh) {
    const fresh = await deps.users.getUser(user.id);
    if (!fresh) return "unchanged";
    user = fresh;
    change = await statusChangeFor(user, ledger);
    if (!change) return "unchanged";
  }
  await deps.users.setEmailStatus(user.id, change.metadata);
  const log = { userId: user.id, reason: change.metadata.email_status_reason ?? undefined };
  if (change.metadata.email_status) {
    await deps.store.linkUser(user, change.metadata.email_status_address as string);
    deps.telemetry.count(METRICS.metadataUpdated);
    deps.telemetry.logger.info("user flagged undeliverable", log);
    return "flagged";
  }
  deps.telemetry.count(METRICS.metadataCleared);
  deps.telemetry.logger.info("user email_status cleared", { userId: user.id, cause: change.cause });
  return "cleared";
}

const CLEARED: EmailStatusMetadata = {
  email_status: null,
  email_status_reason: null,
  email_status_at: null,
  email_status_address: null,
};

/** The metadata write that would bring `user` in line with the ledger, or undefined when it already is. */
export async function statusChangeFor(
  user: UserView,
  ledger: LedgerLookup,
): Promise<{ metadata: EmailStatusMetadata; cause: "blocked" | "primary_changed" | "lifted" } | undefined> {
  const meta = user.publicMetadata;
  const flagged = meta.email_status === "undeliverable";
  const flaggedAddress =
    typeof meta.email_status_address === "string" ? normalizeAddress(meta.email_status_address) : undefined;
  const primary = user.primaryAddress ? normalizeAddress(user.primaryAddress) : undefined;
  const entry: LedgerEntry = primary ? await ledger(primary) : { state: "clear" };
  if (entry.state === "blocked" && primary) {
    if (flagged && flaggedAddress === primary) return undefined;
    return {
      cause: "blocked",
      metadata: {
        email_status: "undeliverable",
        email_status_reason: entry.suppression.reason,
        email_status_at: entry.suppression.firstAt,
        email_status_address: primary,
      },
    };
  }
  // Only a status this bridge set (it carries the address) is cleared.
  if (!flagged || !flaggedAddress) return undefined;
  if (flaggedAddress !== primary) return { cause: "primary_changed", metadata: CLEARED };
  if (entry.state === "lifted") return { cause: "lifted", metadata: CLEARED };
  return undefined;
}
