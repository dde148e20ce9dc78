import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  cnameRecordsNotProxied,
  dmarcPresent,
  functionUrlInvokePermissions,
  policies,
  ssmParametersSecureString,
  TYPES,
  trackingOffOnAuthDomain,
} from "../../policy/policies";
import { classicResendRecords, type MockResource, runProgram } from "../support/pulumi-program";

// Policies are exercised with hand-built validation args: PolicyPack itself starts an analyzer server.
function resource(type: string, props: Record<string, unknown>, name = "r"): PolicyResource {
  return {
    type,
    props,
    name,
    urn: `urn:pulumi:test::auth-email-pipeline::${type}::${name}`,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: {} },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as unknown as PolicyResource;
}

function validateResource(policy: { validateResource?: unknown }, r: PolicyResource): string[] {
  const violations: string[] = [];
  const args = {
    ...r,
    stackTags: new Map(),
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as unknown as ResourceValidationArgs;
  (policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void)(args, (m) =>
    violations.push(m),
  );
  return violations;
}

function validateStack(policy: { validateStack?: unknown }, resources: PolicyResource[]): string[] {
  const violations: string[] = [];
  const args = { resources, getConfig: () => ({}) } as unknown as StackValidationArgs;
  (policy.validateStack as (a: StackValidationArgs, report: (m: string) => void) => void)(args, (m) =>
    violations.push(m),
  );
  return violations;
}

function allViolations(resources: PolicyResource[]): string[] {
  return policies.flatMap((policy) =>
    "validateStack" in policy
      ? validateStack(policy, resources)
      : resources.flatMap((r) => validateResource(policy, r)),
  );
}

const asPolicyResources = (resources: MockResource[]) =>
  resources.map((r) => resource(r.type, r.inputs, r.name));

const BASE = {
  sendingDomain: "auth.example.com",
  dnsZone: "example.com",
  fromName: "Example",
  fromAddress: "auth@auth.example.com",
  resendApiKey: "re_test",
  clerkSecretKey: "sk_test",
};

describe("the program passes its own policy pack", () => {
  it.each(["cloudflare", "route53"])("on %s", async (dnsProvider) => {
    const run = await runProgram({
      stack: "dev",
      config: { ...BASE, dnsProvider },
      secretKeys: ["resendApiKey", "clerkSecretKey"],
      domainRecords: classicResendRecords(),
    });
    expect(run.resources.length).toBeGreaterThan(30);
    expect(allViolations(asPolicyResources(run.resources))).toEqual([]);
  });

  it("and the pack catches the same program with tracking turned on", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { ...BASE, dnsProvider: "cloudflare", clickTracking: "true" },
      secretKeys: ["resendApiKey", "clerkSecretKey"],
      domainRecords: classicResendRecords(),
    });
    expect(allViolations(asPolicyResources(run.resources))).toEqual([
      "Resend domain auth.example.com: clickTracking must be false (pulumi config set clickTracking false).",
    ]);
  });
});

