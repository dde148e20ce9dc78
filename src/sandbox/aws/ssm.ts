import { randomBytes } from "node:crypto";
import type { StandInRequest, StandInServer } from "../core/server";
import { SANDBOX_ACCOUNT_ID, SANDBOX_REGION } from "./env";
import { AwsServiceError, createAwsJsonServer, requiredString } from "./json-protocol";

export type ParameterType = "String" | "StringList" | "SecureString";

interface ParameterVersion {
  version: number;
  type: ParameterType;
  value: string;
  /** What a read without WithDecryption sees instead of a SecureString value: a stand-in ciphertext. */
  ciphertext?: string;
  modifiedAt: number;
  description?: string;
}

/** What inspection reveals about a parameter: never its value. */
export interface ParameterSummary {
  name: string;
  type: ParameterType;
  version: number;
  lastModified: string;
}

export interface SsmStandIn {
  /** Base URL for `AWS_ENDPOINT_URL_SSM` or a client's `endpoint`. */
  endpoint: string;
  server: StandInServer;
  /** Stores a parameter directly (as a deployed `aws.ssm.Parameter` would exist); returns its version. */
  putParameter(name: string, value: string, type?: ParameterType): number;
  parameters(): ParameterSummary[];
  close(): Promise<void>;
}

const PARAMETER_TYPES: readonly string[] = ["String", "StringList", "SecureString"];
const NAME_PATTERN = /^[a-zA-Z0-9_.\-/]+$/;
const MAX_VALUE_BYTES = 4096; // Standard tier
const MAX_HIERARCHY_DEPTH = 15;
const REDACTED = "<redacted>";

/**
 * A local Parameter Store (AWS JSON 1.1, `X-Amz-Target: AmazonSSM.<Op>`). SecureString values come
 * back in plain text only with `WithDecryption: true`, as with the AWS-managed KMS key. Values are
 * never logged and are redacted from the request log.
 */
