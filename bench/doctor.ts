import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { DLQ_NAME, type DoctorWorld, STACK_FILE, startDoctorWorld } from "../test/doctor/world";
import { COMMAND, type Figure, median, round } from "./bridge";

const run = promisify(execFile);
const RUNS = 7;
const ROOT = join(__dirname, "..");

/** Wall time of one process from spawn to exit, with its output. */
async function timed(file: string, args: string[], env: Record<string, string>, cwd: string) {
  const started = performance.now();
  const { stdout } = await run(file, args, { env, cwd, maxBuffer: 16 * 1024 * 1024 }).catch(
    (err: { stdout?: string; code?: number }) => {
      // Exit code 1 (a failed check) still printed a report; the bench asserts it is healthy below.
      if (err.code === 1 && err.stdout) return { stdout: err.stdout };
      throw err;
    },
  );
  return { ms: performance.now() - started, stdout };
}

/**
 * The doctor's wall time on a healthy local stack (`npm run doctor` as a user runs it: tsx, the stack file,
 * every check against the loopback stand-ins) against a floor measured in the same run: a bare node process
 * asking the same DNS stand-in exactly the questions the doctor asked, all at once.
 */
export async function doctorWallTime(): Promise<Figure[]> {
  const world: DoctorWorld = await startDoctorWorld();
  const dir = await mkdtemp(join(tmpdir(), "bench-doctor-"));
  try {
    await writeFile(join(dir, "Pulumi.bench.yaml"), STACK_FILE);
    await writeFile(
      join(dir, "outputs.json"),
      JSON.stringify({ bridgeUrl: world.bridge.url, deadLetterQueueName: DLQ_NAME }),
    );
    const env = { PATH: process.env.PATH ?? "", ...world.cliEnvironment() };
    const tsx = join(ROOT, "node_modules", ".bin", "tsx");
    const args = [
      join(ROOT, "src", "doctor", "cli.ts"),
      "--stack",
      "bench",
      "--outputs",
      join(dir, "outputs.json"),
      "--dns-server",
      world.sandbox.dns.address,
      "--json",
    ];
    const doctor: number[] = [];
    let questions: { name: string; type: string }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const before = world.sandbox.dns.queries.length;
      const { ms, stdout } = await timed(tsx, args, env, dir);
      const report = JSON.parse(stdout) as { ok: boolean; summary: { warn: number; fail: number } };
      if (!report.ok || report.summary.warn > 0)
        throw new Error(`bench: the stack is not healthy:\n${stdout}`);
      doctor.push(ms);
      questions = world.sandbox.dns.queries.slice(before).filter((q) => q.transport === "udp");
    }
    // The same questions from a bare node process: the least any tool answering them pays.
    const [host, port] = world.sandbox.dns.address.split(":");
    const floorScript = `
      const { Resolver } = require("node:dns/promises");
      const r = new Resolver({ timeout: 2000, tries: 2 });
      r.setServers([${JSON.stringify(`${host}:${port}`)}]);
      const qs = JSON.parse(process.env.BENCH_QUESTIONS);
      Promise.all(qs.map((q) => r.resolve(q.name, q.type).catch(() => undefined))).then(() => process.exit(0));
    `;
    const floorEnv = { PATH: env.PATH, BENCH_QUESTIONS: JSON.stringify(questions) };
    const floor: number[] = [];
    for (let i = 0; i < RUNS; i++)
      floor.push((await timed(process.execPath, ["-e", floorScript], floorEnv, dir)).ms);
    // What the stack-file parser costs at import (the pure src/settings/stack-config.ts: zod, no Pulumi), over
    // tsx alone.
    const importCost: number[] = [];
    const tsxAlone: number[] = [];
    const config = join(ROOT, "src", "settings", "stack-config.ts");
    for (let i = 0; i < RUNS; i++) {
      importCost.push((await timed(tsx, ["-e", `require(${JSON.stringify(config)})`], floorEnv, dir)).ms);
      tsxAlone.push((await timed(tsx, ["-e", "0"], floorEnv, dir)).ms);
    }
    const d = median(doctor);
    const f = median(floor);
    const configMs = median(importCost) - median(tsxAlone);
    return [
      {
        name: "Doctor wall time on a healthy local stack: npm run doctor vs a bare node process asking the same DNS questions",
        ratio: round(d / f, 2),
        target: "doctor ≤ 1000 ms",
        detail:
          `median of ${RUNS}: doctor ${d.toFixed(0)} ms (tsx, stack file, ${questions.length} DNS questions, Resend, Clerk, ` +
          `Svix, bridge and SQS stand-ins in this process, exit 0 with no warning), bare node asking the same ` +
          `${questions.length} questions ${f.toFixed(0)} ms. ${d <= 1000 ? "Met." : "Not met."} Of the doctor's time, ` +
          `tsx starting alone takes ${median(tsxAlone).toFixed(0)} ms and importing the stack file's parser ` +
          `(src/settings/stack-config.ts, no @pulumi/pulumi) ${configMs.toFixed(0)} ms more.`,
        command: `${COMMAND} -- doctor`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
    await world.close();
  }
}
