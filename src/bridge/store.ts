import type { CallOptions } from "./aws/client";
import type { DynamoDb } from "./aws/dynamodb";

/**
 * One DynamoDB table, keyed `pk`/`sk`, holds everything the bridge remembers:
 * - `delivery#<source>#<svix-id>` / `delivery`: webhook dedupe claim, `pending` (expires after
 *   {@link PENDING_CLAIM_TTL_SECONDS}) until its event is queued, then `confirmed` ({@link DEDUPE_TTL_SECONDS})
 * - `address#<addr>` / `suppression`: the hard suppression ledger (bounce, complaint, suppressed); once a block
 *   is lifted the item stays for {@link LIFT_MEMORY_SECONDS} as a marker, so late events from before the lift
 *   cannot put the address back
 * - `address#<addr>` / `soft`: soft bounces and delays, never blocking
 * - `user#<id>` / `address#<addr>`: which addresses a user was proven to own, so `user.deleted` can unlink them
 * - `email#<clerk email id>` / `send`: the send outcome and the Resend event timeline
 * - `resend#<resend email id>` / `email`: the reverse link from Resend's id to Clerk's
 */
export const BRIDGE_TABLE_SCHEMA = { hashKey: "pk", rangeKey: "sk", ttlAttribute: "expiresAt" } as const;

/** The partition-key prefix of every dedupe claim; the ingest role may touch no other item (its IAM policy). */
export const DELIVERY_KEY_PREFIX = "delivery#";

/** Svix retries for about 27 hours; a week covers every retry and manual replays soon after. */
export const DEDUPE_TTL_SECONDS = 7 * 24 * 3600;
/**
 * How long a claim whose event is not queued yet holds off redeliveries: far longer than an ingest
 * invocation (10 s), shorter than the 5 minutes before Svix's third attempt, so after a crash mid-enqueue
 * that attempt is processed.
 */
export const PENDING_CLAIM_TTL_SECONDS = 3 * 60;

/** What {@link BridgeStore.claimDelivery} found. `token` identifies this claim to confirm or release it. */
export type DeliveryClaim =
  | { outcome: "claimed"; token: string }
  | { outcome: "duplicate" }
  | { outcome: "in_flight" };
const EMAIL_RECORD_TTL_SECONDS = 30 * 24 * 3600;
/**
 * How long a lifted block is remembered: longer than Svix retries (about 27 hours) and SQS keeps a message
 * (4 days), so a bounce or suppression event from before the lift that arrives late is recognised as stale.
 */
const LIFT_MEMORY_SECONDS = 7 * 24 * 3600;

export type HardReason = "bounce" | "complaint" | "suppressed";

export interface Suppression {
  address: string;
  reason: HardReason;
  /** The Resend event that put the address on the ledger. */
  eventType: string;
  firstAt: string;
  lastAt: string;
  /** When (by the event's own clock) the current block began; a lift older than this does not undo it. */
  blockedAt?: string;
  /** The Clerk user proven to own the address (see {@link BridgeStore.linkUser}). */
  userId?: string;
}

/** Who lifted a block: Resend (`suppression.removed`) or an operator (`npm run unsuppress`). */
export type LiftSource = "suppression.removed" | "unsuppress";

/** What the ledger says about one address. */
export type LedgerEntry =
  | { state: "blocked"; suppression: Suppression }
  | { state: "lifted"; liftedAt: string; liftedBy: LiftSource; userId?: string }
  | { state: "clear" };

export type LiftOutcome =
  /** The address was blocked and no longer is. */
  | { outcome: "lifted"; previous: Suppression }
  /** Nothing was blocked; the lift is remembered anyway, so older events cannot block the address. */
  | { outcome: "not_blocked" }
  /** A block that began after the lift's time stays (an old `suppression.removed` arriving late). */
  | { outcome: "newer_block"; suppression: Suppression };

