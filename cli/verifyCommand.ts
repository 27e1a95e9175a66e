import { type CommandSpec, flag, parseCommand } from "./args";
import { chooseEngine, findPulumi } from "./engineChoice";
import { type LabOptions, labOptionsFrom, labSpec } from "./labCommand";
import { brokenPaths, checkLive, formatLiveCheck, labState, liveOk } from "./labLive";
export const VERIFY_USAGE = `usage:
  bridgelab verify [--stack NAME] [--dir PROJECT] [--sandbox NAME] [--engine pulumi|bundled] [--state-dir DIR] [--probes-only] [--json]

  Probes the lab as it is now and changes nothing: no state is written, nothing on a host is
  changed. Every LabProbe in the lab's state has its paths probed on its host, by LabProbe's own
  probes, and every bridgelab resource in the state is read on its host (as a refresh reads it)
  to find what is gone or drifted. Prints what is not as recorded and each reachability matrix.
  Exit 0: every path as expected and every resource as recorded; 1: a path not as expected, or
  a resource gone, drifted or unreadable (\`bridgelab up\` repairs what the lab declares).

  --stack, --dir, --sandbox, --engine, --state-dir   as for \`bridgelab up\`: which lab, and where
              its state is (bundled: DIR/<stack>.json; pulumi: the stack in DIR/backend)
  --probes-only  probe the paths only, without reading the resources
  --json      print the result as JSON on stdout (the matrices, and each resource not as recorded)`;

export const verifySpec: CommandSpec = {
  name: "bridgelab verify",
  usage: VERIFY_USAGE,
  options: {
    stack: labSpec.options.stack,
    dir: labSpec.options.dir,
    sandbox: labSpec.options.sandbox,
    engine: labSpec.options.engine,
    "state-dir": labSpec.options["state-dir"],
    "probes-only": { type: "boolean" },
    json: { type: "boolean" },
  },
};

export interface VerifyOptions extends LabOptions {
  probesOnly: boolean;
  json: boolean;
}

/** Parse the flags of `bridgelab verify`; undefined for --help. Throws UsageError on anything else. */
export function parseVerifyArgs(args: string[], cwd = process.cwd()): VerifyOptions | undefined {
  const p = parseCommand(verifySpec, args);
  if (!p) return undefined;
  return { ...labOptionsFrom(p, verifySpec.name, cwd), probesOnly: flag(p, "probes-only"), json: flag(p, "json") };
}

/** `bridgelab verify`: probes and reads, prints, and exits 1 when the lab is not as declared. */
export async function verifyCommand(args: string[]): Promise<number> {
  const opts = parseVerifyArgs(args);
  if (!opts) {
    console.log(VERIFY_USAGE);
    return 0;
  }
  const choice = chooseEngine(opts.engine, findPulumi(), "verify");
  if ("error" in choice) {
    console.error(`bridgelab verify: ${choice.error}`);
    return 2;
  }
  const what = `lab "${opts.stack}" on sandbox host "${opts.sandbox}"`;
  const state = await labState(opts, choice.engine);
  const custom = state?.resources.filter((r) => r.custom) ?? [];
  if (!state || custom.length === 0) {
    const why = state ? `its state (${state.where}) holds no resources` : `there is no state of it in ${opts.stateDir}`;
    if (opts.json) console.log(JSON.stringify({ ok: false, error: `no lab: ${why}` }, null, 2));
    console.error(`bridgelab verify: ${what} is not up: ${why}. Bring it up with \`bridgelab up\`${opts.stack !== "netns-lab" ? ` --stack ${opts.stack}` : ""}.`);
    return 1;
  }
  if (!opts.json) console.error(`bridgelab verify: ${what}, ${custom.length} resources in its ${state.where}; changing nothing`);
  const check = await checkLive(state.resources, { probesOnly: opts.probesOnly });
  for (const n of check.notes) console.error(`host: ${n}`);
  const ok = liveOk(check);
  if (opts.json) {
    const { notes: _notes, ...rest } = check;
    console.log(JSON.stringify({ ok, ...rest }, null, 2));
    return ok ? 0 : 1;
  }
  console.log(formatLiveCheck(check, opts.probesOnly).join("\n"));
  if (ok) {
    console.log(`\n${what} is as declared${check.verifications.length ? ", every path as expected" : ""}.`);
    return 0;
  }
  const problems = brokenPaths(check.verifications);
  const broken = check.verifications.reduce((n, v) => n + v.matrix.filter((r) => !r.ok).length, 0);
  const parts: string[] = [];
  const n = check.findings.length;
  if (n) parts.push(`${n} resource${n === 1 ? "" : "s"} not as recorded`);
  if (broken) parts.push(`${broken} path${broken === 1 ? "" : "s"} not as expected`);
  console.log(`\n${what} is not as declared: ${parts.join("; ")}.`);
  if (problems.length) console.log(problems.join("\n"));
  console.log(`\`bridgelab up\` builds again what is gone and repairs drift (it refreshes first); a path it cannot repair makes it fail, naming the path.`);
  return 1;
}
