import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startLocalBridge } from "../../src/bridge/local";

const listeningServers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

describe("startLocalBridge", () => {
  it("closes what it started when its port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const before = listeningServers();
    try {
      const started = startLocalBridge({
        resendBaseUrl: "http://127.0.0.1:9",
        clerkApiUrl: "http://127.0.0.1:9",
        resendApiKey: "re_test",
        clerkSecretKey: "sk_test",
        logLevel: "SILENT",
        port: (taken.address() as AddressInfo).port,
      });
      await expect(started).rejects.toMatchObject({ code: "EADDRINUSE" });
      // A closed server releases its handle a moment after close() calls back.
      await expect.poll(listeningServers).toBe(before);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
