import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { isCanarySend } from "../../bridge/events";
import type { SendRecord } from "../../bridge/store";
import { sandboxClientConfig } from "../aws/env";
import type { Sandbox } from "../index";
import type { SentEmail } from "../resend";

/**
 * The scripted walk through a deployed sandbox stack: what `pulumi up` set up, then a sign-up that gets
 * its code, and one that bounces and is blocked afterwards. Every fact is read from the stand-ins' own
 * state (Resend's domain and webhooks, Clerk's Svix endpoints, templates and users, the bridge's table).
 */

export const DELIVERED_ADDRESS = "delivered@resend.dev";
export const BOUNCED_ADDRESS = "bounced@resend.dev";

export interface ScenarioFacts {
  domain: {
    id: string;
    name: string;
    status: string;
    records: { record: string; type: string; status: string }[];
  };
  resendWebhook: { id: string; endpoint: string; events: string[] };
  clerkEndpoint: { id: string; url: string; eventTypes: string[] | null };
  /** The deployment canary Resend accepted before the cutover. */
  canary: { clerkEmailId: string; email: SentEmail };
  /** `delivered_by_clerk` of each routed template after the cutover. */
  templates: Record<string, boolean>;
  delivered: { code: string; email: SentEmail };
  bounced: { userId: string; publicMetadata: Record<string, unknown> };
  blocked: { clerkEmailId: string; bridgeRecord: SendRecord; resendEmailsToAddress: number };
}

export interface ScenarioOptions {
  sandbox: Sandbox;
  /** The stack outputs of the deployment (`domainId`, `bridgeUrl`, `tableName`, …). */
  outputs: Record<string, unknown>;
  templates: string[];
  /** Each transcript line as it happens. */
  print?: (line: string) => void;
  /** Longest wait for any one step; default 30 s. */
  stepTimeoutMs?: number;
}

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