describe("policies", () => {
  const url = resource(TYPES.functionUrl, { functionName: "ingest-1", authorizationType: "NONE" }, "url");
  const invokeUrl = resource(TYPES.permission, {
    function: "ingest-1",
    action: "lambda:InvokeFunctionUrl",
    principal: "*",
    functionUrlAuthType: "NONE",
  });
  const invoke = resource(TYPES.permission, {
    function: "ingest-1",
    action: "lambda:InvokeFunction",
    principal: "*",
    invokedViaFunctionUrl: true,
  });

  it("requires both invoke permissions on a public Function URL", () => {
    expect(validateStack(functionUrlInvokePermissions, [url, invokeUrl, invoke])).toEqual([]);
    expect(validateStack(functionUrlInvokePermissions, [url, invokeUrl])).toEqual([
      "Function URL url lacks permission(s): lambda:InvokeFunction (invokedViaFunctionUrl true).",
    ]);
    const otherFunction = { ...invoke, props: { ...invoke.props, function: "worker-1" } } as PolicyResource;
    expect(validateStack(functionUrlInvokePermissions, [url, invokeUrl, otherFunction])).toHaveLength(1);
    const iamUrl = resource(TYPES.functionUrl, { functionName: "ingest-1", authorizationType: "AWS_IAM" });
    expect(validateStack(functionUrlInvokePermissions, [iamUrl])).toEqual([]);
  });

  it("matches permissions to a URL through the function resource while names are unknown (preview)", () => {
    const fn = resource("aws:lambda/function:Function", {}, "ingest");
    const pending = (r: PolicyResource, prop: string) =>
      ({
        ...r,
        props: { ...r.props, [prop]: undefined },
        propertyDependencies: { [prop]: [fn] },
      }) as PolicyResource;
    const resources = [
      pending(url, "functionName"),
      pending(invokeUrl, "function"),
      pending(invoke, "function"),
    ];
    expect(validateStack(functionUrlInvokePermissions, resources)).toEqual([]);
    expect(validateStack(functionUrlInvokePermissions, resources.slice(0, 2))).toHaveLength(1);
  });

  it("forbids proxied CNAMEs only", () => {
    const cname = (proxied: boolean | undefined) =>
      resource(TYPES.cloudflareRecord, { type: "CNAME", name: "links.auth.example.com", proxied });
    expect(validateResource(cnameRecordsNotProxied, cname(false))).toEqual([]);
    expect(validateResource(cnameRecordsNotProxied, cname(true))).toEqual([
      "CNAME links.auth.example.com must set proxied: false (DNS only).",
    ]);
    expect(validateResource(cnameRecordsNotProxied, cname(undefined))).toHaveLength(1);
    const txt = resource(TYPES.cloudflareRecord, { type: "TXT", name: "x", proxied: true });
    expect(validateResource(cnameRecordsNotProxied, txt)).toEqual([]);
  });

  it("requires SecureString SSM parameters", () => {
    const param = (type: string) => resource(TYPES.ssmParameter, { name: "/p/dev/key", type });
    expect(validateResource(ssmParametersSecureString, param("SecureString"))).toEqual([]);
    expect(validateResource(ssmParametersSecureString, param("String"))).toEqual([
      "SSM parameter /p/dev/key must be a SecureString, not String.",
    ]);
  });

  it("requires a DMARC record for every Resend domain, in either DNS provider", () => {
    const domain = resource(TYPES.resendDomain, { name: "auth.example.com" }, "domain");
    const cf = resource(TYPES.cloudflareRecord, {
      type: "TXT",
      name: "_dmarc.auth.example.com",
      content: '"v=DMARC1; p=none;"',
    });
    const r53 = resource(TYPES.route53Record, {
      type: "TXT",
      name: "_dmarc.auth.example.com",
      records: ["v=DMARC1; p=reject;"],
    });
    const spf = resource(TYPES.route53Record, {
      type: "TXT",
      name: "_dmarc.auth.example.com",
      records: ["v=spf1"],
    });
    expect(validateStack(dmarcPresent, [domain, cf])).toEqual([]);
    expect(validateStack(dmarcPresent, [domain, r53])).toEqual([]);
    expect(validateStack(dmarcPresent, [domain, spf])).toEqual([
      "Sending domain auth.example.com has no _dmarc.auth.example.com TXT record starting with v=DMARC1.",
    ]);
  });

  it("wants tracking explicitly off on the auth domain", () => {
    const domain = (props: Record<string, unknown>) =>
      resource(TYPES.resendDomain, { name: "a.example.com", ...props });
    expect(
      validateResource(trackingOffOnAuthDomain, domain({ openTracking: false, clickTracking: false })),
    ).toEqual([]);
    expect(
      validateResource(trackingOffOnAuthDomain, domain({ openTracking: true, clickTracking: false })),
    ).toEqual([
      "Resend domain a.example.com: openTracking must be false (pulumi config set openTracking false).",
    ]);
  });
});
