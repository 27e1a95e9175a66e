import * as path from "node:path";
import { sandboxExists } from "../provider/sandbox/sandboxHost";
import { automationPlan, runAutomation } from "./automation";
import { chooseEngine, findPulumi } from "./engineChoice";
import { labCommandLine, parseLabArgs, runBundled } from "./labCommand";

export const REFRESH_USAGE = `usage:
  bridgelab refresh [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR] [--config key=value]...

  Reads every resource of the lab on its host and records what it finds in the lab's state, as
  \`pulumi refresh\` does: what is gone is dropped, drift is recorded, LabProbes probe their paths
  again (a broken path is recorded as drift). Nothing on the host is changed; the next
  \`bridgelab up\` repairs what was found (up refreshes by itself first, too).
  \`bridgelab verify\` looks the same way without recording anything.

  --stack, --dir, --sandbox, --engine, --state-dir, --config   as for \`bridgelab up\``;

/** `bridgelab refresh`: the lab's state brought in line with its host, through either engine. */
export async function refreshCommand(args: string[]): Promise<number> {
  const opts = parseLabArgs(args, "refresh");
  if (!opts) {
    console.log(REFRESH_USAGE);
    return 0;
  }
  const choice = chooseEngine(opts.engine, findPulumi(), "refresh");
  if ("error" in choice) {
    console.error(`bridgelab refresh: ${choice.error}`);
    return 2;
  }
  if (choice.note) console.error(`bridgelab refresh: ${choice.note}`);
  const what = `lab "${opts.stack}" on sandbox host "${opts.sandbox}"`;
  if (!sandboxExists(opts.sandbox)) {
    // Nothing to read there, and refresh does not create hosts: say what will.
    console.error(
      `bridgelab refresh: sandbox host "${opts.sandbox}" does not exist, so nothing of lab "${opts.stack}" is left on it. ` +
        `\`${labCommandLine("up", opts, choice.engine)}\` creates it and builds the lab again; \`${labCommandLine("down", opts, choice.engine)}\` forgets the lab.`,
    );
    return 1;
  }
  console.error(`bridgelab refresh: ${what}, with ${choice.engine === "pulumi" ? `the Pulumi CLI (${choice.pulumi})` : "the bundled test engine"}`);
  const config = { sandbox: opts.sandbox, ...opts.config };
  if (choice.engine === "pulumi") {
    const plan = automationPlan({ repo: opts.dir, stack: opts.stack, stateDir: opts.stateDir, config });
    try {
      const r = await runAutomation("refresh", plan, (text) => process.stderr.write(text));
      if (r.changes) console.error(`changes: ${r.changes}`);
    } catch (e) {
      console.error(`bridgelab refresh failed (Pulumi CLI, stack "${opts.stack}", backend ${plan.backendUrl}): ${(e as Error).message}`);
      return 1;
    }
  } else {
    const summary = await runBundled("refresh", opts, config);
    if (!summary) return 1;
  }
  console.error(
    `\n${what}: its state now records what is on the host (${choice.engine === "bundled" ? path.join(opts.stateDir, `${opts.stack}.json`) : "the Pulumi stack"}). ` +
      `Repair it: ${labCommandLine("up", opts, choice.engine)}`,
  );
  return 0;
}
