/**
 * Renders the PR comment from per-stack `pulumi preview --json` files:
 *
 *   npm run review -- dev=preview-dev.json prod=preview-prod.json [--protected prod] [--log-url URL]
 *
 * A stack whose `Pulumi.<stack>.yaml` sets `protectMailResources: true` counts as protected without the flag.
 * Prints Markdown on stdout. A file that is not a preview (the preview failed before printing JSON) is named
 * in the comment instead of failing the job that posts it.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { reviewPreview, type StackReview } from "./dns-changes";
import { renderReview } from "./markdown";
import type { PreviewDigest } from "./preview-json";

function main(argv: string[]): number {
  const previews: Array<{ stack: string; file: string }> = [];
  const protectedStacks: string[] = [];
  let logUrl: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--protected") protectedStacks.push(argv[++i] ?? "");
    else if (arg === "--log-url") logUrl = argv[++i];
    else {
      const [stack, file] = arg.split("=", 2);
      if (!stack || !file) {
        console.error(
          `usage: review <stack>=<preview.json>... [--protected <stack>] [--log-url URL] (got "${arg}")`,
        );
        return 2;
      }
      previews.push({ stack, file });
    }
  }
  if (previews.length === 0) {
    console.error("usage: review <stack>=<preview.json>... [--protected <stack>] [--log-url URL]");
    return 2;
  }
  const reviews: StackReview[] = [];
  const failed: string[] = [];
  for (const { stack, file } of previews) {
    try {
      reviews.push(reviewPreview(stack, JSON.parse(readFileSync(file, "utf8")) as PreviewDigest));
    } catch {
      failed.push(stack);
    }
  }
  for (const { stack } of previews) if (protectsMail(stack)) protectedStacks.push(stack);
  let markdown = renderReview(reviews, { protectedStacks, logUrl });
  for (const stack of failed) {
    markdown += `\n### Stack \`${stack}\`\n\nThe preview did not produce a result: see the log for its error.\n`;
  }
  process.stdout.write(markdown);
  return 0;
}

/** Whether the stack file in the working directory turns on `protectMailResources`. */
function protectsMail(stack: string): boolean {
  const file = `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) return false;
  const config = (parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config;
  return String(config?.["auth-email-pipeline:protectMailResources"]) === "true";
}

process.exitCode = main(process.argv.slice(2));
