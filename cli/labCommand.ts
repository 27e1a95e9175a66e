import * as fs from "node:fs";
import * as path from "node:path";
import { deleteSandbox, ensureSandbox, sandboxExists } from "../provider/sandbox/sandboxHost";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import { automationPlan, runAutomation } from "./automation";
import { chooseEngine, findPulumi } from "./engineChoice";
import { type Verification, findVerifications, formatVerification } from "./labReport";
import { brokenPaths, labProbeType, labState, probeRecorded } from "./labLive";
import type { EngineSummary } from "../engine/types";
import { type CommandSpec, type Parsed, UsageError, keyValues, list, nearest, parseCommand, str } from "./args";
import { defaultStackOf, stackFiles, stripAnsi } from "./engineCommand";
import { formatSummary } from "./engineReport";
import { packageRoot } from "./packageInfo";

export const LAB_USAGE = `usage:
  bridgelab up   [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR] [--config key=value]...
  bridgelab down [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR]

  up     creates the sandbox host if needed and brings the lab up on it: refreshes first (as
         \`pulumi up --refresh\`: what is gone from the host is built again, drift is repaired),
         previews, updates; prints the outputs and the lab's verification, probed on the live
         host during this run. Exits 1 naming each path that is not as expected.
  down   destroys the lab and deletes the sandbox host
  (bridgelab verify probes the lab without changing anything; bridgelab refresh records what
  is on the host in the state)

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

/** Parse the flags of `bridgelab up` / `down` / `refresh`; undefined for --help. Throws UsageError on anything else. */
export function parseLabArgs(args: string[], verb: "up" | "down" | "refresh" = "up", cwd = process.cwd()): LabOptions | undefined {
  const spec = { ...labSpec, name: `bridgelab ${verb}` };
  const p = parseCommand(spec, args);
  if (!p) return undefined;
  return labOptionsFrom(p, spec.name, cwd);
}

/** The lab options out of parsed flags (those of labSpec a command has), checked. */
export function labOptionsFrom(p: Parsed, command: string, cwd = process.cwd()): LabOptions {
  const spec = { name: command };
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

  // Whatever the lab built in a sandbox host that is gone went with it: the destroy below forgets
  // those resources (the providers take a gone sandbox host as empty) and still destroys what the
  // lab has on other hosts, or fails naming a host it cannot reach.
  const sandboxGone = verb === "down" && !sandboxExists(opts.sandbox);
  if (sandboxGone) console.error(`sandbox host "${opts.sandbox}" does not exist, so nothing of the lab is left there; the destroy forgets it`);

  let outputs: Record<string, unknown>;
  /** What the update did to each resource (up): to tell whether the verification probed the lab as up left it. */
  let steps: Step[] = [];
  if (choice.engine === "pulumi") {
    const plan = automationPlan({ repo: opts.dir, stack: opts.stack, stateDir: opts.stateDir, config });
    try {
      const r = await runAutomation(verb, plan, (text) => process.stderr.write(text));
      outputs = r.outputs;
      steps = r.steps;
      if (r.changes) console.error(`changes: ${r.changes}`);
    } catch (e) {
      console.error(`bridgelab ${verb} failed (Pulumi CLI, stack "${opts.stack}", backend ${plan.backendUrl}): ${(e as Error).message}`);
      return 1;
    }
  } else {
    const r = await runBundled(verb === "up" ? "up" : "destroy", opts, config);
    if (!r) return 1;
    outputs = r.outputs;
    steps = r.resources;
  }

  if (verb === "up") {
    console.log(JSON.stringify(outputs, null, 2));
    const verified = await liveVerification(opts, choice.engine, outputs, steps);
    for (const line of verified.lines) console.error(line);
    if (!verified.ok) {
      console.error(`\nbridgelab up: ${what} is up, but not every path is as expected (probed just now):\n${brokenPaths(verified.verifications).join("\n")}`);
      return 1;
    }
    console.error(
      `\n${what} is up. Look inside: npx bridgelab sandbox exec ${opts.sandbox} -- ip -br addr\n` +
        `Draw it: npx bridgelab graph --live --sandbox ${opts.sandbox} > lab.svg\n` +
        `Probe it again: ${labCommandLine("verify", opts, choice.engine)}\n` +
        `Tear down: ${downCommand(opts, choice.engine)}`,
    );
  } else if (sandboxGone) {
    console.error(`${what} destroyed (the sandbox host was gone already)`);
  } else {
    await deleteSandbox(opts.sandbox);
    console.error(`${what} destroyed; sandbox host "${opts.sandbox}" deleted`);
  }
  return 0;
}

/** One resource's step in an update: its type and what was done ("same", "create", "update"…). */
export interface Step {
  type: string;
  op: string;
}

const unchangedOps = new Set(["same", "read", "refresh", "gone"]);
const probedOps = new Set(["create", "update", "replace", "create-replacement"]);

/**
 * Where the verification an up prints comes from, given what the update did: "update" (a
 * LabProbe ran in it, after the changes it depends on), "refresh" (nothing changed: the
 * LabProbes' reads at the refresh that starts every up probed the host), or "stale" (other
 * resources changed after that refresh and no LabProbe ran again). Pure.
 */
export function verificationSource(steps: Step[]): "update" | "refresh" | "stale" {
  if (steps.some((s) => s.type === labProbeType && probedOps.has(s.op))) return "update";
  const changed = steps.some((s) => s.type !== labProbeType && s.type !== "pulumi:pulumi:Stack" && !unchangedOps.has(s.op));
  return changed ? "stale" : "refresh";
}

/**
 * The verification `bridgelab up` prints is a probe of the host made during this run, never the
 * matrix stored at an earlier one: up refreshes first, so every LabProbe probed the host in this
 * run (its read at the refresh, or its create or update after the changes). When the update
 * changed other resources after the refresh and no LabProbe ran again, the paths are probed once
 * more now (LabProbe's own probes, on the state's connection), so the matrix shows the lab as up
 * left it; a path not as expected then fails the up.
 */
async function liveVerification(
  opts: LabOptions,
  engine: "pulumi" | "bundled",
  outputs: Record<string, unknown>,
  steps: Step[],
): Promise<{ lines: string[]; ok: boolean; verifications: Verification[] }> {
  const source = verificationSource(steps);
  let verifications = findVerifications(outputs);
  let note: string;
  if (source === "stale") {
    const state = await labState(opts, engine);
    const probed = state ? await probeRecorded(state.resources) : [];
    if (probed.length > 0) verifications = probed;
    note = "the update changed the lab after this run's refresh probed it, so its paths were probed again just now";
  } else {
    note = source === "update" ? "paths probed on the host by this run's update, after its changes" : "paths probed on the host by this run's refresh (nothing needed changing)";
  }
  if (verifications.length === 0) return { lines: [], ok: true, verifications };
  const lines = [`(${note})`, ...verifications.flatMap((v) => formatVerification(v))];
  return { lines, ok: verifications.every((v) => v.matrix.every((r) => r.ok)), verifications };
}

/** The command that takes this lab down again, with the flags that differ from the defaults. */
export function downCommand(opts: LabOptions, engine: "pulumi" | "bundled", cwd = process.cwd()): string {
  const flags = labFlags(opts, cwd);
  if (engine === "bundled" && inBridgelabCheckout(cwd)) return ["npm run lab:down", ...(flags.length ? ["--", ...flags] : [])].join(" ");
  return labCommandLine("down", opts, engine, cwd);
}

/** `npx bridgelab VERB` for this lab, with the flags that differ from the defaults. */
export function labCommandLine(verb: string, opts: LabOptions, engine: "pulumi" | "bundled", cwd = process.cwd()): string {
  return [`npx bridgelab ${verb}`, ...(engine === "bundled" ? ["--engine", "bundled"] : []), ...labFlags(opts, cwd)].join(" ");
}

function labFlags(opts: LabOptions, cwd: string): string[] {
  const flags: string[] = [];
  if (opts.dir !== labsDir) flags.push("--dir", opts.dir);
  if (opts.stack !== defaultStack(opts.dir)) flags.push("--stack", opts.stack);
  if (opts.sandbox !== "bridgelab") flags.push("--sandbox", opts.sandbox);
  if (opts.stateDir !== path.resolve(cwd, ".bridgelab")) flags.push("--state-dir", opts.stateDir);
  return flags;
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

/**
 * The bundled test engine: `up` refreshes first (as \`pulumi up --refresh\`), then previews and
 * updates. The summary, or undefined after printing why it failed.
 */
export async function runBundled(op: "up" | "destroy" | "refresh", opts: LabOptions, config: Record<string, string>): Promise<EngineSummary | undefined> {
  const { runEngine } = await import("../engine/engine");
  const stateFile = path.join(opts.stateDir, `${opts.stack}.json`);
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const summary = await runEngine({
    op,
    dir: opts.dir,
    stack: opts.stack,
    stateFile,
    config,
    refresh: op === "up",
    onLog: (l) => {
      if (!l.startsWith("error: ")) console.error(process.stderr.isTTY ? l : stripAnsi(l));
    },
  });
  process.stderr.write(formatSummary(summary, { outputs: false }));
  if (!summary.ok) {
    const verb = op === "destroy" ? "down" : op;
    console.error(`bridgelab ${verb} failed (bundled engine, state ${stateFile})`);
    if (op === "destroy") console.error(`the sandbox host is kept; \`npx bridgelab sandbox delete ${opts.sandbox}\` removes it and everything in it`);
    return undefined;
  }
  return summary;
}
