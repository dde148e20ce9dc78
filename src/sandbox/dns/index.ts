import type { Socket } from "node:net";
import { type Packet, TCPServer, UDPServer } from "dns2";
import type { StandInServer } from "../core/server";
import { createDnsAdmin } from "./admin";
import type { DnsFault, DnsRecordInput, DnsRecordType } from "./types";
import { answer, typeName } from "./wire";
import { ZoneStore } from "./zones";

export type { DnsFault, DnsRecordInput, DnsRecordType, DnsValue } from "./types";
export { DnsInputError } from "./validate";

/** One question the stand-in received, for tests that assert what a resolver asked. */
export interface DnsQuery {
  at: string;
  transport: "udp" | "tcp";
  name: string;
  type: string;
  /** The response code sent, or `"no answer"` when a `timeout` fault swallowed the query. */
  rcode: string;
}

const DEFAULT_HOST = "127.0.0.1";
const BIND_ATTEMPTS = 20;
const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/**
 * An authoritative DNS server for test zones on 127.0.0.1, answering UDP and TCP on one port,
 * with an HTTP admin API (`admin`) for processes that cannot call it directly.
 */
export class DnsStandIn {
  readonly address: string;
  readonly queries: DnsQuery[] = [];
  private readonly tcpSockets = new Set<Socket>();

  constructor(
    private readonly store: ZoneStore,
    readonly admin: StandInServer,
    private readonly udp: UDPServer,
    private readonly tcp: TCPServer,
    readonly port: number,
    readonly host = DEFAULT_HOST,
  ) {
    this.address = `${host}:${port}`;
    udp.on("request", (request, send) => this.respond("udp", request, send));
    // A datagram socket reports failures such as an unreachable client as "error"; unheard, that would end the process.
    udp.on("error", () => undefined);
    tcp.on("request", (request, send) => this.respond("tcp", request, send));
    tcp.on("connection", (socket: Socket) => {
      this.tcpSockets.add(socket);
      socket.on("close", () => this.tcpSockets.delete(socket));
    });
  }

  addZone(apex: string): void {
    this.store.addZone(apex);
  }

  /** Replaces the RRset (name + type). Throws {@link DnsInputError} naming the bad field. */
  upsert(record: DnsRecordInput): void {
    this.store.upsert(record);
  }

  /** Removes one RRset, or every RRset at `name` when `type` is absent. */
  remove(name: string, type?: DnsRecordType): void {
    this.store.remove(name, type);
  }

  records(): DnsRecordInput[] {
    return this.store.records();
  }

  zones(): string[] {
    return this.store.zoneList();
  }

  /** Makes every query for exactly `name` misbehave; `null` clears it. Works for names outside the zones too. */
  fault(name: string, fault: DnsFault | null): void {
    this.store.setFault(name, fault);
  }

  async close(): Promise<void> {
    for (const socket of this.tcpSockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      this.admin.close(),
    ]);
  }

  private respond(transport: "udp" | "tcp", request: Packet, send: (response: Packet) => unknown): void {
    const response = answer(this.store, request);
    const question = request.questions[0];
    this.queries.push({
      at: new Date().toISOString(),
      transport,
      name: question?.name ?? "",
      type: question ? typeName(question.type) : "",
      rcode: response ? (RCODE_NAMES[response.header.rcode] ?? String(response.header.rcode)) : "no answer",
    });
    if (!response) return;
    // The client may have gone away (it timed out, or the test closed it); that is not the server's failure.
    Promise.resolve(send(response)).catch(() => undefined);
  }
}

/**
 * Starts the DNS server (UDP + TCP on one port, ephemeral unless given) and its HTTP admin API. Another
 * loopback `host` (127.0.0.2) with the port of a first server makes a second name server, as a parent
 * zone's servers are other hosts than the child's.
 */
export async function startDnsStandIn(
  opts: { zones?: string[]; records?: DnsRecordInput[]; host?: string; port?: number } = {},
): Promise<DnsStandIn> {
  const store = new ZoneStore();
  for (const apex of opts.zones ?? []) store.addZone(apex);
  for (const record of opts.records ?? []) store.upsert(record);
  const host = opts.host ?? DEFAULT_HOST;
  const { udp, tcp, port } = await bindUdpAndTcp(host, opts.port ?? 0);
  const admin = createDnsAdmin(store);
  const dns = new DnsStandIn(store, admin, udp, tcp, port, host);
  try {
    await admin.listen();
  } catch (err) {
    await dns.close();
    throw err;
  }
  return dns;
}

/**
 * Binds UDP on an ephemeral port, then TCP on the same number. Another process may hold that TCP port,
 * so a collision closes both and tries a fresh UDP port.
 */
async function bindUdpAndTcp(
  host: string,
  fixedPort: number,
): Promise<{ udp: UDPServer; tcp: TCPServer; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (fixedPort ? 1 : BIND_ATTEMPTS); attempt++) {
    const udp = new UDPServer();
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(fixedPort, host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = new TCPServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (err) {
      lastError = err;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
  throw new Error(
    `could not bind UDP and TCP on one port after ${BIND_ATTEMPTS} attempts: ${String(lastError)}`,
  );
}
