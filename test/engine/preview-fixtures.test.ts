import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../src/sandbox/engine/resource-schemas";
import {
  normalizePreview,
  plaintextSecrets,
  SECRET_SHAPES,
  SERIALIZED_PROVIDER,
} from "../support/preview-fixtures";

const FIXTURES = join(__dirname, "..", "fixtures", "preview");
const URN = "urn:pulumi:sandbox::auth-email-pipeline::";

interface Step {
  op: string;
  urn: string;
  replaceReasons?: string[];
  newState?: { inputs?: Record<string, unknown> };
}
interface Fixture {
  description: string;
  command: string;
  preview: {
    config: Record<string, string>;
    steps: Step[];
    changeSummary: Record<string, number>;
  };
}

const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Fixture;

/** What a fixture plans, one line per changed resource: op, logical name and the keys that force a replacement. */
const plan = (name: string) =>
  fixture(name)
    .preview.steps.filter((s) => s.op !== "same")
    .map(
      (s) =>
        `${s.op} ${s.urn.split("::").at(-1)}${s.replaceReasons ? ` (${s.replaceReasons.join(", ")})` : ""}`,
    );

describe("normalizing `pulumi preview --json` for the fixtures", () => {
  it("gives what differs between runs stable spellings and keeps what the engine plans", () => {
    const queue = `${URN}aws:sqs/queue:Queue::jobs`;
    const record = `${URN}cloudflare:index/dnsRecord:DnsRecord::spf-mx`;
    const domainId = "0f6d3c75-8ea4-426b-91bc-6b5843bd99a1";
    const preview = {
      config: { "auth-email-pipeline:resendApiKey": "[secret]" },
      steps: [
        { op: "same", urn: record, oldState: { inputs: { name: "x" } } },
        {
          op: "replace",
          urn: queue,
          replaceReasons: ["type", "name"],
          newState: {
            inputs: {
              __provider: "exports.handler = __f0; …",
              name: "jobs-8413fec",
              url: "http://127.0.0.1:45547/000000000000/jobs-8413fec",
              domainId,
              again: domainId,
              content: UNKNOWN,
              code: "/work/checkout/dist/ingest.mjs",
            },
            dependencies: [record, queue],
            created: "2026-12-04T18:32:57.236509333Z",
            stackTrace: [{ sourcePosition: "project:///../../work/checkout/node_modules/x.ts#1,2" }],
          },
        },
      ],
      duration: 1234,
    };
    expect(normalizePreview(preview, { "/work/checkout": "<repo>" })).toEqual({
      config: { "auth-email-pipeline:resendApiKey": "[secret]" },
      steps: [
        {
          op: "replace",
          urn: queue,
          replaceReasons: ["name", "type"],
          newState: {
            inputs: {
              __provider: SERIALIZED_PROVIDER,
              name: "jobs-<suffix>",
              url: "http://127.0.0.1:<port>/000000000000/jobs-<suffix>",
              domainId: "<id-1>",
              again: "<id-1>",
              content: UNKNOWN,
              code: "<repo>/dist/ingest.mjs",
            },
            dependencies: [queue, record],
          },
        },
        { op: "same", urn: record },
      ],
    });
  });

  it("names the secrets a text holds in plain text, and recognizes the vendors' secret shapes", () => {
    const text = `{"a":"re_AbCdEf12_${"x".repeat(24)}","b":"[secret]"}`;
    expect(plaintextSecrets(text, { resendApiKey: `re_AbCdEf12_${"x".repeat(24)}`, other: "zzz" })).toEqual([
      "resendApiKey",
    ]);
    expect(text.match(SECRET_SHAPES)).toHaveLength(1);
    expect(
      '{"k":"sk_test_sandbox","w":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}'.match(SECRET_SHAPES),
    ).toHaveLength(2);
  });
});

describe("the recorded previews of the sandbox stack (scripts/record-previews.ts)", () => {
  const names = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.replace(/\.json$/, ""));

  it("hold no secret in plain text: secret config reads [secret], no value has a vendor secret's shape", () => {
    expect(names.sort()).toEqual([
      "destroy",
      "dns-record-value",
      "domain-replacement",
      "new-stack",
      "profile-switch",
    ]);
    for (const name of names) {
      const text = readFileSync(join(FIXTURES, `${name}.json`), "utf8");
      expect(text.match(SECRET_SHAPES), name).toBeNull();
      const { config } = fixture(name).preview;
      expect(config["auth-email-pipeline:resendApiKey"], name).toBe("[secret]");
      expect(config["auth-email-pipeline:clerkSecretKey"], name).toBe("[secret]");
    }
  });

  it("plan what each change should: create all, update one record, replace the domain and move records, delete all", () => {
    expect(fixture("new-stack").preview.changeSummary).toEqual({ create: 42 });
    expect(plan("dns-record-value")).toEqual(["update sending-domain-dmarc"]);
    const domainReplacement = plan("domain-replacement");
    expect(domainReplacement).toEqual(
      expect.arrayContaining([
        "replace sending-domain-resend (customReturnPath)",
        "replace sending-domain-spf-mx (name)",
        "replace sending-domain-spf-txt (name)",
        // The bridge's sending key is restricted to the domain: a new domain, a new key.
        "replace bounce-bridge-sending-key",
      ]),
    );
    expect(plan("profile-switch")).toEqual(
      domainReplacement.map((line) => line.replace(/(spf-(mx|txt)) \(name\)/, "$1 (name, type)")),
    );
    const spf = fixture("profile-switch").preview.steps.filter((s) => /::sending-domain-spf-/.test(s.urn));
    expect(spf.map((s) => s.newState?.inputs?.type)).toEqual(["CNAME", "CNAME"]);
    expect(fixture("destroy").preview.changeSummary).toEqual({ delete: 42 });
  });
});
