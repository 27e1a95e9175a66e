/**
 * `npm run engine -- up|preview|refresh|destroy --dir PROGRAM_DIR --stack NAME --state FILE
 *  [--config key=value]... [--secret key=value]...`
 *
 * Prints the JSON summary on stdout (log lines are streamed to stderr as they happen) and exits
 * 1 when the operation failed, 2 on a usage error.
 */
import { runEngine } from "./engine";
import type { EngineOptions, Operation } from "./types";

const usage =
  "usage: engine up|preview|refresh|destroy --dir PROGRAM_DIR --stack NAME --state FILE " +
  "[--config key=value]... [--secret key=value]...";

const operations: Operation[] = ["up", "preview", "refresh", "destroy"];

export function parseArgs(argv: string[]): EngineOptions {
  const [op, ...rest] = argv;
  if (!operations.includes(op as Operation)) throw new Error(`unknown operation ${JSON.stringify(op ?? "")}`);
  const opts: Partial<EngineOptions> & { config: Record<string, string>; secretConfig: Record<string, string> } = {
    op: op as Operation,
    config: {},
    secretConfig: {},
  };
  for (let i = 0; i < rest.length; i++) {
    let flag = rest[i];
    let value: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    } else {
      value = rest[++i];
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--dir":
        opts.dir = value;
        break;
      case "--stack":
        opts.stack = value;
        break;
      case "--state":
        opts.stateFile = value;
        break;
      case "--config":
      case "--secret": {
        const kv = value.indexOf("=");
        if (kv <= 0) throw new Error(`${flag} expects key=value, got ${JSON.stringify(value)}`);
        const target = flag === "--config" ? opts.config : opts.secretConfig;
        target[value.slice(0, kv)] = value.slice(kv + 1);
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  for (const [flag, v] of [["--dir", opts.dir], ["--stack", opts.stack], ["--state", opts.stateFile]] as const) {
    if (!v) throw new Error(`${flag} is required`);
  }
  return opts as EngineOptions;
}

export async function main(argv: string[]): Promise<void> {
  let opts: EngineOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const summary = await runEngine({ ...opts, onLog: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  process.exitCode = summary.ok ? 0 : 1;
}
