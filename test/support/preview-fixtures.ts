// Helpers for the `pulumi preview --json` fixtures in test/fixtures/preview/ (scripts/record-previews.ts
// writes them, test/engine/preview-fixtures.test.ts reads them). No test runner is imported here: the
// script runs outside vitest.
import { UNKNOWN } from "../../src/sandbox/engine/resource-schemas";

/** Where a run's files were, each replaced by its placeholder (longest first, so a folder inside another wins). */
export type RunPaths = Record<string, string>;

/** State fields that tell when and from which line of which checkout a resource was registered. */
const RUN_FIELDS = new Set(["created", "modified", "sourcePosition", "stackTrace"]);

export const SERIALIZED_PROVIDER = "<serialized provider>";

/** Values that differ from run to run, in the order they are replaced, each with its stable spelling. */
const VOLATILE: [pattern: RegExp, replacement: string][] = [
  // Every stand-in listens on an ephemeral loopback port.
  [/http:\/\/127\.0\.0\.1:\d+/g, "http://127.0.0.1:<port>"],
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>"],
  // Pulumi's auto-names: the logical name and a random 7-hex suffix.
  [/\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-[0-9a-f]{7}\b/g, "$1-<suffix>"],
  // The Clerk endpoint's idempotency uid: a digest of its URL, whose port changes.
  [/\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-[0-9a-f]{8}\b/g, "$1-<digest>"],
  // The DKIM key the Resend stand-in generates for each new domain.
  [/p=MIG[A-Za-z0-9+/]+=*/g, "p=<dkim-public-key>"],
];

/** Ids the stand-ins generate, numbered by first appearance so that the same id reads the same in one file. */
const GENERATED_IDS = [
  // Function URL ids.
  /\b[0-9a-f]{32}\b/g,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g,
  /\b(?:ep|app|msg|ins|user|idn|ema)_[A-Za-z0-9]{20,}\b/g,
];

/**
 * A `pulumi preview --json` (or `destroy --preview-only --json`) document made stable across runs: steps that
 * change nothing keep only their op and URN; steps, dependency lists and the keys behind a change are sorted;
 * the run's timing and source positions go; a dynamic resource's serialized provider is named instead of
 * spelled out; and paths, ports, times, auto-name suffixes and generated ids get placeholders. What the
 * engine plans (ops, inputs, outputs, reasons) stays as it said it.
 */
export function normalizePreview(preview: unknown, paths: RunPaths): unknown {
  const document = preview as { steps?: { op: string; urn: string }[]; duration?: unknown };
  const { duration: _duration, ...rest } = document;
  // The engine's order among independent steps depends on its parallelism: sorted by URN instead.
  const steps = rest.steps
    ?.map((step) => (step.op === "same" ? { op: step.op, urn: step.urn } : step))
    .sort((a, b) => a.urn.localeCompare(b.urn));
  let text = JSON.stringify(withoutRunFields({ ...rest, ...(steps ? { steps } : {}) }));
  for (const [path, placeholder] of Object.entries(paths).sort(([a], [b]) => b.length - a.length)) {
    text = text.split(path).join(placeholder);
  }
  for (const [pattern, replacement] of VOLATILE) {
    text = text.replace(pattern, replacement);
  }
  const numbered = new Map<string, string>();
  for (const pattern of GENERATED_IDS) {
    text = text.replace(pattern, (id) => {
      // The engine's own marker for a value not known until the update is kept: it is what the plan says.
      if (id === UNKNOWN) return id;
      if (!numbered.has(id)) numbered.set(id, `<id-${numbered.size + 1}>`);
      return numbered.get(id)!;
    });
  }
  return JSON.parse(text);
}

function withoutRunFields(value: unknown): unknown {
  // Dependencies are listed in the order their registrations finished.
  if (Array.isArray(value) && value.every((item) => typeof item === "string" && item.startsWith("urn:"))) {
    return [...value].sort();
  }
  if (Array.isArray(value)) return value.map(withoutRunFields);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !RUN_FIELDS.has(key))
        .map(([key, inner]) => [key, normalizedField(key, inner)]),
    );
  }
  return value;
}

function normalizedField(key: string, value: unknown): unknown {
  // A dynamic resource's provider, serialized: pages of the provider's code, which the plan does not show.
  if (key === "__provider" && typeof value === "string") return SERIALIZED_PROVIDER;
  // The engine lists the keys behind an update or a replacement in map order.
  if (key.endsWith("Reasons") && Array.isArray(value)) return [...value].sort();
  return withoutRunFields(value);
}

/** The names of the secrets whose value appears in `text`. */
export function plaintextSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => value !== "" && text.includes(value))
    .map(([name]) => name);
}

/** Strings shaped like the vendors' secrets (Resend keys, Clerk secret keys, Svix/Resend signing secrets). */
export const SECRET_SHAPES =
  /\b(?:re_[A-Za-z0-9]{8}_[A-Za-z0-9]{16,}|sk_(?:test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9+/=]{16,})/g;
