import * as fs from "node:fs";
import * as path from "node:path";
import { readLiveTopology } from "../provider/graph/readLive";
import { renderTopologySvg } from "../provider/graph/renderSvg";
import { outsideFor, topologyFromJson } from "../provider/graph/topologyInput";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import type { HostConnection } from "../provider/transport/connection";
import type { Topology } from "../provider/components/topology";
import { defaultStack } from "./labCommand";
import { readFlag } from "./flags";

export const GRAPH_USAGE = `usage:
  bridgelab graph [--state FILE | --outputs FILE | --live --sandbox NAME | --live --connection JSON] [--out FILE.svg] [--json]

  draws the lab's topology (namespaces, veths, bridges, addresses, published ports) as SVG
  --state FILE       the bundled engine's state file or a file backend's checkpoint
                     (default: the default lab's, as \`bridgelab up\` left it in .bridgelab/)
  --outputs FILE     a stack's outputs: \`pulumi stack output --json > FILE\`, or \`pulumi stack export\`
                     ("-": standard input)
  --live             read the host as it is now: every namespace, link, address and bridgelab's
                     published ports, in one script; --sandbox NAME, or --connection with a
                     connection object as JSON (e.g. '{"kind":"ssh","host":"10.0.0.5",…}')
  --out FILE         write the SVG there (default: standard output)
  --json             print the topology as JSON instead of drawing it`;

const repo = path.resolve(__dirname, "..");

interface GraphOptions {
  state?: string;
  outputs?: string;
  live: boolean;
  sandbox?: string;
  connection?: string;
  out?: string;
  json: boolean;
}

export function parseGraphArgs(args: string[]): GraphOptions {
  const opts: GraphOptions = { live: false, json: false };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--live") {
      opts.live = true;
      continue;
    }
    if (args[i] === "--json") {
      opts.json = true;
      continue;
    }
    const flag = readFlag(args, i);
    const { name, value } = flag;
    i = flag.last;
    if (!["--state", "--outputs", "--sandbox", "--connection", "--out"].includes(name)) throw new Error(`unknown argument ${JSON.stringify(name)}`);
    if (!value) throw new Error(`${name} needs a value`);
    const key = name.slice(2) as "state" | "outputs" | "sandbox" | "connection" | "out";
    opts[key] = value;
  }
  const sources = [opts.state !== undefined, opts.outputs !== undefined, opts.live].filter(Boolean).length;
  if (sources > 1) throw new Error("give one of --state, --outputs and --live");
  if ((opts.sandbox || opts.connection) && !opts.live) throw new Error("--sandbox and --connection go with --live");
  if (opts.live && !!opts.sandbox === !!opts.connection) throw new Error("--live needs --sandbox NAME or --connection JSON (one of them)");
  if (opts.sandbox) assertSandboxName(opts.sandbox);
  return opts;
}

function parseConnection(text: string): HostConnection {
  try {
    return JSON.parse(text) as HostConnection;
  } catch (e) {
    throw new Error(`--connection must be a connection object as JSON: ${(e as Error).message}`);
  }
}

/**
 * The default lab's state as `bridgelab up` left it: the bundled engine's file, else the
 * checkpoint in the Pulumi CLI's file backend (project-scoped layout, then the legacy one).
 */
function defaultStateFile(): string {
  const stack = defaultStack();
  const dir = path.join(repo, ".bridgelab");
  const candidates = [path.join(dir, `${stack}.json`), path.join(dir, "backend", ".pulumi", "stacks", "bridgelab", `${stack}.json`), path.join(dir, "backend", ".pulumi", "stacks", `${stack}.json`)];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0];
}

async function loadTopology(opts: GraphOptions): Promise<Topology> {
  if (opts.live) return readLiveTopology(opts.sandbox ? { kind: "sandbox", name: opts.sandbox } : parseConnection(opts.connection!));
  if (opts.outputs !== undefined) {
    const text = opts.outputs === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(opts.outputs, "utf8");
    return topologyFromJson(JSON.parse(text), opts.outputs === "-" ? "standard input" : opts.outputs);
  }
  const file = opts.state ?? defaultStateFile();
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: bring a lab up first (npm run lab), or give --state, --outputs, or --live --sandbox NAME`);
  }
  return topologyFromJson(JSON.parse(fs.readFileSync(file, "utf8")), file);
}

/** `bridgelab graph`: the topology as SVG (or JSON). */
export async function graphCommand(args: string[]): Promise<number> {
  let opts: GraphOptions;
  try {
    opts = parseGraphArgs(args);
  } catch (e) {
    console.error(`bridgelab graph: ${(e as Error).message}\n\n${GRAPH_USAGE}`);
    return 2;
  }
  let topology: Topology;
  try {
    topology = await loadTopology(opts);
  } catch (e) {
    console.error(`bridgelab graph: ${(e as Error).message}`);
    return 1;
  }
  const text = opts.json ? JSON.stringify(topology, null, 2) + "\n" : renderTopologySvg(topology, { outside: outsideFor(topology) });
  if (opts.out) {
    fs.writeFileSync(opts.out, text);
    console.error(`bridgelab graph: wrote ${opts.out} (${topology.bridges.length} bridge${topology.bridges.length === 1 ? "" : "s"}, ${topology.namespaces.length} namespace${topology.namespaces.length === 1 ? "" : "s"})`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
