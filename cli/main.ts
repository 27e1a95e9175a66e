import { UsageError, nearest } from "./args";
import { DOCTOR_USAGE, doctorCommand } from "./doctorCommand";
import { ENGINE_USAGE, engineCommand } from "./engineCommand";
import { GRAPH_USAGE, graphCommand } from "./graphCommand";
import { LAB_USAGE, labCommand } from "./labCommand";
import { NEW_USAGE, newCommand } from "./newCommand";
import { REFRESH_USAGE, refreshCommand } from "./refreshCommand";
import { VERIFY_USAGE, verifyCommand } from "./verifyCommand";
import { SANDBOX_USAGE, sandboxCommand } from "./sandboxCommand";
import { STATE_USAGE, stateCommand } from "./stateCommand";
import { version } from "./packageInfo";

const commands: Record<string, { usage: string; run: (args: string[]) => Promise<number> }> = {
  up: { usage: LAB_USAGE, run: (a) => labCommand("up", a) },
  down: { usage: LAB_USAGE, run: (a) => labCommand("down", a) },
  verify: { usage: VERIFY_USAGE, run: verifyCommand },
  refresh: { usage: REFRESH_USAGE, run: refreshCommand },
  engine: { usage: ENGINE_USAGE, run: engineCommand },
  new: { usage: NEW_USAGE, run: newCommand },
  graph: { usage: GRAPH_USAGE, run: graphCommand },
  sandbox: { usage: SANDBOX_USAGE, run: sandboxCommand },
  state: { usage: STATE_USAGE, run: stateCommand },
  doctor: { usage: DOCTOR_USAGE, run: doctorCommand },
};

export const USAGE = `bridgelab ${version()}: Linux container networking labs as code

usage: bridgelab COMMAND [options]      (bridgelab COMMAND --help for a command's options)

  up        bring a lab up on a sandbox host (the built-in labs, or --dir PROJECT): refresh,
            repair what is gone or drifted, and verify it on the live host
  down      destroy it and delete the sandbox host
  verify    probe the lab as it is now, changing nothing (exit 1 when a path is broken)
  refresh   record in the lab's state what is really on its host
  engine    up|preview|refresh|destroy a Pulumi project without the Pulumi CLI
  new       make a new Pulumi project from one of bridgelab's examples
  graph     draw a lab's topology as SVG (from its state, its outputs, or the live host)
  sandbox   create|exec|list|delete sandbox hosts
  state     migrate state written by bridgelab 0.1
  doctor    check that a host has everything bridgelab runs there, changing nothing

  --version  print bridgelab's version
  --help     print this`;

/** Entry point of `bridgelab`; returns the exit code. Usage errors exit 2, failures 1. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (cmd === "--version" || cmd === "-v" || cmd === "version") {
    console.log(version());
    return 0;
  }
  const command = commands[cmd];
  if (!command) {
    const near = nearest(cmd, Object.keys(commands));
    console.error(`bridgelab: unknown command ${JSON.stringify(cmd)}${near ? `: did you mean \`bridgelab ${near}\`?` : ""} (bridgelab --help lists them)`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.command}: ${e.message} (see \`${e.command} --help\`)`);
      return 2;
    }
    // A user's error once, without a stack trace (BRIDGELAB_DEBUG=1 shows it).
    const message = e instanceof Error ? e.message : String(e);
    console.error(`bridgelab ${cmd}: ${message}`);
    if (process.env.BRIDGELAB_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
}

/** bin/bridgelab.js: run and exit with the code. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`bridgelab: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
