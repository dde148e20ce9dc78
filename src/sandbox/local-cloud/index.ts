import type * as pulumi from "@pulumi/pulumi";
import type { Sandbox } from "../index";
import type { LocalAwsResources } from "./aws-resources";
import { type Realized, settleAssets } from "./aws-resources";
import { LocalCloudControl, type RealizationKind } from "./control";
import type { DnsPublisher } from "./dns-publisher";
import { createDynamicResource, type StackConfig } from "./dynamic";
import { unwrapSecrets } from "./serialized-provider";

export type { RealizationKind } from "./control";

/** One resource the local cloud created, in the order creations finished. */
export interface RealizedResource {
  type: string;
  name: string;
  id: string;
  kind: RealizationKind;
  /** Milliseconds since the local cloud started, when the engine handed the resource over and when it was done. */
  startedMs: number;
  finishedMs: number;
  /** Output state as the engine received it (secret values still wrapped). */
  state: Record<string, unknown>;
  /** `update` when a later deployment into the same cloud changed the resource in place. */
  operation?: "create" | "update";
}

export interface RealizationFailure {
  type: string;
  name: string;
  error: Error;
}

export interface LocalCloudOptions {
  sandbox: Sandbox;
  project: string;
  /** The full stack config (`project:key` → value), handed to dynamic providers' `configure()`. */
  config: StackConfig;
  /**
   * Rewrites a resource's inputs before it is realized, standing in for a bug in the program (a wrongly
   * encoded record) without editing it. Inputs are plain values with secrets unwrapped.
   */
  rewriteInputs?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;
  onRealized?: (resource: RealizedResource) => void;
  onFunctionLog?: (functionName: string, line: string) => void;
}

const NEVER = new Promise<never>(() => undefined);

/** What a deployment into the same cloud may change in place, per type; anything else is refused. */
const UPDATABLE: Record<string, readonly string[]> = {
  "aws:ssm/parameter:Parameter": ["value", "insecureValue", "type", "tier"],
  "aws:lambda/function:Function": ["environment", "timeout", "memorySize", "reservedConcurrentExecutions"],
};

/** Top-level inputs whose values differ; the serialized provider text is not an input the engine diffs. */
function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete("__provider");
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
}

/**
 * A local cloud behind Pulumi's mock engine: `mocks.newResource` creates each resource for real against
 * the sandbox's stand-ins instead of echoing inputs, so `pulumi.runtime.setMocks(cloud.mocks, …)` plus the
 * program is `pulumi up` into the sandbox. The engine hands a resource over only once its inputs and
 * `dependsOn` are done, so the realization order is the deployment order.
 *
 * A failed resource is not thrown back into the engine (the runtime would only report it as an unhandled
 * rejection); it is recorded in `failures`, announced through `failed`, and neither it nor anything
 * handed over afterwards completes, as `pulumi up` stops at the first error.
 *
 * Running the program again against the same cloud is a second `pulumi up` of the stack: a resource whose
 * inputs did not change is left alone, an SSM parameter or a function's configuration is updated in place
 * (a new parameter version; the function's warm environments retired), and any other change is refused
 * naming the type and the inputs that changed.
 */
export class LocalCloud {
  readonly log: RealizedResource[] = [];
  readonly failures: RealizationFailure[] = [];
  /** Rejects with the first failure. */
  readonly failed: Promise<never>;
  readonly mocks: pulumi.runtime.Mocks;
  private readonly started = Date.now();
  private readonly inFlight = new Set<string>();
  /** The stack config dynamic providers are configured with: the running deployment's. */
  private config: StackConfig;
  /** What each resource was last realized from, by type and name, for a later deployment's diff. */
  private readonly current = new Map<string, { entry: RealizedResource; inputs: Record<string, unknown> }>();
  private rejectFailed!: (err: Error) => void;

  private constructor(
    private readonly options: LocalCloudOptions,
    /** Creates the Cloudflare and AWS resources; shared with the real engine's providers. */
    readonly control: LocalCloudControl,
  ) {
    this.config = options.config;
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    // Observed by whoever awaits it; without this a failure nobody waits on would crash the process.
    this.failed.catch(() => undefined);
    this.mocks = {
      newResource: (args) => this.newResource(args),
      call: (args) => this.call(args),
    };
  }

  static async create(options: LocalCloudOptions): Promise<LocalCloud> {
    const control = await LocalCloudControl.create(options);
    return new LocalCloud(options, control);
  }

