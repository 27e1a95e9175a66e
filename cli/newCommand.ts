import * as fs from "node:fs";
import * as path from "node:path";
import { type CommandSpec, UsageError, flag, nearest, parseCommand, str } from "./args";
import { packageRoot, version } from "./packageInfo";

export const EXAMPLES_DIR = path.join(packageRoot(), "examples");
export const DEFAULT_EXAMPLE = "netns-lab";

export const NEW_USAGE = `usage: bridgelab new DIR [--example NAME] [--bridgelab SPEC] [--force]
       bridgelab new --list

  Makes DIR a new Pulumi TypeScript project from one of bridgelab's examples (Pulumi.yaml,
  Pulumi.dev.yaml, package.json depending on bridgelab, tsconfig.json, index.ts), ready for
  \`npm install\` and then \`pulumi up\` or \`npx bridgelab engine up\`.

  --example NAME    which example (default ${DEFAULT_EXAMPLE}; --list shows them)
  --bridgelab SPEC  the bridgelab dependency written to package.json (default ^VERSION of
                    this bridgelab; e.g. a tarball: file:/path/bridgelab-0.2.0.tgz)
  --force           write into a DIR that is not empty
  --list            list the examples`;

const spec: CommandSpec = {
  name: "bridgelab new",
  usage: NEW_USAGE,
  options: { example: { type: "string" }, bridgelab: { type: "string" }, force: { type: "boolean" }, list: { type: "boolean" } },
  positionals: { min: 0, max: 1 },
};

export interface Example {
  name: string;
  description: string;
}

/** The examples shipped with this bridgelab: every examples/NAME with a Pulumi.yaml. */
export function listExamples(dir = EXAMPLES_DIR): Example[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => fs.existsSync(path.join(dir, n, "Pulumi.yaml")))
    .sort()
    .map((name) => {
      const yaml = fs.readFileSync(path.join(dir, name, "Pulumi.yaml"), "utf8");
      const description = /^description:\s*(.+)$/m.exec(yaml)?.[1]?.trim() ?? "";
      return { name, description };
    });
}

/** Files of an example to copy: everything but installed or generated things. */
function exampleFiles(root: string, rel = ""): string[] {
  const skip = new Set(["node_modules", ".bridgelab", "package-lock.json", "bin"]);
  return fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    if (skip.has(e.name)) return [];
    const r = path.join(rel, e.name);
    return e.isDirectory() ? exampleFiles(root, r) : [r];
  });
}

/**
 * Copies example NAME into DIR, naming the project after DIR and pinning the bridgelab dependency.
 * Returns the files written (relative to DIR).
 */
export function scaffold(dir: string, example: string, opts: { bridgelab?: string; force?: boolean } = {}, examplesDir = EXAMPLES_DIR): string[] {
  const from = path.join(examplesDir, example);
  if (!fs.existsSync(path.join(from, "Pulumi.yaml"))) {
    const names = listExamples(examplesDir).map((e) => e.name);
    const near = nearest(example, names);
    throw new UsageError(`--example ${JSON.stringify(example)} is not one of bridgelab's examples${near ? `: did you mean ${near}?` : ""} (${names.join(", ")})`, spec.name);
  }
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !opts.force) {
    throw new UsageError(`${dir} is not empty: choose a new directory, or --force to write into it`, spec.name);
  }
  const project = path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9_.-]/g, "-");
  const files = exampleFiles(from);
  for (const rel of files) {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    let text = fs.readFileSync(path.join(from, rel), "utf8");
    if (rel === "package.json") {
      const pkg = JSON.parse(text) as { name: string; dependencies?: Record<string, string> };
      pkg.name = project;
      pkg.dependencies = { ...pkg.dependencies, bridgelab: opts.bridgelab ?? `^${version()}` };
      text = JSON.stringify(pkg, null, 2) + "\n";
    } else if (rel === "Pulumi.yaml") {
      text = text.replace(/^name:.*$/m, `name: ${project}`);
    }
    fs.writeFileSync(target, text);
  }
  return files.sort();
}

export async function newCommand(args: string[]): Promise<number> {
  const p = parseCommand(spec, args);
  if (!p) {
    console.log(NEW_USAGE);
    return 0;
  }
  if (flag(p, "list")) {
    for (const e of listExamples()) console.log(`${e.name.padEnd(16)} ${e.description}`);
    return 0;
  }
  const dir = p.positionals[0];
  if (!dir) throw new UsageError("missing DIR: bridgelab new DIR [--example NAME]", spec.name);
  const example = str(p, "example") ?? DEFAULT_EXAMPLE;
  const files = scaffold(dir, example, { bridgelab: str(p, "bridgelab"), force: flag(p, "force") });
  console.log(`bridgelab new: ${dir} from example "${example}" (${files.join(", ")})

Next:
  cd ${dir}
  npm install
  npx bridgelab engine up        # without the Pulumi CLI: bridgelab's engine, state in .bridgelab/
  # or, with the Pulumi CLI:
  pulumi login --local && pulumi stack init dev && pulumi up

Run as root (or with sudo): the lab's sandbox host is made of namespaces on this machine.`);
  return 0;
}
