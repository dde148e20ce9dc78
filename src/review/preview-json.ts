/**
 * Reading `pulumi preview --json` (the engine's PreviewDigest, pkg/display/json.go) without `@pulumi/pulumi`:
 * the steps, their resource states, and the two sentinels a preview carries instead of values — unknowns
 * (computed during the update) and secrets (blinded, or shown with --show-secrets, never printed here).
 */

export interface ResourceState {
  urn: string;
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  protect?: boolean;
}

export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: ResourceState;
  newState?: ResourceState;
  diffReasons?: string[];
  replaceReasons?: string[];
  detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
}

export interface PreviewDigest {
  steps?: PreviewStep[];
  diagnostics?: Array<{ urn?: string; message?: string; severity?: string }>;
  changeSummary?: Record<string, number>;
}

/** The engine's placeholder for a value known only after apply (sdk/go/common/resource/sig). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The signature key marking a secret envelope in serialized state (`{sig: SECRET_SIG, plaintext|ciphertext}`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type PlainValue =
  | { kind: "known"; value: unknown }
  | { kind: "unknown" }
  | { kind: "secret" }
  | { kind: "absent" };

/** One property as a reviewer may see it: the value, "known after apply", or "secret" (never its text). */
export function plainValue(raw: unknown): PlainValue {
  if (raw === undefined || raw === null) return { kind: "absent" };
  if (raw === UNKNOWN) return { kind: "unknown" };
  if (typeof raw === "object" && (raw as Record<string, unknown>)[SIG_KEY] === SECRET_SIG) {
    return { kind: "secret" };
  }
  if (Array.isArray(raw)) {
    const items = raw.map(plainValue);
    if (items.some((item) => item.kind === "secret")) return { kind: "secret" };
    if (items.some((item) => item.kind === "unknown")) return { kind: "unknown" };
    return { kind: "known", value: items.map((item) => (item.kind === "known" ? item.value : null)) };
  }
  return { kind: "known", value: raw };
}

/** The resource name: the last `::` part of a URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::…`. */
export function urnStack(urn: string): string {
  return urn.split("::")[0]?.replace(/^urn:pulumi:/, "") ?? "";
}

export type ChangeOp = "create" | "update" | "replace" | "delete";

/**
 * One change per resource. The engine reports a replacement as up to three steps (`create-replacement`,
 * `replace`, `delete-replaced`); a reviewer sees one "replace". Steps that change nothing (`same`, `read`,
 * `refresh`) are dropped.
 */
export function resourceChanges(digest: PreviewDigest): Array<{ op: ChangeOp; step: PreviewStep }> {
  const byUrn = new Map<string, { op: ChangeOp; step: PreviewStep }>();
  for (const step of digest.steps ?? []) {
    const op = changeOp(step.op);
    if (!op) continue;
    const seen = byUrn.get(step.urn);
    if (!seen) {
      byUrn.set(step.urn, { op, step });
      continue;
    }
    // Keep one entry, upgraded to replace, with old and new state merged from whichever step carried them.
    seen.op = op === "replace" || seen.op === "replace" ? "replace" : seen.op;
    seen.step = {
      ...seen.step,
      oldState: seen.step.oldState ?? step.oldState,
      newState: seen.step.newState ?? step.newState,
      replaceReasons: seen.step.replaceReasons ?? step.replaceReasons,
    };
  }
  return [...byUrn.values()];
}

function changeOp(op: string): ChangeOp | undefined {
  switch (op) {
    case "create":
    case "import":
      return "create";
    case "update":
      return "update";
    case "delete":
      return "delete";
    case "replace":
    case "create-replacement":
    case "delete-replaced":
    case "import-replacement":
      return "replace";
    default:
      return undefined;
  }
}
