import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Statuses to answer, in order; once used up every request gets 200. */
  respondWith(...statuses: number[]): void;
  /** Rebuilds a Fetch `Request` of a received webhook, the input `verifyWebhook` takes. */
  asRequest(hook: ReceivedWebhook, overrides?: { body?: string; headers?: Record<string, string> }): Request;
  close(): Promise<void>;
}

/** A loopback HTTP endpoint that records webhook deliveries and answers scripted statuses. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const script: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = script.shift() ?? 200;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status < 300 ? "ok" : "fail");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return {
    url,
    received,
    respondWith: (...statuses) => script.push(...statuses),
    asRequest(hook, overrides = {}) {
      const headers = new Headers();
      for (const [key, value] of Object.entries(hook.headers)) {
        if (typeof value === "string") headers.set(key, value);
      }
      for (const [key, value] of Object.entries(overrides.headers ?? {})) headers.set(key, value);
      return new Request(url, { method: "POST", headers, body: overrides.body ?? hook.body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
