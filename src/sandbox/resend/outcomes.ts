import type { SuppressionList } from "./suppressions";

export type BounceType = "Permanent" | "Transient" | "Undetermined";

export interface BounceDetails {
  type: BounceType;
  subType: string;
  message: string;
  diagnosticCode: string[];
}

/** What happens to one recipient after Resend accepts the email. */
export type Outcome =
  | { kind: "delivered" }
  | { kind: "bounced"; bounce: BounceDetails }
  | { kind: "complained" }
  | { kind: "delivery_delayed" }
  | { kind: "failed"; reason: string }
  | { kind: "suppressed"; reason: "previous_bounce" | "previous_complaint"; message: string };

/** A forced outcome as the control route takes it. */
export interface ForcedOutcome {
  outcome: Outcome["kind"];
  bounce?: Partial<BounceDetails>;
  reason?: string;
}

const HARD_BOUNCE_MESSAGE =
  "The recipient's email provider sent a hard bounce message, but didn't specify the reason for the hard bounce. We recommend removing the recipient's email address from your mailing list. Sending messages to addresses that produce hard bounces can have a negative impact on your reputation as a sender.";
const SOFT_BOUNCE_MESSAGE =
  "The recipient's email provider sent a general bounce message. You might be able to send a message to the same recipient in the future if the issue that caused the message to bounce is resolved.";

/**
 * Decides a recipient's fate: the suppression list first (a suppressed address is never sent to),
 * then outcomes forced by a test, then Resend's test addresses (docs `send-test-emails`):
 * `delivered@`, `bounced@`, `complained@` (each also with a `+label`) and `suppressed@resend.dev`.
 * Anyone else is delivered.
 */
export function outcomeFor(
  address: string,
  suppressions: SuppressionList,
  forced: ReadonlyMap<string, ForcedOutcome>,
): Outcome {
  const lower = address.toLowerCase();
  const suppressed = suppressions.find(lower);
  if (suppressed) {
    const complaint = suppressed.origin === "complaint";
    return {
      kind: "suppressed",
      reason: complaint ? "previous_complaint" : "previous_bounce",
      message: complaint
        ? "Resend has suppressed sending to this address because it is on your account's suppression list after a complaint."
        : "Resend has suppressed sending to this address because it is on your account's suppression list. This does not count toward your bounce rate metric",
    };
  }
  const force = forced.get(lower);
  if (force) return fromForced(lower, force);
  const [local = "", domain = ""] = lower.split("@");
  if (domain !== "resend.dev") return { kind: "delivered" };
  if (local === "suppressed") {
    return {
      kind: "suppressed",
      reason: "previous_bounce",
      message:
        "Resend has suppressed sending to this address because it has previously bounced. This does not count toward your bounce rate metric",
    };
  }
  switch (local.split("+")[0]) {
    case "bounced":
      return { kind: "bounced", bounce: hardBounce(lower) };
    case "complained":
      return { kind: "complained" };
    default:
      return { kind: "delivered" };
  }
}

function hardBounce(address: string): BounceDetails {
  return {
    type: "Permanent",
    subType: "General",
    message: HARD_BOUNCE_MESSAGE,
    diagnosticCode: [`smtp; 550 5.1.1 ${address}: Recipient address rejected: Unknown User`],
  };
}

function fromForced(address: string, force: ForcedOutcome): Outcome {
  switch (force.outcome) {
    case "bounced": {
      const type = force.bounce?.type ?? "Permanent";
      const base = type === "Permanent" ? hardBounce(address) : undefined;
      return {
        kind: "bounced",
        bounce: {
          type,
          subType: force.bounce?.subType ?? (type === "Transient" ? "MailboxFull" : "General"),
          message: force.bounce?.message ?? base?.message ?? SOFT_BOUNCE_MESSAGE,
          diagnosticCode: force.bounce?.diagnosticCode ??
            base?.diagnosticCode ?? [`smtp; 452 4.2.2 ${address}: Mailbox full`],
        },
      };
    }
    case "failed":
      return { kind: "failed", reason: force.reason ?? "reached_daily_quota" };
    case "suppressed":
      return {
        kind: "suppressed",
        reason: force.reason === "previous_complaint" ? "previous_complaint" : "previous_bounce",
        message:
          "Resend has suppressed sending to this address because it is on your account's suppression list.",
      };
    case "delivered":
    case "complained":
    case "delivery_delayed":
      return { kind: force.outcome };
  }
}

export const OUTCOME_KINDS: readonly Outcome["kind"][] = [
  "delivered",
  "bounced",
  "complained",
  "delivery_delayed",
  "failed",
  "suppressed",
];
