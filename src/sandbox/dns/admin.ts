import { type RouteHandler, type StandInResponse, StandInServer } from "../core/server";
import { DnsInputError, normalizeName, parseFault, parseRecordType } from "./validate";
import type { ZoneStore } from "./zones";

const error = (status: number, code: string, message: string): StandInResponse => ({
  status,
  body: { error: code, message },
});

/** Turns a {@link DnsInputError} into a 400 naming the field, instead of a crashed request. */
function guarded(handler: RouteHandler): RouteHandler {
  return async (req) => {
    try {
      return await handler(req);
    } catch (err) {
      if (err instanceof DnsInputError) return error(400, "invalid_request", err.message);
      throw err;
    }
  };
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new DnsInputError("request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/**
 * The HTTP admin API of the DNS stand-in, for tests and for the DNS-provider stand-ins that publish into it:
 * `GET|PUT /_sandbox/dns/records`, `DELETE /_sandbox/dns/records?name=&type=`,
 * `POST /_sandbox/dns/zones {apex}`, `POST /_sandbox/dns/faults {name, fault|null}`.
 */
export function createDnsAdmin(store: ZoneStore): StandInServer {
  const admin = new StandInServer("dns", {
    notFound: (req) => error(404, "not_found", `no route for ${req.method} ${req.path}`),
    badJson: () => error(400, "invalid_json", "request body is not valid JSON"),
  });
  admin.control("GET", "/dns/records", () => ({
    status: 200,
    body: { zones: store.zoneList(), data: store.records() },
  }));
  admin.control(
    "PUT",
    "/dns/records",
    guarded((req) => ({ status: 200, body: store.upsert(objectBody(req.json())) })),
  );
  admin.control(
    "DELETE",
    "/dns/records",
    guarded((req) => {
      const name = req.query.get("name");
      if (!name)
        throw new DnsInputError("name query parameter is required, e.g. ?name=send.example.com&type=TXT");
      const type = req.query.get("type");
      const removed = store.remove(name, type ? parseRecordType(type) : undefined);
      return { status: 200, body: { removed } };
    }),
  );
  admin.control(
    "POST",
    "/dns/zones",
    guarded((req) => {
      const apex = normalizeName(objectBody(req.json())["apex"], "apex");
      store.addZone(apex);
      return { status: 201, body: { apex, zones: store.zoneList() } };
    }),
  );
  admin.control(
    "POST",
    "/dns/faults",
    guarded((req) => {
      const body = objectBody(req.json());
      if (!("fault" in body))
        throw new DnsInputError("fault is required: nxdomain, servfail, timeout or null");
      const name = normalizeName(body["name"]);
      const fault = parseFault(body["fault"]);
      store.setFault(name, fault);
      return { status: 200, body: { name, fault } };
    }),
  );
  return admin;
}
