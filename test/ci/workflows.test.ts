import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bundleBridge } from "../../src/bridge/bundle";

const ROOT = join(__dirname, "..", "..");
const workflow = (name: string) =>
  parse(readFileSync(join(ROOT, ".github", "workflows", name), "utf8")) as {
    on: Record<string, { paths?: string[] } | null>;
    jobs: Record<
      string,
      {
        strategy?: { matrix: { stack: string[] } };
        steps?: Step[];
        uses?: string;
        with?: Record<string, string>;
        needs?: string;
      }
    >;
  };
type Step = { uses?: string; run?: string; with?: Record<string, unknown> };

/** GitHub Actions expression syntax, not a JS template. */
const MATRIX_STACK = ["$", "{{ matrix.stack }}"].join("");

// The sandbox stack is deployed only into the local cloud (`npm run sandbox`), never by CI.
const LOCAL_ONLY_STACKS = ["sandbox"];

const WORKFLOW_FILES = readdirSync(join(ROOT, ".github", "workflows")).filter((f) => f.endsWith(".yml"));
const workflowText = (name: string) => readFileSync(join(ROOT, ".github", "workflows", name), "utf8");

const stacks = readdirSync(ROOT)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined && !LOCAL_ONLY_STACKS.includes(stack))
  .sort();

describe("CI workflows", () => {
  it.each(WORKFLOW_FILES)("%s is a valid workflow (schema linter)", (file) => {
    expect(validateWorkflow(workflowText(file)).errors).toEqual([]);
  });

  it("the linter catches a misspelt key, so a clean result means something", () => {
    const broken = workflowText("preview.yml").replace("runs-on:", "runs_on:");
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it.each(WORKFLOW_FILES)("%s pins every action to a full commit SHA", (file) => {
    const uses = [...workflowText(file).matchAll(/^\s*-?\s*uses:\s*(\S+)/gm)].map((m) => m[1] as string);
    const unpinned = uses.filter((ref) => !ref.startsWith("./") && !/@[0-9a-f]{40}$/.test(ref));
    expect(unpinned).toEqual([]);
  });

  it.each(WORKFLOW_FILES)("%s references only scripts and test paths that exist", (file) => {
    const text = workflowText(file);
    const referenced = [
      ...[...text.matchAll(/npx tsx (\S+)/g)].map((m) => m[1] as string),
      ...[...text.matchAll(/npx vitest run ([^\n]+)/g)].flatMap((m) => (m[1] as string).trim().split(/\s+/)),
      ...[...text.matchAll(/uses: (\.\/\S+)/g)].map((m) => m[1] as string),
      ...[...text.matchAll(/node-version-file: (\S+)/g)].map((m) => m[1] as string),
    ];
    expect(referenced.length).toBeGreaterThan(0);
    expect(referenced.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it("hand every job that runs pulumi the secrets the stack check asks for", () => {
    for (const file of ["preview.yml", "deploy-stack.yml"]) {
      const job = Object.values(workflow(file).jobs)[0];
      const steps = (job?.steps ?? []) as Array<Step & { env?: Record<string, string> }>;
      const check = steps.find((s) => s.run?.includes("scripts/ci/require-secrets.ts"));
      const pulumi = steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
      const secretNames = (env: Record<string, string> | undefined) =>
        Object.entries(env ?? {})
          .filter(([, value]) => value.includes("secrets."))
          .map(([name]) => name)
          .sort();
      expect(secretNames(check?.env), file).toEqual(secretNames(pulumi?.env));
      expect(steps.indexOf(check as Step), file).toBeLessThan(steps.indexOf(pulumi as Step));
    }
  });

  it("run the prod preview and every deploy under a per-stack environment, deploys only from main", () => {
    const preview = workflow("preview.yml").jobs.preview as { environment?: string };
    expect(preview.environment).toBe(`preview-${MATRIX_STACK}`);
    const deploy = workflow("deploy-stack.yml").jobs.up as { environment?: string; if?: string };
    expect(deploy.environment).toBe(["$", "{{ inputs.stack }}"].join(""));
    expect(deploy.if).toBe("github.ref == 'refs/heads/main'");
  });

  it("preview every stack on pull requests and comment the diff", () => {
    const preview = workflow("preview.yml");
    expect(Object.keys(preview.on)).toEqual(["pull_request"]);
    const job = preview.jobs.preview;
    expect([...(job?.strategy?.matrix.stack ?? [])].sort()).toEqual(stacks);
    const steps = job?.steps ?? [];
    const pulumi = steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(pulumi?.with).toMatchObject({ command: "preview", "stack-name": MATRIX_STACK });
    // The PR comment is the DNS review rendered from the preview's JSON, not the action's cut-off diff.
    expect(pulumi?.with?.["comment-on-pr"]).toBeUndefined();
    const review = steps.find((s) => s.run?.includes("src/review/cli.ts"));
    expect(review?.run).toContain("pulumi preview --stack");
    expect(review?.run).toContain("--json");
    const post = steps.find((s) => s.run?.includes("dns-review:$STACK"));
    expect(steps.indexOf(post as Step)).toBeGreaterThan(steps.indexOf(review as Step));
    expect(steps.indexOf(review as Step)).toBeGreaterThan(steps.indexOf(pulumi as Step));
    // The action does not install dependencies; npm ci must come before it.
    expect(steps.findIndex((s) => s.run?.startsWith("npm ci"))).toBeLessThan(steps.indexOf(pulumi as Step));
  });

  it("deploy every stack from main, dev before prod", () => {
    const up = workflow("up.yml");
    expect(up.on.push).toMatchObject({ branches: ["main"] });
    const deployed = Object.values(up.jobs).map((job) => job.with?.stack);
    expect([...deployed].sort()).toEqual(stacks);
    expect(up.jobs.prod?.needs).toBe("dev");
    const steps = workflow("deploy-stack.yml").jobs.up?.steps ?? [];
    expect(steps.find((s) => s.uses?.startsWith("pulumi/actions@"))?.with).toMatchObject({
      command: "up",
      policyPacks: "policy",
    });
  });

  it("run when any file the deployed bridge bundle is built from changes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "workflow-bundle-"));
    try {
      const { metafile } = await bundleBridge(dir);
      // Dependencies are covered by package-lock.json; esbuild's stubs are not files.
      const sources = Object.keys(metafile.inputs).filter(
        (f) => !f.includes("node_modules") && !f.includes(":"),
      );
      expect(sources.length).toBeGreaterThan(0);
      for (const [file, event] of [
        ["preview.yml", "pull_request"],
        ["up.yml", "push"],
      ] as const) {
        const patterns = workflow(file).on[event]?.paths ?? [];
        const uncovered = sources.filter((source) => !patterns.some((p) => globMatches(p, source)));
        expect(uncovered, `${file} paths`).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

/** GitHub's path filter globs as far as the workflows use them: `**` crosses directories, `*` does not. */
function globMatches(pattern: string, path: string): boolean {
  const source = pattern
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((text) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*"),
    )
    .join(".*");
  return new RegExp(`^${source}$`).test(path);
}
