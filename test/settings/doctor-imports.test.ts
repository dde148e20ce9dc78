import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, sep } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * The doctor reads the stack through the pure settings module; `@pulumi/pulumi` costs it ~2 s of start-up
 * for nothing. Each check loads modules in a fresh Node (as `npm run doctor` does, through tsx) and lists
 * every module file that ended up loaded.
 */

const ROOT = join(__dirname, "..", "..");
const DOCTOR_MODULES = readdirSync(join(ROOT, "src", "doctor"))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => `./src/doctor/${file}`);
const PULUMI_SDK = `${sep}node_modules${sep}@pulumi${sep}pulumi${sep}`;

async function modulesLoadedBy(modules: string[]): Promise<string[]> {
  const script = `for (const m of ${JSON.stringify(modules)}) require(m);
process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--require", "tsx/cjs", "-e", script], {
    cwd: ROOT,
    timeout: 60_000,
  });
  return JSON.parse(stdout) as string[];
}

describe("the doctor's imports", () => {
  it("load the stack-config parser without @pulumi/pulumi", async () => {
    const loaded = await modulesLoadedBy(DOCTOR_MODULES);
    const doctorFiles = loaded.filter((file) => file.includes(`${sep}src${sep}doctor${sep}`));
    expect(doctorFiles).toHaveLength(DOCTOR_MODULES.length);
    expect(loaded).toContain(join(ROOT, "src", "settings", "stack-config.ts"));
    expect(loaded.filter((file) => file.includes(PULUMI_SDK))).toEqual([]);
  });

  it("are checked by a probe that does see @pulumi/pulumi when the program's config module loads it", async () => {
    const loaded = await modulesLoadedBy(["./infra/config.ts"]);
    expect(loaded.some((file) => file.includes(PULUMI_SDK))).toBe(true);
  });
});
