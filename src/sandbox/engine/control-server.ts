import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "../core/server";
import type { LocalCloudControl, RealizationKind } from "../local-cloud/control";

/** A request from a local provider to the local cloud: one resource operation or a provider function. */
export type ControlRequest =
  | { op: "create"; type: string; name: string; inputs: Record<string, unknown> }
  | { op: "update"; type: string; name: string; id: string; inputs: Record<string, unknown> }
  | { op: "delete"; type: string; name: string; id: string }
  | { op: "exists"; type: string; name: string; id: string }
  | { op: "invoke"; token: string; inputs: Record<string, unknown> };

/** What the local cloud did, for a transcript. */
export interface ControlEvent {
  op: "create" | "update" | "delete";
  type: string;
  name: string;
  id: string;
  kind?: RealizationKind;
  ms: number;
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<ControlRequest> {
  return JSON.parse((await readBody(req)).toString("utf8")) as ControlRequest;
}

/**
 * Serves the local cloud's control plane on loopback for the `aws` and `cloudflare` providers the engine
 * attaches to (they run in processes of their own, the cloud in this one): `POST /` with a
 * {@link ControlRequest}, answered `200 {result}` or `422 {error}` with the cloud's refusal.
 */
export async function startControlServer(
  control: LocalCloudControl,
  onEvent?: (event: ControlEvent) => void,
): Promise<ControlServer> {
  const handle = async (request: ControlRequest): Promise<unknown> => {
    const started = Date.now();
    const report = (op: ControlEvent["op"], id: string, kind?: RealizationKind) => {
      if (request.op !== "invoke" && request.op !== "exists") {
        onEvent?.({ op, type: request.type, name: request.name, id, kind, ms: Date.now() - started });
      }
    };
    switch (request.op) {
      case "create": {
        const { kind, realized } = await control.create(request.type, request.name, request.inputs);
        report("create", realized.id, kind);
        return realized;
      }
      case "update": {
        const realized = await control.update(request.type, request.name, request.id, request.inputs);
        report("update", realized.id);
        return realized;
      }
      case "delete":
        await control.delete(request.type, request.id);
        report("delete", request.id);
        return {};
      case "exists":
        return { exists: await control.exists(request.type, request.id) };
      case "invoke":
        return control.invoke(request.token, request.inputs);
    }
  };
  const server: Server = createServer((req, res) => {
    readJson(req)
      .then(handle)
      .then(
        (result) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ result }));
        },
        (err: unknown) => {
          res.writeHead(422, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Calls the control plane; a refusal becomes an Error with the cloud's message (what `pulumi up` shows). */
export async function callControl<T>(url: string, request: ControlRequest): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  const body = (await res.json()) as { result?: T; error?: string };
  if (!res.ok) throw new Error(body.error ?? `local cloud answered ${res.status}`);
  return body.result as T;
}
