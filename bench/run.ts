import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { bundleAndColdInit, type Figure, ingestCpu, workerThroughputAndLatency } from "./bridge";
import { firstRequests } from "./first-request";

/** Runs every benchmark and writes docs/benchmarks.md: each figure a ratio measured in this one run. */
async function main(): Promise<void> {
  const figures: Figure[] = [];
  for (const run of [bundleAndColdInit, firstRequests, ingestCpu, workerThroughputAndLatency]) {
    process.stderr.write(`bench: ${run.name}…\n`);
    figures.push(...(await run()));
  }
  const lines = [
    "# Benchmarks",
    "",
    `Measured ${new Date().toISOString()} on Node ${process.version}, ${process.platform}/${process.arch}, ` +
      `${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)} at the end of the run. ` +
      "Every figure is a ratio of two measurements taken in the same run. Regenerate with `npm run bench`.",
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
  await writeFile(out, lines.join("\n") + (await handMeasured(out)));
  process.stderr.write(`bench: wrote ${out}\n`);
}

/** Sections measured by hand (the Pulumi CLI build takes minutes), kept from the previous file as they were. */
const HAND_MEASURED = "\n## Measured by hand";

async function handMeasured(file: string): Promise<string> {
  const previous = await readFile(file, "utf8").catch(() => "");
  const at = previous.indexOf(HAND_MEASURED);
  return at < 0 ? "" : previous.slice(at);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