export async function startSsmStandIn(): Promise<SsmStandIn> {
  const store = new Map<string, ParameterVersion[]>();

  const put = (input: {
    name: string;
    value: unknown;
    type?: unknown;
    overwrite?: boolean;
    description?: unknown;
    hasTags?: boolean;
  }) => {
    const name = normalizeName(input.name);
    validateName(name);
    const history = store.get(name);
    if (history && !input.overwrite) {
      throw new AwsServiceError(
        "ParameterAlreadyExists",
        `The parameter ${name} already exists. To overwrite it, set Overwrite to true.`,
      );
    }
    if (history && input.hasTags) {
      throw new AwsServiceError(
        "ValidationException",
        "Tags and Overwrite can't be used together. To change tags on an existing parameter, use AddTagsToResource.",
      );
    }
    const type = (input.type ?? history?.at(-1)?.type) as ParameterType | undefined;
    if (!type || !PARAMETER_TYPES.includes(type)) {
      throw new AwsServiceError(
        history ? "UnsupportedParameterType" : "ValidationException",
        `Type must be one of String, StringList, SecureString (got ${String(input.type)}) for parameter ${name}`,
      );
    }
    if (typeof input.value !== "string" || input.value.length === 0) {
      throw new AwsServiceError(
        "ValidationException",
        `Value of parameter ${name} must be a non-empty string`,
      );
    }
    if (Buffer.byteLength(input.value, "utf8") > MAX_VALUE_BYTES) {
      throw new AwsServiceError(
        "ValidationException",
        `Value of parameter ${name} exceeds ${MAX_VALUE_BYTES} bytes (Standard tier); keep secrets short or use Advanced tier in AWS`,
      );
    }
    const entry: ParameterVersion = {
      version: (history?.at(-1)?.version ?? 0) + 1,
      type,
      value: input.value,
      modifiedAt: Date.now(),
      ...(type === "SecureString" ? { ciphertext: standInCiphertext() } : {}),
      ...(typeof input.description === "string" ? { description: input.description } : {}),
    };
    store.set(name, [...(history ?? []), entry]);
    return entry.version;
  };

  /** Resolves `name` or `name:version` to one stored version, or undefined when absent. */
  const resolve = (
    selector: string,
  ): { name: string; entry: ParameterVersion; selector?: string } | undefined => {
    const match = /^(.*?)(?::(\d+))?$/.exec(selector)!;
    const name = normalizeName(match[1]!);
    const history = store.get(name);
    if (!history) return undefined;
    if (!match[2]) return { name, entry: history.at(-1)! };
    const entry = history.find((v) => v.version === Number(match[2]));
    if (!entry) {
      throw new AwsServiceError(
        "ParameterVersionNotFound",
        `Systems Manager could not find version ${match[2]} of ${name}. Verify the version and try again.`,
      );
    }
    return { name, entry, selector: `:${match[2]}` };
  };

  const wire = (resolved: NonNullable<ReturnType<typeof resolve>>, withDecryption: boolean) => {
    const { name, entry } = resolved;
    const reveal = entry.type !== "SecureString" || withDecryption;
    return {
      Name: name,
      Type: entry.type,
      Value: reveal ? entry.value : entry.ciphertext,
      Version: entry.version,
      ...(resolved.selector ? { Selector: resolved.selector } : {}),
      LastModifiedDate: entry.modifiedAt / 1000,
      ARN: parameterArn(name),
      DataType: "text",
    };
  };

  const notFound = (name: string) =>
    new AwsServiceError(
      "ParameterNotFound",
      `Parameter ${name} not found; create it with PutParameter first.`,
    );

  const server = createAwsJsonServer({
    name: "SSM",
    namespace: "com.amazonaws.ssm",
    targetPrefix: "AmazonSSM",
    jsonVersion: "1.1",
    options: { recordBody: redactValues },
    operations: {
      PutParameter: (input) => ({
        Version: put({
          name: requiredString(input, "Name"),
          value: input["Value"],
          type: input["Type"],
          overwrite: input["Overwrite"] === true,
          description: input["Description"],
          hasTags: Array.isArray(input["Tags"]) && input["Tags"].length > 0,
        }),
        Tier: "Standard",
      }),
      GetParameter: (input) => {
        const selector = requiredString(input, "Name");
        const resolved = resolve(selector);
        if (!resolved) throw notFound(selector);
        return { Parameter: wire(resolved, input["WithDecryption"] === true) };
      },
      GetParameters: (input) => {
        const names = input["Names"];
        if (!Array.isArray(names) || names.length === 0 || names.length > 10) {
          throw new AwsServiceError("ValidationException", "Names must list 1 to 10 parameter names");
        }
        const Parameters: object[] = [];
        const InvalidParameters: string[] = [];
        for (const selector of names as string[]) {
          const resolved = resolve(selector);
          if (resolved) Parameters.push(wire(resolved, input["WithDecryption"] === true));
          else InvalidParameters.push(selector);
        }
        return { Parameters, InvalidParameters };
      },
      GetParametersByPath: (input) => {
        const path = requiredString(input, "Path");
        const prefix = path.endsWith("/") ? path : `${path}/`;
        const recursive = input["Recursive"] === true;
        const Parameters = [...store.keys()]
          .filter(
            (name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes("/")),
          )
          .sort()
          .map((name) => wire(resolve(name)!, input["WithDecryption"] === true));
        return { Parameters };
      },
      DeleteParameter: (input) => {
        const name = normalizeName(requiredString(input, "Name"));
        if (!store.delete(name)) throw notFound(name);
        return {};
      },
      DeleteParameters: (input) => {
        const names = (input["Names"] as string[] | undefined) ?? [];
        const DeletedParameters = names.filter((n) => store.delete(normalizeName(n)));
        return { DeletedParameters, InvalidParameters: names.filter((n) => !DeletedParameters.includes(n)) };
      },
    },
  });

  const endpoint = await server.listen();
  return {
    endpoint,
    server,
    putParameter: (name, value, type = "SecureString") => put({ name, value, type, overwrite: true }),
    parameters: () =>
      [...store.entries()].map(([name, history]) => {
        const latest = history.at(-1)!;
        return {
          name,
          type: latest.type,
          version: latest.version,
          lastModified: new Date(latest.modifiedAt).toISOString(),
        };
      }),
    close: () => server.close(),
  };
}

/** Parameter Store accepts a parameter's ARN wherever it accepts its name. */
function normalizeName(nameOrArn: string): string {
  const arnPrefix = /^arn:aws:ssm:[^:]*:\d{12}:parameter/;
  if (!arnPrefix.test(nameOrArn)) return nameOrArn;
  const rest = nameOrArn.replace(arnPrefix, "");
  // A hierarchical name's ARN reads `parameter/a/b`; a flat name's reads `parameter/name`.
  return rest.split("/").length > 2 ? rest : rest.slice(1);
}

function parameterArn(name: string): string {
  return `arn:aws:ssm:${SANDBOX_REGION}:${SANDBOX_ACCOUNT_ID}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
}

function validateName(name: string): void {
  const problem = !NAME_PATTERN.test(name)
    ? "may only contain letters, digits and _ . - /"
    : name.includes("/") && !name.startsWith("/")
      ? "is hierarchical, so it must start with /"
      : /^\/?(aws|ssm)/i.test(name)
        ? "must not start with aws or ssm (reserved)"
        : name.split("/").length - 1 > MAX_HIERARCHY_DEPTH
          ? `has more than ${MAX_HIERARCHY_DEPTH} levels`
          : name.length > 1011
            ? "is longer than 1011 characters"
            : undefined;
  if (problem) throw new AwsServiceError("ValidationException", `Parameter name "${name}" ${problem}`);
}

/** Looks like a KMS ciphertext blob (they start with AQICAH) so no reader mistakes it for the secret. */
function standInCiphertext(): string {
  return `AQICAH${randomBytes(96).toString("base64")}`;
}

function redactValues(req: StandInRequest): string {
  const text = req.rawBody.toString("utf8");
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if ("Value" in body) body["Value"] = REDACTED;
    return JSON.stringify(body);
  } catch {
    return REDACTED;
  }
}
