import type { DynamoDb } from "./aws/dynamodb";

/**
 * One DynamoDB table, keyed `pk`/`sk`, holds everything the bridge remembers:
 * - `delivery#<source>#<svix-id>` / `delivery`: webhook dedupe, expires after {@link DEDUPE_TTL_SECONDS}
 * - `address#<addr>` / `suppression`: the hard suppression ledger (bounce, complaint, suppressed)
 * - `address#<addr>` / `soft`: soft bounces and delays, never blocking
 * - `user#<id>` / `address#<addr>`: which ledger entries belong to a user, so `user.deleted` can purge them
 * - `email#<clerk email id>` / `send`: the send outcome and the Resend event timeline
 * - `resend#<resend email id>` / `email`: the reverse link from Resend's id to Clerk's
 */
export const BRIDGE_TABLE_SCHEMA = { hashKey: "pk", rangeKey: "sk", ttlAttribute: "expiresAt" } as const;

/** The partition-key prefix of every dedupe claim; the ingest role may touch no other item (its IAM policy). */
export const DELIVERY_KEY_PREFIX = "delivery#";

/** Svix retries for about 27 hours; a week covers every retry and manual replays soon after. */
const DEDUPE_TTL_SECONDS = 7 * 24 * 3600;
const EMAIL_RECORD_TTL_SECONDS = 30 * 24 * 3600;

export type HardReason = "bounce" | "complaint" | "suppressed";

export interface Suppression {
  address: string;
  reason: HardReason;
  /** The Resend event that put the address on the ledger. */
  eventType: string;
  firstAt: string;
  lastAt: string;
  userId?: string;
}

export type SendStatus = "sent" | "failed" | "suppressed" | "dropped_stale";

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
   * Conditional write on the Svix message id: `true` the first time, `false` for every redelivery.
   * Each claim carries a random token and the condition accepts an item holding that same token: a put
   * retried after DynamoDB applied it but its answer was lost succeeds as this call's own claim instead
   * of passing for a redelivery (and needs no read, so ingest keeps its PutItem/DeleteItem-only role).
   */
  async claimDelivery(source: string, svixId: string): Promise<boolean> {
    const claim = crypto.randomUUID();
    try {
      await this.db.put(
        this.tableName,
        {
          pk: `delivery#${source}#${svixId}`,
          sk: "delivery",
          claim,
          at: this.iso(),
          expiresAt: this.epoch() + DEDUPE_TTL_SECONDS,
        },
        { condition: "attribute_not_exists(pk) OR claim = :claim", values: { ":claim": claim } },
      );
      return true;
    } catch (err) {
      if ((err as Error).name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  /** Undoes a claim when the event could not be queued, so the sender's retry is not taken for a duplicate. */
  async releaseDelivery(source: string, svixId: string): Promise<void> {
    await this.db.delete(this.tableName, { pk: `delivery#${source}#${svixId}`, sk: "delivery" });
  }

  async getSuppression(address: string): Promise<Suppression | undefined> {
    const item = await this.db.get(this.tableName, { pk: addressKey(address), sk: "suppression" });
    return item ? toSuppression(item) : undefined;
  }

  /** Puts an address on the ledger; a repeat keeps the first reason and time and refreshes `lastAt`. */
  async recordSuppression(input: {
    address: string;
    reason: HardReason;
    eventType: string;
    userId?: string;
  }): Promise<Suppression> {
    const at = this.iso();
    const address = normalizeAddress(input.address);
    const attributes = await this.db.update(
      this.tableName,
      { pk: addressKey(address), sk: "suppression" },
      {
        update:
          "SET address = :a, reason = if_not_exists(reason, :r), eventType = if_not_exists(eventType, :e), " +
          "firstAt = if_not_exists(firstAt, :t), lastAt = :t ADD hits :one",
        values: { ":a": address, ":r": input.reason, ":e": input.eventType, ":t": at, ":one": 1 },
        returnValues: "ALL_NEW",
      },
    );
    if (input.userId) await this.linkUser(address, input.userId);
    return toSuppression(attributes ?? {});
  }

  /** Remembers that a ledger entry belongs to a user (for purging on `user.deleted`). */
  async linkUser(address: string, userId: string): Promise<void> {
    const normalized = normalizeAddress(address);
    await this.db.put(this.tableName, {
      pk: `user#${userId}`,
      sk: addressKey(normalized),
      address: normalized,
      at: this.iso(),
    });
    await this.db
      .update(
        this.tableName,
        { pk: addressKey(normalized), sk: "suppression" },
        { update: "SET userId = :u", condition: "attribute_exists(pk)", values: { ":u": userId } },
      )
      .catch((err: Error) => {
        if (err.name !== "ConditionalCheckFailedException") throw err;
      });
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

  /** Deletes every ledger entry linked to the user; returns how many addresses were purged. */
  async purgeUser(userId: string): Promise<number> {
    const items = await this.db.query(this.tableName, "pk = :pk", { values: { ":pk": `user#${userId}` } });
    const addresses = items.map((item) => String(item.address));
    const keys = addresses.flatMap((a) => [
      { pk: addressKey(a), sk: "suppression" },
      { pk: addressKey(a), sk: "soft" },
      { pk: `user#${userId}`, sk: addressKey(a) },
    ]);
    await this.db.batchDelete(this.tableName, keys);
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

  private epoch(): number {
    return Math.floor(this.now() / 1000);
  }
}

function addressKey(address: string): string {
  return `address#${normalizeAddress(address)}`;
}

function toSuppression(item: Record<string, unknown>): Suppression {
  return {
    address: String(item.address),
    reason: item.reason as HardReason,
    eventType: String(item.eventType),
    firstAt: String(item.firstAt),
    lastAt: String(item.lastAt),
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
