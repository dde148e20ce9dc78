// The `aws` and `cloudflare` resource providers for the real engine: served by @pulumi/pulumi's provider
// server (`main(provider, args)`, which implements the Attach call), one process per package, attached with
// PULUMI_DEBUG_PROVIDERS. They plan like the real providers (./resource-schemas.ts) and do the work on the
// sandbox's stand-ins through the local cloud's control plane (../local-cloud/control.ts).
//
//   node --import tsx src/sandbox/engine/local-provider.ts <aws|cloudflare> <control-url>
// prints the port it serves on, as a provider plugin does.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as provider from "@pulumi/pulumi/provider";
import { type ControlRequest, callControl } from "./control-server";
import { plainValue, planChange, schemaOf } from "./resource-schemas";

export type LocalPackage = "aws" | "cloudflare";
export const LOCAL_PACKAGES: readonly LocalPackage[] = ["aws", "cloudflare"];

type Inputs = Record<string, unknown>;

/** `urn:pulumi:<stack>::<project>::<parent types$>type::<name>` → the resource's type and logical name. */
export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::");
  const type = (parts[2] ?? "").split("$").at(-1) ?? "";
  return { type, name };
}

function packageVersion(pkg: LocalPackage): string {
  const file = join(require.resolve(`@pulumi/${pkg}/package.json`));
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** A resource's type, logical name and schema, for a type the package's local provider serves. */
function servedResource(pkg: LocalPackage, urn: string) {
  const { type, name } = parseUrn(urn);
  const schema = schemaOf(type);
  if (!schema || !type.startsWith(`${pkg}:`)) {
    throw new Error(
      `the local ${pkg} provider does not serve ${type} (${name}); add it to src/sandbox/engine`,
    );
  }
  return { type, name, schema };
}

/** What the provider plans for a resource: the inputs that changed and those that force a replacement. */
export function planFor(pkg: LocalPackage, urn: string, olds: Inputs, news: Inputs) {
  return planChange(servedResource(pkg, urn).schema, olds, news);
}

/** The provider for one package; `controlUrl` is the local cloud's control plane. */
export function localProvider(pkg: LocalPackage, controlUrl: string): provider.Provider {
  const control = <T>(request: ControlRequest) => callControl<T>(controlUrl, request);
  const schemaFor = (urn: string) => servedResource(pkg, urn);
  return {
    version: packageVersion(pkg),

    async check(urn, olds: Inputs, news: Inputs) {
      const { name, schema } = schemaFor(urn);
      const inputs = { ...news };
      // Auto-naming as Pulumi does: a new random suffix on create (and on a replacement, which the engine
      // checks again without the old state), the name already in state otherwise.
      if (schema.autoName && (inputs[schema.autoName] === undefined || inputs[schema.autoName] === "")) {
        inputs[schema.autoName] =
          olds[schema.autoName] ?? `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
      }
      return { inputs };
    },

    async diff(_id, urn, olds: Inputs, news: Inputs) {
      const { changed, replaces } = planFor(pkg, urn, olds, news);
      return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
    },

    async create(urn, inputs: Inputs) {
      const { type, name } = schemaFor(urn);
      const realized = await control<{ id: string; state: Inputs }>({
        op: "create",
        type,
        name,
        inputs: plainValue(inputs) as Inputs,
      });
      // The inputs keep their secret envelopes, so the engine stores secret inputs as secret outputs.
      return { id: realized.id, outs: { ...inputs, ...realized.state } };
    },

    async update(id, urn, _olds: Inputs, news: Inputs) {
      const { type, name } = schemaFor(urn);
      const realized = await control<{ id: string; state: Inputs }>({
        op: "update",
        type,
        name,
        id,
        inputs: plainValue(news) as Inputs,
      });
      return { outs: { ...news, ...realized.state } };
    },

    async delete(id, urn) {
      const { type, name } = schemaFor(urn);
      await control({ op: "delete", type, name, id });
    },

    async read(id, urn, props: Inputs) {
      const { type, name } = schemaFor(urn);
      const { exists } = await control<{ exists: boolean }>({ op: "exists", type, name, id });
      // An empty id tells the engine the resource is gone (a refresh then drops it from the state).
      return exists ? { id, props } : { id: "", props: {} };
    },

    async invoke(token, inputs: Inputs) {
      if (!token.startsWith(`${pkg}:`)) throw new Error(`the local ${pkg} provider has no function ${token}`);
      const outputs = await control<Inputs>({ op: "invoke", token, inputs: plainValue(inputs) as Inputs });
      return { outputs };
    },
  };
}

/**
 * The SDK's provider server answers Diff without the changed keys (its DiffResult has no field for them),
 * but the engine applies a resource's `replaceOnChanges` (the program's DNS records) to the keys the provider
 * reports changed, as the real providers report them. Wraps the server's Diff to add them.
 */
function reportChangedKeys(pkg: LocalPackage): void {
  type DiffCall = { request: { getUrn(): string; getOlds(): Struct; getNews(): Struct } };
  type Struct = { toJavaScript(): Inputs };
  type Callback = (err: unknown, resp?: { setDiffsList(keys: string[]): void }) => void;
  type Implementation = { diff(call: DiffCall, callback: Callback): Promise<void> };
  const grpc = require("@grpc/grpc-js") as {
    Server: { prototype: { addService(service: unknown, implementation: Implementation): void } };
  };
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service, implementation) {
    const wrapped: Implementation = Object.create(implementation);
    wrapped.diff = (call, callback) =>
      implementation.diff(call, (err, resp) => {
        if (resp) {
          const { request } = call;
          const olds = request.getOlds().toJavaScript();
          const news = request.getNews().toJavaScript();
          resp.setDiffsList(planFor(pkg, request.getUrn(), olds, news).changed);
        }
        callback(err, resp);
      });
    addService.call(this, service, wrapped);
  };
}

if (require.main === module) {
  const [pkg, controlUrl] = process.argv.slice(2);
  if (!LOCAL_PACKAGES.includes(pkg as LocalPackage) || !controlUrl) {
    console.error("usage: local-provider.ts <aws|cloudflare> <control-url>");
    process.exit(2);
  }
  // Loaded only here: the provider server installs process-wide handlers and prints its port.
  const { main } = require("@pulumi/pulumi/provider") as typeof provider;
  reportChangedKeys(pkg as LocalPackage);
  void main(localProvider(pkg as LocalPackage, controlUrl), []);
}