/** The part of a Clerk user that proves ownership: its id and its email addresses. */
export interface AddressOwner {
  id: string;
  addresses: readonly string[];
}

/** True when `owner`'s Clerk email addresses include `address` (compared normalized). */
export function ownsAddress(owner: AddressOwner, address: string): boolean {
  const wanted = normalizeAddress(address);
  return owner.addresses.some((a) => normalizeAddress(a) === wanted);
}

/** `test_mode`: a Clerk test-mode recipient (`+clerk_test`), acknowledged and never sent. */
export type SendStatus = "sent" | "failed" | "suppressed" | "dropped_stale" | "test_mode";

export interface TimelineEntry {
  type: string;
  at: string;
  detail?: string;
}

export interface SendRecord {
  clerkEmailId: string;
  status: SendStatus;
  to: string;
  at: string;
  resendEmailId?: string;
  userId?: string;
  slug?: string;
  /** Why it failed or was not sent: an error name or a reason, never the body. */
  detail?: string;
  timeline?: TimelineEntry[];
}

/** Addresses are compared case-insensitively; `+labels` are kept because they are distinct mailboxes. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

export class BridgeStore {
  constructor(
    private readonly db: DynamoDb,
    readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims a Svix message id before its event is queued. The claim is written *pending* with a short expiry
   * ({@link PENDING_CLAIM_TTL_SECONDS}) and only {@link confirmDelivery} extends it to the dedupe window, so
   * an invocation that dies between claiming and enqueueing blocks the sender's retries for minutes, not a
   * week. Expiry is decided by the condition on `expiresAt`, not by the item's existence: DynamoDB's TTL
   * sweeper deletes lazily (often days late).
   *
   * Each claim carries a random token and the condition accepts an item holding that same token: a put
   * retried after DynamoDB applied it but its answer was lost succeeds as this call's own claim instead of
   * passing for a redelivery. When the put is refused, a second conditional write tells a confirmed claim
   * (`duplicate`) from one still pending (`in_flight`: maybe being queued right now, maybe orphaned by a
   * crash, so the sender must retry later rather than be told it was done). Concurrent deliveries of one id
   * race on the conditional put: exactly one is `claimed`.
   */
  async claimDelivery(source: string, svixId: string, call?: CallOptions): Promise<DeliveryClaim> {
    const token = crypto.randomUUID();
    const now = this.epoch();
    const key = deliveryKey(source, svixId);
    try {
      await this.db.put(
        this.tableName,
        {
          ...key,
          claim: token,
          claimState: "pending",
          at: this.iso(),
          expiresAt: now + PENDING_CLAIM_TTL_SECONDS,
        },
        {
          condition: "attribute_not_exists(pk) OR claim = :claim OR expiresAt < :now",
          values: { ":claim": token, ":now": now },
        },
        call,
      );
      return { outcome: "claimed", token };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    try {
      await this.db.update(
        this.tableName,
        key,
        {
          update: "SET redeliveredAt = :at",
          condition: "claimState = :confirmed AND expiresAt >= :now",
          values: { ":at": this.iso(), ":confirmed": "confirmed", ":now": now },
        },
        call,
      );
      return { outcome: "duplicate" };
    } catch (err) {
      if (isConditionFailure(err)) return { outcome: "in_flight" };
      throw err;
    }
  }

  /**
   * Marks a claim done once its event is queued: a redelivery within {@link DEDUPE_TTL_SECONDS} is now a
   * duplicate. `false` when the claim is no longer this token's (it expired and another delivery took it).
   */
  async confirmDelivery(source: string, svixId: string, token: string, call?: CallOptions): Promise<boolean> {
    try {
      await this.db.update(
        this.tableName,
        deliveryKey(source, svixId),
        {
          update: "SET claimState = :confirmed, confirmedAt = :at, expiresAt = :exp",
          condition: "claim = :claim",
          values: {
            ":confirmed": "confirmed",
            ":at": this.iso(),
            ":exp": this.epoch() + DEDUPE_TTL_SECONDS,
            ":claim": token,
          },
        },
        call,
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Undoes this token's claim when the event could not be queued, so the sender's retry is processed at
   * once. A claim already gone, or taken over by another delivery, is left alone.
   */
  async releaseDelivery(source: string, svixId: string, token: string, call?: CallOptions): Promise<void> {
    try {
      await this.db.delete(
        this.tableName,
        deliveryKey(source, svixId),
        { condition: "claim = :claim", values: { ":claim": token } },
        call,
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** The active block on an address, if any (a lifted block is not one). */
  async getSuppression(address: string): Promise<Suppression | undefined> {
    const entry = await this.ledgerEntry(address);
    return entry.state === "blocked" ? entry.suppression : undefined;
  }

  async ledgerEntry(address: string): Promise<LedgerEntry> {
    const item = await this.db.get(this.tableName, { pk: addressKey(address), sk: "suppression" });
    if (item && typeof item.reason === "string")
      return { state: "blocked", suppression: toSuppression(item) };
    if (item && typeof item.liftedAt === "string") {
      return {
        state: "lifted",
        liftedAt: item.liftedAt,
        liftedBy: item.liftedBy as LiftSource,
        ...(typeof item.userId === "string" ? { userId: item.userId } : {}),
      };
    }
    return { state: "clear" };
  }

  /**
   * Puts an address on the ledger; a repeat keeps the first reason and time and refreshes `lastAt`.
   * `occurredAt` is the event's own time: an event from before the address's last lift is stale (a late
   * redelivery) and changes nothing, answered `undefined`. Links to users are made only by {@link linkUser}.
   */
  async recordSuppression(input: {
    address: string;
    reason: HardReason;
    eventType: string;
    occurredAt?: string;
  }): Promise<Suppression | undefined> {
    const at = this.iso();
    const occurredAt = this.eventTime(input.occurredAt);
    const address = normalizeAddress(input.address);
    try {
      const attributes = await this.db.update(
        this.tableName,
        { pk: addressKey(address), sk: "suppression" },
        {
          update:
            "SET address = :a, reason = if_not_exists(reason, :r), eventType = if_not_exists(eventType, :e), " +
            "firstAt = if_not_exists(firstAt, :t), blockedAt = if_not_exists(blockedAt, :o), lastAt = :t " +
            "ADD hits :one REMOVE liftedAt, liftedBy, expiresAt",
          condition: "attribute_not_exists(liftedAt) OR liftedAt < :o",
          values: {
            ":a": address,
            ":r": input.reason,
            ":e": input.eventType,
            ":t": at,
            ":o": occurredAt,
            ":one": 1,
          },
          returnValues: "ALL_NEW",
        },
      );
      return toSuppression(attributes ?? {});
    } catch (err) {
      if ((err as Error).name === "ConditionalCheckFailedException") return undefined;
      throw err;
    }
  }

  /**
   * Lifts the block on an address. With `keepNewerBlock` (Resend's `suppression.removed`, which may arrive
   * late) a block that began after `at` stays; an operator's lift is unconditional. The item is kept as a
   * lift marker for {@link LIFT_MEMORY_SECONDS}; the user link stays (ownership did not change).
   */
  async liftSuppression(
    address: string,
    lift: { at?: string; by: LiftSource; keepNewerBlock: boolean },
  ): Promise<LiftOutcome> {
    const normalized = normalizeAddress(address);
    const at = this.eventTime(lift.at);
    const key = { pk: addressKey(normalized), sk: "suppression" };
    try {
      const old = await this.db.update(this.tableName, key, {
        update:
          "SET address = :a, liftedAt = :t, liftedBy = :by, expiresAt = :exp " +
          "REMOVE reason, eventType, firstAt, lastAt, blockedAt, hits",
        ...(lift.keepNewerBlock ? { condition: "attribute_not_exists(blockedAt) OR blockedAt <= :t" } : {}),
        values: {
          ":a": normalized,
          ":t": at,
          ":by": lift.by,
          ":exp": this.epoch() + LIFT_MEMORY_SECONDS,
        },
        returnValues: "ALL_OLD",
      });
      return old && typeof old.reason === "string"
        ? { outcome: "lifted", previous: toSuppression(old) }
        : { outcome: "not_blocked" };
    } catch (err) {
      if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
      const current = await this.getSuppression(normalized);
      // No block left means another lift got there between the write and this read.
      return current ? { outcome: "newer_block", suppression: current } : { outcome: "not_blocked" };
    }
  }

  /**
   * Remembers that `owner` owns `address` (for unlinking on `user.deleted`, and so an operator's unsuppress
   * finds the user). Refused, answering false, unless the address is one of the owner's Clerk email
   * addresses: a tag or a lookup that names the wrong user must not tie another person's block to it.
   */
  async linkUser(owner: AddressOwner, address: string): Promise<boolean> {
    if (!ownsAddress(owner, address)) return false;
    const normalized = normalizeAddress(address);
    await this.db.put(this.tableName, {
      pk: userKey(owner.id),
      sk: addressKey(normalized),
      address: normalized,
      at: this.iso(),
    });
    await this.db
      .update(
        this.tableName,
        { pk: addressKey(normalized), sk: "suppression" },
        { update: "SET userId = :u", condition: "attribute_exists(pk)", values: { ":u": owner.id } },
      )
      .catch(ignoreConditionFailure);
    return true;
  }

  /** The addresses linked to a user. */
  async linkedAddresses(userId: string): Promise<string[]> {
    const items = await this.db.query(this.tableName, "pk = :pk", { values: { ":pk": userKey(userId) } });
    return items.map((item) => String(item.address));
  }

  /** Soft bounces and delays are counted, never blocking. */
  async recordSoft(address: string, eventType: string): Promise<number> {
    const attributes = await this.db.update(
      this.tableName,
      { pk: addressKey(address), sk: "soft" },
      {
        update: "SET lastAt = :t, lastEvent = :e ADD hits :one",
        values: { ":t": this.iso(), ":e": eventType, ":one": 1 },
        returnValues: "UPDATED_NEW",
      },
    );
    return Number(attributes?.hits ?? 0);
  }

  /**
   * Forgets a deleted user's links; returns how many addresses were unlinked. The blocks themselves stay:
   * the address is still undeliverable, and a later sign-up with it must be blocked and flagged too.
   */
  async unlinkUser(userId: string): Promise<number> {
    const addresses = await this.linkedAddresses(userId);
    // The ledger's pointers go first: if this fails half-way, the links are still there for the retry.
    for (const address of addresses) {
      await this.db
        .update(
          this.tableName,
          { pk: addressKey(address), sk: "suppression" },
          { update: "REMOVE userId", condition: "userId = :u", values: { ":u": userId } },
        )
        .catch(ignoreConditionFailure);
    }
    await this.db.batchDelete(
      this.tableName,
      addresses.map((a) => ({ pk: userKey(userId), sk: addressKey(a) })),
    );
    return addresses.length;
  }

  async getSend(clerkEmailId: string): Promise<SendRecord | undefined> {
    const item = await this.db.get(this.tableName, { pk: `email#${clerkEmailId}`, sk: "send" });
    return item as SendRecord | undefined;
  }

  /** Records the outcome of a send; the timeline already collected (events can race the send) is kept. */
  async recordSend(record: Omit<SendRecord, "at" | "timeline">): Promise<void> {
    const fields: Record<string, unknown> = {
      ...record,
      at: this.iso(),
      expiresAt: this.epoch() + EMAIL_RECORD_TTL_SECONDS,
    };
    const names = Object.keys(fields).filter((k) => fields[k] !== undefined);
    const writes: Array<Promise<unknown>> = [
      this.db.update(
        this.tableName,
        { pk: `email#${record.clerkEmailId}`, sk: "send" },
        {
          update: `SET ${names.map((k) => `#${k} = :${k}`).join(", ")}`,
          names: Object.fromEntries(names.map((k) => [`#${k}`, k])),
          values: Object.fromEntries(names.map((k) => [`:${k}`, fields[k]])),
        },
      ),
    ];
    if (record.resendEmailId) {
      writes.push(
        this.db.put(this.tableName, {
          pk: `resend#${record.resendEmailId}`,
          sk: "email",
          clerkEmailId: record.clerkEmailId,
          expiresAt: this.epoch() + EMAIL_RECORD_TTL_SECONDS,
        }),
      );
    }
    await Promise.all(writes);
  }

  /** The Clerk email id a Resend email was sent for, when this bridge sent it. */
  async clerkEmailIdFor(resendEmailId: string): Promise<string | undefined> {
    const item = await this.db.get(this.tableName, { pk: `resend#${resendEmailId}`, sk: "email" });
    return typeof item?.clerkEmailId === "string" ? item.clerkEmailId : undefined;
  }

  /**
   * Appends a Resend event to the email's timeline: under the Clerk email id when known, else under the
   * Resend id (an event can arrive before the send outcome is written).
   */
  async appendTimeline(
    ref: { clerkEmailId?: string; resendEmailId: string },
    entry: TimelineEntry,
  ): Promise<void> {
    const key = ref.clerkEmailId
      ? { pk: `email#${ref.clerkEmailId}`, sk: "send" }
      : { pk: `resend#${ref.resendEmailId}`, sk: "email" };
    await this.db.update(this.tableName, key, {
      update:
        "SET timeline = list_append(if_not_exists(timeline, :empty), :entry), expiresAt = if_not_exists(expiresAt, :exp)",
      values: { ":empty": [], ":entry": [entry], ":exp": this.epoch() + EMAIL_RECORD_TTL_SECONDS },
    });
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** An event's time in one sortable form (ISO, UTC, ms), so times compare as strings; now if unreadable. */
  private eventTime(value: string | undefined): string {
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? this.iso() : new Date(ms).toISOString();
  }

  private epoch(): number {
    return Math.floor(this.now() / 1000);
  }
}

function deliveryKey(source: string, svixId: string): { pk: string; sk: string } {
  return { pk: `delivery#${source}#${svixId}`, sk: "delivery" };
}

function isConditionFailure(err: unknown): boolean {
  return (err as Error).name === "ConditionalCheckFailedException";
}

function addressKey(address: string): string {
  return `address#${normalizeAddress(address)}`;
}

function userKey(userId: string): string {
  return `user#${userId}`;
}

function ignoreConditionFailure(err: Error): void {
  if (err.name !== "ConditionalCheckFailedException") throw err;
}

function toSuppression(item: Record<string, unknown>): Suppression {
  return {
    address: String(item.address),
    reason: item.reason as HardReason,
    eventType: String(item.eventType),
    firstAt: String(item.firstAt),
    lastAt: String(item.lastAt),
    ...(typeof item.blockedAt === "string" ? { blockedAt: item.blockedAt } : {}),
    ...(typeof item.userId === "string" ? { userId: item.userId } : {}),
  };
}

/** Creates the table the way the Pulumi program declares it; for local runs and tests. */
export async function createBridgeTable(db: DynamoDb, tableName: string): Promise<void> {
  try {
    await db.client.call("CreateTable", {
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: BRIDGE_TABLE_SCHEMA.hashKey, AttributeType: "S" },
        { AttributeName: BRIDGE_TABLE_SCHEMA.rangeKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: BRIDGE_TABLE_SCHEMA.hashKey, KeyType: "HASH" },
        { AttributeName: BRIDGE_TABLE_SCHEMA.rangeKey, KeyType: "RANGE" },
      ],
    });
  } catch (err) {
    if ((err as Error).name !== "ResourceInUseException") throw err;
  }
}
