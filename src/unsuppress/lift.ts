import type { Resend } from "resend";
import { AwsError } from "../bridge/aws/client";
import { ownersOf } from "../bridge/delivery-job";
import { type BridgeStore, type LedgerEntry, type LiftOutcome, normalizeAddress } from "../bridge/store";
import type { Telemetry } from "../bridge/telemetry";
import {
  type ReconcileOutcome,
  reconcileUser,
  statusChangeFor,
  type UserDirectory,
  type UserView,
} from "../bridge/users";
import { classifyClerkError } from "../lib/clerk-errors";

/**
 * Lifting a block everywhere at once: Resend's team suppression list, the bridge's ledger, and
 * `public_metadata.email_status` of the Clerk users who own the address. Planning only reads; applying
 * goes in that order, because a ledger lifted while Resend still suppresses would be blocked again by the
 * next send's `email.suppressed`. Every step is safe to repeat, so a failed run is finished by running it again.
 */
export interface UnsuppressDeps {
  resend: Pick<Resend, "suppressions">;
  store: Pick<BridgeStore, "ledgerEntry" | "liftSuppression" | "linkUser">;
  users: UserDirectory;
  /** Receives the bridge's own reconcile logs; the command prints its own report. */
  telemetry: Telemetry;
  /** Where the failures say they could not reach (the table name, the Resend API); never credentials. */
  describe: { table: string; region: string; resendUrl: string };
}

export type ResendListing = { listed: true; id: string; origin: string } | { listed: false };

export type StatusAction = "clear" | "flag" | "none";

export interface UnsuppressPlan {
  address: string;
  resend: ResendListing;
  ledger: LedgerEntry;
  owners: Array<{ user: UserView; action: StatusAction }>;
}

export interface UnsuppressResult {
  resend: "removed" | "not_listed";
  ledger: LiftOutcome["outcome"];
  owners: Array<{ userId: string; outcome: ReconcileOutcome }>;
}

