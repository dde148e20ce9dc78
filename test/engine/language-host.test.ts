import { join } from "node:path";
import { ProgramInfo, RunRequest } from "@pulumi/pulumi/proto/language_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { describe, expect, it } from "vitest";
import { configEnv, runArguments, runtimeOptions } from "../../src/sandbox/engine/language-host";
import { findPulumiPlugins } from "../../src/sandbox/engine/required-plugins";

const ROOT = join(__dirname, "..", "..");

describe("the Node.js language host's contract with @pulumi/pulumi's run script", () => {
  it("passes the engine's RunRequest as the flags cmd/run reads, entry point last", () => {
    const info = new ProgramInfo()
      .setRootDirectory("/project")
      .setProgramDirectory("/checkout/infra")
      .setEntryPoint(".");
    const req = new RunRequest()
      .setMonitorAddress("127.0.0.1:4001")
      .setOrganization("organization")
      .setProject("auth-email-pipeline")
      .setStack("sandbox")
      .setPwd("/checkout/infra")
      .setDryrun(true)
      .setParallel(16)
      .setInfo(info)
      .setArgsList(["extra"]);
    expect(runArguments(req, "/nm/@pulumi/pulumi/cmd/run/index.js", "127.0.0.1:4000")).toEqual([
      "/nm/@pulumi/pulumi/cmd/run/index.js",
      "--monitor",
      "127.0.0.1:4001",
      "--engine",
      "127.0.0.1:4000",
      "--organization",
      "organization",
      "--project",
      "auth-email-pipeline",
      "--stack",
      "sandbox",
      "--pwd",
      "/checkout/infra",
      "--root-directory",
      "/project",
      "--dry-run",
      "--parallel",
      "16",
      ".",
      "extra",
    ]);
  });

  it("hands the config and its secret keys over as PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS", () => {
    const req = new RunRequest().setConfigsecretkeysList(["auth-email-pipeline:resendApiKey"]);
    req.getConfigMap().set("auth-email-pipeline:resendApiKey", "re_x").set("aws:region", "us-east-1");
    expect(configEnv(req)).toEqual({
      PULUMI_CONFIG: JSON.stringify({
        "auth-email-pipeline:resendApiKey": "re_x",
        "aws:region": "us-east-1",
      }),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(["auth-email-pipeline:resendApiKey"]),
    });
  });

  it("reads the project's runtime options: TypeScript on unless turned off, tsconfig, node arguments", () => {
    expect(runtimeOptions(undefined)).toEqual({ typescript: true, tsconfig: undefined, nodeargs: [] });
    expect(
      runtimeOptions(
        Struct.fromJavaScript({
          typescript: false,
          tsconfig: "tsconfig.pulumi.json",
          nodeargs: "--inspect  --trace-warnings",
        }),
      ),
    ).toEqual({
      typescript: false,
      tsconfig: "tsconfig.pulumi.json",
      nodeargs: ["--inspect", "--trace-warnings"],
    });
  });

  it("names the resource plugins the installed packages declare, as the engine asks before a run", async () => {
    const plugins = await findPulumiPlugins(join(ROOT, "infra"));
    const versionOf = (pkg: string) =>
      (require(`@pulumi/${pkg}/package.json`) as { version: string }).version;
    expect(plugins).toEqual(
      expect.arrayContaining([
        { name: "aws", version: `v${versionOf("aws")}` },
        { name: "cloudflare", version: `v${versionOf("cloudflare")}` },
      ]),
    );
    expect(plugins.map((p) => p.name)).not.toContain("pulumi");
  });
});
