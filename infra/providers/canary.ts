import * as pulumi from "@pulumi/pulumi";
import {
  CANARY_EMAIL_ID_PREFIX,
  CANARY_RECIPIENT,
  CANARY_SIGNATURE_HEADER,
  type CanaryStatus,
  canaryStatusSignature,
  svixSignature,
} from "../../src/bridge/canary";
import { BRIDGE_PATHS, bridgeEndpoint } from "../../src/bridge/routes";
import { parseWebhookSecrets } from "../../src/settings/webhook-secret";
import { clerkDelivers, setClerkDelivery, templatesProblem } from "./clerk-delivery";
import { endpointProblem } from "./validate";
import {
  callVendor,
  delay,
  isUnknown,
  sameSet,
  type VendorCall,
  type VendorResponse,
  vendorMessage,
} from "./vendor-http";

export interface DeliveryCanaryArgs {
  /** The bridge's Function URL (its ingest). */
  bridgeUrl: pulumi.Input<string>;
  /**
   * The Clerk webhook signing secret the bridge verifies with, as its parameter holds it (`whsec_…`, or two
   * whitespace-separated during a rotation); pass it as a secret.
   */
  signingSecret: pulumi.Input<string>;
  /** The templates the cutover routes to the bridge: a failing canary hands these back to Clerk. */
  templates: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Changes whenever what the canary proves could change: the bridge code, its settings, the secrets'
   * versions, the domain. A new fingerprint runs the canary again.
   */
  fingerprint: pulumi.Input<string>;
  /** How long to wait for the bridge's verdict; default 120 s. */
  timeoutSeconds?: pulumi.Input<number>;
}

export interface DeliveryCanaryInputs {
  bridgeUrl: string;
  signingSecret: string;
  templates: string[];
  fingerprint: string;
  timeoutSeconds: number;
}

export interface DeliveryCanaryOutputs extends Omit<DeliveryCanaryInputs, "signingSecret"> {
  status: "passed" | "failed";
  /** The synthetic Clerk email id of the last run (`ema_canary_…`). */
  clerkEmailId: string;
  /** Resend's id for the accepted send (passed runs). */
  resendEmailId?: string;
  passedAt?: string;
  /** Failed runs: the bridge's reason, and the templates handed back to Clerk. */
  reason?: string;
  handedBack?: string[];
}

type Verdict = { ok: true; resendEmailId: string } | { ok: false; reason: string };

// One canary per stack: the id names the thing, not an object anywhere.
const CANARY_ID = "delivery-canary";
const DEFAULT_TIMEOUT_SECONDS = 120;
const MAX_TIMEOUT_SECONDS = 900;
const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 5_000;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Clerk's `email.created` as its webhooks spec shapes it (every required field, the optional ones Clerk
 * sends), for a synthetic email: Resend's test inbox, no user, no code, self-delivered.
 */
export function canaryEmailCreated(clerkEmailId: string, nowMs: number): Record<string, unknown> {
  const text = "auth-email-pipeline delivery canary: proves this deployment can send. It holds no code.";
  return {
    data: {
      id: clerkEmailId,
      object: "email",
      slug: null,
      from_email_name: "canary",
      reply_to_email_name: null,
      to_email_address: CANARY_RECIPIENT,
      email_address_id: null,
      user_id: null,
      subject: "Delivery canary",
      body: `<p>${text}</p>`,
      body_plain: text,
      status: "queued",
      data: {},
      delivered_by_clerk: false,
    },
    event_attributes: { http_request: { client_ip: "", user_agent: "auth-email-pipeline-canary" } },
    instance_id: "ins_canary",
    object: "event",
    timestamp: nowMs,
    type: "email.created",
  };
}

/**
 * The signing secret as the bridge's ingest parses its parameter: one `whsec_` secret, or two during a
 * rotation (the canary signs with both, as Svix does). The unset marker is refused: a canary cannot prove a
 * route that has no secret, and without a passing canary Clerk is not cut over.
 */
