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

  it("and a bounce of its own send, tagged with the encoded stack, flags the Clerk user", async () => {
    const { user, email } = p.clerk.instance.signUp("bounced@resend.dev", { verify: true });
    await p.settle();
    expect(user).not.toBeNull();
    // Only this stack's own sends get their events on the send's timeline: the tag was read back as ours.
    const timeline = (await p.bridge.store.getSend(email.email.id))?.timeline?.map((t) => t.type);
    expect(timeline).toContain("email.bounced");
    expect(p.clerk.instance.user(user?.id as string).publicMetadata).toMatchObject({
      email_status: "undeliverable",
      email_status_address: "bounced@resend.dev",
    });
  });
});
