import type { DynamoDb } from "./aws/dynamodb";
import type { ResendPacingSettings } from "./config";

/**
 * Resend limits the whole team to a few requests per second, and every concurrent worker invocation sends.
 * They pace themselves on one schedule kept in the bridge's table, so together they stay under their share
 * of the limit whatever the Lambda concurrency: the item `pacing#resend` / `schedule` holds `nextAt`, the
 * earliest time (epoch ms) the next request may start. Reserving a slot is one conditional update that
 * moves `nextAt` one interval on; DynamoDB applies updates to one item one at a time, so no two requests
 * get the same slot and no read-modify-write race exists.
 */
export const PACING_KEY = { pk: "pacing#resend", sk: "schedule" } as const;

/** The spacing between two requests of this bridge: its share of the team's limit, rounded to be safe. */
export function requestIntervalMs(settings: ResendPacingSettings): number {
  return Math.ceil(100_000 / (settings.teamLimitPerSecond * settings.sharePercent));
}

/** A reserved request slot (start it at `atMs`), or the schedule is too long: come back in `waitMs`. */
export type Slot = { granted: true; atMs: number } | { granted: false; waitMs: number };

export interface SendPacer {
  /** Reserves the next free slot if it starts within `maxWaitMs`; a refused reservation takes nothing. */
  reserve(maxWaitMs: number): Promise<Slot>;
  /** Resend answered 429 (someone else on the team used the budget): no slot starts before `untilMs`. */
  holdUntil(untilMs: number): Promise<void>;
}

/** Rounds of "the schedule changed between my two conditions" before giving up for this invocation. */
const CONTENDED_ROUNDS = 4;

export class DynamoSendPacer implements SendPacer {
  constructor(
    private readonly db: DynamoDb,
    private readonly tableName: string,
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(maxWaitMs: number): Promise<Slot> {
    for (let round = 0; round < CONTENDED_ROUNDS; round++) {
      const now = this.now();
      // An idle schedule (the common case for a lone code): the slot is now.
      const idle = await this.conditional({
        update: "SET nextAt = :next",
        condition: "attribute_not_exists(nextAt) OR nextAt <= :now",
        values: { ":next": now + this.intervalMs, ":now": now },
      });
      if (idle) return { granted: true, atMs: now };
      // A busy one: the slot after the last reserved, unless it starts too late for this invocation.
      const busy = await this.conditional({
        update: "SET nextAt = nextAt + :interval",
        condition: "nextAt > :now AND nextAt <= :latest",
        values: { ":interval": this.intervalMs, ":now": now, ":latest": now + maxWaitMs },
        returnValues: "UPDATED_NEW",
      });
      if (busy) return { granted: true, atMs: Number(busy.nextAt) - this.intervalMs };
      // Neither: the schedule is longer than the wait allowed, or it went idle between the two updates.
      const item = await this.db.get(this.tableName, PACING_KEY);
      const nextAt = Number(item?.nextAt ?? 0);
      if (nextAt > this.now() + maxWaitMs) return { granted: false, waitMs: nextAt - this.now() };
    }
    return { granted: false, waitMs: this.intervalMs };
  }

  async holdUntil(untilMs: number): Promise<void> {
    await this.conditional({
      update: "SET nextAt = :until",
      condition: "attribute_not_exists(nextAt) OR nextAt < :until",
      values: { ":until": untilMs },
    });
  }

  /** The update's attributes (or `{}`) when its condition held; `undefined` when it did not. */
  private async conditional(input: Parameters<DynamoDb["update"]>[2]) {
    try {
      return (await this.db.update(this.tableName, PACING_KEY, input)) ?? {};
    } catch (err) {
      if ((err as Error).name === "ConditionalCheckFailedException") return undefined;
      throw err;
    }
  }
}
