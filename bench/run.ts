import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { bundleAndColdInit, type Figure, ingestCpu, workerThroughput } from "./bridge";
import { firstRequests } from "./first-request";
import { throughputAndLatency } from "./throughput";

/**
 * Runs every benchmark and writes docs/benchmarks.md: each figure a ratio of two measurements taken in this
 * one run, or, where its name says so, of a measurement and a constant (a code's lifetime, Resend's limit).
 */
async function main(): Promise<void> {
  const figures: Figure[] = [];
  for (const run of [bundleAndColdInit, firstRequests, ingestCpu, workerThroughput, throughputAndLatency]) {
    process.stderr.write(`bench: ${run.name}…\n`);
    figures.push(...(await run()));
  }
  const lines = [
    "# Benchmarks",
    "",
    `Measured ${new Date().toISOString()} on Node ${process.version}, ${process.platform}/${process.arch}, ` +
      `${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)} at the end of the run. ` +
      "Every figure is a ratio of two measurements taken in the same run or, where its name says " +
      '"a constant", of a measurement and that constant. Regenerate with `npm run bench`.',
    "",
    "| Figure | Ratio | Target | Command |",
    "|---|---|---|---|",
    ...figures.map((f) => `| ${f.name} | ${f.ratio}× | ${f.target ?? "-"} | \`${f.command}\` |`),
    "",
    "## Details",
    "",
    ...figures.flatMap((f) => [`- **${f.name}**: ${f.detail}`]),
    "",
  ];
  const out = join(__dirname, "..", "docs", "benchmarks.md");
  await mkdir(join(__dirname, "..", "docs"), { recursive: true });
  await writeFile(out, lines.join("\n"));
  process.stderr.write(`bench: wrote ${out}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
