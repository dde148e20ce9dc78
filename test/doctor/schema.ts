import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";

/** The committed schema of `--json`, compiled once: every JSON the CLI prints must satisfy it. */
const schema = JSON.parse(readFileSync(join(__dirname, "..", "..", "docs", "doctor.schema.json"), "utf8"));
const validate = new Ajv2020({ allErrors: true }).compile(schema);

export interface DoctorJson {
  schemaVersion: number;
  kind: string;
  ok: boolean;
  results: { check: string; status: string; code?: string }[];
  error?: { code: string; message: string };
  [key: string]: unknown;
}

/** Parses what the CLI printed and fails unless it matches docs/doctor.schema.json. */
export function parseValid(out: string): DoctorJson {
  const json = JSON.parse(out) as Record<string, unknown>;
  if (!validate(json)) {
    throw new Error(`--json output breaks docs/doctor.schema.json: ${JSON.stringify(validate.errors)}`);
  }
  return json as DoctorJson;
}
