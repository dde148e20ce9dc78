type NodeCrypto = typeof import("node:crypto");

let loaded: NodeCrypto | undefined;

/**
 * node:crypto, loaded at its first use rather than when a handler's bundle is imported. Loading it takes
 * about 5 ms, more than the bridge's whole cold-init allowance (15% of an empty handler's start); every
 * ingest request needs it for HMAC, so the first request pays it instead, and the "First request" figure
 * in docs/benchmarks.md, which times import plus one answered webhook, includes it.
 */
export function nodeCrypto(): NodeCrypto {
  loaded ??= process.getBuiltinModule("node:crypto");
  return loaded;
}
