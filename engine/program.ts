/**
 * Runs the Pulumi program with the SDK's own runner (`@pulumi/pulumi/cmd/run`), resolved from the
 * program directory so that the program, its SDK and the runner agree, with the flags and
 * environment the Node.js language host would give it.
 */
import { spawn } from "node:child_process";
import * as readline from "node:readline";
import type { LogSink } from "./logs";
import type { Project, StackConfig } from "./project";

export interface ProgramRun {
  project: Project;
  stack: string;
  config: StackConfig;
  monitorAddr: string;
  dryRun: boolean;
  env: Record<string, string>;
  logs: LogSink;
}

export interface ProgramExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export async function runProgram(r: ProgramRun): Promise<ProgramExit> {
  let runner: string;
  try {
    runner = require.resolve("@pulumi/pulumi/cmd/run", { paths: [r.project.pwd] });
  } catch (e) {
    throw new Error(`cannot resolve @pulumi/pulumi/cmd/run from ${r.project.dir}: ${(e as Error).message}`);
  }
  const args = [
    runner,
    `--monitor=${r.monitorAddr}`,
    `--engine=${r.monitorAddr}`,
    `--organization=organization`,
    `--project=${r.project.name}`,
    `--stack=${r.stack}`,
    `--root-directory=${r.project.dir}`,
    `--pwd=${r.project.pwd}`,
    ...(r.dryRun ? ["--dry-run"] : []),
    r.project.program,
  ];
  const child = spawn(process.execPath, args, {
    cwd: r.project.pwd,
    env: {
      ...process.env,
      ...(r.project.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
      ...r.env,
      PULUMI_CONFIG: JSON.stringify(r.config.values),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(r.config.secretKeys),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  readline.createInterface({ input: child.stdout! }).on("line", (line) => r.logs.log("program", line));
  readline.createInterface({ input: child.stderr! }).on("line", (line) => r.logs.log("program", line));
  return new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`cannot start the program runner ${runner}: ${e.message}`)));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
}
