import { describe, expect, it } from "vitest";
import { parseUrn } from "../../src/sandbox/engine/local-provider";
import { plainValue, planChange, RESOURCE_SCHEMAS, UNKNOWN } from "../../src/sandbox/engine/resource-schemas";

const SIG = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });
const archive = (path: string, hash: string) => ({
  [SIG]: "0def7320c3a5731c473e5ecbe6d01bc7",
  assets: { "ingest.mjs": { [SIG]: "c44067f5952c0a294b673a41bacd8c17", path, hash: `${hash}-file` } },
  hash,
});
const schema = (type: string) => RESOURCE_SCHEMAS[type]!;

describe("the local providers plan like the real aws and cloudflare providers", () => {
  const queue = schema("aws:sqs/queue:Queue");
  const queueInputs = { name: "jobs-1a2b3c4", visibilityTimeoutSeconds: 360, sqsManagedSseEnabled: true };
  const queueState = { ...queueInputs, url: "http://127.0.0.1:1/000000000000/jobs-1a2b3c4", arn: "arn:q" };

  it("sees no change when the inputs are the state's, computed outputs aside", () => {
    expect(planChange(queue, queueState, queueInputs)).toEqual({ changed: [], replaces: [] });
  });

  it("updates a queue's attributes in place and replaces it for another name", () => {
    expect(planChange(queue, queueState, { ...queueInputs, visibilityTimeoutSeconds: 60 })).toEqual({
      changed: ["visibilityTimeoutSeconds"],
      replaces: [],
    });
    expect(planChange(queue, queueState, { ...queueInputs, name: "jobs-other" })).toEqual({
      changed: ["name"],
      replaces: ["name"],
    });
  });

  it("counts an input the program stopped setting as a change", () => {
    const record = schema("cloudflare:index/dnsRecord:DnsRecord");
    const state = {
      zoneId: "z",
      name: "send.example.com",
      type: "MX",
      content: "mx",
      priority: 10,
      fqdn: "x",
    };
    const { priority: _dropped, fqdn: _computed, ...news } = state;
    expect(planChange(record, state, news)).toEqual({ changed: ["priority"], replaces: [] });
  });

  it("replaces a Cloudflare record only for another zone, a Route53 record for another name", () => {
    const cloudflare = schema("cloudflare:index/dnsRecord:DnsRecord");
    const cf = { zoneId: "z1", name: "a.example.com", type: "TXT", content: '"v"', ttl: 300 };
    expect(planChange(cloudflare, cf, { ...cf, name: "b.example.com", type: "CNAME" }).replaces).toEqual([]);
    expect(planChange(cloudflare, cf, { ...cf, zoneId: "z2" }).replaces).toEqual(["zoneId"]);
    const route53 = schema("aws:route53/record:Record");
    const r53 = { zoneId: "Z1", name: "a.example.com", type: "TXT", ttl: 300, records: ["v"] };
    expect(planChange(route53, r53, { ...r53, records: ["w"], type: "SPF" }).replaces).toEqual([]);
    expect(planChange(route53, r53, { ...r53, name: "b.example.com" }).replaces).toEqual(["name"]);
  });

  it("replaces a Lambda permission for any change: AWS cannot edit a policy statement", () => {
    const permission = schema("aws:lambda/permission:Permission");
    const state = { function: "f", action: "lambda:InvokeFunctionUrl", principal: "*", statementId: "s" };
    expect(planChange(permission, state, { ...state, principal: "123" })).toEqual({
      changed: ["principal"],
      replaces: ["principal"],
    });
  });

  it("updates a queue policy's document in place and replaces it for another queue", () => {
    const policy = schema("aws:sqs/queuePolicy:QueuePolicy");
    const state = { queueUrl: "http://127.0.0.1:1/000000000000/jobs", policy: '{"Statement":[]}' };
    expect(planChange(policy, state, { ...state, policy: '{"Statement":[{"Effect":"Deny"}]}' })).toEqual({
      changed: ["policy"],
      replaces: [],
    });
    expect(
      planChange(policy, state, { ...state, queueUrl: "http://127.0.0.1:1/000000000000/other" }),
    ).toEqual({
      changed: ["queueUrl"],
      replaces: ["queueUrl"],
    });
  });

  it("compares secrets by value and code archives by content hash", () => {
    const parameter = schema("aws:ssm/parameter:Parameter");
    const state = { name: "/p", type: "SecureString", value: secret("re_1"), arn: "a", version: 1 };
    expect(
      planChange(parameter, state, { name: "/p", type: "SecureString", value: secret("re_1") }).changed,
    ).toEqual([]);
    expect(
      planChange(parameter, state, { name: "/p", type: "SecureString", value: secret("re_2") }).changed,
    ).toEqual(["value"]);
    const fn = schema("aws:lambda/function:Function");
    const fnState = {
      name: "f",
      code: archive("/a/ingest.mjs", "h1"),
      arn: "a",
      invokeArn: "i",
      version: "$LATEST",
    };
    expect(planChange(fn, fnState, { name: "f", code: archive("/b/ingest.mjs", "h1") }).changed).toEqual([]);
    expect(planChange(fn, fnState, { name: "f", code: archive("/a/ingest.mjs", "h2") })).toEqual({
      changed: ["code"],
      replaces: [],
    });
  });

  it("treats a value not known yet (preview) as a change", () => {
    expect(planChange(queue, queueState, { ...queueInputs, redrivePolicy: UNKNOWN }).changed).toEqual([
      "redrivePolicy",
    ]);
  });

  it("hands the cloud plain values and reads type and name from a URN with parents", () => {
    expect(plainValue({ value: secret({ nested: secret("x") }), list: [secret(1)] })).toEqual({
      value: { nested: "x" },
      list: [1],
    });
    expect(
      parseUrn(
        "urn:pulumi:sandbox::auth-email-pipeline::auth-email-pipeline:bridge:BounceBridge$aws:sqs/queue:Queue::bounce-bridge-queue",
      ),
    ).toEqual({ type: "aws:sqs/queue:Queue", name: "bounce-bridge-queue" });
  });
});
