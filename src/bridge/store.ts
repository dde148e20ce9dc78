import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

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

/** Svix retries for about 27 hours; a week covers every retry and manual replays soon after. */
export const DEDUPE_TTL_SECONDS = 7 * 24 * 3600;
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
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** Conditional write on the Svix message id: `true` the first time, `false` for every redelivery. */
  async claimDelivery(source: string, svixId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `delivery#${source}#${svixId}`,
            sk: "delivery",
            at: this.iso(),
            expiresAt: this.epoch() + DEDUPE_TTL_SECONDS,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  /** Undoes a claim when the event could not be queued, so the sender's retry is not taken for a duplicate. */
  async releaseDelivery(source: string, svixId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `delivery#${source}#${svixId}`, sk: "delivery" },
      }),
    );
  }

  async getSuppression(address: string): Promise<Suppression | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: addressKey(address), sk: "suppression" } }),
    );
    return out.Item ? toSuppression(out.Item) : undefined;
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
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: addressKey(address), sk: "suppression" },
        UpdateExpression:
          "SET address = :a, reason = if_not_exists(reason, :r), eventType = if_not_exists(eventType, :e), " +
          "firstAt = if_not_exists(firstAt, :t), lastAt = :t ADD hits :one",
        ExpressionAttributeValues: {
          ":a": address,
          ":r": input.reason,
          ":e": input.eventType,
          ":t": at,
          ":one": 1,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    if (input.userId) await this.linkUser(address, input.userId);
    return toSuppression(out.Attributes ?? {});
  }

  /** Remembers that a ledger entry belongs to a user (for purging on `user.deleted`). */
  async linkUser(address: string, userId: string): Promise<void> {
    const normalized = normalizeAddress(address);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `user#${userId}`, sk: addressKey(normalized), address: normalized, at: this.iso() },
      }),
    );
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: addressKey(normalized), sk: "suppression" },
          UpdateExpression: "SET userId = :u",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":u": userId },
        }),
      )
      .catch((err: Error) => {
        if (err.name !== "ConditionalCheckFailedException") throw err;
      });
  }

  /** Soft bounces and delays are counted, never blocking. */
  async recordSoft(address: string, eventType: string): Promise<number> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: addressKey(address), sk: "soft" },
        UpdateExpression: "SET lastAt = :t, lastEvent = :e ADD hits :one",
        ExpressionAttributeValues: { ":t": this.iso(), ":e": eventType, ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(out.Attributes?.hits ?? 0);
  }

  /** Deletes every ledger entry linked to the user; returns how many addresses were purged. */
  async purgeUser(userId: string): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `user#${userId}` },
      }),
    );
    const addresses = (out.Items ?? []).map((item) => String(item.address));
    const keys = addresses.flatMap((a) => [
      { pk: addressKey(a), sk: "suppression" },
      { pk: addressKey(a), sk: "soft" },
      { pk: `user#${userId}`, sk: addressKey(a) },
    ]);
    for (let i = 0; i < keys.length; i += 25) {
      await this.doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [this.tableName]: keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })),
          },
        }),
      );
    }
    return addresses.length;
  }

  async getSend(clerkEmailId: string): Promise<SendRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `email#${clerkEmailId}`, sk: "send" } }),
    );
    return out.Item as SendRecord | undefined;
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
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `email#${record.clerkEmailId}`, sk: "send" },
          UpdateExpression: `SET ${names.map((k) => `#${k} = :${k}`).join(", ")}`,
          ExpressionAttributeNames: Object.fromEntries(names.map((k) => [`#${k}`, k])),
          ExpressionAttributeValues: Object.fromEntries(names.map((k) => [`:${k}`, fields[k]])),
        }),
      ),
    ];
    if (record.resendEmailId) {
      writes.push(
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: `resend#${record.resendEmailId}`,
              sk: "email",
              clerkEmailId: record.clerkEmailId,
              expiresAt: this.epoch() + EMAIL_RECORD_TTL_SECONDS,
            },
          }),
        ),
      );
    }
    await Promise.all(writes);
  }

  /** The Clerk email id a Resend email was sent for, when this bridge sent it. */
  async clerkEmailIdFor(resendEmailId: string): Promise<string | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `resend#${resendEmailId}`, sk: "email" } }),
    );
    return typeof out.Item?.clerkEmailId === "string" ? out.Item.clerkEmailId : undefined;
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
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression:
          "SET timeline = list_append(if_not_exists(timeline, :empty), :entry), expiresAt = if_not_exists(expiresAt, :exp)",
        ExpressionAttributeValues: {
          ":empty": [],
          ":entry": [entry],
          ":exp": this.epoch() + EMAIL_RECORD_TTL_SECONDS,
        },
      }),
    );
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
export async function createBridgeTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}
