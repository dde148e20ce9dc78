import { randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import type { Answer, DnsLookup } from "./dns-lookup";
import { lookupWarning } from "./records";
import { type CheckResult, type Fetched, resultsFor } from "./types";

/**
 * Is the managed zone the one the world resolves? Resolvers follow the parent zone's delegation (`com`'s
 * NS records for `example.com`), so records published in a zone served by other name servers than the
 * delegated ones are never seen: Resend's verification stays pending, and the doctor's own lookups can
 * look right through a resolver that sees the other zone. The parent's servers are asked directly,
 * without recursion, as a resolver asks them; `node:dns` cannot read the referral they answer with
 * (its NS records are in the authority section), so the question is sent as one UDP datagram.
 */

export interface DelegationFacts {
  zone: string;
  parent: string;
  /** The zone's own NS records, as the resolver returns them. */
  zoneNs: Answer<string>;
  /** The NS records the parent zone's servers delegate the zone to. */
  delegated: Fetched<{ server: string; ns: string[] }>;
}

const TYPE_NS = 2;
const CLASS_IN = 1;

function encodeQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".");
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0); // flags 0: a standard query without recursion desired
  header.writeUInt16BE(1, 4);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(TYPE_NS, 0);
  question.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, qname, question]);
}

/** A possibly compressed domain name at `offset` (RFC 1035 §4.1.4), and where the field ends. */
function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = msg.readUInt8(at);
    if (len === 0) return { name: labels.join(".").toLowerCase(), end: end === -1 ? at + 1 : end };
    if ((len & 0xc0) === 0xc0) {
      if (end === -1) end = at + 2;
      at = msg.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(msg.toString("latin1", at + 1, at + 1 + len));
    at += 1 + len;
  }
  throw new Error("DNS answer has a compression loop");
}

/** The NS targets for `zone` in the answer and authority sections of a DNS response. */
function parseNs(msg: Buffer, id: number, zone: string): { rcode: number; ns: string[] } {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id) throw new Error("DNS answer does not match the query");
  const rcode = msg.readUInt16BE(2) & 0xf;
  const counts = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o));
  let at = 12;
  for (let q = 0; q < (counts[0] as number); q++) at = readName(msg, at).end + 4;
  const ns: string[] = [];
  for (let r = 0; r < (counts[1] as number) + (counts[2] as number); r++) {
    const owner = readName(msg, at);
    const type = msg.readUInt16BE(owner.end);
    const length = msg.readUInt16BE(owner.end + 8);
    const data = owner.end + 10;
    if (type === TYPE_NS && owner.name === zone) ns.push(readName(msg, data).name);
    at = data + length;
  }
  return { rcode, ns };
}

/** Asks one name server, without recursion, for the NS records of `zone`. */
function askServer(host: string, port: number, zone: string, timeoutMs: number): Promise<string[]> {
  const id = randomInt(0, 0x10000);
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" })),
      timeoutMs,
    );
    socket.on("error", reject);
    socket.on("message", (msg) => {
      try {
        const { rcode, ns } = parseNs(msg, id, zone);
        // NXDOMAIN from the parent: the zone is not delegated at all.
        if (rcode === 0 || rcode === 3) resolve(rcode === 3 ? [] : ns);
        else
          reject(
            Object.assign(new Error(`rcode ${rcode}`), { code: rcode === 5 ? "EREFUSED" : "ESERVFAIL" }),
          );
      } catch (err) {
        reject(err);
      }
    });
    socket.send(encodeQuery(id, zone), port, host);
    socket.once("close", () => clearTimeout(timer));
  }).finally(() => socket.close());
}

export async function fetchDelegation(
  zone: string,
  lookup: DnsLookup,
  timeoutMs = 2_000,
): Promise<DelegationFacts | undefined> {
  const parent = zone.split(".").slice(1).join(".");
  if (!parent) return undefined; // a top-level zone: its parent is the root
  const [zoneNs, parentNs] = await Promise.all([lookup.ns(zone), lookup.ns(parent)]);
  const failed = (code: string, message: string): DelegationFacts => ({
    zone,
    parent,
    zoneNs,
    delegated: { ok: false, failure: { transient: true, code, message } },
  });
  if (parentNs.kind !== "found")
    return failed(parentNs.code, `the name servers of ${parent} could not be looked up`);
  // Up to three of the parent's servers at once: the first answer wins, a dead one costs no extra wait.
  const asked = parentNs.values.slice(0, 3).map(async (server) => {
    const addresses = await lookup.a(server);
    if (addresses.kind !== "found") throw new Error(`${server}: no address (${addresses.code})`);
    try {
      return {
        server,
        ns: await askServer(addresses.values[0] as string, lookup.nameServerPort, zone, timeoutMs),
      };
    } catch (err) {
      throw new Error(`${server}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
  });
  try {
    const answer = await Promise.any(asked);
    return { zone, parent, zoneNs, delegated: { ok: true, value: answer } };
  } catch (err) {
    const reasons = (err as AggregateError).errors.map((e: Error) => e.message).join("; ");
    return failed("EUNREACHABLE", `no server of ${parent} answered (${reasons})`);
  }
}

const dns = resultsFor("dns");
const sorted = (names: string[]) => [...new Set(names.map((n) => n.replace(/\.$/, "").toLowerCase()))].sort();

export function checkDelegation(facts: DelegationFacts | undefined): CheckResult[] {
  const id = "dns.delegation";
  if (!facts) return [];
  const { zone, parent, zoneNs, delegated } = facts;
  if (zoneNs.kind === "error") return [lookupWarning(id, `NS ${zone}`, zoneNs.code)];
  if (!delegated.ok) {
    return [
      dns.warn(
        id,
        `the delegation of ${zone} could not be read: ${delegated.failure.message}`,
        "check that UDP port 53 to the internet is open (or --dns-server) and run the doctor again",
        {
          code: "lookup-failed",
        },
      ),
    ];
  }
  const own = zoneNs.kind === "found" ? sorted(zoneNs.values) : [];
  const parents = sorted(delegated.value.ns);
  const details = { parent, askedServer: delegated.value.server, delegatedTo: parents, zoneNs: own };
  const fix = `at the registrar, set the name servers of ${zone} to the managed zone's (${own.join(", ") || "see the DNS provider"}: Cloudflare shows the zone's assigned name servers, Route53 the hosted zone's NS record); if ${parents.join(", ") || "the delegated servers"} serve the live zone instead, point dnsZoneId at that zone and pulumi up --refresh`;
  if (parents.length === 0) {
    return [
      dns.fail(
        id,
        `the parent zone ${parent} does not delegate ${zone} at all: nothing in it resolves`,
        fix,
        { code: "not-delegated", details },
      ),
    ];
  }
  if (own.length === 0 || own.join(" ") !== parents.join(" ")) {
    return [
      dns.fail(
        id,
        `the parent zone ${parent} delegates ${zone} to ${parents.join(", ")}, but the zone's NS records name ${own.join(", ") || "no server"}: resolvers follow the delegation, so records published in the other zone are never seen`,
        fix,
        { code: "mismatch", details },
      ),
    ];
  }
  return [
    dns.pass(
      id,
      `${parent} delegates ${zone} to ${parents.join(", ")}, the name servers the zone lists`,
      details,
    ),
  ];
}
