import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PulumiWorkspace, type StackExport } from "../../src/sandbox/engine/pulumi-cli";
import { describeWithEngine } from "../support/pulumi-engine";

const ROOT = join(__dirname, "..", "..");
const TOKEN = "tok-4f1c9e-never-in-plaintext";

// A dynamic resource that keeps its "cloud object" in a file, so each engine step has an effect to check.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";

interface GreetingInputs { file: string; greeting: string; token: string }

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: GreetingInputs) {
    require("node:fs").writeFileSync(inputs.file, JSON.stringify({ greeting: inputs.greeting, writes: 1 }));
    return { id: "greeting-" + require("node:path").basename(inputs.file), outs: { ...inputs, writes: 1 } };
  },
  async diff(_id: string, olds: GreetingInputs, news: GreetingInputs) {
    const changed = (["file", "greeting", "token"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: changed.length > 0, replaces: changed.filter((k) => k === "file") };
  },
  async update(_id: string, olds: GreetingInputs & { writes: number }, news: GreetingInputs) {
    const writes = olds.writes + 1;
    require("node:fs").writeFileSync(news.file, JSON.stringify({ greeting: news.greeting, writes }));
    return { outs: { ...news, writes } };
  },
  async delete(_id: string, props: GreetingInputs) {
    require("node:fs").rmSync(props.file, { force: true });
  },
};

class Greeting extends pulumi.dynamic.Resource {
  declare readonly greeting: pulumi.Output<string>;
  declare readonly writes: pulumi.Output<number>;
  constructor(name: string, args: { file: string; greeting: string; token: pulumi.Input<string> }) {
    super(provider, name, { ...args, writes: undefined }, {});
  }
}

const config = new pulumi.Config();
const greeting = new Greeting("hello", {
  file: config.require("file"),
  greeting: config.require("greeting"),
  token: config.requireSecret("token"),
});
export const text = greeting.greeting;
export const writes = greeting.writes;
`;

describeWithEngine("the real Pulumi engine runs a TypeScript program", (toolsBin) => {
  let work: string;
  let cloudFile: string;
  let pulumi: PulumiWorkspace;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "engine-smoke-"));
    const project = join(work, "project");
    cloudFile = join(work, "cloud-object.json");
    await mkdir(project);
    await writeFile(join(project, "Pulumi.yaml"), "name: engine-smoke\nruntime:\n  name: nodejs\n");
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({ name: "engine-smoke", main: "index.ts" }),
    );
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "es2022",
          module: "nodenext",
          types: ["node"],
          skipLibCheck: true,
        },
      }),
    );
    await writeFile(join(project, "index.ts"), PROGRAM);
    await symlink(join(ROOT, "node_modules"), join(project, "node_modules"));
    pulumi = await PulumiWorkspace.create({
      toolsBin,
      projectDir: project,
      passphrase: "smoke-test-passphrase",
    });
    await pulumi.run(["stack", "init", "smoke"]);
    await pulumi.run(["config", "set", "file", cloudFile]);
    await pulumi.run(["config", "set", "greeting", "hello"]);
    await pulumi.run(["config", "set", "--secret", "token", TOKEN]);
  }, 60_000);

  afterAll(async () => {
    await pulumi?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const greetingState = (state: StackExport) => {
    const resources = state.deployment.resources ?? [];
    return resources.find((r) => r.type === "pulumi-nodejs:dynamic:Resource");
  };

  it("creates, leaves alone, updates in place and destroys, as the state and the object show", async () => {
    // Home and state are the workspace's own, never ~/.pulumi.
    expect(pulumi.environment.PULUMI_HOME).toBe(join(pulumi.dir, "home"));

    await pulumi.run(["up", "--yes"]);
    expect(JSON.parse(readFileSync(cloudFile, "utf8"))).toEqual({ greeting: "hello", writes: 1 });
    const created = greetingState(await pulumi.exportStack());
    expect(created?.id).toBe("greeting-cloud-object.json");
    expect(created?.outputs).toMatchObject({ greeting: "hello", writes: 1, file: cloudFile });

    // The secret config value is stored encrypted: the envelope is there, the plaintext nowhere.
    const stateText = JSON.stringify(await pulumi.exportStack());
    expect(stateText).not.toContain(TOKEN);
    expect(created?.outputs?.token).toMatchObject({ "4dabf18193072939515e22adb298388d": expect.any(String) });

    // Nothing changed: preview must say so (it exits non-zero on any planned change).
    await pulumi.run(["preview", "--expect-no-changes"]);

    await pulumi.run(["config", "set", "greeting", "bonjour"]);
    await expect(pulumi.run(["preview", "--expect-no-changes"])).rejects.toThrow(
      /no changes were expected for preview but changes were proposed/,
    );
    const update = await pulumi.run(["up", "--yes"]);
    expect(update.stdout).toMatch(/~ 1 updated/);
    expect(JSON.parse(readFileSync(cloudFile, "utf8"))).toEqual({ greeting: "bonjour", writes: 2 });
    const updated = greetingState(await pulumi.exportStack());
    expect(updated?.id).toBe(created?.id);
    expect(updated?.outputs).toMatchObject({ greeting: "bonjour", writes: 2 });

    await pulumi.run(["destroy", "--yes"]);
    expect(existsSync(cloudFile)).toBe(false);
    expect((await pulumi.exportStack()).deployment.resources ?? []).toEqual([]);
  }, 180_000);
});
