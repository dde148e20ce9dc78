import { readFileSync } from "node:fs";
import { type CheckResult, resultsFor } from "./types";

/** The stack outputs the doctor reads from `pulumi stack output --json` (infra/index.ts exports them). */
export interface StackOutputs {
  bridgeUrl: string;
  deadLetterQueueName?: string;
  tableName?: string;
}

const config = resultsFor("config");

/** The outputs file, or a `config.outputs` failure naming what is wrong with it. */
export function readStackOutputs(
  path: string,
): { ok: true; outputs: StackOutputs } | { ok: false; problem: CheckResult } {
  const fix = "pulumi stack output --json > outputs.json after pulumi up, or pass --bridge-url";
  let outputs: Record<string, unknown> | null;
  try {
    outputs = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> | null;
  } catch (err) {
    return {
      ok: false,
      problem: config.fail(
        "config.outputs",
        `${path} is not readable JSON (${(err as Error).message})`,
        fix,
        {
          code: "unreadable",
        },
      ),
    };
  }
  const url = outputs?.bridgeUrl;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    return {
      ok: false,
      problem: config.fail("config.outputs", `${path} has no bridgeUrl output`, fix, { code: "missing" }),
    };
  }
  const text = (key: string) => (typeof outputs?.[key] === "string" ? (outputs[key] as string) : undefined);
  return {
    ok: true,
    outputs: {
      bridgeUrl: url,
      deadLetterQueueName: text("deadLetterQueueName"),
      tableName: text("tableName"),
    },
  };
}
