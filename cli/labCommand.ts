import * as fs from "node:fs";
import * as path from "node:path";
import { deleteSandbox, ensureSandbox, sandboxExists } from "../provider/sandbox/sandboxHost";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import { automationPlan, runAutomation } from "./automation";
import { chooseEngine, findPulumi } from "./engineChoice";
import { findVerifications, formatVerification } from "./labReport";
import { readFlag } from "./flags";

export const LAB_USAGE = `usage:
  bridgelab up   [--stack NAME] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR] [--config key=value]...
  bridgelab down [--stack NAME] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR]

  up     creates the sandbox host if needed and brings the lab up on it; prints the outputs
         and the lab's verification
  down   destroys the lab and deletes the sandbox host

  --stack     the lab (Pulumi.<stack>.yaml): default netns-lab (basic until it exists)
  --sandbox   the sandbox host: default "bridgelab"
  --engine    pulumi: the Pulumi CLI through the Automation API, local file backend (the default
              when \`pulumi\` is on PATH); bundled: the bundled test engine (npm run lab)
  --state-dir where state lives: default .bridgelab/ in the repository
              (pulumi: DIR/backend, a file:// backend; bundled: DIR/<stack>.json)`;

const repo = path.resolve(__dirname, "..");

export interface LabOptions {
  stack: string;
  sandbox: string;
  engine?: string;
  stateDir: string;
  config: Record<string, string>;
}

/** The lab `up` brings by default: netns-lab, or basic while the repository has no netns-lab stack. */
export function defaultStack(dir = repo): string {
  return fs.existsSync(path.join(dir, "Pulumi.netns-lab.yaml")) ? "netns-lab" : "basic";
}

/** Parse `--flag value` / `--flag=value`; --config may repeat. Throws on anything else. */
export function parseLabArgs(args: string[], dir = repo): LabOptions {
  const opts: LabOptions = { stack: "", sandbox: "bridgelab", stateDir: path.join(dir, ".bridgelab"), config: {} };
  for (let i = 0; i < args.length; i++) {
    const flag = readFlag(args, i);
    const { name, value } = flag;
    i = flag.last;
    if (!["--stack", "--sandbox", "--engine", "--state-dir", "--config"].includes(name)) throw new Error(`unknown argument ${JSON.stringify(name)}`);
    if (value === undefined || value === "") throw new Error(`${name} needs a value`);
    switch (name) {
      case "--stack":
        if (!/^[A-Za-z0-9_.-]{1,100}$/.test(value)) throw new Error(`--stack ${JSON.stringify(value)} is not a stack name (letters, digits, '_', '.', '-')`);
        opts.stack = value;
        break;
      case "--sandbox":
        assertSandboxName(value);
        opts.sandbox = value;
        break;
      case "--engine":
        opts.engine = value;
        break;
      case "--state-dir":
        opts.stateDir = path.resolve(value);
        break;
      case "--config": {
        const kv = value.indexOf("=");
        if (kv <= 0) throw new Error(`--config expects key=value, got ${JSON.stringify(value)}`);
        opts.config[value.slice(0, kv)] = value.slice(kv + 1);
        break;
      }
    }
  }
  if (!opts.stack) opts.stack = defaultStack(dir);
  if (!fs.existsSync(path.join(dir, `Pulumi.${opts.stack}.yaml`))) {
    const known = fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    throw new Error(`--stack ${JSON.stringify(opts.stack)}: no Pulumi.${opts.stack}.yaml in ${dir}; the labs here are: ${known.join(", ")}`);
  }
  return opts;
}

/**
 * `bridgelab up` / `down`: the main job. Brings a lab up on a sandbox host (created if
 * needed) and prints its outputs and verification; `down` destroys it and deletes the host.
 */
export async function labCommand(verb: "up" | "down", args: string[]): Promise<number> {
  let opts: LabOptions;
  try {
    opts = parseLabArgs(args);
  } catch (e) {
    console.error(`bridgelab ${verb}: ${(e as Error).message}\n\n${LAB_USAGE}`);
    return 2;
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
    const plan = automationPlan({ repo, stack: opts.stack, stateDir: opts.stateDir, config });
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
export function downCommand(opts: LabOptions, engine: "pulumi" | "bundled", dir = repo): string {
  const flags: string[] = [];
  if (opts.stack !== defaultStack(dir)) flags.push("--stack", opts.stack);
  if (opts.sandbox !== "bridgelab") flags.push("--sandbox", opts.sandbox);
  if (opts.stateDir !== path.join(dir, ".bridgelab")) flags.push("--state-dir", opts.stateDir);
  if (engine === "bundled") return ["npm run lab:down", ...(flags.length ? ["--", ...flags] : [])].join(" ");
  return ["npx bridgelab down", ...flags].join(" ");
}

/** The bundled test engine; outputs, or undefined after printing why it failed. */
async function runBundled(verb: "up" | "down", opts: LabOptions, config: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  const { runEngine } = await import("../test/engine/engine");
  const stateFile = path.join(opts.stateDir, `${opts.stack}.json`);
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const summary = await runEngine({
    op: verb === "up" ? "up" : "destroy",
    dir: repo,
    stack: opts.stack,
    stateFile,
    config,
    // The program is type-checked by `npm run build`; here it is only transpiled, which is faster.
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true" },
    onLog: (l) => console.error(l),
  });
  for (const r of summary.resources) console.error(`  ${r.op.padEnd(8)} ${r.type.replace("pulumi-nodejs:dynamic/", "")} ${r.name}${r.error ? `: ${r.error}` : ""}`);
  if (!summary.ok) {
    console.error(`bridgelab ${verb} failed (bundled engine, state ${stateFile}): ${summary.error}`);
    if (verb === "down") console.error(`the sandbox host is kept; \`npx bridgelab sandbox delete ${opts.sandbox}\` removes it and everything in it`);
    return undefined;
  }
  return summary.outputs;
}
