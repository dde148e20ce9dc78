/**
 * What the real `aws` (7.x, Terraform AWS provider underneath) and `cloudflare` (6.x, Terraform Cloudflare
 * provider v5 underneath) providers decide for the resources this program declares: which input holds the
 * physical name Pulumi auto-names, which input changes force a replacement (Terraform's ForceNew /
 * RequiresReplace; every other input of these types is updated in place), and which outputs the provider
 * computes. The local providers (`./local-provider.ts`) diff with it, so `pulumi preview` plans the same
 * update-or-replace the real providers would.
 */
export interface ResourceSchema {
  /** The input Pulumi fills with `<logical name>-<7 hex>` when the program sets none. */
  autoName?: string;
  /** Inputs whose change replaces the resource; `"*"` when the provider cannot update it at all. */
  replaceOn: readonly string[] | "*";
  /** Outputs the provider computes (not inputs), so their absence from new inputs is no change. */
  computed: readonly string[];
}

export const RESOURCE_SCHEMAS: Record<string, ResourceSchema> = {
  "aws:dynamodb/table:Table": {
    autoName: "name",
    replaceOn: ["name", "hashKey", "rangeKey"],
    computed: ["arn"],
  },
  "aws:sqs/queue:Queue": {
    autoName: "name",
    replaceOn: ["name", "namePrefix", "fifoQueue"],
    computed: ["arn", "url"],
  },
  // The policy document is set on the queue (SetQueueAttributes Policy); another queue is another policy.
  "aws:sqs/queuePolicy:QueuePolicy": { replaceOn: ["queueUrl"], computed: [] },
  "aws:ssm/parameter:Parameter": {
    autoName: "name",
    replaceOn: ["name", "dataType"],
    computed: ["arn", "version"],
  },
  "aws:lambda/function:Function": {
    autoName: "name",
    replaceOn: ["name", "packageType"],
    computed: ["arn", "invokeArn", "version"],
  },
  "aws:lambda/functionUrl:FunctionUrl": {
    replaceOn: ["functionName", "qualifier"],
    computed: ["functionUrl", "urlId", "functionArn"],
  },
  "aws:lambda/eventSourceMapping:EventSourceMapping": {
    replaceOn: ["eventSourceArn", "startingPosition", "startingPositionTimestamp"],
    computed: ["uuid", "functionArn", "state"],
  },
  // A permission is a statement in the function's policy: AWS has no call to change one.
  "aws:lambda/permission:Permission": { replaceOn: "*", computed: [] },
  "aws:iam/role:Role": {
    autoName: "name",
    replaceOn: ["name", "namePrefix", "path"],
    computed: ["arn", "uniqueId"],
  },
  "aws:iam/rolePolicy:RolePolicy": {
    autoName: "name",
    replaceOn: ["name", "namePrefix", "role"],
    computed: [],
  },
  "aws:cloudwatch/logGroup:LogGroup": {
    autoName: "name",
    replaceOn: ["name", "namePrefix"],
    computed: ["arn"],
  },
  "aws:cloudwatch/metricAlarm:MetricAlarm": { autoName: "name", replaceOn: ["name"], computed: ["arn"] },
  "aws:sns/topic:Topic": {
    autoName: "name",
    replaceOn: ["name", "namePrefix", "fifoTopic"],
    computed: ["arn"],
  },
  "aws:sns/topicSubscription:TopicSubscription": {
    replaceOn: ["topic", "protocol", "endpoint"],
    computed: ["arn", "pendingConfirmation"],
  },
  // Route53 changes a record set's type or values in one change batch; another name or zone is another set.
  "aws:route53/record:Record": { replaceOn: ["zoneId", "name", "setIdentifier"], computed: ["fqdn"] },
  // Cloudflare (v5) updates a record's name, type, content, ttl and proxying in place; only the zone is fixed.
  "cloudflare:index/dnsRecord:DnsRecord": { replaceOn: ["zoneId"], computed: ["fqdn"] },
};

/** The schema of a type the local providers serve; a type without one is refused at check. */
export function schemaOf(type: string): ResourceSchema | undefined {
  return RESOURCE_SCHEMAS[type];
}

// Pulumi's wire envelopes (sdk/nodejs/runtime/rpc.ts): secrets, output values, unknowns and assets.
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const ASSET_SIGS = ["c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"];
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * A value as the cloud sees it: secrets and output values unwrapped. Assets and archives keep their
 * fields (`path`, `text`, `assets`, `hash`), which is what the local cloud unpacks.
 */
export function plainValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainValue);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG] === SECRET_SIG || obj[SIG] === OUTPUT_SIG) return plainValue(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}

/** Whether a value is or holds an unknown (a preview of a value another resource has not produced yet). */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Two input values equal as the provider compares them: assets and archives by content hash when both have one. */
function sameValue(a: unknown, b: unknown): boolean {
  const left = plainValue(a);
  const right = plainValue(b);
  if (isAsset(left) && isAsset(right) && left.hash && right.hash) return left.hash === right.hash;
  if (left && right && typeof left === "object" && typeof right === "object") {
    if (Array.isArray(left) !== Array.isArray(right)) return false;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...keys].every((k) =>
      sameValue((left as Record<string, unknown>)[k], (right as Record<string, unknown>)[k]),
    );
  }
  return left === right;
}

function isAsset(value: unknown): value is { hash?: string } {
  return (
    !!value &&
    typeof value === "object" &&
    ASSET_SIGS.includes(String((value as Record<string, unknown>)[SIG]))
  );
}

export interface PlannedChange {
  changed: string[];
  replaces: string[];
}

/**
 * The inputs that changed between the state (`olds`: last inputs plus computed outputs) and the new inputs,
 * and which of them force a replacement. An unknown new value counts as changed.
 */
export function planChange(
  schema: ResourceSchema,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): PlannedChange {
  const keys = new Set([
    ...Object.keys(news),
    ...Object.keys(olds).filter((k) => !schema.computed.includes(k)),
  ]);
  const changed = [...keys].filter((k) => containsUnknown(news[k]) || !sameValue(olds[k], news[k])).sort();
  const replaces = schema.replaceOn === "*" ? changed : changed.filter((k) => schema.replaceOn.includes(k));
  return { changed, replaces };
}
