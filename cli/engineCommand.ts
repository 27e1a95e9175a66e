import * as fs from "node:fs";
import * as path from "node:path";
import { runEngine } from "../engine/engine";
import { loadProject } from "../engine/project";
import type { EngineSummary, Operation } from "../engine/types";
import { type CommandSpec, UsageError, flag, keyValues, list, parseCommand, str } from "./args";
import { formatSummary } from "./engineReport";

export const ENGINE_USAGE = `usage: bridgelab engine up|preview|refresh|destroy [options]

  Runs the Pulumi project in the current directory (its Pulumi.yaml and Pulumi.<stack>.yaml) as
  \`pulumi up|preview|refresh|destroy\` would, for machines without the Pulumi CLI: the project's
  own program runner and dynamic-provider plugin behind bridgelab's engine, state in a JSON file.
  \`up\` previews first and changes nothing when the preview fails (--skip-preview skips it).

  --dir DIR          the Pulumi project (default: the current directory)
  --stack NAME       the stack (default: the only Pulumi.<stack>.yaml, else "dev")
  --state FILE       the state file (default: DIR/.bridgelab/<stack>.json; secrets in it are
                     encrypted with BRIDGELAB_ENGINE_PASSPHRASE, or a key file beside it)
  --config KEY=VALUE stack config, over Pulumi.<stack>.yaml (repeatable; KEY or NS:KEY)
  --secret KEY=VALUE secret stack config (repeatable; never printed, encrypted in state)
  --skip-preview     up without the preview pass (faster; a bad input found late leaves what
                     was created before it)
  --refresh          up, preview: refresh first (as \`pulumi up --refresh\`): read every resource
                     on its host, drop what is gone and record drift, then preview and update
                     against that, so what was deleted or changed by hand is repaired
  --json             print the run's summary as JSON on stdout instead of the report`;

const operations: Operation[] = ["up", "preview", "refresh", "destroy"];

export const engineSpec: CommandSpec = {
  name: "bridgelab engine",
  usage: ENGINE_USAGE,
  options: {
    dir: { type: "string" },
    stack: { type: "string" },
    state: { type: "string" },
    config: { type: "string", multiple: true },
    secret: { type: "string", multiple: true },
    "skip-preview": { type: "boolean" },
    refresh: { type: "boolean" },
    json: { type: "boolean" },
  },
  positionals: { min: 1, max: 1 },
};

export interface EngineCommandOptions {
  op: Operation;
  dir: string;
  stack: string;
  stateFile: string;
  config: Record<string, string>;
  secretConfig: Record<string, string>;
  skipPreview: boolean;
  refresh: boolean;
  json: boolean;
}

/** The stack to use when none is named: the project's only Pulumi.<stack>.yaml, else "dev". */
export function defaultStackOf(dir: string): string {
  const stacks = stackFiles(dir);
  if (stacks.length === 1) return stacks[0];
  if (stacks.length > 1) {
    throw new UsageError(`${dir} has several stacks (${stacks.join(", ")}): choose one with --stack NAME`, engineSpec.name);
  }
  return "dev";
}

export function stackFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^Pulumi\.[^.].*\.yaml$/.test(f))
    .map((f) => f.slice("Pulumi.".length, -".yaml".length))
    .sort();
}

export function parseEngineArgs(argv: string[], cwd = process.cwd()): EngineCommandOptions | undefined {
  const p = parseCommand(engineSpec, argv);
  if (!p) return undefined;
  const op = p.positionals[0] as Operation;
  if (!operations.includes(op)) throw new UsageError(`unknown operation ${JSON.stringify(op)}: choose up, preview, refresh or destroy`, engineSpec.name);
  const dir = path.resolve(cwd, str(p, "dir") ?? ".");
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    throw new UsageError(`${dir} holds no Pulumi.yaml: run this in a Pulumi project's directory, or give --dir (\`npx bridgelab new DIR\` makes one)`, engineSpec.name);
  }
  const stack = str(p, "stack") ?? defaultStackOf(dir);
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '_', '.', '-')`, engineSpec.name);
  const state = str(p, "state");
  if (flag(p, "refresh") && op !== "up" && op !== "preview") throw new UsageError(`--refresh goes with up or preview (\`bridgelab engine refresh\` refreshes alone)`, engineSpec.name);
  return {
    op,
    dir,
    stack,
    stateFile: state ? path.resolve(cwd, state) : path.join(dir, ".bridgelab", `${stack}.json`),
    config: keyValues("config", list(p, "config"), engineSpec.name),
    secretConfig: keyValues("secret", list(p, "secret"), engineSpec.name),
    skipPreview: flag(p, "skip-preview"),
    refresh: flag(p, "refresh"),
    json: flag(p, "json"),
  };
}

/** `bridgelab engine OP`: the report (or --json summary) on stdout, the run's log on stderr. */
export async function engineCommand(argv: string[]): Promise<number> {
  const opts = parseEngineArgs(argv);
  if (!opts) {
    console.log(ENGINE_USAGE);
    return 0;
  }
  const project = loadProject(opts.dir);
  const tty = process.stderr.isTTY === true;
  if (!opts.json) console.error(`bridgelab engine ${opts.op}: stack "${opts.stack}" of project "${project.name}" (${opts.dir}), state ${path.relative(process.cwd(), opts.stateFile) || opts.stateFile}`);
  const summary: EngineSummary = await runEngine({
    op: opts.op,
    dir: opts.dir,
    stack: opts.stack,
    stateFile: opts.stateFile,
    config: opts.config,
    secretConfig: opts.secretConfig,
    skipPreview: opts.skipPreview,
    refresh: opts.refresh,
    // Errors are printed once, at the end of the report; the log shows the rest as it happens.
    onLog: (line) => {
      if (!opts.json && line.startsWith("error: ")) return;
      process.stderr.write(`${tty ? line : stripAnsi(line)}\n`);
    },
  });
  if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  else process.stdout.write(formatSummary(summary));
  return summary.ok ? 0 : 1;
}

/** Terminal colour codes out of text bound for a file or a pipe. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}
