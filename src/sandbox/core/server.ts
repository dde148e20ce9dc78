import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkFaultSpec, FaultInjector, type FaultSpec, FaultSpecError } from "./faults";

/** A request as a stand-in route sees it: the raw body is kept because webhook signatures need it. */
export interface StandInRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  rawBody: Buffer;
  /** Parsed JSON body, `undefined` when the body is empty. Throws {@link BadJson} on malformed JSON. */
  json(): unknown;
}

export interface StandInResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: StandInRequest) => StandInResponse | Promise<StandInResponse>;

/** What the stand-in answers when a route is missing or the body is not JSON: each vendor has its own shape. */
export interface ErrorShapes {
  notFound(req: StandInRequest): StandInResponse;
  /** A known path asked with a method it does not serve; without it such a request is `notFound`. */
  methodNotAllowed?(req: StandInRequest): StandInResponse;
  badJson(req: StandInRequest): StandInResponse;
  /** Content type of JSON answers; Clerk's SDK compares it with `===`, so it must be exactly this. */
  contentType?: string;
}

export interface RecordedRequest {
  id: string;
  at: string;
  method: string;
  path: string;
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** Optional behaviour of a stand-in server. */
export interface StandInOptions {
  /**
   * What the request log keeps of a body. Stand-ins that receive secret values (parameter stores)
   * pass a redactor so `/_sandbox/requests` never exposes them; default keeps the raw body.
   */
  recordBody?: (req: StandInRequest) => string;
}

export class BadJson extends Error {
  override name = "BadJson";
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

const CONTROL_PREFIX = "/_sandbox";

/**
 * A loopback HTTP server with vendor-shaped routing, fault injection and request inspection.
 * Control routes live under `/_sandbox/` so they can never collide with a vendor path:
 * `POST /_sandbox/faults`, `DELETE /_sandbox/faults`, `GET /_sandbox/requests`, plus any the stand-in adds.
 */
export class StandInServer {
  readonly faults = new FaultInjector();
  readonly requests: RecordedRequest[] = [];
  private readonly routes: Route[] = [];
  private readonly controlRoutes: Route[] = [];
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private readonly sockets = new Set<import("node:net").Socket>();

  constructor(
    readonly name: string,
    private readonly shapes: ErrorShapes,
    private readonly options: StandInOptions = {},
  ) {
    this.control("POST", "/faults", (req) => {
      const spec = req.json() as FaultSpec | FaultSpec[];
      const specs = Array.isArray(spec) ? spec : [spec];
      try {
        // All or nothing: a bad entry must not leave the good ones before it active.
        specs.forEach(checkFaultSpec);
      } catch (err) {
        if (err instanceof FaultSpecError)
          return { status: 400, body: { error: "invalid_fault", message: err.message } };
        throw err;
      }
      return { status: 201, body: { faults: specs.map((s) => this.faults.add(s)) } };
    });
    this.control("DELETE", "/faults", () => {
      this.faults.clear();
      return { status: 200, body: { cleared: true } };
    });
    this.control("GET", "/requests", () => ({ status: 200, body: { data: this.requests } }));
  }

  /** Registers a vendor route; `:name` segments become params. */
  route(method: string, path: string, handler: RouteHandler): this {
    this.routes.push(compile(method, path, handler));
    return this;
  }