  get dns(): DnsPublisher {
    return this.control.dns;
  }

  get aws(): LocalAwsResources {
    return this.control.aws;
  }

  /** Starts another deployment of the stack into this cloud, with that deployment's stack config. */
  redeploy(config: StackConfig): void {
    this.config = config;
  }

  /** The first realized resource of a type (and name, when given); throws when there is none. */
  find(type: string, name?: string): RealizedResource {
    const found = this.log.find((r) => r.type === type && (name === undefined || r.name === name));
    if (!found) throw new Error(`no ${type}${name ? ` named ${name}` : ""} was realized`);
    return found;
  }

  /** What is being created right now, for a deployment that takes too long. */
  describeInFlight(): string {
    if (this.inFlight.size === 0)
      return "nothing is being created (the program is waiting on an output that never resolves)";
    return `still creating: ${[...this.inFlight].join(", ")}`;
  }

  async close(): Promise<void> {
    await this.control.close();
  }

  private async newResource(
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<pulumi.runtime.MockResourceResult> {
    if (this.failures.length > 0) return NEVER;
    if (!args.custom || args.type.startsWith("pulumi:providers:")) {
      // Components and default providers have nothing to create.
      return { id: args.custom ? `${args.name}-provider` : undefined, state: args.inputs };
    }
    const startedMs = Date.now() - this.started;
    const label = `${args.type} ${args.name}`;
    this.inFlight.add(label);
    try {
      const raw = (await settleAssets(args.inputs)) as Record<string, unknown>;
      const plain = unwrapSecrets(raw) as Record<string, unknown>;
      const inputs = this.options.rewriteInputs?.(args.type, args.name, plain) ?? plain;
      const key = `${args.type}::${args.name}`;
      const previous = this.current.get(key);
      const changed = previous ? changedInputs(previous.inputs, inputs) : [];
      if (previous && changed.length === 0) return { id: previous.entry.id, state: previous.entry.state };
      const { kind, realized } = previous
        ? await this.update(args.type, args.name, previous.entry.id, changed, inputs)
        : await this.realize(args.type, args.name, inputs, raw);
      const state = { ...raw, ...realized.state };
      const entry: RealizedResource = {
        type: args.type,
        name: args.name,
        id: realized.id,
        kind,
        startedMs,
        finishedMs: Date.now() - this.started,
        state,
        operation: previous ? "update" : "create",
      };
      this.current.set(key, { entry, inputs });
      this.log.push(entry);
      this.options.onRealized?.(entry);
      return { id: realized.id, state };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.fail({ type: args.type, name: args.name, error });
      return NEVER;
    } finally {
      this.inFlight.delete(label);
    }
  }

  private async realize(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    raw: Record<string, unknown>,
  ): Promise<{ kind: RealizationKind; realized: Realized }> {
    if (type.startsWith("pulumi-nodejs:dynamic")) {
      const label = `${type.split(":").at(-1)} ${name}`;
      const source = { ...inputs, __provider: raw.__provider };
      const realized = await createDynamicResource(label, source, this.options.project, this.config);
      return { kind: "dynamic", realized };
    }
    return this.control.create(type, name, inputs);
  }

  /** A change to a resource a previous deployment created: in place where AWS allows it, else refused. */
  private async update(
    type: string,
    name: string,
    id: string,
    changed: string[],
    inputs: Record<string, unknown>,
  ): Promise<{ kind: RealizationKind; realized: Realized }> {
    const refused = changed.filter((input) => !UPDATABLE[type]?.includes(input));
    if (refused.length > 0) {
      throw new Error(
        `the local cloud cannot change ${refused.join(", ")} of ${type} ${name} in a later deployment; ` +
          "deploy into a fresh local cloud instead",
      );
    }
    return { kind: "aws", realized: await this.control.update(type, name, id, inputs) };
  }

  private async call(args: pulumi.runtime.MockCallArgs): Promise<Record<string, unknown>> {
    if (this.failures.length > 0) return NEVER;
    try {
      return this.control.invoke(args.token, unwrapSecrets(args.inputs) as Record<string, unknown>);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.fail({ type: args.token, name: "(invoke)", error });
      return NEVER;
    }
  }

  private fail(failure: RealizationFailure): void {
    this.failures.push(failure);
    if (this.failures.length === 1) {
      this.rejectFailed(
        new Error(`creating ${failure.type} ${failure.name} failed: ${failure.error.message}`),
      );
    }
  }
}
