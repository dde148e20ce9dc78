/**
 * Clerk's test mode (on by default for development instances): an address with the `+clerk_test`
 * subaddress, such as `jane+clerk_test@example.com`, gets no email and verifies with the code 424242. The
 * bridge keeps that promise for the emails Clerk hands it: such an email is recorded `test_mode` and counted,
 * never sent through Resend (test suites use made-up domains, and their bounces would count against the
 * sending domain).
 */
import type { SendJob } from "./events";
import type { BridgeStore } from "./store";
import { METRICS, type Telemetry } from "./telemetry";

/** The code every test-mode address verifies with. */
export const CLERK_TEST_CODE = "424242";
const TEST_SUBADDRESS = "clerk_test";

/** Whether `address` carries the `+clerk_test` subaddress (compared case-insensitively, as Clerk stores addresses). */
export function isClerkTestAddress(address: string): boolean {
  const local = address.slice(0, address.lastIndexOf("@")).toLowerCase();
  return local.split("+").slice(1).includes(TEST_SUBADDRESS);
}

/**
 * Whether Clerk's test mode covers this email: a `+clerk_test` recipient, and no code in it other than
 * 424242. An email to such an address carrying another code comes from an instance whose test mode is off
 * (production, by default): that code is real, so the email is sent like any other.
 */
export function isClerkTestModeEmail(to: string, templateData: unknown): boolean {
  if (!isClerkTestAddress(to)) return false;
  const code =
    typeof templateData === "object" && templateData !== null
      ? (templateData as Record<string, unknown>).otp_code
      : undefined;
  return code === undefined || code === null || String(code) === CLERK_TEST_CODE;
}

/** The worker's step for a test-mode email: record it and count it; nothing goes to Resend. */
export async function recordTestModeSend(
  job: SendJob,
  deps: { store: BridgeStore; telemetry: Telemetry },
): Promise<"test_mode"> {
  await deps.store.recordSend({
    clerkEmailId: job.clerkEmailId,
    to: job.to,
    userId: job.userId,
    slug: job.slug,
    status: "test_mode",
    detail: "Clerk test-mode recipient (+clerk_test): not sent",
  });
  deps.telemetry.count(METRICS.testMode);
  deps.telemetry.logger.info("email not sent: Clerk test-mode recipient", {
    clerkEmailId: job.clerkEmailId,
    ...(job.userId ? { userId: job.userId } : {}),
    ...(job.slug ? { slug: job.slug } : {}),
  });
  return "test_mode";
}