function signingSecretProblem(value: unknown): string | undefined {
  const parsed = parseWebhookSecrets(typeof value === "string" ? value : "");
  if (parsed.state === "ready") return undefined;
  if (parsed.state === "unset") {
    return (
      "signingSecret is the bridge's unset marker, not a secret: register the Clerk endpoint and set " +
      "clerkWebhookSigningSecret first; no canary runs and Clerk is not cut over until then"
    );
  }
  return `signingSecret ${parsed.problems.join("; ")}: use the Clerk endpoint's Signing Secret (two, new first, during a rotation)`;
}

class DeliveryCanaryProvider implements pulumi.dynamic.ResourceProvider {
  configuredClerkKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredClerkKey = req.config.get("clerkSecretKey");
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const inputs = {
      bridgeUrl: news.bridgeUrl,
      signingSecret: news.signingSecret,
      templates: Array.isArray(news.templates) ? [...new Set(news.templates)] : news.templates,
      fingerprint: news.fingerprint,
      timeoutSeconds: news.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    } as DeliveryCanaryInputs;
    const failures: { property: string; reason: string }[] = [];
    const fail = (property: string, reason: string | undefined) => {
      if (reason) failures.push({ property, reason });
    };
    if (!isUnknown(inputs.bridgeUrl)) fail("bridgeUrl", endpointProblem(inputs.bridgeUrl, "bridgeUrl"));
    if (!isUnknown(inputs.signingSecret)) fail("signingSecret", signingSecretProblem(inputs.signingSecret));
    fail("templates", templatesProblem(inputs.templates));
    if (!isUnknown(inputs.fingerprint) && (typeof inputs.fingerprint !== "string" || !inputs.fingerprint)) {
      fail("fingerprint", "fingerprint must be a non-empty string that changes with what the canary proves");
    }
    const timeout = inputs.timeoutSeconds;
    if (
      !isUnknown(timeout) &&
      !(typeof timeout === "number" && timeout >= 5 && timeout <= MAX_TIMEOUT_SECONDS)
    ) {
      fail(
        "timeoutSeconds",
        `timeoutSeconds must be between 5 and ${MAX_TIMEOUT_SECONDS} (got ${JSON.stringify(timeout)})`,
      );
    }
    return { inputs, failures };
  }

  /** Runs again when anything it proves may have changed, and after a failed run whatever changed. */
  async diff(
    _id: string,
    olds: DeliveryCanaryOutputs,
    news: DeliveryCanaryInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const changed = (["bridgeUrl", "fingerprint", "timeoutSeconds"] as const).some(
      (k) => olds[k] !== news[k],
    );
    return {
      changes: changed || !sameSet(olds.templates, news.templates) || olds.status !== "passed",
      replaces: [],
    };
  }

  async create(inputs: DeliveryCanaryInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: CANARY_ID, outs: await this.run(inputs) };
  }

  async update(
    _id: string,
    _olds: DeliveryCanaryOutputs,
    news: DeliveryCanaryInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await this.run(news) };
  }

  async read(id: string, props: DeliveryCanaryOutputs): Promise<pulumi.dynamic.ReadResult> {
    // A canary is a fact about one moment; a refresh has nothing newer to read.
    return { id, props };
  }

  async delete(): Promise<void> {
    // Nothing remains of a canary but its send in Resend's logs.
  }

  /**
   * One canary: passed, or Clerk delivery handed back and an error naming the bridge's reason. The error
   * carries the failed state (`id`, `properties`), so the engine keeps it and the next run goes again even
   * when nothing else changed.
   */
  async run(inputs: DeliveryCanaryInputs): Promise<DeliveryCanaryOutputs> {
    const clerkEmailId = `${CANARY_EMAIL_ID_PREFIX}${randomHex(12)}`;
    const base = {
      bridgeUrl: inputs.bridgeUrl,
      templates: inputs.templates,
      fingerprint: inputs.fingerprint,
      timeoutSeconds: inputs.timeoutSeconds,
      clerkEmailId,
    };
    // Whatever goes wrong on the way, delivery is handed back before the error surfaces.
    const verdict = await this.prove(inputs, clerkEmailId).catch(
      (err: Error): Verdict => ({ ok: false, reason: `the canary could not run: ${err.message}` }),
    );
    if (verdict.ok) {
      return {
        ...base,
        status: "passed",
        resendEmailId: verdict.resendEmailId,
        passedAt: new Date().toISOString(),
      };
    }
    const handBack = await this.handBack(inputs.templates);
    const failed: DeliveryCanaryOutputs = {
      ...base,
      status: "failed",
      reason: verdict.reason,
      handedBack: handBack.handedBack,
    };
    const error = new Error(failureMessage(verdict.reason, inputs.templates, handBack));
    throw Object.assign(error, {
      id: CANARY_ID,
      // The host only adds its serialized provider to successful results; later operations need it.
      properties: { ...failed, __provider: (inputs as unknown as Record<string, unknown>).__provider },
      reasons: [verdict.reason],
    });
  }

  /** Posts the signed `email.created` to the ingest, then polls the status route for the worker's verdict. */
  async prove(inputs: DeliveryCanaryInputs, clerkEmailId: string): Promise<Verdict> {
    const now = Date.now();
    const event = canaryEmailCreated(clerkEmailId, now);
    // callVendor sends JSON.stringify(body): the same bytes as signed here.
    const body = JSON.stringify(event);
    const svixId = `msg_canary_${randomHex(12)}`;
    const timestamp = Math.floor(now / 1000);
    let posted: VendorResponse;
    try {
      posted = await callVendor({
        ...bridgeCall(inputs.bridgeUrl, "POST", BRIDGE_PATHS.clerk, "deliver the canary email.created"),
        body: event,
        headers: {
          "svix-id": svixId,
          "svix-timestamp": String(timestamp),
          "svix-signature": await svixSignature(inputs.signingSecret, svixId, timestamp, body),
        },
      });
    } catch (err) {
      return { ok: false, reason: `the bridge's ingest could not be reached: ${(err as Error).message}` };
    }
    const answer = posted.body as { status?: string; reason?: string; error?: string } | undefined;
    if (posted.status === 401) {
      return {
        ok: false,
        reason:
          `signature rejected (${answer?.reason ?? vendorMessage(answer)}): the bridge's Clerk webhook secret ` +
          "is not the one this stack signs with",
      };
    }
    // `duplicate`: an earlier attempt of this same post got through and was queued.
    const queued = posted.status === 202 || (posted.status === 200 && answer?.status === "duplicate");
    if (!queued) {
      return {
        ok: false,
        reason:
          `the bridge's ingest did not queue it: HTTP ${posted.status} ${answer?.status ?? ""} ${answer?.reason ?? answer?.error ?? vendorMessage(answer)}`.replace(
            / +/g,
            " ",
          ),
      };
    }
    return this.awaitVerdict(inputs, clerkEmailId);
  }

  async awaitVerdict(inputs: DeliveryCanaryInputs, clerkEmailId: string): Promise<Verdict> {
    const signature = await canaryStatusSignature(inputs.signingSecret, clerkEmailId);
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let interval = FIRST_POLL_MS;
    let last: CanaryStatus | undefined;
    for (;;) {
      await delay(Math.max(0, Math.min(interval, deadline - Date.now())));
      let res: VendorResponse;
      try {
        res = await callVendor({
          ...bridgeCall(inputs.bridgeUrl, "GET", `${BRIDGE_PATHS.canary}${clerkEmailId}`, "read the canary"),
          headers: { [CANARY_SIGNATURE_HEADER]: signature },
        });
      } catch (err) {
        return {
          ok: false,
          reason: `the bridge's canary status route could not be reached: ${(err as Error).message}`,
        };
      }
      if (res.status !== 200) {
        return {
          ok: false,
          reason: `the bridge's canary status route answered HTTP ${res.status}: ${vendorMessage(res.body)}`,
        };
      }
      last = res.body as CanaryStatus;
      if (last.status === "accepted") return { ok: true, resendEmailId: String(last.resendEmailId ?? "") };
      if (last.status === "failed") return { ok: false, reason: String(last.reason ?? "failed") };
      if (Date.now() >= deadline) {
        const waited = `no verdict from the bridge within ${inputs.timeoutSeconds} s`;
        return {
          ok: false,
          reason:
            last?.status === "retrying"
              ? `${waited}; the worker is retrying: ${last.reason}`
              : `${waited}: the worker never recorded it (read the worker's logs and the queue's dead-letter queue)`,
        };
      }
      interval = Math.min(interval * 1.5, MAX_POLL_MS);
    }
  }

  /**
   * Turns Clerk delivery back on for every template that is off: a bridge that failed its canary must not be
   * the only way Clerk's codes leave. Templates already delivered by Clerk are left alone.
   */
  async handBack(templates: string[]): Promise<{ handedBack: string[]; problem?: string }> {
    const handedBack: string[] = [];
    try {
      for (const slug of templates) {
        if ((await clerkDelivers(this.configuredClerkKey, slug)) !== false) continue;
        await setClerkDelivery(this.configuredClerkKey, slug, true);
        handedBack.push(slug);
      }
    } catch (err) {
      return { handedBack, problem: (err as Error).message };
    }
    return { handedBack };
  }
}

