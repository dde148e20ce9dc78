import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CapturedStdout, captureStdout } from "./fixtures";
import { type Pipeline, startPipeline } from "./harness";

describe("bridge logs", () => {
  let p: Pipeline;
  let stdout: CapturedStdout;

  beforeAll(async () => {
    p = await startPipeline({ bridge: { logLevel: "DEBUG" } });
    stdout = captureStdout();
  });
  afterAll(async () => {
    stdout.restore();
    await p.close();
  });

  it("are structured JSON carrying svix-id, Clerk email id, Resend email id and user id, never the code or body", async () => {
    const { email, code } = p.clerk.instance.signUp("bounced+logs@resend.dev", { verify: true });
    await p.settle();
    const { lines } = stdout;
    const raw = stdout.text();
    const sent = lines.find((l) => l.message === "email sent");
    expect(sent).toMatchObject({ clerkEmailId: email.email.id, level: "INFO" });
    expect(typeof sent?.svixId).toBe("string");
    expect(typeof sent?.resendEmailId).toBe("string");
    const flagged = lines.find((l) => l.message === "user flagged undeliverable");
    expect(typeof flagged?.userId).toBe("string");
    expect(typeof flagged?.resendEmailId).toBe("string");
    expect(lines.length).toBeGreaterThan(3);
    expect(raw).not.toContain(code);
    expect(raw).not.toContain(email.email.subject);
    expect(raw).not.toContain("<html");
    expect(raw).not.toContain(p.resend.apiKey);
  });
});
