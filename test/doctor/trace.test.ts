import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/doctor/cli";
import { eventually } from "../support/eventually";
import { parseValid } from "./schema";
import { type DoctorWorld, STACK_FILE, startDoctorWorld, TABLE_NAME } from "./world";

let world: DoctorWorld;
let dir: string;

beforeAll(async () => {
  world = await startDoctorWorld();
  dir = mkdtempSync(join(tmpdir(), "doctor-trace-"));
  writeFileSync(join(dir, "Pulumi.staging.yaml"), STACK_FILE);
  writeFileSync(
    join(dir, "outputs.json"),
    JSON.stringify({ bridgeUrl: world.bridge.url, tableName: TABLE_NAME }),
  );
});
afterAll(async () => {
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function trace(address: string, ...extra: string[]) {
  let out = "";
  const args = ["trace", address, "--stack", "staging", "--outputs", join(dir, "outputs.json"), ...extra];
  const code = await runCli(args, { env: world.cliEnvironment(), cwd: dir, write: (t) => (out += t) });
  return { code, out };
}

type TraceJson = {
  verdict: string;
  clerkUsers: { value: { id: string; emailStatus: string | null }[] };
  bridgeSuppression: { read: boolean; value: { reason: string; eventType: string } | null };
  resendSuppression: { read: boolean; value: { origin: string } | null };
  emails: {
    value: {
      slug?: string;
      status?: string;
      lastEvent?: string;
      clerkEmailId?: string;
      resendEmailId?: string;
      timeline: { type: string }[];
    }[];
  };
};

const emailsTo = (address: string) => world.sandbox.resend.emails().filter((e) => e.to.includes(address));

describe("doctor trace <address>", () => {
  it("a delivered code: the user, the email's template, Resend id and timeline, and where to look; no code, no body", async () => {
    const address = "delivered+trace@resend.dev";
    const signUp = world.sandbox.clerk.instance.signUp(address, { verify: true });
    await eventually(() => emailsTo(address).find((e) => e.lastEvent === "delivered"));
    const email = emailsTo(address)[0]!;
    await eventually(async () => {
      const { out } = await trace(address, "--json");
      const json = parseValid(out) as unknown as TraceJson;
      return json.emails.value[0]?.timeline.some((t) => t.type === "email.delivered") ? json : undefined;
    });
    const { code, out } = await trace(address, "--json");
    expect(code).toBe(0);
    const json = parseValid(out) as unknown as TraceJson;
    expect(json.clerkUsers.value).toEqual([{ id: signUp.user!.id, emailStatus: null }]);
    expect(json.bridgeSuppression).toEqual({ read: true, value: null });
    expect(json.resendSuppression).toEqual({ read: true, value: null });
    expect(json.emails.value).toEqual([
      expect.objectContaining({
        slug: "verification_code",
        status: "sent",
        lastEvent: "delivered",
        clerkEmailId: signUp.email.email.id,
        resendEmailId: email.id,
      }),
    ]);
    expect(json.verdict).toBe(
      `the last email (verification_code, Resend ${email.id}) ended at "delivered": the mailbox accepted it, so look in the user's spam or quarantine folder`,
    );
    const text = (await trace(address)).out;
    for (const output of [out, text]) {
      expect(output).not.toContain(signUp.code);
      expect(output).not.toContain(email.subject);
    }
    expect(text).toContain(`Trace: ${address} (stack staging)`);
    expect(text).toMatch(/ {6}\S+ {2}email\.delivered\n/);
  });

  it("a hard bounce: suppressed on the ledger and in Resend, the Clerk user flagged, the blocked sign-in found by its Clerk id", async () => {
    const address = "bounced@resend.dev";
    world.sandbox.clerk.instance.signUp(address, { verify: true });
    const user = await eventually(() =>
      world.sandbox.clerk
        .users()
        .find(
          (u) =>
            u.email_addresses.some((e: { email_address: string }) => e.email_address === address) &&
            u.public_metadata.email_status === "undeliverable",
        ),
    );
    const signIn = world.sandbox.clerk.instance.signIn(address, "email_code");
    await world.bridge.settle();
    const json = parseValid(
      (await trace(address, "--clerk-email", signIn.email.id, "--json")).out,
    ) as unknown as TraceJson;
    expect(json.clerkUsers.value).toEqual([{ id: user.id, emailStatus: "undeliverable" }]);
    expect(json.bridgeSuppression.value).toMatchObject({ reason: "bounce", eventType: "email.bounced" });
    expect(json.resendSuppression.value).toMatchObject({ origin: "bounce" });
    expect(json.verdict).toMatch(
      /^bounced@resend\.dev is suppressed: bounce \(email\.bounced\) since \S+\. The bridge and Resend send it nothing/,
    );
    expect(json.emails.value.map((e) => [e.slug, e.status, e.lastEvent])).toEqual([
      ["verification_code", "sent", "bounced"],
      ["verification_code", "suppressed", undefined],
    ]);
    expect(json.emails.value[0]?.timeline.map((t) => t.type)).toContain("email.bounced");
    expect(json.emails.value[1]?.clerkEmailId).toBe(signIn.email.id);
  });

  it("an address nothing was sent to says so and points at the pipeline check", async () => {
    const { code, out } = await trace("nobody@example.org", "--json");
    expect(code).toBe(0);
    expect((parseValid(out) as unknown as TraceJson).verdict).toBe(
      "no email to nobody@example.org is in Resend's recent emails or the bridge's ledger: Clerk's email.created never reached the bridge, or it never sent (run npm run doctor for the pipeline)",
    );
  });

  it("needs one address", async () => {
    const { code, out } = await trace("not-an-address", "--json");
    expect(code).toBe(2);
    expect(parseValid(out)).toMatchObject({
      kind: "error",
      error: { code: "usage", message: "trace needs one email address: trace <address>" },
    });
  });
});
