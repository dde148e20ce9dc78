import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { bundleAndColdInit, type Figure, ingestCpu, workerThroughput } from "./bridge";
import { doctorWallTime } from "./doctor";
import { firstRequests } from "./first-request";
import { throughputAndLatency } from "./throughput";

const BENCHMARKS: Record<string, () => Promise<Figure[]>> = {
  bridge: async () => [
    ...(await bundleAndColdInit()),
    ...(await firstRequests()),
    ...(await ingestCpu()),
    ...(await workerThroughput()),
    ...(await throughputAndLatency()),
  ],
  doctor: doctorWallTime,
};

const row = (f: Figure) => `| ${f.name} | ${f.ratio}× | ${f.target ?? "-"} | \`${f.command}\` |`;
const detail = (f: Figure) => `- **${f.name}**: ${f.detail}`;

function header(): string {
  return (
    `Measured ${new Date().toISOString()} on Node ${process.version}, ${process.platform}/${process.arch}, ` +
    `${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)} at the end of the run. ` +
    "Every figure is a ratio of two measurements taken in the same run or, where its name says " +
    '"a constant", of a measurement and that constant. Regenerate with `npm run bench` ' +
    "(or `npm run bench -- doctor` for the rows of one benchmark)."
  );
}

function wholeFile(figures: Figure[]): string {
  return [
    "# Benchmarks",
    "",
    header(),
    "",
    "| Figure | Ratio | Target | Command |",
    "|---|---|---|---|",
    ...figures.map(row),
    "",
    "## Details",
    "",
    ...figures.map(detail),
    "",
  ].join("\n");
}

/** Replaces (or adds) the rows and details of `figures` in an existing file, keeping every other row. */
function merged(existing: string, figures: Figure[]): string {
  const lines = existing.split("\n");
  for (const f of figures) {
    for (const [prefix, text, anchor] of [
      [`| ${f.name} |`, row(f), "## Details"],
      [`- **${f.name}**:`, detail(f), undefined],
    ] as const) {
      const at = lines.findIndex((l) => l.startsWith(prefix));
      if (at >= 0) lines[at] = text;
      else if (anchor) lines.splice(lines.indexOf(anchor) - 1, 0, text);
      else lines.splice(lines.length - 1, 0, text);
    }
  }
  const measured = lines.findIndex((l) => l.startsWith("Measured "));
  if (measured >= 0) lines[measured] = header();
  return lines.join("\n");
}

/** Runs the benchmarks (all, or those named: `npm run bench -- doctor`) and writes docs/benchmarks.md. */
async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  const figures: Figure[] = [];
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
    process.stderr.write(`bench: ${name}…\n`);
    figures.push(...(await (BENCHMARKS[name] as () => Promise<Figure[]>)()));
  }
  const out = join(__dirname, "..", "docs", "benchmarks.md");
  await mkdir(join(__dirname, "..", "docs"), { recursive: true });
  const existing = await readFile(out, "utf8").catch(() => undefined);
  const { generated, handMeasured } = splitHandMeasured(existing ?? "");
  const measured = names.length > 0 && existing ? merged(generated, figures) : wholeFile(figures);
  await writeFile(out, measured + handMeasured);
  process.stderr.write(`bench: wrote ${out}\n`);
}

/** Sections measured by hand (the Pulumi CLI build takes minutes), kept from the previous file as they were. */
const HAND_MEASURED = "\n## Measured by hand";

/** The generated part of a benchmarks file and its hand-measured tail ("" when it has none). */
function splitHandMeasured(text: string): { generated: string; handMeasured: string } {
  const at = text.indexOf(HAND_MEASURED);
  return at < 0
    ? { generated: text, handMeasured: "" }
    : { generated: text.slice(0, at), handMeasured: text.slice(at) };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