  /** Registers a sandbox-only control route under `/_sandbox`. */
  control(method: string, path: string, handler: RouteHandler): this {
    this.controlRoutes.push(compile(method, CONTROL_PREFIX + path, handler));
    return this;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.name} stand-in is not listening; call listen() first`);
    return this.baseUrl;
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      // Last resort (e.g. the client aborted mid-body): never leave an unhandled rejection behind.
      this.handle(req, res).catch(() => res.destroy());
    });
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = (req.method ?? "GET").toUpperCase();
    const isControl = url.pathname.startsWith(`${CONTROL_PREFIX}/`);
    const matched = match(isControl ? this.controlRoutes : this.routes, method, url.pathname);
    const request: StandInRequest = {
      method,
      path: url.pathname,
      params: matched?.params ?? {},
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      json() {
        if (rawBody.length === 0) return undefined;
        try {
          return JSON.parse(rawBody.toString("utf8"));
        } catch (err) {
          throw new BadJson((err as Error).message);
        }
      },
    };

    let response: StandInResponse;
    if (!isControl) {
      const fault = this.faults.take(method, url.pathname);
      if (fault?.latencyMs) await sleep(fault.latencyMs);
      if (fault?.kind === "drop") {
        this.record(request, 0);
        req.socket.destroy();
        return;
      }
      if (fault?.response) {
        this.send(res, request, fault.response);
        return;
      }
    }
    try {
      response = matched ? await matched.route.handler(request) : this.unmatched(request, isControl);
    } catch (err) {
      if (err instanceof BadJson) response = this.shapes.badJson(request);
      else response = this.internalError(request, err);
    }
    this.send(res, request, response);
  }

  private unmatched(request: StandInRequest, isControl: boolean): StandInResponse {
    const routes = isControl ? this.controlRoutes : this.routes;
    const knownPath = routes.some((route) => route.pattern.test(request.path));
    if (knownPath && this.shapes.methodNotAllowed) return this.shapes.methodNotAllowed(request);
    return this.shapes.notFound(request);
  }

  /** A bug in a stand-in route answers 500 with its message, so the test sees it instead of a hung request. */
  private internalError(request: StandInRequest, err: unknown): StandInResponse {
    const message = err instanceof Error ? err.message : String(err);
    return {
      status: 500,
      body: {
        error: "stand_in_error",
        message: `${this.name} stand-in failed on ${request.method} ${request.path}: ${message}`,
      },
    };
  }

  private send(res: ServerResponse, request: StandInRequest, response: StandInResponse): void {
    this.record(request, response.status);
    const headers: Record<string, string> = { ...response.headers };
    let payload: string | undefined;
    if (response.body !== undefined) {
      payload = typeof response.body === "string" ? response.body : JSON.stringify(response.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["content-type"] = this.shapes.contentType ?? "application/json";
      }
    }
    res.writeHead(response.status, headers);
    res.end(payload);
  }

  private record(request: StandInRequest, status: number): void {
    if (request.path.startsWith(`${CONTROL_PREFIX}/`)) return;
    this.requests.push({
      id: randomUUID(),
      at: new Date().toISOString(),
      method: request.method,
      path: request.path,
      status,
      headers: redactCredentials(request.headers),
      body: this.options.recordBody ? this.options.recordBody(request) : request.rawBody.toString("utf8"),
    });
  }
}

/**
 * The request log is served over `/_sandbox/requests`, so credentials in it are masked: the scheme
 * stays (tests can see a bearer token was sent), the token does not.
 */
function redactCredentials(headers: IncomingMessage["headers"]): IncomingMessage["headers"] {
  const authorization = headers.authorization;
  if (!authorization) return headers;
  const scheme = authorization.split(/\s+/)[0] ?? "";
  return { ...headers, authorization: `${scheme} [redacted]` };
}

function compile(method: string, path: string, handler: RouteHandler): Route {
  const keys: string[] = [];
  const source = path
    .split("/")
    .map((segment) => {
      if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      keys.push(segment.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), keys, handler };
}

function match(routes: Route[], method: string, path: string) {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.keys.forEach((key, i) => {
      params[key] = safeDecode(m[i + 1] ?? "");
    });
    return { route, params };
  }
  return undefined;
}

/** A malformed escape such as `%E0%A4%A` is passed through as is rather than throwing. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads `Authorization: Bearer <token>`; `undefined` when absent or malformed. */
export function bearerToken(req: StandInRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m?.[1]?.trim();
}
