type NodeCrypto = typeof import("node:crypto");

let loaded: NodeCrypto | undefined;

/**
 * node:crypto, loaded at its first use rather than when a handler's bundle is imported. Loading it takes
 * 3.5 to 5 ms, about the bridge's whole cold-init allowance (15% of an empty handler's start); every
 * ingest request needs it for HMAC, so the first request pays it instead, and the "First request" figures
 * in docs/benchmarks.md, which time import plus one answered event, include it.
 */
export function nodeCrypto(): NodeCrypto {
  loaded ??= process.getBuiltinModule("node:crypto");
  return loaded;
}
