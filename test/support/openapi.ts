import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse } from "yaml";

type Json = Record<string, unknown>;

const SPEC_DIR = join(__dirname, "..", "..", "specs");

export const SPECS = {
  resend: "resend/resend-openapi.yaml",
  clerkBapi: "clerk/bapi-2026-05-12.yml",
  clerkWebhooks: "clerk/webhooks-2025-04-15.yml",
} as const;

/**
 * Validates values against a vendor OpenAPI document. OpenAPI 3.0's `nullable` is rewritten to JSON
 * Schema's `type: [..., "null"]` so one 2020-12 validator serves both the 3.0 (Clerk) and 3.1 (Resend)
 * documents. Unknown keywords (`example`, `x-*`, `discriminator`) are ignored, not rejected.
 */
export class OpenApiContract {
  readonly spec: Json;
  private readonly ajv: Ajv2020;
  private readonly id: string;

  constructor(file: string) {
    const spec = parse(readFileSync(join(SPEC_DIR, file), "utf8")) as Json;
    this.spec = String(spec.openapi).startsWith("3.0") ? (rewriteNullable(spec) as Json) : spec;
    this.id = `spec:${file}`;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: this.id, components: this.spec.components ?? {} });
  }

  /** Whether the operation lists `status` (exactly or as `4XX`-style range); false for an unknown operation. */
  declaresResponse(method: string, path: string, status: number): boolean {
    return this.declaredResponse(method, path, status) !== undefined;
  }

  /** The response schema for `METHOD /path/{param}` and `status`, as declared in the spec. */
  responseSchema(method: string, path: string, status: number): Json {
    const op = this.operation(method, path);
    if (!op) throw new Error(`spec has no operation ${method} ${path}`);
    const response = this.declaredResponse(method, path, status);
    if (!response) throw new Error(`spec declares no ${status} response for ${method} ${path}`);
    const resolved = this.deref(response);
    const content = (resolved.content as Json | undefined)?.["application/json"] as Json | undefined;
    if (!content?.schema) throw new Error(`spec declares no JSON body for ${status} ${method} ${path}`);
    return content.schema as Json;
  }

  /** Throws with every schema error when `body` does not match the declared response. */
  assertResponse(method: string, path: string, status: number, body: unknown): void {
    this.assertSchema(this.responseSchema(method, path, status), body, `${method} ${path} → ${status}`);
  }

  /** Throws when `value` does not match `#/components/schemas/<name>`. */
  assertComponent(name: string, value: unknown): void {
    this.assertSchema({ $ref: `${this.id}#/components/schemas/${name}` }, value, name);
  }

  /** The request-body schema of an operation, for checking that what a client sends is acceptable. */
  requestSchema(method: string, path: string): Json {
    const op = ((this.spec.paths as Json)[path] as Json)[method.toLowerCase()] as Json;
    const body = this.deref(op.requestBody as Json);
    return ((body.content as Json)["application/json"] as Json).schema as Json;
  }

  assertSchema(schema: Json, value: unknown, label: string): void {
    const validate = this.ajv.compile(this.rebase(schema));
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
      throw new Error(
        `${label} does not match the vendor spec: ${errors}\n${JSON.stringify(value, null, 2)}`,
      );
    }
  }

  /** Webhook payload schema by event name, from `webhooks:` (3.1) or `x-webhooks:` (Clerk). */
  webhookSchema(event: string): Json {
    const hooks = (this.spec.webhooks ?? this.spec["x-webhooks"]) as Json | undefined;
    const hook = hooks?.[event] as Json | undefined;
    if (!hook) throw new Error(`spec has no webhook ${event}`);
    const post = (hook.post ?? hook) as Json;
    const body = this.deref(post.requestBody as Json);
    return ((body.content as Json)["application/json"] as Json).schema as Json;
  }

  /** The spec's own example payload for a webhook, used as a fixture source. */
  webhookExample(event: string): unknown {
    const hooks = (this.spec.webhooks ?? this.spec["x-webhooks"]) as Json;
    const post = ((hooks[event] as Json).post ?? hooks[event]) as Json;
    const media = ((this.deref(post.requestBody as Json).content as Json)["application/json"] as Json) ?? {};
    if (media.example !== undefined) return media.example;
    const examples = media.examples as Json | undefined;
    if (examples) return (Object.values(examples)[0] as Json).value;
    const schema = this.deref(media.schema as Json);
    return schema.example;
  }

  private operation(method: string, path: string): Json | undefined {
    return ((this.spec.paths as Json)[path] as Json | undefined)?.[method.toLowerCase()] as Json | undefined;
  }

  private declaredResponse(method: string, path: string, status: number): Json | undefined {
    const responses = (this.operation(method, path)?.responses ?? {}) as Json;
    return (responses[String(status)] ?? responses[`${String(status)[0]}XX`]) as Json | undefined;
  }

  deref(node: Json): Json {
    let current = node;
    while (typeof current.$ref === "string") {
      const parts = (current.$ref as string).replace(/^#\//, "").split("/");
      current = parts.reduce<Json>((acc, key) => acc[key] as Json, this.spec);
    }
    return current;
  }

  private rebase(schema: Json): Json {
    return JSON.parse(
      JSON.stringify(schema).replace(/"\$ref":"#\/components\//g, `"$ref":"${this.id}#/components/`),
    ) as Json;
  }
}

function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) out[key] = rewriteNullable(value);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === "string") out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (!out.type && (out.allOf || out.oneOf || out.anyOf || out.$ref)) {
      const { nullable: _drop, ...rest } = out;
      return { anyOf: [rest, { type: "null" }] };
    }
  }
  return out;
}

const cache = new Map<string, OpenApiContract>();
/** Parsing the 700 KB Clerk spec takes a moment; share one instance per file in a test process. */
export function contract(file: (typeof SPECS)[keyof typeof SPECS]): OpenApiContract {
  let c = cache.get(file);
  if (!c) {
    c = new OpenApiContract(file);
    cache.set(file, c);
  }
  return c;
}
