/**
 * The PR comment: per stack, a warning banner when mail can break, the DNS change table, a one-line summary
 * of the other changes, and a link to the full log. Values are escaped for Markdown tables; secrets are
 * shown as "secret" and unknowns as "known after apply", never as their sentinel text.
 */
import { breaksMail, type DnsChange, type StackReview } from "./dns-changes";
import type { PlainValue } from "./preview-json";

export interface RenderOptions {
  /** Stacks whose mail resources are protected (`protect` in their stack file). */
  protectedStacks?: string[];
  /** Where the full preview log is, e.g. the workflow run's URL. */
  logUrl?: string;
}

/** Marks the comment so CI edits its own comment (one per set of stacks) instead of adding one per push. */
export const COMMENT_MARKER = "<!-- auth-email-pipeline:dns-review -->";

export function commentMarker(stacks: string[]): string {
  return COMMENT_MARKER.replace(" -->", `:${stacks.join(",")} -->`);
}

const OP_LABEL: Record<DnsChange["op"], string> = {
  create: "create",
  update: "update",
  replace: "**replace**",
  delete: "**delete**",
};

export function renderReview(reviews: StackReview[], options: RenderOptions = {}): string {
  const parts = [commentMarker(reviews.map((r) => r.stack)), "## Mail DNS changes"];
  for (const review of reviews) parts.push(renderStack(review, options));
  if (options.logUrl) parts.push(`Full preview log: ${options.logUrl}`);
  return `${parts.join("\n\n")}\n`;
}

function renderStack(review: StackReview, options: RenderOptions): string {
  // Blank lines between the parts: a table line right after a blockquote would be read as part of it.
  const lines = [`### Stack \`${review.stack}\``];
  const banner = bannerFor(review, options.protectedStacks?.includes(review.stack) ?? false);
  if (banner) lines.push(banner);
  if (review.dns.length === 0) {
    lines.push("No DNS record changes.");
  } else {
    lines.push(
      [
        "| Record | Type | Change | Value (old → new) | TTL | Priority |",
        "| --- | --- | --- | --- | --- | --- |",
        ...review.dns.map(row),
      ].join("\n"),
    );
  }
  lines.push(summaryOfOthers(review));
  return lines.join("\n\n");
}

function bannerFor(review: StackReview, isProtected: boolean): string | undefined {
  const risky = review.dns.filter(breaksMail);
  const warnings: string[] = [];
  if (risky.length > 0) {
    const roles = [...new Set(risky.map((change) => change.role))].join(", ");
    const names = risky.map((change) => `\`${change.name}\` ${change.type} (${change.op})`).join(", ");
    warnings.push(
      `> [!WARNING]\n> This changes ${roles} records: ${names}. Until DNS has propagated and Resend has ` +
        "re-verified the domain, Resend refuses to send from it and **every sign-up and password-reset email " +
        "fails**. Merge only with Clerk delivering its own mail or in a quiet window.",
    );
  }
  const total = review.dns.length + Object.keys(review.others).length;
  if (isProtected && total > 0) {
    warnings.push(
      `> [!CAUTION]\n> \`${review.stack}\` is a protected stack: replacing or deleting its domain, mail records or ` +
        "bridge table fails until someone deliberately unprotects them (docs/pulumi.md).",
    );
  }
  return warnings.length > 0 ? warnings.join("\n\n") : undefined;
}

function row(change: DnsChange): string {
  const name = `\`${escapeCell(change.name)}\``;
  const cells = [
    change.oldName ? `\`${escapeCell(change.oldName)}\` → ${name}` : name,
    change.oldType ? `${change.oldType} → ${change.type}` : change.type,
    OP_LABEL[change.op],
    valueCell(change),
    pairCell(change.old?.ttl, change.new?.ttl),
    pairCell(change.old?.priority, change.new?.priority),
  ];
  return `| ${cells.join(" | ")} |`;
}

function valueCell(change: DnsChange): string {
  return pairCell(change.old?.value, change.new?.value, true);
}

/** `old → new` when they differ, the one value when they do not, `—` when there is none. */
function pairCell(before: PlainValue | undefined, after: PlainValue | undefined, code = false): string {
  const show = (value: PlainValue | undefined) => shown(value, code);
  if (!before) return show(after);
  if (!after) return before.kind === "absent" ? "—" : `~~${show(before)}~~`;
  const a = show(before);
  const b = show(after);
  return a === b ? b : `${a} → ${b}`;
}

function shown(value: PlainValue | undefined, code: boolean): string {
  if (!value || value.kind === "absent") return "—";
  if (value.kind === "unknown") return "_known after apply_";
  if (value.kind === "secret") return "_secret_";
  const text = escapeCell(String(value.value));
  return code ? `\`${text}\`` : text;
}

function summaryOfOthers(review: StackReview): string {
  const areas = Object.entries(review.others);
  if (areas.length === 0) return "Other changes: none.";
  const text = areas
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([area, counts]) => {
      const ops = Object.entries(counts)
        .map(([op, count]) => `${count} ${op}`)
        .join(", ");
      return `${area} (${ops})`;
    })
    .join("; ");
  return `Other changes: ${text}.`;
}

/** Table cells: a `|` or a line break would end the cell, backticks would end the code span. */
function escapeCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/`/g, "'").replace(/\r?\n/g, " ");
}
