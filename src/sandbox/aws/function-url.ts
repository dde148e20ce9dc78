import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { readBody } from "../core/server";
import { SANDBOX_REGION } from "./env";
import type { LocalLambda } from "./lambda";

export interface FunctionUrl {
  /** The base URL, with a trailing slash like a real Function URL. */
  url: string;
  /** The `<url-id>` part a real Function URL would have; also the event's `apiId`. */
  urlId: string;
  close(): Promise<void>;
}

/** What a Function URL answers when the function fails or returns an unusable status. */
const BAD_GATEWAY = { status: 502, body: '{"Message":"Internal Server Error"}' } as const;

/** Request content types Function URLs pass as text; every other body (or none declared) is base64. */
function isTextContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return (
    type.startsWith("text/") ||
    ["application/json", "application/javascript", "application/xml"].includes(type)
  );
}

/**
 * An HTTP endpoint in front of a local function, shaped like a Lambda Function URL with auth type
 * NONE: each request becomes an API Gateway payload 2.0 event, and the handler's result is mapped
 * back to HTTP by the Function URL response rules.
 */
export async function startFunctionUrl(lambda: LocalLambda): Promise<FunctionUrl> {
  const urlId = randomBytes(16).toString("hex");
  const domainName = `${urlId}.lambda-url.${SANDBOX_REGION}.on.aws`;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`function URL stand-in failed: ${err.message}`);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const port = (server.address() as AddressInfo).port;
    const event = toFunctionUrlEvent(req, body, { urlId, domainName, port });
    let result: unknown;
    try {
      result = await lambda.invoke(event);
    } catch {
      // A function error or timeout is a 502 to the caller; the details stay in the function's logs.
      writeResponse(
        res,
        BAD_GATEWAY.status,
        { "content-type": "application/json" },
        Buffer.from(BAD_GATEWAY.body),
      );
      return;
    }
    const mapped = mapResult(result);
    writeResponse(res, mapped.status, mapped.headers, mapped.body, mapped.cookies);
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    urlId,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface EventContext {
  urlId: string;
  domainName: string;
  port: number;
}

/** Builds the payload 2.0 event exactly as a Function URL does (no pathParameters, no stageVariables). */
export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer, ctx: EventContext) {
  const target = req.url ?? "/";
  const queryIndex = target.indexOf("?");
  const rawPath = queryIndex >= 0 ? target.slice(0, queryIndex) : target;
  const rawQueryString = queryIndex >= 0 ? target.slice(queryIndex + 1) : "";
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");

  // Payload 2.0 joins repeated headers with commas and moves cookies into their own array.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === "cookie") {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter(Boolean)];
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const now = new Date();
  headers["x-amzn-trace-id"] ??=
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
  headers["x-forwarded-for"] ??= sourceIp;
  headers["x-forwarded-proto"] ??= "http";
  headers["x-forwarded-port"] ??= String(ctx.port);

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [key, value] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[key] =
        key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
    }
  }

  const hasBody = body.length > 0;
  const asText = isTextContentType(headers["content-type"]);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: ctx.urlId,
      domainName: ctx.domainName,
      domainPrefix: ctx.urlId,
      http: {
        method: (req.method ?? "GET").toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: asText ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: hasBody && !asText,
  };
}

interface MappedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  cookies: string[];
}

/**
 * Function URL response rules: a result with `statusCode` is a structured response; anything else
 * is a 200 whose body is the result (a string as-is, other JSON serialized) with content-type JSON.
 */
function mapResult(result: unknown): MappedResponse {
  const json = { "content-type": "application/json" };
  if (result === null || typeof result !== "object" || !("statusCode" in result)) {
    const text = typeof result === "string" ? result : JSON.stringify(result);
    return { status: 200, headers: json, body: Buffer.from(text, "utf8"), cookies: [] };
  }
  const r = result as {
    statusCode: unknown;
    headers?: Record<string, unknown>;
    body?: unknown;
    isBase64Encoded?: boolean;
    cookies?: unknown[];
  };
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    return { status: BAD_GATEWAY.status, headers: json, body: Buffer.from(BAD_GATEWAY.body), cookies: [] };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const text = r.body === undefined || r.body === null ? "" : String(r.body);
  const body = r.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  if (body.length > 0 && !headers["content-type"]) headers["content-type"] = "application/json";
  return { status, headers, body, cookies: (r.cookies ?? []).map(String) };
}

function writeResponse(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
  cookies: string[] = [],
): void {
  res.writeHead(status, {
    ...headers,
    "content-length": String(body.length),
    ...(cookies.length ? { "set-cookie": cookies } : {}),
  });
  res.end(body);
}

/** `10/Apr/2022:13:30:05 +0000`, the time format of requestContext.time. */
function clfTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
