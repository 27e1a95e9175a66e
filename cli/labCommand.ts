import * as fs from "node:fs";
import * as path from "node:path";
import { deleteSandbox, ensureSandbox, sandboxExists } from "../provider/sandbox/sandboxHost";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import { automationPlan, runAutomation } from "./automation";
import { chooseEngine, findPulumi } from "./engineChoice";
import { findVerifications, formatVerification } from "./labReport";
import { type CommandSpec, UsageError, keyValues, list, nearest, parseCommand, str } from "./args";
import { defaultStackOf, stackFiles, stripAnsi } from "./engineCommand";
import { formatSummary } from "./engineReport";
import { packageRoot } from "./packageInfo";

export const LAB_USAGE = `usage:
  bridgelab up   [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR] [--config key=value]...
  bridgelab down [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR]

  up     creates the sandbox host if needed and brings the lab up on it; prints the outputs
         and the lab's verification
  down   destroys the lab and deletes the sandbox host

  --stack     the lab (Pulumi.<stack>.yaml of the project): default netns-lab
  --dir       the Pulumi project: default bridgelab's built-in labs (basic, netns-lab,
              docker-modes, ecs-bridge-local); a project of yours reads the sandbox host's
              name from config bridgelab:sandbox (connectionFromConfig does)
  --sandbox   the sandbox host: default "bridgelab"
  --engine    pulumi: the Pulumi CLI through the Automation API, local file backend (the default
              when \`pulumi\` is on PATH); bundled: bridgelab's engine (npm run lab)
  --state-dir where state lives: default .bridgelab/ in the current directory
              (pulumi: DIR/backend, a file:// backend; bundled: DIR/<stack>.json)`;

/** bridgelab's built-in lab project (labs/ of the package). */
export const labsDir = path.join(packageRoot(), "labs");

export const labSpec: CommandSpec = {
  name: "bridgelab up",
  usage: LAB_USAGE,
  options: {
    stack: { type: "string" },
    dir: { type: "string" },
    sandbox: { type: "string" },
    engine: { type: "string" },
    "state-dir": { type: "string" },
    config: { type: "string", multiple: true },
  },
};

export interface LabOptions {
  stack: string;
  /** The Pulumi project. */
  dir: string;
  sandbox: string;
  engine?: string;
  stateDir: string;
  config: Record<string, string>;
}

/** The lab `up` brings by default: netns-lab, or the project's only stack. */
export function defaultStack(dir = labsDir): string {
  if (fs.existsSync(path.join(dir, "Pulumi.netns-lab.yaml"))) return "netns-lab";
  return defaultStackOf(dir);
}

/** Parse the flags of `bridgelab up` / `down`; undefined for --help. Throws UsageError on anything else. */
export function parseLabArgs(args: string[], verb: "up" | "down" = "up", cwd = process.cwd()): LabOptions | undefined {
  const spec = { ...labSpec, name: `bridgelab ${verb}` };
  const p = parseCommand(spec, args);
  if (!p) return undefined;
  const dir = path.resolve(cwd, str(p, "dir") ?? labsDir);
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) throw new UsageError(`--dir ${dir} holds no Pulumi.yaml`, spec.name);
  const sandbox = str(p, "sandbox") ?? "bridgelab";
  try {
    assertSandboxName(sandbox);
  } catch (e) {
    throw new UsageError((e as Error).message, spec.name);
  }
  const stack = str(p, "stack") ?? defaultStack(dir);
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '_', '.', '-')`, spec.name);
  if (!fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`))) {
    const known = stackFiles(dir);
    const near = nearest(stack, known);
    throw new UsageError(`--stack ${JSON.stringify(stack)}: no Pulumi.${stack}.yaml in ${dir}${near ? `: did you mean ${near}?` : ""} The labs there are: ${known.join(", ")}`, spec.name);
  }
  return {
    stack,
    dir,
    sandbox,
    engine: str(p, "engine"),
    stateDir: path.resolve(cwd, str(p, "state-dir") ?? ".bridgelab"),
    config: keyValues("config", list(p, "config"), spec.name),
  };
}

/**
 * `bridgelab up` / `down`: the main job. Brings a lab up on a sandbox host (created if
 * needed) and prints its outputs and verification; `down` destroys it and deletes the host.
 */
