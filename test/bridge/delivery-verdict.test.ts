import { describe, expect, it } from "vitest";
import { verdictFor } from "../../src/bridge/delivery-job";
import type { DeliveryJob } from "../../src/bridge/events";
import { METRICS } from "../../src/bridge/telemetry";

const job = (type: string, subtype?: string): DeliveryJob => ({
  kind: "delivery",
  type,
  addresses: ["a@x.test"],
  tags: {},
  occurredAt: "t",
  ...(subtype ? { subtype } : {}),
});

describe("verdictFor", () => {
  it("treats only a Permanent bounce as hard, whatever the (open-ended) subtype", () => {
    expect(verdictFor(job("email.bounced", "Permanent"))).toMatchObject({ kind: "hard", reason: "bounce" });
    for (const soft of ["Transient", "Undetermined", "Temporary", "Suppressed"]) {
      expect(verdictFor(job("email.bounced", soft)), soft).toMatchObject({
        kind: "soft",
        metric: METRICS.bouncedSoft,
      });
    }
    expect(verdictFor(job("email.delivery_delayed")).kind).toBe("soft");
  });

  it("keeps the suppression origin as the reason and counts suppressions apart from bounces", () => {
    expect(verdictFor(job("suppression.added", "complaint"))).toEqual({
      kind: "hard",
      reason: "complaint",
      metric: METRICS.resendSuppressed,
    });
    expect(verdictFor(job("suppression.added", "manual"))).toMatchObject({ reason: "suppressed" });
    expect(verdictFor(job("email.suppressed"))).toMatchObject({
      kind: "hard",
      metric: METRICS.resendSuppressed,
    });
    expect(verdictFor(job("email.complained"))).toMatchObject({
      reason: "complaint",
      metric: METRICS.complained,
    });
    expect(verdictFor(job("email.sent"))).toEqual({ kind: "record" });
  });
});
