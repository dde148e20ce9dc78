import { Resolver } from "node:dns/promises";
import { unquoteTxt } from "../../infra/dns/records";

/**
 * DNS answers reduced to what the checks need. `absent` (NXDOMAIN or no record of that type) is a fact
 * about the zone; `error` (timeout, SERVFAIL, refused) is a fact about the network, so checks warn instead
 * of failing on it.
 */
export type Answer<T> =
  | { kind: "found"; values: T[] }
  | { kind: "absent"; code: string }
  | { kind: "error"; code: string };

export interface MxValue {
  priority: number;
  exchange: string;
}

export interface DnsLookup {
  /** One string per TXT record: its character-strings joined, stray outer quotes stripped. */
  txt(name: string): Promise<Answer<string>>;
  mx(name: string): Promise<Answer<MxValue>>;
  cname(name: string): Promise<Answer<string>>;
  ns(name: string): Promise<Answer<string>>;
  a(name: string): Promise<Answer<string>>;
  /** The port name servers answer on: 53, or that of `--dns-server` (a test server serves every zone there). */
  readonly nameServerPort: number;
}

const ABSENT_CODES = new Set(["ENOTFOUND", "ENODATA", "NXDOMAIN"]);

async function answer<T>(query: () => Promise<T[]>): Promise<Answer<T>> {
  try {
    const values = await query();
    return values.length > 0 ? { kind: "found", values } : { kind: "absent", code: "ENODATA" };
  } catch (err) {
    const code = (err as { code?: string }).code ?? "EUNKNOWN";
    return ABSENT_CODES.has(code) ? { kind: "absent", code } : { kind: "error", code };
  }
}

const bare = (name: string) => name.replace(/\.$/, "").toLowerCase();

/**
 * Lookups through `node:dns` (c-ares): the system's resolvers, or one `host:port` such as the sandbox's DNS
 * stand-in. Short timeouts and two tries keep a dead resolver from stalling the whole report.
 */
export function resolverLookup(options: { server?: string; timeoutMs?: number } = {}): DnsLookup {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2_000, tries: 2 });
  if (options.server) resolver.setServers([options.server]);
  return {
    txt: (name) =>
      answer(async () => (await resolver.resolveTxt(name)).map((chunks) => unquoteTxt(chunks.join("")))),
    mx: (name) =>
      answer(async () =>
        (await resolver.resolveMx(name)).map((mx) => ({
          priority: mx.priority,
          exchange: bare(mx.exchange),
        })),
      ),
    cname: (name) => answer(async () => (await resolver.resolveCname(name)).map(bare)),
    ns: (name) => answer(async () => (await resolver.resolveNs(name)).map(bare)),
    a: (name) => answer(() => resolver.resolve4(name)),
    nameServerPort: options.server
      ? Number(options.server.slice(options.server.lastIndexOf(":") + 1)) || 53
      : 53,
  };
}