export async function labCommand(verb: "up" | "down", args: string[]): Promise<number> {
  const opts = parseLabArgs(args, verb);
  if (!opts) {
    console.log(LAB_USAGE);
    return 0;
  }
  const choice = chooseEngine(opts.engine, findPulumi(), verb);
  if ("error" in choice) {
    console.error(`bridgelab ${verb}: ${choice.error}`);
    return 2;
  }
  if (choice.note) console.error(`bridgelab ${verb}: ${choice.note}`);
  const config = { sandbox: opts.sandbox, ...opts.config };
  const what = `lab "${opts.stack}" on sandbox host "${opts.sandbox}"`;

  if (verb === "up") {
    console.error(`bridgelab up: ${what}, with ${choice.engine === "pulumi" ? `the Pulumi CLI (${choice.pulumi})` : "the bundled test engine"}`);
    await ensureSandbox(opts.sandbox);
  } else {
    console.error(`bridgelab down: ${what}`);
  }

  if (verb === "down" && !sandboxExists(opts.sandbox)) {
    // Nothing left to destroy: whatever the lab built went with the sandbox host.
    if (choice.engine === "bundled") {
      fs.rmSync(path.join(opts.stateDir, `${opts.stack}.json`), { force: true });
      console.error(`sandbox host "${opts.sandbox}" does not exist, so nothing of the lab is left; its state is forgotten`);
    } else {
      console.error(`sandbox host "${opts.sandbox}" does not exist, so nothing of the lab is left; forget the stack's state with \`pulumi stack rm --force ${opts.stack}\` (PULUMI_BACKEND_URL=file://${path.join(opts.stateDir, "backend")})`);
    }
    return 0;
  }

  let outputs: Record<string, unknown>;
  if (choice.engine === "pulumi") {
    const plan = automationPlan({ repo: opts.dir, stack: opts.stack, stateDir: opts.stateDir, config });
    try {
      const r = await runAutomation(verb, plan, (text) => process.stderr.write(text));
      outputs = r.outputs;
      if (r.changes) console.error(`changes: ${r.changes}`);
    } catch (e) {
      console.error(`bridgelab ${verb} failed (Pulumi CLI, stack "${opts.stack}", backend ${plan.backendUrl}): ${(e as Error).message}`);
      return 1;
    }
  } else {
    const r = await runBundled(verb, opts, config);
    if (!r) return 1;
    outputs = r;
  }

  if (verb === "up") {
    console.log(JSON.stringify(outputs, null, 2));
    for (const v of findVerifications(outputs)) console.error(formatVerification(v).join("\n"));
    console.error(
      `\n${what} is up. Look inside: npx bridgelab sandbox exec ${opts.sandbox} -- ip -br addr\n` +
        `Draw it: npx bridgelab graph --live --sandbox ${opts.sandbox} > lab.svg\n` +
        `Tear down: ${downCommand(opts, choice.engine)}`,
    );
  } else {
    await deleteSandbox(opts.sandbox);
    console.error(`${what} destroyed; sandbox host "${opts.sandbox}" deleted`);
  }
  return 0;
}

/** The command that takes this lab down again, with the flags that differ from the defaults. */
export function downCommand(opts: LabOptions, engine: "pulumi" | "bundled", cwd = process.cwd()): string {
  const flags: string[] = [];
  if (opts.dir !== labsDir) flags.push("--dir", opts.dir);
  if (opts.stack !== defaultStack(opts.dir)) flags.push("--stack", opts.stack);
  if (opts.sandbox !== "bridgelab") flags.push("--sandbox", opts.sandbox);
  if (opts.stateDir !== path.resolve(cwd, ".bridgelab")) flags.push("--state-dir", opts.stateDir);
  if (engine === "bundled" && inBridgelabCheckout(cwd)) return ["npm run lab:down", ...(flags.length ? ["--", ...flags] : [])].join(" ");
  return ["npx bridgelab down", ...(engine === "bundled" ? ["--engine", "bundled"] : []), ...flags].join(" ");
}

/** Whether `npm run lab:down` works here: the current directory is a checkout of bridgelab itself. */
function inBridgelabCheckout(cwd: string): boolean {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(cwd, "package.json"), "utf8")) as { name?: string; scripts?: Record<string, string> };
    return pkg.name === "bridgelab" && !!pkg.scripts?.["lab:down"];
  } catch {
    return false;
  }
}

/** The bundled test engine; outputs, or undefined after printing why it failed. */
async function runBundled(verb: "up" | "down", opts: LabOptions, config: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  const { runEngine } = await import("../engine/engine");
  const stateFile = path.join(opts.stateDir, `${opts.stack}.json`);
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const summary = await runEngine({
    op: verb === "up" ? "up" : "destroy",
    dir: opts.dir,
    stack: opts.stack,
    stateFile,
    config,
    onLog: (l) => {
      if (!l.startsWith("error: ")) console.error(process.stderr.isTTY ? l : stripAnsi(l));
    },
  });
  process.stderr.write(formatSummary(summary, { outputs: false }));
  if (!summary.ok) {
    console.error(`bridgelab ${verb} failed (bundled engine, state ${stateFile})`);
    if (verb === "down") console.error(`the sandbox host is kept; \`npx bridgelab sandbox delete ${opts.sandbox}\` removes it and everything in it`);
    return undefined;
  }
  return summary.outputs;
}
