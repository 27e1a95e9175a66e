import * as fs from "node:fs";
import * as path from "node:path";
import { readLiveTopology } from "../provider/graph/readLive";
import { renderTopologySvg } from "../provider/graph/renderSvg";
import { outsideFor, topologyFromJson } from "../provider/graph/topologyInput";
import { assertSandboxName } from "../provider/sandbox/sandboxLayout";
import type { HostConnection } from "../provider/transport/connection";
import type { Topology } from "../provider/components/topology";
import { type CommandSpec, UsageError, flag, parseCommand, str } from "./args";

export const GRAPH_USAGE = `usage:
  bridgelab graph [--stack NAME | --state FILE | --outputs FILE | --live --sandbox NAME | --live --connection JSON] [--out FILE.svg] [--json]

  draws the lab's topology (namespaces, veths, bridges, addresses, published ports) as SVG
  --stack NAME       the lab \`bridgelab up --stack NAME\` brought up (its state in --state-dir)
  --state-dir DIR    where \`bridgelab up\` keeps state (default: .bridgelab/ here)
                     (without --stack, --state, --outputs or --live: the one lab that is up there)
  --state FILE       the bundled engine's state file or a file backend's checkpoint
  --outputs FILE     a stack's outputs: \`pulumi stack output --json > FILE\`, or \`pulumi stack export\`
                     ("-": standard input)
  --live             read the host as it is now: every namespace, link, address and bridgelab's
                     published ports, in one script; --sandbox NAME, or --connection with a
                     connection object as JSON (e.g. '{"kind":"ssh","host":"10.0.0.5",…}')
  --out FILE         write the SVG there (default: standard output)
  --json             print the topology as JSON instead of drawing it`;

const graphSpec: CommandSpec = {
  name: "bridgelab graph",
  usage: GRAPH_USAGE,
  options: {
    stack: { type: "string" },
    "state-dir": { type: "string" },
    state: { type: "string" },
    outputs: { type: "string" },
    live: { type: "boolean" },
    sandbox: { type: "string" },
    connection: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
  },
};

interface GraphOptions {
  stack?: string;
  stateDir: string;
  state?: string;
  outputs?: string;
  live: boolean;
  sandbox?: string;
  connection?: string;
  out?: string;
  json: boolean;
}

/** The flags of `bridgelab graph`; undefined for --help. */
export function parseGraphArgs(args: string[], cwd = process.cwd()): GraphOptions | undefined {
  const p = parseCommand(graphSpec, args);
  if (!p) return undefined;
  const opts: GraphOptions = {
    stack: str(p, "stack"),
    stateDir: path.resolve(cwd, str(p, "state-dir") ?? ".bridgelab"),
    state: str(p, "state"),
    outputs: str(p, "outputs"),
    live: flag(p, "live"),
    sandbox: str(p, "sandbox"),
    connection: str(p, "connection"),
    out: str(p, "out"),
    json: flag(p, "json"),
  };
  const fail = (m: string) => new UsageError(m, graphSpec.name);
  const sources = [opts.stack !== undefined, opts.state !== undefined, opts.outputs !== undefined, opts.live].filter(Boolean).length;
  if (sources > 1) throw fail("give one of --stack, --state, --outputs and --live");
  if ((opts.sandbox || opts.connection) && !opts.live) throw fail("--sandbox and --connection go with --live");
  if (opts.live && !!opts.sandbox === !!opts.connection) throw fail("--live needs --sandbox NAME or --connection JSON (one of them)");
  if (opts.sandbox) {
    try {
      assertSandboxName(opts.sandbox);
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  return opts;
}

function parseConnection(text: string): HostConnection {
  try {
    return JSON.parse(text) as HostConnection;
  } catch (e) {
    throw new Error(`--connection must be a connection object as JSON: ${(e as Error).message}`);
  }
}

/** A lab's state as `bridgelab up` left it in DIR: the bundled engine's file, else the Pulumi CLI's file backend checkpoint. */
function stateFileOf(dir: string, stack: string): string | undefined {
  const candidates = [path.join(dir, `${stack}.json`), path.join(dir, "backend", ".pulumi", "stacks", "bridgelab", `${stack}.json`), path.join(dir, "backend", ".pulumi", "stacks", `${stack}.json`)];
  return candidates.find((f) => fs.existsSync(f));
}

/** Whether a state file holds any resource (a lab that is down keeps an empty state). */
function holdsResources(file: string): boolean {
  try {
    const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { resources?: unknown[]; checkpoint?: { latest?: { resources?: unknown[] } } };
    const resources = doc.resources ?? doc.checkpoint?.latest?.resources ?? [];
    return resources.some((r) => (r as { custom?: boolean }).custom);
  } catch {
    return false;
  }
}

/** Which state to draw without --state: --stack's, else the one lab that is up in the state directory. */
function defaultStateFile(opts: GraphOptions): string {
  if (opts.stack) {
    const file = stateFileOf(opts.stateDir, opts.stack);
    if (!file) throw new Error(`no state of lab "${opts.stack}" in ${opts.stateDir}: bring it up first (\`bridgelab up --stack ${opts.stack}\`), or give --state, --outputs, or --live --sandbox NAME`);
    if (!holdsResources(file)) throw new Error(`lab "${opts.stack}" is down (its state ${file} holds no resources): bring it up with \`bridgelab up --stack ${opts.stack}\`, or draw the host as it is with --live --sandbox NAME`);
    return file;
  }
  const stacks = new Set<string>();
  for (const dir of [opts.stateDir, path.join(opts.stateDir, "backend", ".pulumi", "stacks", "bridgelab"), path.join(opts.stateDir, "backend", ".pulumi", "stacks")]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".json") && holdsResources(path.join(dir, f))) stacks.add(f.slice(0, -".json".length));
  }
  if (stacks.size === 0) throw new Error(`no lab is up in ${opts.stateDir}: bring one up (\`bridgelab up\`), or give --state, --outputs, or --live --sandbox NAME`);
  if (stacks.size > 1) throw new Error(`several labs are up in ${opts.stateDir} (${[...stacks].sort().join(", ")}): choose one with --stack NAME`);
  return stateFileOf(opts.stateDir, [...stacks][0])!;
}

async function loadTopology(opts: GraphOptions): Promise<Topology> {
  if (opts.live) return readLiveTopology(opts.sandbox ? { kind: "sandbox", name: opts.sandbox } : parseConnection(opts.connection!));
  if (opts.outputs !== undefined) {
    const text = opts.outputs === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(opts.outputs, "utf8");
    return topologyFromJson(JSON.parse(text), opts.outputs === "-" ? "standard input" : opts.outputs);
  }
  const file = opts.state ?? defaultStateFile(opts);
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: bring a lab up first (\`bridgelab up\`), or give --stack, --outputs, or --live --sandbox NAME`);
  return topologyFromJson(JSON.parse(fs.readFileSync(file, "utf8")), file);
}

/** `bridgelab graph`: the topology as SVG (or JSON). */
export async function graphCommand(args: string[]): Promise<number> {
  const opts = parseGraphArgs(args);
  if (!opts) {
    console.log(GRAPH_USAGE);
    return 0;
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
