import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { DynamoSendPacer, PACING_KEY, requestIntervalMs } from "../../src/bridge/pacing";

describe("the shared Resend schedule (DynamoDB conditional updates)", () => {
  const table = "pacing";
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo(table);
  });
  afterAll(() => dynamo.close());

  /** Workers on one table, reading a fake clock the test moves. */
  const pacerAt = (clock: { now: number }, intervalMs: number) =>
    new DynamoSendPacer(dynamo.client, table, intervalMs, () => clock.now);
  /** Each test starts from an empty schedule. */
  const reset = () => dynamo.client.delete(table, PACING_KEY);

  it("spaces requests by the bridge's share of the team limit", () => {
    expect(requestIntervalMs({ teamLimitPerSecond: 2, sharePercent: 50 })).toBe(1_000);
    expect(requestIntervalMs({ teamLimitPerSecond: 10, sharePercent: 50 })).toBe(200);
    expect(requestIntervalMs({ teamLimitPerSecond: 5, sharePercent: 30 })).toBe(667);
  });

  it("gives concurrent workers distinct slots one interval apart, the first at once", async () => {
    await reset();
    const clock = { now: 1_000_000 };
    const workers = Array.from({ length: 8 }, () => pacerAt(clock, 500));
    const slots = await Promise.all(workers.map((w) => w.reserve(60_000)));
    const starts = slots.map((s) => (s.granted ? s.atMs : Number.NaN)).sort((a, b) => a - b);
    expect(starts).toEqual(Array.from({ length: 8 }, (_, i) => 1_000_000 + i * 500));
  });

  it("refuses a slot further away than the wait allowed, and takes nothing from the schedule", async () => {
    await reset();
    const clock = { now: 2_000_000 };
    const pacer = pacerAt(clock, 1_000);
    for (let i = 0; i < 3; i++) expect((await pacer.reserve(5_000)).granted).toBe(true);
    expect(await pacer.reserve(1_500)).toEqual({ granted: false, waitMs: 3_000 });
    // The refusal reserved nothing: the next slot is still the fourth.
    expect(await pacer.reserve(5_000)).toEqual({ granted: true, atMs: 2_003_000 });
    // Once the schedule has run out, the next request goes at once again.
    clock.now += 10_000;
    expect(await pacer.reserve(0)).toEqual({ granted: true, atMs: 2_010_000 });
  });

  it("holds every worker off until a 429's retry-after has passed, never pulling the schedule earlier", async () => {
    await reset();
    const clock = { now: 3_000_000 };
    const pacer = pacerAt(clock, 100);
    await pacer.holdUntil(3_002_000);
    expect(await pacer.reserve(10_000)).toEqual({ granted: true, atMs: 3_002_000 });
    await pacer.holdUntil(3_001_000);
    expect(await pacer.reserve(10_000)).toEqual({ granted: true, atMs: 3_002_100 });
  });
});
