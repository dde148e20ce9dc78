import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { SANDBOX_CREDENTIALS, SANDBOX_REGION } from "../../src/sandbox/aws/env";
import { runUnsuppressCli } from "../../src/unsuppress/cli";
import { type Pipeline, startPipeline } from "./harness";

const TABLE = "unsuppress-test";

describe("npm run unsuppress", () => {
  let dynamo: LocalDynamo;
  let p: Pipeline;
  let dir: string;
  let outputs: string;

  beforeAll(async () => {
    dynamo = await startLocalDynamo(TABLE);
    p = await startPipeline({ bridge: { dynamoTable: { client: dynamo.client, tableName: TABLE } } });
    dir = mkdtempSync(join(tmpdir(), "unsuppress-"));
    outputs = join(dir, "outputs.json");
    writeFileSync(outputs, JSON.stringify({ bridgeUrl: p.bridge.url, tableName: TABLE }));
  });
  afterAll(async () => {
    await p.close();
    await dynamo.close();
  });

  /** The operator's shell: vendor keys and AWS credentials in the environment, endpoints at the stand-ins. */
  const operatorEnv = (): Record<string, string> => ({
    RESEND_API_KEY: p.resend.apiKey,
    RESEND_BASE_URL: p.resend.url,
    CLERK_SECRET_KEY: p.clerk.secretKey,
    CLERK_API_URL: p.clerk.url,
    AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
    AWS_REGION: SANDBOX_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  });
  const run = async (args: string[], env: Record<string, string> = operatorEnv()) => {
    let output = "";
    const code = await runUnsuppressCli(args, { env, cwd: dir, write: (t) => (output += t) });
    return { code, output };
  };
  const writes = () => [
    p.resend.server.requests.filter((r) => r.method === "DELETE").length,
    p.clerk.server.requests.filter((r) => r.method === "PATCH").length,
  ];

  it("prints the plan and changes nothing without --yes; --yes lifts Resend, the ledger and Clerk", async () => {
    const address = "bounced+operator@resend.dev";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    const userId = user!.id;
    expect(p.clerk.instance.user(userId).publicMetadata).toMatchObject({ email_status: "undeliverable" });

    const writesBefore = writes();
    const dry = await run([address, "--stack", "sandbox", "--outputs", outputs]);
    expect(dry.code).toBe(0);
    expect(dry.output).toBe(
      [
        `Plan to lift the block on ${address}:`,
        "  Resend: on the suppression list (origin bounce) → would remove it",
        `  Ledger (${TABLE}): blocked (bounce, since ${(await p.bridge.store.getSuppression(address))?.firstAt}) → would lift it`,
        `  Clerk user ${userId} (email_status undeliverable): would clear public_metadata.email_status`,
        "Dry run: nothing was changed. Run again with --yes to apply.",
        "",
      ].join("\n"),
    );
    expect(writes()).toEqual(writesBefore);
    expect(p.resend.suppressions().map((s) => s.email)).toContain(address);
    expect(await p.bridge.store.getSuppression(address)).toMatchObject({ reason: "bounce" });
    expect(p.clerk.instance.user(userId).publicMetadata).toMatchObject({ email_status: "undeliverable" });

    const applied = await run([address, "--outputs", outputs, "--yes"]);
    expect(applied.code).toBe(0);
    expect(applied.output).toContain(
      [
        "✔ Resend: suppression removed",
        "✔ Ledger: block lifted",
        `✔ Clerk user ${userId}: email_status cleared`,
      ].join("\n"),
    );
    await p.settle(); // Resend's suppression.removed reaches the bridge too, and changes nothing more
    expect(p.resend.suppressions().map((s) => s.email)).not.toContain(address);
    expect(await p.bridge.store.getSuppression(address)).toBeUndefined();
    expect((await p.bridge.store.ledgerEntry(address)).state).toBe("lifted");
    expect(p.clerk.instance.user(userId).publicMetadata).toEqual({});

    // The next email is sent again (bounced@ bounces again, which blocks it afresh: the loop still works).
    const sentBefore = p.resend.emails().filter((e) => e.to.includes(address)).length;
    p.clerk.instance.signIn(address, "email_code");
    await p.settle();
    expect(p.resend.emails().filter((e) => e.to.includes(address))).toHaveLength(sentBefore + 1);
    expect(await p.bridge.store.getSuppression(address)).toMatchObject({ reason: "bounce" });
  });

  it("refuses to start without its inputs, naming each one and printing no key", async () => {
    const env = { RESEND_API_KEY: "sk_live_secretvalue123", AWS_REGION: SANDBOX_REGION };
    const missing = await run(["not-an-address"], env);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('"not-an-address" is not a bare email address');
    expect(missing.output).toContain("--outputs outputs.json");
    expect(missing.output).toContain("AWS credentials are not in the environment");
    expect(missing.output).toContain("RESEND_API_KEY is not a re_… key");
    expect(missing.output).toContain("CLERK_SECRET_KEY is not set");
    expect(missing.output).not.toContain("secretvalue123");

    const noRegion = await run(["a@x.test", "--table", TABLE, "--stack", "nope"], {
      ...operatorEnv(),
      AWS_REGION: "",
    });
    expect(noRegion.code).toBe(2);
    expect(noRegion.output).toContain("Pulumi.nope.yaml does not exist");
    writeFileSync(join(dir, "Pulumi.regional.yaml"), "config:\n  aws:region: us-east-1\n");
    const fromStack = await run(["nobody@x.test", "--table", TABLE, "--stack", "regional"], {
      ...operatorEnv(),
      AWS_REGION: "",
    });
    expect(fromStack.code).toBe(0);
    expect(fromStack.output).toContain("Clerk: no user owns the address");
  });

  it("stops at the step that fails, saying what to fix, without printing the key", async () => {
    const badKey = "re_bogus_notthekey";
    const refused = await run(["a@x.test", "--outputs", outputs, "--yes"], {
      ...operatorEnv(),
      RESEND_API_KEY: badKey,
    });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/^✘ resend: Resend refused RESEND_API_KEY \(HTTP 40[13] \w+\)\n {2}fix: /);
    expect(refused.output).not.toContain(badKey);

    const noTable = await run(["a@x.test", "--table", "not-the-table"]);
    expect(noTable.code).toBe(1);
    expect(noTable.output).toContain(`✘ ledger: the table not-the-table does not exist in ${SANDBOX_REGION}`);
    expect(noTable.output).toContain("fix: check tableName in the --outputs file");
  });
});
