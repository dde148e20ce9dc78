import { AREAS, type Area, type CheckResult, plural, type Status } from "./types";

/**
 * The version of the `--json` shape (docs/doctor.schema.json). It changes only when a field is removed or
 * changes meaning; new fields and new check ids keep it.
 */
export const REPORT_SCHEMA_VERSION = 1;

export interface DoctorReport {
  stack: string;
  sendingDomain?: string;
  results: CheckResult[];
  summary: Record<Status, number>;
}

const TITLES: Record<Area, string> = {
  config: "Stack settings",
  dns: "DNS",
  resend: "Resend",
  clerk: "Clerk",
  bridge: "Bridge",
};

const MARKS: Record<Status, string> = { pass: "PASS", warn: "WARN", fail: "FAIL" };

export function buildReport(
  stack: string,
  sendingDomain: string | undefined,
  results: CheckResult[],
): DoctorReport {
  const summary: Record<Status, number> = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) summary[r.status] += 1;
  return { stack, sendingDomain, results, summary };
}

/** 1 when anything failed, as resend-cli's doctor does; warnings alone keep 0 so CI can run it. */
export function exitCode(report: DoctorReport): number {
  return report.summary.fail > 0 ? 1 : 0;
}

export function formatText(report: DoctorReport): string {
  const lines = [
    `Deliverability doctor: stack ${report.stack}${report.sendingDomain ? ` (${report.sendingDomain})` : ""}`,
  ];
  for (const area of AREAS) {
    const results = report.results.filter((r) => r.area === area);
    if (results.length === 0) continue;
    lines.push("", TITLES[area]);
    for (const r of results) {
      lines.push(`  ${MARKS[r.status]}  ${r.message}`);
      if (r.fix) lines.push(`        fix: ${r.fix}`);
    }
  }
  const { pass, warn, fail } = report.summary;
  const verdict = fail > 0 ? "unhealthy" : warn > 0 ? "healthy, with warnings" : "healthy";
  lines.push("", `${pass} passed, ${plural(warn, "warning")}, ${fail} failed: ${verdict}`);
  return `${lines.join("\n")}\n`;
}

export function formatJson(report: DoctorReport): string {
  const { stack, sendingDomain, summary, results } = report;
  const json = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: "report",
    stack,
    ...(sendingDomain ? { sendingDomain } : {}),
    ok: exitCode(report) === 0,
    summary,
    results,
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** Why the doctor could not run at all (exit code 2), in the `--json` shape callers parse. */
export function formatJsonError(code: "usage" | "crash", message: string, usage?: string): string {
  const json = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: "error",
    error: { code, message, ...(usage ? { usage } : {}) },
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** Replaces every occurrence of a secret (long enough to be one) with `***`, wherever a vendor echoed it. */
export function redact(results: CheckResult[], secrets: (string | undefined)[]): CheckResult[] {
  const scrub = (text: string) => scrubSecrets(text, secrets);
  return results.map((r) => ({
    ...r,
    message: scrub(r.message),
    ...(r.fix ? { fix: scrub(r.fix) } : {}),
    ...(r.details
      ? { details: JSON.parse(scrub(JSON.stringify(r.details))) as Record<string, unknown> }
      : {}),
  }));
}

/** `text` with every secret long enough to be one replaced by `***`. */
export function scrubSecrets(text: string, secrets: (string | undefined)[]): string {
  const known = secrets.filter((s): s is string => typeof s === "string" && s.length >= 8);
  return known.reduce((out, secret) => out.split(secret).join("***"), text);
}
