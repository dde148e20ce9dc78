import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";

/**
 * Guard rails for auth-email stacks. Policies match on type tokens rather than resource classes so they
 * also cover the program's dynamic resources, which have no class to match.
 */

export const TYPES = {
  cloudflareRecord: "cloudflare:index/dnsRecord:DnsRecord",
  route53Record: "aws:route53/record:Record",
  functionUrl: "aws:lambda/functionUrl:FunctionUrl",
  permission: "aws:lambda/permission:Permission",
  ssmParameter: "aws:ssm/parameter:Parameter",
  resendDomain: "pulumi-nodejs:dynamic/resend:Domain",
} as const;

type Props = Record<string, unknown>;

function ofType(args: ResourceValidationArgs, type: string): Props | undefined {
  return args.type === type ? (args.props as Props) : undefined;
}

export const cnameRecordsNotProxied: ResourceValidationPolicy = {
  name: "dns-cname-not-proxied",
  description:
    "Resend verifies CNAMEs by their DNS answer; a Cloudflare-proxied CNAME answers with Cloudflare's IPs.",
  enforcementLevel: "mandatory",
  validateResource(args, report) {
    const record = ofType(args, TYPES.cloudflareRecord);
    if (record?.type === "CNAME" && record.proxied !== false) {
      report(`CNAME ${String(record.name)} must set proxied: false (DNS only).`);
    }
  },
};

export const trackingOffOnAuthDomain: ResourceValidationPolicy = {
  name: "auth-domain-tracking-off",
  description: "Open and click tracking rewrites verification links and hurts auth mail's placement.",
  enforcementLevel: "mandatory",
  validateResource(args, report) {
    const domain = ofType(args, TYPES.resendDomain);
    if (!domain) return;
    for (const flag of ["openTracking", "clickTracking"]) {
      if (domain[flag] !== false) {
        report(
          `Resend domain ${String(domain.name)}: ${flag} must be false (pulumi config set ${flag} false).`,
        );
      }
    }
  },
};

export const ssmParametersSecureString: ResourceValidationPolicy = {
  name: "ssm-parameters-securestring",
  description: "The stack's SSM parameters hold API keys and signing secrets; they must be encrypted.",
  enforcementLevel: "mandatory",
  validateResource(args, report) {
    const parameter = ofType(args, TYPES.ssmParameter);
    if (parameter && parameter.type !== "SecureString") {
      report(
        `SSM parameter ${String(parameter.name ?? args.name)} must be a SecureString, not ${String(parameter.type)}.`,
      );
    }
    if (parameter && parameter.insecureValue !== undefined) {
      report(`SSM parameter ${String(parameter.name ?? args.name)} must not use insecureValue.`);
    }
  },
};

/** The function a resource targets: the name when known, else the resource the name comes from (preview). */
function target(resource: PolicyResource, prop: string): string | undefined {
  const value = resource.props[prop];
  if (typeof value === "string") return value;
  return resource.propertyDependencies?.[prop]?.[0]?.urn;
}

export const functionUrlInvokePermissions: StackValidationPolicy = {
  name: "function-url-invoke-permissions",
  description:
    "A public (NONE) Function URL needs lambda:InvokeFunctionUrl AND lambda:InvokeFunction with " +
    "invokedViaFunctionUrl; with only the first, AWS answers 403 since October 2025.",
  enforcementLevel: "mandatory",
  validateStack(args: StackValidationArgs, report: ReportViolation) {
    const permissions = args.resources.filter((r) => r.type === TYPES.permission);
    for (const url of args.resources.filter((r) => r.type === TYPES.functionUrl)) {
      if (url.props.authorizationType !== "NONE") continue;
      const fn = target(url, "functionName");
      const forFunction = permissions.filter((p) => target(p, "function") === fn);
      const hasUrlInvoke = forFunction.some(
        (p) => p.props.action === "lambda:InvokeFunctionUrl" && p.props.functionUrlAuthType === "NONE",
      );
      const hasInvoke = forFunction.some(
        (p) => p.props.action === "lambda:InvokeFunction" && p.props.invokedViaFunctionUrl === true,
      );
      const missing = [
        ...(hasUrlInvoke ? [] : ["lambda:InvokeFunctionUrl (functionUrlAuthType NONE)"]),
        ...(hasInvoke ? [] : ["lambda:InvokeFunction (invokedViaFunctionUrl true)"]),
      ];
      if (missing.length > 0)
        report(`Function URL ${url.name} lacks permission(s): ${missing.join(", ")}.`, url.urn);
    }
  },
};

function txtValues(record: PolicyResource): string[] {
  if (record.type === TYPES.cloudflareRecord) return [String(record.props.content ?? "")];
  return ((record.props.records as string[] | undefined) ?? []).map(String);
}

export const dmarcPresent: StackValidationPolicy = {
  name: "dmarc-present",
  description: "Every Resend sending domain needs a _dmarc TXT record; Resend does not create one.",
  enforcementLevel: "mandatory",
  validateStack(args: StackValidationArgs, report: ReportViolation) {
    const txt = args.resources.filter(
      (r) => (r.type === TYPES.cloudflareRecord || r.type === TYPES.route53Record) && r.props.type === "TXT",
    );
    for (const domain of args.resources.filter((r) => r.type === TYPES.resendDomain)) {
      const name = String(domain.props.name);
      const dmarc = txt.find(
        (r) =>
          String(r.props.name).replace(/\.$/, "") === `_dmarc.${name}` &&
          txtValues(r).some((value) => value.replace(/^"/, "").startsWith("v=DMARC1")),
      );
      if (!dmarc)
        report(`Sending domain ${name} has no _dmarc.${name} TXT record starting with v=DMARC1.`, domain.urn);
    }
  },
};

export const policies = [
  cnameRecordsNotProxied,
  trackingOffOnAuthDomain,
  ssmParametersSecureString,
  functionUrlInvokePermissions,
  dmarcPresent,
];
