import * as pulumi from "@pulumi/pulumi";
import type { ResendDnsRecord } from "../providers/resend-domain";
import {
  profileSlots,
  type RecordProfile,
  RecordProfileMismatchError,
  UnexpectedRecordsError,
  writeOrder,
} from "./profiles";
import { assignRecords, type RecordPlan } from "./records";
import type { DnsAdapter, PublishedRecord } from "./types";

export interface ResendRecordsArgs {
  profile: RecordProfile;
  sendingDomain: string;
  zone: string;
  returnPath: string;
  /** `ResendDomain.records`: unknown until the domain exists, so only values wait for it. */
  records: pulumi.Output<ResendDnsRecord[]>;
  dns: DnsAdapter;
}

/**
 * Declares one DNS record per slot of the stack's profile, named `<prefix>-<slot>`. Names and types come
 * from the settings, values from Resend's answer; when that answer has another shape than the profile,
 * the values fail with the setting to change, so no record of either shape is written.
 */
export function publishResendRecords(
  prefix: string,
  args: ResendRecordsArgs,
  opts: pulumi.CustomResourceOptions,
): PublishedRecord[] {
  const plan: RecordPlan = {
    profile: args.profile,
    sendingDomain: args.sendingDomain,
    slots: profileSlots(args.profile, args.sendingDomain, args.returnPath),
  };
  const stack = pulumi.getStack();
  const assigned = args.records.apply((records) => {
    try {
      return assignRecords(records, plan, args.zone, stack);
    } catch (err) {
      // A RunError ends the run with its message alone, without the program's stack trace.
      if (err instanceof RecordProfileMismatchError || err instanceof UnexpectedRecordsError) {
        throw new pulumi.RunError(err.message);
      }
      throw err;
    }
  });
  const published = new Map<string, PublishedRecord>();
  for (const slot of writeOrder(plan.slots)) {
    const after = slot.after.flatMap((id) => published.get(id)?.resource ?? []);
    const value = assigned.apply((values) => values[slot.id]);
    const record = args.dns.publish(
      `${prefix}-${slot.id}`,
      {
        slot: slot.id,
        fqdn: slot.fqdn ?? value.apply((v) => v.fqdn),
        type: slot.type,
        content: value.apply((v) => v.content),
        priority: slot.type === "MX" ? value.apply((v) => v.priority ?? 0) : undefined,
        description: slot.description,
      },
      { ...opts, dependsOn: after },
    );
    published.set(slot.id, record);
  }
  return plan.slots.map((slot) => published.get(slot.id) as PublishedRecord);
}
