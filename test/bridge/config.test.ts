import { describe, expect, it } from "vitest";
import { BridgeConfigError, readBridgeConfig } from "../../src/bridge/config";

const workerEnv = {
  BRIDGE_TABLE_NAME: "bridge",
  BRIDGE_PARAM_RESEND_API_KEY: "/auth-email/dev/resend-api-key",
  BRIDGE_PARAM_CLERK_SECRET_KEY: "/auth-email/dev/clerk-secret-key",
  BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
  BRIDGE_FROM_NAME: "Acme",
  BRIDGE_STACK: "dev",
};

describe("readBridgeConfig", () => {
  it("reads the worker's settings with documented defaults", () => {
    const config = readBridgeConfig("worker", {
      ...workerEnv,
      BRIDGE_EXTRA_HEADERS: '{"List-Unsubscribe":"<mailto:u@example.com>"}',
      RESEND_BASE_URL: "http://127.0.0.1:9/",
    });
    expect(config.codeLifetimeSeconds).toBe(600);
    expect(config.codeLifetimes).toEqual({});
    expect(config.secretParameters.resendApiKey).toBe("/auth-email/dev/resend-api-key");
    expect(config.secretParameters.clerkWebhookSecret).toBe("");
    expect(config.extraHeaders).toEqual({ "List-Unsubscribe": "<mailto:u@example.com>" });
    expect(config.extraHeaders).not.toHaveProperty("Precedence");
    expect(config.resendBaseUrl).toBe("http://127.0.0.1:9");
  });

  it("reports every problem at once, naming each variable", () => {
    let error: unknown;
    try {
      readBridgeConfig("ingest", { BRIDGE_CODE_LIFETIME_SECONDS: "ten", BRIDGE_STACK: "dev stack" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BridgeConfigError);
    const problems = (error as BridgeConfigError).problems.join("\n");
    for (const name of [
      "BRIDGE_TABLE_NAME",
      "BRIDGE_QUEUE_URL",
      "BRIDGE_PARAM_CLERK_WEBHOOK_SECRET",
      "BRIDGE_PARAM_RESEND_WEBHOOK_SECRET",
      "BRIDGE_CODE_LIFETIME_SECONDS",
      "BRIDGE_STACK",
    ]) {
      expect(problems).toContain(name);
    }
    expect(problems).not.toContain("BRIDGE_FROM_ADDRESS");
  });

  it("reads per-template lifetimes and names the template and the stack key of a bad one", () => {
    expect(
      readBridgeConfig("worker", { ...workerEnv, BRIDGE_CODE_LIFETIMES: '{"invitation":604800}' })
        .codeLifetimes,
    ).toEqual({ invitation: 604_800 });
    expect(() =>
      readBridgeConfig("worker", {
        ...workerEnv,
        BRIDGE_CODE_LIFETIMES: '{"invitation":30,"magic_link":"x"}',
      }),
    ).toThrow(
      'BRIDGE_CODE_LIFETIMES["invitation"] must be at least 60 (seconds); ["magic_link"] must be a number (seconds): fix the stack\'s codeLifetimes',
    );
    expect(() =>
      readBridgeConfig("worker", { ...workerEnv, BRIDGE_CODE_LIFETIMES: "invitation=60" }),
    ).toThrow(/BRIDGE_CODE_LIFETIMES is not valid JSON: use an object such as \{"invitation":604800\}/);
  });

  it("rejects header values that could inject lines and from-names that break the header", () => {
    expect(() =>
      readBridgeConfig("worker", { ...workerEnv, BRIDGE_EXTRA_HEADERS: '{"X-A":"a\\r\\nBcc: x"}' }),
    ).toThrow(/BRIDGE_EXTRA_HEADERS\["X-A"\]/);
    expect(() => readBridgeConfig("worker", { ...workerEnv, BRIDGE_EXTRA_HEADERS: "[1]" })).toThrow(
      /JSON object/,
    );
    expect(() => readBridgeConfig("worker", { ...workerEnv, BRIDGE_FROM_NAME: "Acme <evil@x>" })).toThrow(
      /BRIDGE_FROM_NAME/,
    );
  });
});
