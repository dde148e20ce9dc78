import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { InProcessQueue } from "../../src/bridge/queue";

describe("InProcessQueue", () => {
  it("redelivers failed records after the visibility timeout and dead-letters after maxReceiveCount", async () => {
    const queue = new InProcessQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 3, batchSize: 10 });
    const seen: Record<string, number[]> = {};
    queue.start(async (event: SQSEvent) => {
      const failures = [];
      for (const r of event.Records) {
        seen[r.body] = [...(seen[r.body] ?? []), Number(r.attributes.ApproximateReceiveCount)];
        if (r.body === "poison" || (r.body === "flaky" && seen.flaky?.length === 1)) {
          failures.push({ itemIdentifier: r.messageId });
        }
      }
      return { batchItemFailures: failures };
    });
    queue.sendRaw("good");
    queue.sendRaw("flaky");
    const poisonId = queue.sendRaw("poison");
    await queue.settle();
    queue.stop();
    expect(seen.good).toEqual([1]);
    expect(seen.flaky).toEqual([1, 2]);
    expect(seen.poison).toEqual([1, 2, 3]);
    expect(queue.deadLetters).toEqual([{ messageId: poisonId, body: "poison", receiveCount: 3 }]);
    expect(queue.depth).toBe(0);
  });

  it("keeps a record invisible while it is being processed and fails the whole batch when the handler throws", async () => {
    const queue = new InProcessQueue({ visibilityTimeoutMs: 30, maxReceiveCount: 5, concurrency: 4 });
    let receives = 0;
    queue.start(async () => {
      receives++;
      if (receives === 1) throw new Error("crash");
      await new Promise((r) => setTimeout(r, 5));
      return { batchItemFailures: [] };
    });
    queue.sendRaw("one");
    await queue.settle();
    queue.stop();
    expect(receives).toBe(2);
    expect(queue.deadLetters).toHaveLength(0);
  });
});
