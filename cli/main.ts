import { GRAPH_USAGE, graphCommand } from "./graphCommand";
import { LAB_USAGE, labCommand } from "./labCommand";
import { SANDBOX_USAGE, sandboxCommand } from "./sandboxCommand";

const USAGE = `bridgelab: Linux container networking labs as code

${LAB_USAGE}

${GRAPH_USAGE}

${SANDBOX_USAGE}`;

/** Entry point of `bridgelab`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "up":
    case "down":
      return labCommand(cmd, rest);
    case "graph":
      return graphCommand(rest);
    case "sandbox":
      return sandboxCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}