/** A step that could not be done: what went wrong and what to do, never a secret or a vendor's body. */
export class UnsuppressError extends Error {
  override name = "UnsuppressError";
  constructor(
    readonly step: "resend" | "ledger" | "clerk",
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export async function planUnsuppress(address: string, deps: UnsuppressDeps): Promise<UnsuppressPlan> {
  const normalized = normalizeAddress(address);
  const resend = await readResendListing(normalized, deps);
  const ledger = await guarded(deps, () => deps.store.ledgerEntry(normalized));
  const owners = await guarded(deps, () => ownersOf(normalized, linkedUser(ledger), deps.users));
  // The status each owner would get with this address lifted and every other address as it is.
  const lifted = async (a: string): Promise<LedgerEntry> =>
    normalizeAddress(a) === normalized
      ? { state: "lifted", liftedAt: new Date().toISOString(), liftedBy: "unsuppress" }
      : deps.store.ledgerEntry(a);
  const planned = await Promise.all(
    owners.map(async (user) => {
      const change = await guarded(deps, () => statusChangeFor(user, lifted));
      const action: StatusAction = !change ? "none" : change.metadata.email_status ? "flag" : "clear";
      return { user, action };
    }),
  );
  return { address: normalized, resend, ledger, owners: planned };
}

export async function applyUnsuppress(plan: UnsuppressPlan, deps: UnsuppressDeps): Promise<UnsuppressResult> {
  let resend: UnsuppressResult["resend"] = "not_listed";
  if (plan.resend.listed) {
    const removed = await deps.resend.suppressions.remove(plan.address);
    if (removed.error && removed.error.statusCode !== 404) throw resendFailure(removed.error, deps);
    resend = removed.error ? "not_listed" : "removed";
  }
  const lifted = await guarded(deps, () =>
    deps.store.liftSuppression(plan.address, { by: "unsuppress", keepNewerBlock: false }),
  );
  const owners: UnsuppressResult["owners"] = [];
  for (const { user } of plan.owners) {
    // Re-read from Clerk before writing: the user may have changed since the plan.
    const outcome = await guarded(deps, () => reconcileUser(user, deps, { snapshotIsFresh: false }));
    owners.push({ userId: user.id, outcome });
  }
  return { resend, ledger: lifted.outcome, owners };
}

function linkedUser(entry: LedgerEntry): string | undefined {
  if (entry.state === "blocked") return entry.suppression.userId;
  return entry.state === "lifted" ? entry.userId : undefined;
}

async function readResendListing(address: string, deps: UnsuppressDeps): Promise<ResendListing> {
  const found = await deps.resend.suppressions.get(address);
  if (found.data) return { listed: true, id: found.data.id, origin: found.data.origin };
  if (found.error?.statusCode === 404) return { listed: false };
  throw resendFailure(found.error, deps);
}

function resendFailure(
  error: { name: string; statusCode: number | null } | null,
  deps: UnsuppressDeps,
): UnsuppressError {
  const name = error?.name ?? "unknown_error";
  const status = error?.statusCode ?? null;
  if (status === null) {
    return new UnsuppressError(
      "resend",
      `could not reach Resend at ${deps.describe.resendUrl}`,
      "check the network (or RESEND_BASE_URL) and run the command again",
    );
  }
  if (status === 401 || status === 403) {
    return new UnsuppressError(
      "resend",
      `Resend refused RESEND_API_KEY (HTTP ${status} ${name})`,
      name === "restricted_api_key"
        ? "a sending-only key cannot manage suppressions: export RESEND_API_KEY with a full-access key"
        : "export RESEND_API_KEY with a valid full-access key of the team that sends for this stack",
    );
  }
  if (status === 429) {
    return new UnsuppressError(
      "resend",
      "Resend's rate limit was reached",
      "wait a few seconds and run again",
    );
  }
  return new UnsuppressError(
    "resend",
    `Resend answered HTTP ${status} ${name} to the suppressions API`,
    "run again; if it persists, remove the address under Suppressions in the Resend dashboard, then run again to finish the ledger and Clerk",
  );
}

/** Runs a step, turning a DynamoDB or Clerk failure into an {@link UnsuppressError} that says what to do. */
async function guarded<T>(deps: UnsuppressDeps, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UnsuppressError) throw err;
    throw err instanceof AwsError ? awsFailure(err, deps) : clerkFailure(err);
  }
}

function awsFailure(err: Error, deps: UnsuppressDeps): UnsuppressError {
  const { table, region } = deps.describe;
  switch (err.name) {
    case "ResourceNotFoundException":
      return new UnsuppressError(
        "ledger",
        `the table ${table} does not exist in ${region}`,
        "check tableName in the --outputs file (or --table) and the region (AWS_REGION or the stack's aws:region)",
      );
    case "AccessDeniedException":
      return new UnsuppressError(
        "ledger",
        `your AWS identity may not use the table ${table}`,
        "use credentials allowed dynamodb:GetItem and dynamodb:UpdateItem on the table",
      );
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "CredentialsError":
      return new UnsuppressError(
        "ledger",
        `AWS refused the credentials (${err.name})`,
        'export fresh credentials, e.g. eval "$(aws configure export-credentials --format env)"',
      );
    case "NetworkingError":
    case "TimeoutError":
      return new UnsuppressError(
        "ledger",
        `could not reach DynamoDB in ${region} (${err.name})`,
        "check the network (or AWS_ENDPOINT_URL_DYNAMODB) and run again",
      );
    default:
      return new UnsuppressError(
        "ledger",
        `DynamoDB failed with ${err.name} on the table ${table}`,
        "run again; the steps already done are safe to repeat",
      );
  }
}

function clerkFailure(err: unknown): UnsuppressError {
  const failure = classifyClerkError(err);
  const what = failure.status
    ? `HTTP ${failure.status}${failure.code ? ` ${failure.code}` : ""}`
    : "no answer";
  return new UnsuppressError(
    "clerk",
    `Clerk's Backend API failed (${what})`,
    failure.kind === "unauthorized"
      ? "export CLERK_SECRET_KEY with the secret key of this stack's Clerk instance (Dashboard → API keys)"
      : "check the network (or CLERK_API_URL) and run again; the steps already done are safe to repeat",
  );
}
