import { backoffDelayMs, defaultSleep } from "../../lib/backoff";
import { AWS_BACKOFF, type AwsClientOptions, AwsError, AwsJsonClient, type CallOptions } from "./client";
import { type DynamoItem, marshallItem, unmarshallItem } from "./dynamo-json";

export type Item = Record<string, unknown>;

/** Expression parts shared by the writes: condition, `#name` placeholders and `:value` placeholders. */
export interface ExpressionInput {
  condition?: string;
  names?: Record<string, string>;
  values?: Item;
}

export interface UpdateInput extends ExpressionInput {
  update: string;
  returnValues?: "NONE" | "ALL_NEW" | "UPDATED_NEW" | "ALL_OLD" | "UPDATED_OLD";
}

/** BatchWriteItem takes at most 25 requests per call. */
const BATCH_LIMIT = 25;
/** Rounds of re-sending `UnprocessedItems` (throttled parts of a batch) before giving up. */
const UNPROCESSED_ROUNDS = 5;

/**
 * The DynamoDB operations the bridge uses, over {@link AwsJsonClient}, taking and returning plain
 * objects like the SDK's document client.
 */
export class DynamoDb {
  readonly client: AwsJsonClient;

  constructor(clientOrOptions: AwsJsonClient | AwsClientOptions = {}) {
    this.client =
      clientOrOptions instanceof AwsJsonClient
        ? clientOrOptions
        : new AwsJsonClient("dynamodb", clientOrOptions);
  }

  async put(table: string, item: Item, input: ExpressionInput = {}, call?: CallOptions): Promise<void> {
    await this.client.call(
      "PutItem",
      { TableName: table, Item: marshallItem(item), ...expression(input) },
      call,
    );
  }

  async get(table: string, key: Item): Promise<Item | undefined> {
    const out = await this.client.call<{ Item?: DynamoItem }>("GetItem", {
      TableName: table,
      Key: marshallItem(key),
    });
    return out.Item ? unmarshallItem(out.Item) : undefined;
  }

  /** Returns the attributes asked for with `returnValues`, else `undefined`. */
  async update(table: string, key: Item, input: UpdateInput, call?: CallOptions): Promise<Item | undefined> {
    const out = await this.client.call<{ Attributes?: DynamoItem }>(
      "UpdateItem",
      {
        TableName: table,
        Key: marshallItem(key),
        UpdateExpression: input.update,
        ...expression(input),
        ...(input.returnValues ? { ReturnValues: input.returnValues } : {}),
      },
      call,
    );
    return out.Attributes ? unmarshallItem(out.Attributes) : undefined;
  }

  async delete(table: string, key: Item, input: ExpressionInput = {}, call?: CallOptions): Promise<void> {
    await this.client.call(
      "DeleteItem",
      { TableName: table, Key: marshallItem(key), ...expression(input) },
      call,
    );
  }

  /** Every item matching the key condition, following `LastEvaluatedKey` across pages. */
  async query(
    table: string,
    keyCondition: string,
    input: Omit<ExpressionInput, "condition"> = {},
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: DynamoItem | undefined;
    do {
      const out = await this.client.call<{ Items?: DynamoItem[]; LastEvaluatedKey?: DynamoItem }>("Query", {
        TableName: table,
        KeyConditionExpression: keyCondition,
        ...expression(input),
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      for (const item of out.Items ?? []) items.push(unmarshallItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Deletes the keys in batches of 25, re-sending what DynamoDB reports as unprocessed. */
  async batchDelete(table: string, keys: Item[], sleep = defaultSleep): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH_LIMIT) {
      let pending: unknown[] = keys
        .slice(i, i + BATCH_LIMIT)
        .map((key) => ({ DeleteRequest: { Key: marshallItem(key) } }));
      for (let round = 1; pending.length > 0; round++) {
        const out = await this.client.call<{ UnprocessedItems?: Record<string, unknown[]> }>(
          "BatchWriteItem",
          {
            RequestItems: { [table]: pending },
          },
        );
        pending = out.UnprocessedItems?.[table] ?? [];
        if (pending.length === 0) break;
        if (round >= UNPROCESSED_ROUNDS) {
          throw new AwsError(
            "UnprocessedItems",
            `dynamodb BatchWriteItem left ${pending.length} deletes unprocessed after ${round} rounds; the table is being throttled`,
            undefined,
          );
        }
        await sleep(backoffDelayMs(round, undefined, AWS_BACKOFF));
      }
    }
  }
}

function expression(input: ExpressionInput): Item {
  return {
    ...(input.condition ? { ConditionExpression: input.condition } : {}),
    ...(input.names ? { ExpressionAttributeNames: input.names } : {}),
    ...(input.values ? { ExpressionAttributeValues: marshallItem(input.values, "values") } : {}),
  };
}