export async function runScenario(
  options: ScenarioOptions,
): Promise<{ facts: ScenarioFacts; transcript: string[] }> {
  const { sandbox, outputs } = options;
  const transcript: string[] = [];
  const say = (line: string) => {
    transcript.push(line);
    options.print?.(line);
  };
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  const resend = resendApi(sandbox);
  const dynamo = new DynamoDBClient(sandboxClientConfig(sandbox.aws.dynamodb.endpoint));
  const table = DynamoDBDocumentClient.from(dynamo);
  // The bridge's record of what it did with one Clerk email (src/bridge/store.ts), read from its table.
  const sendRecord = async (clerkEmailId: string) => {
    const key = { pk: `email#${clerkEmailId}`, sk: "send" };
    const out = await table.send(new GetCommand({ TableName: String(outputs.tableName), Key: key }));
    return out.Item as SendRecord | undefined;
  };
  try {
    const domain = (await resend(`/domains/${outputs.domainId}`)) as ScenarioFacts["domain"];
    if (domain.status !== "verified") {
      throw new ScenarioError(`Resend reports ${domain.name} as ${domain.status}, not verified`);
    }
    say(
      `✔ domain verified: ${domain.name} (${domain.id}), records ${domain.records.map((r) => `${r.record} ${r.type} ${r.status}`).join(", ")}`,
    );

    // Picked field by field: the answer also carries the signing secret, which stays out of the transcript.
    const {
      id,
      endpoint: url,
      events,
    } = (await resend(`/webhooks/${outputs.resendWebhookId}`)) as ScenarioFacts["resendWebhook"];
    const webhook = { id, endpoint: url, events };
    const appId = sandbox.clerk.instance.svixAppId;
    const endpoint = appId
      ? sandbox.clerk.svix.endpoints(appId).find((e) => e.id === outputs.clerkWebhookId)
      : undefined;
    if (!endpoint) throw new ScenarioError(`Clerk's Svix app has no endpoint ${outputs.clerkWebhookId}`);
    say(
      `✔ webhooks registered: Resend ${webhook.id} → ${webhook.endpoint} (${webhook.events.length} events)`,
    );
    say(
      `                       Clerk ${endpoint.id} → ${endpoint.url} (${(endpoint.eventTypes ?? ["all events"]).join(", ")})`,
    );

    const proof = outputs.deliveryCanary as { clerkEmailId?: string; resendEmailId?: string } | undefined;
    const canaryEmail = sandbox.resend.emails().find((e) => e.id === proof?.resendEmailId);
    if (!proof?.clerkEmailId || !canaryEmail || !isCanary(canaryEmail)) {
      throw new ScenarioError(
        `no canary send tagged canary=true in Resend (deliveryCanary: ${JSON.stringify(proof)})`,
      );
    }
    say(
      `✔ canary passed: signed email.created ${proof.clerkEmailId} → ingest → worker → Resend accepted ${canaryEmail.id} (${canaryEmail.to.join(", ")}, canary=true)`,
    );

    const templates = Object.fromEntries(
      options.templates.map((slug) => [slug, sandbox.clerk.instance.templates.email(slug).deliveredByClerk]),
    );
    const stillClerk = Object.entries(templates)
      .filter(([, byClerk]) => byClerk)
      .map(([slug]) => slug);
    if (stillClerk.length > 0)
      throw new ScenarioError(`Clerk still delivers ${stillClerk.join(", ")} itself`);
    say(
      `✔ delivery routed: ${options.templates.join(", ")} now delivered_by_clerk=false (Clerk sends email.created only)`,
    );

    const signUp = (await clerkAsUser(sandbox, "/sign-ups", {
      email_address: DELIVERED_ADDRESS,
      verify: true,
    })) as {
      code: string;
    };
    const email = await waitFor(timeoutMs, `an email to ${DELIVERED_ADDRESS} in the Resend stand-in`, () =>
      sandbox.resend
        .emails()
        .find((e) => e.to.includes(DELIVERED_ADDRESS) && e.lastEvent === "delivered" && !isCanary(e)),
    );
    if (!email.html?.includes(signUp.code)) {
      throw new ScenarioError(`the email to ${DELIVERED_ADDRESS} does not contain the sign-up code`);
    }
    say(
      `✔ sign-up ${DELIVERED_ADDRESS}: code ${signUp.code} delivered by Resend (${email.id}) from ${email.from}`,
    );
    say(`    subject: ${email.subject}`);
    say(
      `    headers: ${Object.entries(email.headers ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ")}`,
    );
    say(`    tags:    ${(email.tags ?? []).map((t) => `${t.name}=${t.value}`).join(", ")}`);

    await clerkAsUser(sandbox, "/sign-ups", { email_address: BOUNCED_ADDRESS, verify: true });
    const user = await waitFor(timeoutMs, `email_status on the Clerk user of ${BOUNCED_ADDRESS}`, () =>
      sandbox.clerk
        .users()
        .find(
          (u) =>
            u.email_addresses.some((e: { email_address: string }) => e.email_address === BOUNCED_ADDRESS) &&
            u.public_metadata.email_status === "undeliverable",
        ),
    );
    say(
      `✔ sign-up ${BOUNCED_ADDRESS}: hard bounce → Clerk user ${user.id} public_metadata ${JSON.stringify(user.public_metadata)}`,
    );

    const sentBefore = emailsTo(sandbox, BOUNCED_ADDRESS);
    const signIn = (await clerkAsUser(sandbox, "/sign-ins", { email_address: BOUNCED_ADDRESS })) as {
      email: { id: string };
    };
    const record = await waitFor(timeoutMs, `the bridge's decision on Clerk email ${signIn.email.id}`, () =>
      sendRecord(signIn.email.id),
    );
    await sandbox.resend.settle();
    const sentAfter = emailsTo(sandbox, BOUNCED_ADDRESS);
    if (record.status !== "suppressed" || sentAfter !== sentBefore) {
      throw new ScenarioError(
        `the next email to ${BOUNCED_ADDRESS} was not blocked: bridge status ${record.status}, Resend emails ${sentBefore} → ${sentAfter}`,
      );
    }
    say(
      `✔ next email to ${BOUNCED_ADDRESS} (sign-in code ${signIn.email.id}) blocked by the bridge: status ${record.status}, nothing sent`,
    );

    return {
      transcript,
      facts: {
        domain,
        resendWebhook: webhook,
        clerkEndpoint: { id: endpoint.id, url: endpoint.url, eventTypes: endpoint.eventTypes },
        canary: { clerkEmailId: proof.clerkEmailId, email: canaryEmail },
        templates,
        delivered: { code: signUp.code, email },
        bounced: { userId: user.id, publicMetadata: user.public_metadata },
        blocked: { clerkEmailId: signIn.email.id, bridgeRecord: record, resendEmailsToAddress: sentAfter },
      },
    };
  } finally {
    dynamo.destroy();
  }
}

/** The deployment canary's own send (tag `canary=true`), not a user's mail: the bridge's own test. */
export function isCanary(email: SentEmail): boolean {
  return isCanarySend(Object.fromEntries(email.tags.map((t) => [t.name, t.value])));
}

function emailsTo(sandbox: Sandbox, address: string): number {
  return sandbox.resend.emails().filter((e) => e.to.includes(address)).length;
}

/** Reads from the Resend stand-in through its public API, as the dashboard would show it. */
function resendApi(sandbox: Sandbox) {
  return async (path: string): Promise<unknown> => {
    let res: Response;
    for (let attempt = 1; ; attempt++) {
      res = await fetch(`${sandbox.resend.url}${path}`, {
        headers: { authorization: `Bearer ${sandbox.resend.apiKey}` },
      });
      // The team-wide rate limit is shared with the bridge and the providers; wait as Resend asks.
      if (res.status !== 429 || attempt === 5) break;
      await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get("retry-after") ?? 1) * 1000));
    }
    if (!res.ok) throw new ScenarioError(`Resend GET ${path} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
}

/** Acts as an end user of the Clerk instance (the stand-in's `/_sandbox/clerk` routes). */
async function clerkAsUser(sandbox: Sandbox, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${sandbox.clerk.url}/_sandbox/clerk${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X) Chrome/130",
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new ScenarioError(`Clerk POST ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Polls until `probe` gives a value; the error names what never happened. */
async function waitFor<T>(
  timeoutMs: number,
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline)
      throw new ScenarioError(`waited ${timeoutMs / 1000} s for ${what}; it never happened`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
