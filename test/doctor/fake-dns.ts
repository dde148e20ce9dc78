import type { Answer, DnsLookup, MxValue } from "../../src/doctor/dns-lookup";

/** Fixed TXT answers: a listed name answers its values, `"ERR:<code>"` fails the lookup, the rest is NXDOMAIN. */
export function txtLookup(
  records: Record<string, string[] | `ERR:${string}`>,
): DnsLookup & { asked: string[] } {
  const asked: string[] = [];
  const none = async (): Promise<Answer<never>> => ({ kind: "absent", code: "ENOTFOUND" });
  return {
    asked,
    txt: async (name) => {
      asked.push(name);
      const values = records[name];
      if (typeof values === "string") return { kind: "error", code: values.slice(4) };
      return values ? { kind: "found", values } : { kind: "absent", code: "ENOTFOUND" };
    },
    mx: none as () => Promise<Answer<MxValue>>,
    cname: none as () => Promise<Answer<string>>,
    ns: none as () => Promise<Answer<string>>,
    a: none as () => Promise<Answer<string>>,
    nameServerPort: 53,
  };
}

export const found = <T>(...values: T[]): Answer<T> => ({ kind: "found", values });
export const absent: Answer<never> = { kind: "absent", code: "ENOTFOUND" };
