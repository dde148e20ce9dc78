import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, SENDING_DOMAIN, startPipeline } from "../bridge/harness";

/**
 * A display name with quotes, a comma and an accent, and a stack name with a dot, through the worker to the
 * Resend stand-in (which refuses what Resend refuses: a malformed `from`, tag values outside its alphabet).
 */
describe("the worker sends the stack's sender and stack tag encoded", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      bridge: {
        settings: { fromAddress: `auth@${SENDING_DOMAIN}`, fromName: 'Zoë "Auth", Inc.', stack: "prod.eu" },
      },
    });
  });
  afterAll(() => p?.close());

  it("as an RFC 2047 From and an escaped stack tag, and the code is delivered", async () => {
    const { email } = p.clerk.instance.signUp("delivered@resend.dev", { verify: true });
    await p.settle();
    const sent = p.resend.emails().filter((e) => e.to.includes("delivered@resend.dev"));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.from).toBe(`=?UTF-8?B?Wm/DqyAiQXV0aCIsIEluYy4=?= <auth@${SENDING_DOMAIN}>`);
    expect(sent[0]?.tags).toContainEqual({ name: "stack", value: "prod_deu" });
    expect(await p.bridge.store.getSend(email.email.id)).toMatchObject({ status: "sent" });
  });
});