function bridgeCall(
  bridgeUrl: string,
  method: VendorCall["method"],
  path: string,
  action: string,
): VendorCall {
  return { vendor: "Bridge", method, baseUrl: bridgeEndpoint(bridgeUrl, ""), path, token: "", action };
}

function failureMessage(
  reason: string,
  templates: string[],
  handBack: { handedBack: string[]; problem?: string },
): string {
  const head = `The delivery canary failed: ${reason}.`;
  if (handBack.problem) {
    return (
      `${head} Handing delivery back to Clerk failed as well (${handBack.problem}): turn "Delivered by Clerk" ` +
      `on for ${templates.join(", ")} in the Clerk Dashboard now, since codes sent meanwhile reach a bridge that ` +
      "cannot deliver them."
    );
  }
  const now =
    handBack.handedBack.length > 0
      ? `Delivery of ${handBack.handedBack.join(", ")} was handed back to Clerk (delivered_by_clerk=true)`
      : `Clerk delivers ${templates.join(", ")} itself`;
  return `${head} ${now} until a canary passes: fix the cause and run \`pulumi up\` again.`;
}

/**
 * Proves the deployed pipeline before Clerk relies on it: sends one signed, synthetic `email.created` to the
 * bridge's ingest, addressed to Resend's `delivered@resend.dev`, and passes only when the bridge reports that
 * Resend accepted it. A failing run hands Clerk's delivery back and fails `pulumi up` with the bridge's reason.
 */
export class DeliveryCanary extends pulumi.dynamic.Resource {
  declare readonly status: pulumi.Output<string>;
  declare readonly clerkEmailId: pulumi.Output<string>;
  declare readonly resendEmailId: pulumi.Output<string>;
  declare readonly passedAt: pulumi.Output<string>;

  constructor(name: string, args: DeliveryCanaryArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new DeliveryCanaryProvider(),
      name,
      {
        status: undefined,
        clerkEmailId: undefined,
        resendEmailId: undefined,
        passedAt: undefined,
        ...args,
        signingSecret: pulumi.secret(args.signingSecret),
      },
      opts,
      "pipeline",
      "DeliveryCanary",
    );
  }
}
