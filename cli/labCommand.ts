import * as fs from "node:fs";
import * as path from "node:path";
import { ensureSandbox, deleteSandbox } from "../provider/sandbox/sandboxHost";

export const LAB_USAGE = `usage:
  bridgelab up   [--stack basic] [--sandbox bridgelab] --engine bundled   bring the lab up on a sandbox host
  bridgelab down [--stack basic] [--sandbox bridgelab] --engine bundled   destroy it and the sandbox host`;

const repo = path.resolve(__dirname, "..");

function hasPulumiCli(): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, "pulumi")));
}

function flag(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

/**
 * `bridgelab up` / `down`: the main job. State goes to .bridgelab/STACK.json in the repo.
 * Runs on the bundled test engine (the real Pulumi runner and plugin, a stand-in engine)
 * when asked to explicitly; the Pulumi CLI path is `pulumi up` on the same stack files.
 */
export async function labCommand(verb: "up" | "down", args: string[]): Promise<number> {
  const stack = flag(args, "stack", "basic");
  const sandbox = flag(args, "sandbox", "bridgelab");
  const engineChoice = flag(args, "engine", "");
  if (engineChoice !== "bundled") {
    const why = hasPulumiCli()
      ? `the Pulumi CLI is installed: run \`pulumi login --local && pulumi stack select --create ${stack} && pulumi ${verb === "up" ? "up" : "destroy"}\`, or`
      : "no Pulumi CLI is installed here (it is a binary download), so";
    console.error(`bridgelab ${verb}: ${why} choose the bundled test engine explicitly with \`--engine bundled\` (that is what \`npm run lab\` does).`);
    return 2;
  }
  const { runEngine } = await import("../test/engine/engine");
  const stateFile = path.join(repo, ".bridgelab", `${stack}.json`);
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  if (verb === "up") await ensureSandbox(sandbox);
  const summary = await runEngine({
    op: verb === "up" ? "up" : "destroy",
    dir: repo,
    stack,
    stateFile,
    config: { sandbox },
    // The program is type-checked by `npm run build`; here it is only transpiled, which is faster.
    env: { PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true" },
    onLog: (l) => console.error(l),
  });
  for (const r of summary.resources) console.error(`  ${r.op.padEnd(8)} ${r.type.replace("pulumi-nodejs:dynamic/", "")} ${r.name}${r.error ? `: ${r.error}` : ""}`);
  if (!summary.ok) {
    console.error(`bridgelab ${verb} failed: ${summary.error}`);
    return 1;
  }
  if (verb === "up") {
    console.log(JSON.stringify(summary.outputs, null, 2));
    console.error(`\nlab "${stack}" is up on sandbox host "${sandbox}". Look inside: npx bridgelab sandbox exec ${sandbox} -- ip -br addr\nTear down: npm run lab:down`);
  } else {
    await deleteSandbox(sandbox);
    console.error(`lab "${stack}" destroyed and sandbox host "${sandbox}" deleted`);
  }
  return 0;
}
